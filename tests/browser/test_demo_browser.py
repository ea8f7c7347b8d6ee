"""The live demo as an operator sees it: headless Chromium against a running `pumpguard demo` system
(embedded broker -> scoring service -> controller service -> API and dashboard), fed by a short
simulation whose own burst reaches the scorer a few seconds into the stream."""

from __future__ import annotations

import threading
import time

import pandas as pd
import pytest

pytestmark = pytest.mark.browser

LOAD_MS = 20_000
LIVE_MS = 5_000
#: the burst starts ~20 s of stream time after the feed starts; allowance for the shared machine
BURST_MS = 60_000
REACT_MS = 10_000
#: 2 simulated days; train on the first 60 %, threshold on the next 20 %; the stream is the last 20 %
#: (from 38.4 h) and the burst at J-S3 (zone S) starts at 40 h, 97 rows in.
SCENARIO = "burst@J-S3:start=40h,duration=3h,severity=6"
#: 5 rows a second: the page moves visibly, the burst arrives ~20 s into the stream
SPEED = 300.0


@pytest.fixture()
def live_server(tmp_path, token):
    """Overrides the conftest's in-process feeder: the real demo system on the embedded broker."""
    from pumpguard.demo.live import LiveDemo
    from pumpguard.detectors.training import train
    from pumpguard.network.simulate import simulate

    result = simulate("pumpguard", days=2, faults=SCENARIO, seed=1)
    trained = train(result.dataset, "pca")
    frame = result.dataset.frame
    stream = frame.loc[frame.index >= pd.Timestamp(trained.validation_end), list(trained.sensor_ids)]
    (tmp_path / "data").mkdir()
    system = LiveDemo(trained, stream, result.dataset.sensors, data_dir=tmp_path / "data",
                      models_dir=tmp_path / "models", speed=SPEED, token=token).start()
    try:
        yield system
    finally:
        system.stop()
    alive = [t.name for t in threading.enumerate() if t.name.startswith("pumpguard-demo")]
    assert not alive, f"demo threads still running after stop: {alive}"


def test_demo_dashboard_live_values_burst_alarm_ack_and_zone(live_server, page, artifacts, token, keep_for_docs):
    system = live_server
    page.goto(system.url)
    page.wait_for_selector("#link.up", timeout=LOAD_MS)
    page.wait_for_function("document.getElementById('score-value').textContent !== '—'", timeout=LOAD_MS)
    first = page.text_content("#last-ts")
    page.wait_for_function(f"document.getElementById('last-ts').textContent !== {first!r}", timeout=LIVE_MS)
    page.wait_for_selector("#map circle.sensor", timeout=LOAD_MS)
    page.screenshot(path=str(artifacts / "demo-normal.png"))

    # the simulation's burst reaches the scorer; the controller confirms it and the alarm shows
    alarm_row = page.locator("tr[data-alarm-id^='C-'].open").first
    alarm_row.wait_for(timeout=BURST_MS)
    alarm_id = alarm_row.get_attribute("data-alarm-id")
    assert page.text_content("#controller-state") in ("ALARM", "ISOLATING", "BROKEN")
    # the map: the suspected places are drawn and the burst's zone (J-S3 is in ZONE-S) is highlighted
    page.wait_for_selector("#map .zone-label.suspected", timeout=REACT_MS)
    zones = page.locator("#map .zone-label.suspected").all_text_contents()
    assert "ZONE-S" in zones, f"highlighted zones {zones}, the burst is in ZONE-S"
    assert page.locator("#map circle.suspect-ring").count() >= 1
    time.sleep(1.0)  # let the controller's actions draw before the picture
    shot = artifacts / "demo-alarm.png"
    page.screenshot(path=str(shot), full_page=True)  # the controller history sits below the fold
    keep_for_docs(shot)

    # acknowledging on the page: the hub marks it, and the controller service hears it over MQTT
    page.fill("#token", token)
    row = page.locator(f"tr[data-alarm-id='{alarm_id}']")
    row.locator("button.ack").click()
    page.wait_for_selector(f"tr[data-alarm-id='{alarm_id}'].acked", timeout=REACT_MS)
    deadline = time.monotonic() + 10
    while not system.recorder.record.acknowledgements and time.monotonic() < deadline:
        time.sleep(0.1)
    acks = system.recorder.record.acknowledgements
    assert acks and acks[0]["alarm_id"] == alarm_id.removeprefix("C-"), acks
    page.screenshot(path=str(artifacts / "demo-acknowledged.png"))
    assert not page.js_errors, page.js_errors
