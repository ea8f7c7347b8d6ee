"""write_csv / write_parquet: the layout written, and read(write(ds)) == ds."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pumpguard.data import STATUS_DTYPE, Dataset, read_dataset, write_archive, write_csv, write_parquet
from pumpguard.errors import DataFormatError


def test_csv_layout_is_the_pump_sensor_schema(tmp_path, small_dataset):
    path = tmp_path / "out.csv"
    write_csv(small_dataset, path)
    lines = path.read_text().splitlines()
    assert lines[0] == "timestamp,sensor_00,sensor_01,machine_status,anomaly,changepoint"
    assert lines[1].startswith("2018-04-01 00:00:00,")
    assert lines[6].split(",")[1] == ""  # the missing value
    assert lines[31].split(",")[3:] == ["BROKEN", "1", "0"]
    assert lines[29].split(",")[3:] == ["NORMAL", "1", "1"]
    assert len(lines) == 41


@pytest.mark.parametrize("name", ["out.csv", "out.csv.gz", "out.parquet"])
def test_round_trip(tmp_path, small_dataset, name):
    path = tmp_path / name
    (write_parquet if name.endswith(".parquet") else write_csv)(small_dataset, path)
    back = read_dataset(path)
    pd.testing.assert_frame_equal(back.frame, small_dataset.frame, check_freq=False)
    assert back.sensor_ids == small_dataset.sensor_ids
    if name.endswith(".parquet"):
        assert back.sensors == small_dataset.sensors
        assert back.notes == small_dataset.notes
    if name.endswith(".gz"):
        with gzip.open(path, "rt") as fh:
            assert fh.readline().startswith("timestamp,")


def test_skab_round_trip(tmp_path, skab_valve):
    ds = read_dataset(skab_valve)
    for name in ("skab.csv", "skab.parquet"):
        (write_parquet if name.endswith(".parquet") else write_csv)(ds, tmp_path / name)
        back = read_dataset(tmp_path / name)
        pd.testing.assert_frame_equal(back.frame, ds.frame, check_freq=False)
    assert read_dataset(tmp_path / "skab.parquet").sensors == ds.sensors


def test_sub_second_times_keep_their_fraction(tmp_path):
    idx = pd.DatetimeIndex(["2024-01-01 00:00:00.250", "2024-01-01 00:00:00.500"], tz="UTC", name="timestamp")
    ds = Dataset.from_frame(pd.DataFrame({"p": [1.0, 2.0]}, index=idx.as_unit("us")))
    write_csv(ds, tmp_path / "f.csv")
    assert "2024-01-01 00:00:00.250000" in (tmp_path / "f.csv").read_text()
    pd.testing.assert_frame_equal(read_dataset(tmp_path / "f.csv").frame, ds.frame)


def test_writers_refuse_a_frame_outside_the_contract(tmp_path):
    frame = pd.DataFrame({"p": [1.0]}, index=pd.DatetimeIndex(["2024-01-01"], name="timestamp"))  # naive
    with pytest.raises(DataFormatError, match="UTC"):
        write_csv(Dataset.from_frame(frame), tmp_path / "x.csv")


_values = st.lists(st.one_of(st.floats(allow_nan=False, allow_infinity=False, width=64), st.just(np.nan)),
                   min_size=1, max_size=12)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=_values, statuses=st.data())
def test_round_trip_property(tmp_path, values, statuses):
    n = len(values)
    status = statuses.draw(st.lists(st.sampled_from(["NORMAL", "BROKEN", "RECOVERING"]), min_size=n, max_size=n))
    idx = pd.date_range("2018-04-01", periods=n, freq="min", tz="UTC", name="timestamp")
    frame = pd.DataFrame({"sensor_00": values, "sensor_01": 1.0}, index=idx)
    frame["machine_status"] = pd.Categorical(status, dtype=STATUS_DTYPE)
    ds = Dataset.from_frame(frame)
    if frame["sensor_00"].isna().all():
        return  # an empty column is dropped on reading, by design (tested in test_readers)
    for name in ("p.csv", "p.parquet"):
        (write_parquet if name.endswith(".parquet") else write_csv)(ds, tmp_path / name)
        back = read_dataset(tmp_path / name)
        pd.testing.assert_frame_equal(back.frame, ds.frame, check_freq=False)


def test_archive_written_in_batches_reads_back_as_one_table(tmp_path, small_dataset):
    idx = pd.date_range("2018-04-01 23:50", periods=40, freq="min", tz="UTC", name="timestamp")
    ds = Dataset(frame=small_dataset.frame.set_axis(idx), sensors=small_dataset.sensors, notes=["x"])
    first = write_archive(ds.between(None, idx[25]), tmp_path / "archive")
    second = write_archive(ds.between(idx[25]), tmp_path / "archive")
    names = sorted(p.relative_to(tmp_path / "archive").as_posix() for p in first + second)
    assert names == ["date=2018-04-01/part-20180401T235000000000.parquet",
                     "date=2018-04-02/part-20180402T000000000000.parquet",
                     "date=2018-04-02/part-20180402T001500000000.parquet"]
    back = read_dataset(tmp_path / "archive")
    pd.testing.assert_frame_equal(back.frame, ds.frame, check_freq=False)
    assert back.sensors == ds.sensors
    again = write_archive(ds.between(idx[25], idx[26]), tmp_path / "archive")  # same first instant
    assert again[0].name == "part-20180402T001500000000-1.parquet"
