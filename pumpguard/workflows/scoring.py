"""Scoring a dataset with a trained model: scores, alarms, predicted status, the top sensors.

Shared by ``pumpguard predict | assess | compare``, the HTTP API and the demo.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd


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


class BareModel:
    """What `_score` needs of a TrainedModel, for a detector fitted outside `train`."""

    def __init__(self, detector, sensors):
        self.detector, self.sensor_ids, self.threshold = detector, list(sensors), float(detector.threshold_)
