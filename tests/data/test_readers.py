"""read_dataset: the formats it accepts, and one test per kind of bad input."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pumpguard.data import (
    STATUS_DTYPE,
    Dataset,
    DataFileNotFoundError,
    DataQualityWarning,
    read_dataset,
    validate_dataset,
    write_parquet,
)
from pumpguard.data.diagnostics import RowLines
from pumpguard.data.formats import SKAB_SENSOR_COLUMNS, SKAB_TO_SI
from pumpguard.errors import ConfigError, DataFormatError



# --- formats ------------------------------------------------------------------------------------


def test_pump_csv_as_published(pump_csv):
    with pytest.warns(DataQualityWarning, match="sensor_15"):
        ds = read_dataset(pump_csv)
    validate_dataset(ds)
    assert ds.sensor_ids == ["sensor_00", "sensor_01"]
    assert list(ds.frame.columns) == ["sensor_00", "sensor_01", "machine_status"]
    assert ds.index.name == "timestamp" and str(ds.index.tz) == "UTC"
    assert ds.index[0] == pd.Timestamp("2018-04-01 00:00:00", tz="UTC")
    assert ds.frame["machine_status"].dtype == STATUS_DTYPE
    assert ds.status.tolist()[-2:] == ["BROKEN", "RECOVERING"]
    assert np.isnan(ds.frame["sensor_00"].iloc[2])
    assert ds.frame["sensor_01"].iloc[0] == pytest.approx(3.4)
    assert any("sensor_15" in n for n in ds.notes)
    assert any("taken as UTC" in n for n in ds.notes)
    assert ds.sensor("sensor_00").kind == "unknown"


@pytest.mark.parametrize("index_column", ["", "Unnamed: 0", None])
def test_pump_leading_index_column_is_optional(pump_text, write, index_column):
    path = write("p.csv", pump_text(index_column=index_column, sensors=("sensor_00", "sensor_01")))
    ds = read_dataset(path, kind="pump")
    assert ds.sensor_ids == ["sensor_00", "sensor_01"]
    assert len(ds) == 6


def test_pump_csv_gz(pump_text, write):
    ds = read_dataset(write("p.csv.gz", pump_text(sensors=("sensor_00",))))
    assert ds.sensor_ids == ["sensor_00"] and len(ds) == 6


def test_skab_valve_file(skab_valve):
    ds = read_dataset(skab_valve)
    validate_dataset(ds)
    raw = pd.read_csv(skab_valve, sep=";")
    assert ds.sensor_ids == list(SKAB_SENSOR_COLUMNS)
    assert len(ds) == len(raw)
    assert ds.frame["anomaly"].dtype == np.int8 and ds.frame["changepoint"].dtype == np.int8
    assert ds.frame["anomaly"].sum() == raw["anomaly"].sum() > 0
    for c in SKAB_SENSOR_COLUMNS:
        np.testing.assert_allclose(ds.frame[c].to_numpy(), raw[c].to_numpy() * SKAB_TO_SI[c])
    assert ds.sensor("Pressure").unit == "Pa" and ds.sensor("Pressure").kind == "pressure"
    assert ds.sensor("Volume Flow RateRMS").unit == "m^3/s"
    assert ds.sensor("Temperature").unit == "degC"
    assert ds.index[0] == pd.Timestamp(raw["datetime"].iloc[0], tz="UTC")


def test_skab_anomaly_free_has_no_labels_and_file_units(skab_free):
    ds = read_dataset(skab_free, units="file")
    raw = pd.read_csv(skab_free, sep=";")
    assert list(ds.frame.columns) == list(SKAB_SENSOR_COLUMNS)
    np.testing.assert_allclose(ds.frame["Pressure"].to_numpy(), raw["Pressure"].to_numpy())
    assert ds.sensor("Pressure").unit == "bar"
    assert any("as published" in n for n in ds.notes)


def test_generic_csv_detects_time_and_labels(write):
    text = ("event_time,pressure,flow,pump_id,alarm\n"
            "2024-01-01T00:00:00Z,3.1,0.02,P1,0\n"
            "2024-01-01T00:00:10Z,3.2,,P1,1\n"
            "2024-01-01T00:00:20Z,3.0,0.03,P1,0\n")
    ds = read_dataset(write("g.csv", text), label_column="alarm")
    assert ds.sensor_ids == ["pressure", "flow"]
    assert ds.frame["anomaly"].tolist() == [0, 1, 0]
    assert any("pump_id" in n for n in ds.notes)
    assert not any("taken as UTC" in n for n in ds.notes)  # the times say Z


def test_generic_time_column_found_by_its_values_and_statuses_by_name(write):
    text = ("when;p;state\n2024-01-01 00:00:00;1;normal\n2024-01-01 00:01:00;2;BROKEN\n")
    ds = read_dataset(write("g.csv", text))
    assert ds.sensor_ids == ["p"]
    assert ds.status.tolist() == ["NORMAL", "BROKEN"]


def test_generic_timestamp_column_given_and_converted_from_offset(write):
    text = "a,t,b\n1,2024-01-01 02:00:00+02:00,5\n2,2024-01-01 02:01:00+02:00,6\n"
    ds = read_dataset(write("g.csv", text), timestamp_column="t")
    assert ds.sensor_ids == ["a", "b"]
    assert ds.index[0] == pd.Timestamp("2024-01-01 00:00:00", tz="UTC")


def test_parquet_file_and_partitioned_directory(tmp_path, small_dataset):
    single = tmp_path / "one.parquet"
    write_parquet(small_dataset, single)
    ds = read_dataset(single)
    pd.testing.assert_frame_equal(ds.frame, small_dataset.frame, check_freq=False)
    # an archive partitioned by day, parts named out of time order
    archive = tmp_path / "archive"
    halves = [small_dataset.between(None, small_dataset.index[20]), small_dataset.between(small_dataset.index[20])]
    write_parquet(halves[1], archive / "date=2018-04-01" / "part-0.parquet")
    write_parquet(halves[0], archive / "date=2018-04-01" / "part-1.parquet")
    joined = read_dataset(archive)
    pd.testing.assert_frame_equal(joined.frame, small_dataset.frame, check_freq=False)
    assert [s.unit for s in joined.sensors] == ["Pa", "m^3/s"]
    assert not any("not in time order" in n for n in joined.notes)


def test_plain_parquet_directory_written_by_pandas(tmp_path):
    idx = pd.date_range("2024-01-01", periods=4, freq="s")
    for i in range(2):
        pd.DataFrame({"timestamp": idx[2 * i : 2 * i + 2], "level": [1.0, 2.0]}).to_parquet(tmp_path / f"{i}.parquet")
    ds = read_dataset(tmp_path)
    assert len(ds) == 4 and ds.sensor_ids == ["level"] and str(ds.index.tz) == "UTC"


def test_bad_parameters_are_config_errors(pump_csv):
    with pytest.raises(ConfigError, match="kind"):
        read_dataset(pump_csv, kind="excel")


# --- errors: one each ---------------------------------------------------------------------------


def _error(path, **kw) -> DataFormatError:
    with pytest.raises(DataFormatError) as info:
        read_dataset(path, **kw)
    return info.value


def test_file_not_found(tmp_path):
    err = _error(tmp_path / "nope.csv")
    assert isinstance(err, FileNotFoundError) and isinstance(err, DataFileNotFoundError)
    assert "nope.csv" in str(err)


def test_empty_file(write):
    err = _error(write("empty.csv", ""))
    assert "empty" in err.problem


def test_header_only(write):
    err = _error(write("h.csv", "timestamp,sensor_00,machine_status\n"))
    assert "no rows" in err.problem and err.line == 1


def test_semicolon_file_read_as_pump(write):
    err = _error(write("s.csv", "datetime;Current\n2020-01-01 00:00:00;1.0\n"), kind="pump")
    assert "delimiter" in err.problem and err.line == 1
    assert "kind='skab'" in err.hint


def test_one_column_file(write):
    err = _error(write("s.csv", "timestamp sensor_00\n2020-01-01 1.0\n"))
    assert "delimiter" in err.problem and "one column" in str(err.found)


def test_unparseable_timestamp(pump_text, write):
    text = pump_text(sensors=("sensor_00",)).replace("2018-04-01 00:03:00", "2018-04-01 25:03:00")
    err = _error(write("t.csv", text))
    assert err.line == 5 and err.column == "timestamp" and err.found == "2018-04-01 25:03:00"


def test_non_numeric_cell_names_line_and_column(pump_text, write):
    sensors = tuple(f"sensor_{i:02d}" for i in range(9))
    lines = pump_text(rows=1100, sensors=sensors).splitlines()
    cells = lines[1041].split(",")  # line 1042 of the file
    cells[1 + 1 + 7] = "n/a"  # index column, timestamp, then sensor_07
    lines[1041] = ",".join(cells)
    err = _error(write("sensor.csv", "\n".join(lines) + "\n"))
    assert str(err).startswith("")
    assert (err.line, err.column, err.found) == (1042, "sensor_07", "n/a")
    text = str(err)
    assert text.split(": ", 1)[0].endswith("sensor.csv line 1042, column 'sensor_07'")
    assert "found 'n/a', expected a number" in text


def test_unknown_status(pump_text, write):
    text = pump_text(sensors=("sensor_00",)).replace("BROKEN", "BROKE")
    err = _error(write("u.csv", text))
    assert (err.line, err.column, err.found) == (6, "machine_status", "BROKE")
    assert "NORMAL, BROKEN, RECOVERING" in err.expected


def test_conflicting_duplicate_timestamps_are_refused(pump_text, write):
    lines = pump_text(sensors=("sensor_00",)).splitlines()
    lines[4] = lines[4].replace("00:03:00", "00:01:00")  # line 5 repeats line 3's time, other values
    err = _error(write("d.csv", "\n".join(lines) + "\n"))
    assert err.line == 5 and "line 3" in err.problem


def test_exact_duplicate_rows_are_dropped_with_a_note(pump_text, write):
    lines = pump_text(index_column=None, sensors=("sensor_00",)).splitlines()
    lines.insert(3, lines[2])
    with pytest.warns(DataQualityWarning, match="repeated"):
        ds = read_dataset(write("d.csv", "\n".join(lines) + "\n"))
    assert len(ds) == 6 and ds.index.is_unique


def test_unsorted_rows_are_sorted_with_a_note(pump_text, write):
    lines = pump_text(sensors=("sensor_00",)).splitlines()
    lines[2], lines[3] = lines[3], lines[2]
    with pytest.warns(DataQualityWarning, match="not in time order"):
        ds = read_dataset(write("o.csv", "\n".join(lines) + "\n"))
    assert ds.index.is_monotonic_increasing
    assert any("line 4" in n and "sorted" in n for n in ds.notes)
    assert ds.frame["sensor_00"].iloc[1] == pytest.approx(2.41)


def test_entirely_empty_column_is_dropped_with_a_note(write):
    text = "timestamp,a,b\n2020-01-01 00:00:00,1,\n2020-01-01 00:00:01,2,\n"
    with pytest.warns(DataQualityWarning):
        ds = read_dataset(write("e.csv", text))
    assert ds.sensor_ids == ["a"] and any("b" in n and "no values" in n for n in ds.notes)


@pytest.mark.parametrize("kind", ["pump", "generic"])
def test_missing_timestamp_column(write, kind):
    err = _error(write("m.csv", "sensor_00,sensor_01\n1,2\n3,4\n"), kind=kind)
    assert "missing timestamp column" in err.problem


def test_row_with_too_many_fields(pump_text, write):
    lines = pump_text(sensors=("sensor_00",)).splitlines()
    lines[3] += ",extra"
    err = _error(write("x.csv", "\n".join(lines) + "\n"))
    assert err.line == 4 and "too many" in err.problem


def test_row_with_too_few_fields_after_a_blank_line(pump_text, write):
    lines = pump_text(sensors=("sensor_00",)).splitlines()
    lines.insert(2, "")
    lines[4] = lines[4].rsplit(",", 1)[0]
    err = _error(write("x.csv", "\n".join(lines) + "\n"))
    assert err.line == 5 and "too few" in err.problem


def test_decimal_comma_gets_a_hint(write):
    text = "datetime;Current\n2020-01-01 00:00:00;1,5\n"
    err = _error(write("c.csv", text), kind="skab")
    assert err.found == "1,5" and "decimal" in err.hint


def test_generic_non_numeric_cell(write):
    text = "ts,p\n" + "".join(f"2020-01-01 00:00:{i:02d},{i}\n" for i in range(9)) + "2020-01-01 00:00:09,error\n"
    err = _error(write("g.csv", text))
    assert (err.line, err.column, err.found) == (11, "p", "error")


def test_binary_label_out_of_range(write):
    err = _error(write("l.csv", "timestamp,p,anomaly\n2020-01-01,1,0\n2020-01-02,1,2\n"))
    assert err.column == "anomaly" and err.line == 3


def test_row_lines_maps_rows_past_blank_lines(write):
    path = write("r.csv", "a,b\n1,2\n\n\n3,4\n5,6\n")
    lines = RowLines(path, ",")
    assert [lines(0), lines(1), lines(2)] == [2, 5, 6]


# --- hardening ----------------------------------------------------------------------------------


def _long_integer_file(last: str) -> str:
    # more than pyarrow's 1 MB first block of integers, then one cell of another type
    stamps = pd.date_range("2020-01-01", periods=60_000, freq="s").strftime("%Y-%m-%d %H:%M:%S")
    body = "".join(f"{t},{i % 7}\n" for i, t in enumerate(stamps[:-1]))
    return "timestamp,count\n" + body + f"{stamps[-1]},{last}\n"


def test_generic_column_that_changes_type_after_the_first_block(write):
    ds = read_dataset(write("late.csv", _long_integer_file("2.5")))
    assert ds.frame["count"].iloc[-1] == 2.5 and len(ds) == 60_000
    err = _error(write("late_bad.csv", _long_integer_file("oops")))
    assert (err.line, err.column, err.found) == (60_001, "count", "oops")


def test_pump_file_read_as_generic_ignores_the_row_numbers(pump_text, write):
    ds = read_dataset(write("p.csv", pump_text(sensors=("sensor_00", "sensor_01"))), kind="generic")
    assert ds.sensor_ids == ["sensor_00", "sensor_01"]
    assert ds.status.tolist()[-1] == "RECOVERING"


def test_day_first_dates_are_refused_not_guessed(write):
    err = _error(write("d.csv", "timestamp,p\n01/04/2018 00:00,1\n02/04/2018 00:00,2\n"), timestamp_column="timestamp")
    assert err.found == "01/04/2018 00:00" and "ISO 8601" in err.hint


def test_spreadsheets_are_refused_with_a_hint(write):
    err = _error(write("book.xlsx", "PK"))
    assert "CSV" in err.hint


def test_windows_line_endings_and_byte_order_mark(pump_text, write):
    text = "\ufeff" + pump_text(sensors=("sensor_00",)).replace("\n", "\r\n")
    ds = read_dataset(write("w.csv", text))
    assert len(ds) == 6 and ds.sensor_ids == ["sensor_00"]
    bad = text.replace("BROKEN", "BORKEN")
    assert _error(write("w2.csv", bad)).line == 6


_cells = st.sampled_from(["", "1", "2.5", "-3e2", "n/a", "NaN", "NORMAL", "BROKEN", "x", "2018-04-01 00:00:00",
                          "2018-04-01 00:01:00", "2018-04-01T00:02:00Z", "0", '"a,b"', "true", "inf", " "])
_names = st.sampled_from(["", "timestamp", "sensor_00", "sensor_15", "machine_status", "anomaly", "datetime",
                          "Current", "ts", "p", "Unnamed: 0", "status"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(header=st.lists(_names, max_size=5), rows=st.lists(st.lists(_cells, max_size=5), max_size=6),
       sep=st.sampled_from([",", ";", "\t", " "]), kind=st.sampled_from(["auto", "pump", "skab", "generic"]))
def test_any_text_gives_a_dataset_or_one_data_format_error(tmp_path, header, rows, sep, kind):
    path = tmp_path / "fuzz.csv"
    path.write_text(sep.join(header) + "\n" + "".join(sep.join(r) + "\n" for r in rows))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        try:
            ds = read_dataset(path, kind=kind)
        except DataFormatError:
            return
    validate_dataset(ds)


def test_archive_parts_with_a_sensor_added_later(tmp_path):
    idx = pd.date_range("2024-01-01", periods=4, freq="h")
    pd.DataFrame({"timestamp": idx[:2], "a": [1.0, 2.0]}).to_parquet(tmp_path / "0.parquet")
    pd.DataFrame({"timestamp": idx[2:], "a": [3.0, 4.0], "b": [5, 6]}).to_parquet(tmp_path / "1.parquet")
    ds = read_dataset(tmp_path)
    assert ds.sensor_ids == ["a", "b"] and np.isnan(ds.frame["b"].iloc[0]) and ds.frame["b"].iloc[3] == 6.0
    assert any("same columns" in n for n in ds.notes)
    pd.DataFrame({"timestamp": idx[:1] - pd.Timedelta("1h"), "a": ["text"]}).to_parquet(tmp_path / "2.parquet")
    assert "different types" in _error(tmp_path).problem


def test_unreadable_parquet_empty_directory_and_broken_gzip(tmp_path):
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    assert "not a readable Parquet" in _error(tmp_path / "bad.parquet").problem
    (tmp_path / "empty").mkdir()
    assert "no Parquet files" in _error(tmp_path / "empty").problem
    (tmp_path / "x.csv.gz").write_bytes(b"timestamp,p\n")
    assert "cannot be read as text" in _error(tmp_path / "x.csv.gz").problem
    pd.DataFrame({"timestamp": pd.DatetimeIndex([]), "p": []}).to_parquet(tmp_path / "rows.parquet")
    assert "no rows" in _error(tmp_path / "rows.parquet").problem


def test_comma_file_read_as_skab(write):
    err = _error(write("c.csv", "datetime,Current\n2020-01-01 00:00:00,1.0\n"), kind="skab")
    assert "delimiter" in err.problem and "';'" in err.expected


def test_epoch_seconds_and_milliseconds_as_time(write):
    for scale, name in ((1, "s.csv"), (1000, "ms.csv")):
        text = f"ts,p\n{1522540800 * scale},1\n{1522540860 * scale},2\n"
        assert read_dataset(write(name, text)).index[1] == pd.Timestamp("2018-04-01 00:01:00", tz="UTC")


def test_validate_dataset_names_what_is_outside_the_contract(small_dataset):
    with pytest.raises(DataFormatError, match="not float"):
        validate_dataset(Dataset.from_frame(small_dataset.frame.assign(sensor_01=1)))
    with pytest.raises(DataFormatError, match="strictly increasing"):
        validate_dataset(Dataset.from_frame(small_dataset.frame.iloc[::-1]))
    with pytest.raises(DataFormatError, match="status categorical"):
        validate_dataset(Dataset.from_frame(small_dataset.frame.assign(machine_status="NORMAL")))


def test_label_column_in_a_known_format(write):
    text = "datetime;Current;fault\n2020-01-01 00:00:00;1.0;0\n2020-01-01 00:00:01;1.1;1\n"
    ds = read_dataset(write("s.csv", text), label_column="fault")
    assert ds.sensor_ids == ["Current"] and ds.frame["anomaly"].tolist() == [0, 1]
    assert "missing label column" in _error(write("s2.csv", text), label_column="alarm").problem


@pytest.mark.parametrize("text", [b"timestamp,Temp \xb0C\n2020-01-01 00:00:00,1.5\n",
                                  b"timestamp,p,note\n2020-01-01 00:00:00,1.5,ok\n2020-01-01 00:00:01,1.5,caf\xe9\n"])
def test_text_that_is_not_utf8(tmp_path, text):
    path = tmp_path / "latin1.csv"
    path.write_bytes(text)
    err = _error(path)
    assert "UTF-8" in err.problem and err.line == text.count(b"\n", 0, text.index(b"\xb0" if b"\xb0" in text else b"\xe9")) + 1


def test_semicolon_file_with_decimal_commas(write):
    text = "timestamp;sensor_00;machine_status\n2018-04-01 00:00:00;2,465394;NORMAL\n2018-04-01 00:01:00;;NORMAL\n"
    ds = read_dataset(write("eu.csv", text))
    assert ds.frame["sensor_00"].iloc[0] == pytest.approx(2.465394) and ds.status.tolist() == ["NORMAL"] * 2
    assert any("decimal comma" in n for n in ds.notes)


def test_missing_status_cells_stay_missing_with_a_note(pump_text, write):
    text = pump_text(sensors=("sensor_00",)).replace("BROKEN", "")
    ds = read_dataset(write("s.csv", text))
    assert ds.status.isna().sum() == 1 and any("1 row(s) have no machine_status" in n for n in ds.notes)
