"""Labels derived from ``machine_status`` that training and evaluation share.

A *failure start* is a row whose status is BROKEN while the previous row's is not (the first row
counts if it is BROKEN). ``failure_within(status, horizon)`` marks a row 1 when a failure starts
strictly after it and at most ``horizon`` later: "a failure is coming within H". The failure-start
row itself is 0 (the failure is no longer ahead); rows inside BROKEN / RECOVERING get whatever the
time rule gives -- callers that train on the label exclude them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pumpguard.errors import ConfigError, DataFormatError


def _check_status(status: pd.Series) -> pd.Series:
    if not isinstance(status, pd.Series) or not isinstance(status.index, pd.DatetimeIndex):
        raise DataFormatError(
            "machine_status must be a pandas Series with a DatetimeIndex",
            found=type(getattr(status, "index", status)).__name__,
            hint="pass dataset.status (the frame's timestamp index carries the times)",
        )
    if not status.index.is_monotonic_increasing:
        raise DataFormatError("machine_status timestamps are not in time order", hint="sort the frame by time")
    return status


def parse_horizon(horizon) -> pd.Timedelta:
    """``"12h"``, ``"30min"`` or a Timedelta -> a positive :class:`pandas.Timedelta`."""
    try:
        value = pd.Timedelta(horizon)
    except (TypeError, ValueError):
        raise ConfigError(f"horizon={horizon!r}: expected a duration such as '12h' or '30min'") from None
    if value is pd.NaT or value <= pd.Timedelta(0):
        raise ConfigError(f"horizon={horizon!r}: expected a positive duration such as '12h'")
    return value


def failure_starts(status: pd.Series) -> pd.DatetimeIndex:
    """Times at which the status becomes BROKEN.

    Examples
    --------
    >>> idx = pd.date_range("2018-04-01", periods=6, freq="h", tz="UTC")
    >>> s = pd.Series(["NORMAL", "BROKEN", "RECOVERING", "NORMAL", "BROKEN", "BROKEN"], index=idx)
    >>> [t.hour for t in failure_starts(s)]
    [1, 4]
    """
    status = _check_status(status)
    broken = status.astype(str).to_numpy() == "BROKEN"
    start = broken & ~np.concatenate([[False], broken[:-1]])
    return pd.DatetimeIndex(status.index[start])


def failure_within(status: pd.Series, horizon="12h") -> pd.Series:
    """1 where a failure starts within ``horizon`` after the row (``t < start <= t + horizon``), else 0.

    Examples
    --------
    >>> idx = pd.date_range("2018-04-01", periods=6, freq="h", tz="UTC")
    >>> s = pd.Series(["NORMAL", "NORMAL", "NORMAL", "NORMAL", "BROKEN", "RECOVERING"], index=idx)
    >>> failure_within(s, "2h").tolist()
    [0, 0, 1, 1, 0, 0]
    """
    status = _check_status(status)
    h = parse_horizon(horizon)
    # compare in nanoseconds whatever unit the index carries (pandas 3 may use microseconds)
    starts = failure_starts(status).as_unit("ns").asi8
    times = pd.DatetimeIndex(status.index).as_unit("ns").asi8
    nxt = np.searchsorted(starts, times, side="right")
    label = np.zeros(len(times), dtype="int8")
    ok = nxt < len(starts)
    label[ok] = (starts[nxt[ok]] - times[ok]) <= h.as_unit("ns").value
    return pd.Series(label, index=status.index, name=f"failure_within_{horizon}")
