"""Lagged (dynamic) PCA on causal window means: a multivariate detector that uses time.

Why this method (and not one-step forecasting or MSET):

* Pump faults of interest -- a valve closing, a blockage, cavitation, a failing bearing -- move the
  *operating point*: the levels of flow, pressure, current and vibration and how they go together.
  A one-step forecasting residual follows a new level within a few rows and goes quiet while the
  fault persists; a model of the normal *state* keeps seeing it. PCA's two statistics say both
  "the state is far along the usual directions" (Hotelling's T-squared on the retained components)
  and "the sensors no longer go together" (SPE / Q, the residual off the normal subspace).
* Readings at 1 s are noise-dominated (SKAB's current, voltage and pressure jump row to row). The
  detector averages each sensor over a causal window of ``window_s`` seconds first: white noise
  shrinks by sqrt(rows in window) while a sustained shift does not, and the alarm answers within
  one window.
* Time enters twice: the window means, and ``lags`` earlier windows stacked beside the current one
  (Ku, Storer and Georgakakis 1995, "dynamic PCA"): the model learns how a window follows the
  previous one, so a sudden transition is off the normal subspace even before levels leave range.
* Cheap and explainable: fit is one covariance and one eigendecomposition; per-sensor contributions
  come from the T-squared and SPE decompositions (summed over a sensor's lags).

Causality: the score of row ``t`` uses rows ``<= t`` of the same table only. At the start of a table
(fewer rows than the windows need) the windows use the rows there are. Score a stream in one piece
(or with :meth:`LaggedPCADetector.score_one`) rather than in disjoint chunks, or each chunk restarts.

Missing values: a missing reading gets its sensor's training median (the shared rule of
:mod:`pumpguard.detectors.base`); a row with no usable reading is left out of every window mean and
of the smoothing, and scores NaN. A window with no scorable row scores NaN.

Post-processing (in the score, so the threshold is calibrated on what is compared):
``smoothing_s`` is the half-life of a causal EWMA of the score (0 = none). All durations are seconds
and become rows through the sampling step learned in ``fit`` (median spacing of the training index;
``sampling_s`` overrides; a table without a DatetimeIndex is taken as one row a minute, the pump
record's cadence).
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pandas as pd

from pumpguard.detectors._validation import check_fitted, check_fraction, check_positive_int, check_row_dict
from pumpguard.detectors.alarm_filter import ewma, ewma_alpha, rows_for
from pumpguard.detectors.base import Detector
from pumpguard.errors import ConfigError

#: without a DatetimeIndex a table is taken as one row a minute (the pump record's cadence)
DEFAULT_STEP_S = 60.0


def sampling_step_s(index, override: float | None = None) -> tuple[float, str]:
    """Seconds per row: ``override``, else the median positive spacing of a DatetimeIndex."""
    if override is not None:
        return float(override), "given"
    if isinstance(index, pd.DatetimeIndex) and len(index) >= 2:
        gaps = np.asarray((index[1:] - index[:-1]).total_seconds(), dtype="float64")
        gaps = gaps[gaps > 0]
        if gaps.size:
            return float(np.median(gaps)), "median spacing of the training index"
    return DEFAULT_STEP_S, "no DatetimeIndex: taken as one row a minute"


def window_means(z: np.ndarray, weight: np.ndarray, *, window: int, lags: int) -> np.ndarray:
    """Causal means of ``z`` over ``window`` rows, now and ``lags`` windows back, side by side.

    Row ``t``, lag ``l`` averages rows ``t - (l+1) w + 1 .. t - l w`` (clipped at row 0) with row
    weights ``weight`` (0 = left out). Columns: lag 0 of every sensor, then lag 1, ... A window
    with zero total weight is NaN.
    """
    n, p = z.shape
    csum = np.zeros((n + 1, p))
    np.cumsum(z * weight[:, None], axis=0, out=csum[1:])
    count = np.zeros(n + 1)
    np.cumsum(weight, out=count[1:])
    t = np.arange(n)
    out = np.empty((n, p * (lags + 1)))
    for lag in range(lags + 1):
        end = np.maximum(t - lag * window, 0) + 1
        start = np.maximum(end - window, 0)
        cnt = count[end] - count[start]
        with np.errstate(invalid="ignore", divide="ignore"):
            block = (csum[end] - csum[start]) / cnt[:, None]
        block[cnt <= 0] = np.nan
        out[:, lag * p : (lag + 1) * p] = block
    return out


class LaggedPCADetector(Detector):
    """Hotelling's T-squared + SPE of lagged causal window means (dynamic PCA), EWMA-smoothed.

    Parameters (keyword-only; durations in seconds of physical time)
    ----------
    window_s: length of each causal averaging window (default 30 s).
    lags: earlier windows stacked beside the current one (default 1).
    explained_variance: share of the training feature variance the retained components keep (0.9).
    smoothing_s: half-life of the causal EWMA of the score; 0 turns it off (default 10 s).
    sampling_s: seconds per row; None learns it from the training index.
    limit_quantile: training quantile that scales T-squared and SPE to 1 before they are combined.

    The score is ``max(T2 / T2_q, SPE / SPE_q)`` (either statistic out of its normal range, as in
    SKAB's T-squared+Q), smoothed; ``T2_q``/``SPE_q`` are ``limit_quantile`` quantiles on the training rows.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> idx = pd.date_range("2020-03-09", periods=600, freq="s", tz="UTC", name="timestamp")
    >>> flow = 32 + rng.normal(0, 0.4, 600)
    >>> X = pd.DataFrame({"flow": flow, "current": 1 + 0.02 * flow + rng.normal(0, 0.05, 600)}, index=idx)
    >>> det = LaggedPCADetector(window_s=10, lags=1, smoothing_s=5).fit(X.iloc[:400])
    >>> det.window_rows_, det.sampling_step_s_
    (10, 1.0)
    >>> X.loc[X.index[500]:, "flow"] -= 2.0   # a valve closes at row 500
    >>> s = det.score_samples(X)
    >>> bool(s[450:500].mean() < 2 < s[530:].mean())
    True
    >>> det.contributions(X).iloc[550].idxmax()
    'flow'
    """

    name = "lagged_pca"
    time_aware = True
    streaming = False

    def __init__(
        self,
        *,
        window_s: float = 30.0,
        lags: int = 1,
        explained_variance: float = 0.9,
        smoothing_s: float = 10.0,
        sampling_s: float | None = None,
        limit_quantile: float = 0.99,
    ) -> None:
        self.window_s = window_s
        self.lags = lags
        self.explained_variance = explained_variance
        self.smoothing_s = smoothing_s
        self.sampling_s = sampling_s
        self.limit_quantile = limit_quantile

    # ------------------------------------------------------------------ fitting
    def _check_params(self) -> None:
        for name in ("window_s",) + (("sampling_s",) if self.sampling_s is not None else ()):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (
                value > 0 and math.isfinite(value)
            ):
                raise ConfigError(f"parameter {name}={value!r}: expected a positive number of seconds")
        s = self.smoothing_s
        if isinstance(s, bool) or not isinstance(s, (int, float, np.number)) or not (s >= 0 and math.isfinite(s)):
            raise ConfigError(f"parameter smoothing_s={s!r}: expected seconds >= 0 (0 = no smoothing)")
        check_positive_int("lags", self.lags, minimum=0)
        check_fraction("explained_variance", self.explained_variance)
        check_fraction("limit_quantile", self.limit_quantile, low=0.5, high=1.0)

    def _fit(self, frame: pd.DataFrame, y=None) -> None:
        step, how = sampling_step_s(frame.index, self.sampling_s)
        self.sampling_step_s_ = step
        self.sampling_note_ = how
        self.window_rows_ = rows_for(self.window_s, step)
        self.halflife_rows_ = float(self.smoothing_s) / step
        self.history_rows_ = (int(self.lags) + 1) * self.window_rows_
        feats = self._features(frame)
        # rows whose windows are still filling up describe the start of a table, not the process
        warm = feats[self.history_rows_ - 1 :]
        if np.isfinite(warm).all(axis=1).sum() >= 2 * feats.shape[1]:
            feats = warm
        feats = feats[np.isfinite(feats).all(axis=1)]
        self.feature_mean_ = feats.mean(axis=0)
        std = feats.std(axis=0)
        self.feature_scale_ = np.where(std > 1e-12, std, 1.0)
        g = (feats - self.feature_mean_) / self.feature_scale_
        cov = g.T @ g / max(len(g) - 1, 1)
        eigval, eigvec = np.linalg.eigh(cov)
        order = np.argsort(eigval)[::-1]
        eigval, eigvec = np.clip(eigval[order], 0.0, None), eigvec[:, order]
        total = eigval.sum()
        if total <= 0:
            k = 1
        else:
            k = int(np.searchsorted(np.cumsum(eigval) / total, float(self.explained_variance) - 1e-12) + 1)
        k = min(max(k, 1), len(eigval))
        self.n_components_ = k
        self.components_ = eigvec[:, :k]
        self.eigenvalues_ = np.maximum(eigval[:k], 1e-6 * max(total, 1e-12))
        t2, spe = self._statistics(g)
        q = float(self.limit_quantile)
        self.t2_limit_ = max(float(np.quantile(t2, q)), 1e-12)
        spe_q = float(np.quantile(spe, q))
        # with every direction retained the residual is empty: SPE is then left out, not divided by 0
        self.spe_limit_ = spe_q if spe_q > 1e-9 * max(total, 1e-12) else math.inf

    # ------------------------------------------------------------------ scoring
    def _features(self, frame: pd.DataFrame) -> np.ndarray:
        values = frame.to_numpy(dtype="float64", na_value=np.nan)
        weight = self._scorable(values).astype("float64")
        return window_means(self._standardised(frame), weight, window=self.window_rows_, lags=int(self.lags))

    def _statistics(self, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        proj = g @ self.components_
        t2 = (proj**2 / self.eigenvalues_).sum(axis=1)
        resid = g - proj @ self.components_.T
        return t2, (resid**2).sum(axis=1)

    def _raw(self, frame: pd.DataFrame) -> np.ndarray:
        g = (self._features(frame) - self.feature_mean_) / self.feature_scale_
        t2, spe = self._statistics(g)
        return np.maximum(t2 / self.t2_limit_, spe / self.spe_limit_)

    def _score(self, frame: pd.DataFrame) -> np.ndarray:
        raw = self._raw(frame)
        raw[~self._scorable(frame.to_numpy(dtype="float64", na_value=np.nan))] = np.nan
        return ewma(raw, halflife_rows=self.halflife_rows_)

    def _contributions(self, frame: pd.DataFrame) -> np.ndarray:
        g = (self._features(frame) - self.feature_mean_) / self.feature_scale_
        proj = g @ self.components_
        t2_part = np.clip(g * ((proj / self.eigenvalues_) @ self.components_.T), 0.0, None) / self.t2_limit_
        resid = g - proj @ self.components_.T
        parts = t2_part + resid**2 / self.spe_limit_
        per_sensor = parts.reshape(len(g), int(self.lags) + 1, self.n_sensors_).sum(axis=1)
        per_sensor[~self._scorable(frame.to_numpy(dtype="float64", na_value=np.nan))] = np.nan
        return ewma(per_sensor, halflife_rows=self.halflife_rows_)

    # ------------------------------------------------------------------ streaming
    def reset_stream(self) -> "LaggedPCADetector":
        """Forget the streaming history: the next :meth:`score_one` starts a new table."""
        self._stream_rows = deque(maxlen=self.history_rows_)
        self._stream_level = None
        return self

    def score_one(self, x: dict) -> float:
        """Score the next reading of a stream ``{sensor_id: value}`` (absent sensors are missing).

        Keeps the last ``history_rows_`` readings and the EWMA level (stream state, not learned
        state; :meth:`reset_stream` clears it). Feeding a table row by row from a fresh stream gives
        the same scores as :meth:`score_samples` on that table.
        """
        check_fitted(self)
        if getattr(self, "_stream_rows", None) is None or self._stream_rows.maxlen != self.history_rows_:
            self.reset_stream()
        row = check_row_dict(x, self.sensors_)
        self._stream_rows.append(row.iloc[0].to_numpy(dtype="float64"))
        buffer = pd.DataFrame(np.vstack(self._stream_rows), columns=self.sensors_)
        if not self._scorable(buffer.to_numpy()[-1:]).all():
            return math.nan
        raw = float(self._raw(buffer)[-1])
        if not math.isfinite(raw):
            return math.nan
        if self._stream_level is None or self.halflife_rows_ <= 1e-12:
            level = raw
        else:
            a = ewma_alpha(self.halflife_rows_)
            level = a * raw + (1.0 - a) * self._stream_level
        self._stream_level = level
        return level
