"""The one place an alarm threshold is chosen: from a target false-alarm rate on held-out NORMAL rows.

Method (``"empirical-quantile"``): with ``n`` finite scores of normal rows the detector did not
learn from, the threshold is the ``k``-th smallest score, ``k = ceil((n + 1) * (1 - rate))``. If
normal rows are exchangeable, a new normal row then scores strictly above the threshold with
probability at most ``rate`` (the split-conformal quantile); it is the plain empirical quantile
with a one-row correction that matters only for small samples.

Small samples: a rate below ``1 / (n + 1)`` cannot be checked with ``n`` rows (``k > n``). The
threshold is then the largest normal score and the report says ``"rate_verified": False`` and
gives ``min_verifiable_rate`` -- it does not pretend. No finite score at all is an error.

Default rate: pump data arrive once a minute, 1440 rows a day; ``1 / 1440`` is one false-alarm row
per day of normal running, the rate an operator can still look at. It is a per-row rate; an event
detector downstream (several alarm rows in a row) lowers the event rate further.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from pumpguard.errors import ConfigError

#: One false-alarm row per day of normal running at one row per minute.
DEFAULT_FALSE_ALARM_RATE = 1.0 / 1440.0
METHOD = "empirical-quantile"


@dataclass(frozen=True)
class ThresholdCalibration:
    """How a threshold was set: what :attr:`Detector.threshold_info_` holds (as a dict)."""

    threshold: float
    method: str
    false_alarm_rate: float
    n_rows: int
    #: normal rows that scored NaN (no usable sensor value) and were left out
    n_unscorable: int
    #: fraction of the calibration rows scoring strictly above the threshold
    observed_rate: float
    rate_verified: bool
    min_verifiable_rate: float

    def to_dict(self) -> dict:
        return asdict(self)


def _check_rate(false_alarm_rate: float) -> float:
    if isinstance(false_alarm_rate, bool) or not isinstance(false_alarm_rate, (int, float, np.number)):
        raise ConfigError(f"false_alarm_rate={false_alarm_rate!r}: expected a number in (0, 1)")
    rate = float(false_alarm_rate)
    if not 0.0 < rate < 1.0:
        raise ConfigError(
            f"false_alarm_rate={rate!r}: expected a fraction of normal rows in (0, 1), e.g. {DEFAULT_FALSE_ALARM_RATE:.6f} "
            "(one row a day at one row a minute)"
        )
    return rate


def calibrate(scores_normal, *, false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE) -> ThresholdCalibration:
    """Threshold and its report from scores of held-out normal rows.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> cal = calibrate(rng.normal(size=10_000), false_alarm_rate=0.01)
    >>> round(cal.threshold, 2), cal.rate_verified, cal.observed_rate <= 0.01
    (2.32, True, True)
    >>> calibrate([0.1, 0.2, 0.3], false_alarm_rate=0.01).rate_verified
    False
    """
    rate = _check_rate(false_alarm_rate)
    scores = np.asarray(scores_normal, dtype="float64").ravel()
    finite = scores[np.isfinite(scores)]
    n = int(finite.size)
    if n == 0:
        raise ConfigError(
            "cannot set a threshold: no normal row has a finite score "
            f"({scores.size} rows given). Give held-out NORMAL rows with at least one sensor reading."
        )
    k = math.ceil((n + 1) * (1.0 - rate))
    ordered = np.sort(finite)
    verified = k <= n
    threshold = float(ordered[min(k, n) - 1])
    return ThresholdCalibration(
        threshold=threshold,
        method=METHOD,
        false_alarm_rate=rate,
        n_rows=n,
        n_unscorable=int(scores.size - n),
        observed_rate=float(np.mean(finite > threshold)),
        rate_verified=bool(verified),
        min_verifiable_rate=1.0 / (n + 1),
    )


def calibrate_threshold(scores_normal, *, false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE) -> float:
    """The threshold alone; see :func:`calibrate` for the method and the small-sample rule.

    Examples
    --------
    >>> calibrate_threshold(np.arange(1000.0), false_alarm_rate=0.01)
    990.0
    """
    return calibrate(scores_normal, false_alarm_rate=false_alarm_rate).threshold
