"""Classifiers trained on labelled rows: which state is the pump in *now*?

All four learn ``machine_status`` (or a 0/1 label) from the standardised, median-imputed sensor
values of one row (:class:`~pumpguard.detectors.supervised_base.SupervisedDetector`); the score is
the probability that the row is not NORMAL. Class imbalance (BROKEN is a handful of rows in 220,320)
is handled with balanced class weights: each class carries the same total weight.

``logistic_regression`` and ``gradient_boosting`` are fitted on every 10th NORMAL row
(``normal_stride=10``) and every other row: at one row a minute neighbouring normal minutes are
near duplicates; 144 rows a day still cover the daily cycle, and fitting is ten times cheaper.

Defaults are set for speed on a year of minute data (220,320 x 52 must train in well under a
minute on two cores and score >= 200,000 rows/s), not tuned on any labels:

- ``decision_tree``: depth <= 12, leaves of >= 20 rows (20 minutes: a leaf never rests on one
  transient).
- ``random_forest``: 50 trees, depth <= 12, each tree on 20 % of the rows (``max_samples=0.2``,
  ~44,000 minutes, a month of running per tree), ``n_jobs=2`` for training (scoring adds the
  trees in order in one thread, so a score is exactly reproducible). scikit-learn's unbounded
  defaults took ~5 minutes here and gained depth only on neighbouring, near-duplicate minutes.
- ``logistic_regression``: L2, ``C=1.0`` on standardised inputs, Newton-Cholesky solver (a few
  dozen sensors make the Hessian small; with failure rows weighted thousands of times, lbfgs had
  not converged after 300 iterations on a year of minutes, Newton-Cholesky converges in ~20).
- ``gradient_boosting``: :class:`~sklearn.ensemble.HistGradientBoostingClassifier`, 50 rounds at
  learning rate 0.2 (the rounds x rate budget of 10 of scikit-learn's 100 x 0.1, in half the trees:
  with three statuses every round adds three trees and scoring cost grows with trees), 31 leaves,
  leaves of >= 20 rows, no early stopping (it would carve a random, not time-ordered, validation set).

Contributions: for trees and boosting, ``importance_j * |z_j - c_j|`` (impurity-based importance for trees,
total split gain for boosting, times the row's standardised distance from the typical normal row ``c``);
for logistic regression, ``|w_j (z_j - c_j)|`` with ``w`` the anomalous-minus-NORMAL coefficients
weighted by the row's class probabilities: how far each sensor moves the log-odds.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from pumpguard.detectors._validation import check_fraction, check_positive_int
from pumpguard.detectors.supervised_base import SupervisedDetector

#: histogram bins per feature for gradient boosting. With sample weights scikit-learn 1.9 finds each
#: weighted bin edge by a separate weighted-percentile pass (measured: 42 s of a 51 s fit for 156
#: features at the default 255 bins); 63 quantile bins -- 1.6 % of the rows each -- are still finer
#: than the noise of a standardised sensor.
_MAX_BINS = 63


def _full_proba(model, Z: np.ndarray, n_classes: int) -> np.ndarray:
    proba = model.predict_proba(Z)
    if proba.shape[1] == n_classes:
        return proba
    out = np.zeros((len(Z), n_classes))  # a class absent from a bootstrap / tree
    out[:, model.classes_.astype(int)] = proba
    return out


class _ImportanceContributions:
    """Contributions = feature importance x standardised distance from the typical normal row."""

    def _contributions(self, frame):
        Z = self._standardised(frame)
        return self.feature_importances_ * np.abs(Z - self.normal_center_)


class DecisionTreeDetector(_ImportanceContributions, SupervisedDetector):
    """One decision tree on machine_status.

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(600, 2)), columns=["flow", "current"])
    >>> status = pd.Series(np.where(X["current"] > 1.5, "BROKEN", "NORMAL"))
    >>> det = DecisionTreeDetector().fit(X, status)
    >>> det.classes_
    ['NORMAL', 'BROKEN']
    >>> det.predict_status(pd.DataFrame({"flow": [0.0, 0.0], "current": [0.0, 3.0]})).tolist()
    ['NORMAL', 'BROKEN']
    """

    name: ClassVar[str] = "decision_tree"

    def __init__(self, *, max_depth: int = 12, min_samples_leaf: int = 20, random_state: int = 0):
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state

    def _check_params(self) -> None:
        check_positive_int("max_depth", self.max_depth)
        check_positive_int("min_samples_leaf", self.min_samples_leaf)

    def _fit_classifier(self, Z, codes, sample_weight) -> None:
        self.model_ = DecisionTreeClassifier(
            max_depth=self.max_depth, min_samples_leaf=self.min_samples_leaf, random_state=self.random_state
        ).fit(Z, codes, sample_weight=sample_weight)
        self.feature_importances_ = self.model_.feature_importances_

    def _proba(self, Z):
        return _full_proba(self.model_, Z, len(self.classes_))


class RandomForestDetector(_ImportanceContributions, SupervisedDetector):
    """A bounded random forest on machine_status (see the module text for the defaults).

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(600, 2)), columns=["flow", "current"])
    >>> status = pd.Series(np.where(X["current"] > 1.5, "BROKEN", "NORMAL"))
    >>> det = RandomForestDetector(n_estimators=20, max_samples=0.5).fit(X, status)
    >>> s = det.score_samples(pd.DataFrame({"flow": [0.0, 0.0], "current": [0.0, 3.0]}))
    >>> bool(s[0] < 0.5 < s[1])
    True
    """

    name: ClassVar[str] = "random_forest"

    def __init__(
        self,
        *,
        n_estimators: int = 50,
        max_depth: int = 12,
        max_samples: float = 0.2,
        min_samples_leaf: int = 5,
        random_state: int = 0,
        n_jobs: int = 2,
    ):
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.max_samples = max_samples
        self.min_samples_leaf = min_samples_leaf
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _check_params(self) -> None:
        check_positive_int("n_estimators", self.n_estimators)
        check_positive_int("max_depth", self.max_depth)
        check_fraction("max_samples", self.max_samples)
        check_positive_int("min_samples_leaf", self.min_samples_leaf)
        check_positive_int("n_jobs", self.n_jobs)

    def _fit_classifier(self, Z, codes, sample_weight) -> None:
        self.model_ = RandomForestClassifier(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            max_samples=self.max_samples,
            min_samples_leaf=self.min_samples_leaf,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        ).fit(Z, codes, sample_weight=sample_weight)
        # scoring adds the trees in order in one thread: threads add them in a varying order, and
        # a row's score must not change in the last bit between two calls
        self.model_.n_jobs = 1
        self.feature_importances_ = self.model_.feature_importances_

    def _proba(self, Z):
        return _full_proba(self.model_, Z, len(self.classes_))


class LogisticRegressionDetector(SupervisedDetector):
    """Multinomial logistic regression on machine_status.

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(600, 2)), columns=["flow", "current"])
    >>> status = pd.Series(np.where(X["current"] > 1.5, "BROKEN", "NORMAL"))
    >>> det = LogisticRegressionDetector().fit(X, status)
    >>> det.contributions(pd.DataFrame({"flow": [0.0], "current": [3.0]})).iloc[0].idxmax()
    'current'
    """

    name: ClassVar[str] = "logistic_regression"

    def __init__(self, *, C: float = 1.0, max_iter: int = 100, normal_stride: int = 10):
        self.C = C
        self.max_iter = max_iter
        self.normal_stride = normal_stride

    def _check_params(self) -> None:
        check_fraction("C", self.C, high=float("inf"))
        check_positive_int("max_iter", self.max_iter)
        check_positive_int("normal_stride", self.normal_stride)

    def _fit_classifier(self, Z, codes, sample_weight) -> None:
        self.model_ = LogisticRegression(C=self.C, max_iter=self.max_iter, solver="newton-cholesky").fit(
            Z, codes, sample_weight=sample_weight
        )
        coef = self.model_.coef_
        if coef.shape[0] == 1:  # binary: one row of log-odds of class 1 against class 0
            coef = np.vstack([np.zeros_like(coef[0]), coef[0]])
        #: per class, coefficients relative to the NORMAL (first) class
        self.relative_coef_ = coef - coef[0]

    def _proba(self, Z):
        return self.model_.predict_proba(Z)

    def _contributions(self, frame):
        Z = self._standardised(frame)
        proba = self._proba(Z)
        anomalous = [i for i, c in enumerate(self.classes_) if c in self.anomalous_classes_]
        p = proba[:, anomalous]
        weight = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-300)
        w = weight @ self.relative_coef_[anomalous]
        return np.abs(w * (Z - self.normal_center_))


class GradientBoostingDetector(SupervisedDetector):
    """Histogram gradient boosting on machine_status.

    Examples
    --------
    >>> import pandas as pd
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(600, 2)), columns=["flow", "current"])
    >>> status = pd.Series(np.where(X["current"] > 1.5, "BROKEN", "NORMAL"))
    >>> det = GradientBoostingDetector(max_iter=30).fit(X, status)
    >>> det.predict_status(pd.DataFrame({"flow": [0.0, 0.0], "current": [0.0, 3.0]})).tolist()
    ['NORMAL', 'BROKEN']
    """

    name: ClassVar[str] = "gradient_boosting"

    def __init__(
        self,
        *,
        max_iter: int = 50,
        learning_rate: float = 0.2,
        max_leaf_nodes: int = 31,
        min_samples_leaf: int = 20,
        normal_stride: int = 10,
        random_state: int = 0,
    ):
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.min_samples_leaf = min_samples_leaf
        self.normal_stride = normal_stride
        self.random_state = random_state

    def _check_params(self) -> None:
        check_positive_int("max_iter", self.max_iter)
        check_fraction("learning_rate", self.learning_rate)
        check_positive_int("max_leaf_nodes", self.max_leaf_nodes, minimum=2)
        check_positive_int("min_samples_leaf", self.min_samples_leaf)
        check_positive_int("normal_stride", self.normal_stride)

    def _fit_classifier(self, Z, codes, sample_weight) -> None:
        self.model_ = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            min_samples_leaf=self.min_samples_leaf,
            early_stopping=False,
            max_bins=_MAX_BINS,
            random_state=self.random_state,
        ).fit(Z, codes, sample_weight=sample_weight)
        self.feature_importances_ = split_gain_importance(self.model_, Z.shape[1])

    def _proba(self, Z):
        return self.model_.predict_proba(Z)

    _contributions = _ImportanceContributions._contributions


def split_gain_importance(model: HistGradientBoostingClassifier, n_features: int) -> np.ndarray:
    """Total split gain per feature over every tree of a fitted HistGradientBoosting model, sums to 1."""
    gain = np.zeros(n_features)
    for stage in model._predictors:
        for tree in stage:
            nodes = tree.nodes
            inner = nodes["is_leaf"] == 0
            np.add.at(gain, nodes["feature_idx"][inner], np.maximum(nodes["gain"][inner], 0.0))
    total = gain.sum()
    return gain / total if total > 0 else np.full(n_features, 1.0 / n_features)
