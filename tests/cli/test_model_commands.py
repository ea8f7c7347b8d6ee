"""train -> predict -> assess -> compare round trips through the real CLI, on small synthetic data.

The data: 4 days of SYNTHETIC minute data with 2 failures (make_sample(4, seed=1, failures=2)); with
the default split (60 % training, 20 % validation) the second failure, on day 4 at 06:00, falls in
the assessed slice. SKAB is read from /work/shared/data/skab (GPL-3.0, never copied) when present.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pumpguard.cli import app
from pumpguard.data.synthetic import make_sample
from pumpguard.data.writers import write_csv

SKAB = Path("/work/shared/data/skab/valve1/0.csv")

runner = CliRunner()


def run(*args: str):
    result = runner.invoke(app, [str(a) for a in args], catch_exceptions=False)
    return result


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("model_cli")
    write_csv(make_sample(4, seed=1, failures=2), d / "pump.csv")
    r = run("train", d / "pump.csv", "--detector", "pca", "--out", d / "pca.skops")
    assert r.exit_code == 0, r.output
    return d


def test_train_prints_the_card(work):
    r = run("train", work / "pump.csv", "--detector", "pca", "--param", "variance=0.9",
            "--false-alarm-rate", "0.001", "--out", work / "pca90.skops")
    assert r.exit_code == 0, r.output
    assert "variance" in r.output and "0.9" in r.output and "threshold" in r.output
    assert (work / "pca90.skops").stat().st_size > 0


def test_predict_writes_the_documented_columns(work):
    out = work / "pred.csv"
    r = run("predict", work / "pump.csv", "--model", work / "pca.skops", "--out", out)
    assert r.exit_code == 0, r.output
    table = pd.read_csv(out)
    assert list(table.columns) == ["timestamp", "score", "threshold", "anomaly", "top1_sensor", "top1_share",
                                   "top2_sensor", "top2_share", "top3_sensor", "top3_share"]
    assert len(table) == 4 * 1440
    assert set(table["anomaly"].dropna().unique()) <= {0, 1}
    assert ((table["score"] > table["threshold"]) == (table["anomaly"] == 1)).all()
    assert (table["top1_share"].dropna() >= table["top2_share"].dropna().reindex(table["top1_share"].dropna().index)
            .fillna(0)).all()


def test_predict_of_a_supervised_model_has_a_status_column(work):
    model = work / "rf.skops"
    r = run("train", work / "pump.csv", "--detector", "random_forest", "--param", "n_estimators=20", "--out", model)
    assert r.exit_code == 0, r.output
    r = run("predict", work / "pump.csv", "--model", model, "--out", work / "rf.csv")
    assert r.exit_code == 0, r.output
    table = pd.read_csv(work / "rf.csv")
    assert list(table.columns[:5]) == ["timestamp", "score", "threshold", "anomaly", "status"]
    assert set(table["status"].dropna()) <= {"NORMAL", "BROKEN", "RECOVERING"}


def test_assess_reports_only_after_the_validation_slice(work):
    out = work / "assessed"
    r = run("assess", work / "pump.csv", "--model", work / "pca.skops", "--out", out)
    assert r.exit_code == 0, r.output
    report = json.loads((out / "assessment.json").read_text())
    html = (out / "assessment.html").read_text()
    assert "data:image/png;base64," in html and "<script" not in html
    # 4 days cut 60/20/20 by time: the assessed slice begins 3.2 days in
    assert pd.Timestamp(report["slice"]["start"]) >= pd.Timestamp("2018-04-04 04:48", tz="UTC")
    assert report["slice"]["rule"].startswith("time-ordered")
    assert report["events"]["total"] == 1
    assert report["events"]["items"][0]["start"].startswith("2018-04-04T06:00")
    assert report["horizon_s"] == 12 * 3600
    assert "assessed" in r.output and "false alarms" in r.output


def test_assess_all_and_update_model_then_show(work):
    model = work / "pca_copy.skops"
    model.write_bytes((work / "pca.skops").read_bytes())
    out = work / "assessed_all"
    r = run("assess", work / "pump.csv", "--model", model, "--out", out, "--all", "--horizon", "6h", "--update-model")
    assert r.exit_code == 0, r.output
    report = json.loads((out / "assessment.json").read_text())
    assert report["slice"]["rows"] == 4 * 1440 and "--all" in report["slice"]["rule"]
    assert report["events"]["total"] == 2 and report["horizon_s"] == 6 * 3600
    shown = run("model", "show", model)
    assert shown.exit_code == 0, shown.output
    assert "assessment" in shown.output and "events caught" in shown.output


def test_compare_side_by_side(work):
    out = work / "cmp"
    r = run("compare", work / "pump.csv", "--detectors", "pca,random_forest", "--out", out,
            "--param", "random_forest.n_estimators=20")
    assert r.exit_code == 0, r.output
    result = json.loads((out / "compare.json").read_text())
    assert [row["detector"] for row in result["rows"]] == ["pca", "random_forest"]
    for row in result["rows"]:
        assert row["train_s"] > 0 and row["score_rows_per_s"] > 0 and row["events_total"] == 1
    assert result["rows"][0]["status_macro_f1"] is None and result["rows"][1]["status_macro_f1"] is not None
    md = (out / "compare.md").read_text()
    assert md.startswith("| detector | train s | score rows/s | ROC-AUC | PR-AUC | events caught |")
    page = (out / "compare.html").read_text()
    assert "<table>" in page and page.count("data:image/png;base64,") == 2


def test_shuffled_split_only_with_a_warning(work):
    r = run("compare", work / "pump.csv", "--detectors", "pca", "--out", work / "cmp_shuffled", "--shuffled-split")
    assert r.exit_code == 0, r.output
    assert "MISLEADS" in r.output and "future leaks into training" in r.output
    result = json.loads((work / "cmp_shuffled" / "compare.json").read_text())
    assert "MISLEADING" in result["context"]["split"]


def test_bad_model_file_is_one_line_and_exit_2(work):
    bad = work / "bad.skops"
    bad.write_bytes(b"this is not a model")
    r = run("predict", work / "pump.csv", "--model", bad, "--out", work / "x.csv")
    assert r.exit_code == 2
    lines = [line for line in r.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and "bad.skops" in lines[0]
    assert "Traceback" not in r.output


def test_compare_param_must_name_a_compared_detector(work):
    r = run("compare", work / "pump.csv", "--detectors", "pca", "--out", work / "c", "--param", "variance=0.9")
    assert r.exit_code == 2 and "detector.key=value" in r.output


def test_missing_model_and_unknown_detector_exit_2(work):
    r = run("assess", work / "pump.csv", "--model", work / "nope.skops", "--out", work / "o")
    assert r.exit_code == 2 and "nope.skops" in r.output
    r = run("train", work / "pump.csv", "--detector", "magic", "--out", work / "m.skops")
    assert r.exit_code == 2 and "unknown detector" in r.output
    r = run("assess", work / "pump.csv", "--model", work / "pca.skops", "--out", work / "o", "--horizon", "soon")
    assert r.exit_code == 2 and "12h" in r.output


def test_import_pickle_refuses_without_trust(work):
    r = run("model", "import-pickle", work / "pump.csv", "--data", work / "pump.csv", "--out", work / "p.skops")
    assert r.exit_code == 2 and "runs code" in r.output
    assert not (work / "p.skops").exists()
    help_text = run("model", "import-pickle", "--help").output
    assert "runs" in help_text and "code" in help_text and "--trust" in help_text


@pytest.mark.skipif(not SKAB.exists(), reason="SKAB data not present at /work/shared/data/skab")
def test_skab_round_trip(tmp_path):
    # valve1/0.csv is anomalous from 50 % to 85 % of its rows: train on the first 30 %, set the
    # threshold on the next 15 %, so the assessed rest holds the anomaly and normal rows after it
    split = ("--train-fraction", "0.3", "--validation-fraction", "0.15")
    model = tmp_path / "skab.skops"
    r = run("train", SKAB, "--detector", "pca", "--out", model, *split)
    assert r.exit_code == 0, r.output
    r = run("predict", SKAB, "--model", model, "--out", tmp_path / "pred.csv")
    assert r.exit_code == 0, r.output
    r = run("assess", SKAB, "--model", model, "--out", tmp_path / "rep")
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "rep" / "assessment.json").read_text())
    assert report["truth"]["primary"] == "anomaly" and report["horizon_s"] == 0
    assert report["events"]["total"] == 1 and report["ranking"]["anomaly"]["roc_auc"] is not None
    r = run("compare", SKAB, "--detectors", "pca,iforest", "--out", tmp_path / "cmp", *split)
    assert r.exit_code == 0, r.output


def test_import_pickle_with_trust_gives_a_safe_model_file(work):
    import pickle

    from sklearn.ensemble import IsolationForest

    from pumpguard.data import read_dataset

    ds = read_dataset(work / "pump.csv")
    X = ds.values.fillna(ds.values.median())
    forest = IsolationForest(n_estimators=20, random_state=0).fit(X)
    (work / "model.pkl").write_bytes(pickle.dumps(forest))
    r = run("model", "import-pickle", work / "model.pkl", "--data", work / "pump.csv",
            "--out", work / "imported.skops", "--trust")
    assert r.exit_code == 0, r.output
    r = run("predict", work / "pump.csv", "--model", work / "imported.skops", "--out", work / "imported.csv")
    assert r.exit_code == 0, r.output
    assert len(pd.read_csv(work / "imported.csv")) == 4 * 1440
