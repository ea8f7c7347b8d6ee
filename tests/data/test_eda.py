"""EDA: the summary's numbers, the events, and a report that is one self-contained file."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pumpguard.data.eda import correlation, failure_events, flag_events, summarize
from pumpguard.data.eda_report import write_eda
from pumpguard.data.schema import Dataset
from pumpguard.data.synthetic import make_sample, sample_failures

SKAB_FILE = Path("/work/shared/data/skab/valve1/0.csv")
#: Enough sensors for two panels (one with an empty sensor) while keeping the figures cheap.
FEW = ["sensor_00", "sensor_04", "sensor_06", "sensor_14", "sensor_15", "sensor_38"]


def _few(ds: Dataset) -> Dataset:
    return ds.with_frame(ds.frame[FEW + ["machine_status"]])


def _assert_self_contained(html: str) -> int:
    assert "<script" not in html.lower() and "<link" not in html.lower()
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)
    assert "url(http" not in html and "@import" not in html
    images = re.findall(r'<img [^>]*src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html)
    assert images and all(len(b) > 1000 for b in images)
    return len(images)


def test_failure_events_by_hand():
    idx = pd.date_range("2018-04-01", periods=10, freq="min", tz="UTC")
    # a 2-minute gap after row 3 counts in the RECOVERING duration
    idx = idx.delete([4, 5])
    status = pd.Series(["NORMAL", "BROKEN", "BROKEN", "RECOVERING", "RECOVERING", "NORMAL", "NORMAL", "BROKEN"],
                       index=idx)
    ev = failure_events(status, pd.Timedelta("1min"))
    assert ev["start"].tolist() == [idx[1], idx[7]]
    assert ev["broken_rows"].tolist() == [2, 1]
    assert ev["broken_duration"].tolist() == [pd.Timedelta("2min"), pd.Timedelta("1min")]  # last: one step
    assert ev["recovering_rows"].tolist() == [2, 0]
    assert ev.loc[0, "recovering_duration"] == pd.Timedelta("4min")  # 00:03 .. 00:07, the gap included
    assert ev.loc[0, "normal_again"] == idx[5]
    assert ev.loc[1, "recovering_duration"] == pd.Timedelta(0)


def test_flag_events():
    idx = pd.date_range("2020-03-09", periods=6, freq="s", tz="UTC")
    ev = flag_events(pd.Series([0, 1, 1, 0, 1, 1.0], index=idx), pd.Timedelta("1s"))
    assert ev["rows"].tolist() == [2, 2]
    assert ev.loc[1, "end"] == idx[-1] + pd.Timedelta("1s")


def test_correlation_matches_pandas_with_missing_values():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(500, 4))
    x[:, 1] += x[:, 0]
    x[rng.random(x.shape) < 0.1] = np.nan
    df = pd.DataFrame(x, columns=list("abcd"))
    df["e"] = 1.0  # constant: undefined
    ours, theirs = correlation(df), df.corr()
    np.testing.assert_allclose(ours.iloc[:4, :4], theirs.iloc[:4, :4], atol=1e-10)
    assert ours["e"].isna().all()


def test_summary_numbers_match_the_sample():
    days, seed = 3, 2
    ds = make_sample(days, seed=seed)
    events = sample_failures(days, seed=seed)
    s = summarize(ds)
    json.dumps(s)  # JSON-ready, no NaN
    assert s["rows"] == 3 * 1440 and s["sensor_count"] == 52
    assert s["time"]["step"]["seconds"] == 60 and s["time"]["gap_count"] == 0
    assert s["time"]["start"].startswith("2018-04-01T00:00:00")
    assert s["time"]["span"]["seconds"] == (3 * 1440 - 1) * 60
    counts = s["labels"]["machine_status"]["counts"]
    assert counts == {k: int(v) for k, v in ds.status.astype(str).value_counts().items()}
    (ev,) = s["labels"]["machine_status"]["events"]
    truth = events.iloc[0]
    assert pd.Timestamp(ev["start"]) == truth.start
    assert ev["broken_duration"]["seconds"] == (truth.recovering_start - truth.start).total_seconds()
    assert ev["recovering_duration"]["seconds"] == (truth.end - truth.recovering_start).total_seconds()
    assert pd.Timestamp(ev["normal_again"]) == truth.end
    cols = {c["name"]: c for c in s["columns"]}
    assert cols["sensor_15"]["missing_pct"] == 100.0 and cols["sensor_15"]["mean"] is None
    v = ds.frame["sensor_04"]
    assert cols["sensor_04"]["min"] == pytest.approx(v.min()) and cols["sensor_04"]["std"] == pytest.approx(v.std())
    assert cols["sensor_04"]["missing_pct"] == pytest.approx(100 * v.isna().mean())
    assert len(s["head"]["rows"]) == 5 and s["head"]["columns"][0] == "timestamp"
    assert s["notes"] == ds.notes


def test_gaps_are_reported():
    ds = make_sample(1, seed=0, step_seconds=600)
    frame = ds.frame.drop(ds.index[10:13])
    s = summarize(ds.with_frame(frame))
    assert s["time"]["gap_count"] == 1 and s["time"]["missing_rows"] == 3


def test_report_is_one_self_contained_file(tmp_path):
    ds = _few(make_sample(3, seed=2, step_seconds=300))
    ds.notes.append("sorted 3 rows into time order")
    out = write_eda(ds, tmp_path / "eda", max_points=300)
    html = out.report.read_text()
    assert _assert_self_contained(html) == 1 + 2 + 3  # labels, two series panels, hist/missing/corr
    assert "sorted 3 rows into time order" in html and "SYNTHETIC" in html
    summary = json.loads(out.summary_path.read_text())
    assert set(summary) >= {"rows", "time", "head", "columns", "labels", "notes", "strongest_correlations"}
    assert summary["labels"]["machine_status"]["counts"]["BROKEN"] >= 1
    assert "bucket" in html  # the caption says the series were reduced


def test_unlabelled_data(tmp_path):
    ds = make_sample(1, seed=0, step_seconds=600)
    plain = ds.with_frame(ds.frame[["sensor_00", "sensor_01"]])
    out = write_eda(plain, tmp_path, max_points=100)
    assert out.summary["labels"] == {}
    assert "No label columns" in out.report.read_text()


def test_progress_is_reported(tmp_path):
    seen = []
    write_eda(_few(make_sample(1, seed=0, step_seconds=600)), tmp_path, max_points=100,
              progress=lambda done, total, step: seen.append((done, total)))
    assert seen[-1][0] == seen[-1][1] and [d for d, _ in seen] == sorted(d for d, _ in seen)


@pytest.mark.skipif(not SKAB_FILE.exists(), reason="SKAB data not present")
def test_skab_file(tmp_path):
    from pumpguard.data.readers import read_dataset

    ds = read_dataset(SKAB_FILE)
    out = write_eda(ds, tmp_path, max_points=500)
    html = out.report.read_text()
    assert _assert_self_contained(html) == 1 + 2 + 3
    labels = out.summary["labels"]
    n_anomaly = int((ds.frame["anomaly"] == 1).sum())
    assert labels["anomaly"]["counts"]["1"] == n_anomaly
    assert sum(e["rows"] for e in labels["anomaly"]["events"]) == n_anomaly
    assert len(labels["changepoint"]["events"]) == int((ds.frame["changepoint"] == 1).sum())
    assert out.summary["time"]["step"]["seconds"] == 1


@pytest.mark.slow
def test_all_52_sensors(tmp_path):
    out = write_eda(make_sample(3, seed=2), tmp_path, max_points=1000)
    assert _assert_self_contained(out.report.read_text()) == 1 + 13 + 3
