"""Closed-loop runs: determinism, isolation and rerouting, pump failure and recovery, files and the command."""

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pumpguard.cli import app
from pumpguard.errors import ConfigError
from pumpguard.network.simulate import simulate, write_simulation

BURST = "burst@P-M1:start=6h,duration=6h"


@pytest.fixture(scope="module")
def burst_run():
    return simulate(days=1, faults=BURST, seed=2, readable_ids=True)


def test_same_seed_same_data_other_seed_other_data():
    spec = "leak@P-N2:start=3h,growth=6h;sensor_drift@sensor_12:start=2h"
    a = simulate(days=0.5, faults=spec, seed=7)
    b = simulate(days=0.5, faults=spec, seed=7)
    c = simulate(days=0.5, faults=spec, seed=8)
    assert a.dataset.frame.equals(b.dataset.frame)
    assert a.transitions_frame().equals(b.transitions_frame())
    assert not a.dataset.frame.equals(c.dataset.frame)


def test_burst_on_the_main_is_isolated_and_rerouted(burst_run):
    tr = burst_run.transitions_frame()
    assert tr["to"].tolist()[:3] == ["ALARM", "ISOLATING", "NORMAL"]
    isolate = json.loads(tr.loc[1, "actions"])
    assert {(a["kind"], a["element"]) for a in isolate} == {
        ("close_valve", "V-M1"), ("close_valve", "V-M2"), ("open_valve", "V-B1")}
    assert pd.Timestamp(tr.loc[1, "ts"]) - pd.Timestamp("2018-04-01 06:00", tz="UTC") <= pd.Timedelta("10min")
    restore = json.loads(tr.loc[3, "actions"])
    assert tr.loc[3, "to"] == "RECOVERING" and {a["kind"] for a in restore} == {"open_valve", "close_valve"}
    assert tr["to"].iloc[-1] == "NORMAL"
    alt = burst_run.dataset.frame["flow_P-B1"]
    main = burst_run.dataset.frame["flow_P-M2"]
    before, during, after = alt.between_time("04:00", "05:50"), alt.between_time("07:00", "11:50"), alt.between_time("14:00", "20:00")
    assert abs(before.mean()) < 0.5 and during.mean() > 30 and abs(after.mean()) < 0.5
    assert abs(main.between_time("07:00", "11:50").mean()) < 0.5  # the isolated main carries nothing
    # service stayed up through the alternate route
    logger = burst_run.dataset.frame["pressure_J-N4"].between_time("07:00", "11:50")
    assert logger.min() > 25


def test_pump_failure_goes_broken_recovering_normal():
    r = simulate(days=1, faults="pump_bearing:start=1h,duration=10h,repair=4h", seed=1)
    tr = r.transitions_frame()
    states = tr["to"].tolist()
    i = states.index("BROKEN")
    assert states[i:] == ["BROKEN", "RECOVERING", "NORMAL"]
    assert pd.Timestamp(tr.loc[i, "ts"]) >= pd.Timestamp("2018-04-01 11:00", tz="UTC")
    assert pd.Timestamp(tr.loc[i + 1, "ts"]) == pd.Timestamp("2018-04-01 15:00", tz="UTC")
    assert json.loads(tr.loc[i, "actions"]) == [
        {"kind": "stop_pump", "element": "PUMP-1", "reason": "lock out the failed pump station for repair"}]
    status = r.dataset.frame["machine_status"].astype(str)
    runs = status[status != status.shift()].tolist()
    assert runs == ["NORMAL", "BROKEN", "RECOVERING", "NORMAL"]
    vib = r.dataset.frame[r.dataset.sensor_ids[8]]  # vibration of PUMP-1 rises before the failure
    assert vib.between_time("01:00", "02:00").mean() < 3 < vib.between_time("10:00", "10:55").mean()
    assert "ALARM" in states[:i]  # the vibration alarm warned before the failure


def test_power_loss_stops_every_pump():
    r = simulate(days=0.25, faults="power_loss:start=1h,duration=1h", seed=0, readable_ids=True)
    f = r.dataset.frame
    off = f.between_time("01:05", "01:55")
    assert (off["flow_PUMP-1"].fillna(0) == 0).all() and (off["flow_PUMP-2"].fillna(0) == 0).all()
    assert (off["level_T-1"].diff().dropna() <= 0.01).all()  # the tank supplies the town
    assert "BROKEN" in set(f["machine_status"].astype(str))


def test_sensor_faults_change_only_their_column():
    clean = simulate(days=0.25, faults=None, seed=4)
    stuck = simulate(days=0.25, faults="sensor_stuck@sensor_12:start=1h,duration=2h;"
                                        "sensor_dropout@sensor_13:start=1h,duration=1h", seed=4)
    a, b = clean.dataset.frame, stuck.dataset.frame
    window = b["sensor_12"].between_time("01:00", "02:59")
    assert window.nunique() == 1
    assert b["sensor_13"].between_time("01:00", "01:59").isna().all()
    others = [c for c in a.columns if c not in ("sensor_12", "sensor_13")]
    assert a[others].equals(b[others])


def test_bad_arguments():
    with pytest.raises(ConfigError, match="divides a day"):
        simulate(days=1, step_seconds=7)
    with pytest.raises(ConfigError, match="positive"):
        simulate(days=0)


def test_write_simulation_files(tmp_path, burst_run):
    paths = write_simulation(burst_run, tmp_path)
    head = (tmp_path / "data.csv").read_text().splitlines()[:2]
    assert head[0].startswith("timestamp,pressure_J-SUC,") and head[0].endswith(",machine_status")
    assert head[1].startswith("2018-04-01 00:00:00,")
    events = pd.read_csv(tmp_path / "events.csv")
    assert events.loc[0, "kind"] == "burst" and events.loc[0, "element"] == "P-M1-LEAK"
    assert events.loc[0, "start"] == "2018-04-01T06:00:00+00:00"
    controller = pd.read_csv(tmp_path / "controller.csv")
    assert list(controller.columns) == ["ts", "from", "to", "reason", "actions", "alarm_id"]
    assert json.loads(controller.loc[1, "actions"])[0]["kind"] == "close_valve"
    assert paths["picture"].stat().st_size > 20_000
    sensors = json.loads((tmp_path / "sensors.json").read_text())["sensors"]
    assert len(sensors) == len(burst_run.sensors)


def test_command_writes_and_refuses_bad_specs(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["simulate", "--days", "0.1", "--faults", "pump_trip:start=1h,duration=20min",
                             "--out", str(tmp_path / "run")])
    assert ok.exit_code == 0, ok.output
    assert (tmp_path / "run" / "data.csv").exists() and (tmp_path / "run" / "network.png").exists()
    bad = runner.invoke(app, ["simulate", "--days", "1", "--faults", "leak@P-404:start=1d",
                              "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2
    assert "is not a pipe or junction" in bad.output and "Traceback" not in bad.output
    assert "Example: pumpguard simulate" in runner.invoke(app, ["simulate", "--help"]).output


@pytest.mark.slow
def test_net3_runs_with_faults():
    r = simulate("Net3", days=1, faults="burst@20:start=6h,duration=4h;pump_trip:start=14h,duration=2h", seed=0)
    assert len(r.dataset.sensor_ids) >= 45
    assert np.isfinite(r.dataset.values.to_numpy(dtype=float)).mean() > 0.99
    assert "BROKEN" in set(r.dataset.frame["machine_status"].astype(str))


def test_an_isolated_burst_is_repaired_by_the_crew_and_the_standby_covers_a_trip():
    r = simulate(days=1.5, faults="burst@J-S3:start=6h,duration=1d;pump_trip:start=20h,duration=2h", seed=3,
                 readable_ids=True)
    tr = r.transitions_frame()
    isolated = pd.Timestamp(tr.loc[tr["to"] == "ISOLATING", "ts"].iloc[0])
    burst = r.events[r.events["kind"] == "burst"].iloc[0]
    # the valves shut from the next step on; the crew finishes plant.CREW_TIME (8 h) after that
    assert burst["end"] == isolated + pd.Timedelta(minutes=1) + pd.Timedelta(hours=8)
    cut_off = r.dataset.frame["pressure_J-S3"].loc[isolated + pd.Timedelta("10min"): isolated + pd.Timedelta("7h")]
    assert cut_off.max() < 0.5  # the shut segment is depressurised
    trip = r.dataset.frame.loc["2018-04-01 20:10":"2018-04-01 21:50"]
    assert (trip["flow_PUMP-1"].fillna(0) == 0).all() and trip["flow_PUMP-2"].min() > 25


def test_a_drifting_logger_fools_the_scada_and_the_crew_finds_nothing():
    r = simulate(days=2, faults="sensor_drift@pressure_J-N4:start=2h,severity=-0.6,duration=1d", seed=0)
    tr = r.transitions_frame()
    assert tr["to"].tolist() == ["ALARM", "ISOLATING", "NORMAL", "RECOVERING", "NORMAL"]
    closes = {a["element"] for a in json.loads(tr.loc[1, "actions"]) if a["kind"] == "close_valve"}
    assert "V-M2" in closes  # zone N (the logger's segment) shut on a false reading
    reopened = pd.Timestamp(tr.loc[3, "ts"]) - pd.Timestamp(tr.loc[1, "ts"])
    assert reopened == pd.Timedelta(hours=8, minutes=1)  # the crew reports nothing found
    assert r.events.loc[0, "category"] == "sensor"


@pytest.mark.slow
def test_a_network_without_pumps_gets_a_default_set_without_pump_faults():
    r = simulate("Net2", days=0.5, faults="default", seed=0)
    assert not set(r.events["kind"]) & {"pump_bearing", "pump_trip", "power_loss"}
    assert not any(s.kind in ("current", "vibration") for s in r.sensors)
