"""SKAB benchmark (valve1 + valve2, strict protocol) and the speed of the time-aware detectors.

1. ``pumpguard bench skab``'s protocol (:func:`pumpguard.evaluation.skab.run_skab`) over every
   labelled file of ``$SKAB_ROOT`` (default ``/work/shared/data/skab``), for ``reanchor_t2`` (the
   detector of record, docs/skab.md), ``adaptive_t2`` and the baselines ``pca`` and ``iforest``,
   measured in the same run with the same threshold rule: pooled
   F1 / FAR / MAR, NAB standard / LowFP / LowFN, and the seconds each run took. Targets (issue 3, not
   asserted): F1 >= 0.85 with FAR <= 10 % and MAR <= 20 %, NAB standard >= 40. Skipped rows say so
   if the data are absent.
2. Normal data only (no labels): each SKAB detector's FAR on the anomaly-free record cut into
   pieces of 1150 rows (a valve file's size; fit on 400, margin-3 threshold, every alarm false),
   and on the same pieces with a synthetic valve episode injected (:func:`valve_episode`): FAR,
   MAR and the FAR from 60 s after the episode on (a latch that does not release shows there).
   These are the checks docs/skab.md's parameters were chosen with.
3. Speed on a pump-record-sized table (220,320 rows x 52 sensors, one row a minute, seeded random
   walks plus noise): fit seconds (target < 60 s) and batch-scoring rows/s (target >= 200,000),
   with :class:`pumpguard.detectors.pca.PCADetector` as the baseline on the same table, for
   ``adaptive_t2`` and ``reanchor_t2`` (with the SKAB setting ``shrinkage=1`` and the class default).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pandas as pd

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._harness import Row, emit, timed  # noqa: E402

SKAB_ROOT = Path(os.environ.get("SKAB_ROOT", "/work/shared/data/skab"))
TARGETS = {"f1": ">= 0.85", "far_pct": "<= 10", "mar_pct": "<= 20", "nab_standard": ">= 40"}
#: the detector the targets are read against (docs/skab.md)
RECORD = "reanchor_t2"
UNITS = {"f1": "", "far_pct": "%", "mar_pct": "%", "nab_standard": "", "nab_low_fp": "", "nab_low_fn": ""}


def skab_rows() -> list[Row]:
    from pumpguard.cli.bench_commands import SKAB_DETECTORS
    from pumpguard.detectors.registry import make_detector
    from pumpguard.evaluation.skab import run_skab

    if not (SKAB_ROOT / "valve1").is_dir():
        return [Row("skab", "skipped", 0.0, "", note=f"no SKAB data at {SKAB_ROOT}")]
    rows: list[Row] = []
    for name, params in SKAB_DETECTORS.items():
        with timed() as t:
            s = run_skab(SKAB_ROOT, lambda: make_detector(name, **params), name=name).summary()
        for key, unit in UNITS.items():
            if s[key] is not None:
                rows.append(Row(f"skab/{name}", key, float(s[key]), unit, target=TARGETS.get(key, "") if name == RECORD else ""))
        rows.append(Row(f"skab/{name}", "seconds (20 files)", t[0], "s",
                        note=f"{s['n_missed_changepoints']} of {s['n_changepoints']} changepoints missed, "
                             f"{s['n_false_positive_changepoints']} false-positive changepoints"))
    return rows


ANOMALY_FREE = SKAB_ROOT / "anomaly-free" / "anomaly-free.csv"
PIECE_ROWS, TRAIN_ROWS = 1150, 400
#: a closing outlet valve in training standard deviations: flow down, pressure up, current down, vibration up
EPISODE = {"Volume Flow RateRMS": -4.0, "Pressure": 1.5, "Current": -1.0,
           "Accelerometer1RMS": 3.0, "Accelerometer2RMS": 3.0}


def valve_episode(piece: pd.DataFrame, rng, *, stroke_s: float = 5.0, overshoot: float = 0.0):
    """``piece`` with one synthetic valve episode, and the 0/1 rows it covers.

    Starts 100-250 s into the test part, lasts 240-360 s, closes and reopens as ``stroke_s`` ramps
    (an ``overshoot`` x step that decays with 10 s at each), size :data:`EPISODE` x a gain 0.7-1.5;
    afterwards 30 % of the step stays (random sign): the plant settles at a new operating point.
    """
    out = piece.copy()
    sd = piece.iloc[:TRAIN_ROWS].std()
    start, dur = int(rng.integers(500, 650)), int(rng.integers(240, 360))
    gain = rng.uniform(0.7, 1.5)
    t = np.arange(len(piece), dtype=float)

    def ramp(at):
        return np.clip((t - at) / stroke_s, 0, 1) * (1 + overshoot * np.exp(-np.clip(t - at, 0, None) / 10))

    for column, k in EPISODE.items():
        remains = 0.3 * rng.choice([-1, 1])
        out[column] = out[column] + gain * k * sd[column] * (ramp(start) - ramp(start + dur) * (1 - remains))
    label = np.zeros(len(piece), dtype=bool)
    label[start:start + dur] = True
    return out, label, start + dur


def normal_rows(seeds: int = 3) -> list[Row]:
    from pumpguard.cli.bench_commands import SKAB_DETECTORS
    from pumpguard.data.readers import read_dataset
    from pumpguard.detectors.registry import make_detector
    from pumpguard.evaluation.skab import alarm_threshold

    if not ANOMALY_FREE.is_file():
        return [Row("normal", "skipped", 0.0, "", note=f"no {ANOMALY_FREE}")]
    X = read_dataset(ANOMALY_FREE, kind="skab").values
    pieces = [X.iloc[i:i + PIECE_ROWS] for i in range(0, len(X) - PIECE_ROWS + 1, PIECE_ROWS)]

    def alarms(name, params, piece):
        s = make_detector(name, **params).fit(piece.iloc[:TRAIN_ROWS]).score_samples(piece)
        return (np.nan_to_num(s) > alarm_threshold(s[:TRAIN_ROWS]))[TRAIN_ROWS:]

    rows: list[Row] = []
    for name, params in SKAB_DETECTORS.items():
        far = np.mean(np.concatenate([alarms(name, params, p) for p in pieces]))
        rows.append(Row(f"normal/{name}", f"FAR, anomaly-free ({len(pieces)} pieces)", 100 * far, "%"))
        rng = np.random.default_rng(0)
        fp = n_neg = fn = n_pos = late = n_late = 0
        for _ in range(seeds):
            for p in pieces:
                q, label, end = valve_episode(p, rng)
                a, lab = alarms(name, params, q), label[TRAIN_ROWS:]
                fp, n_neg = fp + (a & ~lab).sum(), n_neg + (~lab).sum()
                fn, n_pos = fn + (~a & lab).sum(), n_pos + lab.sum()
                after = a[end - TRAIN_ROWS + 60:]
                late, n_late = late + after.sum(), n_late + after.size
        note = f"{seeds} x {len(pieces)} pieces, one synthetic valve episode each"
        rows += [Row(f"normal/{name}", "synthetic episodes: FAR", 100 * fp / n_neg, "%", note=note),
                 Row(f"normal/{name}", "synthetic episodes: MAR", 100 * fn / n_pos, "%"),
                 Row(f"normal/{name}", "synthetic: FAR from 60 s after", 100 * late / max(n_late, 1), "%")]
    return rows


def pump_sized_table(n_rows: int = 220_320, n_sensors: int = 52, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2018-04-01", periods=n_rows, freq="min", tz="UTC", name="timestamp")
    values = rng.normal(0, 0.01, (n_rows, n_sensors)).cumsum(axis=0) + rng.normal(size=(n_rows, n_sensors))
    values[rng.random(values.shape) < 0.005] = np.nan
    return pd.DataFrame(values, index=idx, columns=[f"sensor_{i:02d}" for i in range(n_sensors)])


def speed_rows() -> list[Row]:
    from pumpguard.detectors.pca import PCADetector
    from pumpguard.detectors.reanchor import ReanchoringT2Detector
    from pumpguard.detectors.temporal import AdaptiveT2Detector

    X = pump_sized_table()
    base = PCADetector()
    with timed() as t:
        base.fit(X)
    base_fit = t[0]
    with timed() as t:
        base.score_samples(X)
    base_rate = len(X) / t[0]
    rows = []
    for label, det in (("adaptive_t2", AdaptiveT2Detector()),
                       ("adaptive_t2 (shrinkage=1)", AdaptiveT2Detector(shrinkage=1.0)),
                       ("reanchor_t2", ReanchoringT2Detector()),
                       ("reanchor_t2 (shrinkage=1)", ReanchoringT2Detector(shrinkage=1.0))):
        with timed() as t:
            det.fit(X)
        rows.append(Row(f"speed/{label}", "fit 220,320 x 52", t[0], "s", baseline=base_fit,
                        baseline_name="pca", target="< 60 s"))
        with timed() as t:
            det.score_samples(X)
        rows.append(Row(f"speed/{label}", "batch score", len(X) / t[0], "rows/s", baseline=base_rate,
                        baseline_name="pca", target=">= 200,000"))
    return rows


def run() -> list[Row]:
    return skab_rows() + normal_rows() + speed_rows()


if __name__ == "__main__":
    emit(run())
