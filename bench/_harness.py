"""Shared pieces for benchmark modules.

A benchmark module ``bench/bench_<name>.py`` defines ``run() -> list[Row]`` and ends with
``if __name__ == "__main__": emit(run())``. ``python -m bench`` runs every module in its own
process (so peak memory is that module's own) and prints one table.
"""

from __future__ import annotations

import json
import resource
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Iterator

MARKER = "BENCH-ROWS:"


@dataclass
class Row:
    benchmark: str
    measure: str
    value: float
    unit: str
    #: the same measure for the baseline, run in the same process and the same run
    baseline: float | None = None
    baseline_name: str = ""
    target: str = ""
    note: str = ""


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


@contextmanager
def timed() -> Iterator[list[float]]:
    """``with timed() as t: ...`` then ``t[0]`` holds the seconds taken."""
    box: list[float] = []
    start = time.perf_counter()
    try:
        yield box
    finally:
        box.append(time.perf_counter() - start)


def emit(rows: list[Row]) -> None:
    sys.stdout.write(MARKER + json.dumps([asdict(r) for r in rows]) + "\n")
    sys.stdout.flush()
