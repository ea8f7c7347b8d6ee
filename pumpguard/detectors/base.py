"""The one detector shape every pumpguard detector has (after scikit-learn's ``BaseEstimator``).

A detector is built with keyword-only parameters (stored, nothing else), fitted on a table of sensor
columns, and afterwards scores rows: **higher = more anomalous**. Subclasses implement three hooks:

- ``_fit(frame, y)``: learn state (attributes ending in ``_``); ``frame`` is float64, in sensor
  order, label columns dropped, rows with no usable reading removed.
- ``_score(frame) -> ndarray``: one float per row. Must not change the detector. Unless the class
  says ``time_aware = True`` a row's score depends on that row alone; a time-aware detector may use
  *previous* rows of the batch (causal) and documents how.
- ``_contributions(frame) -> ndarray``: rows x sensors, non-negative, each sensor's part of the
  score (the base class normalises rows to sum to 1).

The base class does everything shared: input checks (:mod:`._validation`), the training statistics
(``mean_``, ``scale_``, ``median_``) and the shared missing-value rule, unscorable rows, the
threshold (:mod:`.threshold`) and ``predict``. Classifiers trained on labelled rows share
:class:`~pumpguard.detectors.supervised_base.SupervisedDetector` (:mod:`.supervised_base`).

Missing values (shared rule, :meth:`Detector._standardised`): a missing reading is replaced by its
sensor's **training median** before scoring. A row in which no usable sensor has a reading is
*unscorable*: its score, prediction and contributions are NaN -- never "normal". A sensor with no
finite value in the training data (e.g. ``sensor_15`` of the pump record) is kept as a column but
ignored (``unusable_sensors_``): it always contributes 0.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from pumpguard.detectors._validation import (
    check_fitted,
    check_row_dict,
    check_scoring_frame,
    check_target,
    check_training_frame,
)
from pumpguard.detectors.compute_threads import COMPUTE_THREADS, compute_threads_held, limit_threads  # noqa: F401  (re-exported)
from pumpguard.detectors.threshold import DEFAULT_FALSE_ALARM_RATE, calibrate
from pumpguard.errors import DataFormatError, NotFittedError

#: a training standard deviation below this (relative to the level) counts as a constant sensor
_CONSTANT_RTOL = 1e-9


class Detector(BaseEstimator, ABC):
    """Abstract base of every detector (see the module text for the contract).

    Class attributes: ``name`` (the registry key), ``supervised`` (``fit`` needs ``y``),
    ``time_aware`` (the score of a row may use earlier rows of the same batch),
    ``streaming`` (the class implements ``learn_one``), ``predicts_status`` (it has
    ``predict_status``), ``conformance_params`` (parameters for the shared conformance test's small
    synthetic data, e.g. a short horizon).

    Examples
    --------
    A detector that scores the largest standardised deviation from the training mean:

    >>> class Deviation(Detector):
    ...     name = "deviation"
    ...     def __init__(self, *, power=2.0):
    ...         self.power = power
    ...     def _fit(self, frame, y):
    ...         pass
    ...     def _score(self, frame):
    ...         return (np.abs(self._standardised(frame)) ** self.power).sum(axis=1)
    ...     def _contributions(self, frame):
    ...         return np.abs(self._standardised(frame)) ** self.power
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame(rng.normal(size=(500, 2)), columns=["p1", "p2"])
    >>> det = Deviation().fit(X).set_threshold(X, false_alarm_rate=0.01)
    >>> det.get_params()
    {'power': 2.0}
    >>> test = pd.DataFrame({"p2": [0.0, 9.0, np.nan], "p1": [0.1, 0.0, np.nan]})
    >>> det.predict(test)
    array([ 0.,  1., nan])
    >>> det.contributions(test).round(2)
         p1   p2
    0  1.00  0.00
    1  0.00  1.00
    2   NaN   NaN
    """

    name: ClassVar[str] = ""
    supervised: ClassVar[bool] = False
    time_aware: ClassVar[bool] = False
    streaming: ClassVar[bool] = False
    #: the class has ``predict_status`` (NORMAL / BROKEN / RECOVERING)
    predicts_status: ClassVar[bool] = False
    #: parameters the shared conformance test uses (small synthetic data: a few thousand minutes)
    conformance_params: ClassVar[dict] = {}

    # ------------------------------------------------------------------ hooks for subclasses
    def _check_params(self) -> None:
        """Validate parameters (called at the start of ``fit``); raise ConfigError."""

    @abstractmethod
    def _fit(self, frame: pd.DataFrame, y: pd.Series | None) -> None: ...

    @abstractmethod
    def _score(self, frame: pd.DataFrame) -> np.ndarray: ...

    @abstractmethod
    def _contributions(self, frame: pd.DataFrame) -> np.ndarray: ...

    # ------------------------------------------------------------------ public API
    def fit(self, X: pd.DataFrame, y: pd.Series | None = None) -> "Detector":
        """Learn from ``X`` (rows x sensors). Unsupervised detectors expect NORMAL rows only."""
        self._check_params()
        frame = check_training_frame(X)
        target = check_target(y, frame) if self.supervised else None
        self._forget()
        try:
            self._fit_checked(frame, target)
        except BaseException:
            self._forget()  # a failed fit leaves no half-fitted detector behind
            raise
        return self

    def _forget(self) -> None:
        """Drop every learned attribute (names ending in ``_``), keeping the parameters."""
        for attr in [a for a in vars(self) if a.endswith("_") and not a.startswith("__")]:
            del self.__dict__[attr]

    def _fit_checked(self, frame: pd.DataFrame, target: pd.Series | None) -> None:
        self.sensors_ = [str(c) for c in frame.columns]
        self.n_sensors_ = len(self.sensors_)
        values = frame.to_numpy(dtype="float64", na_value=np.nan)
        self._learn_scaling(values)
        keep = self._scorable(values)
        if keep.sum() < 2:
            raise DataFormatError(
                "fit: fewer than 2 rows have a usable sensor reading",
                found=int(keep.sum()),
                expected="at least 2 rows with a reading",
            )
        frame = frame[keep]
        if target is not None:
            target = target[keep]
        # a fit may be the first use of a native library (OpenMP of a boosting model): look again
        with limit_threads(rescan=True):
            self._fit(frame, target)

    def score_samples(self, X: pd.DataFrame) -> np.ndarray:
        """One float per row, higher = more anomalous; NaN for a row with no usable reading."""
        frame = self._checked(X, "score_samples")
        with limit_threads():
            raw = self._score(frame)
        return self._final_scores(raw, self._scorable_rows(frame))

    def contributions(self, X: pd.DataFrame) -> pd.DataFrame:
        """Rows x ``sensors_`` (index of ``X``): each sensor's non-negative share of the row's score.

        Rows sum to 1 where any sensor contributes; rows of zeros where none does; NaN rows for
        unscorable rows.
        """
        frame = self._checked(X, "contributions")
        with limit_threads():
            raw = self._contributions(frame)
        return self._final_shares(raw, self._scorable_rows(frame), frame.index)

    def score_and_contributions(self, X: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """``(score_samples(X), contributions(X))`` from one input check and one pass.

        The same values as the two separate calls (the conformance test checks it), for callers
        that need both, like the stream scorer: the fixed cost of a call is paid once, and a
        detector whose score and contributions share work (``_score_and_contributions``) does it
        once.
        """
        frame = self._checked(X, "score_and_contributions")
        with limit_threads():
            raw_scores, raw_parts = self._score_and_contributions(frame)
        scorable = self._scorable_rows(frame)
        return self._final_scores(raw_scores, scorable), self._final_shares(raw_parts, scorable, frame.index)

    def score_matrix(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """``score_and_contributions`` of rows already in the columns of ``sensors_``, as two arrays.

        ``values``: rows x ``sensors_`` in that order, float64, NaN = no reading. The column order
        is the caller's promise (only the width is checked) and no frame is built, so a call costs
        ~0.1 ms instead of ~1 ms: this is the stream scorer's path, which scores a handful of rows
        many times a second. Returns ``(scores, shares)``: the same numbers as
        :meth:`score_and_contributions` (the conformance test checks it), shares as a plain array.
        A row-wise detector only: a time-aware one needs the rows' times.
        """
        check_fitted(self)
        values = np.asarray(values, dtype="float64")
        if values.ndim != 2 or values.shape[1] != self.n_sensors_:
            raise DataFormatError(
                "score_matrix: expected rows x sensors_ in the order of sensors_",
                found=f"shape {values.shape}",
                expected=f"(rows, {self.n_sensors_})",
            )
        if self.time_aware:
            raise DataFormatError(
                f"score_matrix: {type(self).__name__} is time-aware and needs the rows' times",
                found="a plain matrix",
                expected="score_and_contributions(frame) with a DatetimeIndex",
            )
        with limit_threads():
            raw_scores, raw_parts = self._score_and_contributions_values(values)
        scorable = self._scorable(values)
        return self._final_scores(raw_scores, scorable), self._final_share_values(raw_parts, scorable)

    def _score_and_contributions(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Hook: ``(_score(frame), _contributions(frame))``; override when the two share work."""
        return self._score(frame), self._contributions(frame)

    def _score_and_contributions_values(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Hook of :meth:`score_matrix`: by default through a frame; a detector whose work is plain
        numpy overrides it (and may route its frame hooks through it)."""
        return self._score_and_contributions(pd.DataFrame(values, columns=self.sensors_, copy=False))

    def _scorable_rows(self, frame: pd.DataFrame) -> np.ndarray:
        return self._scorable(frame.to_numpy(dtype="float64", na_value=np.nan))

    def _final_scores(self, raw: Any, scorable: np.ndarray) -> np.ndarray:
        scores = np.array(raw, dtype="float64").reshape(-1)  # a copy: the hook may return its state
        scores[~scorable] = np.nan
        return scores

    def _final_shares(self, raw: Any, scorable: np.ndarray, index: pd.Index) -> pd.DataFrame:
        return pd.DataFrame(self._final_share_values(raw, scorable), index=index, columns=self.sensors_)

    def _final_share_values(self, raw: Any, scorable: np.ndarray) -> np.ndarray:
        parts = np.asarray(raw, dtype="float64").reshape(len(scorable), self.n_sensors_)
        parts = np.where(np.isfinite(parts), np.maximum(parts, 0.0), 0.0)
        parts[:, self.unusable_mask_] = 0.0
        total = parts.sum(axis=1, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            shares = np.where(total > 0, parts / np.where(total > 0, total, 1.0), 0.0)
        shares[~scorable] = np.nan
        return shares

    def set_threshold(
        self,
        X_normal: pd.DataFrame,
        *,
        false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE,
        normal: np.ndarray | None = None,
    ) -> "Detector":
        """Set ``threshold_`` from held-out NORMAL rows so about ``false_alarm_rate`` of them alarm.

        ``normal`` (optional boolean mask over the rows of ``X_normal``): score the whole table in
        one piece -- a time-aware detector needs the history -- and calibrate on the masked rows
        only. The method lives in :mod:`pumpguard.detectors.threshold`; ``threshold_info_``
        records it.
        """
        scores = self.score_samples(X_normal)
        if normal is not None:
            mask = np.asarray(normal, dtype=bool).reshape(-1)
            if mask.shape != scores.shape:
                raise DataFormatError(
                    "set_threshold: the normal mask does not have one entry per row",
                    found=mask.size, expected=f"{scores.size} entries",
                )
            scores = scores[mask]
        cal = calibrate(scores, false_alarm_rate=false_alarm_rate)
        self.threshold_ = cal.threshold
        self.threshold_info_ = cal.to_dict()
        return self

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """1.0 where score > ``threshold_``, 0.0 where not, NaN where the row is unscorable."""
        check_fitted(self)
        if not hasattr(self, "threshold_"):
            raise NotFittedError(
                f"this {type(self).__name__} has no threshold yet: call "
                "set_threshold(X_normal_heldout, false_alarm_rate=...) after fit"
            )
        scores = self.score_samples(X)
        out = (scores > self.threshold_).astype("float64")
        out[np.isnan(scores)] = np.nan
        return out

    def score_one(self, x: dict) -> float:
        """Score one reading ``{sensor_id: value}`` (absent sensors count as missing readings).

        Agrees with :meth:`score_samples` on the same row. Time-aware detectors override this
        with a version that keeps their own history.
        """
        check_fitted(self)
        if self.time_aware:
            raise NotImplementedError(f"{type(self).__name__} scores from history: use its streaming API")
        return float(self.score_samples(check_row_dict(x, self.sensors_))[0])

    # ------------------------------------------------------------------ shared helpers
    def _checked(self, X: Any, where: str) -> pd.DataFrame:
        check_fitted(self)
        return check_scoring_frame(X, self.sensors_, where=where)

    def _learn_scaling(self, values: np.ndarray) -> None:
        finite = np.isfinite(values)
        usable = finite.any(axis=0)
        with np.errstate(invalid="ignore"), _quiet():
            mean = np.where(usable, np.nanmean(np.where(usable, values, 0.0), axis=0), 0.0)
            std = np.where(usable, np.nanstd(np.where(usable, values, 0.0), axis=0), 1.0)
            median = np.where(usable, np.nanmedian(np.where(usable, values, 0.0), axis=0), 0.0)
        constant = ~(std > _CONSTANT_RTOL * np.maximum(1.0, np.abs(mean)))
        # a constant sensor keeps unit scale: any later change still shows, in its own units
        self.mean_ = mean
        self.scale_ = np.where(constant, 1.0, std)
        self.median_ = median
        self.unusable_mask_ = ~usable
        self.unusable_sensors_ = [s for s, bad in zip(self.sensors_, ~usable) if bad]

    def _scorable(self, values: np.ndarray) -> np.ndarray:
        """Rows with at least one reading of a usable sensor."""
        return np.isfinite(values[:, ~self.unusable_mask_]).any(axis=1)

    def _standardised(self, frame: pd.DataFrame) -> np.ndarray:
        """``(x - mean_) / scale_`` with missing readings replaced by the training median.

        Unusable sensors are 0; unscorable rows come out as if every reading were the median (the
        base class turns their scores into NaN afterwards).
        """
        return self._standardised_values(frame.to_numpy(dtype="float64", na_value=np.nan))

    def _standardised_values(self, values: np.ndarray) -> np.ndarray:
        values = np.where(np.isfinite(values), values, self.median_)
        z = (values - self.mean_) / self.scale_
        z[:, self.unusable_mask_] = 0.0
        return z


def thin_normal_rows(normal: np.ndarray, stride: int) -> np.ndarray:
    """Keep every ``stride``-th normal row and every other row (a boolean mask).

    At one row a minute neighbouring normal rows are near duplicates; a stride of 10 keeps 144
    rows a day -- every operating point of the daily cycle -- and cuts fitting time tenfold.
    """
    normal = np.asarray(normal, dtype=bool)
    if stride <= 1:
        return np.ones(len(normal), dtype=bool)
    return ~normal | (np.cumsum(normal) % stride == 1)


def balanced_weights(codes: np.ndarray, n_classes: int) -> np.ndarray:
    """Per-row weights giving every class the same total weight (a failure state seen in 0.01 %
    of the rows still shapes the model)."""
    counts = np.bincount(codes, minlength=n_classes).astype("float64")
    return (len(codes) / (n_classes * np.maximum(counts, 1.0)))[codes]


class _quiet:
    """Silence numpy's 'mean of empty slice' warnings inside a ``with`` block."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)
        return self

    def __exit__(self, *exc):
        return self._ctx.__exit__(*exc)


def __getattr__(name: str):
    # SupervisedDetector lives in .supervised_base (it imports this module); resolved lazily so
    # ``from pumpguard.detectors.base import SupervisedDetector`` keeps working without a cycle
    if name == "SupervisedDetector":
        from pumpguard.detectors.supervised_base import SupervisedDetector

        return SupervisedDetector
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
