"""Pure preprocessing steps on a :class:`~pumpguard.data.schema.Dataset`.

Each step returns ``(new_dataset, report)``: the input is never changed, the report (a small
frozen dataclass) says what was done, and the same sentence is appended to the new dataset's
``notes``. Two helpers describe the sampling: :func:`infer_step` and :func:`find_gaps`.

Examples
--------
>>> import numpy as np
>>> idx = pd.DatetimeIndex(["2018-04-01 00:00", "2018-04-01 00:01", "2018-04-01 00:02",
...                         "2018-04-01 00:05"], tz="UTC", name="timestamp")
>>> infer_step(idx)
Timedelta('0 days 00:01:00')
>>> find_gaps(idx, "1min")
                      start                       end  missing_rows
0 2018-04-01 00:02:00+00:00 2018-04-01 00:05:00+00:00             2
>>> ds = Dataset.from_frame(pd.DataFrame({"p": [1.0, np.nan, np.nan, 4.0], "c": 7.0}, index=idx))
>>> ds2, report = drop_uninformative(ds)
>>> report.constant, ds2.sensor_ids
(['c'], ['p'])
>>> ds3, report = fill_gaps(ds2, 1)
>>> ds3.frame["p"].tolist(), report.filled
([1.0, 1.0, nan, 4.0], {'p': 1})
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from pumpguard.data.schema import INDEX_NAME, LABEL_COLUMNS, STATUS_COLUMN, STATUS_DTYPE, Dataset
from pumpguard.errors import ConfigError

#: Most severe last: a bucket holding any BROKEN minute is BROKEN.
STATUS_SEVERITY = ("NORMAL", "RECOVERING", "BROKEN")
AGGREGATIONS = ("mean", "median", "min", "max", "first", "last")
#: A step between rows longer than this many sampling steps is a gap (absorbs clock jitter).
GAP_FACTOR = 1.5


def _as_step(step, *, name: str = "step") -> pd.Timedelta:
    try:
        value = pd.Timedelta(step)
    except (ValueError, TypeError):
        raise ConfigError(f"{name} must be a time span like '1min' or pd.Timedelta(seconds=1), not {step!r}") from None
    if pd.isna(value) or value <= pd.Timedelta(0):
        raise ConfigError(f"{name} must be a positive time span, not {step!r}")
    return value


def infer_step(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The sampling step: the median time between consecutive rows (robust to a few gaps)."""
    if len(index) < 2:
        raise ConfigError(f"the sampling step needs at least two time stamps; this index has {len(index)}")
    diffs = np.diff(pd.DatetimeIndex(index).as_unit("ns").asi8)
    return pd.Timedelta(int(np.median(diffs)), unit="ns")


def find_gaps(index: pd.DatetimeIndex, step=None) -> pd.DataFrame:
    """Where rows are missing: one row per gap with ``start`` (last time stamp before it), ``end``
    (first time stamp after it) and ``missing_rows`` (how many rows of ``step`` would fill it).

    ``step`` defaults to :func:`infer_step`. A gap is a jump longer than ``GAP_FACTOR`` steps.
    """
    step = infer_step(index) if step is None else _as_step(step)
    index = pd.DatetimeIndex(index)
    if len(index) < 2:
        return pd.DataFrame({"start": index[:0], "end": index[:0], "missing_rows": np.array([], dtype="int64")})
    diffs = index[1:] - index[:-1]
    at = np.flatnonzero(diffs > GAP_FACTOR * step)
    missing = np.rint(diffs[at] / step).astype("int64") - 1
    return pd.DataFrame({"start": index[at], "end": index[at + 1], "missing_rows": missing})


@dataclass(frozen=True)
class DropReport:
    """What :func:`drop_uninformative` removed.

    >>> DropReport(constant=["sensor_03"], all_missing=["sensor_15"]).dropped
    ['sensor_15', 'sensor_03']
    """

    constant: list[str] = field(default_factory=list)
    all_missing: list[str] = field(default_factory=list)

    @property
    def dropped(self) -> list[str]:
        return self.all_missing + self.constant


def drop_uninformative(ds: Dataset) -> tuple[Dataset, DropReport]:
    """Remove sensor columns that cannot tell rows apart: entirely missing, or one value throughout."""
    values = ds.values
    empty = values.isna().all()
    same = (values.min() == values.max()) & ~empty  # min/max skip NaN; far cheaper than nunique on floats
    all_missing = [c for c in values.columns if empty[c]]
    constant = [c for c in values.columns if same[c]]
    report = DropReport(constant=constant, all_missing=all_missing)
    if not report.dropped:
        return ds.with_frame(ds.frame, note="drop_uninformative: every sensor varies; nothing dropped"), report
    parts = []
    if all_missing:
        parts.append(f"{len(all_missing)} without values ({', '.join(all_missing)})")
    if constant:
        parts.append(f"{len(constant)} constant ({', '.join(constant)})")
    note = "drop_uninformative: dropped " + " and ".join(parts)
    return ds.with_frame(ds.frame.drop(columns=report.dropped), note=note), report


@dataclass(frozen=True)
class FillReport:
    """What :func:`fill_gaps` filled: cells per sensor, and the limit used.

    >>> FillReport(limit=pd.Timedelta("5min"), filled={"sensor_00": 3}).filled["sensor_00"]
    3
    """

    limit: int | pd.Timedelta
    filled: dict[str, int] = field(default_factory=dict)
    still_missing: dict[str, int] = field(default_factory=dict)


def fill_gaps(ds: Dataset, limit: int | str | pd.Timedelta) -> tuple[Dataset, FillReport]:
    """Carry the last reading forward into missing sensor cells, for at most ``limit``.

    ``limit`` is a number of rows, or a time span (``"5min"``): a cell is filled only if the last
    reading is at most that long before it. Labels are never filled. Rows that are absent
    altogether are not created; call :func:`resample` first for a regular grid.
    """
    if isinstance(limit, (int, np.integer)) and not isinstance(limit, bool):
        if limit < 0:
            raise ConfigError(f"limit must be >= 0 rows, not {limit}")
        by_rows = True
        limit_value: int | pd.Timedelta = int(limit)
    else:
        by_rows = False
        limit_value = _as_step(limit, name="limit")
    values = ds.values
    missing = values.isna()
    if by_rows:
        new = values.ffill(limit=limit_value) if limit_value > 0 else values
    else:
        # microseconds since the first row: exact in float64 for 285 years, and NaN marks "no reading yet"
        stamps = ds.index.as_unit("us").asi8
        times = (stamps - (stamps[0] if len(stamps) else 0)).astype("float64")
        seen = pd.DataFrame(np.where(missing.to_numpy(), np.nan, times[:, None]), index=values.index,
                            columns=values.columns).ffill()
        limit_us = limit_value / pd.Timedelta(1, "us")
        recent = (times[:, None] - seen.to_numpy()) <= limit_us  # NaN (never seen) compares False
        new = values.ffill().where(~missing | recent)
    before, after = missing.sum(), new.isna().sum()
    filled = {c: int(before[c] - after[c]) for c in values.columns if before[c] > after[c]}
    still = {c: int(after[c]) for c in values.columns if after[c]}
    frame = ds.frame.copy()
    frame[list(values.columns)] = new
    report = FillReport(limit=limit_value, filled=filled, still_missing=still)
    how = f"{limit_value} row(s)" if by_rows else f"{limit_value}"
    note = (f"fill_gaps: carried readings forward for at most {how}: {sum(filled.values())} cell(s) filled "
            f"in {len(filled)} sensor(s), {sum(still.values())} still missing")
    return ds.with_frame(frame, note=note), report


@dataclass(frozen=True)
class ResampleReport:
    """What :func:`resample` did.

    >>> idx = pd.date_range("2018-04-01", periods=6, freq="min", tz="UTC", name="timestamp")
    >>> ds = Dataset.from_frame(pd.DataFrame({"p": [1.0, 2, 3, 4, 5, 6]}, index=idx))
    >>> resample(ds, "3min")[1]
    ResampleReport(step=Timedelta('0 days 00:03:00'), how='mean', rows_in=6, rows_out=2, empty_buckets=0)
    """

    step: pd.Timedelta
    how: str
    rows_in: int
    rows_out: int
    empty_buckets: int


def resample(ds: Dataset, step, how: str = "mean") -> tuple[Dataset, ResampleReport]:
    """Put rows into buckets of ``step`` (left-closed, labelled by their start).

    Sensors are aggregated by ``how`` (one of :data:`AGGREGATIONS`). ``machine_status`` takes the
    most severe status in the bucket (BROKEN > RECOVERING > NORMAL); ``anomaly`` and
    ``changepoint`` take the maximum, so a bucket holding one anomalous row is anomalous.
    Buckets that hold no row at all (the data has a gap there) are left out rather than given
    invented labels; :func:`find_gaps` lists them.
    """
    step = _as_step(step)
    if how not in AGGREGATIONS:
        raise ConfigError(f"how must be one of {', '.join(AGGREGATIONS)}, not {how!r}")
    frame = ds.frame
    bins = frame.resample(step, label="left", closed="left")
    counts = bins.size()
    out = getattr(frame[ds.sensor_ids].resample(step, label="left", closed="left"), how)()
    if STATUS_COLUMN in frame:
        status = frame[STATUS_COLUMN]
        severity = pd.Series(pd.Categorical(status.astype("object"), categories=STATUS_SEVERITY).codes,
                             index=frame.index, dtype="float64").replace(-1, np.nan)
        worst = severity.resample(step, label="left", closed="left").max()
        labels = pd.Categorical.from_codes(worst.fillna(-1).astype(int), categories=list(STATUS_SEVERITY))
        out[STATUS_COLUMN] = pd.Categorical(np.asarray(labels, dtype=object), dtype=STATUS_DTYPE)
    for c in ("anomaly", "changepoint"):
        if c in frame:
            out[c] = frame[c].resample(step, label="left", closed="left").max().fillna(0).astype("int8")
    keep = (counts > 0).to_numpy()
    out = out[keep]
    out = out[[c for c in ds.sensor_ids] + [c for c in LABEL_COLUMNS if c in out]]
    out.index = pd.DatetimeIndex(out.index, name=INDEX_NAME)
    report = ResampleReport(step=step, how=how, rows_in=len(frame), rows_out=len(out),
                            empty_buckets=int((~keep).sum()))
    note = (f"resample: {report.rows_in} rows -> {report.rows_out} buckets of {step} ({how} of sensors, "
            f"most severe status, max of 0/1 labels); {report.empty_buckets} empty bucket(s) left out")
    return ds.with_frame(out, note=note), report
