"""Assessing a trained model on a dataset and writing the assessment folder.

Time-ordered by default: only rows after the model's training and validation slices. The shuffled
split exists only as the misleading baseline that ``compare --shuffled-split`` shows on request.
With a fault table beside the data (simulated runs), the report also scores every injected fault and
locates leaks and bursts (:mod:`pumpguard.workflows.fault_assessment`).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from pumpguard.errors import ConfigError, DataFormatError
from pumpguard.workflows.scoring import score


#: Why a shuffled split is shown only on request (printed whenever it is used).
SHUFFLED_SPLIT_WARNING = (
    "--shuffled-split: rows are assigned to training/validation/assessment at random. This MISLEADS: "
    "the future leaks into training (each failure's build-up and recovery land on both sides), and "
    "neighbouring minutes are near-duplicates, so held-out rows are interpolated rather than predicted. "
    "Expect numbers far better than the detector will do on new data; use the default time-ordered split "
    "to judge it."
)


def parse_horizon(text: str | None):
    from pumpguard.evaluation import parse_horizon

    return None if text is None else parse_horizon(text)


def assessed_slice(trained, everything: bool) -> tuple[object, str]:
    if everything:
        return None, ("all rows (--all): includes the rows the model was trained and calibrated on, "
                      "so the numbers are optimistic")
    return trained.test_start, (f"time-ordered: only rows from {trained.validation_end} on, after the "
                                "training and validation slices")


def write_json(path: Path, obj) -> None:
    path.write_text(json.dumps(obj, indent=2, default=str, allow_nan=False) + "\n", encoding="utf-8")


def out_dir(path: Path) -> Path:
    if path.exists() and not path.is_dir():
        raise ConfigError(f"--out {path}: a file of that name exists; expected a folder for the reports")
    path.mkdir(parents=True, exist_ok=True)
    return path


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


def assess_to_folder(trained, dataset, outdir: Path, *, everything: bool = False, horizon=None,
                     model_label: str = "", data_path: Path | None = None, fault_dir: Path | None = None,
                     network: str | None = None) -> dict:
    """Score ``dataset`` with ``trained``, assess it, write ``assessment.json`` and ``assessment.html``
    into ``outdir``; returns the report (the dict of :func:`pumpguard.evaluation.assess`).

    With a fault table (``events.csv`` in ``fault_dir``, or beside ``data_path``/the dataset's source)
    the report also has ``faults`` and ``localisation`` (:mod:`pumpguard.workflows.fault_assessment`); ``network``
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
    from pumpguard.workflows.fault_assessment import assess_faults_and_locations

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


def known_abnormal_rows(dataset, events_path: Path) -> pd.Series:
    """True on the rows of ``dataset`` inside a period of a fault or maintenance table (``events.csv``),
    for ``train(..., exclude=...)``: what an outside record says was not normal running."""
    from pumpguard.data.events import read_events
    from pumpguard.evaluation.faults import fault_rows

    events = read_events(events_path)
    index = dataset.frame.index
    return pd.Series(fault_rows(index, events), index=index)
