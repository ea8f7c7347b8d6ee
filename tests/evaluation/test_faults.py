"""Fault-event matching on hand-made fault tables and alarm series, and the events/sensors readers."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from pumpguard.data.events import ground_truth_beside, read_events, read_sensors, read_transitions
from pumpguard.errors import DataFormatError, PumpguardError
from pumpguard.evaluation.faults import assess_faults, fault_false_alarms, match_faults

IDX = pd.date_range("2018-04-01", periods=3 * 1440, freq="min", tz="UTC", name="timestamp")


def table(*rows) -> pd.DataFrame:
    """rows: (event_id, kind, category, start_minute, end_minute or None[, failure_minute])."""
    out = []
    for r in rows:
        out.append({"event_id": r[0], "kind": r[1], "category": r[2], "location": "P-1", "element": "P-1",
                    "start": IDX[r[3]], "end": None if r[4] is None else IDX[r[4]],
                    "failure": IDX[r[5]] if len(r) > 5 else None})
    return pd.DataFrame(out, columns=["event_id", "kind", "category", "location", "element", "start", "end", "failure"])


def alarms_at(*ranges) -> pd.Series:
    a = pd.Series(0.0, index=IDX)
    for lo, hi in ranges:
        a.iloc[lo:hi] = 1.0
    return a


def test_caught_delay_is_first_alarm_minus_start():
    o = match_faults(table(("F-1", "leak", "process", 100, 200)), alarms_at((130, 140)))[0]
    assert o.caught and o.first_alarm == IDX[130] and o.detection_delay == pd.Timedelta(minutes=30)


def test_pre_start_tolerance_is_one_step_by_default():
    ev = table(("F-1", "burst", "process", 100, 200))
    assert match_faults(ev, alarms_at((99, 100)))[0].detection_delay == pd.Timedelta(minutes=-1)
    assert not match_faults(ev, alarms_at((98, 99)))[0].caught          # two steps early: not this fault's
    assert match_faults(ev, alarms_at((95, 96)), tolerance=pd.Timedelta(minutes=5))[0].caught


def test_alarm_after_the_end_does_not_catch_and_open_end_runs_to_the_last_row():
    assert not match_faults(table(("F-1", "leak", "process", 100, 200)), alarms_at((201, 260)))[0].caught
    o = match_faults(table(("F-1", "leak", "process", 100, None)), alarms_at((4000, 4001)))[0]
    assert o.caught and o.open_ended and o.end == IDX[-1]


def test_nan_alarms_are_no_alarm():
    a = alarms_at()
    a.iloc[100:150] = np.nan
    assert not match_faults(table(("F-1", "leak", "process", 100, 200)), a)[0].caught


def test_lead_time_before_a_bearing_failure():
    o = match_faults(table(("F-1", "pump_bearing", "process", 100, 1000, 700)), alarms_at((400, 410)))[0]
    assert o.lead_time == pd.Timedelta(minutes=300)
    late = match_faults(table(("F-1", "pump_bearing", "process", 100, 1000, 700)), alarms_at((800, 810)))[0]
    assert late.caught and late.lead_time is None


def test_slice_keeps_faults_starting_in_it_and_lists_running_ones():
    ev = table(("F-1", "leak", "process", 100, 2000), ("F-2", "sensor_drift", "sensor", 1500, 1600),
               ("F-3", "burst", "process", 2500, 2600), ("F-4", "sensor_spike", "sensor", 3000, 3003))
    r = assess_faults(ev, alarms_at((1510, 1520), (3001, 3002)), start=IDX[1440])
    assert [it["event_id"] for it in r["items"]] == ["F-2", "F-3", "F-4"]
    assert r["ongoing_at_start"] == ["F-1"]
    assert r["by_category"]["sensor"] == {"total": 2, "caught": 2, "missed": 0, "share_caught": 1.0,
                                          "median_detection_delay_s": (600.0 + 60.0) / 2}
    assert r["by_kind"]["burst"]["missed"] == 1 and r["caught"] == 2 and r["total"] == 3
    json.dumps(r, allow_nan=False)  # JSON-ready


def test_false_alarms_skip_fault_windows_settle_time_and_broken_rows():
    ev = table(("F-1", "leak", "process", 100, 200))
    labels = pd.DataFrame({"machine_status": ["NORMAL"] * len(IDX)}, index=IDX)
    labels.iloc[3000:3100, 0] = "BROKEN"
    a = alarms_at((150, 160), (220, 222), (240, 242), (3050, 3060), (4000, 4002))
    fa = fault_false_alarms(a, ev, labels)
    # 150: inside the fault; 220: within the 30-min settle after its end; 3050: BROKEN; 240 and 4000 count
    assert fa["alarm_events"] == 2 and fa["alarm_rows"] == 4
    window = (200 + 30) - (100 - 1) + 1
    assert fa["normal_rows"] == len(IDX) - window - 100
    assert fa["events_per_day"] == pytest.approx(2 / (fa["normal_rows"] / 1440))


def test_no_faults_and_empty_slice():
    r = assess_faults(table(), alarms_at(), start=IDX[-1] + pd.Timedelta(days=1))
    assert r["total"] == 0 and r["share_caught"] is None and r["items"] == []


def test_alarms_need_a_time_index():
    with pytest.raises(DataFormatError, match="DatetimeIndex"):
        match_faults(table(("F-1", "leak", "process", 1, 2)), pd.Series([0.0, 1.0]))


EVENTS = ("event_id,kind,category,location,element,start,end,failure,severity\n"
          "F-01,burst,process,P-M1,P-M1-LEAK,2018-04-03T07:00:00+00:00,2018-04-03T13:00:00+00:00,,6.0\n"
          "F-02,sensor_stuck,sensor,pressure_J-N3,sensor_19,2018-04-03T12:00:00+00:00,,,1.0\n")


def test_read_events_round_trip(tmp_path):
    p = tmp_path / "events.csv"
    p.write_text(EVENTS)
    ev = read_events(p)
    assert list(ev["kind"]) == ["burst", "sensor_stuck"]
    assert ev["start"].dt.tz is not None and pd.isna(ev.loc[1, "end"]) and ev.loc[0, "severity"] == 6.0


@pytest.mark.parametrize("text, message", [
    ("event_id,kind,start\nF-1,leak,2018-04-01\n", "lacks columns"),
    (EVENTS.replace("2018-04-03T07:00:00+00:00", "yesterday"), "line 2, column 'start': not a time"),
    (EVENTS.replace(",process,P-M1", ",pipes,P-M1"), "unknown fault category"),
    (EVENTS.replace("2018-04-03T13:00:00+00:00", "2018-04-03T01:00:00+00:00"), "ends before it starts"),
    (EVENTS.replace("2018-04-03T12:00:00+00:00", ""), "no start time"),
])
def test_read_events_errors_say_where(tmp_path, text, message):
    p = tmp_path / "events.csv"
    p.write_text(text)
    with pytest.raises(DataFormatError, match=message) as err:
        read_events(p)
    assert "events.csv" in str(err.value)


def test_missing_files_are_one_clear_error(tmp_path):
    for reader in (read_events, read_sensors, read_transitions):
        with pytest.raises(PumpguardError, match="does not exist"):
            reader(tmp_path / "nope")


def test_read_sensors_with_and_without_network(tmp_path):
    p = tmp_path / "sensors.json"
    p.write_text(json.dumps({"sensors": [{"id": "sensor_00", "kind": "pressure", "element": "J-1", "name": "x"}],
                             "network": "Net3"}))
    f = read_sensors(p)
    assert f.network == "Net3" and f.sensors[0].element == "J-1"
    p.write_text(json.dumps([{"id": "sensor_00"}]))
    assert read_sensors(p).network is None
    p.write_text(json.dumps({"sensors": [{"kind": "pressure"}]}))
    with pytest.raises(DataFormatError, match="entry 0 has no id"):
        read_sensors(p)
    p.write_text("{not json")
    with pytest.raises(DataFormatError, match="not valid JSON"):
        read_sensors(p)


def test_ground_truth_beside(tmp_path):
    (tmp_path / "data.csv").write_text("timestamp\n")
    assert ground_truth_beside(tmp_path / "data.csv") == {"events": None, "sensors": None, "controller": None}
    (tmp_path / "events.csv").write_text(EVENTS)
    assert ground_truth_beside(tmp_path / "data.csv")["events"] == tmp_path / "events.csv"
    assert ground_truth_beside(tmp_path)["events"] == tmp_path / "events.csv"
    assert ground_truth_beside(None)["events"] is None


def test_an_alarm_run_begun_before_the_window_is_marked():
    o = match_faults(table(("F-1", "burst", "process", 100, 200)), alarms_at((50, 120)))[0]
    assert o.caught and o.alarm_already_on and o.to_dict()["alarm_already_on"] is True
    assert not match_faults(table(("F-1", "burst", "process", 100, 200)), alarms_at((105, 120)))[0].alarm_already_on
