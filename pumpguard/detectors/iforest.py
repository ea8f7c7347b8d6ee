"""Isolation forest (Liu, Ting & Zhou 2008) on standardised sensors.

An anomaly is easy to isolate: random axis-aligned cuts separate it from the crowd in few steps.
scikit-learn's :class:`~sklearn.ensemble.IsolationForest` is fitted on NORMAL rows standardised with
the training mean and standard deviation; the score is ``-IsolationForest.score_samples`` (about
0.5 for ordinary rows, towards 1 for rows isolated in few cuts), so higher is more anomalous.

Defaults are the paper's: 100 trees of 256 rows each (the paper shows path lengths converge well
before that; more rows per tree make anomalies *harder* to isolate, "swamping"). ``random_state``
fixes the trees.

Missing readings: the shared rule, the sensor's **training median**.

Contributions -- be honest: the forest has no cheap exact per-sensor attribution. pumpguard reports
each sensor's squared deviation from its training median in training standard deviations,
``((x_j - median_j) / std_j)**2``: *which sensors are furthest from usual*, a proxy that agrees with
the forest on single-sensor faults and can disagree on faults that only break a correlation.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.ensemble import IsolationForest

from pumpguard.detectors._validation import check_positive_int
from pumpguard.detectors.base import Detector


class IsolationForestDetector(Detector):
    """Isolation-forest detector.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(1000, 3)), columns=["p1", "p2", "flow"])
    >>> det = IsolationForestDetector(random_state=0).fit(X)
    >>> test = pd.DataFrame({"p1": [0.0, 6.0], "p2": [0.0, 0.0], "flow": [0.0, 0.0]})
    >>> s = det.score_samples(test)
    >>> bool(s[1] > s[0])
    True
    >>> det.contributions(test).iloc[1].idxmax()
    'p1'
    """

    name: ClassVar[str] = "iforest"

    def __init__(self, *, n_estimators: int = 100, max_samples: int = 256, random_state: int = 0, n_jobs: int = 1):
        self.n_estimators = n_estimators
        self.max_samples = max_samples
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _check_params(self) -> None:
        check_positive_int("n_estimators", self.n_estimators)
        check_positive_int("max_samples", self.max_samples, minimum=2)
        check_positive_int("n_jobs", self.n_jobs)

    def _fit(self, frame: pd.DataFrame, y) -> None:
        Z = self._standardised(frame)
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            max_samples=min(self.max_samples, len(Z)),
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        ).fit(Z)
        self.median_z_ = (self.median_ - self.mean_) / self.scale_

    def _score(self, frame: pd.DataFrame) -> np.ndarray:
        return -self.forest_.score_samples(self._standardised(frame))

    def _contributions(self, frame: pd.DataFrame) -> np.ndarray:
        return (self._standardised(frame) - self.median_z_) ** 2
