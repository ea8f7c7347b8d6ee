"""Scale-out: two `serve` workers in separate processes on one MQTT 5 shared subscription."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from pumpguard.stream.clients import replay
from pumpguard.stream.codec import Topics
from pumpguard.stream.mqtt import Broker
from tests.stream.conftest import telemetry_frame
from tests.stream.test_mqtt_e2e import Collector

pytestmark = [pytest.mark.mqtt, pytest.mark.slow]
REPO = Path(__file__).resolve().parents[2]
SITE = "plant1"


class Worker:
    def __init__(self, url: str, root: str, client_id: str, group: str = "pumpguard") -> None:
        self.args = [sys.executable, "-m", "tests.stream._worker", url, root, SITE, client_id, group]
        self.launch()

    def launch(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.process = subprocess.Popen(self.args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def ready(self) -> "Worker":
        line = self.process.stdout.readline()
        assert line.strip() == "ready", f"worker did not start: {line!r} {self.process.stderr.read() if self.process.poll() is not None else ''}"
        return self

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(10)

    def stop(self) -> dict[str, int]:
        self.process.send_signal(signal.SIGTERM)
        out, err = self.process.communicate(timeout=20)
        found = re.search(r"rows=(\d+) predictions=(\d+) duplicates=(\d+)", out)
        assert found, f"no stats from the worker: {out!r} {err[-2000:]!r}"
        return dict(zip(("rows", "predictions", "duplicates"), map(int, found.groups())))


def test_two_workers_share_the_stream_once_each_and_a_killed_worker_loses_nothing(mosquitto, topic_root):
    """One test, two phases, so the two worker processes start once (each start imports pandas)."""
    broker = Broker.from_url(mosquitto.url)
    topics = Topics(site=SITE, root=topic_root)
    collector = Collector(broker, topics, client_id="collector-share")
    survivor, victim = Worker(mosquitto.url, topic_root, "worker-a"), Worker(mosquitto.url, topic_root, "worker-b")
    survivor.ready(), victim.ready()

    # phase 1: both running -- each row predicted exactly once
    first = telemetry_frame(300)
    replay(first, broker, topics=topics, asset="pump_a")
    collector.wait_for(300, timeout=30)
    predictions = collector.predictions()
    assert len(predictions) == 300 and len({p["ts"] for p in predictions}) == 300

    # phase 2: kill one mid-stream, a supervisor restarts it under the same client id
    second = telemetry_frame(600, start="2024-02-01")
    sender = threading.Thread(target=replay, args=(second, broker), kwargs=dict(topics=topics, asset="pump_a", rate=300.0),
                              name="replay", daemon=True)
    sender.start()
    time.sleep(0.8)
    victim.kill()  # no goodbye: its will says "offline"; what it had unacknowledged stays in its session
    time.sleep(0.5)
    victim.launch()
    victim.ready()
    sender.join(60)
    collector.wait_for(900, timeout=40)
    stats = {"survivor": survivor.stop(), "victim after restart": victim.stop()}
    collector.close()
    distinct = {p["ts"] for p in collector.predictions()}
    expected = set(first.index.strftime("%Y-%m-%dT%H:%M:%SZ")) | set(second.index.strftime("%Y-%m-%dT%H:%M:%SZ"))
    missing = sorted(expected - distinct)
    assert not missing, f"{len(missing)} rows never predicted: {missing[:5]}; workers {stats}"
    assert stats["survivor"]["rows"] < 900, stats  # the other worker took its share
    assert stats["victim after restart"]["rows"] > 0, stats  # its session was handed back to it
    offline = [b for k, _, b in collector.messages if k == "service" and b["status"] == "offline"]
    assert any(b["client_id"] == "worker-b" for b in offline)  # the will fired
