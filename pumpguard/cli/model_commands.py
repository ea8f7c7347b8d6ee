"""``pumpguard train | predict | assess | compare | model show | model import-pickle``.

Thin: read the data (:func:`pumpguard.data.read_dataset`), call the detectors' training and model-file
functions and the pure evaluation functions, write the files, print a short summary.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pandas as pd
import typer

from pumpguard.cli._common import console, err_console, is_interactive, user_errors, warn
from pumpguard.errors import ConfigError, DataFormatError, ModelFileError, PumpguardError

#: Why a shuffled split is shown only on request (printed whenever it is used).
SHUFFLED_SPLIT_WARNING = (
    "--shuffled-split: rows are assigned to training/validation/assessment at random. This MISLEADS: "
    "the future leaks into training (each failure's build-up and recovery land on both sides), and "
    "neighbouring minutes are near-duplicates, so held-out rows are interpolated rather than predicted. "
    "Expect numbers far better than the detector will do on new data; use the default time-ordered split "
    "to judge it."
)


def register(app: typer.Typer) -> None:
    """Add the model commands and the ``model`` group to ``app``."""
    app.command("train")(train)
    app.command("predict")(predict)
    app.command("assess")(assess)
    app.command("compare")(compare)
    model_app = typer.Typer(help="Look into model files and bring old pickles in.\n\nExample: pumpguard model show model.skops",
                            no_args_is_help=True)
    model_app.command("show")(model_show)
    model_app.command("import-pickle")(model_import_pickle)
    app.add_typer(model_app, name="model")


# ----------------------------------------------------------------------------------------- helpers
def _read(path: Path):
    from pumpguard.data import read_dataset

    return read_dataset(path)


def _load(path: Path):
    from pumpguard.detectors.model_file import load_model

    return load_model(path)


def _sensor_frame(trained, dataset) -> pd.DataFrame:
    """The model's sensor columns of the data, in the model's order (the detector reports any mismatch)."""
    wanted = trained.sensor_ids
    have = [c for c in wanted if c in dataset.frame.columns]
    if len(have) < len(wanted):
        return dataset.values  # let the detector say precisely what is missing
    return dataset.frame[wanted]


def _score(trained, dataset) -> dict:
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


def _top_contributions(shares: pd.DataFrame, k: int = 3) -> pd.DataFrame:
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


def _parse_horizon(text: str | None):
    from pumpguard.evaluation import parse_horizon

    return None if text is None else parse_horizon(text)


def _slice(trained, everything: bool) -> tuple[object, str]:
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
        lines.append(f"assessment    {json.dumps(a, default=str)}")
    return lines


def _print_lines(lines: list[str]) -> None:
    for line in lines:
        console.print(line, highlight=False, soft_wrap=True)


def _write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, default=str, allow_nan=False) + "\n", encoding="utf-8")


def _out_dir(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path}: a file of that name exists; expected a folder for the reports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def _train_with_progress(dataset, detector, params: dict, **kwargs):
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


# ----------------------------------------------------------------------------------------- commands
def train(
    data: Path = typer.Argument(..., help="Sensor data: a CSV file, a Parquet file or a folder of Parquet files."),
    detector: str = typer.Option(..., "--detector", "-d", help="Detector name (pca, iforest, random_forest, early_warning, ...)."),
    param: list[str] = typer.Option([], "--param", "-p", help="A detector parameter as key=value; repeat for more."),
    out: Path = typer.Option(..., "--out", "-o", help="Model file to write (.skops)."),
    train_fraction: float = typer.Option(0.6, "--train-fraction", help="Share of the time span to train on (the first part)."),
    validation_fraction: float = typer.Option(0.2, "--validation-fraction", help="Share after it where the threshold is set."),
    false_alarm_rate: float = typer.Option(None, "--false-alarm-rate", help="Target share of NORMAL rows that alarm (default: one row a day at 1/min)."),
) -> None:
    """Train a detector on the first part of the data in time and save it with its model card.

    The rest of the time span is left untouched for `pumpguard assess`.

    Example: pumpguard train pump.csv --detector pca --param variance=0.9 --out pca.skops
    """
    with user_errors():
        from pumpguard.detectors.model_file import model_card, save_model
        from pumpguard.detectors.registry import parse_params

        params = parse_params(param)
        dataset = _read(data)
        kwargs = {"train_fraction": train_fraction, "validation_fraction": validation_fraction}
        if false_alarm_rate is not None:
            kwargs["false_alarm_rate"] = false_alarm_rate
        t0 = time.perf_counter()
        trained = _train_with_progress(dataset, detector, params, **kwargs)
        seconds = time.perf_counter() - t0
        save_model(trained, out)
        _print_lines(card_summary(model_card(trained)))
        console.print(f"trained in {seconds:.1f} s; model written to {out}", highlight=False)


def predict(
    data: Path = typer.Argument(..., help="Sensor data to score (CSV, Parquet file or folder)."),
    model: Path = typer.Option(..., "--model", "-m", help="Model file written by `pumpguard train`."),
    out: Path = typer.Option(..., "--out", "-o", help="CSV file to write, one row per data row."),
) -> None:
    """Score every row: score, threshold, alarm (0/1, empty if unscorable), predicted status, top-3 sensors.

    Example: pumpguard predict pump.csv --model pca.skops --out predictions.csv
    """
    with user_errors():
        trained = _load(model)
        dataset = _read(data)
        scored = _score(trained, dataset)
        shares = trained.detector.contributions(scored["X"])
        table = pd.DataFrame({
            "timestamp": [t.isoformat() for t in scored["scores"].index],
            "score": scored["scores"].to_numpy(),
            "threshold": float(trained.threshold),
            "anomaly": pd.array(scored["alarms"].to_numpy(), dtype="Int64"),
        })
        if scored["status"] is not None:
            table["status"] = scored["status"].to_numpy()
        top = _top_contributions(shares).reset_index(drop=True)
        table = pd.concat([table, top], axis=1)
        out.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(out, index=False, na_rep="")
        a = scored["alarms"]
        console.print(f"{len(table):,} rows scored ({int(a.isna().sum()):,} unscorable), "
                      f"{int((a > 0).sum()):,} alarm rows; written to {out}", highlight=False)


def assess(
    data: Path = typer.Argument(..., help="Labelled sensor data (machine_status or anomaly column)."),
    model: Path = typer.Option(..., "--model", "-m", help="Model file written by `pumpguard train`."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for assessment.json and assessment.html."),
    everything: bool = typer.Option(False, "--all", help="Assess every row, including those trained on (optimistic)."),
    horizon: str = typer.Option(None, "--horizon", help="Look-back window before a failure, e.g. 12h (default 12h; 0 for anomaly-only data)."),
    update_model: bool = typer.Option(False, "--update-model", help="Also store the headline numbers in the model file's card."),
) -> None:
    """Assess a model on the rows after its training and validation slices (time-ordered).

    Writes DIR/assessment.json and an offline DIR/assessment.html. Definitions: docs/assessment.md.

    Example: pumpguard assess pump.csv --model pca.skops --out report/ --horizon 12h
    """
    with user_errors():
        from pumpguard.evaluation import assess as assess_scores, headline
        from pumpguard.evaluation.report import assessment_html

        trained = _load(model)
        dataset = _read(data)
        if dataset.labels.empty or dataset.labels.shape[1] == 0:
            raise DataFormatError(f"{data}: no label column to assess against",
                                  expected="a machine_status or anomaly column",
                                  hint="use `pumpguard predict` for unlabelled data")
        h = _parse_horizon(horizon)
        start, rule = _slice(trained, everything)
        scored = _score(trained, dataset)
        labels = dataset.labels.loc[scored["scores"].index]
        report = assess_scores(scored["scores"], scored["alarms"], labels, threshold=trained.threshold,
                               predicted_status=scored["status"], horizon=h, start=start, slice_rule=rule)
        if report["slice"]["rows"] == 0:
            raise DataFormatError(f"{data}: no rows after the model's validation slice (from {trained.validation_end})",
                                  hint="assess on data that continue past the training data, or pass --all")
        report["model"] = {"file": str(model), "detector": trained.detector_name, "params": trained.params}
        outdir = _out_dir(out)
        _write_json(outdir / "assessment.json", report)
        keep = scored["scores"].index >= pd.Timestamp(report["slice"]["start"])
        page = assessment_html(report, scores=scored["scores"][keep], labels=labels[keep],
                               title=f"pumpguard assessment: {trained.detector_name}",
                               model_summary={"model file": str(model), "detector": trained.detector_name,
                                              "threshold": float(trained.threshold),
                                              "trained until": trained.train_end,
                                              "validated until": trained.validation_end})
        (outdir / "assessment.html").write_text(page, encoding="utf-8")
        head = headline(report)
        if update_model:
            from pumpguard.detectors.model_file import update_card

            update_card(model, {"assessed": report["slice"], "horizon_s": report["horizon_s"], **head})
        _print_lines(_headline_lines(report, head))
        console.print(f"written {outdir / 'assessment.json'} and {outdir / 'assessment.html'}"
                      + (f"; model card of {model} updated" if update_model else ""), highlight=False)


def _headline_lines(report: dict, head: dict) -> list[str]:
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
    return lines


def _shuffled_model(dataset, name: str, params: dict, *, train_fraction: float, validation_fraction: float,
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


def _per_detector_params(items: list[str], names: list[str]) -> dict[str, dict]:
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


class _Bare:
    """What `_score` needs of a TrainedModel, for a detector fitted outside `train`."""

    def __init__(self, detector, sensors):
        self.detector, self.sensor_ids, self.threshold = detector, list(sensors), float(detector.threshold_)


def compare(
    data: Path = typer.Argument(..., help="Labelled sensor data (CSV, Parquet file or folder)."),
    detectors: str = typer.Option(..., "--detectors", help="Comma-separated detector names, e.g. pca,iforest,random_forest."),
    out: Path = typer.Option(..., "--out", "-o", help="Folder for compare.json, compare.md and compare.html."),
    train_fraction: float = typer.Option(0.6, "--train-fraction", help="Share of the time span to train on."),
    validation_fraction: float = typer.Option(0.2, "--validation-fraction", help="Share after it where thresholds are set."),
    false_alarm_rate: float = typer.Option(None, "--false-alarm-rate", help="Target share of NORMAL rows that alarm."),
    horizon: str = typer.Option(None, "--horizon", help="Look-back window before a failure (default 12h; 0 for anomaly-only data)."),
    param: list[str] = typer.Option([], "--param", "-p", help="A parameter of one detector as name.key=value, e.g. pca.variance=0.9."),
    shuffled_split: bool = typer.Option(False, "--shuffled-split", help="Random instead of time-ordered split: MISLEADING, for demonstration only."),
) -> None:
    """Train several detectors on the same time-ordered split and put their assessments side by side.

    Example: pumpguard compare pump.csv --detectors pca,iforest,random_forest --out compare/
    """
    with user_errors():
        from pumpguard.detectors.training import train as train_model
        from pumpguard.evaluation import assess as assess_scores, headline
        from pumpguard.evaluation.comparison import comparison_html, comparison_markdown, comparison_row

        names = [n.strip() for n in detectors.split(",") if n.strip()]
        if not names:
            raise ConfigError(f"--detectors {detectors!r}: expected comma-separated names, e.g. pca,iforest")
        from pumpguard.detectors.registry import DETECTORS

        unknown = [n for n in names if n not in DETECTORS]
        if unknown:
            raise ConfigError(f"--detectors: unknown detector(s) {unknown}; known: {', '.join(sorted(DETECTORS))}")
        dataset = _read(data)
        if dataset.labels.shape[1] == 0:
            raise DataFormatError(f"{data}: no label column to assess against",
                                  expected="a machine_status or anomaly column")
        params = _per_detector_params(param, names)
        h = _parse_horizon(horizon)
        if shuffled_split:
            warn(SHUFFLED_SPLIT_WARNING)
        rows, failures, reports = [], {}, {}
        context: dict = {"data": str(data), "split": "shuffled (MISLEADING)" if shuffled_split else "time-ordered",
                         "notes": [SHUFFLED_SPLIT_WARNING] if shuffled_split else []}
        outdir = _out_dir(out)
        for name in names:
            err_console.print(f"[bold]{name}[/]: training", highlight=False)
            t0 = time.perf_counter()
            try:
                if shuffled_split:
                    det, mask = _shuffled_model(dataset, name, params[name], train_fraction=train_fraction,
                                                validation_fraction=validation_fraction,
                                                false_alarm_rate=false_alarm_rate)
                    trained = _Bare(det, dataset.sensor_ids)
                    start, rule = None, "shuffled split (MISLEADING): the randomly held-out rows"
                else:
                    kwargs = {"train_fraction": train_fraction, "validation_fraction": validation_fraction}
                    if false_alarm_rate is not None:
                        kwargs["false_alarm_rate"] = false_alarm_rate
                    trained = train_model(dataset, name, params[name], **kwargs)
                    start, rule = _slice(trained, False)
                    mask = None
            except PumpguardError as exc:
                failures[name] = str(exc)
                warn(f"{name}: not compared: {exc}")
                continue
            except Exception as exc:  # noqa: BLE001 -- one detector's bug must not hide the others' results
                failures[name] = f"{type(exc).__name__}: {exc} (a bug in the detector: please report it)"
                warn(f"{name}: not compared: {failures[name]}")
                continue
            train_s = time.perf_counter() - t0
            scored = _score(trained, dataset)
            labels = dataset.labels.loc[scored["scores"].index]
            s, a, st = scored["scores"], scored["alarms"], scored["status"]
            if mask is not None:
                s, a, labels = s[mask], a[mask], labels[mask]
                st = None if st is None else st[mask]
            report = assess_scores(s, a, labels, threshold=trained.threshold, predicted_status=st,
                                   horizon=h, start=start, slice_rule=rule)
            reports[name] = report
            context.setdefault("slice", f"{report['slice']['rule']} ({report['slice']['rows']:,} rows)")
            context["horizon_s"] = report["horizon_s"]
            rows.append(comparison_row(name, train_s, scored["rows_per_s"], headline(report),
                                       supervised=bool(getattr(trained.detector, "predicts_status", False))))
        if not rows:
            raise ConfigError("no detector could be trained on this data: "
                              + "; ".join(f"{k}: {v}" for k, v in failures.items()))
        context["notes"] += [f"{k} not compared: {v}" for k, v in failures.items()]
        _write_json(outdir / "compare.json", {"context": context, "rows": rows, "not_compared": failures,
                                              "assessments": reports})
        (outdir / "compare.md").write_text(comparison_markdown(rows, context), encoding="utf-8")
        (outdir / "compare.html").write_text(comparison_html(rows, context), encoding="utf-8")
        console.print(comparison_markdown(rows, context), highlight=False, markup=False, soft_wrap=True)
        console.print(f"written {outdir / 'compare.json'}, compare.md and compare.html", highlight=False)


def model_show(model: Path = typer.Argument(..., help="Model file written by `pumpguard train`.")) -> None:
    """Print a model file's card: detector, parameters, sensors, threshold, split, assessment.

    Example: pumpguard model show pca.skops
    """
    with user_errors():
        from pumpguard.detectors.model_file import model_card

        _print_lines(card_summary(model_card(_load(model))))


def model_import_pickle(
    pickle_file: Path = typer.Argument(..., help="A pickled estimator (.pkl), e.g. the seed study's model.pkl."),
    data: Path = typer.Option(..., "--data", help="Reference data: sets the sensor order, medians and the threshold."),
    out: Path = typer.Option(..., "--out", "-o", help="Safe model file to write."),
    trust: bool = typer.Option(False, "--trust", help="Say you trust the file: loading a pickle RUNS CODE from it."),
    train_fraction: float = typer.Option(0.6, "--train-fraction", help="Share of the time span used as reference rows."),
    false_alarm_rate: float = typer.Option(None, "--false-alarm-rate", help="Target share of NORMAL rows that alarm."),
) -> None:
    """Convert a pickle into a safe model file. WARNING: loading a pickle runs code from the file.

    The file's code can do anything your account can. Pass --trust only for a file you made or fully trust.

    Without --trust the command refuses and opens nothing.

    The estimator is not retrained: the reference data only give the sensor order, medians and threshold.

    Example: pumpguard model import-pickle model.pkl --data pump.csv --out model.skops --trust
    """
    with user_errors():
        if not trust:
            raise ModelFileError(
                f"{pickle_file}: refusing to open a pickle without --trust: loading a pickle runs code from the "
                "file. Pass --trust only if you made the file or fully trust who did.", path=pickle_file)
        from pumpguard.detectors.model_file import model_card, save_model
        from pumpguard.detectors.pickled import import_pickle

        detector = import_pickle(pickle_file, trust=True)
        dataset = _read(data)
        kwargs = {"train_fraction": train_fraction}
        if false_alarm_rate is not None:
            kwargs["false_alarm_rate"] = false_alarm_rate
        trained = _train_with_progress(dataset, detector, {}, **kwargs)
        save_model(trained, out)
        _print_lines(card_summary(model_card(trained)))
        console.print(f"written {out}", highlight=False)
