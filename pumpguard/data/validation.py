"""Checks that turn parsed columns into the data contract, or stop with one clear error.

Readers parse a file quickly; the functions here then decide what the values mean: time stamps
(naive ones are UTC), machine statuses, 0/1 labels, and the order of the rows. Each problem
raises :class:`~pumpguard.errors.DataFormatError` naming the file, the line (the header is
line 1), the column, what was found and what was expected. Problems pumpguard can repair
without guessing (rows out of time order, exact repeated rows, columns that are entirely empty)
are repaired, written into the dataset's notes and announced with a :class:`DataQualityWarning`.

Examples
--------
>>> ts = parse_timestamps(pd.Series(["2018-04-01 00:00:00", "2018-04-01 00:01:00"]), column="timestamp")
>>> ts.tz is not None, ts[1].isoformat()
(True, '2018-04-01T00:01:00+00:00')
>>> parse_status(pd.Series(["NORMAL", "BROKEN"]), column="machine_status").tolist()
['NORMAL', 'BROKEN']
"""

from __future__ import annotations

import os
import sys
import warnings
from typing import Callable

import numpy as np
import pandas as pd

from pumpguard.data.schema import INDEX_NAME, LABEL_COLUMNS, STATUS_COLUMN, STATUS_DTYPE, STATUS_VALUES, Dataset
from pumpguard.errors import DataFormatError

#: Resolution of every time index pumpguard builds (pandas' own default for date-times).
TIME_UNIT = "us"
INDEX_DTYPE = f"datetime64[{TIME_UNIT}, UTC]"

_THIS_PACKAGE = os.path.dirname(os.path.abspath(__file__)) + os.sep

#: Maps a 0-based data row to the 1-based line of the file it came from (``None``: no lines, e.g. Parquet).
RowToLine = Callable[[int], int] | None


class DataQualityWarning(UserWarning):
    """Reading repaired something in the data (sorted rows, dropped a column); the dataset's notes say what.

    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     warnings.warn("rows were not in time order; sorted by time", DataQualityWarning)
    >>> issubclass(caught[0].category, UserWarning)
    True
    """


class DataFileNotFoundError(DataFormatError, FileNotFoundError):
    """The path given to a reader does not exist (catch it as either error).

    >>> err = DataFileNotFoundError("no such file or directory", path="sensor.csv")
    >>> isinstance(err, FileNotFoundError), isinstance(err, DataFormatError), str(err)
    (True, True, 'sensor.csv: no such file or directory')
    """


def warn_quality(note: str, path=None) -> None:
    """Emit a :class:`DataQualityWarning` pointing at the caller's line outside ``pumpguard.data``."""
    level, frame = 2, sys._getframe(1)
    while frame is not None and frame.f_code.co_filename.startswith(_THIS_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(f"{path}: {note}" if path else note, DataQualityWarning, stacklevel=level)


def where(row: int | None, row_to_line: RowToLine) -> dict:
    """``line=`` for a file with lines, else the row number goes into the message by the caller."""
    if row is None or row_to_line is None:
        return {"line": None}
    return {"line": row_to_line(row)}


def _row_text(row: int, row_to_line: RowToLine) -> str:
    return "" if row_to_line is not None else f" (data row {row + 1})"


def parse_timestamps(values: pd.Series, *, column: str, path=None, row_to_line: RowToLine = None) -> pd.DatetimeIndex:
    """Text or date-time values -> UTC index named ``timestamp``; naive values are taken as UTC."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        parsed = values.dt.tz_convert("UTC")
    elif pd.api.types.is_datetime64_dtype(values.dtype):
        parsed = values.dt.tz_localize("UTC")
    elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        parsed = _parse_epoch(values, column=column, path=path)
    else:
        text = values.astype("str")
        parsed = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        # Only ISO 8601: '01/04/2018' could be January or April, and guessing would shift events silently.
        bad = parsed.isna().to_numpy() & values.notna().to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise DataFormatError(
                "a time stamp cannot be read" + _row_text(row, row_to_line),
                path=path, column=column, found=str(values.iloc[row]),
                expected="a date-time like '2018-04-01 00:00:00' (ISO 8601; naive times are UTC)",
                hint="Write times as ISO 8601, YYYY-MM-DD HH:MM:SS (optionally with a UTC offset), or fix the row",
                **where(row, row_to_line),
            )
    missing = parsed.isna().to_numpy()
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise DataFormatError(
            "a time stamp is empty" + _row_text(row, row_to_line),
            path=path, column=column, found="", expected="a date-time like '2018-04-01 00:00:00'",
            hint="Every row needs a time stamp; fill it in or delete the row",
            **where(row, row_to_line),
        )
    return pd.DatetimeIndex(parsed, name=INDEX_NAME).as_unit(TIME_UNIT)


def text_has_zone(values: pd.Series) -> bool:
    """True when the first time stamp written as text carries a zone (``Z``, ``+02:00``, ``-05:00``)."""
    present = values.dropna()
    if present.empty or not isinstance(present.iloc[0], str):
        return False
    text = present.iloc[0].strip()
    return text.endswith(("Z", "z")) or "+" in text[10:] or "-" in text[10:]


def _parse_epoch(values: pd.Series, *, column: str, path) -> pd.Series:
    """Numbers as a time stamp: seconds, ms, us or ns since 1970, told apart by their size."""
    finite = values.dropna()
    if finite.empty:
        return pd.to_datetime(values, utc=True)
    size = float(np.abs(finite).median())
    for unit, lo, hi in (("s", 1e8, 1e11), ("ms", 1e11, 1e14), ("us", 1e14, 1e17), ("ns", 1e17, 1e20)):
        if lo <= size < hi:
            try:
                return pd.to_datetime(values, unit=unit, utc=True)
            except (ValueError, OverflowError) as exc:  # OutOfBoundsDatetime is a ValueError
                raise DataFormatError("a time stamp is out of range", path=path, column=column, found=str(exc)[:120],
                                      expected=f"finite {unit} since 1970") from None
    raise DataFormatError(
        "the time stamp column holds numbers that are not seconds (or ms/us/ns) since 1970",
        path=path, column=column, found=str(finite.iloc[0]),
        expected="date-times like '2018-04-01 00:00:00' or epoch seconds after 1973",
        hint="Name the right column with timestamp_column=",
    )


def parse_status(values: pd.Series, *, column: str = STATUS_COLUMN, path=None, row_to_line: RowToLine = None) -> pd.Series:
    """Machine status text -> categorical ``STATUS_DTYPE``; empty cells stay missing, anything else is refused."""
    text = values.astype("str").str.strip().str.upper()
    present = (values.notna() & (text != "")).to_numpy()
    unknown = present & ~text.isin(STATUS_VALUES).to_numpy()
    if unknown.any():
        row = int(np.flatnonzero(unknown)[0])
        raise DataFormatError(
            "unknown machine status" + _row_text(row, row_to_line),
            path=path, column=column, found=str(values.iloc[row]),
            expected="one of " + ", ".join(STATUS_VALUES),
            hint="Correct the value, or read the column as a 0/1 label with kind='generic', label_column=",
            **where(row, row_to_line),
        )
    status = pd.Categorical(text.where(present), dtype=STATUS_DTYPE)
    return pd.Series(status, index=values.index, name=STATUS_COLUMN)


def is_status_column(values: pd.Series) -> bool:
    """True when every non-empty value is a machine status (any case)."""
    present = values.dropna()
    if present.empty or pd.api.types.is_numeric_dtype(present.dtype):
        return False
    return bool(present.astype("str").str.strip().str.upper().isin(STATUS_VALUES).all())


def parse_binary_label(values: pd.Series, *, column: str, path=None, row_to_line: RowToLine = None) -> pd.Series:
    """A 0/1 label (``anomaly``, ``changepoint``; also true/false) -> int8; anything else is refused."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.astype("int8").rename(column)
    numbers = pd.to_numeric(values, errors="coerce")
    if not pd.api.types.is_numeric_dtype(values.dtype):
        lowered = values.astype("str").str.strip().str.lower()
        numbers = numbers.mask(lowered == "true", 1.0).mask(lowered == "false", 0.0)
    bad = ~numbers.isin([0, 1]).to_numpy()
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        found = values.iloc[row]
        raise DataFormatError(
            ("a label is empty" if pd.isna(found) else "a label is not 0 or 1") + _row_text(row, row_to_line),
            path=path, column=column, found="" if pd.isna(found) else str(found), expected="0 or 1",
            hint="Labels mark each row as normal (0) or anomalous (1); fix the value",
            **where(row, row_to_line),
        )
    return numbers.astype("int8").rename(column)


def drop_empty_columns(frame: pd.DataFrame, columns: list[str], notes: list[str], *, path=None) -> pd.DataFrame:
    """Drop sensor columns with no value at all, saying so in ``notes`` (they carry no information)."""
    empty = [c for c in columns if frame[c].isna().all()]
    if empty:
        note = f"dropped {len(empty)} column(s) with no values at all: {', '.join(empty)}"
        notes.append(note)
        warn_quality(note, path)
        frame = frame.drop(columns=empty)
    if columns and len(empty) == len(columns):
        raise DataFormatError("no sensor column holds a value", path=path, found=", ".join(columns[:8]),
                              expected="at least one sensor column with a number in it",
                              hint="Check the separator and that the file holds readings")
    return frame


def note_missing_status(frame: pd.DataFrame, notes: list[str]) -> None:
    """Say how many rows carry no machine status (they stay missing; evaluation must skip them)."""
    if STATUS_COLUMN in frame:
        missing = int(frame[STATUS_COLUMN].isna().sum())
        note = f"{missing} row(s) have no {STATUS_COLUMN}; left missing"
        if missing and note not in notes:
            notes.append(note)


def order_by_time(frame: pd.DataFrame, notes: list[str], *, path=None, row_to_line: RowToLine = None) -> pd.DataFrame:
    """Refuse conflicting repeats, drop exact repeats (with a note), sort rows out of time order (with a note).

    ``frame`` has a UTC index; its rows are in file order, so the position of a row is its data row.
    """
    repeated = frame.index.duplicated(keep=False)
    if repeated.any():
        frame = _drop_exact_repeats(frame, repeated, notes, path=path, row_to_line=row_to_line)
    index = frame.index
    if not index.is_monotonic_increasing:
        back = np.flatnonzero(np.diff(index.asi8) < 0)
        first = int(back[0]) + 1
        at = f"line {row_to_line(first)}" if row_to_line else f"data row {first + 1}"
        frame = frame.iloc[np.argsort(index.asi8, kind="stable")]
        note = (f"rows were not in time order ({len(back)} step(s) back in time, the first at {at}, "
                f"{index[first]}); sorted by time")
        notes.append(note)
        warn_quality(note, path)
    return frame


def _drop_exact_repeats(frame, repeated, notes, *, path, row_to_line) -> pd.DataFrame:
    sub = frame[repeated]
    # Two rows with one time stamp are harmless only if they say the same thing.
    same = sub.groupby(level=0, sort=False, observed=True).nunique(dropna=False).le(1).all(axis=1)
    conflicting = same[~same]
    if len(conflicting):
        stamp = conflicting.index[0]
        first, second = (int(p) for p in np.flatnonzero(frame.index == stamp)[:2])
        if row_to_line is not None:
            place = {"line": row_to_line(second)}
            text = f"this row repeats the time stamp of line {row_to_line(first)} with different values"
        else:
            place, text = {}, f"data rows {first + 1} and {second + 1} share a time stamp but differ"
        raise DataFormatError(
            f"duplicate time stamp: {text}",
            path=path, column=INDEX_NAME, found=str(stamp), expected="one row per time stamp",
            hint="Remove one of the rows, or average them before reading",
            **place,
        )
    keep = ~frame.index.duplicated(keep="first")
    dropped = int((~keep).sum())
    note = f"dropped {dropped} row(s) that exactly repeated an earlier row (same time stamp, same values)"
    notes.append(note)
    warn_quality(note, path)
    return frame[keep]


def validate_dataset(ds: Dataset) -> Dataset:
    """Check ``ds`` follows the data contract; return it unchanged or raise :class:`DataFormatError`.

    Writers and the streaming archive call this so a bad table is caught where it is made.

    >>> idx = pd.date_range("2018-04-01", periods=2, freq="min", tz="UTC", name="timestamp")
    >>> validate_dataset(Dataset.from_frame(pd.DataFrame({"p": [1.0, 2.0]}, index=idx))).sensor_ids
    ['p']
    """
    frame, src = ds.frame, ds.source or None
    idx = frame.index
    if not isinstance(idx, pd.DatetimeIndex) or idx.tz is None or str(idx.tz) != "UTC":
        raise DataFormatError("the index is not a UTC time index", path=src, found=str(getattr(idx, "dtype", type(idx))),
                              expected="a DatetimeIndex in UTC named 'timestamp'",
                              hint="Build it with pumpguard.data.read_dataset or index.tz_localize('UTC')")
    if idx.name != INDEX_NAME:
        raise DataFormatError("the time index has the wrong name", path=src, found=idx.name, expected=repr(INDEX_NAME))
    if not idx.is_monotonic_increasing or idx.has_duplicates:
        raise DataFormatError("the time index is not strictly increasing", path=src,
                              expected="sorted, unique time stamps", hint="Sort and de-duplicate the rows")
    extra = [c for c in frame.columns if c not in LABEL_COLUMNS and c not in ds.sensor_ids]
    if extra:
        raise DataFormatError("columns without sensor metadata", path=src, found=extra,
                              expected="one Sensor per non-label column", hint="Build the Dataset with Dataset.from_frame")
    for c in ds.sensor_ids:
        if c not in frame.columns:
            raise DataFormatError("a sensor has no column", path=src, column=c, expected="one column per Sensor")
        if not pd.api.types.is_float_dtype(frame[c].dtype):
            raise DataFormatError("a sensor column is not float", path=src, column=c, found=str(frame[c].dtype),
                                  expected="float64", hint="Convert with .astype('float64')")
    if STATUS_COLUMN in frame and frame[STATUS_COLUMN].dtype != STATUS_DTYPE:
        raise DataFormatError("machine_status is not the status categorical", path=src, column=STATUS_COLUMN,
                              found=str(frame[STATUS_COLUMN].dtype), expected="pumpguard.data.STATUS_DTYPE")
    for c in ("anomaly", "changepoint"):
        if c in frame and not (pd.api.types.is_integer_dtype(frame[c].dtype) and frame[c].isin([0, 1]).all()):
            raise DataFormatError("a label column is not 0/1 integers", path=src, column=c,
                                  found=str(frame[c].dtype), expected="int8 values 0 or 1")
    return ds
