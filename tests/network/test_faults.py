"""The fault grammar, its errors, the default scenario and events.csv."""

import json

import pandas as pd
import pytest

from pumpguard.errors import ConfigError
from pumpguard.network.faults import default_faults, events_frame, parse_faults, resolve_faults
from pumpguard.network.sensors import default_layout
from pumpguard.network.topology import load_network

SPEC = ("leak@P-N1:start=2d,growth=12h;burst@J-S3:start=5d;pump_bearing:start=10d,duration=3d;"
        "sensor_stuck@sensor_03:start=1d,duration=6h")


def test_spec_parses_with_defaults():
    faults = parse_faults(SPEC)
    assert [f.kind for f in faults] == ["sensor_stuck", "leak", "burst", "pump_bearing"]
    leak = faults[1]
    assert leak.location == "P-N1" and leak.start == pd.Timedelta(days=2) and leak.end is None
    assert leak.size_at(pd.Timedelta(hours=54)) == pytest.approx(0.5 * leak.severity)
    burst = faults[2]
    assert burst.end == pd.Timedelta(days=5, hours=12) and burst.severity == 6.0
    bearing = faults[3]
    assert bearing.failure == pd.Timedelta(days=13) and bearing.end == pd.Timedelta(days=14)
    assert parse_faults("none") == [] and parse_faults(None) == []
    again = parse_faults(";".join(f.to_text() for f in faults))
    assert again == faults


@pytest.mark.parametrize("spec, message", [
    ("lek@P-N1:start=1d", "fault kind 'lek' is not known"),
    ("leak@P-N1", "needs a start"),
    ("leak:start=1d", "needs a location"),
    ("leak@P-N1:start=tomorrow", "is not a duration"),
    ("leak@P-N1:start=1d,colour=red", "key 'colour' does not apply to leak"),
    ("burst@J-S3:start=1d,severity=-2", "severity must be positive"),
    ("burst@J-S3:start=1d,2h", "is not key=value"),
    ("power_loss@PUMP-1:start=1d", "has no location"),
])
def test_bad_specs_say_what_is_wrong(spec, message):
    with pytest.raises(ConfigError, match=message):
        parse_faults(spec)


def test_locations_are_checked_against_the_network():
    wn = load_network()
    layout = default_layout(wn)
    with pytest.raises(ConfigError, match="'P-404' is not a pipe or junction"):
        resolve_faults("leak@P-404:start=1d", wn, layout, 3)
    with pytest.raises(ConfigError, match="sensor 'sensor_99' is not in the layout"):
        resolve_faults("sensor_drift@sensor_99:start=1d", wn, layout, 3)
    with pytest.raises(ConfigError, match="after the end"):
        resolve_faults("pump_trip:start=5d", wn, layout, 3)
    assert resolve_faults("pump_trip:start=1d", wn, layout, 3)[0].location == "PUMP-1"


def test_json_file(tmp_path):
    path = tmp_path / "faults.json"
    path.write_text(json.dumps([{"kind": "leak", "at": "P-N1", "start": "2d", "growth": "1d"},
                                {"kind": "pump_trip", "start": "3h"}]))
    faults = parse_faults(str(path))
    assert [f.kind for f in faults] == ["pump_trip", "leak"]
    (tmp_path / "broken.json").write_text("[{")
    with pytest.raises(ConfigError, match="not valid JSON"):
        parse_faults(str(tmp_path / "broken.json"))


def test_default_scenario_spreads_every_kind_over_the_run():
    for name in ("pumpguard", "Net3"):
        wn = load_network(name)
        faults = default_faults(wn, default_layout(wn), 150)
        kinds = {f.kind for f in faults}
        assert {"leak", "burst", "blockage", "pump_bearing", "pump_trip", "power_loss"} <= kinds
        assert len({f.kind for f in faults if f.kind.startswith("sensor_")}) >= 2
        starts = [f.start for f in faults]
        assert starts == sorted(starts) and starts[-1] > pd.Timedelta(days=120)
        resolve_faults("default", wn, default_layout(wn), 150)  # every location exists


def test_events_frame_content():
    t0 = pd.Timestamp("2018-04-01", tz="UTC")
    ev = events_frame(parse_faults(SPEC), t0, 20, elements={1: "P-N1-LEAK"})
    assert list(ev.columns) == ["event_id", "kind", "category", "location", "element", "start", "end",
                                "failure", "severity", "severity_unit", "spec"]
    assert ev["event_id"].tolist() == ["F-01", "F-02", "F-03", "F-04"]
    assert ev["category"].tolist() == ["sensor", "process", "process", "process"]
    assert ev.loc[1, "element"] == "P-N1-LEAK" and pd.isna(ev.loc[1, "end"])
    assert ev.loc[3, "failure"] == t0 + pd.Timedelta(days=13)
    assert ev.loc[0, "end"] == t0 + pd.Timedelta(days=1, hours=6)


def test_compound_durations():
    from pumpguard.network.faults import parse_duration

    assert parse_duration("1d6h", what="x") == pd.Timedelta(hours=30)
    with pytest.raises(ConfigError, match="is not a duration"):
        parse_duration("1d2", what="x")
