"""The NAB (Numenta Anomaly Benchmark) changepoint score, with the conventions SKAB's leaderboard uses.

What is scored (SKAB's strict leaderboard, read from its ``core/metrics.py``/TSAD ``chp_score``):

* **Predicted changepoints** are the *edges* of a 0/1 alarm series: row ``t`` is a predicted
  changepoint where ``alarm[t] != alarm[t-1]``; the first row counts if its alarm is 1. A missing
  (NaN) alarm counts as 0.
* **Detection windows**: each true changepoint at time ``c`` opens the window ``[c, c + width]``
  (both ends included; default width 60 s, to the *right*: nothing can be detected before it
  happens). When a window reaches the next one, the later window starts where the earlier one ends
  (SKAB's ``"cut right window"``).
* In each window only the **first** predicted changepoint counts: a true positive scored by its
  position; later ones in the same window are ignored. A window without any is a false negative
  (``A_FN``). Every predicted changepoint outside all windows is a false positive (``A_FP``).
* **Position score** of a true positive at relative position ``r = (t - start) / (end - start)``:
  SKAB's scaled sigmoid (``"skab"``, the default): ``A_TP`` at the window start falling to ``A_FP``
  at its end along ``tanh``, sampled on 1000 steps exactly as SKAB does; or NAB's original
  ``A_TP * (2 / (1 + exp(5 (r - 1))) - 1)`` (``"nab"``).
* **Profiles** (A_TP, A_FP, A_FN): standard (1, -0.11, -1), LowFP (1, -0.22, -1),
  LowFN (1, -0.11, -2).
* **Normalised score** ``100 (S - S_null) / (S_perfect - S_null)``, with ``S_null = n_windows A_FN``
  (no detection) and ``S_perfect = n_windows A_TP``. Raw sums are pooled over files first, then
  normalised once (as SKAB does).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import numpy as np
import pandas as pd

from pumpguard.errors import ConfigError, DataFormatError

#: profile -> (A_TP, A_FP, A_FN), NAB's application profiles.
PROFILES: dict[str, tuple[float, float, float]] = {
    "standard": (1.0, -0.11, -1.0),
    "low_fp": (1.0, -0.22, -1.0),
    "low_fn": (1.0, -0.11, -2.0),
}
DEFAULT_WINDOW = pd.Timedelta(seconds=60)
_STEPS = 1000  # SKAB samples its scaled sigmoid on this many points


@dataclass
class NabCounts:
    """Raw NAB sums of one or more files (add them with ``+``) and the counts behind them."""

    raw: dict[str, float] = field(default_factory=lambda: {p: 0.0 for p in PROFILES})
    n_windows: int = 0
    n_detected: int = 0
    n_false_positives: int = 0
    #: delay (seconds) from each detected changepoint to its first detection
    delays_s: list[float] = field(default_factory=list)

    def __add__(self, other: "NabCounts") -> "NabCounts":
        return NabCounts(
            raw={p: self.raw[p] + other.raw[p] for p in PROFILES},
            n_windows=self.n_windows + other.n_windows,
            n_detected=self.n_detected + other.n_detected,
            n_false_positives=self.n_false_positives + other.n_false_positives,
            delays_s=self.delays_s + other.delays_s,
        )

    def normalised(self) -> dict[str, float | None]:
        """``100 (S - S_null) / (S_perfect - S_null)`` per profile; None without any true changepoint."""
        out: dict[str, float | None] = {}
        for name, (a_tp, _a_fp, a_fn) in PROFILES.items():
            null, perfect = self.n_windows * a_fn, self.n_windows * a_tp
            out[name] = None if perfect == null else 100.0 * (self.raw[name] - null) / (perfect - null)
        return out

    def to_dict(self) -> dict:
        return {
            "nab": self.normalised(),
            "raw": dict(self.raw),
            "n_changepoints": self.n_windows,
            "n_detected": self.n_detected,
            "n_missed": self.n_windows - self.n_detected,
            "n_false_positives": self.n_false_positives,
            "mean_delay_s": float(np.mean(self.delays_s)) if self.delays_s else None,
        }


def predicted_changepoints(alarms) -> np.ndarray:
    """Edges of a 0/1 alarm series (first row counts if it is 1); NaN counts as 0.

    Examples
    --------
    >>> predicted_changepoints([1, 1, 0, 0, 1, float("nan")]).astype(int).tolist()
    [1, 0, 1, 0, 1, 1]
    """
    a = np.asarray(alarms, dtype="float64").ravel()
    on = np.where(np.isfinite(a), a, 0.0) > 0.5
    edges = np.zeros(on.shape, dtype=bool)
    if on.size:
        edges[0] = on[0]
        edges[1:] = on[1:] != on[:-1]
    return edges


def detection_windows(changepoint_times: Sequence, width=DEFAULT_WINDOW) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    """``[c, c + width]`` for each true changepoint ``c``; a window reaching the next makes it start later."""
    td = _width(width)
    times = sorted(pd.Timestamp(t) for t in changepoint_times)
    windows = [[t, t + td] for t in times]
    for i in range(len(windows) - 1):
        if windows[i][1] >= windows[i + 1][0]:
            windows[i + 1][0] = windows[i][1]
    return [(a, b) for a, b in windows]


def position_score(relative: float, a_tp: float, a_fp: float, *, scale: str = "skab") -> float:
    """Score of a first detection at ``relative`` in [0, 1] of its window (0 = at the changepoint).

    Examples
    --------
    >>> position_score(0.0, 1.0, -0.11)
    1.0
    >>> round(position_score(1.0, 1.0, -0.11), 2)
    -0.11
    >>> round(position_score(0.5, 1.0, -0.11), 3)
    0.444
    """
    if scale == "skab":
        event = min(int(relative * _STEPS), _STEPS - 1)
        x = -np.pi / 2 + np.pi * event / (_STEPS - 1)
        half = (a_tp - a_fp) / 2.0
        return float(half * -np.tanh(x) / np.tanh(np.pi / 2) + half + a_fp)
    if scale == "nab":
        return float(a_tp * (2.0 / (1.0 + np.exp(5.0 * (relative - 1.0))) - 1.0))
    raise ConfigError(f"scale={scale!r}: expected 'skab' (SKAB's scaled tanh) or 'nab' (NAB's sigmoid)")


def nab_counts(index, true_changepoints, alarms, *, width=DEFAULT_WINDOW, scale: str = "skab") -> NabCounts:
    """Raw NAB sums of one file: ``index`` (timestamps), 0/1 true changepoints, 0/1 alarms per row."""
    times = _times(index)
    truth = np.asarray(true_changepoints, dtype="float64").ravel()
    alarm = np.asarray(alarms, dtype="float64").ravel()
    if not (len(times) == truth.size == alarm.size):
        raise DataFormatError(
            "NAB scoring: index, true changepoints and alarms differ in length",
            found=(len(times), truth.size, alarm.size),
            expected="one value per row in each",
        )
    windows = detection_windows(times[np.nan_to_num(truth) > 0.5], width)
    detections = times[predicted_changepoints(alarm)]
    counts = NabCounts(n_windows=len(windows))
    inside = np.zeros(len(detections), dtype=bool)
    detected_scores: list[float] = []
    for start, end in windows:
        hits = (detections >= start) & (detections <= end)
        inside |= hits
        if not hits.any():
            continue
        first = detections[np.argmax(hits)]
        span = (end - start).total_seconds()
        relative = 0.0 if span <= 0 else (first - start).total_seconds() / span
        detected_scores.append(relative)
        counts.delays_s.append((first - start).total_seconds())
    counts.n_detected = len(detected_scores)
    counts.n_false_positives = int((~inside).sum())
    for name, (a_tp, a_fp, a_fn) in PROFILES.items():
        s = a_fp * counts.n_false_positives + a_fn * (counts.n_windows - counts.n_detected)
        s += sum(position_score(r, a_tp, a_fp, scale=scale) for r in detected_scores)
        counts.raw[name] = s
    return counts


def nab_score(files: Iterable[tuple], *, width=DEFAULT_WINDOW, scale: str = "skab") -> dict[str, float | None]:
    """Normalised NAB scores pooled over ``(index, true_changepoints, alarms)`` triples, one per file.

    Examples
    --------
    >>> idx = pd.date_range("2020-03-09", periods=200, freq="s")
    >>> cp = np.zeros(200); cp[50] = 1
    >>> nab_score([(idx, cp, np.zeros(200))])["standard"]
    0.0
    >>> nab_score([(idx, cp, cp)])["standard"]
    100.0
    """
    total = NabCounts()
    for index, truth, alarms in files:
        total = total + nab_counts(index, truth, alarms, width=width, scale=scale)
    return total.normalised()


def _width(width) -> pd.Timedelta:
    td = pd.Timedelta(seconds=width) if isinstance(width, (int, float, np.number)) else pd.Timedelta(width)
    if td <= pd.Timedelta(0):
        raise ConfigError(f"NAB window width={width!r}: expected a positive duration, e.g. '60s'")
    return td


def _times(index) -> pd.DatetimeIndex:
    try:
        times = pd.DatetimeIndex(index)
    except (TypeError, ValueError):
        raise DataFormatError(
            "NAB scoring needs timestamps: the window is a duration",
            found=type(index).__name__,
            expected="a DatetimeIndex (or timestamps) with one entry per row",
        ) from None
    if not times.is_monotonic_increasing:
        raise DataFormatError("NAB scoring: timestamps are not in increasing order", hint="sort the rows by time")
    return times
