"""The slow, careful pass over a CSV file that finds the exact line and column of a problem.

Readers parse with pyarrow first (fast); only when that fails, or when a later check needs the
line a row came from, do they come here. Lines count from 1 and the header is line 1, as in a
text editor; blank lines are skipped as the fast parser skips them.

Examples
--------
>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "s.csv")
>>> _ = open(path, "w").write("timestamp,p\\n2018-04-01 00:00:00,1.5\\n\\n2018-04-01 00:01:00,n/a\\n")
>>> RowLines(path, ",")(1)
4
>>> try:
...     diagnose_csv(path, sep=",", float_columns=["p"])
... except Exception as err:
...     print(str(err).replace(os.path.dirname(path) + os.sep, ""))
s.csv line 4, column 'p': a cell is not a number: found 'n/a', expected a number (empty cells are missing values). Fix the cell or leave it empty
"""

from __future__ import annotations

import csv
import gzip
import io
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np
import pandas as pd

from pumpguard.errors import DataFormatError

#: Cells that mean "no value" in a numeric column (what pandas and pyarrow write for NaN).
MISSING_TOKENS = ("", "NaN", "nan", "NAN")
_CHUNK_ROWS = 50_000


def open_text(path: str | Path) -> io.TextIOBase:
    """Open a CSV (or ``.gz`` CSV) as text; a UTF-8 byte-order mark is skipped."""
    path = Path(path)
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", errors="replace", newline="")
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


def read_head(path: str | Path, chars: int = 65536) -> str:
    """The first ``chars`` characters of a text file (decompressed when ``.gz``)."""
    try:
        with open_text(path) as fh:
            return fh.read(chars)
    except (OSError, EOFError) as exc:  # gzip.BadGzipFile is an OSError
        raise DataFormatError("the file cannot be read as text", path=path, found=str(exc),
                              expected="a CSV file (optionally .gz)") from None


def _records(path: str | Path, sep: str) -> Iterator[tuple[int, list[str]]]:
    """``(first line, fields)`` of each non-blank record after the header."""
    with open_text(path) as fh:
        reader = csv.reader(fh, delimiter=sep)
        last = 0
        for fields in reader:
            start, last = last + 1, reader.line_num
            if start == 1:
                continue  # header
            if not fields or (len(fields) == 1 and fields[0] == ""):
                continue
            yield start, fields


class RowLines:
    """Maps a 0-based data row (as the fast parser numbers it) to its 1-based line in the file.

    The file is scanned once, the first time a line is asked for, so reading a clean file costs nothing.
    """

    def __init__(self, path: str | Path, sep: str):
        self.path, self.sep = path, sep
        self._lines: np.ndarray | None = None

    def __call__(self, row: int) -> int:
        if self._lines is None:
            self._lines = np.fromiter((start for start, _ in _records(self.path, self.sep)), dtype=np.int64)
        if 0 <= row < len(self._lines):
            return int(self._lines[row])
        return row + 2  # header + 1-based; only reached if the fast parser saw rows the scan did not


def _chunks(path, sep) -> Iterator[list[tuple[int, list[str]]]]:
    chunk: list[tuple[int, list[str]]] = []
    for record in _records(path, sep):
        chunk.append(record)
        if len(chunk) >= _CHUNK_ROWS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def diagnose_csv(
    path: str | Path,
    *,
    sep: str,
    float_columns: Iterable[str] = (),
) -> None:
    """Raise a :class:`DataFormatError` for the first malformed row or non-numeric cell; return if none.

    A malformed row has more or fewer fields than the header; a non-numeric cell is a cell of a
    ``float_columns`` column that is neither a number nor empty/NaN.
    """
    with open_text(path) as fh:
        header = next(csv.reader(fh, delimiter=sep), [])
    n_fields = len(header)
    wanted = [c for c in float_columns if c in header]
    positions = [header.index(c) for c in wanted]
    for chunk in _chunks(path, sep):
        counts = np.fromiter((len(f) for _, f in chunk), dtype=np.int64, count=len(chunk))
        wrong = np.flatnonzero(counts != n_fields)
        stop = int(wrong[0]) if len(wrong) else len(chunk)
        bad_cell = _first_bad_number(chunk[:stop], wanted, positions)
        if bad_cell is not None:
            row, column, found = bad_cell
            decimal_comma = "," in found and sep != "," and _is_number(found.replace(",", "."))
            raise DataFormatError(
                "a cell is not a number", path=path, line=chunk[row][0], column=column, found=found,
                expected="a number (empty cells are missing values)",
                hint=("the decimal mark must be '.'" if decimal_comma else "Fix the cell or leave it empty"),
            )
        if len(wrong):
            line, fields = chunk[stop]
            many = len(fields) > n_fields
            raise DataFormatError(
                f"malformed row: {'too many' if many else 'too few'} fields",
                path=path, line=line, found=f"{len(fields)} fields",
                expected=f"{n_fields} fields separated by {sep!r}, as in the header",
                hint=("a value may contain the separator; quote it" if many
                      else "fill the missing cells (empty is fine) or delete the row"),
            )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _first_bad_number(chunk, columns, positions) -> tuple[int, str, str] | None:
    """(row in chunk, column, cell) of the first non-numeric cell, by row then by column order."""
    if not chunk or not columns:
        return None
    best: tuple[int, int] | None = None  # (row, column rank)
    for rank, (name, pos) in enumerate(zip(columns, positions)):
        cells = pd.Series([f[pos] for _, f in chunk], dtype="object")
        stripped = cells.str.strip()
        numbers = pd.to_numeric(stripped, errors="coerce")
        bad = numbers.isna().to_numpy() & ~stripped.isin(MISSING_TOKENS).to_numpy()
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            if best is None or (row, rank) < best:
                best = (row, rank)
    if best is None:
        return None
    row, rank = best
    return row, columns[rank], chunk[row][1][positions[rank]]
