"""Event-level scoring: was each failure warned of in time, how early, and how often did it cry wolf.

Definitions (also in ``docs/assessment.md``):

* A **failure event** is a run of ``BROKEN`` rows in ``machine_status``: ``start`` = its first row,
  ``end`` = its last BROKEN row, ``recovered`` = the last row of the ``RECOVERING`` run right after
  it (``None`` if none follows). For data with only an ``anomaly`` column (SKAB) an **anomaly event**
  is a run of ``anomaly == 1`` rows (``start``/``end`` = first/last row).
* The **look-back window** of an event is ``[start - horizon, start)``, cut so it never reaches back
  into the previous event, and holding only normal rows.
* An event is **caught** when an alarm falls in its look-back window; its **lead time** is ``start``
  minus the first alarm in that window (so ``0 < lead time <= horizon``). A failure whose first alarm
  comes only during its BROKEN rows is **late**: it is not counted as caught and has no lead time --
  the machine-status flag already says "broken" by then, so such an alarm warns of nothing.
  For anomaly events (no precursor is expected: SKAB faults are switched on) an alarm during the run
  also counts as caught, and ``detection_delay`` = first alarm in the run minus ``start``.
* A **false alarm** is an alarm *event* (a rising edge: an alarm row whose previous row was not an
  alarm) that starts in a normal row outside every look-back window. False alarms per day divide by
  the normal time outside the windows (rows x the median sampling step), not by the wall-clock span.
  Alarm *rows* in that time are reported too. An unscorable row (alarm NaN) counts as no alarm.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from pumpguard.data import STATUS_COLUMN
from pumpguard.errors import ConfigError
from pumpguard.evaluation.pointwise import label_text

#: The early-warning horizon of the pump data: warn of a failure up to 12 hours before it starts.
DEFAULT_HORIZON = pd.Timedelta(hours=12)

_HORIZON_TEXT = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|sec|min|m|h|d)\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86400}


def parse_horizon(value) -> pd.Timedelta:
    """A look-back horizon from ``"12h"``, ``"30min"``, ``"90s"``, ``"2d"``, seconds or a Timedelta.

    Examples
    --------
    >>> parse_horizon("12h")
    Timedelta('0 days 12:00:00')
    >>> parse_horizon("90s").total_seconds()
    90.0
    """
    if isinstance(value, pd.Timedelta):
        td = value
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        td = pd.Timedelta(seconds=float(value))
    else:
        text = str(value).strip()
        m = _HORIZON_TEXT.match(text)
        if m:
            td = pd.Timedelta(seconds=float(m.group(1)) * _UNIT_SECONDS[m.group(2).lower()])
        elif re.fullmatch(r"0+(\.0*)?", text):
            td = pd.Timedelta(0)
        else:
            td = _pandas_duration(text)
            if td is None:
                raise ConfigError(
                    f"horizon {value!r} is not a duration; expected a number and a unit such as 12h, 30min, 90s or 2d"
                )
    if td < pd.Timedelta(0):
        raise ConfigError(f"horizon {value!r} is negative; expected a duration of 0 or more, such as 12h")
    return td


def _pandas_duration(text: str) -> pd.Timedelta | None:
    """``"12 hours"``, ``"1 days 02:00:00"``; a bare number (pandas would read nanoseconds) is refused."""
    if not re.search(r"[a-zA-Z:]", text):
        return None
    try:
        td = pd.Timedelta(text)
    except (ValueError, TypeError):
        return None
    return None if td is pd.NaT else td


@dataclass(frozen=True)
class Event:
    """One failure (a BROKEN run) or one anomaly run.

    Examples
    --------
    >>> idx = pd.date_range("2018-04-01", periods=6, freq="min", tz="UTC")
    >>> status = pd.Series(["NORMAL", "NORMAL", "BROKEN", "RECOVERING", "RECOVERING", "NORMAL"], index=idx)
    >>> [(e.start.minute, e.end.minute, e.recovered.minute) for e in failure_events(status)]
    [(2, 2, 4)]
    """

    kind: str  # "failure" or "anomaly"
    start: pd.Timestamp
    end: pd.Timestamp
    recovered: pd.Timestamp | None = None

    @property
    def last(self) -> pd.Timestamp:
        """The last row that belongs to the event (the end of recovery for a failure)."""
        return self.recovered if self.recovered is not None else self.end

    def to_dict(self) -> dict:
        return {
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "recovered": None if self.recovered is None else self.recovered.isoformat(),
        }


def _runs(flag: np.ndarray) -> list[tuple[int, int]]:
    """(first, last) positions of each run of True."""
    if flag.size == 0:
        return []
    padded = np.concatenate(([False], flag, [False])).astype(np.int8)
    d = np.diff(padded)
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1))


def failure_events(status: pd.Series) -> list[Event]:
    """Each BROKEN run of ``machine_status`` with the RECOVERING run that follows it."""
    s = label_text(status)
    idx = status.index
    broken = s == "BROKEN"
    recovering = s == "RECOVERING"
    events = []
    for first, last in _runs(broken):
        recovered = None
        j = last + 1
        if j < len(s) and recovering[j]:
            k = j
            while k + 1 < len(s) and recovering[k + 1]:
                k += 1
            recovered = idx[k]
        events.append(Event("failure", idx[first], idx[last], recovered))
    return events


def anomaly_events(anomaly: pd.Series) -> list[Event]:
    """Each run of ``anomaly == 1`` rows (missing labels count as 0)."""
    flag = anomaly.to_numpy(dtype=float, na_value=0.0) > 0
    return [Event("anomaly", anomaly.index[a], anomaly.index[b]) for a, b in _runs(flag)]


def truth_kind(labels: pd.DataFrame) -> str | None:
    """Which label column the events come from: ``machine_status``, then ``anomaly``, else ``None``."""
    if STATUS_COLUMN in labels:
        return STATUS_COLUMN
    if "anomaly" in labels:
        return "anomaly"
    return None


def events_from_labels(labels: pd.DataFrame) -> list[Event]:
    kind = truth_kind(labels)
    if kind == STATUS_COLUMN:
        return failure_events(labels[STATUS_COLUMN])
    if kind == "anomaly":
        return anomaly_events(labels["anomaly"])
    return []


def normal_rows(labels: pd.DataFrame) -> np.ndarray:
    """True where the truth says the machine is normal (status NORMAL, or anomaly 0)."""
    kind = truth_kind(labels)
    if kind == STATUS_COLUMN:
        return label_text(labels[STATUS_COLUMN]) == "NORMAL"
    if kind == "anomaly":
        return labels["anomaly"].to_numpy(dtype=float, na_value=np.nan) == 0
    return np.ones(len(labels), dtype=bool)


def alarm_rows(alarms) -> np.ndarray:
    """True where a row raised an alarm; NaN (unscorable) counts as no alarm."""
    a = alarms.to_numpy(dtype=float, na_value=np.nan) if isinstance(alarms, pd.Series) else np.asarray(alarms, float)
    return np.nan_to_num(a, nan=0.0) > 0


def alarm_onsets(alarms) -> np.ndarray:
    """True at each rising edge: an alarm row whose previous row was not an alarm (the first row counts).

    Examples
    --------
    >>> alarm_onsets([0, 1, 1, 0, 1, float("nan"), 1]).astype(int).tolist()
    [0, 1, 0, 0, 1, 0, 1]
    """
    on = alarm_rows(alarms)
    prev = np.concatenate(([False], on[:-1]))
    return on & ~prev


def lookback_windows(index: pd.DatetimeIndex, events: list[Event], horizon, normal: np.ndarray) -> list[np.ndarray]:
    """Row positions of each event's look-back window (normal rows in ``[start - horizon, start)``,
    after the previous event's last row)."""
    horizon = parse_horizon(horizon)
    windows = []
    previous_last = None
    for ev in events:
        lo = np.searchsorted(index, ev.start - horizon, side="left")
        if previous_last is not None:
            lo = max(lo, np.searchsorted(index, previous_last, side="right"))
        hi = np.searchsorted(index, ev.start, side="left")
        pos = np.arange(lo, hi)
        windows.append(pos[normal[pos]] if pos.size else pos)
        previous_last = ev.last
    return windows


@dataclass(frozen=True)
class EventOutcome:
    """What the alarms did around one event. ``outcome`` is ``caught``, ``late`` or ``missed``.

    Examples
    --------
    >>> idx = pd.date_range("2018-04-01", periods=5, freq="h", tz="UTC")
    >>> status = pd.Series(["NORMAL"] * 3 + ["BROKEN", "NORMAL"], index=idx)
    >>> alarms = pd.Series([0.0, 0.0, 0.0, 1.0, 0.0], index=idx)   # first alarm only while BROKEN
    >>> o = match_events(failure_events(status), alarms, "12h")[0]
    >>> o.outcome, o.lead_time, o.detection_delay
    ('late', None, Timedelta('0 days 00:00:00'))
    """

    event: Event
    window_start: pd.Timestamp
    window_truncated: bool  # the window was cut by the start of the data or by the previous event
    first_warning: pd.Timestamp | None  # first alarm in the look-back window
    lead_time: pd.Timedelta | None
    first_alarm_during: pd.Timestamp | None  # first alarm during the event (BROKEN rows / anomaly run)
    detection_delay: pd.Timedelta | None
    caught: bool
    late: bool

    @property
    def outcome(self) -> str:
        return "caught" if self.caught else ("late" if self.late else "missed")

    def to_dict(self) -> dict:
        return {
            **self.event.to_dict(),
            "outcome": self.outcome,
            "window_start": self.window_start.isoformat(),
            "window_truncated": self.window_truncated,
            "first_warning": None if self.first_warning is None else self.first_warning.isoformat(),
            "lead_time_s": None if self.lead_time is None else self.lead_time.total_seconds(),
            "first_alarm_during": None if self.first_alarm_during is None else self.first_alarm_during.isoformat(),
            "detection_delay_s": None if self.detection_delay is None else self.detection_delay.total_seconds(),
        }


def match_events(
    events: list[Event], alarms: pd.Series, horizon=DEFAULT_HORIZON, normal: np.ndarray | None = None
) -> list[EventOutcome]:
    """For each event: caught / late / missed, lead time and detection delay (see the module text).

    ``alarms`` is a 0/1/NaN Series on a sorted DatetimeIndex; ``normal`` marks the rows that may hold
    a warning (default: every row outside every event).

    Examples
    --------
    >>> idx = pd.date_range("2018-04-01", periods=48, freq="h", tz="UTC")
    >>> status = pd.Series(["NORMAL"] * 30 + ["BROKEN"] + ["RECOVERING"] * 2 + ["NORMAL"] * 15, index=idx)
    >>> alarms = pd.Series(0.0, index=idx)
    >>> alarms.iloc[25:31] = 1.0                      # first alarm 5 hours before the failure
    >>> [o.lead_time for o in match_events(failure_events(status), alarms, "12h")]
    [Timedelta('0 days 05:00:00')]
    """
    horizon = parse_horizon(horizon)
    index = alarms.index
    on = alarm_rows(alarms)
    if normal is None:
        normal = ~event_rows(index, events)
    windows = lookback_windows(index, events, horizon, normal)
    outcomes = []
    previous_last = None
    for ev, win in zip(events, windows):
        wanted = ev.start - horizon
        cut_by_data = index.size > 0 and index[0] > wanted
        cut_by_event = previous_last is not None and previous_last >= wanted
        truncated = bool(cut_by_data or cut_by_event)
        window_start = max([wanted] + ([index[0]] if cut_by_data else []) + ([previous_last] if cut_by_event else []))
        hits = win[on[win]]
        first_warning = index[hits[0]] if hits.size else None
        lo = np.searchsorted(index, ev.start, side="left")
        hi = np.searchsorted(index, ev.end, side="right")
        during = lo + np.flatnonzero(on[lo:hi])
        first_during = index[during[0]] if during.size else None
        warned = first_warning is not None
        if ev.kind == "anomaly":
            caught, late = warned or first_during is not None, False
        else:
            caught, late = warned, (not warned) and first_during is not None
        outcomes.append(
            EventOutcome(
                event=ev,
                window_start=pd.Timestamp(window_start),
                window_truncated=truncated,
                first_warning=first_warning,
                lead_time=(ev.start - first_warning) if warned else None,
                first_alarm_during=first_during,
                detection_delay=(first_during - ev.start) if first_during is not None else None,
                caught=caught,
                late=late,
            )
        )
        previous_last = ev.last
    return outcomes


def event_rows(index: pd.DatetimeIndex, events: list[Event]) -> np.ndarray:
    """True on the rows that belong to an event (from its start to its last row, recovery included)."""
    inside = np.zeros(len(index), dtype=bool)
    for ev in events:
        inside[np.searchsorted(index, ev.start, "left"):np.searchsorted(index, ev.last, "right")] = True
    return inside


def normal_outside_events(labels: pd.DataFrame, events: list[Event]) -> np.ndarray:
    """Normal rows that belong to no event: where a warning can fall and a false alarm can start."""
    return normal_rows(labels) & ~event_rows(labels.index, events)


@dataclass(frozen=True)
class FalseAlarms:
    """Alarms raised in normal time outside every look-back window, per day of that time.

    Examples
    --------
    >>> idx = pd.date_range("2018-04-01", periods=2 * 1440, freq="min", tz="UTC")
    >>> alarms = pd.Series(0.0, index=idx)
    >>> alarms.iloc[[100, 101, 102, 2000]] = 1.0          # two alarm events, four alarm rows
    >>> fa = false_alarms(alarms, pd.DataFrame(index=idx), [], "12h")
    >>> fa.alarm_events, fa.alarm_rows, fa.normal_days, fa.events_per_day
    (2, 4, 2.0, 1.0)
    """

    alarm_events: int
    alarm_rows: int
    normal_rows: int
    normal_days: float
    events_per_day: float | None
    rows_per_day: float | None
    step_s: float | None  # the median sampling step used to turn rows into time

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def false_alarms(alarms: pd.Series, labels: pd.DataFrame, events: list[Event] | None = None,
                 horizon=DEFAULT_HORIZON) -> FalseAlarms:
    """Count false alarms (see the module text). ``labels`` shares ``alarms``' index."""
    index = alarms.index
    if events is None:
        events = events_from_labels(labels)
    normal = normal_outside_events(labels, events)
    eligible = normal.copy()
    for win in lookback_windows(index, events, horizon, normal):
        eligible[win] = False
    step = _median_step_s(index)
    rows = int(eligible.sum())
    days = rows * step / 86400.0 if step else 0.0
    n_events = int((alarm_onsets(alarms) & eligible).sum())
    n_rows = int((alarm_rows(alarms) & eligible).sum())
    return FalseAlarms(
        alarm_events=n_events,
        alarm_rows=n_rows,
        normal_rows=rows,
        normal_days=days,
        events_per_day=n_events / days if days > 0 else None,
        rows_per_day=n_rows / days if days > 0 else None,
        step_s=step,
    )


def _median_step_s(index: pd.DatetimeIndex) -> float | None:
    if len(index) < 2:
        return None
    return float(np.median((index[1:] - index[:-1]).total_seconds()))
