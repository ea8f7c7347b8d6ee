"""Detectors side by side: one table (Markdown and HTML) from their assessments and timings.

Each row is a dict with ``detector``, ``train_s``, ``score_rows_per_s`` and the numbers of
:func:`~pumpguard.evaluation.assessment.headline`. The formatting is pure; the command that trains
and times the detectors lives in the CLI.
"""

from __future__ import annotations

import html

from pumpguard.evaluation.report import _fmt, duration_text, embedded_png, page

COLUMNS = (
    ("detector", "detector"),
    ("train_s", "train s"),
    ("score_rows_per_s", "score rows/s"),
    ("roc_auc", "ROC-AUC"),
    ("pr_auc", "PR-AUC"),
    ("events", "events caught"),
    ("median_lead_time_s", "median lead time"),
    ("false_alarms_per_day", "false alarms/day"),
    ("status_macro_f1", "F1 (status, macro)"),
)


def comparison_row(detector: str, train_s: float, score_rows_per_s: float, head: dict, *,
                   supervised: bool) -> dict:
    """One row of the table; ``head`` is :func:`headline` of the detector's assessment.

    Examples
    --------
    >>> head = {"roc_auc": 0.8, "pr_auc": 0.1, "events_caught": 1, "events_total": 2, "events_late": 0,
    ...         "median_lead_time_s": 3600.0, "false_alarms_per_day": 0.5, "status_macro_f1": None,
    ...         "truth": "warning", "ranking_undefined": None, "alarm_f1": 0.2}
    >>> comparison_row("pca", 1.5, 2e5, head, supervised=False)["events"]
    '1/2'
    """
    row = {"detector": detector, "train_s": float(train_s), "score_rows_per_s": float(score_rows_per_s),
           "supervised": bool(supervised), **head}
    row["events"] = f"{head['events_caught']}/{head['events_total']}"
    if not supervised:
        row["status_macro_f1"] = None
    return row


def _cell(key: str, value) -> str:
    if key in ("median_lead_time_s", "median_detection_delay_s"):
        return duration_text(value)
    if key == "train_s":
        return "—" if value is None else f"{value:.2f}"
    if key == "score_rows_per_s":
        return "—" if value is None else f"{value:,.0f}"
    if key == "false_alarms_per_day":
        return "—" if value is None else f"{value:.2f}"
    return _fmt(value)


def _caption(rows: list[dict], context: dict) -> str:
    truth = rows[0].get("truth") if rows else None
    meaning = {"warning": "rows of the look-back window before each failure against other NORMAL rows",
               "anomaly": "anomaly rows against normal rows"}.get(truth, "no labelled truth")
    return (f"Assessed: {context.get('slice', 'the rows after the training/validation slice')}. "
            f"ROC-AUC / PR-AUC rank the scores on the '{truth}' truth ({meaning}); "
            f"'—' means undefined (e.g. a single class in the assessed rows). "
            f"Events caught = alarm within the look-back horizon ({duration_text(context.get('horizon_s'))}) "
            "before the start" + (" or during the anomaly run" if truth == "anomaly" else "")
            + ". F1 only for detectors that predict a status.")


def _columns(rows: list[dict]):
    """The table's columns; anomaly data (no precursor to warn from) also show the detection delay."""
    if any(r.get("truth") == "anomaly" for r in rows):
        i = [k for k, _ in COLUMNS].index("median_lead_time_s") + 1
        return COLUMNS[:i] + (("median_detection_delay_s", "median detection delay"),) + COLUMNS[i:]
    return COLUMNS


def comparison_markdown(rows: list[dict], context: dict | None = None) -> str:
    """A Markdown table of the rows, with a caption that says what the numbers are."""
    context = context or {}
    cols = _columns(rows)
    lines = ["| " + " | ".join(h for _, h in cols) + " |",
             "|" + "|".join("---" if k == "detector" else "---:" for k, _ in cols) + "|"]
    for r in rows:
        lines.append("| " + " | ".join(_cell(k, r.get(k)).replace("|", "/") for k, _ in cols) + " |")
    return "\n".join(lines) + "\n\n" + _caption(rows, context) + "\n"


def comparison_html(rows: list[dict], context: dict | None = None, title: str = "pumpguard comparison",
                    figures: dict[str, bytes] | None = None) -> str:
    """The same table as a self-contained HTML page, then each detector's score plot (PNG bytes)."""
    context = context or {}
    cols = _columns(rows)
    head = "".join(f'<th class="{"l" if k == "detector" else ""}">{html.escape(h)}</th>' for k, h in cols)
    body = "".join(
        "<tr>" + "".join(f'<td class="{"l" if k == "detector" else ""}">{_cell(k, r.get(k))}</td>' for k, _ in cols)
        + "</tr>" for r in rows)
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in context.get("notes", []))
    return page(title, f"<h1>{html.escape(title)}</h1><table><tr>{head}</tr>{body}</table>"
                       f'<p class="muted">{html.escape(_caption(rows, context))}</p>'
                       + (f"<ul class='muted'>{notes}</ul>" if notes else "")
                       + "".join(f"<h2>{html.escape(name)}</h2>" + embedded_png(png, f"{name} score over time")
                                 for name, png in (figures or {}).items()))
