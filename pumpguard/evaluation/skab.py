"""The SKAB benchmark protocol (Skoltech Anomaly Benchmark, strict leaderboard), for any detector.

Protocol, per labelled CSV under ``root``'s sub-folders (``anomaly-free`` is skipped), each file on
its own:

1. the first ``train_rows`` rows (400 = 6 min 40 s at 1 s) are the training part: they fit the
   detector (its scaling and model) and its threshold; the rest of the file is the test part;
2. the whole file is scored in one causal pass (a row's score uses rows up to it only, so the
   training rows are the history the test part starts from, as on a live machine);
3. threshold = ``median + margin * (q - median)`` of the training rows' scores, ``q`` their
   ``1 - false_alarm_rate`` quantile by the rule of :mod:`pumpguard.detectors.threshold` (the
   form is location- and scale-free, so one rule fits every detector); alarm = score > threshold;
4. outlier metrics are POOLED over all test rows of all files: F1 = TP / (TP + (FP + FN) / 2),
   FAR = FP / (FP + TN), MAR = FN / (FN + TP); changepoint metrics are NAB standard / LowFP / LowFN
   (:mod:`pumpguard.evaluation.nab`) on the test rows, the predicted changepoints being the alarm
   edges and each true changepoint opening a 60 s window to its right.

Labels are read only to score: the detector, its parameters and the threshold never see them. A
test row the detector cannot score (NaN) is "no alarm" and counted in ``n_unscorable``.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from pumpguard.errors import ConfigError, DataFormatError
from pumpguard.evaluation.nab import DEFAULT_WINDOW, NabCounts, nab_counts

SKIP_FOLDERS = ("anomaly-free",)
#: The training rows' own quantile is optimistic minutes later (drift); docs/skab.md shows how 3 was
#: chosen on the anomaly-free record (normal data only, no labels). SKAB's Conv-AE baseline uses 4/3.
DEFAULT_MARGIN = 3.0
DEFAULT_FALSE_ALARM_RATE = 0.01


@dataclass
class OutlierCounts:
    """Pooled confusion counts of 0/1 alarms against 0/1 ``anomaly`` labels (add with ``+``)."""

    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def __add__(self, other: "OutlierCounts") -> "OutlierCounts":
        return OutlierCounts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn, self.tn + other.tn)

    @classmethod
    def of(cls, truth, alarms) -> "OutlierCounts":
        """Counts of one series; a NaN alarm counts as no alarm (SKAB compares ``prediction == 1``)."""
        t = np.nan_to_num(np.asarray(truth, dtype="float64").ravel()) > 0.5
        a = np.nan_to_num(np.asarray(alarms, dtype="float64").ravel()) > 0.5
        if t.size != a.size:
            raise DataFormatError("truth and alarms differ in length", found=(t.size, a.size))
        return cls(int((t & a).sum()), int((~t & a).sum()), int((t & ~a).sum()), int((~t & ~a).sum()))

    def metrics(self) -> dict[str, float | None]:
        """F1 (SKAB's form), FAR and MAR in percent; None where a denominator is 0.

        Examples
        --------
        >>> OutlierCounts.of([0, 0, 1, 1, 1], [1, 1, 1, 1, 1]).metrics()
        {'f1': 0.75, 'far_pct': 100.0, 'mar_pct': 0.0}
        """
        def ratio(a: float, b: float) -> float | None:
            return None if b == 0 else a / b

        f1 = ratio(self.tp, self.tp + (self.fp + self.fn) / 2)
        far = ratio(self.fp, self.fp + self.tn)
        mar = ratio(self.fn, self.fn + self.tp)
        return {
            "f1": f1,
            "far_pct": None if far is None else 100.0 * far,
            "mar_pct": None if mar is None else 100.0 * mar,
        }


@dataclass
class SkabFileResult:
    folder: str
    file: str
    n_train: int
    n_test: int
    threshold: float
    n_unscorable: int
    counts: OutlierCounts
    nab: NabCounts
    fit_s: float
    score_s: float
    #: test rows: timestamps as written in the file, and the 0/1 alarm
    predictions: pd.DataFrame = field(repr=False)

    @property
    def key(self) -> str:
        return f"{self.folder}_{Path(self.file).stem}"


@dataclass
class SkabResults:
    """What :func:`run_skab` measured: pooled metrics and every file's part."""

    detector: str
    params: dict
    protocol: dict
    files: list[SkabFileResult]

    @property
    def counts(self) -> OutlierCounts:
        total = OutlierCounts()
        for f in self.files:
            total = total + f.counts
        return total

    @property
    def nab(self) -> NabCounts:
        total = NabCounts()
        for f in self.files:
            total = total + f.nab
        return total

    def summary(self) -> dict:
        """Pooled F1/FAR/MAR, NAB profiles and timings, as plain numbers."""
        nab = self.nab.to_dict()
        return {
            **self.counts.metrics(),
            "nab_standard": nab["nab"]["standard"],
            "nab_low_fp": nab["nab"]["low_fp"],
            "nab_low_fn": nab["nab"]["low_fn"],
            "n_files": len(self.files),
            "n_test_rows": int(sum(f.n_test for f in self.files)),
            "n_unscorable": int(sum(f.n_unscorable for f in self.files)),
            "n_changepoints": nab["n_changepoints"],
            "n_missed_changepoints": nab["n_missed"],
            "n_false_positive_changepoints": nab["n_false_positives"],
            "mean_delay_s": nab["mean_delay_s"],
            "fit_s": float(sum(f.fit_s for f in self.files)),
            "score_s": float(sum(f.score_s for f in self.files)),
        }

    def to_dict(self) -> dict:
        return {
            "detector": self.detector,
            "params": self.params,
            "protocol": self.protocol,
            "summary": self.summary(),
            "confusion": asdict(self.counts),
            "files": [
                {
                    "folder": f.folder, "file": f.file, "n_train": f.n_train, "n_test": f.n_test,
                    "threshold": f.threshold, "n_unscorable": f.n_unscorable,
                    "confusion": asdict(f.counts), "nab": f.nab.to_dict(), "fit_s": f.fit_s, "score_s": f.score_s,
                }
                for f in self.files
            ],
        }


def skab_files(root: str | Path) -> list[Path]:
    """Every ``*.csv`` in ``root``'s sub-folders except ``anomaly-free``, in folder then number order."""
    base = Path(root)
    if not base.is_dir():
        raise DataFormatError(
            "SKAB root is not a directory", path=base,
            hint="Point at the folder holding valve1/, valve2/, ... (e.g. /work/shared/data/skab)",
        )

    def order(p: Path):
        return (p.parent.name, [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", p.stem)])

    found = [p for p in base.glob("*/*.csv") if p.parent.name not in SKIP_FOLDERS]
    if not found:
        raise DataFormatError(
            "no labelled SKAB files found", path=base,
            expected="sub-folders (valve1/, valve2/, other/) of ';'-separated CSV files",
        )
    return sorted(found, key=order)


def read_skab_file(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Sensor columns and label columns (``anomaly``, ``changepoint``) of one SKAB file."""
    from pumpguard.data.readers import read_dataset

    ds = read_dataset(path, kind="skab")
    for column in ("anomaly", "changepoint"):
        if column not in ds.frame.columns:
            raise DataFormatError("SKAB file has no label column", path=path, column=column,
                                  hint="benchmark files carry 'anomaly' and 'changepoint'")
    return ds.values, ds.frame[["anomaly", "changepoint"]]


def alarm_threshold(train_scores, *, false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE,
                    margin: float = DEFAULT_MARGIN) -> float:
    """``median + margin * (q - median)`` of training scores, ``q`` their ``1 - rate`` quantile.

    Examples
    --------
    >>> alarm_threshold(np.arange(101.0), false_alarm_rate=0.01, margin=1.5)
    125.0
    """
    if not (isinstance(margin, (int, float, np.number)) and margin > 0 and math.isfinite(margin)):
        raise ConfigError(f"margin={margin!r}: expected a positive number (1 = the quantile itself)")
    if not (isinstance(false_alarm_rate, (int, float, np.number)) and 0 < false_alarm_rate < 1):
        raise ConfigError(f"false_alarm_rate={false_alarm_rate!r}: expected a fraction of normal rows in (0, 1)")
    scores = np.asarray(train_scores, dtype="float64").ravel()
    finite = np.sort(scores[np.isfinite(scores)])
    if finite.size == 0:
        raise ConfigError("cannot set a threshold: no training row has a finite score")
    # the k-th smallest, k = ceil((n + 1)(1 - rate)): the rule of pumpguard.detectors.threshold
    k = min(math.ceil((finite.size + 1) * (1.0 - false_alarm_rate)), finite.size)
    q = float(finite[k - 1])
    median = float(np.median(finite))
    return median + float(margin) * (q - median)


def _persist(alarms: np.ndarray, index, hold_s: float, within_s: float) -> np.ndarray:
    """Causal k-of-n persistence with durations in seconds (evaluation does not import detectors)."""
    gaps = np.asarray((index[1:] - index[:-1]).total_seconds(), dtype="float64")
    gaps = gaps[gaps > 0]
    step = float(np.median(gaps)) if gaps.size else 1.0
    if not (0 < hold_s <= within_s):
        raise ConfigError(f"persistence_s=({hold_s}, {within_s}): expected 0 < hold <= within seconds")
    n = max(1, int(round(within_s / step)))
    k = min(n, max(1, int(round(hold_s / step))))
    csum = np.concatenate([[0.0], np.cumsum(alarms > 0.5)])
    idx = np.arange(1, alarms.size + 1)
    return ((csum[idx] - csum[np.maximum(idx - n, 0)]) >= k).astype("float64")


def run_skab(
    root: str | Path,
    detector_factory: Callable[[], object],
    *,
    train_rows: int = 400,
    false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE,
    margin: float = DEFAULT_MARGIN,
    window=DEFAULT_WINDOW,
    persistence_s: tuple[float, float] | None = None,
    name: str | None = None,
) -> SkabResults:
    """Run the SKAB protocol (module text) with a fresh detector from ``detector_factory()`` per file.

    ``persistence_s=(hold, within)`` (seconds) keeps an alarm only where alarms cover ``hold`` s of
    the last ``within`` s (causal k-of-n, :func:`pumpguard.detectors.alarm_filter.persistence` rule,
    rows from the file's median sampling step); None (default) uses the raw alarms.
    """
    if isinstance(train_rows, bool) or not isinstance(train_rows, int) or train_rows < 2:
        raise ConfigError(f"train_rows={train_rows!r}: expected an integer >= 2 (SKAB uses 400)")
    results = []
    params: dict = {}
    for path in skab_files(root):
        X, labels = read_skab_file(path)
        if len(X) <= train_rows:
            raise DataFormatError("SKAB file is too short for its training part", path=path,
                                  found=len(X), expected=f"more than train_rows={train_rows} rows")
        detector = detector_factory()
        t0 = time.perf_counter()
        detector.fit(X.iloc[:train_rows])
        t1 = time.perf_counter()
        scores = np.asarray(detector.score_samples(X), dtype="float64")
        t2 = time.perf_counter()
        threshold = alarm_threshold(scores[:train_rows], false_alarm_rate=false_alarm_rate, margin=margin)
        test_scores = scores[train_rows:]
        alarms = np.where(np.isfinite(scores), (scores > threshold).astype("float64"), 0.0)
        if persistence_s is not None:
            alarms = _persist(alarms, X.index, *persistence_s)
        alarms = alarms[train_rows:]
        test_labels = labels.iloc[train_rows:]
        stamps = X.index[train_rows:]
        written = stamps.tz_convert(None) if getattr(stamps, "tz", None) is not None else stamps
        results.append(
            SkabFileResult(
                folder=path.parent.name,
                file=path.name,
                n_train=train_rows,
                n_test=len(test_scores),
                threshold=float(threshold),
                n_unscorable=int((~np.isfinite(test_scores)).sum()),
                counts=OutlierCounts.of(test_labels["anomaly"], alarms),
                nab=nab_counts(stamps, test_labels["changepoint"].to_numpy(), alarms, width=window),
                fit_s=t1 - t0,
                score_s=t2 - t1,
                predictions=pd.DataFrame({"datetime": pd.DatetimeIndex(written).strftime("%Y-%m-%d %H:%M:%S"),
                                          "anomaly": alarms.astype(int)}),
            )
        )
        params = detector.get_params() if hasattr(detector, "get_params") else {}
    return SkabResults(
        detector=name or type(detector).__name__,
        params={k: v for k, v in params.items() if isinstance(v, (int, float, str, bool, type(None)))},
        protocol={
            "root": str(root), "train_rows": train_rows, "false_alarm_rate": false_alarm_rate,
            "margin": margin, "nab_window_s": pd.Timedelta(window).total_seconds(),
            "persistence_s": None if persistence_s is None else list(persistence_s),
            "threshold": "median + margin * (q - median) of the training rows' scores",
        },
        files=results,
    )
