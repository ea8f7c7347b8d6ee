"""The three flows in the Node-RED editor, logged in through adminAuth, in headless Chromium.

Screenshots go to the test's tmp folder; with PUMPGUARD_UPDATE_DOCS_SCREENSHOT=1 they are also copied to
docs/images/nodered-a.png, -b.png, -c.png (docs/nodered.md shows them).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

_spec = importlib.util.spec_from_file_location("_nodered_conftest", Path(__file__).with_name("conftest.py"))
_here = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_here)

pytestmark = [pytest.mark.nodered, pytest.mark.browser, pytest.mark.slow]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TABS = {"a": "pga-tab", "b": "pgb-tab", "c": "pgc-tab"}


def test_each_flow_in_the_editor(system, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install -y chromium)")
    nodered = system["nodered"]
    docs = _here.REPO / "docs" / "images"
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_context(viewport={"width": 1440, "height": 720}).new_page()
            page.goto(nodered.url + "/")
            page.fill("#node-dialog-login-username", _here.USER)
            page.fill("#node-dialog-login-password", _here.PASSWORD)
            page.click("#node-dialog-login-submit")
            page.wait_for_selector("#red-ui-tab-pga-tab", timeout=30000)
            # the flow, not the palette and the sidebar
            page.evaluate("() => { RED.actions.invoke('core:toggle-sidebar', false); RED.actions.invoke('core:toggle-palette', false); }")
            for letter, tab in TABS.items():
                page.click(f"#red-ui-tab-{tab} a")
                page.wait_for_selector(f"#red-ui-tab-{tab}.active", timeout=10000)
                page.mouse.move(700, 700)  # no tab tooltip in the picture
                page.wait_for_timeout(700)  # let the MQTT nodes' status badges settle
                node_count = page.locator("#red-ui-workspace-chart g.red-ui-flow-node-group").count()
                assert node_count >= 5, f"tab {tab}: {node_count} nodes drawn"
                shot = tmp_path / f"nodered-{letter}.png"
                page.screenshot(path=str(shot))
                assert shot.stat().st_size > 20_000
                if os.environ.get("PUMPGUARD_UPDATE_DOCS_SCREENSHOT") == "1":
                    docs.mkdir(parents=True, exist_ok=True)
                    shutil.copyfile(shot, docs / shot.name)
        finally:
            browser.close()
