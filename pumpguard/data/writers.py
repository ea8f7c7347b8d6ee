"""Write a :class:`~pumpguard.data.schema.Dataset` back to files pumpguard (and others) can read.

* :func:`write_csv` writes the pump-sensor layout: ``timestamp`` as ``YYYY-MM-DD HH:MM:SS``
  (naive, UTC; fractions of a second only when the index has them), the sensor columns, then
  ``machine_status`` and the other label columns present. Missing values are empty cells. A
  name ending in ``.gz`` is gzip-compressed. Sensor metadata cannot travel in a CSV.
* :func:`write_parquet` writes the same table with the time stamp as a UTC column and keeps the
  sensor metadata, source and notes in the file's metadata, so :func:`read_dataset` restores all of it.
* :func:`write_archive` adds a batch of rows to a day-partitioned Parquet archive
  (``date=YYYY-MM-DD/part-<first time stamp>.parquet``) that :func:`read_dataset` reads as one table.

Examples
--------
>>> import tempfile, os, numpy as np
>>> from pumpguard.data.readers import read_dataset
>>> idx = pd.date_range("2018-04-01", periods=3, freq="min", tz="UTC", name="timestamp")
>>> frame = pd.DataFrame({"sensor_00": [2.465394, np.nan, 2.44]}, index=idx)
>>> ds = Dataset.from_frame(frame, source="example")
>>> out = os.path.join(tempfile.mkdtemp(), "pump.csv")
>>> write_csv(ds, out)
>>> print(open(out).read())
timestamp,sensor_00
2018-04-01 00:00:00,2.465394
2018-04-01 00:01:00,
2018-04-01 00:02:00,2.44
>>> read_dataset(out).frame.equals(ds.frame)
True
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from pumpguard.data.schema import INDEX_NAME, LABEL_COLUMNS, STATUS_COLUMN, Dataset
from pumpguard.data.tables import PARQUET_METADATA_KEY
from pumpguard.data.validation import validate_dataset
from pumpguard.errors import DataFormatError

#: Version of the metadata pumpguard stores in Parquet files.
PARQUET_FORMAT_VERSION = 1


def _ordered_columns(ds: Dataset) -> list[str]:
    return ds.sensor_ids + [c for c in LABEL_COLUMNS if c in ds.frame.columns]


def _time_text(index: pd.DatetimeIndex) -> pa.Array:
    stamps = index.tz_convert("UTC").as_unit("us")
    array = pa.array(stamps)
    if (stamps.asi8 % 1_000_000 == 0).all():
        return pc.strftime(array.cast(pa.timestamp("s", "UTC")), format="%Y-%m-%d %H:%M:%S")
    return pc.strftime(array, format="%Y-%m-%d %H:%M:%S")  # Arrow adds the microseconds at this resolution


def _table(ds: Dataset) -> pa.Table:
    columns = _ordered_columns(ds)
    arrays = {}
    for c in columns:
        values = ds.frame[c]
        if c == STATUS_COLUMN:
            arrays[c] = pa.array(values.astype("object").where(values.notna(), None).tolist(), type=pa.string())
        elif c in LABEL_COLUMNS:
            arrays[c] = pa.array(values.to_numpy(dtype="int8"))
        else:
            arrays[c] = pa.array(values.to_numpy(dtype="float64"), from_pandas=True)
    return pa.table(arrays) if arrays else pa.table({})


def _open_for_writing(path: Path):
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if path.name.endswith(".gz"):
            return pa.CompressedOutputStream(str(path), "gzip")
        return pa.OSFile(str(path), "wb")
    except OSError as exc:
        raise DataFormatError("the file cannot be written", path=path, found=str(exc),
                              hint="Check the directory exists and is writable") from None


def write_csv(dataset: Dataset, path: str | Path) -> None:
    """Write ``dataset`` as a pump-sensor style CSV (``.csv.gz`` is compressed)."""
    validate_dataset(dataset)
    path = Path(path)
    table = _table(dataset)
    header = io.StringIO()
    csv.writer(header, lineterminator="\n").writerow([INDEX_NAME, *table.column_names])
    body = table.add_column(0, INDEX_NAME, _time_text(dataset.index))
    with _open_for_writing(path) as sink:
        sink.write(header.getvalue().encode("utf-8"))
        if body.num_rows:
            pacsv.write_csv(body, sink, pacsv.WriteOptions(include_header=False, quoting_style="none"))


def write_parquet(dataset: Dataset, path: str | Path) -> None:
    """Write ``dataset`` as Parquet, keeping sensor metadata, source and notes."""
    validate_dataset(dataset)
    path = Path(path)
    table = _table(dataset).add_column(0, INDEX_NAME, pa.array(dataset.index.tz_convert("UTC")))
    meta = {
        "format_version": PARQUET_FORMAT_VERSION,
        "source": dataset.source,
        "sensors": [s.to_dict() for s in dataset.sensors],
        "notes": list(dataset.notes),
    }
    table = table.replace_schema_metadata({PARQUET_METADATA_KEY: json.dumps(meta).encode("utf-8")})
    # Dictionary encoding only pays for the few status words; on float readings it costs 2-3x the time.
    dictionary = [STATUS_COLUMN] if STATUS_COLUMN in table.column_names else False
    with _open_for_writing(path) as sink:
        pq.write_table(table, sink, use_dictionary=dictionary)



def write_archive(dataset: Dataset, directory: str | Path) -> list[Path]:
    """Add ``dataset``'s rows to a Parquet archive partitioned by UTC day; return the files written.

    Each day's rows go to ``directory/date=YYYY-MM-DD/part-<first time stamp>.parquet``. Part names
    come from the data, so appending later batches never overwrites an earlier one and the names
    sort in time order; ``read_dataset(directory)`` joins them.
    """
    validate_dataset(dataset)
    directory = Path(directory)
    written: list[Path] = []
    if len(dataset) == 0:
        return written
    days = dataset.index.floor("D")
    for day in days.unique():
        rows = dataset.frame[days == day]
        stem = f"part-{rows.index[0]:%Y%m%dT%H%M%S%f}"
        target = directory / f"date={day:%Y-%m-%d}" / f"{stem}.parquet"
        n = 1
        while target.exists():  # a second batch starting at the same instant
            target = target.with_name(f"{stem}-{n}.parquet")
            n += 1
        write_parquet(replace(dataset, frame=rows), target)
        written.append(target)
    return written
