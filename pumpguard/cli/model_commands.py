"""``pumpguard train | predict | assess | compare | model show | model import-pickle``.

Thin: read the data (:func:`pumpguard.data.read_dataset`), call the detectors' training and model-file
functions and the pure evaluation functions, write the files, print a short summary.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
import typer

from pumpguard.cli import _model_runs as runs
from pumpguard.cli._common import console, err_console, user_errors, warn
from pumpguard.errors import ConfigError, DataFormatError, ModelFileError, PumpguardError


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


# ----------------------------------------------------------------------------------------- commands
def train(
    data: Path = typer.Argument(..., help="Sensor data: a CSV file, a Parquet file or a folder of Parquet files."),
    detector: str = typer.Option(..., "--detector", "-d", help="Detector name (pca, iforest, random_forest, early_warning, ...)."),
    param: list[str] = typer.Option([], "--param", "-p", help="A detector parameter as key=value; repeat for more."),
    out: Path = typer.Option(..., "--out", "-o", help="Model file to write (.skops)."),
    train_fraction: float = typer.Option(0.6, "--train-fraction", help="Share of the time span to train on (the first part)."),
    validation_fraction: float = typer.Option(0.2, "--validation-fraction", help="Share after it where the threshold is set."),
    false_alarm_rate: float = typer.Option(None, "--false-alarm-rate", help="Target share of NORMAL rows that alarm (default: one row a day at 1/min)."),
    exclude_events: Path = typer.Option(None, "--exclude-events", help="A fault or maintenance table (events.csv: start, end): rows inside those periods are not learned as normal."),
) -> None:
    """Train a detector on the first part of the data in time and save it with its model card.

    The rest of the time span is left untouched for `pumpguard assess`. machine_status says NORMAL
    while a leak grows or a sensor drifts; --exclude-events keeps such known periods out of what an
    unsupervised detector learns as normal (the card records how many rows were left out).

    Example: pumpguard train pump.csv --detector pca --param variance=0.9 --out pca.skops
    """
    with user_errors():
        from pumpguard.detectors.model_file import model_card, save_model
        from pumpguard.detectors.registry import parse_params

        params = parse_params(param)
        dataset = runs.read(data)
        kwargs = {"train_fraction": train_fraction, "validation_fraction": validation_fraction}
        if false_alarm_rate is not None:
            kwargs["false_alarm_rate"] = false_alarm_rate
        if exclude_events is not None:
            kwargs["exclude"] = runs.known_abnormal_rows(dataset, exclude_events)
        t0 = time.perf_counter()
        trained = runs.train_with_progress(dataset, detector, params, **kwargs)
        seconds = time.perf_counter() - t0
        save_model(trained, out)
        runs.print_lines(runs.card_summary(model_card(trained)))
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
        trained = runs.load(model)
        dataset = runs.read(data)
        scored = runs.score(trained, dataset)
        shares = trained.detector.contributions(scored["X"])
        table = pd.DataFrame({
            "timestamp": [t.isoformat() for t in scored["scores"].index],
            "score": scored["scores"].to_numpy(),
            "threshold": float(trained.threshold),
            "anomaly": pd.array(scored["alarms"].to_numpy(), dtype="Int64"),
        })
        if scored["status"] is not None:
            table["status"] = scored["status"].to_numpy()
        top = runs.top_contributions(shares).reset_index(drop=True)
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
    network: str = typer.Option(None, "--network", help="Network the data were simulated on (name or .inp), for localising leaks when events.csv lies beside the data (default: as recorded in sensors.json, else the default network)."),
) -> None:
    """Assess a model on the rows after its training and validation slices (time-ordered).

    Writes DIR/assessment.json and an offline DIR/assessment.html. Definitions: docs/assessment.md.
    Simulated data with events.csv (and sensors.json) beside them also get the fault-event assessment
    and the leak/burst localisation.

    Example: pumpguard assess pump.csv --model pca.skops --out report/ --horizon 12h
    """
    with user_errors():
        from pumpguard.evaluation import headline

        trained = runs.load(model)
        dataset = runs.read(data)
        report = runs.assess_to_folder(trained, dataset, out, everything=everything,
                                       horizon=runs.parse_horizon(horizon), model_label=str(model),
                                       data_path=data, network=network)
        head = headline(report)
        if update_model:
            from pumpguard.detectors.model_file import update_card

            update_card(model, {"assessed": report["slice"], "horizon_s": report["horizon_s"], **head})
        runs.print_lines(runs.headline_lines(report, head))
        console.print(f"written {out / 'assessment.json'} and {out / 'assessment.html'}"
                      + (f"; model card of {model} updated" if update_model else ""), highlight=False, soft_wrap=True)


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
        from pumpguard.evaluation.report import score_timeline_png

        names = [n.strip() for n in detectors.split(",") if n.strip()]
        if not names:
            raise ConfigError(f"--detectors {detectors!r}: expected comma-separated names, e.g. pca,iforest")
        from pumpguard.detectors.registry import DETECTORS

        unknown = [n for n in names if n not in DETECTORS]
        if unknown:
            raise ConfigError(f"--detectors: unknown detector(s) {unknown}; known: {', '.join(sorted(DETECTORS))}")
        dataset = runs.read(data)
        if dataset.labels.shape[1] == 0:
            raise DataFormatError(f"{data}: no label column to assess against",
                                  expected="a machine_status or anomaly column")
        params = runs.per_detector_params(param, names)
        h = runs.parse_horizon(horizon)
        if shuffled_split:
            warn(runs.SHUFFLED_SPLIT_WARNING)
        rows, failures, reports, figures = [], {}, {}, {}
        context: dict = {"data": str(data), "split": "shuffled (MISLEADING)" if shuffled_split else "time-ordered",
                         "notes": [runs.SHUFFLED_SPLIT_WARNING] if shuffled_split else []}
        outdir = runs.out_dir(out)
        for name in names:
            err_console.print(f"[bold]{name}[/]: training", highlight=False)
            t0 = time.perf_counter()
            try:
                if shuffled_split:
                    det, mask = runs.shuffled_model(dataset, name, params[name], train_fraction=train_fraction,
                                                validation_fraction=validation_fraction,
                                                false_alarm_rate=false_alarm_rate)
                    trained = runs.BareModel(det, dataset.sensor_ids)
                    start, rule = None, "shuffled split (MISLEADING): the randomly held-out rows"
                else:
                    kwargs = {"train_fraction": train_fraction, "validation_fraction": validation_fraction}
                    if false_alarm_rate is not None:
                        kwargs["false_alarm_rate"] = false_alarm_rate
                    trained = train_model(dataset, name, params[name], **kwargs)
                    start, rule = runs.assessed_slice(trained, False)
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
            scored = runs.score(trained, dataset)
            labels = dataset.labels.loc[scored["scores"].index]
            s, a, st = scored["scores"], scored["alarms"], scored["status"]
            if mask is not None:
                s, a, labels = s[mask], a[mask], labels[mask]
                st = None if st is None else st[mask]
            report = assess_scores(s, a, labels, threshold=trained.threshold, predicted_status=st,
                                   horizon=h, start=start, slice_rule=rule)
            reports[name] = report
            if report["slice"]["rows"]:
                shown = s.index >= pd.Timestamp(report["slice"]["start"])
                figures[name] = score_timeline_png(s[shown], labels[shown], threshold=trained.threshold,
                                                   horizon=pd.Timedelta(seconds=report["horizon_s"]),
                                                   title=f"{name}: score and threshold over the assessed rows")
            context.setdefault("slice", f"{report['slice']['rule']} ({report['slice']['rows']:,} rows)")
            context["horizon_s"] = report["horizon_s"]
            rows.append(comparison_row(name, train_s, scored["rows_per_s"], headline(report),
                                       supervised=bool(getattr(trained.detector, "predicts_status", False))))
        if not rows:
            raise ConfigError("no detector could be trained on this data: "
                              + "; ".join(f"{k}: {v}" for k, v in failures.items()))
        context["notes"] += [f"{k} not compared: {v}" for k, v in failures.items()]
        runs.write_json(outdir / "compare.json", {"context": context, "rows": rows, "not_compared": failures,
                                              "assessments": reports})
        (outdir / "compare.md").write_text(comparison_markdown(rows, context), encoding="utf-8")
        (outdir / "compare.html").write_text(comparison_html(rows, context, figures=figures), encoding="utf-8")
        console.print(comparison_markdown(rows, context), highlight=False, markup=False, soft_wrap=True)
        console.print(f"written {outdir / 'compare.json'}, compare.md and compare.html", highlight=False)


def model_show(model: Path = typer.Argument(..., help="Model file written by `pumpguard train`.")) -> None:
    """Print a model file's card: detector, parameters, sensors, threshold, split, assessment.

    Example: pumpguard model show pca.skops
    """
    with user_errors():
        from pumpguard.detectors.model_file import model_card

        runs.print_lines(runs.card_summary(model_card(runs.load(model))))


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
        dataset = runs.read(data)
        kwargs = {"train_fraction": train_fraction}
        if false_alarm_rate is not None:
            kwargs["false_alarm_rate"] = false_alarm_rate
        trained = runs.train_with_progress(dataset, detector, {}, **kwargs)
        save_model(trained, out)
        runs.print_lines(runs.card_summary(model_card(trained)))
        console.print(f"written {out}", highlight=False)
