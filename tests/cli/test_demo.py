"""`pumpguard demo`: the offline report, then the live system through the embedded broker, unattended."""

from __future__ import annotations

import json
import re
import threading

import pytest
from typer.testing import CliRunner

from pumpguard.cli import app


def _demo_threads() -> list[str]:
    return [t.name for t in threading.enumerate()
            if t.is_alive() and (t.name.startswith("pumpguard-") or t.name.startswith("paho-mqtt-client-pumpguard-demo"))]


@pytest.mark.slow
def test_short_unattended_demo_streams_through_the_embedded_broker_and_writes_its_report(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--days", "3", "--seed", "1", "--unattended",
                                      "--duration", "60", "--speed", "100000"])
    assert result.exit_code == 0, result.output
    page = out / "index.html"
    text = page.read_text()
    links = re.findall(r'(?:href|src)="([^"]+)"', text)
    assert links, "the run report links nothing"
    for link in links:
        assert (out / link).is_file(), f"run report links {link}, which does not exist"
    assert "http://" not in text and "https://" not in text
    assert (out / "assessment" / "assessment.json").is_file()
    assert (out / "eda" / "report.html").is_file()
    assert "Live run through the broker" in text

    live = json.loads((out / "live.json").read_text())
    # every row after training and validation went through broker -> scorer, once, with the offline scores
    assessed_rows = json.loads((out / "assessment" / "assessment.json").read_text())["slice"]["rows"]
    assert live["rows_sent"] == assessed_rows > 0
    assert live["rows_predicted"] == live["rows_sent"]
    assert live["errors"] == 0
    assert live["max_score_difference_to_offline"] < 1e-6
    # the 3-day default scenario's burst reaches the live controller: alarm, then its valve actions
    controller = live["controller"]
    assert controller["transitions"] >= 1
    assert controller["alarms"] >= 1 and controller["plant_commands"] >= 1
    assert any(item["kind"] == "burst" and item["outcome"] == "caught" for item in live["fault_items"])
    assert "predicted" in result.output and "--interactive" in result.output
    assert _demo_threads() == [], "every background thread of the demo stops"


def test_help_has_an_example():
    result = CliRunner().invoke(app, ["demo", "--help"])
    assert result.exit_code == 0
    assert "Example: pumpguard demo" in result.output


def test_a_bad_broker_url_is_one_clear_error_before_any_work(tmp_path):
    result = CliRunner().invoke(app, ["demo", "--out", str(tmp_path / "d"), "--broker", "http://localhost:1883"])
    assert result.exit_code == 2
    assert "mqtt://" in result.output and "Traceback" not in result.output
    assert not (tmp_path / "d").exists()


def test_a_speed_of_zero_is_refused():
    result = CliRunner().invoke(app, ["demo", "--speed", "0"])
    assert result.exit_code == 2


@pytest.mark.slow
def test_offline_only_writes_the_report_without_a_broker(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--days", "1", "--seed", "1", "--offline"])
    assert result.exit_code == 0, result.output
    assert (out / "index.html").is_file() and not (out / "live.json").exists()
