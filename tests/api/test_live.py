"""The hub reads what the controller service really publishes (its retained state and its events)."""

from __future__ import annotations

from datetime import datetime, timezone

import orjson
import pandas as pd

from pumpguard.api.live import LiveHub


def _controller_messages():
    from pumpguard.network.controller import Controller
    from pumpguard.network.control_records import State
    from pumpguard.stream.control_codec import encode_state, encode_transition

    c = Controller()
    ts = pd.Timestamp("2026-01-01T00:00:00Z")
    tr = c.force(State.ALARM, reason="drill", ts=ts, by="anna", suspected=["J-N2"])
    state = encode_state(c, site="plant1", recent=[], updated=datetime(2026, 1, 1, tzinfo=timezone.utc), client_id="ctl")
    return c, orjson.loads(state), orjson.loads(encode_transition(tr, site="plant1"))


def test_hub_reads_the_controller_service_messages():
    c, state, event = _controller_messages()
    hub = LiveHub()
    hub.publish("controller/event", event)
    hub.publish("controller/state", state)
    view = hub.state()
    assert view["controller"]["state"] == "ALARM" and view["controller"]["site"] == "plant1"
    assert view["controller"]["suspected"] == ["J-N2"]
    assert "recent" not in view["controller"] and "snapshot" not in view["controller"]
    assert [h["to_state"] for h in view["history"]] == ["ALARM"]
    alarm = next(a for a in hub.alarms() if a["source"] == "controller")
    assert alarm["id"] == f"C-{c.alarms[0].id}" and alarm["controller_id"] == c.alarms[0].id
    assert alarm["suspected"] == ["J-N2"]
    # the controller's "acknowledged" event marks an unacknowledged alarm here too
    for record in state["snapshot"]["alarms"]:
        record["acknowledged_by"] = record["acknowledged"] = None
    hub = LiveHub()
    hub.publish("controller/state", state)
    assert next(a for a in hub.alarms() if a["source"] == "controller")["acknowledged_by"] is None
    hub.publish("controller/event", {"type": "acknowledged", "site": "plant1", "ts": "2026-01-01T00:05:00Z",
                                     "alarm_id": c.alarms[0].id, "by": "bob"})
    assert next(a for a in hub.alarms() if a["source"] == "controller")["acknowledged_by"] == "bob"
    hub.publish("controller/event", event)
    hub.publish("controller/event", {"type": "something-new"})  # ignored, not drawn as a transition
    assert len(hub.state()["history"]) == 1


def test_detector_alarm_opens_and_closes_with_the_predictions():
    hub = LiveHub(window=10)
    for i, anomaly in enumerate([False, True, True, False, True]):
        hub.publish("prediction", {"rows": [{"ts": f"2026-01-01T00:0{i}:00Z", "score": 5.0 if anomaly else 0.1,
                                             "threshold": 1.0, "anomaly": anomaly}]}, asset="pump_a")
    alarms = hub.alarms()
    assert [(a["id"], a["closed"]) for a in alarms] == [("D-1", "2026-01-01T00:03:00Z"), ("D-2", None)]
    assert len(hub.snapshot()["predictions"]["pump_a"]) == 5


def test_window_is_bounded():
    hub = LiveHub(window=10)
    for i in range(25):
        hub.publish("telemetry", {"ts": f"2026-01-01T00:00:{i:02d}Z", "values": {"a": float(i)}}, asset="p")
    rows = hub.snapshot()["telemetry"]["p"]
    assert len(rows) == 10 and rows[-1]["values"]["a"] == 24.0


def test_raw_messages_in_process():
    from pumpguard.stream.codec import Topics, encode_predictions

    topics = Topics(site="plant1")
    hub = LiveHub()
    p = {"asset": "pump_a", "ts": datetime(2026, 1, 1, tzinfo=timezone.utc), "score": 3.0, "threshold": 1.0,
         "anomaly": True, "status": "ANOMALY", "top_sensors": [], "model": "m"}
    assert hub.publish_message(topics.prediction("pump_a"), encode_predictions([p], batch=True), topics)
    assert not hub.publish_message(topics.errors, b"{}", topics)
    assert not hub.publish_message(topics.prediction("pump_a"), b"not json", topics)
    assert hub.state()["assets"]["pump_a"]["ts"] == "2026-01-01T00:00:00Z"
