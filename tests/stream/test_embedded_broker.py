"""The embedded demo broker: paho round trips at MQTT 3.1.1 and 5, retained once, clean stop; the
controller runs on it. No Mosquitto needed (that is the point of it)."""

from __future__ import annotations

import socket
import threading
import time
import uuid

import orjson
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from pumpguard.errors import ConfigError
from pumpguard.network.controller import ControllerConfig
from pumpguard.stream.codec import Topics
from pumpguard.stream.controller_service import ControllerService
from pumpguard.stream.embedded_broker import start_embedded_broker
from pumpguard.stream.mqtt import Broker

pytest.importorskip("iotcore")


@pytest.fixture(scope="module")
def embedded():
    broker = start_embedded_broker()
    yield broker
    broker.stop()


def client(url: str, protocol=paho.MQTTv311):
    address = Broker.from_url(url)
    got: list[tuple[str, bytes, bool]] = []
    c = paho.Client(CallbackAPIVersion.VERSION2, protocol=protocol)
    c.on_message = lambda cl, u, m: got.append((m.topic, m.payload, m.retain))
    subscribed = threading.Event()
    c.on_subscribe = lambda *a: subscribed.set()
    c.connect(address.host, address.port, 30)
    c.loop_start()
    return c, got, subscribed


def wait(what, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_paho_311_round_trip_and_across_protocols(embedded):
    topic = f"t-{uuid.uuid4().hex[:8]}/x"
    sub, got, subscribed = client(embedded.url_v311)
    sub.subscribe(topic, qos=1)
    assert subscribed.wait(5)
    pub311, _, _ = client(embedded.url_v311)
    pub5, _, _ = client(embedded.url, protocol=paho.MQTTv5)
    pub311.publish(topic, b"from 3.1.1", qos=1).wait_for_publish(5)
    pub5.publish(topic, b"from 5", qos=1).wait_for_publish(5)
    wait(lambda: len(got) == 2)
    assert sorted(p for _, p, _ in got) == [b"from 3.1.1", b"from 5"]
    for c in (sub, pub311, pub5):
        c.disconnect()
        c.loop_stop()


def test_a_late_subscriber_gets_the_retained_message_once(embedded):
    topic = f"t-{uuid.uuid4().hex[:8]}/state"
    pub, _, _ = client(embedded.url_v311)
    pub.publish(topic, b"state-1", qos=1, retain=True).wait_for_publish(5)
    late, got, subscribed = client(embedded.url_v311)
    late.subscribe(topic, qos=1)
    assert subscribed.wait(5)
    time.sleep(0.5)  # a second copy would arrive by now
    assert got == [(topic, b"state-1", True)]
    for c in (pub, late):
        c.disconnect()
        c.loop_stop()


def test_stop_frees_the_ports_and_is_idempotent():
    broker = start_embedded_broker()
    assert broker._watcher.name.startswith("pumpguard-embedded-broker")
    port = broker.port
    broker.stop()
    broker.stop()
    assert not broker.running and not broker._watcher.is_alive()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # free again


def test_a_taken_port_is_one_clear_error():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        with pytest.raises(ConfigError, match="could not listen"):
            start_embedded_broker(port=s.getsockname()[1])


def test_the_controller_runs_on_the_embedded_broker(embedded):
    topics = Topics(site="demo", root=f"t-{uuid.uuid4().hex[:8]}/pumpguard")
    svc = ControllerService(Broker.from_url(embedded.url), topics=topics, config=ControllerConfig(debounce=2),
                            restore=False, ack_on_receipt=True, client_id="demo-controller")
    watcher, got, subscribed = client(embedded.url, protocol=paho.MQTTv5)
    watcher.subscribe(topics.controller_event, qos=1)
    assert subscribed.wait(5)
    stop = threading.Event()
    thread = threading.Thread(target=svc.run, args=(stop,), name="demo-controller", daemon=True)
    thread.start()
    try:
        assert svc.ready.wait(10)
        wait(svc.connected.is_set)
        time.sleep(0.2)
        for m in range(150):  # more than the 100 deliveries rumqttd lets a client leave unacknowledged
            body = {"asset": "pump_a", "ts": f"2024-01-01T{m // 60:02d}:{m % 60:02d}:00Z", "score": 1.0,
                    "threshold": 2.0, "anomaly": m >= 148, "status": "NORMAL", "top_sensors": []}
            watcher.publish(topics.prediction("pump_a"), orjson.dumps(body), qos=1)
        wait(lambda: len(got) >= 2, timeout=20)
        assert [orjson.loads(p)["to_state"] for _, p, _ in got] == ["ALARM", "ISOLATING"]
        assert svc.stats.observations == 150
    finally:
        stop.set()
        thread.join(10)
        watcher.disconnect()
        watcher.loop_stop()


def test_a_backlog_of_thousands_of_rows_is_predicted_in_messages_the_broker_takes(embedded, detector):
    """The embedded broker (like Mosquitto's message_size_limit) drops a client that publishes over
    1 MiB. A service that takes 5,000 queued single-row messages at once (after a pause, say) must
    split their predictions (~1.3 MB) into messages the broker takes, or it is disconnected and
    publishes the same batch again after every reconnect."""
    from pumpguard.stream.clients import replay
    from pumpguard.stream.mqtt import MAX_PREDICTIONS_PER_MESSAGE, ScoringService
    from pumpguard.stream.scorer import StreamScorer
    from tests.stream.conftest import telemetry_frame

    class Patient(ScoringService):
        """Takes nothing until the whole backlog has arrived, then all of it in one batch."""

        def _take(self):
            return super()._take() if len(self._inbox) >= 5_000 else []

    broker = Broker.from_url(embedded.url)
    topics = Topics(site="plant1", root=f"test-{uuid.uuid4().hex[:8]}/pumpguard")
    sizes: list[int] = []
    watcher = paho.Client(CallbackAPIVersion.VERSION2, protocol=paho.MQTTv5)
    watcher.on_message = lambda c, u, m: sizes.append(len(orjson.loads(m.payload).get("rows", [None])))
    watching = threading.Event()
    watcher.on_subscribe = lambda *a: watching.set()
    watcher.connect(broker.host, broker.port, 30)
    watcher.subscribe(topics.prediction("+"), qos=1)
    watcher.loop_start()
    service = Patient(StreamScorer(detector), broker, topics=topics, client_id=f"patient-{uuid.uuid4().hex[:6]}",
                      ack_on_receipt=True)
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), daemon=True)
    thread.start()
    try:
        assert watching.wait(10) and service.subscribed.wait(10)
        replay(telemetry_frame(5_000), broker, topics=topics, asset="pump_a", timeout_s=60)
        deadline = time.monotonic() + 30
        while sum(sizes) < 5_000 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        stop.set()
        thread.join(15)
        watcher.disconnect()
        watcher.loop_stop()
    assert sum(sizes) == 5_000 and max(sizes) <= MAX_PREDICTIONS_PER_MESSAGE
    assert service.stats.connects == 1, "the broker dropped the service"
