"""Event metrics on hand-made minute data: lead time and false alarms per day checked to the minute."""

import numpy as np
import pandas as pd
import pytest

from pumpguard.errors import ConfigError
from pumpguard.evaluation.events import (
    alarm_onsets,
    anomaly_events,
    failure_events,
    false_alarms,
    match_events,
    parse_horizon,
)

MIN = pd.Timedelta(minutes=1)


def _pump(days=4):
    """Minute data, NORMAL except two failures: BROKEN at day 1 12:00 and day 3 06:00, each followed
    by 3 hours of RECOVERING."""
    idx = pd.date_range("2018-04-01", periods=days * 1440, freq="min", tz="UTC", name="timestamp")
    status = pd.Series("NORMAL", index=idx, dtype=object)
    for start in ("2018-04-02 12:00", "2018-04-04 06:00"):
        t = pd.Timestamp(start, tz="UTC")
        status[t] = "BROKEN"
        status[(idx > t) & (idx <= t + pd.Timedelta(hours=3))] = "RECOVERING"
    return idx, status


def test_failure_events_find_broken_runs_and_recovery_end():
    idx, status = _pump()
    ev = failure_events(status)
    assert [e.start for e in ev] == [pd.Timestamp("2018-04-02 12:00", tz="UTC"), pd.Timestamp("2018-04-04 06:00", tz="UTC")]
    assert ev[0].end == ev[0].start
    assert ev[0].recovered == ev[0].start + pd.Timedelta(hours=3)


def test_lead_time_is_start_minus_first_alarm_in_window_exactly():
    idx, status = _pump()
    alarms = pd.Series(0.0, index=idx)
    first = pd.Timestamp("2018-04-02 04:17", tz="UTC")  # 7 h 43 min before the first failure
    alarms[(idx >= first) & (idx < first + 20 * MIN)] = 1.0
    alarms[pd.Timestamp("2018-04-02 11:59", tz="UTC")] = 1.0  # a later alarm does not change the lead
    out = match_events(failure_events(status), alarms, "12h")
    assert out[0].caught and out[0].lead_time == pd.Timedelta(hours=7, minutes=43)
    assert out[1].outcome == "missed" and out[1].lead_time is None


def test_alarm_older_than_horizon_does_not_count_and_boundary_is_inclusive():
    idx, status = _pump()
    start = pd.Timestamp("2018-04-02 12:00", tz="UTC")
    alarms = pd.Series(0.0, index=idx)
    alarms[start - pd.Timedelta(hours=12) - MIN] = 1.0
    assert not match_events(failure_events(status), alarms, "12h")[0].caught
    alarms[start - pd.Timedelta(hours=12)] = 1.0
    assert match_events(failure_events(status), alarms, "12h")[0].lead_time == pd.Timedelta(hours=12)


def test_alarm_only_during_broken_is_late_not_caught():
    idx, status = _pump()
    alarms = pd.Series(0.0, index=idx)
    alarms[pd.Timestamp("2018-04-02 12:00", tz="UTC")] = 1.0
    o = match_events(failure_events(status), alarms, "12h")[0]
    assert o.outcome == "late" and not o.caught and o.lead_time is None
    assert o.detection_delay == pd.Timedelta(0)


def test_alarm_during_recovering_is_neither_warning_nor_late():
    idx, status = _pump()
    alarms = pd.Series(0.0, index=idx)
    alarms[pd.Timestamp("2018-04-02 13:00", tz="UTC")] = 1.0
    assert match_events(failure_events(status), alarms, "12h")[0].outcome == "missed"


def test_window_is_cut_at_the_previous_event():
    # failures 6 hours apart: the second window may not reach into the first failure's recovery
    idx = pd.date_range("2018-04-01", periods=2 * 1440, freq="min", tz="UTC")
    status = pd.Series("NORMAL", index=idx, dtype=object)
    t1, t2 = pd.Timestamp("2018-04-01 12:00", tz="UTC"), pd.Timestamp("2018-04-01 18:00", tz="UTC")
    status[t1] = "BROKEN"
    status[(idx > t1) & (idx <= t1 + pd.Timedelta(hours=1))] = "RECOVERING"
    status[t2] = "BROKEN"
    alarms = pd.Series(0.0, index=idx)
    alarms[t1 + pd.Timedelta(minutes=30)] = 1.0  # inside the first recovery
    out = match_events(failure_events(status), alarms, "12h")
    assert out[1].outcome == "missed" and out[1].window_truncated
    assert out[1].window_start == t1 + pd.Timedelta(hours=1)


def test_false_alarms_per_day_exact():
    idx, status = _pump(days=4)
    labels = pd.DataFrame({"machine_status": status})
    alarms = pd.Series(0.0, index=idx)
    # day 0 (NORMAL, far from failures): two alarm events of 3 and 2 rows
    alarms.iloc[100:103] = 1.0
    alarms.iloc[500:502] = 1.0
    # inside a look-back window (not false) and inside recovery (not false)
    alarms[pd.Timestamp("2018-04-02 10:00", tz="UTC")] = 1.0
    alarms[pd.Timestamp("2018-04-02 13:00", tz="UTC")] = 1.0
    fa = false_alarms(alarms, labels, horizon="12h")
    # eligible minutes: 4 days - 2 x (12 h window + 1 BROKEN + 180 RECOVERING minutes)
    eligible = 4 * 1440 - 2 * (720 + 1 + 180)
    assert fa.normal_rows == eligible
    assert fa.normal_days == pytest.approx(eligible / 1440)
    assert (fa.alarm_events, fa.alarm_rows) == (2, 5)
    assert fa.events_per_day == pytest.approx(2 / (eligible / 1440))


def test_unscorable_rows_break_nothing_and_count_as_no_alarm():
    a = [1, np.nan, 1, 1, 0]
    assert alarm_onsets(a).astype(int).tolist() == [1, 0, 1, 0, 0]


def test_anomaly_runs_are_events_caught_when_alarmed_during():
    idx = pd.date_range("2020-03-09 10:00", periods=20, freq="s", tz="UTC")
    anomaly = pd.Series([0] * 5 + [1] * 5 + [0] * 5 + [1] * 3 + [0] * 2, index=idx, dtype=float)
    ev = anomaly_events(anomaly)
    assert [(e.start.second, e.end.second) for e in ev] == [(5, 9), (15, 17)]
    alarms = pd.Series(0.0, index=idx)
    alarms.iloc[7] = 1.0
    out = match_events(ev, alarms, 0)
    assert [o.outcome for o in out] == ["caught", "missed"]
    assert out[0].detection_delay == pd.Timedelta(seconds=2)


@pytest.mark.parametrize("text,seconds", [("12h", 43200), ("30min", 1800), ("90s", 90), ("1.5d", 129600), (0, 0), ("0", 0),
                                          ("12 hours", 43200), ("1 days 02:00:00", 93600)])
def test_parse_horizon(text, seconds):
    assert parse_horizon(text).total_seconds() == seconds


@pytest.mark.parametrize("bad", ["soon", "12 parsecs", "-3h", -1, "90", "-1 days"])
def test_parse_horizon_rejects_with_a_hint(bad):
    with pytest.raises(ConfigError, match="12h"):
        parse_horizon(bad)
