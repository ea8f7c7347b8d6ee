"""One conformance test run over every registry entry (including time-aware detectors added later).

Each detector is trained once per session through ``training.train`` on the synthetic record of
``conftest.py`` (time-ordered split, threshold on validation NORMAL rows) with its class's
``conformance_params``; each check then uses that fitted model.
"""

from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

from pumpguard.detectors.labels import failure_within
from pumpguard.detectors.model_file import load_model, save_model
from pumpguard.detectors.registry import DETECTORS, make_detector
from pumpguard.detectors.training import train
from pumpguard.errors import DataFormatError, NotFittedError, UnknownSensorError

NAMES = sorted(DETECTORS)
_TRAINED: dict = {}


def trained(name, dataset):
    if name not in _TRAINED:
        _TRAINED[name] = train(dataset, name, DETECTORS[name].conformance_params, false_alarm_rate=0.01)
    return _TRAINED[name]


def sensors_of(record):
    return record.drop(columns=["machine_status"])


def state(det) -> bytes:
    return pickle.dumps(det.__dict__)


@pytest.fixture(params=NAMES)
def name(request):
    return request.param


def test_init_only_stores_parameters(name):
    det = make_detector(name, **DETECTORS[name].conformance_params)
    assert set(vars(det)) == set(det.get_params())
    assert isinstance(DETECTORS[name].name, str) and DETECTORS[name].name == name
    assert isinstance(DETECTORS[name].supervised, bool)
    again = clone(det)
    assert again.get_params() == det.get_params()
    det.set_params(**det.get_params())


def test_use_before_fit_is_refused(name, record):
    det = make_detector(name, **DETECTORS[name].conformance_params)
    X = sensors_of(record).iloc[:10]
    for call in (det.score_samples, det.contributions, det.predict):
        with pytest.raises(NotFittedError):
            call(X)


def test_shapes_and_contributions(name, dataset, record):
    det = trained(name, dataset).detector
    X = sensors_of(record)
    scores = det.score_samples(X)
    assert scores.shape == (len(X),) and scores.dtype == np.float64
    assert np.isfinite(scores).all()
    parts = det.contributions(X)
    assert list(parts.columns) == det.sensors_ == list(X.columns)
    assert parts.index.equals(X.index)
    values = parts.to_numpy()
    assert (values >= 0).all()
    positive = scores > 0
    np.testing.assert_allclose(values[positive].sum(axis=1), 1.0, atol=1e-9)


def test_scoring_does_not_change_the_model(name, dataset, record):
    det = trained(name, dataset).detector
    X = sensors_of(record).iloc[:500]
    before = state(det)
    det.score_samples(X)
    det.contributions(X)
    det.predict(X)
    assert state(det) == before


def test_inputs_are_not_modified(name, dataset, record):
    det = trained(name, dataset).detector
    X = sensors_of(record).iloc[:400].copy()
    X.iloc[5, 2] = np.nan
    before = X.copy()
    det.score_samples(X)
    det.contributions(X)
    pd.testing.assert_frame_equal(X, before)
    fresh = make_detector(name, **DETECTORS[name].conformance_params)
    y = record["machine_status"] if fresh.supervised else None
    X_fit = sensors_of(record) if fresh.supervised else sensors_of(record)[(record["machine_status"] == "NORMAL").to_numpy()]
    X_fit = X_fit.copy()
    before = X_fit.copy()
    fresh.fit(X_fit, y)
    pd.testing.assert_frame_equal(X_fit, before)


def test_columns_may_come_in_any_order(name, dataset, record):
    det = trained(name, dataset).detector
    X = sensors_of(record).iloc[:300]
    np.testing.assert_array_equal(det.score_samples(X[X.columns[::-1]]), det.score_samples(X))


def test_unseen_and_missing_sensors_are_refused(name, dataset, record):
    det = trained(name, dataset).detector
    X = sensors_of(record).iloc[:50]
    with pytest.raises(UnknownSensorError, match="sensor_99") as info:
        det.score_samples(X.assign(sensor_99=1.0))
    assert info.value.unknown == ["sensor_99"]
    with pytest.raises(UnknownSensorError, match="sensor_03") as info:
        det.contributions(X.drop(columns=["sensor_03"]))
    assert info.value.missing == ["sensor_03"]


def test_same_seed_reproduces_scores(name, dataset, record):
    first = trained(name, dataset).detector
    again = train(dataset, name, DETECTORS[name].conformance_params, false_alarm_rate=0.01).detector
    X = sensors_of(record)
    np.testing.assert_array_equal(first.score_samples(X), again.score_samples(X))


def test_missing_readings(name, dataset, record):
    det = trained(name, dataset).detector
    X = sensors_of(record).iloc[1000:1400].copy()
    X.iloc[10, :] = np.nan  # nothing measured: unscorable
    X.iloc[20, [0, 3]] = np.nan  # two readings missing: still scored
    X.iloc[30:40, 5] = np.nan
    scores = det.score_samples(X)
    assert np.isnan(scores[10])
    assert np.isfinite(np.delete(scores, 10)).all()
    assert det.contributions(X).iloc[10].isna().all()
    assert np.isnan(det.predict(X)[10])


def test_predict_is_score_above_threshold(name, dataset, record):
    model = trained(name, dataset)
    det = model.detector
    X = sensors_of(record)
    scores = det.score_samples(X)
    np.testing.assert_array_equal(det.predict(X), (scores > det.threshold_).astype(float))
    assert det.threshold_ == model.threshold
    info = det.threshold_info_
    assert info["method"] == "empirical-quantile" and info["false_alarm_rate"] == 0.01 and info["n_rows"] > 0


def test_batch_independence_or_causality(name, dataset, record):
    det = trained(name, dataset).detector
    X = sensors_of(record).iloc[800:1200]
    full = det.score_samples(X)
    if det.time_aware:
        # causal: changing later rows must not change earlier scores
        later = X.copy()
        later.iloc[200:] += 50.0
        np.testing.assert_allclose(det.score_samples(later)[:200], full[:200], rtol=1e-12, atol=1e-12)
    else:
        picked = X.iloc[::7]
        np.testing.assert_allclose(det.score_samples(picked), full[::7], rtol=1e-12, atol=1e-12)
        one = X.iloc[123].to_dict()
        assert det.score_one(one) == pytest.approx(full[123], rel=1e-12, abs=1e-12)


def test_anomalous_rows_rank_higher(name, dataset, record):
    det = trained(name, dataset).detector
    scores = det.score_samples(sensors_of(record))
    status = record["machine_status"].astype(str)
    if name == "early_warning":
        horizon = det.get_params()["horizon"]
        anomalous = (failure_within(status, horizon) == 1).to_numpy()
        normal = (status == "NORMAL").to_numpy() & ~anomalous
    else:
        anomalous = (status == "BROKEN").to_numpy()
        normal = (status == "NORMAL").to_numpy()
    assert scores[anomalous].mean() > scores[normal].mean()


def test_model_file_round_trip(name, dataset, record, tmp_path):
    model = trained(name, dataset)
    path = save_model(model, tmp_path / f"{name}.skops")
    loaded = load_model(path)
    X = sensors_of(record)
    np.testing.assert_array_equal(loaded.detector.score_samples(X), model.detector.score_samples(X))
    np.testing.assert_array_equal(loaded.detector.predict(X), model.detector.predict(X))
    pd.testing.assert_frame_equal(loaded.detector.contributions(X), model.detector.contributions(X))
    assert loaded.card() == model.card()


def test_score_and_contributions_agrees_with_the_separate_calls(name, dataset, record):
    det = trained(name, dataset).detector
    X = sensors_of(record).iloc[600:1000].copy()
    X.iloc[3, :] = np.nan  # unscorable
    X.iloc[7, [1, 4]] = np.nan
    before = state(det)
    scores, parts = det.score_and_contributions(X)
    assert state(det) == before
    np.testing.assert_array_equal(scores, det.score_samples(X))
    pd.testing.assert_frame_equal(parts, det.contributions(X))
    # the fast path (float64, columns exactly sensors_) and the checked path agree
    shuffled = X[X.columns[::-1]]
    np.testing.assert_array_equal(det.score_and_contributions(shuffled)[0], scores)


def test_score_matrix_agrees_with_score_and_contributions(name, dataset, record):
    det = trained(name, dataset).detector
    X = sensors_of(record).iloc[600:1000].copy()
    X.iloc[3, :] = np.nan  # unscorable
    X.iloc[7, [1, 4]] = np.nan
    if det.time_aware:  # a plain matrix has no times: refused with the reason
        with pytest.raises(DataFormatError, match="time-aware"):
            det.score_matrix(X.to_numpy())
        return
    scores, parts = det.score_and_contributions(X)
    before = state(det)
    matrix_scores, matrix_parts = det.score_matrix(X[det.sensors_].to_numpy(dtype="float64"))
    assert state(det) == before
    np.testing.assert_allclose(matrix_scores, scores, rtol=1e-12, atol=0)
    np.testing.assert_allclose(matrix_parts, parts.to_numpy(), rtol=1e-12, atol=1e-15)
    with pytest.raises(DataFormatError, match="rows x sensors_"):
        det.score_matrix(X.to_numpy()[:, :3])
