"""The work behind ``pumpguard train | predict | assess | compare``: scoring a dataset with a model,
the top contributing sensors, the card summary, the assessment folder, the (misleading) shuffled split.

Kept apart from the command definitions so :mod:`pumpguard.cli.model_commands` stays a thin layer of
argument parsing, and so other commands (``pumpguard demo``) can reuse :func:`assess_to_folder`.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd

from pumpguard.cli._common import console, err_console, is_interactive
from pumpguard.errors import ConfigError, DataFormatError

#: Why a shuffled split is shown only on request (printed whenever it is used).
SHUFFLED_SPLIT_WARNING = (
    "--shuffled-split: rows are assigned to training/validation/assessment at random. This MISLEADS: "
    "the future leaks into training (each failure's build-up and recovery land on both sides), and "
    "neighbouring minutes are near-duplicates, so held-out rows are interpolated rather than predicted. "
    "Expect numbers far better than the detector will do on new data; use the default time-ordered split "
    "to judge it."
)


def read(path: Path):
    from pumpguard.data import read_dataset

    return read_dataset(path)


def load(path: Path):
    from pumpguard.detectors.model_file import load_model

    return load_model(path)


def _sensor_frame(trained, dataset) -> pd.DataFrame:
    """The model's sensor columns of the data, in the model's order (the detector reports any mismatch)."""
    wanted = trained.sensor_ids
    have = [c for c in wanted if c in dataset.frame.columns]
    if len(have) < len(wanted):
        return dataset.values  # let the detector say precisely what is missing
    return dataset.frame[wanted]


def score(trained, dataset) -> dict:
    """Score every row in time order: scores, alarms, predicted status (or None) and the rows/s."""
    det = trained.detector
    X = _sensor_frame(trained, dataset)
    t0 = time.perf_counter()
    scores = pd.Series(det.score_samples(X), index=X.index, name="score")
    elapsed = time.perf_counter() - t0
    from pumpguard.detectors.base import Detector

    if type(det).predict is Detector.predict:  # the shared rule: score > threshold_, NaN stays NaN
        alarms = pd.Series(np.where(scores.isna(), np.nan, (scores > det.threshold_).astype(float)), index=X.index)
    else:
        alarms = pd.Series(det.predict(X), index=X.index)
    status = None
    if getattr(det, "predicts_status", False) and hasattr(det, "predict_status"):
        status = pd.Series(det.predict_status(X), index=X.index, dtype=object).replace("", None)
    return {"X": X, "scores": scores, "alarms": alarms, "status": status,
            "rows_per_s": len(X) / elapsed if elapsed > 0 else float("inf")}


def top_contributions(shares: pd.DataFrame, k: int = 3) -> pd.DataFrame:
    """Columns top{i}_sensor / top{i}_share of the ``k`` largest shares per row (empty where none)."""
    values = shares.to_numpy(dtype=float, na_value=np.nan)
    names = np.asarray(shares.columns, dtype=object)
    filled = np.where(np.isfinite(values), values, -1.0)
    k = min(k, values.shape[1])
    order = np.argsort(-filled, axis=1, kind="stable")[:, :k]
    out = {}
    for i in range(k):
        share = np.take_along_axis(filled, order[:, i:i + 1], axis=1)[:, 0]
        has = share > 0
        out[f"top{i + 1}_sensor"] = pd.Series(np.where(has, names[order[:, i]], None), index=shares.index, dtype=object)
        out[f"top{i + 1}_share"] = pd.Series(np.where(has, np.round(share, 4), np.nan), index=shares.index)
    return pd.DataFrame(out, index=shares.index)


def parse_horizon(text: str | None):
    from pumpguard.evaluation import parse_horizon

    return None if text is None else parse_horizon(text)


def assessed_slice(trained, everything: bool) -> tuple[object, str]:
    if everything:
        return None, ("all rows (--all): includes the rows the model was trained and calibrated on, "
                      "so the numbers are optimistic")
    return trained.test_start, (f"time-ordered: only rows from {trained.validation_end} on, after the "
                                "training and validation slices")


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


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, default=str, allow_nan=False) + "\n", encoding="utf-8")


def out_dir(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path}: a file of that name exists; expected a folder for the reports")
    path.mkdir(parents=True, exist_ok=True)
    return path


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
    from pumpguard.cli._fault_runs import summary_lines

    return lines + summary_lines(report)


def shuffled_model(dataset, name: str, params: dict, *, train_fraction: float, validation_fraction: float,
                    false_alarm_rate: float | None, seed: int = 0):
    """The misleading baseline: rows assigned at random; returns (detector, assessed-row mask)."""
    from pumpguard.detectors.registry import make_detector
    from pumpguard.detectors.training import normal_rows, training_label

    frame = dataset.frame.sort_index()
    n = len(frame)
    rank = np.random.default_rng(seed).permutation(n)
    n_train, n_val = int(n * train_fraction), int(n * validation_fraction)
    in_train = np.zeros(n, bool)
    in_train[rank[:n_train]] = True
    in_val = np.zeros(n, bool)
    in_val[rank[n_train:n_train + n_val]] = True
    normal = normal_rows(frame)
    det = make_detector(name, **params)
    X = frame[dataset.sensor_ids]
    if det.supervised:
        y, _ = training_label(frame)
        det.fit(X[in_train], y[in_train])
    else:
        det.fit(X[in_train & normal])
    rate = {} if false_alarm_rate is None else {"false_alarm_rate": false_alarm_rate}
    if det.time_aware:
        det.set_threshold(X, normal=in_val & normal, **rate)
    else:
        det.set_threshold(X[in_val & normal], **rate)
    return det, ~(in_train | in_val)


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


class BareModel:
    """What `_score` needs of a TrainedModel, for a detector fitted outside `train`."""

    def __init__(self, detector, sensors):
        self.detector, self.sensor_ids, self.threshold = detector, list(sensors), float(detector.threshold_)


def assess_to_folder(trained, dataset, outdir: Path, *, everything: bool = False, horizon=None,
                     model_label: str = "", data_path: Path | None = None, fault_dir: Path | None = None,
                     network: str | None = None) -> dict:
    """Score ``dataset`` with ``trained``, assess it, write ``assessment.json`` and ``assessment.html``
    into ``outdir``; returns the report (the dict of :func:`pumpguard.evaluation.assess`).

    With a fault table (``events.csv`` in ``fault_dir``, or beside ``data_path``/the dataset's source)
    the report also has ``faults`` and ``localisation`` (:mod:`pumpguard.cli._fault_runs`); ``network``
    is the network the data were simulated on (name or .inp)."""
    from pumpguard.evaluation import assess as assess_scores
    from pumpguard.evaluation.report import assessment_html

    if dataset.labels.shape[1] == 0:
        raise DataFormatError(f"{dataset.source or 'the data'}: no label column to assess against",
                              expected="a machine_status or anomaly column",
                              hint="use `pumpguard predict` for unlabelled data")
    h = parse_horizon(horizon) if isinstance(horizon, str) else horizon
    start, rule = assessed_slice(trained, everything)
    scored = score(trained, dataset)
    labels = dataset.labels.loc[scored["scores"].index]
    report = assess_scores(scored["scores"], scored["alarms"], labels, threshold=trained.threshold,
                           predicted_status=scored["status"], horizon=h, start=start, slice_rule=rule)
    if report["slice"]["rows"] == 0:
        raise DataFormatError(f"{dataset.source or 'the data'}: no rows after the model's validation slice "
                              f"(from {trained.validation_end})",
                              hint="assess on data that continue past the training data, or pass --all")
    report["model"] = {"file": model_label, "detector": trained.detector_name, "params": trained.params}
    from pumpguard.cli._fault_runs import assess_faults_and_locations

    report.update(assess_faults_and_locations(trained, dataset, scored, report, data_path=data_path,
                                              fault_dir=fault_dir, network=network) or {})
    outdir = out_dir(outdir)
    write_json(outdir / "assessment.json", report)
    keep = scored["scores"].index >= pd.Timestamp(report["slice"]["start"])
    page = assessment_html(report, scores=scored["scores"][keep], labels=labels[keep],
                           title=f"pumpguard assessment: {trained.detector_name}",
                           model_summary={"model file": model_label, "detector": trained.detector_name,
                                          "threshold": float(trained.threshold),
                                          "trained until": trained.train_end,
                                          "validated until": trained.validation_end})
    (outdir / "assessment.html").write_text(page, encoding="utf-8")
    return report
