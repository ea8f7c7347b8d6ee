"""The live controller: predictions -> observations -> transitions, operator commands, restore after a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import orjson
import pytest

from pumpguard.data.schema import Sensor
from pumpguard.network.controller import ControllerConfig
from pumpguard.network.isolation import build_isolation_plan
from pumpguard.network.topology import load_network
from pumpguard.stream.codec import Topics
from pumpguard.stream.control_codec import Localiser, decode_state, operator_topic
from pumpguard.stream.controller_service import ControllerService
from pumpguard.stream.mqtt import Broker

SENSORS = [Sensor("sensor_00", "pressure", "m", element="J-N3"), Sensor("sensor_01", "pressure", "m", element="J-S3"),
           Sensor("sensor_02", "current", "A", element="PUMP-1")]


@pytest.fixture(scope="module")
def network():
    wn = load_network()
    return wn, build_isolation_plan(wn)


def prediction(minute: int, anomaly: bool, *, asset: str = "pump_a", status: str | None = None) -> bytes:
    top = [{"sensor": "sensor_00", "share": 0.8}, {"sensor": "sensor_02", "share": 0.1}] if anomaly else []
    return orjson.dumps({"asset": asset, "ts": f"2024-01-01T{minute // 60:02d}:{minute % 60:02d}:00Z",
                         "score": 9.0 if anomaly else 1.0, "threshold": 4.0, "anomaly": anomaly,
                         "status": status or ("ANOMALY" if anomaly else "NORMAL"), "top_sensors": top, "model": "t"})


def service(network, root="t/pumpguard", url="localhost", **kw) -> ControllerService:
    wn, plan = network
    return ControllerService(Broker.from_url(url), topics=Topics(site="p1", root=root), plan=plan,
                             localiser=Localiser(SENSORS, wn), config=ControllerConfig(debounce=3), **kw)


def by_topic(out, suffix):
    return [orjson.loads(p) for t, p, _ in out if t.endswith(suffix)]


def test_confirmed_anomaly_isolates_the_localised_segment(network):
    svc = service(network)
    topic = svc.topics.prediction("pump_a")
    out = svc.handle([(topic, prediction(m, True)) for m in range(3)])
    events = by_topic(out, "controller/event")
    assert [(e["from_state"], e["to_state"]) for e in events] == [("NORMAL", "ALARM"), ("ALARM", "ISOLATING")]
    assert "J-N3" in events[0]["reason"]
    commands = by_topic(out, "controller/command")
    assert len(commands) == 1 and ("open_valve", "V-B1") in [(a["kind"], a["element"]) for a in commands[0]["actions"]]
    state = out[-1]
    assert state[0].endswith("controller/state") and state[2] is True  # retained, and last
    assert orjson.loads(state[1])["state"] == "ISOLATING"


def test_operator_commands_and_bad_ones(network):
    svc = service(network)
    topic, op = svc.topics.prediction("pump_a"), operator_topic(svc.topics.base)
    svc.handle([(topic, prediction(m, True)) for m in range(3)])
    out = svc.handle([
        (op, b'{"command": "acknowledge", "alarm_id": "A-0001", "by": "anna", "id": 7}'),
        (op, b'{"command": "acknowledge", "alarm_id": "A-0099", "by": "anna"}'),
        (op, b'{"command": "force", "state": "FIXED", "by": "anna", "reason": "x"}'),
        (op, b"not json"),
        (op, b'{"command": "repaired", "by": "crew-2"}'),
    ])
    events = by_topic(out, "controller/event")
    assert events[0]["type"] == "acknowledged" and events[0]["command_id"] == "7"
    assert (events[1]["from_state"], events[1]["to_state"]) == ("ISOLATING", "RECOVERING")
    restore = [(a["kind"], a["element"]) for a in by_topic(out, "controller/command")[0]["actions"]]
    assert restore[0] == ("close_valve", "V-B1") and ("open_valve", "V-M2") in restore  # undone, last first
    reasons = [e["reason"] for e in by_topic(out, "/errors")]
    assert len(reasons) == 3
    assert "A-0099" in reasons[0] and "FIXED" in reasons[1] and "not JSON" in reasons[2]
    out = svc.handle([(op, b'{"command": "force", "state": "NORMAL", "by": "anna", "reason": "checked"}')])
    assert by_topic(out, "controller/event")[0]["forced"] is True
    assert orjson.loads(out[-1][1])["state"] == "NORMAL"


def test_duplicates_are_skipped_late_ones_reported_and_unscorable_ignored(network):
    svc = service(network)
    topic = svc.topics.prediction("pump_a")
    svc.handle([(topic, prediction(5, True))])
    unscorable = orjson.dumps({"asset": "pump_a", "ts": "2024-01-01T00:06:00Z", "score": None, "anomaly": None,
                               "status": "UNSCORABLE", "top_sensors": []})
    out = svc.handle([(topic, prediction(5, True)), (topic, prediction(1, False)), (topic, unscorable)])
    assert svc.stats.duplicates == 1 and svc.stats.unscorable == 1
    assert svc.controller.debounce_count == 1  # the repeat did not count twice
    errors = by_topic(out, "/errors")
    assert len(errors) == 1 and "earlier than the controller's clock" in errors[0]["reason"]


def test_batch_from_two_assets_is_stepped_in_time_order(network):
    svc = service(network)
    batch = orjson.dumps({"rows": [orjson.loads(prediction(m, True)) for m in (2, 4)]})
    out = svc.handle([(svc.topics.prediction("pump_a"), batch), (svc.topics.prediction("pump_b"), prediction(3, True, asset="pump_b"))])
    assert not by_topic(out, "/errors") and svc.stats.observations == 3 and svc.controller.state.value == "ISOLATING"


def test_status_broken_is_a_pump_failure(network):
    svc = service(network)
    topic = svc.topics.prediction("pump_a")
    out = svc.handle([(topic, prediction(m, True, status="BROKEN")) for m in range(3)])
    assert [e["to_state"] for e in by_topic(out, "controller/event")] == ["ALARM", "BROKEN"]
    assert {a["element"] for a in by_topic(out, "controller/command")[0]["actions"]} == {"PUMP-1", "PUMP-2"}


def test_state_message_restores_the_same_controller(network):
    svc = service(network)
    svc.handle([(svc.topics.prediction("pump_a"), prediction(m, True)) for m in range(4)])
    again = service(network)
    assert again.restore_from(svc.state_payload()) is None
    assert again.controller.snapshot(include_history=False) == svc.controller.snapshot(include_history=False)
    assert again.clock == svc.clock
    out = again.handle([(again.topics.prediction("pump_a"), prediction(3, True))])  # redelivered after a crash
    assert again.stats.duplicates == 1 and not by_topic(out, "/errors")
    assert "format" in again.restore_from(b'{"format": "other"}')


def test_a_whole_site_is_required():
    from pumpguard.errors import ConfigError

    with pytest.raises(ConfigError, match="one site"):
        ControllerService(Broker.from_url("localhost"), topics=Topics(site="+"))


# -- with a real Mosquitto -------------------------------------------------------------------------

_RUNNER = textwrap.dedent("""
    import sys, threading
    sys.path.insert(0, {tests!r})
    from test_controller_service import service_for_subprocess
    service_for_subprocess({url!r}, {root!r}).run(threading.Event())
""")


def service_for_subprocess(url: str, root: str) -> ControllerService:
    wn = load_network()
    return ControllerService(Broker.from_url(url), topics=Topics(site="p1", root=root), plan=build_isolation_plan(wn),
                             localiser=Localiser(SENSORS, wn), config=ControllerConfig(debounce=3),
                             client_id="controller-under-test")


class Watcher:
    """Collects controller events and the latest state of a site (a plain paho subscriber)."""

    def __init__(self, url: str, topics: Topics) -> None:
        from pumpguard.stream.mqtt import make_client

        self.events: list[dict] = []
        self.states: list[dict] = []
        self.errors: list[dict] = []
        self.topics = topics
        self.client = make_client("", Broker.from_url(url))
        subscribed = threading.Event()
        self.client.on_connect = lambda c, u, f, rc, p: c.subscribe(
            [(topics.controller_event, 1), (topics.controller_state, 1), (topics.errors, 1)])
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.on_message = self._message
        self.client.connect(Broker.from_url(url).host, Broker.from_url(url).port)
        self.client.loop_start()
        assert subscribed.wait(5)

    def _message(self, c, u, m) -> None:
        body = orjson.loads(m.payload)
        {self.topics.controller_event: self.events, self.topics.controller_state: self.states,
         self.topics.errors: self.errors}[m.topic].append(body)

    def publish(self, topic: str, payload: bytes) -> None:
        self.client.publish(topic, payload, qos=1).wait_for_publish(5)

    def wait(self, what, timeout: float = 10.0) -> None:
        deadline = time.monotonic() + timeout
        while not what():
            assert time.monotonic() < deadline, f"timed out; events {self.events}, errors {self.errors}"
            time.sleep(0.02)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _start(url: str, root: str) -> subprocess.Popen:
    code = _RUNNER.format(tests=os.path.dirname(__file__), url=url, root=root)
    return subprocess.Popen([sys.executable, "-c", code])


@pytest.mark.mqtt
@pytest.mark.slow  # two interpreter starts that import wntr: ~10-20 s on a loaded machine
def test_killed_mid_incident_the_restarted_controller_continues(mosquitto, topic_root):
    topics = Topics(site="p1", root=topic_root)
    watcher = Watcher(mosquitto.url, topics)
    proc = _start(mosquitto.url, topic_root)
    try:
        watcher.wait(lambda: watcher.states, timeout=30)  # the first state: it is up (and fresh)
        assert watcher.states[-1]["state"] == "NORMAL"
        for m in range(3):
            watcher.publish(topics.prediction("pump_a"), prediction(m, True))
        watcher.wait(lambda: watcher.states and watcher.states[-1]["state"] == "ISOLATING")
        proc.send_signal(signal.SIGKILL)  # mid-incident: alarm open, valves shut
        proc.wait(5)
        # while it is down: one more anomalous reading (its persistent session keeps it)
        watcher.publish(topics.prediction("pump_a"), prediction(3, True))
        n_events = len(watcher.events)
        proc = _start(mosquitto.url, topic_root)
        watcher.wait(lambda: any(s["ts"] == "2024-01-01T00:03:00+00:00" for s in watcher.states), timeout=30)
        state = watcher.states[-1]
        assert state["state"] == "ISOLATING" and state["active_alarm"]["id"] == "A-0001"
        assert len(watcher.events) == n_events  # no second alarm: the incident went on
        watcher.publish(operator_topic(topics.base), b'{"command": "repaired", "by": "crew-2"}')
        watcher.wait(lambda: watcher.events and watcher.events[-1]["to_state"] == "RECOVERING")
        undone = [(a["kind"], a["element"]) for a in watcher.events[-1]["actions"]]
        assert ("open_valve", "V-M2") in undone  # the valve it shut before the kill
        retained = decode_state(orjson.dumps(watcher.states[-1]))
        assert not isinstance(retained, str) and retained["snapshot"]["alarm_seq"] == 1
    finally:
        proc.terminate()
        proc.wait(10)
        watcher.close()


@pytest.mark.mqtt
def test_mqtt_311_fresh_start_ignores_the_retained_state(mosquitto, topic_root, network):
    topics = Topics(site="p1", root=topic_root)
    watcher = Watcher(mosquitto.url, topics)
    stale = service(network, root=topic_root)
    stale.handle([(topics.prediction("pump_a"), prediction(m, True)) for m in range(3)])
    watcher.client.publish(topics.controller_state, stale.state_payload(), qos=1, retain=True).wait_for_publish(5)
    svc = service(network, root=topic_root, url=mosquitto.url, protocol="3.1.1", restore=False, client_id="c311", ack_on_receipt=True)
    stop = threading.Event()
    thread = threading.Thread(target=svc.run, args=(stop,), name="controller-311", daemon=True)
    thread.start()
    try:
        assert svc.ready.wait(10)
        watcher.wait(lambda: svc.connected.is_set())
        time.sleep(0.2)
        watcher.publish(topics.prediction("pump_a"), prediction(10, False))
        watcher.wait(lambda: any(s.get("ts") == "2024-01-01T00:10:00+00:00" for s in watcher.states))
        assert watcher.states[-1]["state"] == "NORMAL" and not svc.stats.restored
    finally:
        stop.set()
        thread.join(10)
        watcher.close()


def _cli():
    import typer

    from pumpguard.cli import control_commands

    app = typer.Typer()
    control_commands.register(app)
    app.command("noop")(lambda: None)  # a second command keeps "controller" a sub-command
    return app


def test_cli_help_has_an_example_and_bad_options_are_one_line():
    from typer.testing import CliRunner

    runner = CliRunner()
    assert "Example: pumpguard controller" in runner.invoke(_cli(), ["controller", "--help"]).output
    for args, expected in ((["--site", "+"], "--site '+'"), (["--sensors", "s.json"], "give --network too"),
                           (["--mqtt", "4"], "--mqtt '4'"), (["--network", "nowhere.inp"], "does not exist")):
        result = runner.invoke(_cli(), ["controller", "--broker", "mqtt://127.0.0.1:9", *args])
        assert result.exit_code == 2 and expected in result.output and "Traceback" not in result.output, result.output
