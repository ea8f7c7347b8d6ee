"""Early warning: the probability that a failure starts within a horizon ``H`` (default 12 h).

Training label (:func:`pumpguard.detectors.labels.failure_within`): a row is 1 when a BROKEN
start follows within ``H``, else 0. Rows inside BROKEN / RECOVERING are left out of training: the
question is "is a failure coming?", asked while the pump still runs normally.

Why 12 h: precursors of pump failures (bearing wear, seal leaks, cavitation) build up over hours,
and twelve hours is one shift of notice -- time to plan a stop rather than suffer one. It is a
parameter (``horizon="6h"``).

Features (all **causal**: a row sees only itself and earlier rows of the same batch), from the
standardised, median-imputed readings: their rolling mean over the last ``short_window`` rows
(30, half an hour at one row a minute: the current level without minute-to-minute noise -- a
15-minute lag is nothing against a 12-hour horizon), their rolling mean and
rolling standard deviation over the last ``long_window`` rows (120, two hours: the slow drift
and the growing unsteadiness that precede a failure). The first rows of a batch have shorter
windows (whatever history exists). This detector is therefore ``time_aware``: score a contiguous
stretch in time order, with history before the rows you care about.

Model: :class:`~sklearn.ensemble.HistGradientBoostingClassifier` with balanced class weights, fitted
on every ``normal_stride``-th (10th) "no failure ahead" row and every "failure ahead" row
(50 rounds at learning rate 0.2 -- the same rounds x rate budget of 10 as scikit-learn's 100 x 0.1, in
half the trees, because scoring cost grows with trees -- 31 leaves, no early stopping: it would
split randomly, not in time).

Contributions: per feature, total split gain times the distance of the feature from its median over
normal training rows, summed over the features of each sensor.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier

from pumpguard.detectors._validation import check_fraction, check_positive_int
from pumpguard.detectors.base import Detector, balanced_weights, thin_normal_rows
from pumpguard.detectors.labels import failure_within, parse_horizon
from pumpguard.detectors.supervised import _MAX_BINS, split_gain_importance
from pumpguard.errors import ConfigError, DataFormatError

#: the machine_status values early warning learns from
_STATUSES = {"NORMAL", "BROKEN", "RECOVERING"}


def _trailing_mean(cumulative: np.ndarray, window: int, out: np.ndarray) -> np.ndarray:
    """Into ``out``: mean of the last ``window`` columns up to each column, from a cumulative sum
    along the columns (sensors x rows, row-contiguous)."""
    n = cumulative.shape[1]
    k = min(window, n)
    np.divide(cumulative[:, :k], np.arange(1, k + 1), out=out[:, :k])
    np.subtract(cumulative[:, k:], cumulative[:, :-k], out=out[:, k:])
    out[:, k:] /= window
    return out


def causal_window_features(Z: np.ndarray, short_window: int, long_window: int) -> np.ndarray:
    """``[mean_short, mean_long, std_long]`` (rows x 3*sensors); row ``i`` uses rows ``<= i`` only.

    Examples
    --------
    >>> causal_window_features(np.array([[1.0], [3.0], [5.0]]), 2, 3)[:, 0].tolist()
    [1.0, 2.0, 4.0]
    """
    T = np.ascontiguousarray(Z.T)  # sensors x rows: cumulative sums run along contiguous memory
    p = T.shape[0]
    # built transposed and returned as a column-major (rows x features) view: no copy, and
    # scikit-learn's boosting predicts faster from column-major input
    out = np.empty((3 * p, T.shape[1]))
    levels = np.cumsum(T, axis=1)
    _trailing_mean(levels, short_window, out[:p])
    mean_long = _trailing_mean(levels, long_window, out[p : 2 * p])
    del levels
    np.multiply(T, T, out=T)
    squares = np.cumsum(T, axis=1)
    var = _trailing_mean(squares, long_window, out[2 * p :])
    var -= mean_long**2
    np.maximum(var, 0.0, out=var)
    np.sqrt(var, out=var)
    return out.T


class EarlyWarningDetector(Detector):
    """Gradient-boosted probability of a failure within ``horizon``, from causal window features.

    ``fit(X, y)`` needs ``y`` = machine_status and ``X`` indexed by time.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> idx = pd.date_range("2018-04-01", periods=3000, freq="min", tz="UTC", name="timestamp")
    >>> X = pd.DataFrame(rng.normal(size=(3000, 2)), columns=["vibration", "flow"], index=idx)
    >>> status = pd.Series("NORMAL", index=idx)
    >>> for start in (800, 1800, 2700):
    ...     X.iloc[start - 50:start, 0] += np.linspace(0, 4, 50)   # vibration creeps up first
    ...     status.iloc[start:start + 60] = "BROKEN"
    >>> det = EarlyWarningDetector(horizon="1h", max_iter=30).fit(X, status)
    >>> p = det.score_samples(X)
    >>> bool(p[760:800].mean() > p[100:700].mean())
    True
    """

    name: ClassVar[str] = "early_warning"
    supervised: ClassVar[bool] = True
    time_aware: ClassVar[bool] = True
    conformance_params: ClassVar[dict] = {"horizon": "1h", "max_iter": 30}

    def __init__(
        self,
        *,
        horizon: str = "12h",
        short_window: int = 30,
        long_window: int = 120,
        max_iter: int = 50,
        learning_rate: float = 0.2,
        max_leaf_nodes: int = 31,
        normal_stride: int = 10,
        random_state: int = 0,
    ):
        self.horizon = horizon
        self.short_window = short_window
        self.long_window = long_window
        self.max_iter = max_iter
        self.learning_rate = learning_rate
        self.max_leaf_nodes = max_leaf_nodes
        self.normal_stride = normal_stride
        self.random_state = random_state

    def _check_params(self) -> None:
        parse_horizon(self.horizon)
        check_positive_int("short_window", self.short_window)
        check_positive_int("long_window", self.long_window)
        check_positive_int("max_iter", self.max_iter)
        check_fraction("learning_rate", self.learning_rate)
        check_positive_int("max_leaf_nodes", self.max_leaf_nodes, minimum=2)
        check_positive_int("normal_stride", self.normal_stride)

    def _features(self, frame: pd.DataFrame) -> np.ndarray:
        return causal_window_features(self._standardised(frame), self.short_window, self.long_window)

    def _fit(self, frame: pd.DataFrame, y: pd.Series | None) -> None:
        if not isinstance(frame.index, pd.DatetimeIndex):
            raise DataFormatError(
                "early_warning: X must be indexed by time (a DatetimeIndex)",
                found=type(frame.index).__name__,
                hint="pass dataset.values, whose index is the timestamp",
            )
        status = pd.Series(y.astype(str).str.upper().to_numpy(), index=frame.index)
        found = sorted(set(status.unique().tolist()))
        if not set(found) <= _STATUSES or "NORMAL" not in found:
            raise ConfigError(
                "early_warning needs machine_status labels (NORMAL / BROKEN / RECOVERING) to learn what "
                f"precedes a failure; the labels given are {found[:5]}"
                + (" ..." if len(found) > 5 else "")
                + ". Data without a machine_status column (SKAB's anomaly 0/1, say) have no failure "
                "starts: use an anomaly detector instead (pca, adaptive_t2, iforest), or gradient_boosting "
                "on the anomaly label"
            )
        ahead = failure_within(status, self.horizon).to_numpy()
        train = (status == "NORMAL").to_numpy()
        target = ahead[train]
        if target.min() == target.max():
            raise DataFormatError(
                "early_warning: the training span has no NORMAL row followed by a failure within the horizon",
                found=f"{int(target.sum())} rows labelled 'failure ahead'",
                hint=f"train on a span that contains at least one BROKEN start, or lengthen horizon={self.horizon!r}",
            )
        features = self._features(frame)[train]
        self.normal_center_ = np.median(features[target == 0], axis=0)
        # every normal_stride-th "no failure ahead" row (neighbouring minutes are near duplicates,
        # the more so for window means), every "failure ahead" row; balanced weights after thinning
        keep = thin_normal_rows(target == 0, self.normal_stride)
        features, target = features[keep], target[keep]
        weight = balanced_weights(target, 2)
        self.classes_ = [0, 1]
        self.model_ = HistGradientBoostingClassifier(
            max_iter=self.max_iter,
            learning_rate=self.learning_rate,
            max_leaf_nodes=self.max_leaf_nodes,
            early_stopping=False,
            max_bins=_MAX_BINS,
            random_state=self.random_state,
        ).fit(features, target, sample_weight=weight)
        self.feature_importances_ = split_gain_importance(self.model_, features.shape[1])
        self.n_failure_ahead_rows_ = int(target.sum())

    def _score(self, frame: pd.DataFrame) -> np.ndarray:
        return self.model_.predict_proba(self._features(frame))[:, 1]

    def _contributions(self, frame: pd.DataFrame) -> np.ndarray:
        parts = self.feature_importances_ * np.abs(self._features(frame) - self.normal_center_)
        return parts.reshape(len(frame), 3, self.n_sensors_).sum(axis=1)
