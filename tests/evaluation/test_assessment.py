"""assess(): the slice it reports on, the truths it ranks against, and a JSON-ready result."""

import json

import numpy as np
import pandas as pd
import pytest

from pumpguard.errors import DataFormatError
from pumpguard.evaluation import assess, headline, warning_truth


def _case():
    idx = pd.date_range("2018-04-01", periods=6 * 1440, freq="min", tz="UTC", name="timestamp")
    status = pd.Series("NORMAL", index=idx, dtype=object)
    for start in ("2018-04-02 12:00", "2018-04-05 12:00"):
        t = pd.Timestamp(start, tz="UTC")
        status[t] = "BROKEN"
        status[(idx > t) & (idx <= t + pd.Timedelta(hours=2))] = "RECOVERING"
    labels = pd.DataFrame({"machine_status": pd.Categorical(status, categories=["NORMAL", "BROKEN", "RECOVERING"])},
                          index=idx)
    rng = np.random.default_rng(0)
    scores = pd.Series(rng.normal(size=len(idx)), index=idx)
    scores[(idx >= "2018-04-05 09:00") & (idx < "2018-04-05 12:00")] += 10  # rises 3 h before failure 2
    scores[status.to_numpy() != "NORMAL"] += 10
    scores.iloc[5000] = np.nan
    alarms = (scores > 4).astype(float)
    alarms[scores.isna()] = np.nan
    return idx, labels, scores, alarms


def test_assess_only_the_given_slice_and_says_so():
    idx, labels, scores, alarms = _case()
    start = pd.Timestamp("2018-04-04", tz="UTC")
    r = assess(scores, alarms, labels, threshold=4.0, start=start, slice_rule="after training/validation")
    assert r["slice"]["start"] == start.isoformat() and r["slice"]["rows"] == 3 * 1440
    assert r["slice"]["rule"] == "after training/validation"
    assert r["events"]["total"] == 1  # the failure in the training slice is not assessed
    item = r["events"]["items"][0]
    assert item["outcome"] == "caught" and item["lead_time_s"] == 3 * 3600
    assert r["events"]["median_lead_time_s"] == 3 * 3600
    assert r["horizon_s"] == 12 * 3600
    json.dumps(r)  # JSON-ready, no NaN


def test_ranking_truths_and_headline():
    idx, labels, scores, alarms = _case()
    r = assess(scores, alarms, labels, threshold=4.0)
    w = r["ranking"]["warning"]
    assert 0.5 < w["roc_auc"] < 1.0  # 3 of the 12 warning hours are high
    assert r["ranking"]["abnormal"]["roc_auc"] > 0.98  # the pre-failure rise is NORMAL here
    assert w["unscorable"] == 1
    h = headline(r)
    assert h["events_caught"] == 1 and h["events_total"] == 2 and h["truth"] == "warning"
    assert h["false_alarms_per_day"] is not None


def test_slice_with_no_failure_gives_undefined_ranking_not_a_crash():
    idx, labels, scores, alarms = _case()
    r = assess(scores, alarms, labels, start="2018-04-03", end="2018-04-05")
    assert r["events"]["total"] == 0
    assert r["ranking"]["warning"]["roc_auc"] is None
    assert "only negative" in r["ranking"]["warning"]["undefined"]


def test_predicted_status_per_class_and_unscorable_empty_string():
    idx, labels, scores, alarms = _case()
    pred = labels["machine_status"].astype(str).to_numpy(dtype=object).copy()
    pred[:10] = ""  # unscorable rows come back as "" from predict_status
    r = assess(scores, alarms, labels, predicted_status=pd.Series(pred, index=idx))
    assert r["status"]["skipped_rows"] == 10
    assert r["status"]["macro_f1"] == 1.0
    assert r["status"]["labels"] == ["NORMAL", "BROKEN", "RECOVERING"]


def test_anomaly_labels_default_horizon_zero():
    idx = pd.date_range("2020-03-09", periods=100, freq="s", tz="UTC")
    anomaly = pd.Series(np.r_[np.zeros(60), np.ones(30), np.zeros(10)], index=idx)
    scores = pd.Series(np.r_[np.zeros(65), np.ones(35)], index=idx)
    r = assess(scores, (scores > 0.5).astype(float), pd.DataFrame({"anomaly": anomaly}))
    assert r["horizon_s"] == 0 and r["truth"]["primary"] == "anomaly"
    assert r["events"]["caught"] == 1 and r["events"]["items"][0]["detection_delay_s"] == 5
    assert r["false_alarms"]["alarm_events"] == 0  # the alarm after the run continues the same edge


def test_misaligned_inputs_are_a_clear_error():
    idx, labels, scores, alarms = _case()
    with pytest.raises(DataFormatError, match="same timestamps"):
        assess(scores, alarms.iloc[:-1], labels)


def test_warning_truth_leaves_out_down_rows():
    idx, labels, *_ = _case()
    t = warning_truth(labels, "12h")
    assert t.isna().sum() == 2 * 121
    assert t.sum() == 2 * 720
