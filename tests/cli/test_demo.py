"""`pumpguard demo`: the offline report, then the live system through the embedded broker, unattended."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import threading
import time

import pandas as pd
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


MOSQUITTO = shutil.which("mosquitto") or next((p for p in ("/usr/sbin/mosquitto",) if os.path.exists(p)), None)


@pytest.fixture()
def mosquitto_url(tmp_path):
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto; make test installs it)")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = tmp_path / "mosquitto.conf"
    root = "user root\n" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n{root}max_queued_messages 100000\nset_tcp_nodelay true\n")
    process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline or process.poll() is not None:
                process.kill()
                pytest.fail("mosquitto did not start")
            time.sleep(0.05)
    yield f"mqtt://127.0.0.1:{port}"
    process.terminate()
    process.wait(10)


@pytest.mark.mqtt
@pytest.mark.slow
def test_the_live_system_runs_on_a_real_broker_with_end_to_end_acknowledgement(tmp_path, mosquitto_url):
    from pumpguard.demo.live import LiveDemo
    from pumpguard.detectors.training import train
    from pumpguard.network.simulate import simulate

    result = simulate("pumpguard", days=2, faults="burst@J-S3:start=40h,duration=3h,severity=6", seed=1)
    trained = train(result.dataset, "pca")
    frame = result.dataset.frame
    stream = frame.loc[frame.index >= pd.Timestamp(trained.validation_end), list(trained.sensor_ids)]
    (tmp_path / "data").mkdir()
    system = LiveDemo(trained, stream, result.dataset.sensors, data_dir=tmp_path / "data",
                      models_dir=tmp_path / "models", broker_url=mosquitto_url).start()
    try:
        assert system.embedded is None and not system.scorer.ack_on_receipt  # at least once, end to end
        system.wait(threading.Event(), duration_s=60, until_caught_up=True)
        record = system.recorder.record
        assert system.caught_up()
        assert record.prediction_count == len(stream)
        assert any(t["to_state"] == "ALARM" for t in record.transitions)
    finally:
        system.stop()
    assert _demo_threads() == []
