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
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from pumpguard.errors import DataFormatError

#: Cells that mean "no value" in a numeric column (what pandas and pyarrow write for NaN).
MISSING_TOKENS = ("", "NaN", "nan", "NAN")


def open_text(path: str | Path) -> io.TextIOBase:
    """Open a CSV (or ``.gz`` CSV) as text; a UTF-8 byte-order mark is skipped."""
    path = Path(path)
    if path.name.endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


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

    The file is scanned once, the first time a line is asked for, so reading a clean file costs
    nothing; given ``rows`` (what the fast parser read) and one line per row, no scan is needed.

    >>> import tempfile, os
    >>> path = os.path.join(tempfile.mkdtemp(), "r.csv")
    >>> _ = open(path, "w").write("a,b\\n1,2\\n3,4\\n")
    >>> RowLines(path, ",", rows=2)(1)
    3
    """

    def __init__(self, path: str | Path, sep: str, rows: int | None = None):
        self.path, self.sep, self.rows = path, sep, rows
        self._lines: np.ndarray | None = None

    def __call__(self, row: int) -> int:
        if self._lines is None and self.rows is not None and _count_lines(self.path) == self.rows + 1:
            return row + 2  # one line per row and no blank lines: no need to parse
        if self._lines is None:
            self._lines = np.fromiter((start for start, _ in _records(self.path, self.sep)), dtype=np.int64)
        if 0 <= row < len(self._lines):
            return int(self._lines[row])
        return row + 2  # header + 1-based; only reached if the fast parser saw rows the scan did not


def _count_lines(path: str | Path) -> int:
    """Lines in the file (a last line without a newline counts)."""
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    count, last = 0, b"\n"
    with opener(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            count += block.count(b"\n")
            last = block[-1:]
    return count + (last != b"\n")


def diagnose_csv(
    path: str | Path,
    *,
    sep: str,
    float_columns: Iterable[str] = (),
) -> None:
    """Raise a :class:`DataFormatError` for the first malformed row or non-numeric cell; return if none.

    A malformed row has more or fewer fields than the header; a non-numeric cell is a cell of a
    ``float_columns`` column that is neither a number nor empty/NaN (as pyarrow's own parser judges).
    """
    with open_text(path) as fh:
        header = next(csv.reader(fh, delimiter=sep), [])
    try:
        table = pacsv.read_csv(
            path,
            parse_options=pacsv.ParseOptions(delimiter=sep),
            convert_options=pacsv.ConvertOptions(column_types={c: pa.string() for c in header},
                                                 null_values=list(MISSING_TOKENS), strings_can_be_null=True),
        )
    except pa.ArrowInvalid:
        _raise_malformed_row(path, sep, len(header))
        return
    bad: tuple[int, int, str] | None = None  # (row, column rank, cell)
    wanted = [c for c in float_columns if c in table.column_names]
    for rank, name in enumerate(wanted):
        column = table.column(name).combine_chunks()
        row = _first_unparsable(column)
        if row is not None and (bad is None or (row, rank) < bad[:2]):
            bad = (row, rank, column[row].as_py())
    if bad is None:
        return
    row, rank, found = bad
    decimal_comma = "," in found and sep != "," and _is_number(found.replace(",", "."))
    raise DataFormatError(
        "a cell is not a number", path=path, line=RowLines(path, sep, rows=table.num_rows)(row),
        column=wanted[rank], found=found, expected="a number (empty cells are missing values)",
        hint=("The decimal mark must be '.'" if decimal_comma else "Fix the cell or leave it empty"),
    )


def _first_unparsable(column: pa.Array) -> int | None:
    """Index of the first cell pyarrow cannot turn into a float, by halving (its own parser decides)."""
    def parses(part: pa.Array) -> bool:
        try:
            pc.cast(part, pa.float64())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return False
        return True

    if parses(column):
        return None
    lo, hi = 0, len(column)  # the first bad cell is in [lo, hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if parses(column.slice(lo, mid - lo)):
            lo = mid
        else:
            hi = mid
    return lo


def raise_not_utf8(path: str | Path) -> None:
    """Raise a :class:`DataFormatError` naming the first line that is not UTF-8 text."""
    path = Path(path)
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rb") as fh:
        for number, raw in enumerate(fh, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                snippet = raw[max(0, exc.start - 10): exc.end + 10].decode("utf-8", errors="replace")
                raise DataFormatError(
                    "the file is not UTF-8 text", path=path, line=number, found=snippet.strip(),
                    expected="UTF-8 text", hint="Save the file as UTF-8 (in a spreadsheet: 'CSV UTF-8')",
                ) from None
    raise DataFormatError("the file is not UTF-8 text", path=path, expected="UTF-8 text",
                          hint="Save the file as UTF-8 (in a spreadsheet: 'CSV UTF-8')")


def _raise_malformed_row(path, sep: str, n_fields: int) -> None:
    for line, fields in _records(path, sep):
        if len(fields) != n_fields:
            many = len(fields) > n_fields
            raise DataFormatError(
                f"malformed row: {'too many' if many else 'too few'} fields",
                path=path, line=line, found=f"{len(fields)} fields",
                expected=f"{n_fields} fields separated by {sep!r}, as in the header",
                hint=("A value may contain the separator; quote it" if many
                      else "Fill the missing cells (empty is fine) or delete the row"),
            )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
