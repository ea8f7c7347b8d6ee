"""The archive for retraining: telemetry and predictions appended to day-partitioned Parquet files.

Layout (what :func:`pumpguard.data.read_dataset` reads as a directory: it searches it recursively)::

    <dir>/telemetry/site=<site>/asset=<asset>/date=YYYY-MM-DD/part-<n>.parquet
        timestamp, <sensor columns...>, site, asset
    <dir>/predictions/site=<site>/asset=<asset>/date=YYYY-MM-DD/part-<n>.parquet
        timestamp, site, asset, score, threshold, anomaly, status, model, top_sensors (JSON text)

A model is trained per asset, so ``pumpguard train <dir>/telemetry/site=plant1/asset=pump_a``
trains on one pump's record (``pumpguard train <dir>/telemetry`` when the archive holds one asset);
two pumps' rows with the same time stamps in one table would be one pump's rows repeated.

The day is the row's own time stamp (UTC), not the wall clock, so a replayed record lands on its
days. Rows are buffered and written every ``flush_rows`` rows or ``flush_seconds`` seconds, whichever
comes first. Defaults: 10,000 rows (about 35 MB of 52-sensor rows in memory at most, a fraction of
a second at the service's batched rate) and 300 s (a row a minute per asset gives a file per
5 minutes, 288 a day, and a crash loses at most the last 5 minutes of the archive, never the
predictions, which went out over MQTT).

Crash safety: each file is written to a hidden temporary name (``.part-<n>.parquet.tmp-<pid>``, which
the reader never picks up), flushed to disk, then linked to its final name, which fails instead of
overwriting when another writer took that number. A crash between the write and the rename leaves a
temporary file and no damaged part; the next :class:`Archiver` on the directory removes stale
temporary files. Only this module touches the files.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import orjson
import pyarrow as pa
import pyarrow.parquet as pq

from pumpguard.errors import ConfigError
from pumpguard.stream.codec import TelemetryRow

log = logging.getLogger("pumpguard.stream.archive")

DEFAULT_FLUSH_ROWS = 10_000
DEFAULT_FLUSH_SECONDS = 300.0
#: A temporary file older than this is from a writer that died (a flush takes well under a second).
STALE_TMP_SECONDS = 600.0
#: When the disk refuses a write, rows are kept for the next try up to this many times flush_rows.
MAX_BACKLOG_FACTOR = 10
KINDS = ("telemetry", "predictions")


class Archiver:
    """Buffers telemetry rows and predictions; writes them as day-partitioned Parquet files.

    ``on_scored(rows, predictions)`` is the hook for the scoring service: the rows it scored and
    their predictions (None for a duplicate, which is skipped). ``start()`` runs the timed flush in
    a named background thread; ``close()`` flushes and stops it.

    Examples
    --------
    >>> import tempfile
    >>> from datetime import datetime, timezone
    >>> folder = tempfile.mkdtemp()
    >>> archive = Archiver(folder, flush_rows=2)
    >>> ts = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> row = TelemetryRow("plant1", "pump_a", ts, {"sensor_00": 2.5})
    >>> archive.on_scored([row, row], [{"asset": "pump_a", "ts": ts, "score": 1.0, "anomaly": False}, None])
    >>> [p.relative_to(folder).as_posix() for p in archive.flush()]
    ['telemetry/site=plant1/asset=pump_a/date=2024-01-01/part-0.parquet', 'predictions/site=plant1/asset=pump_a/date=2024-01-01/part-0.parquet']
    """

    def __init__(self, directory: str | Path, *, flush_rows: int = DEFAULT_FLUSH_ROWS,
                 flush_seconds: float = DEFAULT_FLUSH_SECONDS) -> None:
        if int(flush_rows) < 1 or float(flush_seconds) <= 0:
            raise ConfigError(f"archive flush_rows={flush_rows}, flush_seconds={flush_seconds}: expected >= 1 row and > 0 s")
        self.directory = Path(directory)
        try:
            for kind in KINDS:
                (self.directory / kind).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(f"archive directory {str(self.directory)!r} cannot be created: {exc}") from None
        self.flush_rows = int(flush_rows)
        self.flush_seconds = float(flush_seconds)
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._telemetry: list[TelemetryRow] = []
        self._predictions: list[tuple[str, dict]] = []
        self._since = time.monotonic()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written: list[Path] = []
        self.failures = 0
        self.remove_stale_temporaries()

    # -- feeding ------------------------------------------------------------------------------------

    def on_scored(self, rows: Sequence[TelemetryRow], predictions: Sequence[dict | None]) -> None:
        """Archive the rows that were predicted (a None prediction marks a duplicate: skipped)."""
        kept = [(row, p) for row, p in zip(rows, predictions) if p is not None]
        with self._lock:
            self._telemetry.extend(row for row, _ in kept)
            self._predictions.extend((row.site, p) for row, p in kept)
            due = len(self._telemetry) >= self.flush_rows or len(self._predictions) >= self.flush_rows
        if due:
            self.flush()

    def add_telemetry(self, rows: Sequence[TelemetryRow]) -> None:
        with self._lock:
            self._telemetry.extend(rows)
        if len(self._telemetry) >= self.flush_rows:
            self.flush()

    def add_predictions(self, site: str, predictions: Sequence[dict]) -> None:
        """Predictions of one site (``ts`` a datetime, as the scorer makes them)."""
        with self._lock:
            self._predictions.extend((site, p) for p in predictions)
        if len(self._predictions) >= self.flush_rows:
            self.flush()

    # -- writing ------------------------------------------------------------------------------------

    def flush(self) -> list[Path]:
        """Write what is buffered now; the paths written."""
        with self._write_lock:
            with self._lock:
                telemetry, self._telemetry = self._telemetry, []
                predictions, self._predictions = self._predictions, []
                self._since = time.monotonic()
            paths: list[Path] = []
            for kind, items, table_of in (("telemetry", telemetry, _telemetry_table),
                                          ("predictions", predictions, _prediction_table)):
                for where, part in _by_partition(items, kind).items():
                    try:
                        paths.append(self._write(kind, where, table_of(part)))
                    except OSError as exc:
                        self.failures += 1
                        log.error("archive: cannot write %s of %s under %s (%s); keeping %d rows for the next try",
                                  kind, where, self.directory, exc, len(part))
                        self._keep(kind, part)
            self.written.extend(paths)
            return paths

    def _keep(self, kind: str, part: list) -> None:
        with self._lock:
            buffer = self._telemetry if kind == "telemetry" else self._predictions
            room = self.flush_rows * MAX_BACKLOG_FACTOR - len(buffer)
            if room < len(part):
                log.error("archive: backlog full, dropping %d %s rows", len(part) - max(room, 0), kind)
            buffer[:0] = part[: max(room, 0)]

    def _write(self, kind: str, where: str, table: pa.Table) -> Path:
        folder = self.directory / kind / where
        folder.mkdir(parents=True, exist_ok=True)
        n = _next_part(folder)
        tmp = folder / f".part-{n}.parquet.tmp-{os.getpid()}"
        pq.write_table(table, tmp)
        with open(tmp, "rb+") as fh:  # on disk before it gets a name the reader will open
            os.fsync(fh.fileno())
        while True:
            final = folder / f"part-{n}.parquet"
            try:
                _publish(tmp, final)
                break
            except FileExistsError:  # another writer took this number meanwhile
                n += 1
        os.unlink(tmp)
        return final

    def remove_stale_temporaries(self, older_than_s: float = STALE_TMP_SECONDS) -> int:
        """Delete temporary files left by a writer that crashed; how many."""
        now = time.time()
        removed = 0
        for tmp in self.directory.glob("*/site=*/asset=*/date=*/.part-*.parquet.tmp-*"):
            try:
                if now - tmp.stat().st_mtime > older_than_s or _dead_writer(tmp):
                    tmp.unlink()
                    removed += 1
            except OSError:
                pass
        return removed

    # -- timing -------------------------------------------------------------------------------------

    def start(self) -> "Archiver":
        """Flush every ``flush_seconds`` from a background thread named ``pumpguard-archive``."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._timer, name="pumpguard-archive", daemon=True)
            self._thread.start()
        return self

    def _timer(self) -> None:
        tick = min(1.0, self.flush_seconds / 4)
        while not self._stop.wait(tick):
            if time.monotonic() - self._since >= self.flush_seconds and (self._telemetry or self._predictions):
                self.flush()

    def close(self) -> list[Path]:
        """Stop the timer and write what is left."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        return self.flush()


class ArchivingScorer:
    """A :class:`~pumpguard.stream.scorer.StreamScorer` that also hands what it scored to an :class:`Archiver`.

    Drop-in for ``ScoringService(scorer, ...)``: ``ScoringService(ArchivingScorer(scorer, archiver), ...)``.
    Every other attribute is the wrapped scorer's.
    """

    def __init__(self, scorer, archiver: Archiver) -> None:
        self.scorer = scorer
        self.archiver = archiver

    def __getattr__(self, name: str):
        return getattr(self.scorer, name)

    def score(self, rows: Sequence[TelemetryRow], matrix=None) -> list[dict | None]:
        # the batch decoder's ready matrix goes through, so archiving keeps the fast path
        predictions = self.scorer.score(rows) if matrix is None else self.scorer.score(rows, matrix)
        try:
            self.archiver.on_scored(rows, predictions)
        except Exception:  # the archive must never stop the scoring
            log.exception("archive: could not take the scored rows")
        return predictions


    def score_blocks(self, blocks: Sequence) -> list[list[dict | None]]:
        predictions = self.scorer.score_blocks(blocks)
        try:
            self.archiver.on_scored([row for block in blocks for row in block.rows()],
                                    [p for per_block in predictions for p in per_block])
        except Exception:  # the archive must never stop the scoring
            log.exception("archive: could not take the scored rows")
        return predictions


def _publish(tmp: Path, final: Path) -> None:
    """Give ``tmp`` the name ``final`` atomically, never replacing an existing file."""
    try:
        os.link(tmp, final)
    except FileExistsError:
        raise
    except OSError:  # a filesystem without hard links: check, then rename (one writer per folder there)
        if final.exists():
            raise FileExistsError(final) from None
        os.replace(tmp, final)
        tmp.touch()  # so the caller's unlink has something to remove


def _next_part(folder: Path) -> int:
    numbers = [int(p.stem.split("-", 1)[1]) for p in folder.glob("part-*.parquet") if p.stem.split("-", 1)[1].isdigit()]
    return max(numbers) + 1 if numbers else 0


def _dead_writer(tmp: Path) -> bool:
    pid = tmp.name.rsplit("-", 1)[-1]
    if not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except OSError:
        return False
    return False


def _by_partition(items: list, kind: str) -> dict[str, list]:
    """Items by ``site=<s>/asset=<a>/date=<day>`` (the day of the row's own UTC time stamp)."""
    parts: dict[str, list] = defaultdict(list)
    for item in items:
        if kind == "telemetry":
            site, asset, ts = item.site, item.asset, item.ts
        else:
            site, asset, ts = item[0], item[1].get("asset", ""), item[1]["ts"]
        parts[f"site={site}/asset={asset or '_'}/date={ts.strftime('%Y-%m-%d')}"].append(item)
    return dict(sorted(parts.items()))


def _telemetry_table(rows: list[TelemetryRow]) -> pa.Table:
    sensors: dict[str, None] = {}
    for row in rows:
        for name in row.values:
            if name not in sensors:
                sensors[name] = None
    columns = {"timestamp": pa.array([row.ts for row in rows], type=pa.timestamp("us", tz="UTC"))}
    for name in sensors:
        columns[name] = pa.array([row.values.get(name) for row in rows], type=pa.float64(), from_pandas=True)
    columns["site"] = pa.array([row.site for row in rows], type=pa.string())
    columns["asset"] = pa.array([row.asset for row in rows], type=pa.string())
    return pa.table(columns)


def _prediction_table(items: list[tuple[str, dict]]) -> pa.Table:
    preds = [p for _, p in items]
    return pa.table({
        "timestamp": pa.array([p["ts"] for p in preds], type=pa.timestamp("us", tz="UTC")),
        "site": pa.array([site for site, _ in items], type=pa.string()),
        "asset": pa.array([p.get("asset", "") for p in preds], type=pa.string()),
        "score": pa.array([p.get("score") for p in preds], type=pa.float64()),
        "threshold": pa.array([p.get("threshold") for p in preds], type=pa.float64()),
        "anomaly": pa.array([p.get("anomaly") for p in preds], type=pa.bool_()),
        "status": pa.array([p.get("status") for p in preds], type=pa.string()),
        "model": pa.array([p.get("model") for p in preds], type=pa.string()),
        "top_sensors": pa.array([orjson.dumps(p.get("top_sensors", [])).decode() for p in preds], type=pa.string()),
    })


@dataclass
class RecordStats:
    telemetry_rows: int = 0
    predictions: int = 0
    refused: int = 0


def record(broker, directory: str | Path, *, topics, stop: threading.Event, client_id: str = "pumpguard-archive",
           flush_rows: int = DEFAULT_FLUSH_ROWS, flush_seconds: float = DEFAULT_FLUSH_SECONDS,
           ready: threading.Event | None = None, stats: RecordStats | None = None) -> RecordStats:
    """Archive every telemetry row and prediction seen on the broker until ``stop`` is set.

    A recorder of its own, beside any number of ``serve`` workers: a persistent MQTT 5 session
    (what arrives while it restarts is kept for it), QoS 1, acknowledged on receipt (the archive is
    buffered anyway: a crash loses at most one flush interval). Rows the codec refuses are counted,
    not archived; ``serve`` reports them on the errors topic. ``stats`` (optional) is updated live.
    """
    import queue

    from pumpguard.stream.codec import TelemetryCodec, decode_object, parse_ts
    from pumpguard.stream.mqtt import DEFAULT_SESSION_EXPIRY_S, connect_properties, make_client

    archive = Archiver(directory, flush_rows=flush_rows, flush_seconds=flush_seconds).start()
    codec = TelemetryCodec(topics=topics)
    inbox: queue.Queue = queue.Queue()
    stats = stats if stats is not None else RecordStats()
    client = make_client(client_id, broker)
    filters = [(topics.telemetry("+"), 1), (topics.prediction("+"), 1)]
    client.on_connect = lambda c, u, f, rc, p: None if rc.is_failure else c.subscribe(filters)
    client.on_subscribe = lambda *a: ready.set() if ready is not None else None
    client.on_message = lambda c, u, m: inbox.put((m.topic, m.payload))
    client.connect_async(broker.host, broker.port, keepalive=30, clean_start=False,
                         properties=connect_properties(session_expiry_s=DEFAULT_SESSION_EXPIRY_S))
    client.loop_start()
    try:
        while not stop.is_set():
            try:
                topic, payload = inbox.get(timeout=0.1)
            except queue.Empty:
                continue
            parsed = topics.parse(topic)
            if parsed is not None and parsed[0] == "telemetry":
                decoded = codec.decode_telemetry(topic, payload)
                archive.add_telemetry(decoded.rows)
                stats.telemetry_rows += len(decoded.rows)
                stats.refused += len(decoded.rejected)
            elif parsed is not None and parsed[0] == "prediction":
                body = decode_object(payload)
                items = body.get("rows", [body]) if isinstance(body, dict) else []
                good = []
                for item in items:
                    ts = parse_ts(item.get("ts")) if isinstance(item, dict) else "not an object"
                    if isinstance(ts, str):
                        stats.refused += 1
                    else:
                        good.append({**item, "ts": ts, "asset": item.get("asset") or parsed[2]})
                archive.add_predictions(parsed[1], good)
                stats.predictions += len(good)
    finally:
        client.disconnect()
        client.loop_stop()
        archive.close()
    return stats
