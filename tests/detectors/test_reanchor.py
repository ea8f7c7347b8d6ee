"""ReanchoringT2Detector: release on the step back, drift following, streaming agreement,
causality, missing values and parameter checks (small synthetic tables, 1 s rows)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pumpguard.detectors.reanchor import ReanchoringT2Detector
from pumpguard.detectors.registry import DETECTORS, make_detector
from pumpguard.detectors.temporal import AdaptiveT2Detector
from pumpguard.errors import ConfigError


def _table(n=1200, seed=0, drift=0.0, fault=None, after=0.0, overshoot=0.0):
    """flow / current / pressure at 1 s; ``fault=(start, end, size)`` moves flow by ``size`` (with an
    optional decaying overshoot at onset) and leaves it ``after`` off its old level once it clears."""
    rng = np.random.default_rng(seed)
    idx = pd.date_range("2020-03-09", periods=n, freq="s", tz="UTC", name="timestamp")
    t = np.arange(n, dtype=float)
    flow = 32 + rng.normal(0, 0.4, n) + drift * t / n
    if fault is not None:
        start, end, size = fault
        shape = (t >= start) * (1 + overshoot * np.exp(-np.clip(t - start, 0, None) / 8.0))
        flow += size * shape * (t < end) + after * (t >= end)
    current = 1 + 0.02 * flow + rng.normal(0, 0.05, n)
    pressure = 0.1 - 0.05 * (flow - 32) + rng.normal(0, 0.25, n)
    return pd.DataFrame({"flow": flow, "current": current, "pressure": pressure}, index=idx)


def test_registered_by_name():
    assert DETECTORS["reanchor_t2"] is ReanchoringT2Detector
    assert make_detector("reanchor_t2", shrinkage=1.0).get_params()["transient_s"] == 30.0


def test_a_cleared_fault_releases_at_a_new_operating_point():
    X = _table(fault=(600, 800, -2.0), after=0.8)
    s = ReanchoringT2Detector().fit(X.iloc[:400]).score_samples(X)
    latch = AdaptiveT2Detector().fit(X.iloc[:400]).score_samples(X)
    assert (s[620:800] > 2).mean() > 0.9          # the fault alarms all along
    assert np.median(s[850:]) < 1                  # quiet after it cleared
    assert np.median(latch[850:]) > 2              # where adaptive_t2 stays latched


def test_the_onset_overshoot_does_not_release_the_fault():
    X = _table(fault=(600, 900, -2.0), overshoot=1.0, seed=5)
    s = ReanchoringT2Detector().fit(X.iloc[:400]).score_samples(X)
    assert (s[620:900] > 2).mean() > 0.9


def test_slow_drift_is_followed_not_latched():
    X = _table(n=2000, drift=6.0, seed=1)          # 15 noise sd over half an hour, no fault
    s = ReanchoringT2Detector().fit(X.iloc[:400]).score_samples(X)
    assert (s[400:] > 2).mean() < 0.05


def test_future_rows_do_not_change_past_scores():
    X = _table(fault=(600, 800, -2.0), after=0.8)
    det = ReanchoringT2Detector().fit(X.iloc[:400])
    changed = X.copy()
    changed.iloc[700:] = changed.iloc[700:] * 2.0 + 3.0
    np.testing.assert_array_equal(det.score_samples(X)[:700], det.score_samples(changed)[:700])
    pd.testing.assert_frame_equal(det.contributions(X).iloc[:700], det.contributions(changed).iloc[:700])


@pytest.mark.parametrize("params", [
    {},
    pytest.param({"shrinkage": 1.0, "follow_trend": False}, marks=pytest.mark.slow),
    pytest.param({"lags": 1, "window_s": 8}, marks=pytest.mark.slow),
])
def test_score_one_agrees_with_score_samples_through_alarm_release_and_gaps(params):
    X = _table(n=900, fault=(450, 650, -2.0), after=0.8, seed=3)
    X.iloc[100, 0] = np.nan                        # one missing reading
    X.iloc[500, :] = np.nan                        # an unscorable row inside the fault
    X.iloc[662, :] = np.nan                        # ... and one while settling
    det = ReanchoringT2Detector(**params).fit(X.iloc[:300])
    batch = det.score_samples(X)
    det.reset_stream()
    stream, shares = [], []
    for row in X.to_dict("records"):
        stream.append(det.score_one(row))
        shares.append(det.last_contributions())
    np.testing.assert_allclose(np.array(stream), batch, rtol=1e-9, atol=1e-9, equal_nan=True)
    pd.testing.assert_frame_equal(pd.DataFrame(shares, index=X.index), det.contributions(X), rtol=1e-7, atol=1e-9)
    assert (batch[470:650] > 2).mean() > 0.8 and np.nanmedian(batch[700:]) < 1.5


def test_missing_readings_and_unscorable_rows():
    X = _table(n=700, seed=4)
    det = ReanchoringT2Detector().fit(X.iloc[:400])
    X.iloc[450, 1] = np.nan
    X.iloc[500, :] = np.nan
    s = det.score_samples(X)
    assert np.isfinite(s[450]) and np.isnan(s[500]) and np.isfinite(s[501])
    assert det.contributions(X).iloc[500].isna().all()


def test_contributions_name_the_faulty_sensor():
    X = _table(fault=(600, 800, -2.0))
    det = ReanchoringT2Detector().fit(X.iloc[:400])
    assert det.contributions(X).iloc[650:800].mean().idxmax() == "flow"


@pytest.mark.parametrize("params", [
    {"transient_s": 0}, {"transient_s": -3}, {"step_fraction": 1.5}, {"follow_trend": "yes"},
    {"release_below": 0}, {"release_below": 3.0}, {"window_s": 0},
])
def test_bad_parameters_are_refused_in_fit(params):
    det = ReanchoringT2Detector(**params)
    with pytest.raises(ConfigError):
        det.fit(_table(n=300))
