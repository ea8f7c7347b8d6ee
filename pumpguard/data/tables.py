"""Generic tables -> the data contract: find the time column, the labels and the sensors.

Used for generic CSV files, Parquet files and directories of Parquet files. A Parquet file that
pumpguard wrote carries its sensor metadata and notes in the file's key-value metadata under
``pumpguard`` (:data:`PARQUET_METADATA_KEY`), so they survive a round trip.

Examples
--------
>>> frame = pd.DataFrame({"ts": ["2018-04-01 00:00:00", "2018-04-01 00:01:00"], "pressure": [1, 2],
...                       "alarm": [0, 1]})
>>> ds = table_to_dataset(frame, path="x.csv", label_column="alarm")
>>> ds.sensor_ids, ds.frame["anomaly"].tolist()
(['pressure'], [0, 1])
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from pumpguard.data import formats
from pumpguard.data.diagnostics import MISSING_TOKENS, diagnose_csv
from pumpguard.data.schema import LABEL_COLUMNS, STATUS_COLUMN, Dataset, Sensor
from pumpguard.data.validation import (
    RowToLine,
    drop_empty_columns,
    is_status_column,
    note_missing_status,
    order_by_time,
    parse_binary_label,
    parse_status,
    parse_timestamps,
    text_has_zone,
)
from pumpguard.errors import DataFormatError

PARQUET_SUFFIXES = (".parquet", ".pq")
PARQUET_METADATA_KEY = b"pumpguard"
_SNIFF_ROWS = 20


def is_parquet(path: Path) -> bool:
    if path.name.endswith(PARQUET_SUFFIXES):
        return True
    with open(path, "rb") as fh:
        return fh.read(4) == b"PAR1"


def read_parquet_table(path: Path) -> tuple[pa.Table, dict]:
    """One Parquet file -> (Arrow table, pumpguard metadata or ``{}``)."""
    try:
        table = pq.ParquetFile(path).read()
    except (pa.ArrowException, OSError) as exc:
        raise DataFormatError("the file is not a readable Parquet file", path=path, found=str(exc)[:200],
                              expected="a Parquet file", hint="Re-write it, or give the CSV instead") from None
    raw = (table.schema.metadata or {}).get(PARQUET_METADATA_KEY)
    try:
        meta = json.loads(raw) if raw else {}
    except ValueError:
        meta = {}  # damaged metadata costs the sensor descriptions, not the readings
    if not isinstance(meta, dict):
        meta = {}
    if not isinstance(meta.get("notes", []), list) or not isinstance(meta.get("sensors", []), list):
        meta = {}
    return table, meta


def frame_of(table: pa.Table) -> pd.DataFrame:
    """Arrow table -> DataFrame with the time as an ordinary column (pandas may have stored it as the index)."""
    frame = table.to_pandas()
    if not isinstance(frame.index, pd.RangeIndex):
        frame = frame.reset_index()
    return frame


def join_parquet_tables(parts: Sequence[tuple[pa.Table, dict]], *, path, timestamp_column: str | None):
    """Parts of an archive, in order of their first time stamp, as one DataFrame (plus a note)."""
    ts = _time_column(frame_of(parts[0][0].slice(0, _SNIFF_ROWS)), timestamp_column, path=path)
    starts = []
    for table, _ in parts:
        if ts not in table.column_names:
            raise DataFormatError("missing timestamp column in one part of the archive", path=path, column=ts,
                                  found=", ".join(table.column_names[:8]), expected=f"a column named {ts!r}")
        if table.num_rows:
            first = pd.Series([table.column(ts)[0].as_py()])
            starts.append(parse_timestamps(first, column=ts, path=path)[0])
        else:
            starts.append(pd.Timestamp.max.tz_localize("UTC"))
    order = sorted(range(len(parts)), key=lambda i: starts[i])
    notes = [f"joined {len(parts)} Parquet file(s) in time order"]
    if len({tuple(t.column_names) for t, _ in parts}) > 1:
        notes.append("the archive's parts do not all have the same columns; missing ones are empty there")
    try:
        joined = pa.concat_tables([parts[i][0] for i in order], promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise DataFormatError("the archive's parts have columns of different types", path=path,
                              found=str(exc)[:200], expected="one type per column in every part",
                              hint="Re-write the odd parts, or read them separately") from None
    return frame_of(joined), notes


def table_to_dataset(
    frame: pd.DataFrame,
    *,
    path,
    metas: Sequence[dict] = (),
    notes: Sequence[str] = (),
    timestamp_column: str | None = None,
    label_column: str | None = None,
    row_to_line: RowToLine = None,
    sep: str | None = None,
) -> Dataset:
    """Turn one table into a :class:`Dataset`.

    ``metas`` are pumpguard's Parquet metadata of the file(s) it came from (sensor descriptions
    and earlier notes); ``row_to_line``/``sep`` are given for CSV files so errors can name the line.
    """
    repeated = frame.columns[frame.columns.duplicated()]
    if len(repeated):
        raise DataFormatError("a column name appears twice", path=path, column=str(repeated[0]),
                              expected="unique column names", hint="Rename one of them")
    if len(frame) == 0:
        raise DataFormatError("the table has no rows", path=path, found=", ".join(map(str, frame.columns[:8])),
                              expected="at least one row of readings")
    ts = _time_column(frame, timestamp_column, path=path)
    kept: list[str] = []
    for meta in metas:
        kept.extend(n for n in meta.get("notes", []) if n not in kept)
    notes = kept + list(notes)
    if label_column is not None and label_column not in frame.columns:
        raise DataFormatError("missing label column", path=path, column=label_column,
                              found=", ".join(map(str, frame.columns[:8])), expected=f"a column named {label_column!r}")
    index = parse_timestamps(frame[ts], column=ts, path=path, row_to_line=row_to_line)
    out: dict[str, np.ndarray] = {}
    sensors: list[str] = []
    ignored: list[str] = []
    label_of = _label_targets(frame, ts, label_column, path=path, notes=notes)
    row_numbers = [c for c in frame.columns if c != ts and is_row_number_column(c)]
    for c in frame.columns:
        if c == ts or c in row_numbers:
            continue
        values = frame[c]
        if c in label_of:
            target = label_of[c]
            parse = parse_status if target == STATUS_COLUMN else parse_binary_label
            out[target] = parse(values, column=c, path=path, row_to_line=row_to_line).array
        elif _is_numeric(values):
            out[str(c)] = values.to_numpy(dtype="float64", na_value=np.nan)
            sensors.append(str(c))
        elif isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values.dtype):
            ignored.append(str(c))
        else:
            numbers = _numbers_in_text(values, c, path=path, row_to_line=row_to_line, sep=sep, notes=notes)
            if numbers is None:
                ignored.append(str(c))
            else:
                out[str(c)] = numbers
                sensors.append(str(c))
    if ignored:
        notes.append(f"ignored {len(ignored)} column(s) that are neither numbers nor labels: {', '.join(ignored)}")
    if not sensors:
        raise DataFormatError("no sensor columns", path=path, found=", ".join(map(str, frame.columns[:8])),
                              expected="at least one column of numbers besides the time stamp",
                              hint="Check the separator and that the values are numbers")
    result = pd.DataFrame(out, index=index)
    result = result[sensors + [c for c in LABEL_COLUMNS if c in result]]
    stamps = frame[ts]
    if not (isinstance(stamps.dtype, pd.DatetimeTZDtype) or _is_numeric(stamps) or text_has_zone(stamps)):
        notes.append(f"time stamps in {ts!r} carry no time zone; taken as UTC")
    result = drop_empty_columns(result, sensors, notes, path=path)
    note_missing_status(result, notes)
    result = order_by_time(result, notes, path=path, row_to_line=row_to_line)
    known = {}
    for meta in metas:
        for d in meta.get("sensors", []):
            if isinstance(d, dict) and isinstance(d.get("id"), str) and d["id"] not in known:
                known[d["id"]] = Sensor.from_dict(d)
    ids = [c for c in result.columns if c not in LABEL_COLUMNS]
    return Dataset(frame=result, sensors=tuple(known.get(c, Sensor(id=c)) for c in ids), source=str(path), notes=notes)


def is_row_number_column(name) -> bool:
    """The unnamed index column pandas writes (``""``, ``Unnamed: 0``): row numbers, not a measurement."""
    return str(name) == "" or bool(re.fullmatch(r"Unnamed: \d+", str(name)))


def _is_numeric(values: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(values.dtype) or pd.api.types.is_numeric_dtype(values.dtype):
        return True
    return bool(values.isna().all())  # an entirely empty column: a sensor with no data (dropped later, with a note)


def _time_column(frame: pd.DataFrame, given: str | None, *, path) -> str:
    if given is not None:
        if given not in frame.columns:
            raise DataFormatError("missing timestamp column", path=path, column=given,
                                  found=", ".join(map(str, frame.columns[:8])), expected=f"a column named {given!r}",
                                  hint="Check the spelling (names are case-sensitive)")
        return given
    for c in frame.columns:
        if formats.looks_like_time_name(str(c)) and not _is_label_name(c):
            return c
    for c in frame.columns:
        dtype = frame[c].dtype
        if isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype):
            return c
    for c in frame.columns:
        if _is_numeric(frame[c]):
            continue
        sample = frame[c].dropna().head(_SNIFF_ROWS).astype("str")
        if len(sample) and pd.to_datetime(sample, format="ISO8601", errors="coerce", utc=True).notna().all():
            return c
    raise DataFormatError(
        "missing timestamp column", path=path, found=", ".join(map(str, frame.columns[:8])),
        expected="a column named like 'timestamp', 'datetime', 'date', 'ts' or holding date-times",
        hint="Name it with timestamp_column= (pumpguard --timestamp-column)",
    )


def _is_label_name(name) -> bool:
    return name in LABEL_COLUMNS


def _label_targets(frame, ts, label_column, *, path, notes) -> dict[str, str]:
    """Source column -> label column it fills."""
    targets = {c: c for c in frame.columns if c in LABEL_COLUMNS and c != ts}
    if label_column is not None and label_column not in LABEL_COLUMNS:
        target = STATUS_COLUMN if is_status_column(frame[label_column]) else "anomaly"
        if target in targets:
            raise DataFormatError(f"the file already has a {target!r} column", path=path, column=label_column,
                                  expected=f"one source for {target!r}", hint="Leave out label_column=")
        targets[label_column] = target
        notes.append(f"labels from column {label_column!r} read as {target!r}")
    elif STATUS_COLUMN not in targets:
        for c in frame.columns:
            values = frame[c]
            if c != ts and c not in targets and not _is_numeric(values) and is_status_column(values):
                targets[c] = STATUS_COLUMN
                notes.append(f"column {c!r} holds machine statuses; read as {STATUS_COLUMN!r}")
                break
    return targets


def _numbers_in_text(values: pd.Series, column, *, path, row_to_line, sep, notes) -> np.ndarray | None:
    """A text column as numbers if every cell is a number or empty; ``None`` if it is text.

    A column that is mostly numbers with a few other cells is a sensor with bad cells: say which,
    rather than drop the sensor. In a ``;``-separated file a decimal comma (``2,46``) is the
    convention of the spreadsheet that wrote it, and is read as a decimal mark (with a note).
    """
    text = values.astype("str").str.strip().where(values.notna(), "")
    present = ~text.isin(MISSING_TOKENS)
    numbers = pd.to_numeric(text.where(present), errors="coerce")
    bad = (numbers.isna() & present).to_numpy()
    if not bad.any():
        return numbers.to_numpy(dtype="float64", na_value=np.nan)
    if sep == ";" and not text.where(present, "").str.contains(".", regex=False).any():
        comma = pd.to_numeric(text.where(present).str.replace(",", ".", regex=False), errors="coerce")
        if not (comma.isna() & present).any():
            note = "a decimal comma was read as the decimal mark"
            if note not in " ".join(notes):
                notes.append(f"{note} (';'-separated file)")
            return comma.to_numpy(dtype="float64", na_value=np.nan)
    if present.sum() == 0 or numbers.notna().sum() * 2 <= present.sum():
        return None
    if row_to_line is not None and sep is not None:
        diagnose_csv(path, sep=sep, float_columns=[column])
    row = int(np.flatnonzero(bad)[0])
    raise DataFormatError(
        "a cell is not a number" + ("" if row_to_line else f" (data row {row + 1})"), path=path, column=str(column),
        line=row_to_line(row) if row_to_line else None, found=str(values.iloc[row]),
        expected="a number (empty cells are missing values)", hint="Fix the cell or leave it empty",
    )
