"""Preprocessing: pure steps that report what they did and leave a note."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pumpguard.data import (
    STATUS_DTYPE,
    Dataset,
    drop_uninformative,
    fill_gaps,
    find_gaps,
    infer_step,
    resample,
)
from pumpguard.errors import ConfigError


def _ds(values: dict, times=None, status=None, anomaly=None) -> Dataset:
    n = len(next(iter(values.values())))
    idx = (pd.DatetimeIndex(times, tz="UTC", name="timestamp") if times is not None
           else pd.date_range("2018-04-01", periods=n, freq="min", tz="UTC", name="timestamp"))
    frame = pd.DataFrame(values, index=idx, dtype="float64")
    if status is not None:
        frame["machine_status"] = pd.Categorical(status, dtype=STATUS_DTYPE)
    if anomaly is not None:
        frame["anomaly"] = np.asarray(anomaly, dtype="int8")
    return Dataset.from_frame(frame, notes=["read"])


def test_infer_step_is_the_median_difference():
    idx = pd.DatetimeIndex(["2020-01-01 00:00:00", "2020-01-01 00:00:01", "2020-01-01 00:00:02",
                            "2020-01-01 00:10:00", "2020-01-01 00:10:01"], tz="UTC")
    assert infer_step(idx) == pd.Timedelta(seconds=1)
    with pytest.raises(ConfigError):
        infer_step(idx[:1])


def test_find_gaps_counts_missing_rows_and_ignores_jitter():
    idx = pd.DatetimeIndex(["2020-01-01 00:00:00", "2020-01-01 00:01:00", "2020-01-01 00:02:20",
                            "2020-01-01 00:06:20", "2020-01-01 00:07:20"], tz="UTC")
    gaps = find_gaps(idx, "1min")
    assert list(gaps.columns) == ["start", "end", "missing_rows"]
    assert gaps["missing_rows"].tolist() == [3]
    assert gaps["start"].iloc[0] == idx[2] and gaps["end"].iloc[0] == idx[3]
    assert find_gaps(idx)["start"].tolist() == [idx[2]]  # step inferred (median 70 s)
    assert find_gaps(idx[:1], "1min").empty


def test_drop_uninformative_reports_and_notes():
    ds = _ds({"a": [1, 2, 3], "flat": [5, 5, np.nan], "empty": [np.nan] * 3}, status=["NORMAL"] * 3)
    out, report = drop_uninformative(ds)
    assert out.sensor_ids == ["a"] and "machine_status" in out.frame
    assert report.constant == ["flat"] and report.all_missing == ["empty"]
    assert out.notes[0] == "read" and "flat" in out.notes[-1] and "empty" in out.notes[-1]
    assert ds.sensor_ids == ["a", "flat", "empty"]  # input untouched
    again, report = drop_uninformative(out)
    assert report.dropped == [] and again.sensor_ids == ["a"]


def test_fill_gaps_by_rows_and_by_time():
    times = ["2020-01-01 00:00", "2020-01-01 00:01", "2020-01-01 00:02", "2020-01-01 00:03", "2020-01-01 00:30"]
    ds = _ds({"p": [1.0, np.nan, np.nan, np.nan, np.nan], "q": [1.0, 2.0, 3.0, 4.0, 5.0]}, times=times)
    by_rows, report = fill_gaps(ds, 2)
    assert by_rows.frame["p"].tolist()[:3] == [1.0, 1.0, 1.0] and np.isnan(by_rows.frame["p"].iloc[3])
    assert report.filled == {"p": 2} and report.still_missing == {"p": 2}
    by_time, report = fill_gaps(ds, "5min")
    assert by_time.frame["p"].tolist()[:4] == [1.0] * 4 and np.isnan(by_time.frame["p"].iloc[4])
    assert report.filled == {"p": 3}
    assert "fill_gaps" in by_time.notes[-1]
    assert np.isnan(ds.frame["p"].iloc[1])
    with pytest.raises(ConfigError):
        fill_gaps(ds, -1)
    with pytest.raises(ConfigError):
        fill_gaps(ds, "soon")


def test_resample_takes_the_worst_status_and_any_anomaly():
    status = ["NORMAL"] * 4 + ["NORMAL", "BROKEN", "RECOVERING", "NORMAL"] + ["RECOVERING", "NORMAL"] * 2
    anomaly = [0] * 5 + [1] + [0] * 6
    ds = _ds({"p": np.arange(12.0)}, status=status, anomaly=anomaly)
    out, report = resample(ds, "4min")
    assert out.frame["p"].tolist() == [1.5, 5.5, 9.5]
    assert out.status.tolist() == ["NORMAL", "BROKEN", "RECOVERING"]
    assert out.frame["machine_status"].dtype == STATUS_DTYPE
    assert out.frame["anomaly"].tolist() == [0, 1, 0] and out.frame["anomaly"].dtype == np.int8
    assert (report.rows_in, report.rows_out, report.empty_buckets) == (12, 3, 0)
    assert out.index.name == "timestamp" and str(out.index.tz) == "UTC"
    assert resample(ds, "4min", how="max")[0].frame["p"].tolist() == [3.0, 7.0, 11.0]


def test_resample_leaves_out_empty_buckets():
    times = ["2020-01-01 00:00", "2020-01-01 00:01", "2020-01-01 00:10", "2020-01-01 00:11"]
    out, report = resample(_ds({"p": [1.0, 3.0, 5.0, 7.0]}, times=times), "2min")
    assert out.frame["p"].tolist() == [2.0, 6.0]
    assert report.empty_buckets == 4 and "4 empty" in out.notes[-1]
    with pytest.raises(ConfigError):
        resample(out, "2min", how="mode")
