"""`pumpguard demo` runs the whole offline job and its run report links files that exist."""

from __future__ import annotations

import re

import pytest
from typer.testing import CliRunner

from pumpguard.cli import app


@pytest.mark.slow
def test_demo_writes_a_run_report_whose_links_exist(tmp_path):
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--out", str(out), "--days", "3", "--seed", "1"])
    assert result.exit_code == 0, result.output
    page = out / "index.html"
    assert page.is_file()
    text = page.read_text()
    links = re.findall(r'(?:href|src)="([^"]+)"', text)
    assert links, "the run report links nothing"
    for link in links:
        assert (out / link).is_file(), f"run report links {link}, which does not exist"
    assert "http://" not in text and "https://" not in text
    assert (out / "assessment" / "assessment.json").is_file()
    assert (out / "eda" / "report.html").is_file()
