"""Fault-event assessment: did the alarms catch each injected fault, how fast, and how often did they cry wolf.

``machine_status`` only says BROKEN when the pump station stops; a leak, a burst the controller reroutes
around, a blockage or a drifting sensor never makes BROKEN. On simulated data the fault table
(``events.csv``, read by :func:`pumpguard.data.events.read_events`) is the fuller truth, and this module
scores the alarm series against it. Definitions (also in ``docs/assessment.md``):

* A fault's **window** is ``[start - tolerance, end]``; ``end`` empty (lasts to the end of the run) means
  the last row given. ``tolerance`` defaults to one sampling step: a reading is stamped with its grid
  time but taken up to a couple of seconds off it (clock jitter), so the row just before ``start`` may
  already hold the first faulty reading; a wider tolerance would credit alarms the fault cannot have
  caused.
* **caught**: an alarm row inside the window. **first alarm**: the first such row (an alarm run already
  on when the fault starts counts from the window's first row). **detection delay** = first alarm -
  ``start`` (so ``>= -tolerance``). ``alarm_already_on`` marks a first alarm that is the tail of a run
  begun before the window (raised by something else, often an earlier fault still running).
* **lead time** (faults with a ``failure`` time, the bearing that wears then fails): ``failure`` -
  first alarm, when the first alarm came before the failure.
* Which faults are assessed: those whose ``start`` lies in the assessed slice. A fault already running
  when the slice starts is counted as ``ongoing_at_start`` and not scored (its delay would be unknown).
* **False alarms**: alarm onsets (rising edges) on rows outside every fault window widened by
  ``settle`` after its end, and (when ``machine_status`` is given) on NORMAL rows only, per day of those
  rows. ``settle`` defaults to 30 min, the controller's hold time: after a repair the plant needs that
  long of in-band readings before it is declared back to normal.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pumpguard.data import STATUS_COLUMN
from pumpguard.errors import DataFormatError
from pumpguard.evaluation.events import alarm_onsets, alarm_rows
from pumpguard.evaluation.pointwise import label_text

#: After a fault ends, alarms in this long are its after-effects, not false alarms (controller hold time).
DEFAULT_SETTLE = pd.Timedelta(minutes=30)


@dataclass(frozen=True)
class FaultOutcome:
    """What the alarms did during one fault.

    Examples
    --------
    >>> idx = pd.date_range("2018-04-01", periods=10, freq="min", tz="UTC")
    >>> alarms = pd.Series([0, 0, 0, 0, 0, 1, 1, 0, 0, 0], index=idx, dtype=float)
    >>> events = pd.DataFrame({"event_id": ["F-01"], "kind": ["leak"], "category": ["process"],
    ...                        "location": ["P-1"], "element": ["P-1"], "start": [idx[3]], "end": [idx[8]]})
    >>> o = match_faults(events, alarms)[0]
    >>> o.caught, o.detection_delay
    (True, Timedelta('0 days 00:02:00'))
    """

    event_id: str
    kind: str
    category: str
    location: str
    element: str
    start: pd.Timestamp
    end: pd.Timestamp  # as assessed: the last row given when the fault lasts to the end of the run
    open_ended: bool
    window_start: pd.Timestamp
    first_alarm: pd.Timestamp | None
    failure: pd.Timestamp | None = None
    alarm_already_on: bool = False  # the first alarm is a run that began before the window (another cause)

    @property
    def caught(self) -> bool:
        return self.first_alarm is not None

    @property
    def detection_delay(self) -> pd.Timedelta | None:
        return None if self.first_alarm is None else self.first_alarm - self.start

    @property
    def lead_time(self) -> pd.Timedelta | None:
        if self.failure is None or self.first_alarm is None or self.first_alarm >= self.failure:
            return None
        return self.failure - self.first_alarm

    def to_dict(self) -> dict:
        iso = lambda t: None if t is None else t.isoformat()  # noqa: E731
        secs = lambda d: None if d is None else d.total_seconds()  # noqa: E731
        return {"event_id": self.event_id, "kind": self.kind, "category": self.category,
                "location": self.location, "element": self.element, "start": iso(self.start),
                "end": iso(self.end), "open_ended": self.open_ended, "window_start": iso(self.window_start),
                "outcome": "caught" if self.caught else "missed", "first_alarm": iso(self.first_alarm),
                "detection_delay_s": secs(self.detection_delay), "failure": iso(self.failure),
                "lead_time_s": secs(self.lead_time), "alarm_already_on": self.alarm_already_on}


def _step(index: pd.DatetimeIndex) -> pd.Timedelta:
    if len(index) < 2:
        return pd.Timedelta(0)
    return pd.Timedelta(seconds=float(np.median((index[1:] - index[:-1]).total_seconds())))


def _check(events: pd.DataFrame, alarms: pd.Series) -> None:
    if not isinstance(alarms.index, pd.DatetimeIndex):
        raise DataFormatError("alarms are not indexed by time", found=type(alarms.index).__name__,
                              expected="a DatetimeIndex (the data's timestamps)")
    missing = [c for c in ("event_id", "kind", "category", "start", "end") if c not in events.columns]
    if missing:
        raise DataFormatError("fault table lacks columns", found=list(events.columns),
                              expected="event_id, kind, category, start, end (read it with read_events)")


def on_clock(t, index: pd.DatetimeIndex):
    """``t`` as a Timestamp comparable with ``index`` (same time zone and resolution); None for a missing time."""
    if t is None or pd.isna(t):
        return None
    t = pd.Timestamp(t)
    if index.tz is not None and t.tz is None:
        t = t.tz_localize("UTC")
    elif index.tz is None and t.tz is not None:
        t = t.tz_convert("UTC").tz_localize(None)
    unit = getattr(index, "unit", "ns")
    # on the index's resolution (a start written as 07:11:59.999999999 sits on the 07:12 row)
    return t.round(unit).as_unit(unit) if unit != "ns" else t


def match_faults(events: pd.DataFrame, alarms: pd.Series, *, tolerance: pd.Timedelta | None = None) -> list[FaultOutcome]:
    """One :class:`FaultOutcome` per row of ``events`` (see the module text); ``alarms`` 0/1/NaN, sorted."""
    _check(events, alarms)
    index = alarms.index
    tol = _step(index) if tolerance is None else pd.Timedelta(tolerance)
    on = alarm_rows(alarms)
    last = index[-1] if len(index) else None
    out = []
    for row in events.itertuples(index=False):
        start = on_clock(row.start, index)
        given_end = on_clock(row.end, index)
        end = given_end if given_end is not None else last
        lo = np.searchsorted(index, start - tol, side="left")
        hi = np.searchsorted(index, end, side="right") if end is not None else lo
        hits = lo + np.flatnonzero(on[lo:hi])
        failure = on_clock(getattr(row, "failure", None), index)
        out.append(FaultOutcome(
            event_id=str(row.event_id), kind=str(row.kind), category=str(row.category),
            location=str(getattr(row, "location", "") or ""), element=str(getattr(row, "element", "") or ""),
            start=start, end=end if end is not None else start, open_ended=given_end is None,
            window_start=start - tol, first_alarm=index[hits[0]] if hits.size else None, failure=failure,
            alarm_already_on=bool(hits.size and hits[0] == lo and lo > 0 and on[lo - 1])))
    return out


def fault_rows(index: pd.DatetimeIndex, events: pd.DataFrame, *, tolerance: pd.Timedelta | None = None,
               settle: pd.Timedelta = DEFAULT_SETTLE) -> np.ndarray:
    """True on rows inside some fault's window widened by ``settle`` after its end."""
    tol = _step(index) if tolerance is None else pd.Timedelta(tolerance)
    inside = np.zeros(len(index), dtype=bool)
    for s, e in zip(events["start"], events["end"]):
        s, e = on_clock(s, index), on_clock(e, index)
        lo = np.searchsorted(index, s - tol, side="left")
        hi = len(index) if e is None else np.searchsorted(index, e + settle, side="right")
        inside[lo:hi] = True
    return inside


def fault_false_alarms(alarms: pd.Series, events: pd.DataFrame, labels: pd.DataFrame | None = None, *,
                       tolerance: pd.Timedelta | None = None, settle: pd.Timedelta = DEFAULT_SETTLE) -> dict:
    """Alarm onsets outside every fault (and, with ``machine_status``, on NORMAL rows), per day of that time.

    >>> idx = pd.date_range("2018-04-01", periods=2 * 1440, freq="min", tz="UTC")
    >>> alarms = pd.Series(0.0, index=idx); alarms.iloc[[10, 11, 2000]] = 1.0
    >>> events = pd.DataFrame({"start": [idx[1990]], "end": [idx[2010]]})
    >>> fa = fault_false_alarms(alarms, events); fa["alarm_events"], round(fa["events_per_day"], 3)
    (1, 0.509)
    """
    index = alarms.index
    eligible = ~fault_rows(index, events, tolerance=tolerance, settle=settle)
    if labels is not None and STATUS_COLUMN in labels.columns:
        eligible &= label_text(labels[STATUS_COLUMN]) == "NORMAL"
    step = _step(index).total_seconds()
    rows = int(eligible.sum())
    days = rows * step / 86400.0
    n_events = int((alarm_onsets(alarms) & eligible).sum())
    n_rows = int((alarm_rows(alarms) & eligible).sum())
    return {"alarm_events": n_events, "alarm_rows": n_rows, "normal_rows": rows, "normal_days": days,
            "events_per_day": n_events / days if days > 0 else None,
            "rows_per_day": n_rows / days if days > 0 else None, "settle_s": settle.total_seconds()}


def _summary(outcomes: list[FaultOutcome]) -> dict:
    delays = [o.detection_delay.total_seconds() for o in outcomes if o.caught]
    return {"total": len(outcomes), "caught": sum(o.caught for o in outcomes),
            "missed": sum(not o.caught for o in outcomes),
            "share_caught": (sum(o.caught for o in outcomes) / len(outcomes)) if outcomes else None,
            "median_detection_delay_s": float(np.median(delays)) if delays else None}


def assess_faults(events: pd.DataFrame, alarms: pd.Series, labels: pd.DataFrame | None = None, *,
                  start=None, end=None, tolerance: pd.Timedelta | None = None,
                  settle: pd.Timedelta = DEFAULT_SETTLE) -> dict:
    """Score ``alarms`` against the fault table on rows ``start <= t < end``; a JSON-ready dict.

    Examples
    --------
    >>> idx = pd.date_range("2018-04-01", periods=3 * 1440, freq="min", tz="UTC")
    >>> alarms = pd.Series(0.0, index=idx); alarms.iloc[2000:2005] = 1.0
    >>> events = pd.DataFrame({"event_id": ["F-01", "F-02"], "kind": ["burst", "sensor_stuck"],
    ...                        "category": ["process", "sensor"], "start": [idx[1995], idx[3000]],
    ...                        "end": [idx[2400], None]})
    >>> r = assess_faults(events, alarms, start=idx[1440])
    >>> r["caught"], r["by_category"]["sensor"]["caught"], r["median_detection_delay_s"]
    (1, 0, 300.0)
    """
    _check(events, alarms)
    if not alarms.index.is_monotonic_increasing:
        alarms = alarms.sort_index()
        labels = None if labels is None else labels.loc[alarms.index]
    index = alarms.index
    keep = np.ones(len(index), dtype=bool)
    lo_t, hi_t = on_clock(start, index), on_clock(end, index)
    if lo_t is not None:
        keep &= index >= lo_t
    if hi_t is not None:
        keep &= index < hi_t
    alarms = alarms[keep]
    labels = None if labels is None else labels[keep]
    tol = _step(index) if tolerance is None else pd.Timedelta(tolerance)
    clock = alarms.index
    starts = [on_clock(t, clock) for t in events["start"]]
    ends = [on_clock(t, clock) for t in events["end"]]
    if len(clock):
        first, last = clock[0], clock[-1]
        in_slice = np.array([first <= s <= last for s in starts], dtype=bool)
        ongoing = np.array([s < first and (e is None or e >= first) for s, e in zip(starts, ends)], dtype=bool)
        after = sum(s > last for s in starts)
    else:
        in_slice = ongoing = np.zeros(len(events), dtype=bool)
        after = len(events)
    assessed = events[in_slice].reset_index(drop=True)
    outcomes = match_faults(assessed, alarms, tolerance=tol) if len(alarms) else []
    leads = [o.lead_time.total_seconds() for o in outcomes if o.lead_time is not None]
    report = {
        **_summary(outcomes),
        "tolerance_s": tol.total_seconds(),
        "ongoing_at_start": [str(e) for e in events.loc[ongoing, "event_id"]],
        "after_slice": int(after),
        "by_category": {c: _summary([o for o in outcomes if o.category == c])
                        for c in sorted({o.category for o in outcomes})},
        "by_kind": {k: _summary([o for o in outcomes if o.kind == k]) for k in sorted({o.kind for o in outcomes})},
        "median_lead_time_s": float(np.median(leads)) if leads else None,
        "false_alarms": fault_false_alarms(alarms, events, labels, tolerance=tol, settle=settle),
        "items": [o.to_dict() for o in outcomes],
    }
    return report
