"""EDA on a file the size of the published one (220,320 rows x 52 sensors): seconds and peak memory.

The file is a SYNTHETIC sample (``make_sample(153 days)``) written by a child process, so this
process's peak memory is reading plus EDA only. What ``pumpguard eda`` does is timed in-process:
``read_dataset`` then ``write_eda``. Baseline for the read: plain ``pandas.read_csv`` of the same file.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

from bench._harness import Row, emit, peak_rss_mib, timed

DAYS = 153  # 153 x 1440 = 220,320 rows, as published

_MAKE = """
import sys
from pumpguard.data.synthetic import make_sample
from pumpguard.data.writers import write_csv
write_csv(make_sample({days}, seed=7), sys.argv[1])
"""


def run() -> list[Row]:
    import pandas as pd

    from pumpguard.data.eda_report import write_eda
    from pumpguard.data.readers import read_dataset

    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "pump.csv"
        with timed() as t_make:
            subprocess.run([sys.executable, "-c", _MAKE.format(days=DAYS), str(data)], check=True)
        size_mib = data.stat().st_size / 2**20
        with timed() as t_pandas:
            pd.read_csv(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with timed() as t_read:
                ds = read_dataset(data)
        cpu = time.process_time()
        with timed() as t_eda:
            out = write_eda(ds, Path(tmp) / "eda")
        cpu = time.process_time() - cpu
        total = t_read[0] + t_eda[0]
        shape = f"{len(ds):,} rows x {len(ds.sensor_ids)} sensors (file: 52, sensor_15 empty), {size_mib:.0f} MiB CSV"
        rows += [
            Row("eda", "make + write the synthetic file (child process)", t_make[0], "s", note=shape),
            Row("eda", "read_dataset", t_read[0], "s", baseline=t_pandas[0], baseline_name="pandas.read_csv"),
            Row("eda", "write_eda (summary, 17 figures, HTML)", t_eda[0], "s"),
            Row("eda", "write_eda CPU time (this process)", cpu, "s",
                note="wall time above this is waiting for a busy machine"),
            Row("eda", "pumpguard eda, in-process (read + write_eda)", total, "s", target="< 30 s",
                note="meets target" if total < 30 else "MISSES target"),
            Row("eda", "report.html size", out.report.stat().st_size / 2**20, "MiB"),
            Row("eda", "peak RSS (read + EDA)", peak_rss_mib(), "MiB"),
        ]
    return rows


if __name__ == "__main__":
    emit(run())
