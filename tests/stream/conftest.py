"""A real Mosquitto for the stream tests: started from a generated config on a free 127.0.0.1 port,
waited for until it accepts connections, stopped at teardown. Tests that use it are marked
``mqtt`` and skip when the ``mosquitto`` program is not installed (``make test`` installs it)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pumpguard.detectors.base import Detector

MOSQUITTO = shutil.which("mosquitto") or next(
    (p for p in ("/usr/sbin/mosquitto", "/usr/local/sbin/mosquitto") if os.path.exists(p)), None
)
SENSORS = [f"sensor_{i:02d}" for i in range(6)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_as_root_line() -> str:
    # started as root, mosquitto drops to user "mosquitto", who cannot write its persistence file
    # under pytest's 0700 temporary folders: keep root (tests only; deploy/ runs it as mosquitto)
    return "user root" if hasattr(os, "geteuid") and os.geteuid() == 0 else ""


class MosquittoBroker:
    """One Mosquitto process; ``restart()`` keeps its port and its persistence file.

    ``config``: the whole configuration text (its listeners must use ``self.port``); by default a
    plain anonymous listener with persistence and pumpguard's queue settings.
    """

    def __init__(self, folder: Path, config: str | None = None, *, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.conf = folder / "mosquitto.conf"
        self.log = folder / "mosquitto.log"
        self.conf.write_text(
            config
            or f"""listener {self.port} 127.0.0.1
allow_anonymous true
{run_as_root_line()}
persistence true
persistence_location {folder}/
autosave_interval 1
max_queued_messages 100000
max_inflight_messages 0
set_tcp_nodelay true
log_dest file {self.log}
log_type error
log_type warning
log_type notice
"""
        )
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self, timeout: float = 10.0) -> None:
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.conf)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {self.process.stderr.read().decode()} {self.log_text()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not accept connections on port {self.port} within {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # a clean stop writes the persistence file
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


@pytest.fixture()
def mosquitto(tmp_path_factory):
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto; make test installs it)")
    broker = MosquittoBroker(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    yield broker
    broker.stop()


@pytest.fixture()
def topic_root() -> str:
    """A topic root no other test uses, so a leftover retained message cannot leak between tests."""
    return f"test-{uuid.uuid4().hex[:10]}/pumpguard"


class Deviation(Detector):
    """Sum of squared standardised deviations: a real pumpguard Detector, small and exact."""

    name = "deviation"

    def _fit(self, frame, y):
        pass

    def _score(self, frame):
        return (self._standardised(frame) ** 2).sum(axis=1)

    def _contributions(self, frame):
        return self._standardised(frame) ** 2


@pytest.fixture(scope="session")
def detector() -> Deviation:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(1500, len(SENSORS))), columns=SENSORS)
    return Deviation().fit(X.iloc[:1000]).set_threshold(X.iloc[1000:], false_alarm_rate=0.01)


def telemetry_frame(n: int, *, seed: int = 1, start: str = "2024-01-01") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=n, freq="min", tz="UTC", name="timestamp")
    return pd.DataFrame(rng.normal(size=(n, len(SENSORS))), index=index, columns=SENSORS)
