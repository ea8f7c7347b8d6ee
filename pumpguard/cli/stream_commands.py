"""``pumpguard serve | replay | listen``: the scoring service on MQTT and the two clients of the study.

Thin: parse the options, build the library objects of :mod:`pumpguard.stream`, print.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
import warnings
from pathlib import Path

import orjson
import typer

from pumpguard.cli._common import console, err_console, user_errors, warn
from pumpguard.errors import ConfigError

BROKER_HELP = "Broker URL: mqtt://[user:password@]host[:port], mqtts:// for TLS."


def register(app: typer.Typer) -> None:
    """Add the stream commands to ``app``."""
    app.command("serve")(serve)
    app.command("replay")(replay)
    app.command("listen")(listen)


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("pumpguard.stream").setLevel(logging.INFO)


def _check_name(value: str, what: str, *, wildcard: bool = False) -> str:
    bad = [c for c in ("/", "#") + (() if wildcard else ("+",)) if c in value]
    if not value or bad:
        raise ConfigError(f"--{what} {value!r}: expected one topic level without {' or '.join(repr(c) for c in bad) or 'spaces'}")
    return value


def _stop_on_signals() -> threading.Event:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return stop


def serve(
    broker: str = typer.Option(..., "--broker", help=BROKER_HELP),
    model: Path = typer.Option(..., "--model", help="Trained model file (pumpguard train writes one)."),
    site: str = typer.Option("+", "--site", help="Serve one site; '+' (default) serves every site."),
    share_group: str | None = typer.Option(
        None, "--share-group", help="Share the load with other serve processes of this group ($share/<group>/...)."
    ),
    client_id: str | None = typer.Option(
        None, "--client-id", help="Stable id of this worker: its persistent session keeps what arrives while it is down."
    ),
    ca_file: Path | None = typer.Option(None, "--ca", help="CA certificate for mqtts:// (default: the system's)."),
    root: str = typer.Option("pumpguard", "--root", help="Topic root."),
    max_batch: int = typer.Option(5000, "--max-batch", min=1, help="Messages scored together at most."),
    nodes: Path | None = typer.Option(
        None, "--nodes", help='Also assemble rows from per-node readings: JSON {"period_s": 60, "nodes": {"J12": {"asset", "sensor", "unit"}}}.'
    ),
    archive: Path | None = typer.Option(
        None, "--archive", help="Also append telemetry and predictions to day-partitioned Parquet here (pumpguard train reads it)."
    ),
    verbose: bool = typer.Option(True, "--verbose/--quiet", help="Log connections and a summary every 30 s."),
) -> None:
    """Subscribe to telemetry, score each row with MODEL, publish predictions (QoS 1, persistent session).

    Runs until Ctrl-C or SIGTERM; then it finishes the batch in hand, says goodbye on its presence
    topic and disconnects. Bad payloads go to <root>/v1/<site>/errors with their reason.

    Example: pumpguard serve --broker mqtt://localhost:1883 --model model.skops --site plant1
    """
    with user_errors():
        from pumpguard.detectors.model_file import load_model
        from pumpguard.stream.codec import Topics
        from pumpguard.stream.mqtt import Broker, ScoringService
        from pumpguard.stream.scorer import StreamScorer

        _logging(verbose)
        _check_name(site, "site", wildcard=True)
        if share_group is not None:
            _check_name(share_group, "share-group")
        address = Broker.from_url(broker, ca_file=str(ca_file) if ca_file else None)
        assembler = None
        if nodes is not None:
            from pumpguard.stream.assembler import assembler_from_config

            try:
                config = orjson.loads(nodes.read_bytes())
            except orjson.JSONDecodeError as exc:
                raise ConfigError(f"{nodes}: not JSON ({exc})") from None
            assembler = assembler_from_config(config, where=str(nodes))
        trained = load_model(model)
        scorer = StreamScorer(trained)
        if assembler is not None:
            unknown = sorted({b.sensor for b in assembler.nodes.values()} - set(scorer.sensors))
            if unknown:
                raise ConfigError(f"{nodes}: sensors {', '.join(unknown)} are not read by the model ({scorer.model_name})")
        archiver = None
        if archive is not None:
            from pumpguard.stream.archive import Archiver, ArchivingScorer

            archiver = Archiver(archive)
            scorer = ArchivingScorer(scorer, archiver)
        worker = client_id or f"pumpguard-serve-{'all' if site == '+' else site}" + (f"-{share_group}" if share_group else "")
        service = ScoringService(
            scorer, address, topics=Topics(site=site, root=root), client_id=worker, share_group=share_group,
            max_batch_rows=max_batch, assembler=assembler,
        )
        stop = _stop_on_signals()
        err_console.print(
            f"serving {scorer.model_name} ({len(scorer.sensors)} sensors, threshold {scorer.threshold:.4g}) "
            f"on {address.host}:{address.port} as {worker}; Ctrl-C stops",
            highlight=False,
            soft_wrap=True,
        )
        last = [time.monotonic()]

        def report(stats) -> bool:
            if verbose and time.monotonic() - last[0] >= 30:
                last[0] = time.monotonic()
                logging.getLogger("pumpguard.stream").info(
                    "%d rows, %d predictions, %d rejected, %d duplicates", stats.rows, stats.predictions, stats.rejected, stats.duplicates
                )
            return False

        if archiver is not None:
            archiver.start()
        try:
            stats = service.run(stop, until=report)
        finally:
            if archiver is not None:
                archiver.close()  # what is still in memory goes to disk (write, then rename)
        err_console.print(
            f"stopped: {stats.rows} rows, {stats.predictions} predictions, {stats.rejected} rejected, "
            f"{stats.duplicates} duplicates dropped",
            highlight=False,
        )


def replay(
    data: Path = typer.Argument(..., help="Sensor data file (pump-sensor or SKAB CSV, generic CSV/Parquet)."),
    broker: str = typer.Option(..., "--broker", help=BROKER_HELP),
    site: str = typer.Option("site1", "--site", help="Site name in the topic."),
    asset: str = typer.Option("pump1", "--asset", help="Asset name in the topic."),
    rate: float | None = typer.Option(None, "--rate", help="Rows per second (default: as fast as the broker takes them)."),
    speed: float | None = typer.Option(None, "--speed", help="Multiple of real time, from the timestamps (60 = a minute a second)."),
    batch: int = typer.Option(1, "--batch", min=1, help="Rows per message (the batch form {\"rows\": [...]})."),
    limit: int | None = typer.Option(None, "--limit", min=1, help="Send only the first N rows."),
    ca_file: Path | None = typer.Option(None, "--ca", help="CA certificate for mqtts://."),
    root: str = typer.Option("pumpguard", "--root", help="Topic root."),
) -> None:
    """Publish a recorded data file as telemetry, row by row (or in batches), at QoS 1.

    Example: pumpguard replay sensor.csv --broker mqtt://localhost:1883 --site plant1 --asset pump_a --speed 600
    """
    with user_errors():
        from pumpguard.data.readers import read_dataset
        from pumpguard.stream.clients import replay as publish
        from pumpguard.stream.codec import Topics
        from pumpguard.stream.mqtt import Broker

        _check_name(site, "site")
        _check_name(asset, "asset")
        address = Broker.from_url(broker, ca_file=str(ca_file) if ca_file else None)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            dataset = read_dataset(data)
        for w in caught:  # data-quality notes as one line each, not a warning with a source line
            warn(str(w.message))
        frame = dataset.values if limit is None else dataset.values.iloc[:limit]
        err_console.print(f"replaying {len(frame)} rows x {frame.shape[1]} sensors of {data} to {address.host}:{address.port}", highlight=False)
        stats = publish(frame, address, topics=Topics(site=site, root=root), asset=asset, rate=rate, speed=speed, batch=batch)
        console.print(
            f"sent {stats.rows} rows in {stats.messages} messages in {stats.seconds:.1f} s "
            f"({stats.rows_per_second:,.0f} rows/s), all acknowledged by the broker",
            highlight=False,
            soft_wrap=True,
        )


def _line(kind: str, topic: str, body: object) -> str:
    if not isinstance(body, dict):
        return f"{kind:<10} {topic}: (not JSON)"
    if kind == "prediction":
        rows = body.get("rows", [body])
        parts = []
        for p in rows:
            top = ", ".join(f"{t['sensor']} {t['share']:.0%}" for t in p.get("top_sensors", [])[:3])
            score = "-" if p.get("score") is None else f"{p['score']:.4g}"
            parts.append(f"{p.get('ts')} {p.get('asset', '')} {p.get('status')} score {score} / {p.get('threshold', 0):.4g}  {top}")
        return "\n".join(f"{kind:<10} {x}" for x in parts)
    if kind == "errors":
        return f"{kind:<10} {body.get('topic')}: {body.get('reason')}"
    if kind == "quality":
        return f"{kind:<10} {body.get('ts')} {body.get('asset')} {body.get('kind')} {','.join(body.get('nodes', []))}: {body.get('detail')}"
    return f"{kind:<10} {topic}: {orjson.dumps(body).decode()}"


def listen(
    broker: str = typer.Option(..., "--broker", help=BROKER_HELP),
    site: str = typer.Option("+", "--site", help="One site, or '+' for all."),
    count: int | None = typer.Option(None, "--count", min=1, help="Exit after this many predictions."),
    as_json: bool = typer.Option(False, "--json", help="Print each message as one JSON line."),
    ca_file: Path | None = typer.Option(None, "--ca", help="CA certificate for mqtts://."),
    root: str = typer.Option("pumpguard", "--root", help="Topic root."),
) -> None:
    """Print predictions, data-quality events, errors, controller state/events/commands and service presence as they arrive.

    Example: pumpguard listen --broker mqtt://localhost:1883 --site plant1 --count 10
    """
    with user_errors():
        from pumpguard.stream.clients import listen as subscribe
        from pumpguard.stream.codec import Topics
        from pumpguard.stream.mqtt import Broker

        _check_name(site, "site", wildcard=True)
        address = Broker.from_url(broker, ca_file=str(ca_file) if ca_file else None)
        stop = _stop_on_signals()
        seen = [0]

        def show(kind: str, topic: str, body: object) -> None:
            # plain writes: a line per message, never wrapped, so the output can be piped
            if as_json:
                typer.echo(orjson.dumps({"kind": kind, "topic": topic, "body": body}).decode())
            else:
                typer.echo(_line(kind, topic, body))
            if kind == "prediction" and isinstance(body, dict):
                seen[0] += len(body.get("rows", [body]))
                if count is not None and seen[0] >= count:
                    stop.set()

        subscribe(address, topics=Topics(site=site, root=root), on_message=show, stop=stop)
