"""The HTML report is one offline file and says what the assessment says."""

import base64
import re

import numpy as np
import pandas as pd

from pumpguard.evaluation import assess, headline
from pumpguard.evaluation.comparison import comparison_html, comparison_markdown, comparison_row
from pumpguard.evaluation.report import _thin, assessment_html, score_timeline_png


def _small():
    idx = pd.date_range("2018-04-01", periods=3 * 1440, freq="min", tz="UTC")
    status = np.array(["NORMAL"] * len(idx), dtype=object)
    status[2000] = "BROKEN"
    status[2001:2100] = "RECOVERING"
    labels = pd.DataFrame({"machine_status": status}, index=idx)
    rng = np.random.default_rng(1)
    scores = pd.Series(np.abs(rng.normal(size=len(idx))) + 0.01, index=idx)
    scores.iloc[1900:2100] += 20
    alarms = (scores > 3.5).astype(float)
    return scores, alarms, labels


def test_html_is_self_contained_and_holds_the_numbers():
    scores, alarms, labels = _small()
    r = assess(scores, alarms, labels, threshold=3.5, slice_rule="all rows (--all)")
    text = assessment_html(r, scores=scores, labels=labels, title="t")
    assert "<script" not in text and "http://" not in text and "https://" not in text
    pngs = re.findall(r'src="data:image/png;base64,([^"]+)"', text)
    assert len(pngs) == 1 and base64.b64decode(pngs[0])[:8] == b"\x89PNG\r\n\x1a\n"
    assert "1 h 40 min" in text  # lead time: alarms from 100 minutes before the failure
    assert "all rows (--all)" in text


def test_thinning_keeps_the_peak():
    idx = pd.date_range("2018-04-01", periods=100_000, freq="min", tz="UTC")
    v = np.zeros(len(idx))
    v[54_321] = 99.0
    t, lo, hi = _thin(idx, v, 5000)
    assert len(t) <= 5000 and hi.max() == 99.0


def test_timeline_png_for_anomaly_labels():
    idx = pd.date_range("2020-03-09", periods=600, freq="s", tz="UTC")
    labels = pd.DataFrame({"anomaly": np.r_[np.zeros(300), np.ones(300)]}, index=idx)
    png = score_timeline_png(pd.Series(np.linspace(0, 1, 600), index=idx), labels, threshold=0.5)
    assert png[:4] == b"\x89PNG"


def test_comparison_tables():
    scores, alarms, labels = _small()
    h = headline(assess(scores, alarms, labels, threshold=3.5))
    rows = [comparison_row("pca", 0.5, 120000.0, h, supervised=False)]
    md = comparison_markdown(rows, {"horizon_s": 43200})
    assert md.splitlines()[0].startswith("| detector | train s | score rows/s | ROC-AUC")
    assert "| pca | 0.50 | 120,000 |" in md and "1/1" in md and "12 h" in md
    assert "<table>" in comparison_html(rows)
