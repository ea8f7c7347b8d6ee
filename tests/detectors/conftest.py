"""Small synthetic pump records shared by the detector tests (a few thousand minutes, 8 sensors)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pumpguard.data.schema import STATUS_DTYPE, Dataset

N_ROWS = 3000
N_SENSORS = 8
FAILURES = (900, 1900, 2700)
BROKEN_ROWS = 40
RECOVERING_ROWS = 20
PRECURSOR_ROWS = 60


def synthetic_record(seed: int = 0, n_rows: int = N_ROWS) -> pd.DataFrame:
    """Correlated sensors (two latent operating variables) with three injected failures.

    Before each failure sensors 0-1 drift for an hour (a precursor); during BROKEN sensors 2-3 leave
    the normal correlation by several standard deviations; RECOVERING follows.
    """
    rng = np.random.default_rng(seed)
    t = np.arange(n_rows)
    latent = np.column_stack([np.sin(2 * np.pi * t / 1440), np.cos(2 * np.pi * t / 300)])
    loading = rng.normal(size=(2, N_SENSORS))
    values = latent @ loading + 0.2 * rng.normal(size=(n_rows, N_SENSORS)) + rng.uniform(5, 50, N_SENSORS)
    status = np.full(n_rows, "NORMAL", dtype=object)
    sd = values.std(axis=0)
    for start in FAILURES:
        values[start - PRECURSOR_ROWS : start, :2] += np.linspace(0, 3, PRECURSOR_ROWS)[:, None] * sd[:2]
        values[start : start + BROKEN_ROWS, 2:4] += 6 * sd[2:4]
        status[start : start + BROKEN_ROWS] = "BROKEN"
        status[start + BROKEN_ROWS : start + BROKEN_ROWS + RECOVERING_ROWS] = "RECOVERING"
    idx = pd.date_range("2018-04-01", periods=n_rows, freq="min", tz="UTC", name="timestamp")
    frame = pd.DataFrame(values, index=idx, columns=[f"sensor_{i:02d}" for i in range(N_SENSORS)])
    frame["machine_status"] = pd.Categorical(status, dtype=STATUS_DTYPE)
    return frame


@pytest.fixture(scope="session")
def record() -> pd.DataFrame:
    return synthetic_record()


@pytest.fixture(scope="session")
def dataset(record) -> Dataset:
    return Dataset.from_frame(record, source="synthetic test record")
