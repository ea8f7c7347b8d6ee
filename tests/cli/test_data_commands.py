"""The data commands: eda, sample and generate-record, through the real CLI."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from pumpguard.cli import app
from pumpguard.data.readers import read_dataset
from pumpguard.data.synthetic import make_sample
from pumpguard.data.writers import write_csv

runner = CliRunner()
# Reading a sample notes that it drops the empty sensor_15; that note is expected here.
pytestmark = pytest.mark.filterwarnings("ignore::pumpguard.data.validation.DataQualityWarning")


def _run(*args: str):
    return runner.invoke(app, list(args), terminal_width=200)


@pytest.mark.parametrize("command", ["eda", "sample", "generate-record"])
def test_help_shows_an_example(command):
    result = _run(command, "--help")
    assert result.exit_code == 0, result.output
    assert f"Example: pumpguard {command}" in result.output


def test_sample_help_says_synthetic():
    assert "SYNTHETIC" in _run("sample", "--help").output


def test_sample_is_deterministic_and_readable(tmp_path):
    a, b = tmp_path / "a" / "data.csv", tmp_path / "b" / "data.csv"
    for path in (a, b):
        result = _run("sample", "--out", str(path), "--days", "1", "--seed", "3", "--step", "300",
                      "--generator", "statistical")
        assert result.exit_code == 0, result.output
    assert a.read_bytes() == b.read_bytes()
    ds = read_dataset(a)
    expected = make_sample(1, seed=3, step_seconds=300)
    assert len(ds) == 288 and "sensor_15" not in ds.sensor_ids  # the reader drops the empty column
    assert ds.status.astype(str).tolist() == expected.status.astype(str).tolist()
    pd.testing.assert_series_equal(ds.frame["sensor_04"], expected.frame["sensor_04"], check_freq=False)
    events = pd.read_csv(a.with_name("data.failures.csv"))
    assert list(events.columns) == ["kind", "onset", "start", "recovering_start", "end", "sensors", "lead_time_s"]
    sensors = json.loads(a.with_name("sensors.json").read_text())
    assert len(sensors) == 52 and sensors[0]["id"] == "sensor_00"


def test_generate_record_creates_then_appends(tmp_path):
    out = tmp_path / "records.csv"
    assert _run("generate-record", "--out", str(out), "--count", "3", "--seed", "1").exit_code == 0
    first = read_dataset(out)
    assert len(first) == 3
    assert first.index[0] == first.index[0].floor("min")
    assert _run("generate-record", "--out", str(out), "--count", "2").exit_code == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 1 + 5 and lines[0].startswith("timestamp,sensor_00")
    both = read_dataset(out)
    assert len(both) == 5
    assert (both.index[1:] - both.index[:-1] == pd.Timedelta("1min")).all()
    assert both.index[3] == first.index[-1] + pd.Timedelta("1min")


def test_generate_record_continues_a_file_with_a_row_number_column(tmp_path):
    out = tmp_path / "pump.csv"
    out.write_text(",timestamp,sensor_00,sensor_04,machine_status\n"
                   "0,2018-04-01 00:00:00,2.46,630.1,NORMAL\n"
                   "1,2018-04-01 00:01:00,2.45,631.0,NORMAL")  # no final newline
    result = _run("generate-record", "--out", str(out), "--count", "2", "--seed", "0")
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert [ln.split(",")[:2] for ln in lines[3:]] == [["2", "2018-04-01 00:02:00"], ["3", "2018-04-01 00:03:00"]]
    ds = read_dataset(out)
    assert len(ds) == 4 and ds.sensor_ids == ["sensor_00", "sensor_04"]


def test_generate_record_refuses_another_schema(tmp_path):
    out = tmp_path / "other.csv"
    out.write_text("datetime;Pressure\n2020-03-09 10:14:33;0.05\n")
    result = _run("generate-record", "--out", str(out))
    assert result.exit_code == 2
    assert "pump-sensor schema" in result.output and "Traceback" not in result.output


def test_eda_command(tmp_path):
    data = tmp_path / "data.csv"
    ds = make_sample(1, seed=0, step_seconds=900)
    write_csv(ds.with_frame(ds.frame[["sensor_00", "sensor_04", "sensor_15", "machine_status"]]), data)
    result = _run("eda", str(data), "--out", str(tmp_path / "report"), "--max-points", "200")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "report" / "report.html").stat().st_size > 10_000
    summary = json.loads((tmp_path / "report" / "summary.json").read_text())
    assert summary["rows"] == 96
    assert any("sensor_15" in note for note in summary["notes"])  # what reading dropped is reported


def test_eda_missing_file_is_one_line(tmp_path):
    result = _run("eda", str(tmp_path / "nope.csv"), "--out", str(tmp_path / "r"))
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    result = _run("generate-record", "--out", str(tmp_path / "r.csv.gz"))
    assert result.exit_code == 2 and "compressed" in result.output
    for generator in ("statistical", "network"):
        result = _run("sample", "--out", str(tmp_path / "d.csv"), "--days", "0", "--generator", generator)
        assert result.exit_code == 2 and "days must be a positive number" in result.output
    result = _run("sample", "--out", str(tmp_path / "d.csv"), "--generator", "physics")
    assert result.exit_code == 2 and "expected 'network' or 'statistical'" in result.output
    assert "Traceback" not in result.output


def test_sample_by_default_is_the_simulated_network_with_its_ground_truth(tmp_path):
    out = tmp_path / "sim" / "pump.csv"
    first = None
    for _ in range(2):
        result = _run("sample", "--out", str(out), "--days", "0.2", "--seed", "5")
        assert result.exit_code == 0, result.output
        first = out.read_bytes() if _ == 0 else first
    assert out.read_bytes() == first  # same seed, same data
    ds = read_dataset(out)
    assert len(ds) == 288 and ds.status is not None
    assert ds.sensor_ids[0] == "sensor_00"
    for name in ("sensors.json", "events.csv", "controller.csv", "network.png"):
        assert (out.parent / name).is_file(), name
