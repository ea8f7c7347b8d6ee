"""Checks particular to one detector (the shared ones are in test_conformance.py)."""

import numpy as np
import pandas as pd
import pytest

from pumpguard.detectors.early_warning import causal_window_features
from pumpguard.detectors.registry import make_detector


def sensors(record):
    return record.drop(columns=["machine_status"])


def normal(record):
    return sensors(record)[(record["machine_status"] == "NORMAL").to_numpy()]


@pytest.mark.parametrize("statistic", ["combined", "t2", "spe"])
def test_pca_parts_add_up_to_the_score(record, statistic):
    det = make_detector("pca", statistic=statistic).fit(normal(record))
    X = sensors(record).iloc[850:1000]
    Zc, _ = det._filled(X)
    np.testing.assert_allclose(det._parts(Zc).sum(axis=1), det.score_samples(X), rtol=1e-10)


def test_pca_keeps_the_components_for_the_variance(record):
    det = make_detector("pca", variance=0.95).fit(normal(record))
    assert det.explained_variance_ratio_.sum() >= 0.95
    assert det.explained_variance_ratio_[:-1].sum() < 0.95


def test_pca_conditional_fill_beats_the_median(record):
    """A missing reading of a correlated sensor is filled from its partners, not with the median."""
    det = make_detector("pca").fit(normal(record))
    X = normal(record).iloc[::50]
    j = int(np.argmax(X.std().to_numpy()))  # the sensor most driven by the shared operating state
    name = X.columns[j]
    gap = X.copy()
    gap[name] = np.nan
    Zc, _ = det._filled(gap)
    filled = (Zc[:, j] + det.center_[j]) * det.scale_[j] + det.mean_[j]
    err_fill = np.abs(filled - X[name]).mean()
    err_median = np.abs(det.median_[j] - X[name]).mean()
    assert err_fill < 0.5 * err_median
    assert (det.contributions(gap)[name] == 0).all()  # an absent sensor is never blamed


def test_pca_names_the_sensor_that_broke(record):
    det = make_detector("pca").fit(normal(record))
    parts = det.contributions(sensors(record).iloc[1900:1940])  # BROKEN: sensors 2 and 3 are off
    assert set(parts.mean().nlargest(2).index) == {"sensor_02", "sensor_03"}


def test_supervised_0_1_label_and_status(record):
    X = sensors(record)
    y01 = (record["machine_status"] != "NORMAL").astype(int)
    det = make_detector("gradient_boosting", max_iter=20).fit(X, y01)
    assert det.classes_ == [0, 1]
    proba = det.predict_proba(X)
    np.testing.assert_allclose(det.score_samples(X), proba["1"].to_numpy())
    status_det = make_detector("random_forest", n_estimators=10).fit(X, record["machine_status"])
    out = status_det.predict_status(X)
    assert set(out) <= {"NORMAL", "BROKEN", "RECOVERING"}
    assert (out[1900:1940] == "BROKEN").mean() > 0.8
    np.testing.assert_allclose(status_det.score_samples(X), 1 - status_det.predict_proba(X)["NORMAL"].to_numpy())


def test_logistic_contributions_point_at_the_broken_sensors(record):
    det = make_detector("logistic_regression").fit(sensors(record), record["machine_status"])
    parts = det.contributions(sensors(record).iloc[1900:1940])
    assert set(parts.mean().nlargest(2).index) == {"sensor_02", "sensor_03"}


def test_window_features_are_causal_and_right():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(500, 3))
    F = causal_window_features(Z, 5, 20)
    expected = pd.DataFrame(Z).rolling(20, min_periods=1)
    np.testing.assert_allclose(F[:, 3:6], expected.mean().to_numpy(), atol=1e-10)
    np.testing.assert_allclose(F[:, 6:9], expected.std(ddof=0).fillna(0).to_numpy(), atol=1e-6)
    later = Z.copy()
    later[300:] += 10
    np.testing.assert_array_equal(causal_window_features(later, 5, 20)[:300], F[:300])


def test_early_warning_horizon_is_a_parameter(record):
    det = make_detector("early_warning", horizon="30min", max_iter=20).fit(sensors(record), record["machine_status"])
    assert det.n_failure_ahead_rows_ == 3 * 30


def test_early_warning_refuses_labels_that_are_not_statuses(record):
    from pumpguard.errors import ConfigError

    X = sensors(record)
    anomaly = (record["machine_status"] != "NORMAL").astype(int)  # a 0/1 label, as SKAB's anomaly
    with pytest.raises(ConfigError, match="needs machine_status"):
        make_detector("early_warning", horizon="30min", max_iter=5).fit(X, anomaly)
