"""Causal post-processing of scores and alarms, with durations in seconds of physical time.

Real alarm systems do not act on one noisy row: they smooth the score (EWMA) or ask that an alarm
persist (k of the last n rows). Both are written here in **seconds** and converted to rows with the
sampling step, so the same setting means the same thing at 1 s (SKAB) and at 60 s (the pump record):
a 60 s half-life is 60 rows of SKAB and 1 row of the pump record.

Both are causal: the output at row ``t`` uses rows ``<= t`` only. Missing values (NaN) are skipped:
the EWMA state carries over a NaN row (whose output stays NaN), and a NaN alarm counts as "no alarm"
in the persistence count (its output stays NaN).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.signal import lfilter

from pumpguard.errors import ConfigError


def rows_for(seconds: float, step_s: float) -> int:
    """A duration in seconds as a whole number of rows at ``step_s`` seconds a row (at least 1).

    Examples
    --------
    >>> rows_for(60, 1.0), rows_for(60, 60.0), rows_for(20, 60.0)
    (60, 1, 1)
    """
    if not (isinstance(seconds, (int, float, np.number)) and seconds > 0 and math.isfinite(seconds)):
        raise ConfigError(f"duration {seconds!r} s: expected a positive number of seconds")
    if not (step_s > 0 and math.isfinite(step_s)):
        raise ConfigError(f"sampling step {step_s!r} s: expected a positive number of seconds")
    return max(1, int(round(seconds / step_s)))


def ewma_alpha(halflife_rows: float) -> float:
    """Weight of the newest row in an EWMA whose weights halve every ``halflife_rows`` rows."""
    return 1.0 - 0.5 ** (1.0 / halflife_rows)


def ewma(values, *, halflife_rows: float, initial: float | None = None) -> np.ndarray:
    """Causal EWMA along axis 0 (1-D or rows x columns), NaN rows skipped; starts at the first value.

    ``initial`` (1-D input only) continues a previous run whose last smoothed value it is.

    Examples
    --------
    >>> ewma([0.0, 2.0, float("nan"), 2.0], halflife_rows=1.0).tolist()
    [0.0, 1.0, nan, 1.5]
    """
    x = np.asarray(values, dtype="float64")
    if halflife_rows <= 1e-12:
        return x.copy()
    a = ewma_alpha(halflife_rows)
    out = np.full(x.shape, np.nan)
    if x.ndim == 1:
        ok = np.isfinite(x)
        seq = x[ok]
        if seq.size:
            start = seq[0] if initial is None else initial
            y, _ = lfilter([a], [1.0, -(1.0 - a)], seq, zi=[(1.0 - a) * start])
            out[ok] = y
        return out
    for j in range(x.shape[1]):
        out[:, j] = ewma(x[:, j], halflife_rows=halflife_rows)
    return out


def k_of_n(alarms, *, k: int, n: int) -> np.ndarray:
    """1 where at least ``k`` of the last ``n`` rows (this one included) alarm; NaN stays NaN.

    Examples
    --------
    >>> k_of_n([1, 0, 1, 1, 0, 0], k=2, n=3).tolist()
    [0.0, 0.0, 1.0, 1.0, 1.0, 0.0]
    """
    if not (1 <= k <= n):
        raise ConfigError(f"persistence k={k}, n={n}: expected 1 <= k <= n")
    a = np.asarray(alarms, dtype="float64").ravel()
    on = np.where(np.isfinite(a), a, 0.0) > 0.5
    csum = np.concatenate([[0], np.cumsum(on)])
    idx = np.arange(1, a.size + 1)
    recent = csum[idx] - csum[np.maximum(idx - n, 0)]
    out = (recent >= k).astype("float64")
    out[~np.isfinite(a)] = np.nan
    return out


def persistence(alarms, *, hold_s: float, within_s: float, step_s: float) -> np.ndarray:
    """k-of-n persistence in seconds: alarm when alarms cover ``hold_s`` of the last ``within_s`` seconds."""
    n = rows_for(within_s, step_s)
    k = min(n, rows_for(hold_s, step_s))
    return k_of_n(alarms, k=k, n=n)
