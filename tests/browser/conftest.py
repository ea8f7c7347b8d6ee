"""A real uvicorn server (127.0.0.1, free port) with a LiveHub fed in process, and headless Chromium.

Playwright cannot download its own browser here: Debian's Chromium is launched instead.
"""

from __future__ import annotations

import math
import shutil
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "browser-token-0123456789abcdef"
#: Sensors of the default network's layout fed as telemetry (ids as the simulator writes them).
SENSORS = [f"sensor_{i:02d}" for i in range(0, 50)]
T0 = datetime(2026, 3, 1, tzinfo=timezone.utc)


class Feeder:
    """Publishes one telemetry row and one prediction a tick into the hub, from a thread."""

    def __init__(self, hub, period_s: float = 0.2) -> None:
        self.hub, self.period_s = hub, period_s
        self.i = 0
        self.lock = threading.Lock()
        self.anomalous: list[dict] | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="test-feeder", daemon=True)

    def tick(self) -> None:
        with self.lock:
            i = self.i
            self.i += 1
            top = self.anomalous
        ts = (T0 + timedelta(minutes=i)).isoformat().replace("+00:00", "Z")
        wave = math.sin(i / 9.0)
        values = {s: 30.0 + 3 * math.sin(i / 7.0 + k) + (25.0 if top and k in (20, 21) else 0.0)
                  for k, s in enumerate(SENSORS)}
        self.hub.publish("telemetry", {"ts": ts, "values": values}, asset="pump_a")
        score = (9.0 + wave) if top else (1.0 + 0.4 * wave + 0.1 * math.sin(i * 1.7))
        self.hub.publish("prediction", {"ts": ts, "score": score, "threshold": 2.5, "anomaly": bool(top),
                                        "status": "ANOMALY" if top else "NORMAL",
                                        "top_sensors": top or [{"sensor": "sensor_03", "share": 0.2}],
                                        "model": "pca"}, asset="pump_a")

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.tick()

    def start(self) -> "Feeder":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)


@pytest.fixture()
def live_server(tmp_path):
    from pumpguard.api.app import create_app
    from pumpguard.api.live import LiveHub
    from pumpguard.api.server import ApiServer
    from pumpguard.api.settings import Settings

    (tmp_path / "data").mkdir()
    settings = Settings(data_dir=tmp_path / "data", models_dir=tmp_path / "models", token=TOKEN)
    hub = LiveHub(window=300)
    hub.publish("controller/state", {"state": "NORMAL", "suspected": [], "alarms": [], "engaged": [],
                                     "history": [{"ts": "2026-03-01T00:00:00Z", "from_state": "RECOVERING",
                                                  "to_state": "NORMAL", "reason": "service restored", "actions": []}]})
    feeder = Feeder(hub)
    for _ in range(60):
        feeder.tick()
    server = ApiServer(create_app(settings, hub=hub), port=0).start()
    feeder.start()
    try:
        yield server, hub, feeder
    finally:
        feeder.stop()
        server.stop()


@pytest.fixture()
def page(live_server):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        context = browser.new_context(viewport={"width": 1600, "height": 1000})
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.js_errors = errors
        try:
            yield pg
        finally:
            context.close()
            browser.close()


@pytest.fixture()
def artifacts(tmp_path) -> Path:
    out = tmp_path / "screenshots"
    out.mkdir()
    return out


@pytest.fixture()
def token() -> str:
    return TOKEN


@pytest.fixture()
def keep_for_docs():
    """Copy a screenshot to docs/images/dashboard.png when PUMPGUARD_UPDATE_DOCS_SCREENSHOT=1."""
    import os

    def keep(shot: Path) -> None:
        if os.environ.get("PUMPGUARD_UPDATE_DOCS_SCREENSHOT") == "1":
            target = Path(__file__).resolve().parents[2] / "docs" / "images" / "dashboard.png"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, target)

    return keep
