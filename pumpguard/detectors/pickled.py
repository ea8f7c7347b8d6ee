"""Importing a plain pickle (the study's ``model.pkl``: a bare scikit-learn estimator) -- only on trust.

Unpickling runs code chosen by whoever wrote the file, so :func:`import_pickle` refuses unless the
caller says ``trust=True``. The estimator is wrapped in :class:`PickledEstimator`, a pumpguard
detector; after ``fit`` on reference rows (which only learns the sensor order and medians -- the
estimator is *not* retrained) it is saved as a safe skops model file like any other.

Score: ``1 - P(NORMAL)`` for a classifier with a ``NORMAL`` class, else the probability of its
last class (``predict_proba``); ``-score_samples`` for an outlier detector (IsolationForest,
OneClassSVM: higher = more anomalous); else ``decision_function``. Input: raw readings in the
estimator's feature order (``feature_names_in_`` when it has them, else the reference table's
column order), missing readings replaced by the reference median (the shared rule).
Contributions: the estimator has none to offer, so the proxy of ``iforest`` is used: squared
distance of each reading from its reference median, in reference standard deviations.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from pumpguard.detectors.base import Detector
from pumpguard.errors import ConfigError, ModelFileError


class PickledEstimator(Detector):
    """Adapter making a fitted scikit-learn estimator a pumpguard detector.

    Examples
    --------
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(300, 2)), columns=["flow", "current"])
    >>> tree = DecisionTreeClassifier(max_depth=3, random_state=0).fit(
    ...     X.to_numpy(), np.where(X["current"] > 1, "BROKEN", "NORMAL"))
    >>> det = PickledEstimator(estimator=tree).fit(X)
    >>> det.score_samples(pd.DataFrame({"flow": [0.0, 0.0], "current": [0.0, 2.0]})).tolist()
    [0.0, 1.0]
    """

    name: ClassVar[str] = "pickled"

    def __init__(self, *, estimator: Any = None):
        self.estimator = estimator

    def _check_params(self) -> None:
        est = self.estimator
        if est is None or not any(hasattr(est, m) for m in ("predict_proba", "score_samples", "decision_function")):
            raise ConfigError(
                f"PickledEstimator: {type(est).__name__} has no predict_proba, score_samples or "
                "decision_function, so it cannot give a score"
            )

    def _fit(self, frame: pd.DataFrame, y) -> None:
        est = self.estimator
        names = getattr(est, "feature_names_in_", None)
        if names is not None and sorted(map(str, names)) != sorted(self.sensors_):
            raise ConfigError(
                f"the pickled estimator was trained on columns {list(map(str, names))}; the reference table has "
                f"{self.sensors_}. Fix: give a table with exactly those sensor columns"
            )
        n_in = getattr(est, "n_features_in_", self.n_sensors_)
        if n_in != self.n_sensors_:
            raise ConfigError(
                f"the pickled estimator expects {n_in} features; the reference table has {self.n_sensors_} "
                "sensor columns. Fix: select the columns it was trained on, in that order"
            )
        self.feature_order_ = [str(c) for c in names] if names is not None else list(self.sensors_)
        self.median_z_ = (self.median_ - self.mean_) / self.scale_

    def _inputs(self, frame: pd.DataFrame):
        values = frame.to_numpy(dtype="float64", na_value=np.nan)
        values = np.where(np.isfinite(values), values, self.median_)
        table = pd.DataFrame(values, columns=self.sensors_)[self.feature_order_]
        has_names = getattr(self.estimator, "feature_names_in_", None) is not None
        return table if has_names else table.to_numpy()

    def _score(self, frame: pd.DataFrame) -> np.ndarray:
        est, inputs = self.estimator, self._inputs(frame)
        if hasattr(est, "predict_proba"):
            proba = est.predict_proba(inputs)
            classes = [str(c) for c in getattr(est, "classes_", range(proba.shape[1]))]
            if "NORMAL" in classes:
                return 1.0 - proba[:, classes.index("NORMAL")]
            return proba[:, -1]
        if hasattr(est, "score_samples"):
            return -np.asarray(est.score_samples(inputs), dtype="float64")
        return np.asarray(est.decision_function(inputs), dtype="float64").reshape(len(frame), -1)[:, -1]

    def _contributions(self, frame: pd.DataFrame) -> np.ndarray:
        return (self._standardised(frame) - self.median_z_) ** 2


def import_pickle(path: str | Path, *, trust: bool) -> PickledEstimator:
    """Unpickle the estimator at ``path`` -- only with ``trust=True`` -- and wrap it (unfitted).

    Then ``fit`` it on reference rows (learns sensor order and medians, does not retrain) and
    train/save it like any detector, e.g. ``train(dataset, import_pickle(p, trust=True))``.
    """
    path = Path(path)
    if not trust:
        raise ModelFileError(
            f"refusing to load {path}: a pickle file runs code from the file while it is loaded, so it can do "
            "anything your account can. Load it only if you made it or fully trust its source, by passing "
            "trust=True (command line: pumpguard model import-pickle FILE ... --trust); then save it again as a safe pumpguard model file.",
            path=path,
        )
    try:
        with path.open("rb") as fh:
            estimator = pickle.load(fh)  # noqa: S301 -- the caller said they trust this file
    except FileNotFoundError:
        raise
    except Exception as exc:
        raise ModelFileError(f"{path} could not be unpickled ({type(exc).__name__}: {exc})", path=path) from None
    if isinstance(estimator, Detector):
        return estimator  # type: ignore[return-value]
    return PickledEstimator(estimator=estimator)
