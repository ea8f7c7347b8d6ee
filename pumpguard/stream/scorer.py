"""From decoded telemetry rows to prediction payloads (pure: no sockets, no clock).

The rows of many messages are scored together as one table, because a fitted detector scores a
table of a thousand rows in about the time it takes to score one. Rows are deduplicated by
``(asset, ts)``: after a reconnect a QoS 1 broker redelivers what was not acknowledged, and each row
must be predicted once.

A prediction (one per row)::

    {"asset", "ts", "score", "threshold", "anomaly", "status", "top_sensors": [{"sensor", "share"}], "model"}

``score`` is the detector's (higher = more anomalous), ``anomaly`` is ``score > threshold``,
``status`` is the detector's predicted machine status (NORMAL / BROKEN / RECOVERING) when it has
one, else ``ANOMALY`` or ``NORMAL``; a row with no usable reading has ``score`` null and status
``UNSCORABLE`` (never "normal"). ``top_sensors`` are the sensors explaining most of the score, with
their share of it (shares of a row sum to 1 over all sensors).

A row-wise detector scores each batch with one call: ``score_matrix`` for a pumpguard detector
(no frame is built), else ``score_and_contributions``. Clean messages arrive as column blocks
(:class:`~pumpguard.stream.codec.RowBlock`) and :meth:`StreamScorer.score_blocks` scores them as
they are, without a row object per row. A **time-aware** detector (``time_aware = True``: a row's score uses earlier rows) is served
when it can stream (``score_one`` / ``reset_stream`` / ``last_contributions``, as
:mod:`pumpguard.detectors.temporal`): the scorer keeps one streaming copy per ``(site, asset)`` and
feeds it that asset's rows in time order. A row older than (or as old as) the last row scored for
its asset cannot go into that history: it is not scored and is listed in :attr:`StreamScorer.refused`
with the reason, for the service to publish on the errors topic. The history lives in the process:
a restarted service starts each asset's history afresh.
"""

from __future__ import annotations

import copy
import math
import operator
from typing import Any, Sequence

import numpy as np
import pandas as pd

from pumpguard.detectors.base import Detector
from pumpguard.errors import ConfigError
from pumpguard.stream.codec import RowBlock, TelemetryRow
from pumpguard.stream.dedupe import SeenRows

#: Rows remembered for deduplication: a day of one row a minute for 50 assets. A redelivery comes
#: within seconds of a reconnect, so this is far more than needed, and bounded (~10 MB).
DEFAULT_DEDUPE_ROWS = 72_000
DEFAULT_TOP_SENSORS = 3


#: what a time-aware detector needs so the scorer can keep its history per asset
STREAMING_METHODS = ("score_one", "reset_stream", "last_contributions")


def _detector_of(model: Any) -> Any:
    """The detector inside a trained model (an object with ``.detector``) or the detector itself."""
    detector = getattr(model, "detector", model)
    for attr in ("score_samples", "contributions", "threshold_", "sensors_"):
        if not hasattr(detector, attr):
            raise ConfigError(
                f"the model cannot score a stream: its detector {type(detector).__name__} has no {attr!r}. "
                "Give a fitted detector with a threshold (pumpguard train writes one)"
            )
    lacking = [m for m in STREAMING_METHODS if not callable(getattr(detector, m, None))]
    if getattr(detector, "time_aware", False) and lacking:
        raise ConfigError(
            f"{type(detector).__name__} is time-aware (a row's score uses earlier rows) but cannot score a "
            f"stream row by row (it has no {', '.join(lacking)}), so `pumpguard serve` cannot keep its history "
            "per asset. Serve a row-wise detector (pca, iforest, decision_tree, random_forest, "
            "logistic_regression, gradient_boosting) or a streaming time-aware one (adaptive_t2, reanchor_t2); "
            "score this one in batch over a contiguous stretch of time (pumpguard model predict)"
        )
    return detector


class StreamScorer:
    """Scores batches of :class:`TelemetryRow` with a fitted detector.

    Examples
    --------
    >>> from datetime import datetime, timezone
    >>> class Mean:  # a stand-in for a fitted pumpguard detector
    ...     sensors_ = ["p1", "p2"]; threshold_ = 1.0
    ...     def score_samples(self, X): return X.abs().mean(axis=1).to_numpy()
    ...     def contributions(self, X): return X.abs().div(X.abs().sum(axis=1), axis=0)
    >>> scorer = StreamScorer(Mean(), model_name="mean")
    >>> ts = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> rows = [TelemetryRow("s", "pump_a", ts, {"p1": 3.0, "p2": 1.0}),
    ...         TelemetryRow("s", "pump_a", ts, {"p1": 3.0, "p2": 1.0})]   # a redelivery
    >>> [(p["score"], p["anomaly"], p["top_sensors"][0]) for p in scorer.score(rows) if p]
    [(2.0, True, {'sensor': 'p1', 'share': 0.75})]
    >>> scorer.duplicates
    1
    """

    def __init__(
        self,
        model: Any,
        *,
        model_name: str = "",
        top_sensors: int = DEFAULT_TOP_SENSORS,
        dedupe_rows: int = DEFAULT_DEDUPE_ROWS,
    ) -> None:
        self.detector = _detector_of(model)
        self.model_name = (
            model_name or getattr(model, "name", "") or getattr(model, "detector_name", "") or type(self.detector).__name__
        )
        self.sensors: list[str] = list(self.detector.sensors_)
        self.threshold = float(self.detector.threshold_)
        # a detector that overrides predict (an alarm filter, say) decides "anomaly" itself;
        # otherwise the shared rule score > threshold_ is applied here without scoring twice
        self._own_predict = hasattr(self.detector, "predict") and getattr(type(self.detector), "predict", None) is not Detector.predict
        self.top_sensors = int(top_sensors)
        self.dedupe_rows = int(dedupe_rows)
        self._seen = SeenRows(self.dedupe_rows)
        getter = operator.itemgetter(*self.sensors)
        self._every_sensor = getter if len(self.sensors) > 1 else (lambda values: (getter(values),))
        self.duplicates = 0
        self.scored = 0
        self.time_aware = bool(getattr(self.detector, "time_aware", False))
        self._known = frozenset(self.sensors)
        self._columns = pd.Index(self.sensors)
        self._columns_tuple = tuple(self.sensors)
        self._names = np.array(self.sensors, dtype=object)
        self._both = getattr(self.detector, "score_and_contributions", None)
        predicts_status = getattr(self.detector, "predicts_status", False) and hasattr(self.detector, "predict_status")
        self._lean = (callable(getattr(self.detector, "score_matrix", None)) and not self._own_predict
                      and not predicts_status and not getattr(self.detector, "time_aware", False))
        #: per (site, asset): the streaming copy of a time-aware detector and the last time it scored
        self._streams: dict[tuple[str, str], Any] = {}
        self._last_ts: dict[tuple[str, str], Any] = {}
        #: rows of the last :meth:`score` call that were refused, with the reason (in place of a
        #: prediction there is None); the service publishes each on the errors topic
        self.refused: list[tuple[TelemetryRow, str]] = []
        self.out_of_order = 0

    def _first_time(self, row: TelemetryRow) -> bool:
        if self._seen.first_time(row.site, row.asset, row.ts):
            return True
        self.duplicates += 1
        return False

    def table(self, rows: Sequence[TelemetryRow], matrix: np.ndarray | None = None) -> pd.DataFrame:
        """The rows as one frame in the data contract (UTC index ``timestamp``, columns = model sensors).

        ``matrix``: the rows' values already in columns (rows x model sensors, as the codec's batch
        path gives them), used as they are instead of being rebuilt from the row dicts."""
        index = pd.DatetimeIndex([row.ts for row in rows], name="timestamp")
        if matrix is not None:
            if matrix.shape != (len(rows), len(self.sensors)):
                raise ValueError(f"matrix of shape {matrix.shape} for {len(rows)} rows of {len(self.sensors)} sensors")
            return pd.DataFrame(np.asarray(matrix, dtype="float64"), index=index, columns=self._columns, copy=False)
        return pd.DataFrame(self.matrix_of(rows), index=index, columns=self._columns, copy=False)

    def matrix_of(self, rows: Sequence[TelemetryRow]) -> np.ndarray:
        """The rows' values as rows x :attr:`sensors` (float64, NaN where a row lacks a sensor)."""
        every = self._every_sensor
        lines = []
        for row in rows:
            try:
                # C-speed path for the usual row that carries every model sensor
                lines.append(every(row.values))
            except KeyError:
                lines.append(tuple(row.values.get(name, math.nan) for name in self.sensors))
        return np.array(lines, dtype="float64").reshape(len(rows), len(self.sensors))

    def score(self, rows: Sequence[TelemetryRow], matrix: np.ndarray | None = None) -> list[dict | None]:
        """One prediction per row, in order; None in place of a duplicate (already predicted) or
        of a refused row (listed in :attr:`refused`). ``matrix``: the rows' values in columns of
        :attr:`sensors` when the caller has them (see :meth:`table`)."""
        self.refused = []
        fresh = [i for i, row in enumerate(rows) if self._first_time(row)]
        out: list[dict | None] = [None] * len(rows)
        if not fresh:
            return out
        if self.time_aware:
            fresh, scores, shares = self._score_streams(rows, fresh)
            batch = [rows[i] for i in fresh]
            status = alarms = None
        else:
            batch = [rows[i] for i in fresh]
            if matrix is None:
                matrix = self.matrix_of(batch)
            elif len(fresh) < len(rows):
                matrix = matrix[fresh]
            scores, shares, status, alarms = self._score_table(batch, matrix)
        if not fresh:
            return out
        made = self._predictions([row.asset for row in batch], [row.ts for row in batch], scores, shares, status, alarms)
        for i, prediction in zip(fresh, made):
            out[i] = prediction
        self.scored += len(fresh)
        return out

    @property
    def columnar(self) -> bool:
        """True when :meth:`score_blocks` scores blocks as they are (a row-wise pumpguard detector
        that needs only the values); otherwise it goes through the rows, which is slower."""
        return self._lean

    def score_blocks(self, blocks: Sequence[RowBlock]) -> list[list[dict | None]]:
        """Predictions of clean messages' :class:`~pumpguard.stream.codec.RowBlock` s, per block in
        order (None in place of a duplicate), all scored with one detector call.

        The columns of every block must be :attr:`sensors` in that order (the codec built with
        this scorer's sensors gives them so). The rows stay in columns: no row object is made.
        """
        if not self._lean:  # status, an alarm rule of its own, or history per asset: through the rows
            rows = [row for block in blocks for row in block.rows()]
            flat = self.score(rows, np.concatenate([b.matrix for b in blocks]) if blocks and not self.time_aware else None)
            return _split(flat, [len(b) for b in blocks])
        self.refused = []
        width = len(self.sensors)
        seen, keep = self._seen, []
        for block in blocks:
            if block.columns != self._columns_tuple:
                raise ValueError(f"block columns {block.columns[:3]}... are not this scorer's sensors {self.sensors[:3]}...")
            fresh = seen.fresh(block.site, block.asset, block.times)
            self.duplicates += len(block) - len(fresh)
            keep.append(fresh)
        parts = [b.matrix if len(f) == len(b) else b.matrix[f] for b, f in zip(blocks, keep) if f]
        out = [[None] * len(b) for b in blocks]
        if not parts:
            return out
        matrix = parts[0] if len(parts) == 1 else np.concatenate(parts)
        scores, shares = self.detector.score_matrix(matrix.reshape(-1, width))
        assets = [b.asset for b, f in zip(blocks, keep) for _ in f]
        times = [b.times[i] for b, f in zip(blocks, keep) for i in f]
        made = iter(self._predictions(assets, times, scores, shares, None, None))
        for slots, fresh in zip(out, keep):
            for i in fresh:
                slots[i] = next(made)
        self.scored += len(times)
        return out

    def _predictions(self, assets: list[str], times: list, scores: np.ndarray, shares: np.ndarray,
                     status: np.ndarray | None, alarms: list | None) -> list[dict]:
        """The prediction payloads of scored rows (see the module docstring for the fields)."""
        k = min(self.top_sensors, len(self.sensors))
        top = _largest(shares, k)
        top_shares = np.round(np.take_along_axis(shares, top, axis=1), 4).tolist()
        top_names = self._names[top].tolist()
        scorable = np.isfinite(scores).tolist()
        if alarms is not None:
            anomaly = [None if not ok or math.isnan(a) else bool(a) for ok, a in zip(scorable, alarms)]
        else:
            anomaly = [bool(a) if ok else None for ok, a in zip(scorable, (scores > self.threshold).tolist())]
        if status is not None:
            labels = [str(s) if ok else "UNSCORABLE" for ok, s in zip(scorable, status.tolist())]
        else:
            labels = ["UNSCORABLE" if a is None and not ok else ("ANOMALY" if a else "NORMAL")
                      for ok, a in zip(scorable, anomaly)]
        threshold, model = self.threshold, self.model_name
        return [
            {
                "asset": asset,
                "ts": ts,
                "score": score if ok else None,
                "threshold": threshold,
                "anomaly": alarm,
                "status": label,
                "top_sensors": [{"sensor": name, "share": share} for name, share in zip(names, shares_)
                                if share > 0] if ok else [],
                "model": model,
            }
            for asset, ts, score, ok, alarm, label, names, shares_ in zip(
                assets, times, scores.tolist(), scorable, anomaly, labels, top_names, top_shares)
        ]

    def _score_table(self, batch: Sequence[TelemetryRow], matrix: np.ndarray):
        """A row-wise detector on the whole batch: one call for scores and shares.

        A pumpguard detector that needs nothing but the values (no status, no alarm rule of its
        own) scores the matrix as it is (``score_matrix``: no frame, a tenth of the fixed cost);
        any other gets the rows as a frame in the data contract."""
        detector = self.detector
        if self._lean:
            scores, shares = detector.score_matrix(matrix)
            return scores, shares, None, None
        frame = self.table(batch, matrix)
        if self._both is not None:
            scores, shares = self._both(frame)
        else:  # a detector of another shape (the doctest's stand-in): two calls
            scores, shares = detector.score_samples(frame), detector.contributions(frame)
        scores = np.asarray(scores, dtype="float64")
        shares = np.asarray(shares, dtype="float64")
        status = None
        if getattr(detector, "predicts_status", False) and hasattr(detector, "predict_status"):
            status = np.asarray(detector.predict_status(frame))
        alarms = np.asarray(detector.predict(frame), dtype="float64").tolist() if self._own_predict else None
        return scores, shares, status, alarms

    def _score_streams(self, rows: Sequence[TelemetryRow], fresh: list[int]):
        """A time-aware detector: each asset's rows, oldest first, into that asset's own stream.

        Returns the rows scored (indexes into ``rows``, in the order scored), their scores and shares.
        """
        order = sorted(fresh, key=lambda i: (rows[i].site, rows[i].asset, rows[i].ts))
        kept, scores, shares = [], [], []
        for i in order:
            row = rows[i]
            key = (row.site, row.asset)
            last = self._last_ts.get(key)
            if last is not None and row.ts <= last:
                self.out_of_order += 1
                self._seen.forget(row.site, row.asset, row.ts)  # a redelivery is refused again
                self.refused.append((row, (
                    f"row at {_iso(row.ts)} for asset {row.asset!r} is older than the last row scored for it "
                    f"({_iso(last)}): {type(self.detector).__name__} scores each asset's rows in time order "
                    "from their history, so a late row cannot be scored. Send each asset's rows in time order"
                )))
                continue
            stream = self._streams.get(key)
            if stream is None:
                stream = self._streams[key] = copy.deepcopy(self.detector)
                stream.reset_stream()
            values = {name: value for name, value in row.values.items() if name in self._known}
            scores.append(float(stream.score_one(values)))
            parts = stream.last_contributions()
            shares.append([parts.get(name, math.nan) for name in self.sensors])
            self._last_ts[key] = row.ts
            kept.append(i)
        width = len(self.sensors)
        return kept, np.array(scores, dtype="float64"), np.array(shares, dtype="float64").reshape(len(kept), width)


def _largest(shares: np.ndarray, k: int) -> np.ndarray:
    """Column indexes of the ``k`` largest shares of each row, largest first; among equal shares
    the first sensor first (as a stable sort would give), NaN last.

    Examples
    --------
    >>> _largest(np.array([[0.1, 0.5, 0.1, 0.3], [np.nan, np.nan, np.nan, np.nan]]), 2).tolist()
    [[1, 3], [0, 1]]
    """
    keyed = -np.nan_to_num(shares, nan=-1.0)
    if k >= keyed.shape[1] or k < 1:
        return np.argsort(keyed, axis=1, kind="stable")[:, :max(k, 0)]
    # the k-th largest of each row; candidates are every column at least that large (ties kept),
    # then a stable sort of the candidates only
    kth = np.partition(keyed, k - 1, axis=1)[:, k - 1:k]
    candidate = keyed <= kth
    if (candidate.sum(axis=1) == k).all():  # no tie at the k-th place: sort the k per row
        cols = np.nonzero(candidate)[1].reshape(-1, k)
        order = np.argsort(np.take_along_axis(keyed, cols, axis=1), axis=1, kind="stable")
        return np.take_along_axis(cols, order, axis=1)
    return np.argsort(keyed, axis=1, kind="stable")[:, :k]  # ties at the boundary: the full stable sort


def _split(flat: list, sizes: list[int]) -> list[list]:
    """``flat`` cut into consecutive pieces of ``sizes``."""
    out, at = [], 0
    for size in sizes:
        out.append(flat[at:at + size])
        at += size
    return out


def _iso(ts: Any) -> str:
    return ts.isoformat().replace("+00:00", "Z") if hasattr(ts, "isoformat") else str(ts)
