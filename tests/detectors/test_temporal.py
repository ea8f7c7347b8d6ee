"""AdaptiveT2Detector (time-aware) and the causal alarm filters: causality, streaming agreement,
drift tolerance, step detection, seconds-to-rows conversion, missing values, parameter checks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pumpguard.detectors.alarm_filter import ewma, k_of_n, persistence, rows_for
from pumpguard.detectors.temporal import AdaptiveT2Detector, window_means
from pumpguard.errors import ConfigError


def _table(n=900, step="1s", seed=0, drift=0.0, step_at=None, step_size=-1.5, step_end=None):
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2020-03-09", periods=n, freq=step, tz="UTC", name="timestamp")
    flow = 32 + rng.normal(0, 0.4, n) + np.linspace(0, drift, n)
    if step_at is not None:
        flow[step_at:step_end] += step_size
    current = 1 + 0.02 * flow + rng.normal(0, 0.05, n)
    pressure = 0.1 + rng.normal(0, 0.25, n)
    return pd.DataFrame({"flow": flow, "current": current, "pressure": pressure}, index=idx)


def test_future_rows_do_not_change_past_scores():
    X = _table(step_at=600, step_end=750)
    det = AdaptiveT2Detector().fit(X.iloc[:400])
    before = det.score_samples(X)
    changed = X.copy()
    changed.iloc[500:, :] = changed.iloc[500:, :] * 3.0 + 7.0
    after = det.score_samples(changed)
    np.testing.assert_array_equal(before[:500], after[:500])
    assert not np.allclose(before[500:], after[500:])
    c_before, c_after = det.contributions(X), det.contributions(changed)
    pd.testing.assert_frame_equal(c_before.iloc[:500], c_after.iloc[:500])


def test_score_one_agrees_with_score_samples_through_alarms_and_gaps():
    X = _table(n=700, step_at=450, step_end=560, seed=3)
    X.iloc[100, 0] = np.nan          # one missing reading
    X.iloc[480, :] = np.nan          # an unscorable row inside the alarm
    det = AdaptiveT2Detector(window_s=8, lags=1).fit(X.iloc[:300])
    batch = det.score_samples(X)
    det.reset_stream()
    stream, shares = [], []
    for row in X.to_dict("records"):
        stream.append(det.score_one(row))
        shares.append(det.last_contributions())
    stream = np.array(stream)
    pd.testing.assert_frame_equal(pd.DataFrame(shares, index=X.index), det.contributions(X), rtol=1e-7, atol=1e-9)
    assert np.isnan(batch[480]) and np.isnan(stream[480])
    np.testing.assert_allclose(stream, batch, rtol=1e-9, atol=1e-9, equal_nan=True)
    assert (batch[460:560] > 2).mean() > 0.8   # the alarm regime was exercised


def test_baseline_follows_drift_that_a_fixed_baseline_alarms_on():
    X = _table(n=1500, drift=3.0, seed=1)      # slow normal drift, no fault
    adaptive = AdaptiveT2Detector().fit(X.iloc[:400])
    fixed = AdaptiveT2Detector(baseline_halflife_s=0).fit(X.iloc[:400])
    late = slice(1000, None)
    assert np.median(adaptive.score_samples(X)[late]) < 2
    assert np.median(fixed.score_samples(X)[late]) > 5 * np.median(adaptive.score_samples(X)[late])


def test_a_step_fault_holds_the_alarm_and_releases_after():
    # no drift: with drift during the fault the release waits for the slow alarm-time learning
    X = _table(n=1100, step_at=600, step_end=900, seed=2)
    s = AdaptiveT2Detector().fit(X.iloc[:400]).score_samples(X)
    assert np.median(s[450:600]) < 1.5
    assert (s[620:900] > 2).mean() > 0.9       # 300 s of fault: alarm all along
    assert np.median(s[950:]) < 1.5            # back to the pre-fault level: quiet again


def test_durations_are_seconds_at_any_sampling_step():
    fast = AdaptiveT2Detector(window_s=600).fit(_table(n=2000, step="1s"))
    slow = AdaptiveT2Detector(window_s=600).fit(_table(n=400, step="60s"))
    assert (fast.window_rows_, fast.sampling_step_s_) == (600, 1.0)
    assert (slow.window_rows_, slow.sampling_step_s_) == (10, 60.0)
    plain = _table(n=300).reset_index(drop=True)
    assert AdaptiveT2Detector().fit(plain).sampling_step_s_ == 60.0


def test_missing_readings_and_unscorable_rows():
    X = _table(n=600, seed=4)
    det = AdaptiveT2Detector().fit(X.iloc[:400])
    Y = X.copy()
    Y.iloc[450, 1] = np.nan
    Y.iloc[500, :] = np.nan
    s = det.score_samples(Y)
    assert np.isfinite(s[450]) and np.isnan(s[500]) and np.isfinite(s[501])
    assert det.contributions(Y).iloc[500].isna().all()


@pytest.mark.parametrize("params", [
    {"window_s": 0}, {"window_s": -1}, {"baseline_halflife_s": -5}, {"freeze_above": 0},
    {"shrinkage": 1.5}, {"lags": -1}, {"smoothing_s": float("nan")}, {"limit_quantile": 0.2},
])
def test_bad_parameters_are_refused_in_fit(params):
    det = AdaptiveT2Detector(**params)          # __init__ only stores
    with pytest.raises(ConfigError):
        det.fit(_table(n=200))


def test_window_means_are_causal_and_weighted():
    z = np.arange(10.0)[:, None]
    w = np.ones(10)
    w[5] = 0.0
    means, filled = window_means(z, w, window=3, lags=1)
    assert means[0, 0] == 0.0 and means[2, 0] == 1.0
    assert means[6, 0] == pytest.approx((4 + 6) / 2) and filled[6, 0] == pytest.approx(2 / 3)
    assert means[5, 1] == pytest.approx(1.0)    # lag window rows 0..2


def test_alarm_filters():
    assert rows_for(60, 1.0) == 60 and rows_for(60, 60.0) == 1 and rows_for(10, 60.0) == 1
    with pytest.raises(ConfigError):
        rows_for(0, 1.0)
    x = np.r_[np.zeros(5), np.ones(5)]
    y = ewma(x, halflife_rows=1.0)
    assert y[5] == pytest.approx(0.5) and y[6] == pytest.approx(0.75)
    assert ewma(x, halflife_rows=0.0).tolist() == x.tolist()
    blips = np.array([1, 0, 0, 1, 1, 1, 0, np.nan])
    assert k_of_n(blips, k=3, n=3).tolist()[:7] == [0, 0, 0, 0, 0, 1, 0]
    assert np.isnan(k_of_n(blips, k=3, n=3)[-1])
    assert persistence(blips, hold_s=120, within_s=180, step_s=60.0).tolist()[:7] == k_of_n(blips, k=2, n=3).tolist()[:7]
