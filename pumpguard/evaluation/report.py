"""The assessment as one offline HTML page: tables plus a score-over-time plot, images embedded.

No CDN, no script, no external file: the page opens from a USB stick on a control-room PC.
:func:`score_timeline_png` draws with matplotlib's Agg canvas (no screen needed) and thins long series
to about 5,000 points by keeping each bucket's minimum and maximum, so a one-minute spike stays visible.
"""

from __future__ import annotations

import base64
import html
import io

import numpy as np
import pandas as pd

from pumpguard.data import STATUS_COLUMN
from pumpguard.data.html_table import html_table as _table
from pumpguard.evaluation.events import events_from_labels

_STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ccc;padding:.25rem .6rem;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}.muted{color:#666;font-size:.9rem}
.caught{color:#1a7f37}.late{color:#9a6700}.missed{color:#cf222e}img{max-width:100%}
"""


def _fmt(x, digits=3) -> str:
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, (int, np.integer)):
        return f"{int(x):,}"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return html.escape(str(x))


def duration_text(seconds: float | None) -> str:
    """``5400`` -> ``"1 h 30 min"``; ``None`` -> ``"—"``.

    Examples
    --------
    >>> duration_text(5400), duration_text(42), duration_text(-60), duration_text(None)
    ('1 h 30 min', '42 s', '-1 min', '—')
    """
    if seconds is None:
        return "—"
    if seconds < 0:  # an alarm just before a fault's start (the pre-start tolerance)
        return "-" + duration_text(-seconds)
    s = int(round(seconds))
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    if h:
        return f"{h} h {m} min" if m else f"{h} h"
    if m:
        return f"{m} min {sec} s" if sec else f"{m} min"
    return f"{sec} s"


def _thin(index: pd.DatetimeIndex, values: np.ndarray, max_points: int):
    """Per-bucket (time, min, max) with about ``max_points`` points in all."""
    n = len(values)
    buckets = max(1, max_points // 2)
    if n <= max_points:
        return index, values, values
    size = int(np.ceil(n / buckets))
    pad = (-n) % size
    v = np.concatenate([values, np.full(pad, np.nan)]).reshape(-1, size)
    with np.errstate(all="ignore"):
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, hi = np.nanmin(v, axis=1), np.nanmax(v, axis=1)
    return index[::size], lo, hi


def score_timeline_png(
    scores: pd.Series,
    labels: pd.DataFrame,
    *,
    threshold: float | None,
    horizon=None,
    title: str = "",
    max_points: int = 5000,
) -> bytes:
    """PNG of the score against the threshold over time, with the truth shaded behind it."""
    from matplotlib.figure import Figure
    from matplotlib.patches import Patch

    fig = Figure(figsize=(11, 4.2), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    values = scores.to_numpy(dtype=float, na_value=np.nan)
    t, lo, hi = _thin(scores.index, values, max_points)
    ax.fill_between(t, lo, hi, color="#4c72b0", alpha=0.35, linewidth=0, step="post")
    thinned = len(values) > max_points
    ax.plot(t, hi, color="#4c72b0", linewidth=0.7,
            label=f"score (max of each {len(values) // len(t)} rows)" if thinned else "score")
    handles = [ax.lines[0]]
    finite = values[np.isfinite(values)]
    if threshold is not None and np.isfinite(threshold):
        handles.append(ax.axhline(threshold, color="#cf222e", linewidth=1.1, linestyle="--", label="threshold"))
    if finite.size and finite.min() > 0 and threshold and finite.max() / max(threshold, 1e-300) > 50:
        ax.set_yscale("log")  # a stopped pump scores orders of magnitude above normal running
    events = events_from_labels(labels)
    kind = STATUS_COLUMN if STATUS_COLUMN in labels else ("anomaly" if "anomaly" in labels else None)
    down = "BROKEN / RECOVERING" if kind == STATUS_COLUMN else "anomaly"
    for ev in events:
        ax.axvspan(ev.start, ev.last, color="#cf222e", alpha=0.18, linewidth=0)
        if horizon is not None and pd.Timedelta(horizon) > pd.Timedelta(0):
            ax.axvspan(ev.start - pd.Timedelta(horizon), ev.start, color="#d4a72c", alpha=0.15, linewidth=0)
    if events:
        handles.append(Patch(color="#cf222e", alpha=0.3, label=down))
        if horizon is not None and pd.Timedelta(horizon) > pd.Timedelta(0):
            handles.append(Patch(color="#d4a72c", alpha=0.3, label=f"look-back window ({duration_text(pd.Timedelta(horizon).total_seconds())})"))
    ax.set_xlabel("time (UTC)")
    ax.set_ylabel("anomaly score")
    if title:
        ax.set_title(title, fontsize=11)
    ax.legend(handles=handles, loc="upper left", fontsize=8, framealpha=0.85)
    ax.grid(True, alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _confusion_html(cm: dict, title_truth: str) -> str:
    labels = cm["labels"]
    rows = [[html.escape(lab)] + [_fmt(c) for c in row] for lab, row in zip(labels, cm["counts"])]
    matrix = _table([f"{title_truth} \u2193 / predicted \u2192"] + labels, rows)
    per = [[html.escape(k), _fmt(v["precision"]), _fmt(v["recall"]), _fmt(v["f1"]), _fmt(v["support"]),
            _fmt(v["predicted"])] for k, v in cm["per_class"].items()]
    scores = _table(["class", "precision", "recall", "F1", "rows true", "rows predicted"], per)
    note = (f'<p class="muted">accuracy {_fmt(cm["accuracy"])}, macro F1 {_fmt(cm["macro_f1"])}; '
            f'{_fmt(cm["skipped_rows"])} rows left out (unscorable, or outside this truth).</p>')
    return matrix + scores + note


def assessment_html(report: dict, *, scores: pd.Series | None = None, labels: pd.DataFrame | None = None,
                    title: str = "pumpguard assessment", model_summary: dict | None = None) -> str:
    """One self-contained HTML page for an :func:`~pumpguard.evaluation.assess` report."""
    sl = report["slice"]
    parts = [f"<h1>{html.escape(title)}</h1>",
             f'<p class="muted">Assessed rows: {_fmt(sl["rows"])} from {_fmt(sl["start"])} to {_fmt(sl["end"])} '
             f'({sl["days"]:.2f} days). Slice: {html.escape(sl["rule"])}. Look-back horizon: '
             f'{duration_text(report["horizon_s"])}.</p>']
    if model_summary:
        parts.append("<h2>Model</h2>" + _table(["", ""], [[html.escape(str(k)), _fmt(v)] for k, v in model_summary.items()]))

    ev = report["events"]
    fa = report["false_alarms"]
    parts.append("<h2>Early warning</h2>")
    parts.append(_table(["", ""], [
        ["events", _fmt(ev["total"])],
        ["caught (alarm in the look-back window" + (" or during the run" if ev["kind"] == "anomaly" else "") + ")",
         _fmt(ev["caught"])],
        ["late (first alarm only during BROKEN)", _fmt(ev["late"])],
        ["missed", _fmt(ev["missed"])],
        ["median lead time", duration_text(ev["median_lead_time_s"])],
        ["median detection delay", duration_text(ev["median_detection_delay_s"])],
        ["false alarms per day of normal time", _fmt(fa["events_per_day"])],
        ["false alarm events / rows", f'{_fmt(fa["alarm_events"])} / {_fmt(fa["alarm_rows"])}'],
        ["normal time outside look-back windows", f'{fa["normal_days"]:.2f} days'],
    ]))
    if ev["items"]:
        rows = [[_fmt(i + 1), _fmt(it["start"]), _fmt(it["end"]), _fmt(it["recovered"]),
                 f'<span class="{it["outcome"]}">{it["outcome"]}</span>', _fmt(it["first_warning"]),
                 duration_text(it["lead_time_s"]), duration_text(it["detection_delay_s"]),
                 "cut" if it["window_truncated"] else ""] for i, it in enumerate(ev["items"])]
        parts.append(_table(["#", "start", "end", "recovered", "outcome", "first warning", "lead time",
                             "detection delay", "window"], rows, left=0))
    else:
        parts.append('<p class="muted">No event in the assessed slice: event metrics are undefined here.</p>')

    if report.get("faults"):
        parts.append(faults_html(report["faults"], report.get("localisation")))

    parts.append("<h2>Ranking of scores (ROC-AUC, PR-AUC)</h2>")
    rank_rows = []
    for name, r in report["ranking"].items():
        rank_rows.append([html.escape(name), _fmt(r["roc_auc"]), _fmt(r["pr_auc"]), _fmt(r["base_rate"], 4),
                          _fmt(r["positives"]), _fmt(r["negatives"]), _fmt(r["unscorable"]),
                          html.escape(r["undefined"] or "")])
    if rank_rows:
        parts.append(_table(["truth", "ROC-AUC", "PR-AUC", "PR-AUC of chance", "positive rows", "negative rows",
                             "unscorable", "undefined because"], rank_rows))
    else:
        parts.append('<p class="muted">The data has no labels: nothing to rank against.</p>')

    for name, cm in report["alarms"].items():
        parts.append(f"<h2>Alarms against the {html.escape(name)} truth (rows)</h2>" + _confusion_html(cm, name))
    if report.get("status"):
        parts.append("<h2>Predicted status against the truth (rows)</h2>" + _confusion_html(report["status"], "truth"))

    if scores is not None and labels is not None:
        png = score_timeline_png(scores, labels, threshold=report["scores"]["threshold"],
                                 horizon=pd.Timedelta(seconds=report["horizon_s"]), title="score and threshold over time")
        parts.append("<h2>Score over time</h2>" + embedded_png(png, "score against threshold over time"))
    parts.append('<p class="muted">Definitions: docs/assessment.md in the pumpguard source.</p>')
    return page(title, "\n".join(parts))


def _share(x) -> str:
    return "—" if x is None else f"{100 * x:.0f} %"


def faults_html(faults: dict, localisation: dict | None = None) -> str:
    """The fault-event section (``report["faults"]``, ``report["localisation"]``): summary, per category
    and kind, one row per fault with its top location candidate, and the localisation shares."""
    fa = faults["false_alarms"]
    parts = ["<h2>Faults (simulator ground truth)</h2>",
             f'<p class="muted">From {html.escape(str(faults.get("source", "events.csv")))}: the faults that start in '
             f'the assessed slice. Caught = an alarm between start - {duration_text(faults["tolerance_s"])} and the '
             "fault's end.</p>",
             _table(["", ""], [
                 ["faults", _fmt(faults["total"])], ["caught", _fmt(faults["caught"])],
                 ["missed", _fmt(faults["missed"])],
                 ["median detection delay", duration_text(faults["median_detection_delay_s"])],
                 ["median lead time before a failure", duration_text(faults["median_lead_time_s"])],
                 ["already running when the slice starts (not scored)",
                  html.escape(", ".join(faults["ongoing_at_start"]) or "none")],
                 ["false alarms per day outside every fault (NORMAL rows)", _fmt(fa["events_per_day"])],
                 ["false alarm events / rows", f'{_fmt(fa["alarm_events"])} / {_fmt(fa["alarm_rows"])}'],
                 ["time outside every fault", f'{fa["normal_days"]:.2f} days'],
             ])]
    groups = [[html.escape(f"{g}: {name}"), _fmt(v["total"]), _fmt(v["caught"]), _fmt(v["missed"]),
               duration_text(v["median_detection_delay_s"])]
              for g in ("category", "kind") for name, v in faults[f"by_{g}"].items()]
    if groups:
        parts.append(_table(["group", "faults", "caught", "missed", "median delay"], groups))
    located = {it["event_id"]: it for it in (localisation or {}).get("items", [])}
    if faults["items"]:
        rows = []
        for it in faults["items"]:
            loc = located.get(it["event_id"], {})
            dist = loc.get("distance_m")
            rows.append([html.escape(it["event_id"]), html.escape(it["kind"]), html.escape(it["category"]),
                         html.escape(it["location"]), _fmt(it["start"]), _fmt(it["end"]),
                         f'<span class="{it["outcome"]}">{it["outcome"]}</span>'
                         + (" (alarm already on)" if it.get("alarm_already_on") else ""),
                         duration_text(it["detection_delay_s"]),
                         html.escape(loc.get("top_candidate") or ("—" if loc else "")),
                         ("" if not loc else "—" if dist is None else f"{dist:.0f} m"),
                         ("" if not loc else _fmt(loc.get("hops")))])
        parts.append(_table(["fault", "kind", "category", "location", "start", "end", "outcome", "delay",
                             "top candidate", "distance", "hops"], rows, left=4))
    if localisation:
        parts.append("<h3>Leak and burst localisation</h3>")
        if localisation.get("skipped"):
            parts.append(f'<p class="muted">Not assessed: {html.escape(localisation["skipped"])}.</p>')
        elif localisation.get("over_all_faults"):
            a, b = localisation["over_all_faults"], localisation.get("over_located") or {}
            dist = lambda x: "—" if x is None else f"{x:.0f} m"  # noqa: E731
            parts.append(_table(["", "of all leaks/bursts", "of those located"], [
                ["faults", _fmt(a["n_events"]), _fmt(b.get("n_events"))],
                ["true location is the top candidate", _share(a["top1"]), _share(b.get("top1"))],
                ["within 2 hops", _share(a["within_2_hops"]), _share(b.get("within_2_hops"))],
                ["within 300 m (BattLeDIM hit radius)", _share(a["within_300m"]), _share(b.get("within_300m"))],
                ["median distance (located only)", dist(a["median_distance_m"]), dist(b.get("median_distance_m"))],
                ["median detection delay", duration_text(a["detection_delay_median_s"]), ""],
            ]))
            parts.append(f'<p class="muted">Network {html.escape(str(localisation.get("network")))} '
                         f'({html.escape(str(localisation.get("network_from")))}); contributions averaged over the '
                         f'first {localisation["locating_rows"]} alarm rows of each fault. A missed fault counts as '
                         "not located.</p>")
    return "\n".join(parts)


def embedded_png(png: bytes, alt: str) -> str:
    """An ``<img>`` holding the PNG itself (base64), so the page needs no other file."""
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{base64.b64encode(png).decode()}">'


def page(title: str, body: str) -> str:
    """Wrap ``body`` in a complete, self-contained HTML document."""
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>{body}</body></html>\n")
