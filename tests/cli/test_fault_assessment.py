"""simulate -> train -> assess: the assessment has the fault-event and localisation sections.

The data: 3 simulated days of the default network (about 3 s to simulate) with three faults that
do not overlap, all in the assessed slice (after 57.6 h with the default 60/20 split): a burst at
J-S3 (60 h, 2 h), a leak on P-N2 (65 h, full size after 1 h, to the end) and a stuck pressure logger
(70 h, 1 h).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pumpguard.cli import app
from pumpguard.network.simulate import simulate, write_simulation

FAULTS = ("burst@J-S3:start=60h,duration=2h;leak@P-N2:start=65h,growth=1h,severity=3;"
          "sensor_stuck@pressure_J-N3:start=70h,duration=1h")

runner = CliRunner()


def run(*args):
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def assessed(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("fault_assess")
    write_simulation(simulate(days=3, faults=FAULTS, seed=5), d / "sim")
    r = run("train", d / "sim" / "data.csv", "--detector", "pca", "--out", d / "pca.skops")
    assert r.exit_code == 0, r.output
    r = run("assess", d / "sim" / "data.csv", "--model", d / "pca.skops", "--out", d / "report")
    assert r.exit_code == 0, r.output
    assert "faults" in r.output and "localisation" in r.output
    return d


def test_fault_section(assessed):
    report = json.loads((assessed / "report" / "assessment.json").read_text())
    f = report["faults"]
    assert [it["kind"] for it in f["items"]] == ["burst", "leak", "sensor_stuck"]
    assert f["total"] == 3 and set(f["by_category"]) == {"process", "sensor"}
    burst = f["items"][0]
    # a 6 L/s/m^0.5 burst drops every pressure in the south zone at once: caught within minutes
    assert burst["outcome"] == "caught" and -60 <= burst["detection_delay_s"] <= 600
    assert f["false_alarms"]["normal_days"] > 0 and f["false_alarms"]["events_per_day"] is not None
    assert f["tolerance_s"] == 60.0


def test_localisation_section(assessed):
    report = json.loads((assessed / "report" / "assessment.json").read_text())
    loc = report["localisation"]
    assert loc["network"] == "pumpguard" and loc["faults"] == 2 and loc["skipped"] is None
    caught = [it for it in loc["items"] if it["first_alarm"] is not None]
    assert caught and all(it["top_candidate"] and it["distance_m"] is not None for it in caught)
    assert all(1 <= it["rows_used"] <= 3 for it in caught)
    a = loc["over_all_faults"]
    assert 0 <= a["top1"] <= a["within_2_hops"] <= 1 and 0 <= a["within_300m"] <= 1
    # the default network is ~4 km across; a located burst/leak lands in its own part of town
    assert a["median_distance_m"] < 1500


def test_page_shows_faults_and_localisation(assessed):
    page = (assessed / "report" / "assessment.html").read_text()
    assert "Faults (simulator ground truth)" in page and "Leak and burst localisation" in page
    assert "J-S3" in page and "top candidate" in page


def test_wrong_network_is_one_line(assessed):
    r = run("assess", assessed / "sim" / "data.csv", "--model", assessed / "pca.skops", "--out",
            assessed / "report2", "--network", "Net3")
    assert r.exit_code == 2
    assert "--network" in r.output and "Traceback" not in r.output


def test_assess_help_mentions_network():
    r = run("assess", "--help")
    assert "--network" in r.output and "Example: pumpguard assess" in r.output


def test_recorded_network_is_a_name_or_a_file_beside_the_data(assessed, tmp_path):
    import shutil

    from pumpguard.workflows.fault_assessment import _network

    assert _network(None, "pumpguard", tmp_path)[1] == "pumpguard"
    outside = tmp_path / "elsewhere" / "town.inp"
    outside.parent.mkdir()
    shutil.copy(assessed / "sim" / "data.csv", outside)  # any file: it must not be read from there
    wn, name, how = _network(None, str(outside), assessed / "sim")
    assert name == "pumpguard" and how.startswith("default")


def test_train_can_leave_known_fault_periods_out_of_normal(tmp_path):
    """--exclude-events: rows inside the fault table's periods are not learned as normal, and the card says so."""
    from pumpguard.detectors.model_file import load_model
    from pumpguard.network.simulate import simulate, write_simulation

    result = simulate(days=0.5, faults="leak@P-N2:start=1h,duration=4h,growth=1h", seed=2)
    paths = write_simulation(result, tmp_path / "sim")
    runner = CliRunner()
    plain = runner.invoke(app, ["train", str(paths["data"]), "--detector", "pca", "--out", str(tmp_path / "a.skops")])
    assert plain.exit_code == 0, plain.output
    clean = runner.invoke(app, ["train", str(paths["data"]), "--detector", "pca", "--out", str(tmp_path / "b.skops"),
                                "--exclude-events", str(paths["events"])])
    assert clean.exit_code == 0, clean.output
    a, b = load_model(tmp_path / "a.skops"), load_model(tmp_path / "b.skops")
    assert b.n_train_rows < a.n_train_rows
    assert any("known abnormal periods" in note for note in b.notes)
    bad = runner.invoke(app, ["train", str(paths["data"]), "--detector", "pca", "--out", str(tmp_path / "c.skops"),
                              "--exclude-events", str(paths["data"])])
    assert bad.exit_code == 2 and "Traceback" not in bad.output
