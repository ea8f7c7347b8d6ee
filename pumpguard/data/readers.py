"""Read sensor data files into the one data contract (:class:`~pumpguard.data.schema.Dataset`).

:func:`read_dataset` reads the published pump-sensor CSV, SKAB CSV files, and generic tables
(CSV, ``.csv.gz``, Parquet, or a directory of Parquet files such as a day-partitioned archive).
It parses with pyarrow (fast) and, only when that fails, re-reads the file slowly to name the
exact line and column of the problem (:mod:`pumpguard.data.diagnostics`).

Examples
--------
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "pump.csv")
>>> _ = open(path, "w").write(
...     ",timestamp,sensor_00,sensor_15,machine_status\\n"
...     "0,2018-04-01 00:00:00,2.465394,,NORMAL\\n"
...     "1,2018-04-01 00:01:00,2.465394,,NORMAL\\n")
>>> import warnings; warnings.simplefilter("ignore")
>>> ds = read_dataset(path)
>>> ds.sensor_ids, ds.status.tolist(), str(ds.index.tz)
(['sensor_00'], ['NORMAL', 'NORMAL'], 'UTC')
>>> ds.notes[-1]
'dropped 1 column(s) with no values at all: sensor_15'
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv

from pumpguard.data import formats
from pumpguard.data.diagnostics import MISSING_TOKENS, RowLines, diagnose_csv, raise_not_utf8, read_head
from pumpguard.data.schema import LABEL_COLUMNS, STATUS_COLUMN, Dataset, Sensor
from pumpguard.data.tables import (
    PARQUET_SUFFIXES,
    frame_of,
    is_parquet,
    join_parquet_tables,
    read_parquet_table,
    table_to_dataset,
)
from pumpguard.data.validation import (
    DataFileNotFoundError,
    drop_empty_columns,
    is_status_column,
    note_missing_status,
    order_by_time,
    parse_binary_label,
    parse_status,
    parse_timestamps,
    text_has_zone,
)
from pumpguard.errors import ConfigError, DataFormatError

KINDS = ("auto", "pump", "skab", "generic")
UNITS = ("si", "file")
_SEPARATORS = (",", ";", "\t", "|")
_NOT_TABLES = (".xlsx", ".xls", ".xlsm", ".ods", ".json", ".zip", ".h5", ".hdf5", ".feather", ".pkl", ".pickle")


def read_dataset(
    path: str | Path,
    *,
    kind: str = "auto",
    timestamp_column: str | None = None,
    label_column: str | None = None,
    units: str = "si",
) -> Dataset:
    """Read a sensor data file (or a directory of Parquet files) into a :class:`Dataset`.

    Parameters
    ----------
    path:
        A ``.csv``, ``.csv.gz``, ``.parquet`` file or a directory of ``.parquet`` files (searched
        recursively, e.g. ``date=2018-04-01/part-0.parquet``); the files are joined in time order.
    kind:
        ``"pump"`` (published pump-sensor CSV), ``"skab"`` (SKAB CSV), ``"generic"``, or
        ``"auto"`` (the default) to tell them apart by extension, separator and header. Parquet
        files and directories are always read as generic tables (their columns carry types).
    timestamp_column:
        The time column of a generic file; by default the first column named like a time
        (``timestamp``, ``datetime``, ``date``, ``ts``, ``*_time``) or holding date-times.
    label_column:
        A generic file's label column: machine statuses become ``machine_status``, 0/1 values
        become ``anomaly``. Columns already named ``machine_status``/``anomaly``/``changepoint``
        are labels without being named here.
    units:
        ``"si"`` (default) converts SKAB's g, bar and L/min to m/s^2, Pa and m^3/s; ``"file"``
        keeps the values as published (the Sensor metadata then names those units).

    Raises
    ------
    DataFormatError
        With path, line (header = line 1), column, what was found and what was expected.
    """
    if kind not in KINDS:
        raise ConfigError(f"kind must be one of {', '.join(map(repr, KINDS))}, not {kind!r}")
    if units not in UNITS:
        raise ConfigError(f"units must be 'si' or 'file', not {units!r}")
    path = Path(path).expanduser()
    if not path.exists():
        raise DataFileNotFoundError("no such file or directory", path=path,
                                    hint="Check the path (a CSV, .csv.gz, Parquet file or a directory of Parquet files)")
    if path.is_dir():
        return _read_parquet_dir(path, timestamp_column=timestamp_column, label_column=label_column)
    if path.suffix.lower() in _NOT_TABLES:
        raise DataFormatError("this kind of file cannot be read", path=path, found=path.suffix,
                              expected="a .csv, .csv.gz or .parquet file, or a directory of .parquet files",
                              hint="Export the sheet or table as CSV")
    if is_parquet(path):
        table, meta = read_parquet_table(path)
        return table_to_dataset(frame_of(table), path=path, metas=[meta], timestamp_column=timestamp_column,
                                label_column=label_column)
    try:
        return _read_csv(path, kind=kind, timestamp_column=timestamp_column, label_column=label_column, units=units)
    except UnicodeDecodeError:
        raise_not_utf8(path)
        raise


def _read_parquet_dir(path: Path, *, timestamp_column, label_column) -> Dataset:
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.endswith(PARQUET_SUFFIXES))
    if not files:
        raise DataFormatError("the directory holds no Parquet files", path=path,
                              expected="files named *.parquet (in any sub-directory)",
                              hint="Point at a CSV/Parquet file, or at the archive's top directory")
    parts = [read_parquet_table(p) for p in files]
    frame, notes = join_parquet_tables(parts, path=path, timestamp_column=timestamp_column)
    return table_to_dataset(frame, path=path, metas=[m for _, m in parts], notes=notes,
                            timestamp_column=timestamp_column, label_column=label_column)


# --- CSV ---------------------------------------------------------------------------------------


def _read_csv(path: Path, *, kind: str, timestamp_column, label_column, units) -> Dataset:
    head = read_head(path)
    lines = head.splitlines()
    if not head.strip():
        raise DataFormatError("the file is empty", path=path, expected="a header line and rows of data",
                              hint="Check the export that wrote it")
    header_line = lines[0]
    sep = _sniff_separator(header_line)
    columns = next(csv.reader([header_line], delimiter=sep))
    if kind == "auto":
        kind = _detect_kind(columns, sep)
    if kind == "pump":
        want = ","
    elif kind == "skab":
        want = ";"
    else:
        want = sep
    if len(columns) < 2 or sep != want:
        _wrong_separator(path, header_line, columns, sep, want, kind)
    seen = set()
    for name in columns:
        if name in seen:
            raise DataFormatError("a column name appears twice in the header", path=path, line=1, column=name,
                                  expected="unique column names", hint="Rename one of them")
        seen.add(name)
    if not any(ln.strip() for ln in lines[1:]) and len(head) < 65536:
        raise DataFormatError("the file has a header but no rows of data", path=path, line=1,
                              found=header_line[:80], expected="at least one row after the header")
    if label_column is not None and label_column not in columns:
        raise DataFormatError("missing label column", path=path, line=1, column=label_column,
                              found=", ".join(columns[:8]), expected=f"a column named {label_column!r} in the header",
                              hint="Check the spelling (names are case-sensitive)")
    if kind == "pump":
        return _read_known_csv(path, sep, columns, ts=timestamp_column or formats.PUMP_TIMESTAMP,
                               metadata=lambda c: formats.pump_sensor(c), kind=kind, label_column=label_column)
    if kind == "skab":
        meta = (lambda c: formats.skab_sensor(c, si=units == "si") if c in formats.SKAB_TO_SI else Sensor(id=c))
        return _read_known_csv(path, sep, columns, ts=timestamp_column or formats.SKAB_TIMESTAMP,
                               metadata=meta, kind=kind, to_si=units == "si", label_column=label_column)
    return _read_generic_csv(path, sep, columns, timestamp_column=timestamp_column, label_column=label_column)


def _sniff_separator(header_line: str) -> str:
    counts = {s: header_line.count(s) for s in _SEPARATORS}
    best = max(_SEPARATORS, key=lambda s: counts[s])
    return best if counts[best] else ","


def _detect_kind(columns: list[str], sep: str) -> str:
    names = set(columns)
    if sep == "," and formats.PUMP_TIMESTAMP in names and (
        formats.PUMP_STATUS in names or any(formats.PUMP_SENSOR_PATTERN.match(c) for c in columns)
    ):
        return "pump"
    if sep == ";" and formats.SKAB_TIMESTAMP in names and names & set(formats.SKAB_SENSOR_COLUMNS):
        return "skab"
    return "generic"


def _wrong_separator(path, header_line, columns, sep, want, kind) -> None:
    if kind == "pump":
        guess = " (it looks like SKAB: read it with kind='skab' or kind='auto')" if ";" in header_line else ""
    elif kind == "skab":
        guess = " (read a ','-separated file with kind='pump', 'generic' or 'auto')" if "," in header_line else ""
    else:
        guess = ""
    if sep != want:
        found = f"a header separated by {sep!r}: {header_line[:70]!r}"
    else:
        found = f"one column {header_line[:70]!r}"
    raise DataFormatError(
        "wrong delimiter: the header does not split into columns", path=path, line=1, found=found,
        expected=f"columns separated by {want!r}" if kind in ("pump", "skab") else
        "a time column and at least one sensor column, separated by ',', ';', tab or '|'",
        hint="Check the separator" + guess,
    )


class _TypesVaryError(Exception):
    """pyarrow's type guess from the first block did not hold for a later one."""


def _fast_table(path: Path, sep: str, *, column_types=None, include=None, float_columns=(), retry=False) -> pa.Table:
    """pyarrow's CSV parser; when it refuses the file, find the exact line with the slow pass."""
    try:
        return pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter=sep),
            convert_options=pacsv.ConvertOptions(
                column_types=column_types or {}, include_columns=include, null_values=list(MISSING_TOKENS),
                strings_can_be_null=True, quoted_strings_can_be_null=True,
            ),
        )
    except pa.ArrowInvalid as exc:
        if "UTF8" in str(exc) or "UTF-8" in str(exc):
            raise_not_utf8(path)
        if retry and "conversion error" in str(exc):
            raise _TypesVaryError(str(exc)) from None
        diagnose_csv(path, sep=sep, float_columns=float_columns)
        raise DataFormatError("the CSV parser refused the file", path=path, found=str(exc).splitlines()[0][:200],
                              expected="a well-formed CSV table", hint="Open the file near the place named") from None
    except pa.ArrowException as exc:  # e.g. a header the two parsers split differently
        raise DataFormatError("the CSV parser refused the file", path=path, found=str(exc).splitlines()[0][:200],
                              expected="a well-formed CSV table", hint="Check the header line") from None


def _read_known_csv(path: Path, sep: str, columns: list[str], *, ts: str, metadata, kind: str,
                    to_si: bool = False, label_column: str | None = None) -> Dataset:
    if ts not in columns:
        raise DataFormatError(
            "missing timestamp column", path=path, line=1, found=", ".join(columns[:6]) + (" ..." if len(columns) > 6 else ""),
            expected=f"a column named {ts!r} ({kind} format)",
            hint="Name the time column with timestamp_column=, or read with kind='generic'",
        )
    skip = {ts}
    if columns and columns[0] in formats.INDEX_COLUMN_NAMES:
        skip.add(columns[0])  # row numbers written by pandas, not a measurement
    include = [c for c in columns if c not in skip or c == ts]
    labels = [c for c in include if c in LABEL_COLUMNS or c == label_column]
    sensors = [c for c in include if c != ts and c not in labels]
    types = {c: pa.float64() for c in sensors}
    types[ts] = pa.string()
    for c in labels:
        types[c] = pa.string()
    table = _fast_table(path, sep, column_types=types, include=include, float_columns=sensors)
    if table.num_rows == 0:
        raise DataFormatError("the file has a header but no rows of data", path=path, line=1,
                              expected="at least one row after the header")
    frame = table.to_pandas()
    del table
    row_lines = RowLines(path, sep, rows=len(frame))
    notes: list[str] = []
    index = parse_timestamps(frame[ts], column=ts, path=path, row_to_line=row_lines)
    out = frame[sensors].set_axis(index, axis=0)
    if to_si:
        converted = []
        for c in sensors:
            factor = formats.SKAB_TO_SI.get(c, 1.0)
            if factor != 1.0:
                out[c] = out[c] * factor
                converted.append(f"{c} {formats.SKAB_FILE_UNITS[c]}->{formats.SKAB_SENSORS[c].unit}")
        if converted:
            notes.append("converted to SI units: " + ", ".join(converted))
    elif kind == "skab":
        kept = [f"{c} {formats.SKAB_FILE_UNITS[c]}" for c in sensors if formats.SKAB_TO_SI.get(c, 1.0) != 1.0]
        if kept:
            notes.append("kept the units as published (units='file'): " + ", ".join(kept))
    for c in labels:
        target = c if c in LABEL_COLUMNS else (STATUS_COLUMN if is_status_column(frame[c]) else "anomaly")
        if target in out.columns or (target != c and target in labels):
            raise DataFormatError(f"the file already has a {target!r} column", path=path, line=1, column=c,
                                  expected=f"one source for {target!r}", hint="Leave out label_column=")
        parse = parse_status if target == STATUS_COLUMN else parse_binary_label
        out[target] = parse(frame[c], column=c, path=path, row_to_line=row_lines).array
        if target != c:
            notes.append(f"labels from column {c!r} read as {target!r}")
    if not text_has_zone(frame[ts]):
        notes.append(f"time stamps in {ts!r} carry no time zone; taken as UTC")
    return _finish(out, sensors, notes, path=path, row_to_line=row_lines, metadata=metadata)


def _finish(frame: pd.DataFrame, sensors: list[str], notes: list[str], *, path, row_to_line, metadata) -> Dataset:
    """Shared end of every reader: drop empty sensors, put rows in time order, attach metadata."""
    frame = drop_empty_columns(frame, sensors, notes, path=path)
    note_missing_status(frame, notes)
    frame = order_by_time(frame, notes, path=path, row_to_line=row_to_line)
    ids = [c for c in frame.columns if c not in LABEL_COLUMNS]
    return Dataset(frame=frame, sensors=tuple(metadata(c) for c in ids), source=str(path), notes=notes)


def _read_generic_csv(path: Path, sep: str, columns: list[str], *, timestamp_column, label_column) -> Dataset:
    for name, what in ((timestamp_column, "timestamp"), (label_column, "label")):
        if name is not None and name not in columns:
            raise DataFormatError(f"missing {what} column", path=path, line=1, column=name,
                                  found=", ".join(columns[:8]), expected=f"a column named {name!r} in the header",
                                  hint="Check the spelling (names are case-sensitive)")
    types = {timestamp_column: pa.string()} if timestamp_column else None
    try:
        table = _fast_table(path, sep, column_types=types, retry=True)
    except _TypesVaryError:
        # pyarrow guesses types from the first block; a column that changes type later (integers,
        # then '2.5' or a text cell) is read as text and judged cell by cell.
        table = _fast_table(path, sep, column_types={c: pa.string() for c in columns})
    if table.num_rows == 0:
        raise DataFormatError("the file has a header but no rows of data", path=path, line=1,
                              expected="at least one row after the header")
    return table_to_dataset(table.to_pandas(), path=path, timestamp_column=timestamp_column,
                            label_column=label_column, row_to_line=RowLines(path, sep, rows=table.num_rows), sep=sep)
