"""A small labelled data folder, a models folder with one PCA model, and a TestClient on the app."""

from __future__ import annotations

from pathlib import Path

import pytest

TOKEN = "test-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture(scope="session")
def api_dirs(tmp_path_factory) -> tuple[Path, Path]:
    """data/pump.csv (6 synthetic days at 1/min, with failures) and models/pca.skops trained on it."""
    from pumpguard.data import read_dataset, write_csv
    from pumpguard.data.synthetic import make_sample
    from pumpguard.detectors.model_file import save_model
    from pumpguard.detectors.training import train

    root = tmp_path_factory.mktemp("api")
    data, models = root / "data", root / "models"
    data.mkdir()
    models.mkdir()
    write_csv(make_sample(6, seed=5, failures=2), data / "pump.csv")
    dataset = read_dataset(data / "pump.csv")  # as the API reads it (the empty sensor_15 dropped)
    save_model(train(dataset, "pca"), models / "pca.skops")
    (root / "secret.csv").write_text("timestamp,sensor_00\n2018-04-01T00:00:00Z,1\n")
    return data, models


@pytest.fixture()
def settings(api_dirs, tmp_path):
    import shutil

    from pumpguard.api.settings import Settings

    data, models = api_dirs
    own_models = tmp_path / "models"
    shutil.copytree(models, own_models)  # each test may add models without disturbing the others
    return Settings(data_dir=data, models_dir=own_models, token=TOKEN, max_request_bytes=256 * 1024)


@pytest.fixture()
def auth() -> dict:
    return dict(AUTH)


@pytest.fixture()
def client(settings):
    from fastapi.testclient import TestClient

    from pumpguard.api.app import create_app

    with TestClient(create_app(settings)) as c:
        yield c
