"""Fixtures that write small good and bad data files into ``tmp_path``."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pumpguard.data import STATUS_DTYPE, Dataset, Sensor

SKAB_DIR = Path("/work/shared/data/skab")
SKAB_VALVE = SKAB_DIR / "valve1" / "0.csv"
SKAB_FREE = SKAB_DIR / "anomaly-free" / "anomaly-free.csv"


def pump_csv_text(
    rows: int = 6,
    *,
    index_column: str | None = "",
    sensors: tuple[str, ...] = ("sensor_00", "sensor_01", "sensor_15"),
    start: str = "2018-04-01 00:00:00",
    statuses: list[str] | None = None,
) -> str:
    """A pump-sensor CSV as published (sensor_15 empty, a few empty cells), ``rows`` minutes long."""
    stamps = pd.date_range(start, periods=rows, freq="min").strftime("%Y-%m-%d %H:%M:%S")
    statuses = statuses or (["NORMAL"] * (rows - 2) + ["BROKEN", "RECOVERING"])[:rows]
    head = ([index_column] if index_column is not None else []) + ["timestamp", *sensors, "machine_status"]
    lines = [",".join(head)]
    for i, (t, s) in enumerate(zip(stamps, statuses)):
        cells = [str(i)] if index_column is not None else []
        cells.append(t)
        for j, name in enumerate(sensors):
            if name == "sensor_15" or (i == 2 and j == 0):
                cells.append("")
            else:
                cells.append(f"{2.4 + 0.01 * i + j:.6f}")
        cells.append(s)
        lines.append(",".join(cells))
    return "\n".join(lines) + "\n"


@pytest.fixture
def write(tmp_path):
    """``write(name, text)`` -> path of a file holding ``text`` (gzip-compressed if ``name`` ends in .gz)."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if name.endswith(".gz"):
            with gzip.open(path, "wt", encoding="utf-8", newline="") as fh:
                fh.write(text)
        else:
            path.write_text(text, encoding="utf-8", newline="")
        return path

    return _write


@pytest.fixture
def pump_text():
    """The :func:`pump_csv_text` maker."""
    return pump_csv_text


@pytest.fixture
def skab_valve() -> Path:
    if not SKAB_VALVE.exists():
        pytest.skip("SKAB data not present at /work/shared/data/skab")
    return SKAB_VALVE


@pytest.fixture
def skab_free() -> Path:
    if not SKAB_FREE.exists():
        pytest.skip("SKAB data not present at /work/shared/data/skab")
    return SKAB_FREE


@pytest.fixture
def pump_csv(write) -> Path:
    return write("sensor.csv", pump_csv_text())


@pytest.fixture
def small_dataset() -> Dataset:
    """A contract-conforming dataset with every label column, missing values and metadata."""
    rng = np.random.default_rng(7)
    idx = pd.date_range("2018-04-01", periods=40, freq="min", tz="UTC", name="timestamp")
    frame = pd.DataFrame({
        "sensor_00": np.round(rng.normal(2.4, 0.1, 40), 6),
        "sensor_01": rng.normal(47.0, 1.0, 40),
    }, index=idx)
    frame.iloc[5, 0] = np.nan
    status = ["NORMAL"] * 30 + ["BROKEN"] + ["RECOVERING"] * 9
    frame["machine_status"] = pd.Categorical(status, dtype=STATUS_DTYPE)
    frame["anomaly"] = np.array([0] * 28 + [1] * 12, dtype="int8")
    frame["changepoint"] = np.array([0] * 28 + [1] + [0] * 11, dtype="int8")
    sensors = [Sensor("sensor_00", kind="pressure", unit="Pa", element="J1", x=1.0, y=2.0),
               Sensor("sensor_01", kind="flow", unit="m^3/s")]
    return Dataset.from_frame(frame, sensors=sensors, source="test", notes=["made by a fixture"])
