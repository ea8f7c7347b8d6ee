"""A real Node-RED (nodered/.runtime, installed by scripts/ensure-nodered.sh) with pumpguard's flows, beside
a real Mosquitto (the stream tests' fixture class), `pumpguard api` and `pumpguard serve` as subprocesses,
all on free 127.0.0.1 ports and stopped at teardown.

Node-RED runs with nodered/settings.js in editor mode with a test user, so the tests press the flows'
inject buttons through the admin API (``POST /inject/<id>`` with a bearer token from ``/auth/token``);
the flows' results are collected on MQTT and in files, never from the debug sidebar.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections import defaultdict
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
NODE = shutil.which("node")
RED = REPO / "nodered" / ".runtime" / "node_modules" / "node-red" / "red.js"
SETTINGS = REPO / "nodered" / "settings.js"
FLOWS = sorted((REPO / "nodered" / "flows").glob("*.json"))
PUMPGUARD = Path(sys.executable).with_name("pumpguard")
TOKEN = "nodered-test-token-0123456789abcdef"
USER, PASSWORD = "tester", "nodered-test-password-42"
SITE = "plant1"

_spec = importlib.util.spec_from_file_location("_stream_conftest", REPO / "tests" / "stream" / "conftest.py")
_stream = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_stream)
MosquittoBroker, free_port, MOSQUITTO = _stream.MosquittoBroker, _stream.free_port, _stream.MOSQUITTO


def wait_for(predicate, timeout: float, what: str, interval: float = 0.1, explain=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}" + (f"\n{explain()}" if explain else ""))


def http(method: str, url: str, data: bytes | None = None, headers: dict | None = None, timeout: float = 10):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def wait_http(url: str, process: subprocess.Popen, log: Path, timeout: float = 30) -> None:
    def up():
        if process.poll() is not None:
            raise RuntimeError(f"{url}: the process exited ({process.returncode}): {log.read_text()[-3000:]}")
        try:
            return http("GET", url, timeout=1)[0] < 500
        except OSError:
            return False
    wait_for(up, timeout, url, interval=0.1)


def stop(process: subprocess.Popen | None) -> None:
    if process is not None and process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Collector:
    """Every message under pumpguard/v1/# on the broker, by topic, payloads decoded from JSON."""

    def __init__(self, port: int) -> None:
        import paho.mqtt.client as mqtt

        self.messages: dict[str, list] = defaultdict(list)
        self.lock = threading.Lock()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="nodered-test-collector")
        self.subscribed = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe("pumpguard/v1/#", qos=1)
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self.subscribed.wait(10), "the test's MQTT collector did not subscribe"

    def _on_message(self, client, userdata, message) -> None:
        try:
            payload = json.loads(message.payload)
        except ValueError:
            payload = message.payload.decode("utf-8", "replace")
        with self.lock:
            self.messages[message.topic].append(payload)

    def get(self, topic: str) -> list:
        with self.lock:
            return list(self.messages.get(topic, []))

    def rows(self, topic: str) -> list[dict]:
        """Predictions on a topic, single objects and {"rows": [...]} batches flattened."""
        out = []
        for p in self.get(topic):
            out.extend(p["rows"] if isinstance(p, dict) and "rows" in p else [p])
        return out

    def publish(self, topic: str, payload) -> None:
        self.client.publish(topic, json.dumps(payload), qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


class NodeRed:
    """Node-RED started with nodered/settings.js; ``restart()`` keeps its user folder (flows, credentials)."""

    def __init__(self, user_dir: Path, env: dict, mode: str = "editor") -> None:
        self.user_dir, self.port, self.mode = user_dir, free_port(), mode
        self.log = user_dir / "node-red.log"
        hashed = subprocess.run([NODE, "-e", "console.log(require('bcryptjs').hashSync(process.argv[1], 8))", PASSWORD],
                                cwd=RED.parents[2], capture_output=True, text=True, check=True).stdout.strip()
        self.env = {**os.environ, **env, "PUMPGUARD_NODERED_MODE": mode, "PUMPGUARD_NODERED_USER": USER,
                    "PUMPGUARD_NODERED_PASSWORD_HASH": hashed, "PUMPGUARD_NODERED_PORT": str(self.port),
                    "PUMPGUARD_NODERED_USERDIR": str(user_dir), "PUMPGUARD_NODERED_FLOWS": "flows.json",
                    "PUMPGUARD_NODERED_CREDENTIAL_SECRET": "nodered-test-credential-secret"}
        self.process: subprocess.Popen | None = None
        self._token: str | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen([NODE, str(RED), "--settings", str(SETTINGS)], env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT)
        wait_for(lambda: self._started(), 40, "Node-RED to start its flows")
        self._token = None

    def _started(self) -> bool:
        if self.process.poll() is not None:
            raise RuntimeError(f"Node-RED exited ({self.process.returncode}): {self.log.read_text()[-3000:]}")
        return "Started flows" in self.log.read_text()

    def stop(self) -> None:
        stop(self.process)
        self.process = None
        text = self.log.read_text()
        self.log.write_text(text.replace("Started flows", "Started flows (before a restart)"))

    def restart(self, **env) -> None:
        self.stop()
        self.env.update(env)
        self.start()

    def token(self) -> str:
        if self._token is None:
            form = f"client_id=node-red-admin&grant_type=password&scope=*&username={USER}&password={PASSWORD}"
            status, body = http("POST", f"{self.url}/auth/token", form.encode(),
                                {"Content-Type": "application/x-www-form-urlencoded"})
            assert status == 200, (status, body)
            self._token = json.loads(body)["access_token"]
        return self._token

    def inject(self, node_id: str) -> None:
        status, body = http("POST", f"{self.url}/inject/{node_id}", b"", {"Authorization": f"Bearer {self.token()}"})
        assert status == 200, f"POST /inject/{node_id}: {status} {body[:300]!r}"

    def log_text(self) -> str:
        return self.log.read_text() if self.log.exists() else ""


def merged_flows() -> list[dict]:
    nodes: list[dict] = []
    for path in FLOWS:
        nodes += json.loads(path.read_text(encoding="utf-8"))
    return nodes


def sample(out: Path, days: float, seed: int) -> subprocess.Popen:
    return subprocess.Popen([str(PUMPGUARD), "sample", "--generator", "statistical", "--days", str(days),
                             "--seed", str(seed), "--out", str(out)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def finish(process: subprocess.Popen) -> None:
    output = process.communicate(timeout=120)[0]
    assert process.returncode == 0, output.decode(errors="replace")


@pytest.fixture(scope="package")
def system(tmp_path_factory):
    """Mosquitto, pumpguard api, pumpguard serve (a PCA model) and Node-RED with the three flows."""
    if NODE is None or not RED.exists():
        pytest.skip("Node-RED is not installed in nodered/.runtime (bash scripts/ensure-nodered.sh; make test runs it)")
    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto; make test installs it)")
    root = tmp_path_factory.mktemp("nodered-system")
    data, models, user_dir = root / "data", root / "models", root / "node-red"
    for folder in (data, models, user_dir):
        folder.mkdir()
    # two synthetic labelled periods in the published schema: train on one, test on the other
    train_csv, test_csv = data / "train.csv", data / "test.csv"
    for job in [sample(train_csv, days=3, seed=5),  # BROKEN inside the first 60 %
                sample(test_csv, days=1, seed=2)]:
        finish(job)
    client_csv = data / "client.csv"  # flow a's dataset: the first 250 rows of the test period
    lines = test_csv.read_text().splitlines()[:251]
    client_csv.write_text("\n".join(lines) + "\n")
    pca = root / "pca.skops"
    subprocess.run([str(PUMPGUARD), "train", str(train_csv), "--detector", "pca", "--out", str(pca)],
                   check=True, capture_output=True)

    broker = MosquittoBroker(tmp_path_factory.mktemp("mosquitto"))
    broker.start()
    processes: list[subprocess.Popen] = []
    nodered = None
    collector = None
    try:
        api_port = free_port()
        api_log = root / "api.log"
        env = {**os.environ, "PUMPGUARD_API_TOKEN": TOKEN}
        with api_log.open("wb") as log:
            api = subprocess.Popen([str(PUMPGUARD), "api", "--host", "127.0.0.1", "--port", str(api_port),
                                    "--data-dir", str(data), "--models-dir", str(models),
                                    "--token-env", "PUMPGUARD_API_TOKEN"], env=env, stdout=log, stderr=subprocess.STDOUT)
        processes.append(api)
        serve_log = root / "serve.log"
        with serve_log.open("wb") as log:
            serve = subprocess.Popen([str(PUMPGUARD), "serve", "--broker", broker.url, "--model", str(pca),
                                      "--site", SITE], stdout=log, stderr=subprocess.STDOUT)
        processes.append(serve)
        api_url = f"http://127.0.0.1:{api_port}"
        wait_http(f"{api_url}/health", api, api_log, timeout=60)
        collector = Collector(broker.port)
        # serve is up when its retained presence (birth) message is on the broker
        wait_for(lambda: any("/service/" in t for t in collector.messages) or serve.poll() is not None, 60,
                 "pumpguard serve's presence message")
        assert serve.poll() is None, serve_log.read_text()[-3000:]

        (user_dir / "flows.json").write_text(json.dumps(merged_flows(), indent=1))
        record_csv = root / "records" / "records.csv"
        nodered = NodeRed(user_dir, {
            "PUMPGUARD_MQTT_HOST": "127.0.0.1", "PUMPGUARD_MQTT_PORT": str(broker.port),
            "PUMPGUARD_API_URL": api_url, "PUMPGUARD_API_TOKEN": TOKEN, "PUMPGUARD_SITE": SITE,
            "PUMPGUARD_ASSET": "pump_a", "PUMPGUARD_BATCH_ROWS": "100",
            "PUMPGUARD_DATASET_CSV": str(client_csv), "PUMPGUARD_TRAIN_CSV": str(train_csv),
            "PUMPGUARD_TEST_CSV": str(test_csv), "PUMPGUARD_RECORD_CSV": str(record_csv),
            "PUMPGUARD_RECORD_KEEP": "60"})
        nodered.start()
        wait_for(lambda: nodered.log_text().count("Connected to broker") >= 2, 20, "both flows' brokers to connect")
        def explain() -> str:
            topics = {t: len(m) for t, m in collector.messages.items()}
            errors = {t: m[-3:] for t, m in collector.messages.items() if "error" in t}
            logs = "\n".join(f"--- {p.name}\n{p.read_text()[-1500:]}" for p in (api_log, serve_log))
            return f"MQTT topics seen: {topics}\nerrors: {errors}\n--- node-red\n{nodered.log_text()[-3000:]}\n{logs}"

        yield {"explain": explain, "nodered": nodered, "broker": broker, "mqtt": collector, "api_url": api_url, "models": models,
               "pca": pca, "client_csv": client_csv, "train_csv": train_csv, "test_csv": test_csv,
               "record_csv": record_csv, "root": root, "logs": [api_log, serve_log]}
    finally:
        if nodered is not None:
            nodered.stop()
        if collector is not None:
            collector.close()
        for process in reversed(processes):
            stop(process)
        broker.stop()
