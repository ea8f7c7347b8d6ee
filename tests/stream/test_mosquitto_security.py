"""The shipped deploy/mosquitto config, run by Debian's Mosquitto: passwords, ACL roles and TLS.

The test renders deploy/mosquitto/mosquitto.conf with this run's paths and free ports (nothing else
changes), makes the users with the shipped make-users.sh and a CA + server certificate with the
shipped make-certs.sh, and checks what each role may and may not do.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

import pytest

from pumpguard.stream.codec import Topics
from pumpguard.stream.mqtt import Broker, make_client
from tests.stream.conftest import MOSQUITTO, MosquittoBroker, free_port, run_as_root_line

pytestmark = pytest.mark.mqtt
DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"
PASSWORDS = {"sensor": "s-pw", "service": "v-pw", "controller": "c-pw", "operator": "o-pw"}
TOPICS = Topics(site="plant1")


def render(folder: Path, port: int, tls_port: int) -> str:
    text = (DEPLOY / "mosquitto.conf").read_text()
    text = text.replace("/etc/mosquitto/pumpguard/", f"{folder}/")
    text = text.replace("listener 1883 127.0.0.1", f"listener {port} 127.0.0.1")
    text = re.sub(r"^listener 8883$", f"listener {tls_port} 127.0.0.1", text, flags=re.M)
    text = text.replace("persistence_location /var/lib/mosquitto/", f"persistence_location {folder}/")
    text = text.replace("log_dest stderr", f"log_dest file {folder}/mosquitto.log")
    return text + "\n" + run_as_root_line() + "\n"


@pytest.fixture(scope="module")
def secured(tmp_path_factory):
    if MOSQUITTO is None or shutil.which("mosquitto_passwd") is None:
        pytest.skip("mosquitto is not installed (make test installs it)")
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("secured")
    shutil.copy(DEPLOY / "acl", folder / "acl")
    env = {**os.environ, **{f"PG_{role.upper()}_PASSWORD": pw for role, pw in PASSWORDS.items()}}
    subprocess.run(["bash", str(DEPLOY / "make-users.sh"), str(folder / "passwd")], check=True, env=env, capture_output=True)
    subprocess.run(["bash", str(DEPLOY / "make-certs.sh"), "localhost", str(folder / "certs")], check=True, capture_output=True)
    port, tls_port = free_port(), free_port()
    broker = MosquittoBroker(folder, render(folder, port, tls_port), port=port)
    broker.start()
    broker.tls_port = tls_port
    broker.ca = str(folder / "certs" / "ca.crt")
    yield broker
    broker.stop()


def url(broker, role: str | None, *, tls: bool = False, password: str | None = None) -> str:
    creds = "" if role is None else f"{role}:{password or PASSWORDS[role]}@"
    return f"mqtts://{creds}localhost:{broker.tls_port}" if tls else f"mqtt://{creds}127.0.0.1:{broker.port}"


class Client:
    """A connected paho client that records what it gets, and the broker's answer to each publish."""

    def __init__(self, address: Broker, name: str) -> None:
        self.connack = None
        self.received: list[str] = []
        self.acks: dict[int, object] = {}
        self.done = threading.Event()
        self.client = make_client(name, address)
        self.client.on_connect = self._on_connect
        self.client.on_message = lambda c, u, m: self.received.append(m.topic)
        self.client.on_publish = lambda c, u, mid, rc, p: self.acks.__setitem__(mid, rc)
        self.client.on_subscribe = lambda c, u, mid, codes, p: self.done.set()
        try:
            self.client.connect(address.host, address.port)
        except Exception as exc:  # TLS failures surface here
            self.connack = exc
            self.done.set()
            return
        self.client.loop_start()

    def _on_connect(self, c, u, flags, rc, props):
        self.connack = rc
        self.done.set()

    def wait(self, timeout=5.0) -> object:
        self.done.wait(timeout)
        return self.connack

    def publish(self, topic: str, payload: bytes = b'{"ts": "2024-01-01T00:00:00Z", "values": {}}'):
        info = self.client.publish(topic, payload, qos=1)
        deadline = time.monotonic() + 5
        while info.mid not in self.acks and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.acks.get(info.mid)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def connect(address: Broker, name: str) -> Client:
    client = Client(address, name)
    client.wait()
    return client


def test_anonymous_and_wrong_password_are_refused(secured):
    anonymous = connect(Broker.from_url(url(secured, None)), "anon")
    assert anonymous.connack is not None and anonymous.connack.is_failure
    wrong = connect(Broker.from_url(url(secured, "sensor", password="guess")), "wrong")
    assert wrong.connack.is_failure
    right = connect(Broker.from_url(url(secured, "sensor")), "right")
    assert not right.connack.is_failure
    for c in (anonymous, wrong, right):
        c.close()


def test_each_role_may_publish_only_its_own_topics(secured):
    operator = connect(Broker.from_url(url(secured, "operator")), "op")
    operator.done.clear()
    operator.client.subscribe("pumpguard/v1/#", qos=1)
    assert operator.done.wait(5)
    sensor = connect(Broker.from_url(url(secured, "sensor")), "gateway")
    service = connect(Broker.from_url(url(secured, "service")), "svc")
    controller = connect(Broker.from_url(url(secured, "controller")), "ctl")

    allowed = [
        (sensor, TOPICS.telemetry("pump_a")),
        (sensor, TOPICS.node("J12")),
        (service, TOPICS.prediction("pump_a")),
        (service, TOPICS.errors),
        (controller, TOPICS.controller_command),
        (controller, TOPICS.controller_state),
        (operator, f"{TOPICS.base}/controller/operator"),  # an operator's request, checked by the controller
    ]
    denied = [
        (sensor, TOPICS.controller_command),  # a sensor's credentials cannot command the plant
        (sensor, TOPICS.prediction("pump_a")),  # nor forge a prediction
        (service, TOPICS.controller_command),
        (controller, TOPICS.prediction("pump_a")),
        (operator, TOPICS.telemetry("pump_a")),
        (operator, TOPICS.controller_command),  # an operator asks the controller; never commands the plant
        (sensor, f"{TOPICS.base}/controller/operator"),
    ]
    for who, topic in allowed:
        rc = who.publish(topic)
        assert rc is not None and not rc.is_failure, (who.client._client_id, topic, rc)
    for who, topic in denied:
        rc = who.publish(topic)
        assert rc is not None and rc.is_failure and "authori" in str(rc).lower(), (who.client._client_id, topic, rc)
    time.sleep(0.3)
    assert sorted(operator.received) == sorted(topic for _, topic in allowed)
    for c in (operator, sensor, service, controller):
        c.close()


def test_tls_with_the_ca_works_and_without_it_is_refused(secured):
    good = connect(Broker.from_url(url(secured, "sensor", tls=True), ca_file=secured.ca), "tls-ok")
    assert good.connack is not None and not isinstance(good.connack, Exception) and not good.connack.is_failure
    assert good.publish(TOPICS.telemetry("pump_a")).is_failure is False
    good.close()
    untrusted = connect(Broker.from_url(url(secured, "sensor", tls=True)), "tls-untrusted")
    assert isinstance(untrusted.connack, Exception) and "certificate" in str(untrusted.connack).lower()


def test_service_scores_over_tls_with_a_shared_subscription_through_the_acl(secured, detector):
    from tests.stream.test_mqtt_e2e import Collector, Service

    from pumpguard.stream.clients import replay
    from tests.stream.conftest import telemetry_frame

    topics = Topics(site="plant-tls")
    collector = Collector(Broker.from_url(url(secured, "operator")), topics)
    service = Service(detector, Broker.from_url(url(secured, "service", tls=True), ca_file=secured.ca), topics,
                      share_group="pumpguard", client_id="svc-tls")
    frame = telemetry_frame(50)
    stats = replay(frame, Broker.from_url(url(secured, "sensor", tls=True), ca_file=secured.ca), topics=topics, asset="pump_a")
    assert stats.rows == 50
    collector.wait_for(50, timeout=15)
    service.close()
    collector.close()
    assert len({p["ts"] for p in collector.predictions()}) == 50
