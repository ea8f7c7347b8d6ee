"""The EDA report: one self-contained HTML file (figures embedded as base64 PNG, no network) plus
``summary.json``.

:func:`render_html` turns a summary (:func:`pumpguard.data.eda.summarize`) and figures
(:mod:`pumpguard.data.eda_plots`) into HTML text; :func:`write_eda` does the whole job for a
:class:`~pumpguard.data.schema.Dataset` and writes both files into a folder.
"""

from __future__ import annotations

import base64
import html
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from pumpguard.data import eda, eda_plots
from pumpguard.data.html_table import html_table
from pumpguard.data.schema import Dataset
from pumpguard.errors import ConfigError

#: ``progress(done, total, step)`` -- called after each step of :func:`write_eda`.
Progress = Callable[[int, int, str], None]

#: Rows of a long table (gaps, events) the HTML shows; summary.json has them all.
HTML_ROWS = 50

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:1.5rem auto;max-width:1500px;
color:#222;padding:0 1rem}
h1{font-size:1.5rem}h2{font-size:1.2rem;border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;font-size:.8rem;margin:.5rem 0}
th,td{border:1px solid #ddd;padding:.15rem .4rem;text-align:right;white-space:nowrap}
th{background:#f3f3f3}td.l,th.l{text-align:left}
.scroll{overflow-x:auto;max-width:100%}
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(680px,1fr));gap:.8rem}
figure{margin:0}figure img{max-width:100%;height:auto;border:1px solid #eee}
figcaption{font-size:.78rem;color:#555}
.note{background:#fff8e1;border-left:4px solid #E69F00;padding:.3rem .6rem;font-size:.85rem}
dl{display:grid;grid-template-columns:max-content auto;gap:.1rem 1rem;font-size:.9rem}dt{font-weight:600}
"""


@dataclass(frozen=True)
class EdaOutput:
    """What :func:`write_eda` wrote: the two paths and the summary that went into summary.json.

    >>> out = EdaOutput(report=Path("eda/report.html"), summary_path=Path("eda/summary.json"), summary={"rows": 3})
    >>> out.report.name, out.summary["rows"]
    ('report.html', 3)
    """

    report: Path
    summary_path: Path
    summary: dict


def _e(x) -> str:
    return html.escape("" if x is None else str(x))


def _num(x) -> str:
    if x is None:
        return ""
    if isinstance(x, str):
        return _e(x)
    if isinstance(x, int):
        return f"{x:,}"
    return f"{x:.6g}" if abs(x) < 1e6 else f"{x:.4e}"


def _table(header: list[str], rows: list[list], left: int = 1) -> str:
    return f'<div class="scroll">{html_table(header, [[_num(v) for v in row] for row in rows], left)}</div>'


def _figure(f: eda_plots.FigurePNG) -> str:
    data = base64.b64encode(f.png).decode("ascii")
    return (f'<figure><img alt="{_e(f.title)}" src="data:image/png;base64,{data}">'
            f"<figcaption>{_e(f.caption)}</figcaption></figure>")


def _truncated(rows: list, what: str) -> str:
    return f"<p>Showing the first {HTML_ROWS} of {len(rows):,} {what}; summary.json lists them all.</p>" \
        if len(rows) > HTML_ROWS else ""


def _labels_html(summary: dict) -> str:
    labels = summary["labels"]
    if not labels:
        return "<p>No label columns (machine_status, anomaly, changepoint): nothing to overlay.</p>"
    parts = []
    status = labels.get("machine_status")
    if status:
        parts.append("<h3>machine_status counts</h3>" + _table(["status", "rows"], list(status["counts"].items())))
        ev = status["events"]
        parts.append(f"<h3>Failure events ({len(ev)} BROKEN runs)</h3>")
        rows = [[e["start"], e["broken_rows"], (e["broken_duration"] or {}).get("text"), e["recovering_rows"],
                 (e["recovering_duration"] or {}).get("text"), e["normal_again"]] for e in ev[:HTML_ROWS]]
        parts.append(_table(["BROKEN from", "BROKEN rows", "BROKEN for", "RECOVERING rows", "RECOVERING for",
                             "NORMAL again"], rows, left=1) + _truncated(ev, "events"))
    for name in ("anomaly", "changepoint"):
        if name in labels:
            entry = labels[name]
            parts.append(f"<h3>{name} counts</h3>" + _table([name, "rows"], list(entry["counts"].items())))
            ev = entry["events"]
            if name == "anomaly":
                rows = [[e["start"], e["end"], e["rows"], (e["duration"] or {}).get("text")] for e in ev[:HTML_ROWS]]
                parts.append(f"<h3>Anomaly runs ({len(ev)})</h3>"
                             + _table(["from", "until", "rows", "lasting"], rows, left=2) + _truncated(ev, "runs"))
            else:
                parts.append(f"<p>{len(ev)} change point(s): "
                             + _e(", ".join(e["at"] for e in ev[:HTML_ROWS])) + "</p>")
    return "".join(parts)


def render_html(summary: dict, figures: list[eda_plots.FigurePNG]) -> str:
    """The whole report as one HTML document that needs nothing but itself."""
    by = {}
    for f in figures:
        by.setdefault(f.section, []).append(f)

    def figs(section: str, grid: bool = False) -> str:
        items = "".join(_figure(f) for f in by.get(section, []))
        return f'<div class="grid">{items}</div>' if grid else items

    t = summary["time"]
    overview = {
        "source": summary["source"] or "(not given)",
        "rows": f"{summary['rows']:,}",
        "sensors": f"{summary['sensor_count']:,}",
        "from": t["start"], "to": t["end"],
        "span": (t["span"] or {}).get("text"),
        "sampling step": (t["step"] or {}).get("text"),
        "gaps": f"{t['gap_count']:,} ({t['missing_rows']:,} missing rows)",
    }
    dl = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in overview.items())
    notes = "".join(f"<li>{_e(n)}</li>" for n in summary["notes"]) or "<li>none</li>"
    gaps = t["gaps"]
    gap_html = (_table(["from", "to", "missing rows"], [[g["start"], g["end"], g["missing_rows"]]
                                                         for g in gaps[:HTML_ROWS]], left=2)
                + _truncated(gaps, "gaps")) if gaps else "<p>No gaps: every row follows the previous one by one step.</p>"
    head = summary["head"]
    cols = summary["columns"]
    col_rows = [[c["name"], c["type"], c["kind"], c["unit"], c["missing_pct"], c["min"], c["max"], c["mean"], c["std"]]
                for c in cols]
    pairs = _table(["sensor", "sensor", "r"], [[p["a"], p["b"], p["r"]] for p in summary["strongest_correlations"]],
                   left=2)
    title = f"pumpguard EDA: {_e(summary['source'] or 'data')}"
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title><style>{_CSS}</style></head>
<body>
<h1>{title}</h1>
<h2>Overview</h2><dl>{dl}</dl>
<h3>What reading and preparing the data did</h3><ul class="note">{notes}</ul>
<h3>Gaps in time</h3>{gap_html}
<h2>Head of the table</h2>{_table(head["columns"], head["rows"])}
<h2>Columns</h2>{_table(["column", "type", "kind", "unit", "missing %", "min", "max", "mean", "std"], col_rows, left=4)}
<h2>Labels</h2>{figs("labels")}{_labels_html(summary)}
<h2>Sensor time series</h2>{figs("series", grid=True)}
<h2>Distributions</h2>{figs("distributions")}
<h2>Missing values</h2>{figs("missing")}
<h2>Correlation</h2>{figs("correlation")}<h3>Most strongly correlated pairs</h3>{pairs}
<p style="font-size:.75rem;color:#777">Made by pumpguard; this file is self-contained (no network needed).</p>
</body></html>
"""


def build_eda(dataset: Dataset, *, max_points: int = 5000, progress: Progress | None = None,
              histogram_bins: int = 40, _later_steps: int = 0) -> tuple[dict, list[eda_plots.FigurePNG]]:
    """Compute the summary and draw every figure (no files touched)."""
    if max_points < 4:
        raise ConfigError(f"max_points must be at least 4 (it is points per plotted series), got {max_points}")
    panels = -(-len(dataset.sensor_ids) // eda_plots.SENSORS_PER_PANEL) if len(dataset) else 0
    total = 5 + panels + _later_steps
    done = 0

    def tick(step: str) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, total, step)

    corr = eda.correlation(dataset.values)
    summary = eda.summarize(dataset, correlations=corr)
    tick("summary")
    figures: list[eda_plots.FigurePNG | None] = [eda_plots.label_counts_figure(dataset)]
    tick("label counts")
    figures += eda_plots.time_series_figures(dataset, max_points=max_points, progress=tick)
    figures += eda_plots.histogram_figures(dataset, bins=histogram_bins)
    tick("distributions")
    figures.append(eda_plots.missing_map_figure(dataset))
    tick("missing-value map")
    figures.append(eda_plots.correlation_figure(corr))
    tick("correlation")
    return summary, [f for f in figures if f is not None]


def write_eda(dataset: Dataset, out_dir: str | Path, *, max_points: int = 5000,
              progress: Progress | None = None) -> EdaOutput:
    """Write ``out_dir/report.html`` (self-contained) and ``out_dir/summary.json`` for ``dataset``.

    >>> import tempfile
    >>> from pumpguard.data.synthetic import make_sample
    >>> ds = make_sample(1, seed=0, step_seconds=600)
    >>> ds = ds.with_frame(ds.frame[["sensor_04", "sensor_06", "machine_status"]])
    >>> out = write_eda(ds, tempfile.mkdtemp(), max_points=200)
    >>> out.report.name, out.summary["rows"], out.summary["labels"]["machine_status"]["counts"]["BROKEN"]
    ('report.html', 144, 1)
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file; give a folder for report.html and summary.json")
    summary, figures = build_eda(dataset, max_points=max_points, progress=progress, _later_steps=1)
    out.mkdir(parents=True, exist_ok=True)
    report = out / "report.html"
    report.write_text(render_html(summary, figures), encoding="utf-8")
    summary_path = out / "summary.json"
    summary_path.write_text(json.dumps(summary, indent=1), encoding="utf-8")
    if progress is not None:
        total = 6 + (-(-len(dataset.sensor_ids) // eda_plots.SENSORS_PER_PANEL) if len(dataset) else 0)
        progress(total, total, "written")
    return EdaOutput(report=report, summary_path=summary_path, summary=summary)
