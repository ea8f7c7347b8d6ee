import numpy as np
import pytest

from pumpguard.detectors.registry import make_detector
from pumpguard.errors import ConfigError, DataFormatError, UnknownSensorError


@pytest.fixture(scope="module")
def fitted(record):
    return make_detector("pca").fit(record.drop(columns=["machine_status"]))


def test_label_columns_are_dropped_not_learned(record):
    det = make_detector("pca").fit(record)
    assert "machine_status" not in det.sensors_ and det.n_sensors_ == 8
    assert np.isfinite(det.score_samples(record)).all()  # labels in the scored table are ignored too


def test_non_numeric_column_is_refused_by_name(record):
    X = record.drop(columns=["machine_status"]).astype({"sensor_04": "object"})
    X.loc[X.index[5], "sensor_04"] = "n/a"
    with pytest.raises(DataFormatError, match="sensor_04.*not numeric.*'n/a'"):
        make_detector("pca").fit(X)


def test_array_instead_of_frame_is_refused(fitted, record):
    with pytest.raises(DataFormatError, match="DataFrame"):
        fitted.score_samples(record.drop(columns=["machine_status"]).to_numpy())


def test_unknown_sensor_message_says_how_to_fix(fitted, record):
    X = record.drop(columns=["machine_status"]).rename(columns={"sensor_01": "sensor_1"})
    with pytest.raises(UnknownSensorError) as info:
        fitted.score_samples(X)
    text = str(info.value)
    assert "sensor_1" in text and "sensor_01" in text and "Fix:" in text
    assert info.value.unknown == ["sensor_1"] and info.value.missing == ["sensor_01"]


def test_supervised_detector_needs_a_label(record):
    with pytest.raises(ConfigError, match="supervised and needs y"):
        make_detector("decision_tree").fit(record.drop(columns=["machine_status"]))


def test_empty_sensor_is_ignored_not_fatal(record):
    X = record.drop(columns=["machine_status"]).assign(sensor_15=np.nan)
    det = make_detector("pca").fit(X)
    assert det.unusable_sensors_ == ["sensor_15"]
    assert (det.contributions(X)["sensor_15"] == 0).all()
    only_empty = X.iloc[:1].copy()
    only_empty.loc[:, :] = np.nan
    only_empty["sensor_15"] = 3.0
    assert np.isnan(det.score_samples(only_empty)[0])  # the only reading is of an unusable sensor


def test_score_one_accepts_missing_keys_and_refuses_unknown(fitted, record):
    row = record.drop(columns=["machine_status"]).iloc[100]
    partial = row.drop("sensor_02").to_dict()
    frame = row.to_frame().T.astype(float)
    frame["sensor_02"] = np.nan
    assert fitted.score_one(partial) == pytest.approx(fitted.score_samples(frame)[0])
    with pytest.raises(UnknownSensorError, match="sensor_77"):
        fitted.score_one({**partial, "sensor_77": 1.0})
    with pytest.raises(DataFormatError, match="not a number"):
        fitted.score_one({"sensor_00": "high"})


def test_a_failed_fit_leaves_no_half_fitted_detector(record):
    from pumpguard.errors import NotFittedError

    det = make_detector("early_warning", horizon="1h")
    calm = record.iloc[:800]
    with pytest.raises(DataFormatError, match="BROKEN start"):
        det.fit(calm.drop(columns=["machine_status"]), calm["machine_status"])
    with pytest.raises(NotFittedError):
        det.score_samples(calm.drop(columns=["machine_status"]))
    assert set(vars(det)) == set(det.get_params())


def test_ready_float_table_takes_the_fast_path_and_others_are_still_checked(fitted, record):
    from pumpguard.detectors._validation import check_scoring_frame

    X = record.drop(columns=["machine_status"]).iloc[:20]
    ready = X[fitted.sensors_].astype("float64")
    assert check_scoring_frame(ready, fitted.sensors_) is ready  # nothing to convert or reorder
    as_text = ready.astype(object)
    as_text.iloc[4, 2] = "n/a"
    with pytest.raises(DataFormatError, match="not numeric"):
        fitted.score_samples(as_text)  # same columns, not float64: the full check runs
    ints = ready.round().astype("int64")
    np.testing.assert_array_equal(fitted.score_samples(ints), fitted.score_samples(ints.astype("float64")))
