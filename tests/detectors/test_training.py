import numpy as np
import pandas as pd
import pytest

from pumpguard.data.schema import Dataset
from pumpguard.detectors.training import data_hash, normal_rows, train
from pumpguard.errors import ConfigError, DataFormatError


def test_split_is_time_ordered_and_unsupervised_sees_normal_rows_only(dataset, record):
    model = train(dataset, "pca", false_alarm_rate=0.01)
    start, end = record.index[0], record.index[-1]
    train_end = pd.Timestamp(model.train_end)
    assert pd.Timestamp(model.train_start) == start
    assert train_end == start + (end - start) * 0.6
    assert pd.Timestamp(model.validation_end) == train_end + (end - start) * 0.2
    in_train = record.index < train_end
    normal = (record["machine_status"] == "NORMAL").to_numpy()
    assert model.n_train_rows == int((in_train & normal).sum()) < int(in_train.sum())
    assert model.test_start == pd.Timestamp(model.validation_end)


def test_threshold_is_set_on_validation_normal_rows(dataset, record):
    model = train(dataset, "iforest", false_alarm_rate=0.02)
    val = (record.index >= pd.Timestamp(model.train_end)) & (record.index < pd.Timestamp(model.validation_end))
    normal = (record["machine_status"] == "NORMAL").to_numpy()
    assert model.threshold_info["n_rows"] == int((val & normal).sum())
    scores = model.detector.score_samples(record.loc[val & normal].drop(columns=["machine_status"]))
    assert np.mean(scores > model.threshold) <= 0.02


def test_supervised_training_uses_every_training_row(dataset, record):
    model = train(dataset, "decision_tree", false_alarm_rate=0.01)
    assert model.label_used == "machine_status"
    assert model.n_train_rows == int((record.index < pd.Timestamp(model.train_end)).sum())
    assert model.detector.classes_ == ["NORMAL", "BROKEN", "RECOVERING"]


def test_card_records_what_is_needed(dataset):
    model = train(dataset, "pca", {"variance": 0.9}, false_alarm_rate=0.01)
    card = model.card()
    assert card["detector"] == "pca" and card["params"]["variance"] == 0.9
    assert [s["id"] for s in card["sensors"]] == model.detector.sensors_
    assert len(card["training_data_sha256"]) == 64
    assert card["threshold_info"]["false_alarm_rate"] == 0.01
    assert card["pumpguard_version"]


def test_hash_changes_with_the_data(record):
    X = record.drop(columns=["machine_status"])
    changed = X.copy()
    changed.iloc[3, 2] += 1e-9
    assert data_hash(X) == data_hash(X.copy()) != data_hash(changed)


def test_unlabelled_data_trains_unsupervised_on_every_row(record):
    ds = Dataset.from_frame(record.drop(columns=["machine_status"]))
    assert normal_rows(ds.frame).all()
    model = train(ds, "pca", false_alarm_rate=0.01)
    assert model.n_train_rows == int((ds.frame.index < pd.Timestamp(model.train_end)).sum())
    with pytest.raises(ConfigError, match="supervised"):
        train(ds, "random_forest")


def test_skab_style_anomaly_column_selects_normal_rows(record):
    frame = record.drop(columns=["machine_status"]).assign(
        anomaly=(record["machine_status"] != "NORMAL").astype(int))
    assert normal_rows(frame).sum() == (record["machine_status"] == "NORMAL").sum()
    model = train(Dataset.from_frame(frame), "logistic_regression", false_alarm_rate=0.01)
    assert model.label_used == "anomaly" and model.detector.classes_ == [0, 1]


def test_bad_fractions_are_refused(dataset):
    with pytest.raises(ConfigError, match="at most 1"):
        train(dataset, "pca", train_fraction=0.9, validation_fraction=0.2)
    with pytest.raises(ConfigError, match="train_fraction"):
        train(dataset, "pca", train_fraction=0)


def test_progress_is_reported(dataset):
    said = []
    train(dataset, "pca", progress=said.append, false_alarm_rate=0.01)
    assert any("fitting pca" in s for s in said) and any("threshold" in s for s in said)


def test_early_warning_needs_a_failure_in_training(record):
    calm = record.iloc[:800]  # ends before the first failure
    with pytest.raises(DataFormatError, match="BROKEN start"):
        train(Dataset.from_frame(calm), "early_warning", {"horizon": "1h"})
