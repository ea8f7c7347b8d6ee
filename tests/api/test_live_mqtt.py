"""The live view fed by a real Mosquitto: predictions and the retained controller state reach /state."""

from __future__ import annotations

import time
import uuid

import orjson
import pytest

from tests.stream.conftest import MOSQUITTO, MosquittoBroker

pytestmark = pytest.mark.mqtt


def _wait(predicate, timeout_s: float = 5.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def test_hub_follows_the_broker(tmp_path, settings):
    import dataclasses

    from fastapi.testclient import TestClient

    from pumpguard.api.app import create_app
    from pumpguard.stream.codec import Topics
    from pumpguard.stream.mqtt import Broker, make_client

    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed")
    broker = MosquittoBroker(tmp_path)
    broker.start()
    root = f"test-{uuid.uuid4().hex[:8]}/pumpguard"
    topics = Topics(site="plant1", root=root)
    try:
        pub = make_client("test-publisher", Broker.from_url(broker.url))
        pub.connect(Broker.from_url(broker.url).host, broker.port)
        operator_msgs: list = []
        pub.on_message = lambda c, u, m: operator_msgs.append(orjson.loads(m.payload))
        pub.loop_start()
        pub.subscribe(f"{topics.base}/controller/operator", qos=1)
        # retained before the API starts: the hub must get it on subscribing
        pub.publish(topics.controller_state, orjson.dumps({"state": "ALARM", "suspected": ["J-N2"],
                    "alarms": [{"id": "A-1", "raised": "2026-01-01T00:00:00Z", "reason": "anomaly confirmed"}]}),
                    qos=1, retain=True).wait_for_publish(5)
        app = create_app(dataclasses.replace(settings, broker_url=broker.url, site="plant1", root=root))
        with TestClient(app) as client:
            _wait(lambda: client.get("/health").json()["broker_connected"])
            _wait(lambda: (client.get("/state").json()["controller"] or {}).get("state") == "ALARM")
            pub.publish(topics.prediction("pump_a"), orjson.dumps(
                {"ts": "2026-01-01T00:01:00Z", "score": 7.0, "threshold": 2.0, "anomaly": True, "status": "ANOMALY",
                 "top_sensors": [{"sensor": "sensor_01", "share": 0.9}], "model": "pca"}), qos=1).wait_for_publish(5)
            pub.publish(topics.telemetry("pump_a"), orjson.dumps(
                {"ts": "2026-01-01T00:01:00Z", "values": {"sensor_01": 3.0}}), qos=0)
            state = _wait(lambda: client.get("/state").json()["assets"].get("pump_a"))
            assert state["score"] == 7.0
            assert {a["id"] for a in client.get("/alarms").json()} == {"C-A-1", "D-1"}
            assert "pumpguard_broker_connected 1" in client.get("/metrics").text
            assert 'pumpguard_rows_scored_total{source="stream"} 1' in client.get("/metrics").text
            # acknowledging a controller alarm tells the controller service (its operator topic)
            r = client.post("/alarms/C-A-1/ack?by=anna", headers={"Authorization": f"Bearer {settings.token}"})
            assert r.status_code == 200
            assert _wait(lambda: operator_msgs) == [{"command": "acknowledge", "alarm_id": "A-1", "by": "anna"}]
        assert app.state.hub.broker_connected is None  # the lifespan closed its client
        pub.loop_stop()
        pub.disconnect()
    finally:
        broker.stop()
