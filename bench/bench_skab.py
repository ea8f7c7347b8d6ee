"""SKAB benchmark (valve1 + valve2, strict protocol) and the speed of the time-aware detector.

1. ``pumpguard bench skab``'s protocol (:func:`pumpguard.evaluation.skab.run_skab`) over every
   labelled file of ``$SKAB_ROOT`` (default ``/work/shared/data/skab``), for ``adaptive_t2`` and the
   baselines ``pca`` and ``iforest`` measured in the same run with the same threshold rule: pooled
   F1 / FAR / MAR, NAB standard / LowFP / LowFN, and the seconds each run took. Targets (issue 3, not
   asserted): F1 >= 0.85 with FAR <= 10 % and MAR <= 20 %, NAB standard >= 40. Skipped rows say so
   if the data are absent.
2. Speed on a pump-record-sized table (220,320 rows x 52 sensors, one row a minute, seeded random
   walks plus noise): fit seconds (target < 60 s) and batch-scoring rows/s (target >= 200,000),
   with :class:`pumpguard.detectors.pca.PCADetector` as the baseline on the same table.
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
                rows.append(Row(f"skab/{name}", key, float(s[key]), unit, target=TARGETS.get(key, "") if name == "adaptive_t2" else ""))
        rows.append(Row(f"skab/{name}", "seconds (20 files)", t[0], "s",
                        note=f"{s['n_missed_changepoints']} of {s['n_changepoints']} changepoints missed, "
                             f"{s['n_false_positive_changepoints']} false-positive changepoints"))
    return rows


def pump_sized_table(n_rows: int = 220_320, n_sensors: int = 52, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2018-04-01", periods=n_rows, freq="min", tz="UTC", name="timestamp")
    values = rng.normal(0, 0.01, (n_rows, n_sensors)).cumsum(axis=0) + rng.normal(size=(n_rows, n_sensors))
    values[rng.random(values.shape) < 0.005] = np.nan
    return pd.DataFrame(values, index=idx, columns=[f"sensor_{i:02d}" for i in range(n_sensors)])


def speed_rows() -> list[Row]:
    from pumpguard.detectors.pca import PCADetector
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
                       ("adaptive_t2 (shrinkage=1)", AdaptiveT2Detector(shrinkage=1.0))):
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
    return skab_rows() + speed_rows()


if __name__ == "__main__":
    emit(run())
