"""What ``pumpguard train | predict | assess | compare`` print: the card summary, the headline lines,
the training progress bar, and ``--param detector.key=value`` parsing.

The jobs themselves (scoring, the assessment folder, the shuffled baseline) live in
:mod:`pumpguard.workflows`, shared with the HTTP API and the demo; they are re-exported here so the
commands reach everything through one module.
"""

from __future__ import annotations

import json

from pumpguard.cli._common import console, err_console, is_interactive
from pumpguard.errors import ConfigError
from pumpguard.workflows.assessing import (  # re-exported: the commands call them through this module
    SHUFFLED_SPLIT_WARNING,
    assess_to_folder,
    assessed_slice,
    known_abnormal_rows,
    out_dir,
    parse_horizon,
    shuffled_model,
    write_json,
)
from pumpguard.workflows.scoring import BareModel, load, read, score, top_contributions

__all__ = [
    "SHUFFLED_SPLIT_WARNING", "BareModel", "assess_to_folder", "assessed_slice", "assessment_line",
    "card_summary", "headline_lines", "known_abnormal_rows", "load", "out_dir", "parse_horizon", "per_detector_params",
    "print_lines", "read", "score", "shuffled_model", "top_contributions", "train_with_progress",
    "write_json",
]


def card_summary(card: dict) -> list[str]:
    """A few lines that say what a model is (for ``train`` and ``model show``)."""
    split = card.get("split", {})
    info = card.get("threshold_info", {})
    lines = [
        f"detector      {card.get('detector')}  {json.dumps(card.get('params', {}), default=str)}",
        f"sensors       {len(card.get('sensors', []))}",
        f"threshold     {card.get('threshold'):.6g} ({info.get('method', '?')}, false-alarm rate "
        f"{info.get('false_alarm_rate', float('nan')):.3g} per row"
        + ("" if info.get("rate_verified", True) else ", NOT verifiable with this few validation rows") + ")",
        f"trained on    {split.get('train_start')} .. {split.get('train_end')} ({split.get('n_train_rows', 0):,} rows)",
        f"validation    .. {split.get('validation_end')} ({split.get('n_validation_rows', 0):,} rows)",
        f"assessable    {split.get('validation_end')} .. {split.get('data_end')} (untouched)",
        f"label used    {card.get('label_used') or 'none (unsupervised: NORMAL rows only)'}",
        f"data sha256   {str(card.get('training_data_sha256', ''))[:16]}…",
        f"pumpguard     {card.get('pumpguard_version')}",
    ]
    a = card.get("assessment") or {}
    if a:
        lines.append("assessment    " + assessment_line(a))
    return lines


def assessment_line(a: dict) -> str:
    """The stored assessment summary (``headline`` + slice) in one line; unknown shapes as JSON."""
    from pumpguard.evaluation.report import duration_text

    if "events_total" not in a:
        return json.dumps(a, default=str)
    num = lambda x: "undefined" if x is None else f"{x:.3f}"  # noqa: E731
    sl = a.get("assessed", {})
    return (f"{a['events_caught']}/{a['events_total']} events caught, median lead time "
            f"{duration_text(a.get('median_lead_time_s'))}, false alarms/day {num(a.get('false_alarms_per_day'))}, "
            f"ROC-AUC {num(a.get('roc_auc'))} PR-AUC {num(a.get('pr_auc'))} ({a.get('truth')} truth); "
            f"on {sl.get('start')} .. {sl.get('end')}")


def print_lines(lines: list[str]) -> None:
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)


def train_with_progress(dataset, detector, params: dict, **kwargs):
    """``training.train`` with a Rich progress bar on stderr (shown on a terminal only)."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from pumpguard.detectors.training import train as train_model

    steps = ["fitting", "setting the threshold", "done"]
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                  console=err_console, transient=not is_interactive(), disable=not is_interactive()) as bar:
        name = detector if isinstance(detector, str) else type(detector).__name__
        task = bar.add_task(f"{name}: starting", total=len(steps))

        done = [0]

        def progress(message: str) -> None:  # training reports its steps as messages
            done[0] = min(done[0] + 1, len(steps) - 1)
            bar.update(task, description=f"{name}: {message}", completed=done[0])

        trained = train_model(dataset, detector, params, progress=progress, **kwargs)
        bar.update(task, description=f"{name}: trained", completed=len(steps))
    return trained


def headline_lines(report: dict, head: dict) -> list[str]:
    from pumpguard.evaluation.report import duration_text

    sl = report["slice"]
    fmt = lambda x: "undefined" if x is None else f"{x:.3f}"  # noqa: E731
    lines = [f"assessed      {sl['rows']:,} rows, {sl['start']} .. {sl['end']} ({sl['rule']})"]
    if head["truth"]:
        lines.append(f"ROC-AUC       {fmt(head['roc_auc'])}   PR-AUC {fmt(head['pr_auc'])}   ({head['truth']} truth"
                     + (f"; {head['ranking_undefined']}" if head["ranking_undefined"] else "") + ")")
    lines.append(f"events        {head['events_caught']}/{head['events_total']} caught, {head['events_late']} late; "
                 f"median lead time {duration_text(head['median_lead_time_s'])}")
    fa = report["false_alarms"]
    lines.append(f"false alarms  {fmt(head['false_alarms_per_day'])} per day of normal time "
                 f"({fa['alarm_events']} events in {fa['normal_days']:.2f} days)")
    if head["status_macro_f1"] is not None:
        lines.append(f"status F1     {head['status_macro_f1']:.3f} (macro over classes)")
    from pumpguard.workflows.fault_assessment import summary_lines

    return lines + summary_lines(report)


def per_detector_params(items: list[str], names: list[str]) -> dict[str, dict]:
    """``["pca.variance=0.9"]`` -> ``{"pca": {"variance": 0.9}, ...}`` for the named detectors."""
    from pumpguard.detectors.registry import parse_params

    out: dict[str, list[str]] = {n: [] for n in names}
    for item in items:
        name, dot, rest = item.partition(".")
        if not dot or name not in out:
            raise ConfigError(f"--param {item!r}: expected detector.key=value with a detector of --detectors "
                              f"({', '.join(names)}), e.g. {names[0]}.key=value")
        out[name].append(rest)
    return {n: parse_params(v) for n, v in out.items()}


