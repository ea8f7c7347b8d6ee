import numpy as np
import pytest

from pumpguard.detectors.threshold import DEFAULT_FALSE_ALARM_RATE, calibrate, calibrate_threshold
from pumpguard.errors import ConfigError


def test_default_rate_is_one_row_a_day_at_one_row_a_minute():
    assert DEFAULT_FALSE_ALARM_RATE == pytest.approx(1 / 1440)


@pytest.mark.parametrize("rate", [0.001, 0.01, 0.05, 0.2])
def test_rate_is_met_on_fresh_normal_rows(rate):
    rng = np.random.default_rng(1)
    threshold = calibrate_threshold(rng.normal(size=20_000), false_alarm_rate=rate)
    fresh = rng.normal(size=200_000)
    assert np.mean(fresh > threshold) == pytest.approx(rate, rel=0.25)


def test_observed_rate_never_exceeds_target_when_verified():
    scores = np.random.default_rng(2).exponential(size=5000)
    cal = calibrate(scores, false_alarm_rate=0.003)
    assert cal.rate_verified and cal.observed_rate <= 0.003
    assert cal.n_rows == 5000 and cal.method == "empirical-quantile"


def test_small_sample_takes_the_largest_score_and_says_so():
    cal = calibrate([1.0, 5.0, 3.0], false_alarm_rate=0.01)
    assert cal.threshold == 5.0
    assert not cal.rate_verified
    assert cal.min_verifiable_rate == pytest.approx(0.25)


def test_nan_scores_are_left_out_and_counted():
    cal = calibrate([np.nan, 1.0, 2.0, np.nan] + list(range(100)), false_alarm_rate=0.1)
    assert cal.n_unscorable == 2 and cal.n_rows == 102


def test_ties_at_the_threshold_are_not_alarms():
    cal = calibrate(np.zeros(1000), false_alarm_rate=0.01)
    assert cal.threshold == 0.0 and cal.observed_rate == 0.0


@pytest.mark.parametrize("bad", [0, 1, -0.1, 1.5, "0.01", True])
def test_bad_rates_are_refused(bad):
    with pytest.raises(ConfigError, match="false_alarm_rate"):
        calibrate([1.0, 2.0], false_alarm_rate=bad)


def test_no_finite_score_is_refused():
    with pytest.raises(ConfigError, match="no normal row has a finite score"):
        calibrate([np.nan, np.nan], false_alarm_rate=0.01)
