"""How fast ``read_dataset`` loads a pump-sensor CSV of the published size, and how much memory it needs.

A 220,320 x 52 file like the published one (floats with a few decimals, about 1 % empty cells,
``sensor_15`` empty, NORMAL/BROKEN/RECOVERING statuses, an unnamed leading index column) is
generated into a temporary directory. Each loader runs in a fresh process (so peak RSS is the
load's own, measured as the growth of ``ru_maxrss`` over the interpreter with pandas/pyarrow
imported); load time is the best of three runs. Baseline: ``pandas.read_csv`` with defaults on the
same file in the same run (it neither parses time stamps nor checks anything). The same rows are
also written as a day-partitioned Parquet archive (what ``pumpguard train`` reads from the
streaming service) and read back, against ``pandas.read_parquet`` on the directory.

Run: ``python -m bench load`` (or ``python -m bench.bench_load``).
"""

from __future__ import annotations

import json
import subprocess
import warnings
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from bench._harness import Row, emit
from pumpguard.data import DataQualityWarning, read_dataset, write_archive

ROWS = 220_320
SENSORS = 52
REPEATS = 3

_CHILD = r"""
import json, resource, sys, time, warnings
import pandas, pyarrow, pyarrow.csv
from pumpguard.data import read_dataset
warnings.simplefilter("ignore")
path, loader, repeats = sys.argv[1], sys.argv[2], int(sys.argv[3])
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
best = float("inf")
for _ in range(repeats):
    start = time.perf_counter()
    if loader == "read_dataset":
        obj = read_dataset(path)
    elif loader == "pandas.read_parquet":
        obj = pandas.read_parquet(path)
    else:
        obj = pandas.read_csv(path)
    best = min(best, time.perf_counter() - start)
    rows = len(obj)
    del obj
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps({"seconds": best, "rows": rows, "peak_mib": peak - base, "base_mib": base}))
"""


def write_pump_csv(path: Path, rows: int = ROWS, seed: int = 0) -> None:
    """A file shaped like the published pump-sensor CSV (values are random, not the real data)."""
    rng = np.random.default_rng(seed)
    index = pd.date_range("2018-04-01", periods=rows, freq="min")
    frame = pd.DataFrame({"timestamp": index.strftime("%Y-%m-%d %H:%M:%S")})
    levels = rng.uniform(0.0, 800.0, SENSORS)
    for i in range(SENSORS):
        name = f"sensor_{i:02d}"
        if name == "sensor_15":
            frame[name] = np.nan
            continue
        values = np.round(levels[i] + rng.normal(0.0, 0.05 * levels[i] + 0.1, rows), rng.integers(2, 7))
        values[rng.random(rows) < 0.01] = np.nan
        frame[name] = values
    status = np.full(rows, "NORMAL", dtype=object)
    for start in rng.choice(rows - 2000, 7, replace=False):
        status[start] = "BROKEN"
        status[start + 1 : start + 1 + int(rng.integers(300, 1500))] = "RECOVERING"
    frame["machine_status"] = status
    frame.to_csv(path, index=True)  # the published file has pandas' unnamed index column


def _measure(path: Path, loader: str) -> dict:
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(path), loader, str(REPEATS)],
                          capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def run() -> list[Row]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sensor.csv"
        write_pump_csv(path)
        size_mib = path.stat().st_size / 2**20
        ours = _measure(path, "read_dataset")
        base = _measure(path, "pandas.read_csv")
        archive = Path(tmp) / "archive"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DataQualityWarning)
            parts = write_archive(read_dataset(path), archive)
        arch = _measure(archive, "read_dataset")
        arch_base = _measure(archive, "pandas.read_parquet")
    note = f"{ROWS:,} x {SENSORS} CSV, {size_mib:.0f} MiB, best of {REPEATS}, fresh process"
    return [
        Row("load", "read_dataset seconds", ours["seconds"], "s", base["seconds"], "pandas.read_csv defaults",
            target="< 5 s", note=note),
        Row("load", "read_dataset rows/s", ours["rows"] / ours["seconds"], "rows/s",
            base["rows"] / base["seconds"], "pandas.read_csv defaults"),
        Row("load", "read_dataset peak RSS growth", ours["peak_mib"], "MiB", base["peak_mib"],
            "pandas.read_csv defaults", target="< 1024 MiB",
            note=f"over {ours['base_mib']:.0f} MiB of interpreter + pandas + pyarrow"),
        Row("load", "read_dataset Parquet archive seconds", arch["seconds"], "s", arch_base["seconds"],
            "pandas.read_parquet", note=f"the same rows as {len(parts)} day files (write_archive)"),
        Row("load", "read_dataset Parquet archive peak RSS growth", arch["peak_mib"], "MiB", arch_base["peak_mib"],
            "pandas.read_parquet", target="< 1024 MiB"),
    ]


if __name__ == "__main__":
    emit(run())
