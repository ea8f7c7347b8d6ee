"""Exploratory data analysis: the numbers a first look at a sensor table needs, as a JSON-ready dict.

:func:`summarize` gives the head of the table, one summary per column (type, missing %, min, max,
mean, std), the row count, time span, sampling step and gaps, label counts, and the label events:
each BROKEN run with its start and length and how long the RECOVERING after it lasted (pump-sensor
data), or each run of ``anomaly == 1`` and the change points (SKAB). Figures live in
:mod:`pumpguard.data.eda_plots`, the HTML in :mod:`pumpguard.data.eda_report`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from threadpoolctl import threadpool_limits

from pumpguard.data.schema import STATUS_COLUMN, Dataset

from pumpguard.data.preprocessing import find_gaps, infer_step

#: How many of the most strongly correlated sensor pairs the summary lists.
TOP_PAIRS = 10


def _json_number(x) -> float | int | None:
    if x is None:
        return None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    x = float(x)
    return x if math.isfinite(x) else None


def _iso(t) -> str | None:
    return None if t is None or pd.isna(t) else pd.Timestamp(t).isoformat()


def human_duration(td: pd.Timedelta) -> str:
    """A duration the way people say it.

    >>> human_duration(pd.Timedelta("152 days 23:59:00")), human_duration(pd.Timedelta("1s")), human_duration(pd.Timedelta(0))
    ('152 d 23 h 59 min', '1 s', '0 s')
    """
    seconds = td.total_seconds()
    sign, seconds = ("-" if seconds < 0 else ""), abs(seconds)
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            parts.append(f"{int(seconds // size)} {unit}")
            seconds -= size * (seconds // size)
    if seconds or not parts:
        parts.append(f"{seconds:g} s")
    return sign + " ".join(parts)


def _duration(td: pd.Timedelta | None) -> dict | None:
    if td is None or pd.isna(td):
        return None
    return {"seconds": td.total_seconds(), "text": human_duration(td)}


def runs(values: np.ndarray) -> pd.DataFrame:
    """Runs of equal consecutive values: ``value``, ``first`` (row), ``rows``.

    >>> runs(np.array(["a", "a", "b", "a"])).to_dict("list")
    {'value': ['a', 'b', 'a'], 'first': [0, 2, 3], 'rows': [2, 1, 1]}
    """
    n = len(values)
    if n == 0:
        return pd.DataFrame({"value": [], "first": [], "rows": []})
    values = np.asarray(values, dtype=object)
    change = np.empty(n, dtype=bool)
    change[0] = True
    change[1:] = values[1:] != values[:-1]
    first = np.flatnonzero(change)
    rows = np.diff(np.append(first, n))
    return pd.DataFrame({"value": values[first].tolist(), "first": first.tolist(), "rows": rows.tolist()})


def _run_end(index: pd.DatetimeIndex, first: int, rows: int, step: pd.Timedelta | None) -> pd.Timestamp:
    """When a run ends: the next row's time, or one step after the last row at the end of the data."""
    after = first + rows
    if after < len(index):
        return index[after]
    return index[after - 1] + (step if step is not None else pd.Timedelta(0))


def failure_events(status: pd.Series, step: pd.Timedelta | None = None) -> pd.DataFrame:
    """Each BROKEN run: ``start``, ``broken_rows``, ``broken_duration``, then the RECOVERING right after it
    (``recovering_rows``, ``recovering_duration``; 0 if none) and ``normal_again`` (next non-RECOVERING row).

    Durations are times between rows (so a gap in the data counts), the last run ends one ``step``
    after its last row.

    >>> idx = pd.date_range("2018-04-01", periods=6, freq="min", tz="UTC")
    >>> s = pd.Series(["NORMAL", "BROKEN", "RECOVERING", "RECOVERING", "NORMAL", "NORMAL"], index=idx)
    >>> ev = failure_events(s, pd.Timedelta("1min"))
    >>> ev[["broken_rows", "recovering_rows"]].values.tolist(), str(ev.loc[0, "recovering_duration"])
    ([[1, 2]], '0 days 00:02:00')
    """
    index = status.index
    r = runs(status.astype(object).to_numpy())
    rows = []
    for i, run in enumerate(r.itertuples()):
        if run.value != "BROKEN":
            continue
        start = index[run.first]
        broken_end = _run_end(index, run.first, run.rows, step)
        rec_rows, rec_dur, normal_again = 0, pd.Timedelta(0), broken_end
        if i + 1 < len(r) and r.loc[i + 1, "value"] == "RECOVERING":
            nxt = r.loc[i + 1]
            rec_rows = int(nxt["rows"])
            normal_again = _run_end(index, int(nxt["first"]), rec_rows, step)
            rec_dur = normal_again - broken_end
        rows.append({"start": start, "broken_rows": int(run.rows), "broken_duration": broken_end - start,
                     "recovering_start": broken_end if rec_rows else pd.NaT, "recovering_rows": rec_rows,
                     "recovering_duration": rec_dur, "normal_again": normal_again})
    cols = ["start", "broken_rows", "broken_duration", "recovering_start", "recovering_rows",
            "recovering_duration", "normal_again"]
    return pd.DataFrame(rows, columns=cols)


def flag_events(flag: pd.Series, step: pd.Timedelta | None = None) -> pd.DataFrame:
    """Each run of a 0/1 label equal to 1 (SKAB ``anomaly``): ``start``, ``end`` (exclusive), ``rows``, ``duration``."""
    values = flag.fillna(0).to_numpy(dtype=float) > 0.5
    r = runs(values)
    rows = []
    for run in r.itertuples():
        if run.value:
            start = flag.index[run.first]
            end = _run_end(flag.index, run.first, run.rows, step)
            rows.append({"start": start, "end": end, "rows": int(run.rows), "duration": end - start})
    return pd.DataFrame(rows, columns=["start", "end", "rows", "duration"])


def column_summary(dataset: Dataset) -> list[dict]:
    """One dict per column: ``name``, ``type``, ``kind``, ``unit``, ``missing_pct``, ``min``, ``max``, ``mean``, ``std``."""
    frame = dataset.frame
    n = len(frame)
    out = []
    for sensor in dataset.sensors:
        # Column by column: a whole-table copy per statistic would double the memory on 220k x 52.
        x = frame[sensor.id].to_numpy(dtype=float, na_value=np.nan)
        v = x[np.isfinite(x)]
        out.append({
            "name": sensor.id, "type": str(frame[sensor.id].dtype), "kind": sensor.kind, "unit": sensor.unit,
            "missing_pct": _json_number(100.0 * (1 - len(v) / n) if n else 0.0),
            "min": _json_number(v.min()) if len(v) else None, "max": _json_number(v.max()) if len(v) else None,
            "mean": _json_number(v.mean()) if len(v) else None,
            "std": _json_number(v.std(ddof=1)) if len(v) > 1 else None,
        })
    for name in dataset.labels.columns:
        col = frame[name]
        numeric = pd.api.types.is_numeric_dtype(col)
        num = col.astype(float) if numeric else None
        out.append({
            "name": name, "type": str(col.dtype), "kind": "label", "unit": "",
            "missing_pct": _json_number(100.0 * col.isna().mean() if n else 0.0),
            "min": _json_number(num.min()) if numeric else None, "max": _json_number(num.max()) if numeric else None,
            "mean": _json_number(num.mean()) if numeric else None, "std": _json_number(num.std()) if numeric else None,
        })
    return out


def correlation(values: pd.DataFrame) -> pd.DataFrame:
    """Pearson correlation over pairwise-complete rows, as matrix products (fast on wide, long tables).

    Sensors with fewer than two readings or no variation get NaN.

    >>> df = pd.DataFrame({"a": [1.0, 2, 3, np.nan], "b": [2.0, 4, 6, 1], "c": [3.0, 2, 1, 0]})
    >>> correlation(df).round(3).loc["a"].tolist()
    [1.0, 1.0, -1.0]
    """
    # In place on one copy: the table can be 220k x 52 and the reader already holds it once.
    x = values.to_numpy(dtype=float, na_value=np.nan, copy=True)
    present = np.isfinite(x)
    x[~present] = 0.0
    mask = present.astype(float)
    x -= x.sum(axis=0) / np.maximum(mask.sum(axis=0), 1)  # centre each column: less cancellation
    x[~present] = 0.0
    del present
    # One BLAS thread: these products take well under a second alone, but many BLAS threads on a
    # busy machine spin against each other and take ten times longer.
    with threadpool_limits(limits=1, user_api="blas"):
        n = mask.T @ mask
        sx = x.T @ mask  # sx[i, j]: sum of x_i over rows where both i and j are present
        sxy = x.T @ x
        np.square(x, out=x)
        sxx = x.T @ mask
    with np.errstate(all="ignore"):
        cov = sxy - sx * sx.T / n
        var_i = sxx - sx * sx / n
        corr = cov / np.sqrt(var_i * var_i.T)
    corr[(n < 2) | ~np.isfinite(corr)] = np.nan
    corr = np.clip(corr, -1.0, 1.0)
    return pd.DataFrame(corr, index=values.columns, columns=values.columns)


def strongest_pairs(corr: pd.DataFrame, top: int = TOP_PAIRS) -> list[dict]:
    """The ``top`` sensor pairs with the largest absolute correlation."""
    m = corr.to_numpy()
    i, j = np.triu_indices(len(m), k=1)
    r = m[i, j]
    keep = np.isfinite(r)
    i, j, r = i[keep], j[keep], r[keep]
    order = np.argsort(-np.abs(r))[:top]
    return [{"a": corr.index[i[k]], "b": corr.columns[j[k]], "r": float(r[k])} for k in order]


def _time_summary(index: pd.DatetimeIndex) -> tuple[dict, pd.Timedelta | None]:
    if len(index) == 0:
        return {"start": None, "end": None, "span": None, "step": None, "gaps": [], "gap_count": 0,
                "missing_rows": 0}, None
    step = infer_step(index) if len(index) > 1 else None
    gaps = find_gaps(index, step) if step is not None else pd.DataFrame(columns=["start", "end", "missing_rows"])
    listed = [{"start": _iso(g.start), "end": _iso(g.end), "missing_rows": int(g.missing_rows)}
              for g in gaps.itertuples()]
    return {
        "start": _iso(index[0]), "end": _iso(index[-1]), "span": _duration(index[-1] - index[0]),
        "step": _duration(step), "gap_count": len(listed),
        "missing_rows": int(gaps["missing_rows"].sum()) if len(gaps) else 0, "gaps": listed,
    }, step


def _head(frame: pd.DataFrame, rows: int) -> dict:
    head = frame.head(rows)
    records = []
    for t, row in zip(head.index, head.itertuples(index=False)):
        records.append([_iso(t)] + [v if isinstance(v, str) else _json_number(v) if not pd.isna(v) else None
                                    for v in row])
    return {"columns": [frame.index.name or "index"] + [str(c) for c in frame.columns], "rows": records}


def summarize(dataset: Dataset, *, head_rows: int = 5, correlations: pd.DataFrame | None = None) -> dict:
    """Everything the EDA report states in numbers, as a JSON-ready dict.

    Keys: ``source``, ``notes``, ``rows``, ``sensor_count``, ``time`` (start, end, span, step, gaps),
    ``head``, ``columns``, ``labels`` (per label column: ``counts`` and ``events``), ``strongest_correlations``.

    >>> from pumpguard.data.synthetic import make_sample
    >>> s = summarize(make_sample(2, seed=3))
    >>> s["rows"], s["time"]["step"]["seconds"], len(s["labels"]["machine_status"]["events"])
    (2880, 60.0, 1)
    """
    frame = dataset.frame
    time, step = _time_summary(dataset.index)
    labels: dict[str, dict] = {}
    if STATUS_COLUMN in frame:
        counts = frame[STATUS_COLUMN].value_counts(dropna=False)
        ev = failure_events(frame[STATUS_COLUMN], step)
        labels[STATUS_COLUMN] = {
            "counts": {str(k): int(v) for k, v in counts.items()},
            "events": [{"start": _iso(e.start), "broken_rows": e.broken_rows,
                        "broken_duration": _duration(e.broken_duration),
                        "recovering_rows": e.recovering_rows,
                        "recovering_duration": _duration(e.recovering_duration),
                        "normal_again": _iso(e.normal_again)} for e in ev.itertuples()],
        }
    for name in ("anomaly", "changepoint"):
        if name in frame:
            col = frame[name]
            counts = col.value_counts(dropna=False).sort_index()
            entry = {"counts": {str(_json_number(k)) if not pd.isna(k) else "missing": int(v)
                                for k, v in counts.items()}}
            ev = flag_events(col, step)
            if name == "anomaly":
                entry["events"] = [{"start": _iso(e.start), "end": _iso(e.end), "rows": e.rows,
                                    "duration": _duration(e.duration)} for e in ev.itertuples()]
            else:
                entry["events"] = [{"at": _iso(e.start), "rows": e.rows} for e in ev.itertuples()]
            labels[name] = entry
    corr = correlations if correlations is not None else correlation(dataset.values)
    return {
        "source": dataset.source,
        "notes": list(dataset.notes),
        "rows": len(frame),
        "sensor_count": len(dataset.sensor_ids),
        "time": time,
        "head": _head(frame, head_rows),
        "columns": column_summary(dataset),
        "labels": labels,
        "strongest_correlations": strongest_pairs(corr),
    }
