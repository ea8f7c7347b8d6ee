import json
import pickle
import zipfile

import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier

from pumpguard.detectors.model_file import (
    CARD_MEMBER,
    load_model,
    model_card,
    read_card,
    save_model,
    update_card,
)
from pumpguard.detectors.pickled import PickledEstimator, import_pickle
from pumpguard.detectors.training import train
from pumpguard.errors import ModelFileError


class Gadget:
    """A type no allow-list trusts."""

    def __init__(self):
        self.payload = 1


@pytest.fixture(scope="module")
def model(dataset):
    return train(dataset, "pca", false_alarm_rate=0.01)


@pytest.fixture
def saved(model, tmp_path):
    return save_model(model, tmp_path / "pca.skops")


def test_the_file_is_a_skops_archive_with_card_and_manifest(saved):
    with zipfile.ZipFile(saved) as zf:
        names = set(zf.namelist())
    assert {"schema.json", CARD_MEMBER, "pumpguard_manifest.json"} <= names
    card = read_card(saved)
    assert card["file"]["format"] == "pumpguard-model" and card["file"]["format_version"] == 1


def test_update_card_stores_the_assessment_and_keeps_the_file_valid(saved, record):
    update_card(saved, {"event_recall": 0.75, "false_alarms_per_day": 0.4})
    loaded = load_model(saved)
    assert loaded.assessment == {"event_recall": 0.75, "false_alarms_per_day": 0.4}
    with pytest.raises(ModelFileError, match="not JSON"):
        update_card(saved, {"bad": object()})


def test_altered_file_is_refused(saved):
    with zipfile.ZipFile(saved) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    card = json.loads(members[CARD_MEMBER])
    card["threshold"] = 1e9  # someone edits the threshold by hand
    members[CARD_MEMBER] = json.dumps(card).encode()
    with zipfile.ZipFile(saved, "w") as zf:
        for n, b in members.items():
            zf.writestr(n, b)
    with pytest.raises(ModelFileError, match="altered or damaged"):
        load_model(saved)


def test_truncated_file_is_refused(saved):
    data = saved.read_bytes()
    saved.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError, match="truncated or damaged"):
        load_model(saved)


def test_other_files_are_refused(tmp_path, saved):
    text = tmp_path / "notes.skops"
    text.write_text("hello")
    with pytest.raises(ModelFileError, match="not a pumpguard model file"):
        load_model(text)
    bare = tmp_path / "bare.zip"
    with zipfile.ZipFile(bare, "w") as zf:
        zf.writestr("schema.json", "{}")
    with pytest.raises(ModelFileError, match="not a pumpguard model file"):
        load_model(bare)


def test_untrusted_types_are_refused_by_name(model, tmp_path):
    model.detector.gadget_ = Gadget()
    try:
        path = save_model(model, tmp_path / "evil.skops")
    finally:
        del model.detector.gadget_
    with pytest.raises(ModelFileError, match="does not trust.*Gadget") as info:
        load_model(path)
    assert any("Gadget" in t for t in info.value.untrusted)


def test_model_card_summarises(model):
    card = model_card(model)
    assert card["detector_class"].endswith("PCADetector")
    assert card["n_sensors"] == 8 and card["n_components"] >= 1 and card["supervised"] is False


def _study_pickle(record, tmp_path):
    X = record.drop(columns=["machine_status"])
    tree = DecisionTreeClassifier(max_depth=4, random_state=0).fit(X.to_numpy(), record["machine_status"].astype(str))
    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(tree))
    return path


def test_pickle_is_refused_without_trust(record, tmp_path):
    path = _study_pickle(record, tmp_path)
    with pytest.raises(ModelFileError, match="runs code from the file") as info:
        import_pickle(path, trust=False)
    # the flag the message names is the command's own (pumpguard model import-pickle ... --trust)
    assert "--trust)" in str(info.value) and "--trust-pickle" not in str(info.value)


def test_trusted_pickle_becomes_a_safe_model_file(record, dataset, tmp_path):
    det = import_pickle(_study_pickle(record, tmp_path), trust=True)
    assert isinstance(det, PickledEstimator)
    model = train(dataset, det, false_alarm_rate=0.01)
    X = record.drop(columns=["machine_status"])
    scores = model.detector.score_samples(X)
    broken = (record["machine_status"] == "BROKEN").to_numpy()
    assert scores[broken].mean() > scores[~broken].mean()
    path = save_model(model, tmp_path / "imported.skops")
    np.testing.assert_array_equal(load_model(path).detector.score_samples(X), scores)


def test_a_file_whose_detector_cannot_score_is_refused_with_one_message(tmp_path):
    """A file written by a pumpguard whose detector kept other fitted state: refused at load."""
    import numpy as np
    import pandas as pd

    from pumpguard.detectors.model_file import load_model, save_model
    from pumpguard.detectors.training import train
    from pumpguard.data.schema import Dataset
    from pumpguard.errors import ModelFileError

    rng = np.random.default_rng(0)
    idx = pd.date_range("2018-04-01", periods=600, freq="min", tz="UTC", name="timestamp")
    ds = Dataset.from_frame(pd.DataFrame(rng.normal(size=(600, 3)), index=idx, columns=["p1", "p2", "q"]))
    trained = train(ds, "pca", false_alarm_rate=0.01)
    del trained.detector.components_  # as if an older pumpguard had stored it under another name
    save_model(trained, tmp_path / "old.skops")
    with pytest.raises(ModelFileError, match="cannot score with this pumpguard.*retrain"):
        load_model(tmp_path / "old.skops")
