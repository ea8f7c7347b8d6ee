"""nodered/settings.js on a real Node-RED: headless mode serves no admin API at all, editor mode refuses
to start without a password hash, and everything listens on 127.0.0.1 only."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("_nodered_conftest", Path(__file__).with_name("conftest.py"))
_here = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_here)

pytestmark = pytest.mark.nodered


@pytest.fixture()
def runtime():
    if _here.NODE is None or not _here.RED.exists():
        pytest.skip("Node-RED is not installed in nodered/.runtime (bash scripts/ensure-nodered.sh; make test runs it)")


def test_headless_mode_serves_no_http_at_all(runtime, tmp_path):
    (tmp_path / "flows.json").write_text(json.dumps(_here.merged_flows()))
    nodered = _here.NodeRed(tmp_path, {"PUMPGUARD_MQTT_HOST": "127.0.0.1",
                                       "PUMPGUARD_MQTT_PORT": str(_here.free_port())}, mode="headless")
    nodered.start()
    try:
        # no admin root and no node root: Node-RED opens no port, so nothing (/flows, /inject) can be reached
        for method, path in (("GET", "/"), ("GET", "/flows"), ("POST", "/inject/pga-start")):
            with pytest.raises(OSError):
                _here.http(method, nodered.url + path, b"" if method == "POST" else None, timeout=2)
        assert "Server now running" not in nodered.log_text()
    finally:
        nodered.stop()


def test_editor_mode_needs_a_password_hash(runtime, tmp_path):
    env = {**os.environ, "PUMPGUARD_NODERED_MODE": "editor", "PUMPGUARD_NODERED_USERDIR": str(tmp_path),
           "PUMPGUARD_NODERED_PORT": str(_here.free_port())}
    env.pop("PUMPGUARD_NODERED_PASSWORD_HASH", None)
    done = subprocess.run([_here.NODE, str(_here.RED), "--settings", str(_here.SETTINGS)], env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "PUMPGUARD_NODERED_PASSWORD_HASH" in done.stdout + done.stderr
