"""A two-timescale T-squared detector whose baseline re-anchors when a fault clears.

:class:`~pumpguard.detectors.temporal.AdaptiveT2Detector` (``adaptive_t2``) scores the deviation of
causal window means from a drift-following baseline that (almost) stops learning while the score is
high. That latch keeps a real fault alarmed -- and also a *cleared* one: after a valve episode the
plant settles at a slightly different operating point (and the thermal sensors drift on), so the
deviation from the frozen pre-fault baseline stays and the alarm holds to the end of the record
(docs/skab.md). Valve faults are **steps** of the fast sensors within seconds, their clearing a
step **back**; normal change is **drift** over minutes. On ``adaptive_t2``'s model this adds:

* **a trend-following reference**: Brown's double exponential smoothing (``2 s1 - s2``, both at
  the baseline half-life; ``follow_trend``) has no lag on a steady ramp, where an EWMA lags by
  ``rate x half-life / ln 2`` -- enough, for thermal sensors, to cross the limit in normal running;
* **steps freeze, drift does not**: above ``freeze_above`` the baseline freezes only if the move of
  the last ``transient_s`` accounts for ``step_fraction`` of the deviation (``(f_t - f_{t-L}) W d_t
  >= step_fraction * d_t W d_t``, ``W`` the T-squared metric); a dip of the score shorter than
  ``transient_s`` continues the episode; the episode ends below ``release_below`` (a dead band);
* **release on the step back, then re-anchor**: out of control, if the move of the last
  ``transient_s`` took back ``step_fraction`` of the deviation then and left the process closer to
  the baseline, the fault has cleared (the look-back row must lie ``transient_s`` into the episode,
  so the decaying overshoot of a closing valve does not count). For the next ``transient_s`` the
  baseline follows the window means row by row (no alarm while the transient settles); then
  drift-following resumes from the new operating point.

Parameters from physics and sampling, none from labels (docs/skab.md): ``transient_s = 30`` s is the
10 s window plus a valve stroke and its hydraulic transient; ``step_fraction = 0.5`` is "more than
half"; ``release_below = 1`` is the training limit. Known weaknesses: a persistent *normal* step
alarms until it steps back; a new fault within ``transient_s`` of a release is absorbed.

Missing values: as ``adaptive_t2`` (training median; a row with no usable reading scores NaN, moves
nothing and cannot release). Contributions: ``d_j (W d)_j`` clipped at 0, smoothed like the score.
Causal (row ``t`` uses rows ``<= t``); :meth:`ReanchoringT2Detector.score_one` agrees with
``score_samples``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from pumpguard.detectors._validation import check_fitted, check_fraction, check_row_dict
from pumpguard.detectors.alarm_filter import ewma_alpha, rows_for
from pumpguard.detectors.temporal import AdaptiveT2Detector, _positive_seconds
from pumpguard.errors import ConfigError

_FIRST_CHUNK = 64
_MAX_CHUNK = 1 << 16
#: regimes of the baseline
IN_CONTROL, OUT_OF_CONTROL, SETTLING = 0, 1, 2


class ReanchoringT2Detector(AdaptiveT2Detector):
    """``adaptive_t2`` whose baseline re-anchors on the step back that clears a fault.

    Parameters: those of :class:`~pumpguard.detectors.temporal.AdaptiveT2Detector`, plus
    ``transient_s`` (seconds: look-back of the step tests and settling time after a release; 30),
    ``step_fraction`` (share of a deviation that must arise / be undone within it; 0.5),
    ``follow_trend`` (Brown's trend-corrected reference instead of the EWMA; True) and
    ``release_below`` (score below which an out-of-control episode ends; 1 = the training limit).

    Examples
    --------
    A valve closes at 600 s and reopens at 750 s; afterwards the flow settles 0.6 (1.5 noise
    standard deviations) above where it was, so ``adaptive_t2``'s frozen baseline keeps alarming:

    >>> rng = np.random.default_rng(0)
    >>> idx = pd.date_range("2020-03-09", periods=1200, freq="s", tz="UTC", name="timestamp")
    >>> flow = 32 + rng.normal(0, 0.4, 1200)
    >>> flow[600:750] -= 2.0
    >>> flow[750:] += 0.6
    >>> X = pd.DataFrame({"flow": flow, "current": 1 + 0.02 * flow + rng.normal(0, 0.05, 1200)}, index=idx)
    >>> det = ReanchoringT2Detector().fit(X.iloc[:400])
    >>> det.transient_rows_
    30
    >>> s = det.score_samples(X)
    >>> bool(np.median(s[620:750]) > 2), bool(np.median(s[800:]) < 2)
    (True, True)
    >>> latch = AdaptiveT2Detector().fit(X.iloc[:400]).score_samples(X)
    >>> bool(np.median(latch[800:]) > 2)
    True
    >>> det.contributions(X).iloc[700].idxmax()
    'flow'
    """

    name = "reanchor_t2"

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
        transient_s: float = 30.0,
        step_fraction: float = 0.5,
        follow_trend: bool = True,
        release_below: float = 1.0,
    ) -> None:
        super().__init__(
            window_s=window_s, baseline_halflife_s=baseline_halflife_s, alarm_halflife_s=alarm_halflife_s,
            freeze_above=freeze_above, shrinkage=shrinkage, lags=lags, smoothing_s=smoothing_s,
            sampling_s=sampling_s, limit_quantile=limit_quantile,
        )
        self.transient_s = transient_s
        self.step_fraction = step_fraction
        self.follow_trend = follow_trend
        self.release_below = release_below

    def _check_params(self) -> None:
        super()._check_params()
        _positive_seconds("transient_s", self.transient_s)
        check_fraction("step_fraction", self.step_fraction, low=0.0, high=1.0)
        r = self.release_below
        if isinstance(r, bool) or not isinstance(r, (int, float, np.number)) or not 0 < r <= self.freeze_above:
            raise ConfigError(f"parameter release_below={r!r}: expected a score level in (0, freeze_above]")
        if not isinstance(self.follow_trend, (bool, np.bool_)):
            raise ConfigError(f"parameter follow_trend={self.follow_trend!r}: expected true or false")

    def _fit(self, frame: pd.DataFrame, y=None) -> None:
        super()._fit(frame, y)  # sampling step, window, rates, feature_mean_
        self.transient_rows_ = rows_for(self.transient_s, self.sampling_step_s_)
        # the deviation statistics again, against this detector's (trend-following) reference
        feats, filled = self._features(frame)
        use = self._training_rows(feats)
        f = feats[use]
        start = np.vstack([self.feature_mean_, self.feature_mean_])
        dev, _ = self._follow(f, start, self.baseline_alpha_)
        dev = dev * np.repeat(np.sqrt(np.clip(filled[use], 0, 1)), self.n_sensors_, axis=1)
        self._learn_deviations(dev)

    # ------------------------------------------------------------------ the reference level
    def _reference(self, state: np.ndarray) -> np.ndarray:
        """The baseline level from the smoother state ``[s1, s2]`` (rows x 2 x features or 2 x features):
        Brown's trend-corrected ``2 s1 - s2`` (no lag on a steady ramp), or the plain EWMA ``s1``."""
        return 2.0 * state[..., 0, :] - state[..., 1, :] if self.follow_trend else state[..., 0, :]

    def _follow(self, f: np.ndarray, state: np.ndarray, a: float):
        """Deviation of each row of ``f`` from the reference before it, and the smoother state
        after each row (``None`` when ``a = 0``: the state is held).

        Brown's double exponential smoothing at rate ``a``: ``s1 <- s1 + a (f - s1)``,
        ``s2 <- s2 + a (s1 - s2)``, two first-order linear filters run with ``lfilter``; the plain
        EWMA needs only the first.
        """
        if a <= 0 or len(f) == 0:
            return f - self._reference(state), None
        filt = ([a], [1.0, -(1.0 - a)])
        s1, _ = lfilter(*filt, f, axis=0, zi=((1.0 - a) * state[0])[None, :])
        d = np.empty_like(f)
        d[0] = f[0] - self._reference(state)
        if self.follow_trend:
            s2, _ = lfilter(*filt, s1, axis=0, zi=((1.0 - a) * state[1])[None, :])
            np.subtract(f[1:], 2.0 * s1[:-1], out=d[1:])
            d[1:] += s2[:-1]
        else:
            s2 = s1  # unused by the reference; kept so the state has its two rows
            np.subtract(f[1:], s1[:-1], out=d[1:])
        return d, (s1, s2)

    # ------------------------------------------------------------------ the causal pass
    def _metric(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Row-wise ``a W b`` in scaled units (``W`` the deviation precision)."""
        if float(self.shrinkage) >= 1.0:
            return (a * b) @ np.diag(self.precision_)
        return ((a @ self.precision_) * b).sum(axis=1)

    def _released(self, d: np.ndarray, f: np.ndarray, f_lag: np.ndarray, d_lag: np.ndarray) -> np.ndarray:
        """Rows whose move since ``transient_s`` ago took back ``step_fraction`` of the deviation then
        and left the process closer to the baseline than it was (a step back, not a crossing)."""
        with np.errstate(invalid="ignore"):
            back = -self._metric(f - f_lag, d_lag)
            size = self._metric(d_lag, d_lag)
            closer = self._metric(d, d) < size
            return np.isfinite(back) & (back >= float(self.step_fraction) * size) & (size > 0) & closer

    def _stepped(self, d: np.ndarray, f: np.ndarray, f_lag: np.ndarray) -> np.ndarray:
        """Rows whose deviation arose by a step: the move of the last ``transient_s`` accounts for
        ``step_fraction`` of it. Without a full look-back (table start, a gap) a row counts as a step."""
        with np.errstate(invalid="ignore"):
            ahead = self._metric(f - f_lag, d)
            size = self._metric(d, d)
            return ~np.isfinite(ahead) | (ahead >= float(self.step_fraction) * size)

    def _pass(self, frame: pd.DataFrame, baseline: np.ndarray | None = None, *, deviations: bool = True):
        """Unsmoothed scores, scaled deviations and the final smoother state of one causal pass.

        Like ``adaptive_t2``'s pass: inside a stretch of one regime the smoother is linear
        (``lfilter``); a stretch ends at the first row where the regime changes (the score crosses
        ``freeze_above`` after a step, a release, the end of settling), which is done on its own
        by :meth:`_next_state`, the one-row state machine :meth:`score_one` also uses.
        """
        feats, filled = self._features(frame)
        scorable = self._scorable(frame.to_numpy(dtype="float64", na_value=np.nan))
        feats[~scorable] = np.nan
        feats /= self.feature_scale_
        n = len(feats)
        shrink = np.repeat(np.sqrt(np.clip(filled, 0.0, 1.0)), self.n_sensors_, axis=1)
        b = np.vstack([self.feature_mean_, self.feature_mean_]) if baseline is None else np.asarray(baseline, "float64")
        b = b / self.feature_scale_
        rate = {IN_CONTROL: self.baseline_alpha_, OUT_OF_CONTROL: self.alarm_alpha_, SETTLING: 1.0}
        limit = float(self.freeze_above)
        raw = np.full(n, np.nan)
        dev = np.full(feats.shape, np.nan)  # kept whole: the release test looks back at it
        ep = _Episode()
        t, chunk = 0, _FIRST_CHUNK
        while t < n:
            ep.settle_check(t)
            end = min(n, t + chunk, ep.settle_end if ep.regime == SETTLING else n)
            f = feats[t:end]
            d, seq = self._follow(f, b, rate[ep.regime])
            s = self._t2_scaled(d * shrink[t:end])
            raw[t:end], dev[t:end] = s, d  # tentative past the first event row; rewritten later
            ok = np.isfinite(s)
            step = np.zeros(len(f), dtype=bool)
            if ep.regime == SETTLING:
                same = ok
            else:
                # only rows that could change the regime need the step test
                cand = np.flatnonzero(ok & (s > (limit if ep.regime == IN_CONTROL else float(self.release_below))))
                if cand.size:
                    step[cand] = self._step_flags(ep, t + cand, d[cand], f[cand],
                                                  lambda r: (feats[r], dev[r], raw[r]))
                if ep.regime == IN_CONTROL:
                    same = ok & ~((s > limit) & step)
                else:
                    same = ok & (s > float(self.release_below)) & ~step
            k = len(f) if same.all() else int(np.argmin(same))
            if k > 0 and seq is not None:
                b = np.vstack([seq[0][k - 1], seq[1][k - 1]])
            if k > 0 and ep.regime == OUT_OF_CONTROL:
                ep.last_out = t + k - 1
            t += k
            if k == len(f):
                chunk = min(2 * chunk, _MAX_CHUNK)
                continue
            # the event row t: its score and deviation stand; it decides the next regime
            if np.isfinite(s[k]):
                b = self._next_state(ep, s[k], bool(step[k]), feats[t], b, t)
            t += 1
            chunk = _FIRST_CHUNK
        if not deviations:
            dev = None
        else:
            dev *= shrink
        return raw, dev, b * self.feature_scale_

    def _step_flags(self, ep: "_Episode", rows: np.ndarray, d, f, look_back) -> np.ndarray:
        """Per row: in control, did the deviation arise by a step (or continue an episode that
        dipped below the freeze level less than ``transient_s`` ago); out of control, did a step
        back clear it. ``look_back(rows)`` gives the window means, deviations and raw scores there."""
        lag = self.transient_rows_
        back = rows - lag
        step = np.zeros(len(rows), dtype=bool)
        if ep.regime == IN_CONTROL:
            step[:] = True  # no full look-back (table start): a step, as adaptive_t2 would freeze
            has = back >= 0
            if has.any():
                f_lag, _, _ = look_back(back[has])
                step[has] = self._stepped(d[has], f[has], f_lag)
            step |= rows - ep.last_out <= lag
        elif ep.regime == OUT_OF_CONTROL:
            # compare with the settled fault, not with the onset transient
            has = back >= ep.onset + lag
            if has.any():
                f_lag, d_lag, raw_lag = look_back(back[has])
                was_out = np.nan_to_num(raw_lag, nan=-np.inf) > float(self.release_below)
                step[has] = was_out & self._released(d[has], f[has], f_lag, d_lag)
        return step

    def _next_state(self, ep: "_Episode", score, step, f, b, t):
        """Update the episode ``ep`` and return the smoother state after the scored row ``t``.

        ``step``: from :meth:`_step_flags` for this row.
        """
        limit = float(self.freeze_above)
        if ep.regime == SETTLING:  # left at the first row at or past settle_end
            return np.vstack([f, f])
        if ep.regime == OUT_OF_CONTROL and step:
            ep.regime, ep.settle_end, ep.last_out = SETTLING, t + 1 + self.transient_rows_, -_FAR
            return np.vstack([f, f])
        if ep.regime == IN_CONTROL:
            if score > limit and step:
                if t - ep.last_out > self.transient_rows_:
                    ep.onset = t  # a new episode (not a dip of the last one)
                ep.regime, ep.last_out = OUT_OF_CONTROL, t
        elif score <= float(self.release_below):
            ep.regime = IN_CONTROL
        else:
            ep.last_out = t
        a = self.baseline_alpha_ if ep.regime == IN_CONTROL else self.alarm_alpha_
        s1 = b[0] + a * (f - b[0])
        return np.vstack([s1, b[1] + a * (s1 - b[1])])

    # ------------------------------------------------------------------ streaming
    def reset_stream(self) -> "ReanchoringT2Detector":
        """Forget the streaming state: the next :meth:`score_one` starts a new table."""
        super().reset_stream()
        self._stream_baseline = np.vstack([self.feature_mean_, self.feature_mean_]) / self.feature_scale_
        self._stream_t = 0
        self._stream_episode = _Episode()
        # the last transient_rows_ + 1 rows' scaled window means, deviations and raw scores
        width = len(self.feature_mean_)
        self._stream_past = np.full((self.transient_rows_ + 1, 2 * width + 1), np.nan)
        return self

    def score_one(self, x: dict) -> float:
        """Score the next reading of a stream ``{sensor_id: value}`` (absent sensors are missing).

        Feeding a table row by row to a fresh stream (:meth:`reset_stream`) gives the scores of
        :meth:`score_samples`, and :meth:`last_contributions` the rows of :meth:`contributions`.
        Keep one stream (a ``copy.deepcopy`` of the fitted detector) per asset.
        """
        check_fitted(self)
        if getattr(self, "_stream_past", None) is None:
            self.reset_stream()
        row = check_row_dict(x, self.sensors_).iloc[0].to_numpy(dtype="float64")
        rows = np.vstack([self._stream_rows, row[None, :]])[-self.history_rows_ :]
        self._stream_rows = rows
        feats, filled = self._features(pd.DataFrame(rows, columns=self.sensors_))
        t = self._stream_t
        self._stream_t += 1
        ep = self._stream_episode
        ep.settle_check(t)
        width = len(self.feature_mean_)
        past = np.roll(self._stream_past, -1, axis=0)
        past[-1] = np.nan
        self._stream_past = past
        self._stream_last = None
        if not self._scorable(rows[-1:]).all() or not np.isfinite(feats[-1]).all():
            return math.nan
        f = feats[-1] / self.feature_scale_
        b = self._stream_baseline
        shrink = np.repeat(np.sqrt(np.clip(filled[-1], 0.0, 1.0)), self.n_sensors_)
        d = f - self._reference(b)
        raw = float(self._t2_scaled((d * shrink)[None, :])[0])
        past[-1] = np.r_[f, d, raw]

        def look_back(r):  # r holds t - transient_rows_ only: the oldest row kept
            old = np.broadcast_to(past[0], (len(r), past.shape[1]))
            return old[:, :width], old[:, width:2 * width], old[:, -1]

        step = bool(self._step_flags(ep, np.array([t]), d[None, :], f[None, :], look_back)[0])
        self._stream_baseline = self._next_state(ep, raw, step, f, b, t)
        g = (d * shrink)[None, :]
        parts = (np.clip(g * (g @ self.precision_), 0.0, None) / self.t2_limit_)[0]
        parts = parts.reshape(int(self.lags) + 1, self.n_sensors_).sum(axis=0)
        w = ewma_alpha(self.halflife_rows_) if self.halflife_rows_ > 1e-12 else 1.0
        first = math.isnan(self._stream_level)
        self._stream_parts = parts if first else w * parts + (1.0 - w) * self._stream_parts
        self._stream_level = raw if first else w * raw + (1.0 - w) * self._stream_level
        self._stream_last = self._stream_parts.copy()
        return self._stream_level


_FAR = 1 << 60  # "long ago", in rows


@dataclass
class _Episode:
    """Where the causal pass is: regime, end of settling, start of the out-of-control episode and
    the last out-of-control row (row numbers of the table being scored)."""

    regime: int = IN_CONTROL
    settle_end: int = 0
    onset: int = 0
    last_out: int = -_FAR

    def settle_check(self, t: int) -> None:
        if self.regime == SETTLING and t >= self.settle_end:
            self.regime = IN_CONTROL


#: picked up by :mod:`pumpguard.detectors.registry`
REANCHOR_DETECTORS = {ReanchoringT2Detector.name: ReanchoringT2Detector}

