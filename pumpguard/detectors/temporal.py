"""A multivariate detector that uses time: Hotelling's T-squared of causal window means against a
baseline that follows slow drift while the process is in control and freezes when it is not.

Why this method (chosen against one-step forecasting residuals, MSET and static lagged PCA):

* **Faults are steps, normal change is drift.** A closing valve, a blockage or a trip moves flow,
  pressure, current and vibration within seconds; in normal running the same sensors drift over
  minutes (motor and fluid temperatures, vibration RMS, flow as the loop warms). A model of a fixed
  normal *state* fitted on a few minutes mistakes that drift for a fault (on SKAB's anomaly-free
  record a static T-squared fitted on 400 s alarms on most later rows); a one-step forecasting
  residual sees the step for a few rows, then follows the new level and goes quiet while the fault
  persists. Here the reference level is an EWMA **baseline** that tracks drift (half-life
  ``baseline_halflife_s``) while the row is in control (score at most ``freeze_above``) and learns
  ten times slower (``alarm_halflife_s``) while it is not: at a step the baseline all but stops,
  the deviation stays, the alarm holds for as long as the fault does, and ends when the sensors
  return to the pre-fault level (the conditional update of adaptive process monitoring, e.g. Li,
  Yue, Valle-Cervantes and Qin 2000). Known weakness: drift during a long fault can keep the alarm
  on after the fault clears (docs/skab.md).
* **Noise.** Readings at 1 s are noise-dominated (SKAB's current, voltage and pressure jump row to
  row); each sensor is averaged over a causal window of ``window_s`` seconds first, which shrinks
  white noise by sqrt(rows in window) while a sustained shift stays whole.
* **Multivariate.** The deviation of the window means from the baseline is scored with Hotelling's
  T-squared under the covariance of training deviations, shrunk halfway to its diagonal
  (``shrinkage``): a few hundred autocorrelated training rows fix variances well but
  cross-covariances poorly. Optional ``lags`` stack earlier windows beside the current one
  (dynamic T-squared). Per-sensor contributions: the T-squared decomposition ``d_j (S^-1 d)_j``
  (clipped at 0), summed over a sensor's lags.
* **Cheap.** Fit is one covariance; scoring is vectorised between in-control/out-of-control
  transitions (the baseline is a linear filter while in control and a constant while frozen).

Causality: the score of row ``t`` uses rows ``<= t`` of the same table only; the baseline starts at
the training mean at the table's first row. Score a stream in one piece (or row by row with
:meth:`AdaptiveT2Detector.score_one`), not in disjoint chunks, or each chunk restarts.

Missing values: a missing reading gets its sensor's training median (the shared rule of
:mod:`pumpguard.detectors.base`); a row with no usable reading is left out of every window mean,
does not move the baseline or the smoothing, and scores NaN. While a window is still filling (the
first rows of a table) its deviation is shrunk by sqrt(filled share), so it has a full window's
noise level and the start of a table does not alarm.

Post-processing inside the score: ``smoothing_s`` is the half-life of a causal EWMA of the score
(0 = none), so the threshold is calibrated on what is compared. All durations are seconds, turned
into rows by the sampling step learned in ``fit`` (median spacing of the training index;
``sampling_s`` overrides; a table without a DatetimeIndex is taken as one row a minute).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from pumpguard.detectors._validation import check_fitted, check_fraction, check_positive_int, check_row_dict
from pumpguard.detectors.alarm_filter import ewma, ewma_alpha, rows_for
from pumpguard.detectors.base import Detector
from pumpguard.errors import ConfigError

#: without a DatetimeIndex a table is taken as one row a minute (the pump record's cadence)
DEFAULT_STEP_S = 60.0
_FIRST_CHUNK = 64
_MAX_CHUNK = 1 << 16


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


def window_means(z: np.ndarray, weight: np.ndarray, *, window: int, lags: int) -> tuple[np.ndarray, np.ndarray]:
    """Causal means of ``z`` over ``window`` rows, now and ``lags`` windows back, side by side.

    Row ``t``, lag ``l`` averages rows ``t - (l+1) w + 1 .. t - l w`` (clipped at row 0) with row
    weights ``weight`` (0 = left out). Columns: lag 0 of every sensor, then lag 1, ... A window
    with zero total weight is NaN. Also returns each window's filled share (weight / ``window``),
    rows x (lags + 1).
    """
    n, p = z.shape
    csum = np.zeros((n + 1, p))
    np.cumsum(z * weight[:, None], axis=0, out=csum[1:])
    count = np.zeros(n + 1)
    np.cumsum(weight, out=count[1:])
    t = np.arange(n)
    out = np.empty((n, p * (lags + 1)))
    filled = np.empty((n, lags + 1))
    for lag in range(lags + 1):
        end = np.maximum(t - lag * window, 0) + 1
        start = np.maximum(end - window, 0)
        cnt = count[end] - count[start]
        with np.errstate(invalid="ignore", divide="ignore"):
            block = (csum[end] - csum[start]) / cnt[:, None]
        block[cnt <= 0] = np.nan
        out[:, lag * p : (lag + 1) * p] = block
        filled[:, lag] = cnt / window
    return out, filled


def _positive_seconds(name: str, value, *, allow_zero: bool = False) -> None:
    ok = not isinstance(value, bool) and isinstance(value, (int, float, np.number)) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        expected = "seconds >= 0" if allow_zero else "a positive number of seconds"
        raise ConfigError(f"parameter {name}={value!r}: expected {expected}")


class AdaptiveT2Detector(Detector):
    """T-squared of causal window means against an in-control-updated drift baseline, smoothed.

    Parameters (keyword-only; durations in seconds of physical time)
    ----------
    window_s: causal averaging window of each sensor (default 10 s).
    baseline_halflife_s: half-life of the drift baseline; 0 = a fixed baseline at the training mean
        (a classic T-squared of window means). Default 120 s.
    alarm_halflife_s: half-life of the baseline while the unsmoothed score exceeds ``freeze_above``
        (much slower, so a fault is not learned away; 0 = frozen). Default 1200 s.
    freeze_above: above this unsmoothed score the baseline switches to the alarm half-life (score
        1 = the training ``limit_quantile``); default 2.
    shrinkage: weight of the diagonal in the deviation covariance, 0 (sample) .. 1 (diagonal); 0.5.
    lags: earlier windows stacked beside the current one (default 0).
    smoothing_s: half-life of the causal EWMA of the score; 0 = none. Default 5 s.
    sampling_s: seconds per row; None learns it from the training index.
    limit_quantile: training quantile of T-squared that scales the score to 1 (default 0.99).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> idx = pd.date_range("2020-03-09", periods=900, freq="s", tz="UTC", name="timestamp")
    >>> flow = 32 + rng.normal(0, 0.4, 900) + np.linspace(0, 1.0, 900)   # slow drift
    >>> X = pd.DataFrame({"flow": flow, "current": 1 + 0.02 * flow + rng.normal(0, 0.05, 900)}, index=idx)
    >>> X.loc[X.index[600]:X.index[750], "flow"] -= 1.5                    # a valve closes, reopens
    >>> det = AdaptiveT2Detector().fit(X.iloc[:400])
    >>> det.window_rows_, det.sampling_step_s_
    (10, 1.0)
    >>> s = det.score_samples(X)
    >>> bool(np.median(s[450:600]) < 2 < np.median(s[620:750])), bool(np.median(s[800:]) < 2)
    (True, True)
    >>> det.contributions(X).iloc[700].idxmax()
    'flow'
    """

    name = "adaptive_t2"
    time_aware = True
    streaming = False

    def __init__(
        self,
        *,
        window_s: float = 10.0,
        baseline_halflife_s: float = 120.0,
        alarm_halflife_s: float = 1200.0,
        freeze_above: float = 2.0,
        shrinkage: float = 0.5,
        lags: int = 0,
        smoothing_s: float = 5.0,
        sampling_s: float | None = None,
        limit_quantile: float = 0.99,
    ) -> None:
        self.window_s = window_s
        self.baseline_halflife_s = baseline_halflife_s
        self.alarm_halflife_s = alarm_halflife_s
        self.freeze_above = freeze_above
        self.shrinkage = shrinkage
        self.lags = lags
        self.smoothing_s = smoothing_s
        self.sampling_s = sampling_s
        self.limit_quantile = limit_quantile

    # ------------------------------------------------------------------ fitting
    def _check_params(self) -> None:
        _positive_seconds("window_s", self.window_s)
        _positive_seconds("baseline_halflife_s", self.baseline_halflife_s, allow_zero=True)
        _positive_seconds("alarm_halflife_s", self.alarm_halflife_s, allow_zero=True)
        _positive_seconds("smoothing_s", self.smoothing_s, allow_zero=True)
        if self.sampling_s is not None:
            _positive_seconds("sampling_s", self.sampling_s)
        f = self.freeze_above
        if isinstance(f, bool) or not isinstance(f, (int, float, np.number)) or not (f > 0 and math.isfinite(f)):
            raise ConfigError(f"parameter freeze_above={f!r}: expected a positive score level (1 = training limit)")
        s = self.shrinkage
        if isinstance(s, bool) or not isinstance(s, (int, float, np.number)) or not 0.0 <= s <= 1.0:
            raise ConfigError(f"parameter shrinkage={s!r}: expected a number in [0, 1]")
        check_positive_int("lags", self.lags, minimum=0)
        check_fraction("limit_quantile", self.limit_quantile, low=0.5, high=1.0)

    def _fit(self, frame: pd.DataFrame, y=None) -> None:
        step, how = sampling_step_s(frame.index, self.sampling_s)
        self.sampling_step_s_ = step
        self.sampling_note_ = how
        self.window_rows_ = rows_for(self.window_s, step)
        self.history_rows_ = (int(self.lags) + 1) * self.window_rows_
        self.halflife_rows_ = float(self.smoothing_s) / step
        self.baseline_alpha_ = (
            ewma_alpha(float(self.baseline_halflife_s) / step) if self.baseline_halflife_s > 0 else 0.0
        )
        self.alarm_alpha_ = (
            ewma_alpha(float(self.alarm_halflife_s) / step)
            if self.alarm_halflife_s > 0 and self.baseline_halflife_s > 0 else 0.0
        )
        feats, filled = self._features(frame)
        use = self._training_rows(feats)
        f = feats[use]
        self.feature_mean_ = f.mean(axis=0)
        if self.baseline_alpha_ > 0:
            # all training rows are normal: the baseline follows them unconditionally
            a = self.baseline_alpha_
            base, _ = lfilter([a], [1.0, -(1.0 - a)], f, axis=0, zi=((1.0 - a) * self.feature_mean_)[None, :])
            prev = np.vstack([self.feature_mean_, base[:-1]])
        else:
            prev = np.broadcast_to(self.feature_mean_, f.shape)
        dev = (f - prev) * np.repeat(np.sqrt(np.clip(filled[use], 0, 1)), self.n_sensors_, axis=1)
        self._learn_deviations(dev)

    def _training_rows(self, feats: np.ndarray) -> np.ndarray:
        """Training rows with every window mean (a mask); rows whose windows are still filling
        describe the start of a table, not the process: left out if 3 full rows remain."""
        ok = np.isfinite(feats).all(axis=1)
        warm = ok & (np.arange(len(feats)) >= self.history_rows_ - 1)
        return warm if warm.sum() >= 3 else ok

    def _learn_deviations(self, dev: np.ndarray) -> None:
        """``feature_scale_``, ``precision_`` (of the covariance shrunk to its diagonal) and
        ``t2_limit_`` (score 1) from the training deviations ``dev``."""
        std = dev.std(axis=0)
        self.feature_scale_ = np.where(std > 1e-12, std, 1.0)
        g = dev / self.feature_scale_
        cov = g.T @ g / max(len(g) - 1, 1)
        rho = float(self.shrinkage)
        cov = (1.0 - rho) * cov + rho * np.diag(np.diag(cov))
        cov += 1e-6 * np.eye(len(cov))
        self.precision_ = np.linalg.inv(cov)
        t2 = ((g @ self.precision_) * g).sum(axis=1)
        self.t2_limit_ = max(float(np.quantile(t2, float(self.limit_quantile))), 1e-12)

    # ------------------------------------------------------------------ scoring
    def _features(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        values = frame.to_numpy(dtype="float64", na_value=np.nan)
        weight = self._scorable(values).astype("float64")
        return window_means(self._standardised(frame), weight, window=self.window_rows_, lags=int(self.lags))

    def _t2(self, dev: np.ndarray, shrink: np.ndarray) -> np.ndarray:
        return self._t2_scaled(dev * shrink / self.feature_scale_)

    def _t2_scaled(self, g: np.ndarray) -> np.ndarray:
        """T-squared of scaled deviations, divided by the training limit (score 1 = the limit)."""
        if float(self.shrinkage) >= 1.0:  # diagonal precision: no matrix product needed
            return (g * g) @ np.diag(self.precision_) / self.t2_limit_
        return ((g @ self.precision_) * g).sum(axis=1) / self.t2_limit_

    def _pass(self, frame: pd.DataFrame, baseline: np.ndarray | None = None, *, deviations: bool = True):
        """Unsmoothed scores, scaled deviations and the final baseline of one causal pass.

        Row ``t``: deviation ``d = f_t - b``, score ``T2(d)``; then ``b += a (f_t - b)`` with ``a``
        the in-control rate if the score is at most ``freeze_above`` and the alarm rate if not (no
        update for an unscorable row). Between regime changes the baseline is a first-order linear
        filter, so each stretch is computed at once (``lfilter``); the stretch ends at the first row
        whose regime differs, which is then done on its own.
        """
        feats, filled = self._features(frame)
        scorable = self._scorable(frame.to_numpy(dtype="float64", na_value=np.nan))
        feats[~scorable] = np.nan
        # work in scaled units (the baseline recursion is elementwise, so scaling commutes with it)
        feats /= self.feature_scale_
        partial = filled.min(axis=1) < 1.0  # windows still filling: the first rows of a table
        shrink = np.repeat(np.sqrt(np.clip(filled[partial], 0.0, 1.0)), self.n_sensors_, axis=1)
        shrink_at = np.full(len(feats), -1)
        shrink_at[partial] = np.arange(int(partial.sum()))
        n = len(feats)
        b = (self.feature_mean_ if baseline is None else baseline).astype("float64") / self.feature_scale_
        rate = {True: self.baseline_alpha_, False: self.alarm_alpha_}
        limit = float(self.freeze_above)
        raw = np.full(n, np.nan)
        dev = np.full(feats.shape, np.nan) if deviations else None

        def scored(d: np.ndarray, start: int) -> np.ndarray:
            rows = shrink_at[start : start + len(d)]
            if (rows >= 0).any():
                d = d.copy()
                d[rows >= 0] *= shrink[rows[rows >= 0]]
            return self._t2_scaled(d)

        t, chunk, regime = 0, _FIRST_CHUNK, True
        while t < n:
            f = feats[t : min(n, t + chunk)]
            a = rate[regime]
            if a > 0:
                base, _ = lfilter([a], [1.0, -(1.0 - a)], f, axis=0, zi=((1.0 - a) * b)[None, :])
                prev = np.vstack([b, base[:-1]])
            else:
                prev = np.broadcast_to(b, f.shape)
            d = f - prev
            s = scored(d, t)
            same = np.isfinite(s) & ((s <= limit) == regime)
            k = len(f) if same.all() else int(np.argmin(same))
            raw[t : t + k] = s[:k]
            if deviations:
                dev[t : t + k] = d[:k]
            if k > 0 and a > 0:
                b = base[k - 1].copy()
            t += k
            if k == len(f):
                chunk = min(2 * chunk, _MAX_CHUNK)
                continue
            raw[t] = s[k]
            if deviations:
                dev[t] = d[k]
            if np.isfinite(s[k]):
                regime = bool(s[k] <= limit)
                b = b + rate[regime] * (feats[t] - b)
            t += 1
            chunk = _FIRST_CHUNK
        if deviations and partial.any():
            dev[partial] *= shrink
        return raw, dev, b * self.feature_scale_

    def _score(self, frame: pd.DataFrame) -> np.ndarray:
        raw, _, _ = self._pass(frame, deviations=False)
        return ewma(raw, halflife_rows=self.halflife_rows_)

    def _contributions(self, frame: pd.DataFrame) -> np.ndarray:
        _, g, _ = self._pass(frame)
        parts = np.clip(g * (g @ self.precision_), 0.0, None) / self.t2_limit_
        per_sensor = parts.reshape(len(g), int(self.lags) + 1, self.n_sensors_).sum(axis=1)
        return ewma(per_sensor, halflife_rows=self.halflife_rows_)

    # ------------------------------------------------------------------ streaming
    def reset_stream(self) -> "AdaptiveT2Detector":
        """Forget the streaming state: the next :meth:`score_one` starts a new table."""
        self._stream_rows = np.empty((0, self.n_sensors_))
        self._stream_baseline = self.feature_mean_.copy()
        self._stream_level = math.nan
        self._stream_parts = np.full(self.n_sensors_, np.nan)
        return self

    def last_contributions(self) -> dict[str, float]:
        """Each sensor's share of the last :meth:`score_one` score (as a row of :meth:`contributions`).

        NaN shares if that reading was unscorable or nothing has been scored yet.
        """
        check_fitted(self)
        parts = getattr(self, "_stream_last", None)
        if parts is None or not np.isfinite(parts).all():
            return {s: math.nan for s in self.sensors_}
        parts = np.where(self.unusable_mask_, 0.0, np.maximum(parts, 0.0))
        total = parts.sum()
        shares = parts / total if total > 0 else np.zeros_like(parts)
        return dict(zip(self.sensors_, shares.tolist()))

    def score_one(self, x: dict) -> float:
        """Score the next reading of a stream ``{sensor_id: value}`` (absent sensors are missing).

        Keeps the last ``history_rows_`` readings, the baseline and the EWMA levels (stream state,
        not learned state; :meth:`reset_stream` clears it). Feeding a table row by row to a fresh
        stream gives the scores :meth:`score_samples` gives for that table, and
        :meth:`last_contributions` the matching row of :meth:`contributions`. Keep one stream (a
        ``copy.deepcopy`` of the fitted detector) per asset.
        """
        check_fitted(self)
        if getattr(self, "_stream_rows", None) is None:
            self.reset_stream()
        row = check_row_dict(x, self.sensors_).iloc[0].to_numpy(dtype="float64")
        rows = np.vstack([self._stream_rows, row[None, :]])[-self.history_rows_ :]
        self._stream_rows = rows
        window = pd.DataFrame(rows, columns=self.sensors_)
        feats, filled = self._features(window)
        f = feats[-1]
        self._stream_last = None
        if not (self._scorable(rows[-1:]).all() and np.isfinite(f).all()):
            return math.nan
        b = self._stream_baseline
        shrink = np.repeat(np.sqrt(np.clip(filled[-1:], 0.0, 1.0)), self.n_sensors_, axis=1)
        g = (f - b)[None, :] * shrink / self.feature_scale_
        raw = float(self._t2_scaled(g)[0])
        parts = (np.clip(g * (g @ self.precision_), 0.0, None) / self.t2_limit_)[0]
        parts = parts.reshape(int(self.lags) + 1, self.n_sensors_).sum(axis=0)
        if np.isnan(self._stream_parts).all() or self.halflife_rows_ <= 1e-12:
            self._stream_parts = parts
        else:
            w = ewma_alpha(self.halflife_rows_)
            self._stream_parts = w * parts + (1.0 - w) * self._stream_parts
        self._stream_last = self._stream_parts.copy()
        a = self.baseline_alpha_ if raw <= float(self.freeze_above) else self.alarm_alpha_
        self._stream_baseline = b + a * (f - b)
        if math.isnan(self._stream_level) or self.halflife_rows_ <= 1e-12:
            self._stream_level = raw
        else:
            a = ewma_alpha(self.halflife_rows_)
            self._stream_level = a * raw + (1.0 - a) * self._stream_level
        return self._stream_level


#: picked up by :mod:`pumpguard.detectors.registry`
TEMPORAL_DETECTORS = {AdaptiveT2Detector.name: AdaptiveT2Detector}
