"""The EDA figures, rendered to PNG bytes (Agg, no screen) so a report can embed them.

Colours: the Okabe-Ito colour-blind-safe palette. Status colours are the same in every figure:
NORMAL bluish green, RECOVERING orange, BROKEN vermillion (red). Sensor lines use blue, sky blue,
reddish purple and black, so they never read as a status.

Long series are drawn from equal buckets (:func:`bucket_reduce`): at most ``max_points`` points per
series, each the mean of its bucket; label step lines keep the worst state of each bucket, so a
one-minute BROKEN stays visible. Captions say how many rows a bucket holds.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from pumpguard.data.schema import STATUS_COLUMN, Dataset

STATUS_COLOURS = {"NORMAL": "#009E73", "RECOVERING": "#E69F00", "BROKEN": "#D55E00"}
#: Where each status sits on the normalised 0..1 axis of the time-series panels.
STATUS_LEVEL = {"NORMAL": 1.0, "RECOVERING": 0.5, "BROKEN": 0.0}
SENSOR_COLOURS = ("#0072B2", "#56B4E9", "#CC79A7", "#000000")
NEUTRAL = "#7F7F7F"
DPI = 90
SENSORS_PER_PANEL = 4
#: More spans than this in one panel would be unreadable; the step line still shows them all.
MAX_SPANS = 300


@dataclass(frozen=True)
class FigurePNG:
    """One rendered figure: where it goes in the report, its words, and the PNG bytes.

    >>> from pumpguard.data.synthetic import make_sample
    >>> fig = label_counts_figure(make_sample(1, seed=0, step_seconds=600))
    >>> fig.section, fig.png[:4]
    ('labels', b'\x89PNG')
    """

    section: str
    title: str
    caption: str
    png: bytes


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def bucket_reduce(times: np.ndarray, values: np.ndarray, max_points: int,
                  how: str = "mean") -> tuple[np.ndarray, np.ndarray]:
    """Reduce rows (``values`` is rows x series) to at most ``max_points`` equal buckets, NaN-aware.

    ``how="mean"`` gives each bucket's mean at its middle time; ``"min"``/``"max"`` give the bucket's
    extreme at its first time (for step lines: a one-row BROKEN is never averaged away).

    >>> t = np.arange(10.0); v = np.arange(10.0)[:, None]
    >>> bucket_reduce(t, v, 2)[1][:, 0].tolist(), bucket_reduce(t, v, 2, "min")[1][:, 0].tolist()
    ([2.0, 7.0], [0.0, 5.0])
    """
    n = len(times)
    if n <= max_points:
        return times, values
    size = int(np.ceil(n / max_points))
    buckets = int(np.ceil(n / size))
    pad = buckets * size - n
    v = np.concatenate([values, np.full((pad, values.shape[1]), np.nan)]) if pad else values
    v = v.reshape(buckets, size, values.shape[1])
    if how == "mean":
        ok = np.isfinite(v)
        count = ok.sum(axis=1)
        with np.errstate(all="ignore"):
            out = np.where(ok, v, 0.0).sum(axis=1) / count
        mid = np.minimum(np.arange(buckets) * size + size // 2, n - 1)
        return times[mid], np.where(count > 0, out, np.nan)
    reduce = {"min": np.fmin, "max": np.fmax}[how]
    return times[::size][:buckets], reduce.reduce(v, axis=1)


def _time_axis(ax) -> None:
    loc = AutoDateLocator(minticks=4, maxticks=8)
    ax.xaxis.set_major_locator(loc)
    ax.xaxis.set_major_formatter(ConciseDateFormatter(loc))


def _times(index: pd.DatetimeIndex) -> np.ndarray:
    return date2num(index.tz_convert("UTC").tz_localize(None).to_numpy()) if len(index) else np.array([])


def label_counts_figure(dataset: Dataset) -> FigurePNG | None:
    """Bar chart of ``machine_status`` (or ``anomaly``/``changepoint``) counts, log scale, counts printed."""
    frame = dataset.frame
    panels = []
    if not len(frame):
        return None
    if STATUS_COLUMN in frame:
        counts = frame[STATUS_COLUMN].value_counts()
        names = [s for s in STATUS_COLOURS if s in counts.index] + [s for s in counts.index if s not in STATUS_COLOURS]
        panels.append((STATUS_COLUMN, names, [int(counts[s]) for s in names],
                       [STATUS_COLOURS.get(s, NEUTRAL) for s in names]))
    for name in ("anomaly", "changepoint"):
        if name in frame:
            counts = frame[name].fillna(-1).astype(float).value_counts()
            keys = sorted(counts.index)
            labels = ["missing" if k < 0 else f"{k:g}" for k in keys]
            colours = [NEUTRAL if k < 0 else STATUS_COLOURS["BROKEN"] if k > 0 else STATUS_COLOURS["NORMAL"] for k in keys]
            panels.append((name, labels, [int(counts[k]) for k in keys], colours))
    if not panels:
        return None
    fig = Figure(figsize=(3.6 * len(panels) + 0.6, 3.4), layout="constrained")
    for k, (name, labels, values, colours) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), k + 1)
        bars = ax.bar(labels, values, color=colours)
        ax.set_yscale("log")
        ax.set_ylim(0.5, max(max(values), 1) * 6)
        ax.bar_label(bars, labels=[f"{v:,}" for v in values], fontsize=8, padding=2)
        ax.set_title(name, fontsize=10)
        ax.set_ylabel("rows (log scale)", fontsize=9)
        ax.tick_params(labelsize=8)
        ax.grid(axis="y", alpha=0.3)
    return FigurePNG("labels", "Label counts", "Rows per label value; log scale so short states stay visible.",
                     _png(fig))


def _status_overlay(ax, dataset: Dataset, t: np.ndarray, max_points: int) -> list[str]:
    """Draw the labels over a normalised panel; returns legend notes."""
    frame = dataset.frame
    notes = []
    if STATUS_COLUMN in frame:
        level = frame[STATUS_COLUMN].astype(object).map(STATUS_LEVEL).to_numpy(dtype=float)
        # The worst state in a bucket wins, so a one-minute BROKEN is never averaged away.
        tt, lv = bucket_reduce(t, level[:, None], max_points, "min")
        ax.step(tt, lv[:, 0], where="post", color=NEUTRAL, lw=1.6, zorder=5, label="status")
        codes = frame[STATUS_COLUMN].astype(object).to_numpy()
        for state in ("RECOVERING", "BROKEN"):
            _spans(ax, t, codes == state, STATUS_COLOURS[state], alpha=0.35 if state == "RECOVERING" else 0.7,
                   label=state)
        broken = codes == "BROKEN"
        starts = np.flatnonzero(broken & ~np.concatenate([[False], broken[:-1]]))[:MAX_SPANS]
        if len(starts):  # minutes of BROKEN are thinner than a pixel on a months-long axis
            ax.vlines(t[starts], 0, 1, colors=STATUS_COLOURS["BROKEN"], lw=1.2, zorder=6)
        notes.append("status as a grey step line (1 NORMAL, 0.5 RECOVERING, 0 BROKEN; the worst state in a "
                     "bucket is drawn); shading: orange RECOVERING, red BROKEN")
    if "anomaly" in frame:
        flag = frame["anomaly"].fillna(0).to_numpy(dtype=float)
        tt, fv = bucket_reduce(t, flag[:, None], max_points, "max")
        ax.step(tt, fv[:, 0], where="post", color=STATUS_COLOURS["BROKEN"], lw=1.0, zorder=5, label="anomaly")
        _spans(ax, t, flag > 0.5, STATUS_COLOURS["BROKEN"], alpha=0.12)
        notes.append("anomaly as a red step line (0/1) over light red shading")
    if "changepoint" in frame:
        cp = frame["changepoint"].fillna(0).to_numpy(dtype=float) > 0.5
        at = t[cp][:MAX_SPANS]
        if len(at):
            ax.vlines(at, 0, 1, colors=NEUTRAL, linestyles="--", lw=1.2, zorder=4, label="changepoint")
            notes.append("change points as dashed grey lines")
    return notes


def _spans(ax, t: np.ndarray, on: np.ndarray, colour: str, alpha: float, label: str | None = None) -> None:
    if not on.any():
        return
    edges = np.diff(np.concatenate([[0], on.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    step = np.median(np.diff(t)) if len(t) > 1 else 0.0
    for k, (a, b) in enumerate(list(zip(starts, ends))[:MAX_SPANS]):
        ax.axvspan(t[a], t[b - 1] + step, color=colour, alpha=alpha, lw=0, label=label if k == 0 else None)


def _legend_below(fig: Figure, ax) -> None:
    """Legend under the time axis, in as many rows as the names need; the figure grows to fit it."""
    handles, labels = ax.get_legend_handles_labels()
    # Fixed margins (inches): constrained layout would cost more than drawing the lines.
    entry = max(len(lb) for lb in labels) * 0.065 + 0.4  # inches per legend entry at 8 pt
    ncols = max(1, min(len(labels), int(7.6 // entry)))
    rows = -(-len(labels) // ncols)
    height = 2.75 + 0.2 * rows
    fig.set_size_inches(8.0, height)
    fig.subplots_adjust(left=0.08, right=0.98, top=1 - 0.3 / height, bottom=(0.6 + 0.2 * rows) / height)
    ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, -0.4 / (height - 0.9 - 0.2 * rows)),
              ncols=ncols, fontsize=8, frameon=False, handlelength=1.5, columnspacing=1.2)


def time_series_figures(dataset: Dataset, *, max_points: int = 5000, per_panel: int = SENSORS_PER_PANEL,
                        progress=None) -> list[FigurePNG]:
    """All sensors, min-max normalised to 0..1, ``per_panel`` to a panel, labels overlaid (as in the study)."""
    ids = dataset.sensor_ids
    if not ids or not len(dataset):
        return []
    t = _times(dataset.index)
    norm = dataset.values.to_numpy(dtype=float, na_value=np.nan, copy=True)
    lo, hi = np.fmin.reduce(norm, axis=0), np.fmax.reduce(norm, axis=0)  # NaN only for an empty column
    norm -= lo
    norm /= np.where(hi > lo, hi - lo, 1.0)
    tt, vv = bucket_reduce(t, norm, max_points, "mean")
    reduced = len(tt) < len(t)
    figures = []
    groups = [ids[k:k + per_panel] for k in range(0, len(ids), per_panel)]
    for g, group in enumerate(groups):
        # Fixed margins: constrained layout would cost more than drawing the lines.
        fig = Figure(figsize=(8.0, 3.2))
        ax = fig.add_subplot()
        for c, sid in enumerate(group):
            j = ids.index(sid)
            empty = np.isnan(lo[j])
            ax.plot(tt, vv[:, j], color=SENSOR_COLOURS[c % len(SENSOR_COLOURS)], lw=0.8,
                    label=f"{sid} (no data)" if empty else sid)
        notes = _status_overlay(ax, dataset, t, max_points)
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel("normalised (0-1)", fontsize=9)
        ax.grid(alpha=0.3)
        ax.tick_params(labelsize=8)
        _time_axis(ax)
        _legend_below(fig, ax)
        ax.set_title(f"{group[0]} .. {group[-1]}" if len(group) > 1 else group[0], fontsize=10)
        caption = "Each sensor scaled to its own min..max; " + ("; ".join(notes) or "no labels to overlay") + "."
        if reduced:
            caption += (f" Sensors drawn as the means of {len(tt):,} buckets of ~{len(t) / len(tt):,.0f} rows "
                        f"(of {len(t):,} rows).")
        figures.append(FigurePNG("series", f"Sensors {group[0]} .. {group[-1]}", caption, _png(fig)))
        if progress is not None:
            progress(f"time series {g + 1}/{len(groups)}")
    return figures


#: Sensors per histogram figure (8 x 8 small panels); more sensors make more figures.
HISTOGRAMS_PER_FIGURE = 64


def histogram_figures(dataset: Dataset, *, bins: int = 40, columns: int = 8) -> list[FigurePNG]:
    """A small histogram per sensor, 64 to a figure; BROKEN/RECOVERING rows drawn on top in orange."""
    ids = dataset.sensor_ids
    if not ids:
        return []
    values = dataset.values.to_numpy(dtype=float, na_value=np.nan)
    status = dataset.status
    abnormal = status.astype(object).isin(["BROKEN", "RECOVERING"]).to_numpy() if status is not None else None
    caption = f"{bins} bins per sensor over all rows" + (
        "; orange: rows whose status is BROKEN or RECOVERING." if abnormal is not None else ".")
    figures = []
    for first in range(0, len(ids), HISTOGRAMS_PER_FIGURE):
        chunk = ids[first:first + HISTOGRAMS_PER_FIGURE]
        rows = int(np.ceil(len(chunk) / columns))
        height = 1.25 * rows + 0.3
        fig = Figure(figsize=(1.45 * columns, height))
        fig.subplots_adjust(left=0.01, right=0.99, top=1 - 0.25 / height, bottom=0.2 / height,
                            hspace=0.55, wspace=0.12)
        for k, sid in enumerate(chunk):
            ax = fig.add_subplot(rows, columns, k + 1)
            x = values[:, first + k]
            ok = np.isfinite(x)
            ax.set_title(sid, fontsize=7, pad=2)
            ax.tick_params(labelsize=6, length=2, pad=1)
            ax.set_yticks([])
            if not ok.any():
                ax.text(0.5, 0.5, "no data", ha="center", va="center", fontsize=7, transform=ax.transAxes)
                ax.set_xticks([])
                continue
            counts, edges = np.histogram(x[ok], bins=bins)
            ax.stairs(counts, edges, fill=True, color=SENSOR_COLOURS[0], alpha=0.85)
            if abnormal is not None and (abnormal & ok).any():
                bad, _ = np.histogram(x[ok & abnormal], bins=edges)
                ax.stairs(bad, edges, fill=True, color=STATUS_COLOURS["RECOVERING"], alpha=0.9)
            ax.xaxis.set_major_locator(MaxNLocator(3))
        title = "Distributions" if len(ids) <= HISTOGRAMS_PER_FIGURE else f"Distributions {chunk[0]} .. {chunk[-1]}"
        figures.append(FigurePNG("distributions", title, caption, _png(fig)))
    return figures


def missing_map_figure(dataset: Dataset, *, buckets: int = 400) -> FigurePNG | None:
    """Fraction of missing readings per sensor (rows) and time bucket (columns)."""
    ids = dataset.sensor_ids
    n = len(dataset)
    if not ids or not n:
        return None
    miss = dataset.values.isna().to_numpy()
    size = int(np.ceil(n / min(buckets, n)))
    nb = int(np.ceil(n / size))
    pad = nb * size - n
    m = np.concatenate([miss, np.zeros((pad, len(ids)), bool)]) if pad else miss
    counts = m.reshape(nb, size, len(ids)).sum(axis=1).astype(float)
    counts[-1] *= size / max(size - pad, 1)
    frac = (counts / size).T
    t = _times(dataset.index)
    fig = Figure(figsize=(8.0, 1.0 + 0.13 * len(ids)), layout="constrained")
    ax = fig.add_subplot()
    im = ax.imshow(frac, aspect="auto", interpolation="nearest", cmap="Greys", vmin=0, vmax=1,
                   extent=(t[0], t[-1] if n > 1 else t[0] + 1, len(ids) - 0.5, -0.5))
    ax.set_yticks(range(len(ids)), ids, fontsize=6 if len(ids) > 20 else 8)
    ax.tick_params(axis="x", labelsize=8)
    _time_axis(ax)
    cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.01)
    cb.set_label("fraction missing", fontsize=8)
    cb.ax.tick_params(labelsize=7)
    share = 100 * miss.mean()
    caption = (f"Black: missing. Each column is a bucket of {size:,} rows. "
               + (f"{share:.2f} % of all readings are missing." if share else "No reading is missing."))
    return FigurePNG("missing", "Missing values", caption, _png(fig))


def correlation_figure(corr: pd.DataFrame) -> FigurePNG | None:
    """Heatmap of the sensor correlation matrix (blue negative, red positive, grey undefined)."""
    if corr.empty:
        return None
    k = len(corr)
    size = min(9.0, 2.0 + 0.13 * k) if k > 8 else 5.0
    fig = Figure(figsize=(size + 1.0, size), layout="constrained")
    ax = fig.add_subplot()
    data = np.ma.masked_invalid(corr.to_numpy())
    cmap = colormaps["RdBu_r"].with_extremes(bad="#DDDDDD")
    im = ax.imshow(data, cmap=cmap, vmin=-1, vmax=1, interpolation="nearest")
    fs = 6 if k > 20 else 8
    every = int(np.ceil(k / 60))  # past ~60 names the labels would overlap: name every n-th sensor
    ax.set_xticks(range(0, k, every), corr.columns[::every], rotation=90, fontsize=fs)
    ax.set_yticks(range(0, k, every), corr.index[::every], fontsize=fs)
    cb = fig.colorbar(im, ax=ax, fraction=0.04, pad=0.01)
    cb.set_label("Pearson r", fontsize=8)
    cb.ax.tick_params(labelsize=7)
    caption = "Pearson correlation over rows where both sensors have a reading; grey: undefined (empty or constant)."
    return FigurePNG("correlation", "Correlation", caption, _png(fig))
