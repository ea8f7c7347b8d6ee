"""End to end through a real Mosquitto: replay -> serve -> predictions, bad payloads, broker restart."""

from __future__ import annotations

import threading
import time
from collections import Counter

import orjson
import pytest

from pumpguard.stream.clients import listen, replay
from pumpguard.stream.codec import Topics
from pumpguard.stream.mqtt import Broker, ScoringService, make_client
from pumpguard.stream.scorer import StreamScorer
from tests.stream.conftest import telemetry_frame

pytestmark = pytest.mark.mqtt
SITE = "plant1"


class Collector:
    """A listener in a thread that keeps every message it gets, by kind."""

    def __init__(self, broker: Broker, topics: Topics, *, client_id: str | None = None) -> None:
        self.messages: list[tuple[str, str, object]] = []
        self.stop = threading.Event()
        ready = threading.Event()
        self.thread = threading.Thread(
            target=listen,
            name="collector",
            kwargs=dict(broker=broker, topics=topics, on_message=lambda *m: self.messages.append(m), stop=self.stop,
                        ready=ready, client_id=client_id, persistent=client_id is not None),
            daemon=True,
        )
        self.thread.start()
        assert ready.wait(10), "the collector did not subscribe"

    def predictions(self) -> list[dict]:
        out = []
        for kind, _, body in self.messages:
            if kind == "prediction":
                out.extend(body["rows"] if "rows" in body else [body])
        return out

    def errors(self) -> list[dict]:
        return [body for kind, _, body in self.messages if kind == "errors"]

    def wait_for(self, n_predictions: int, *, n_errors: int = 0, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if len(self.predictions()) >= n_predictions and len(self.errors()) >= n_errors:
                return
            time.sleep(0.05)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(10)


class Service:
    def __init__(self, detector, broker: Broker, topics: Topics, **kwargs) -> None:
        self.service = ScoringService(StreamScorer(detector), broker, topics=topics, **kwargs)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.service.run, args=(self.stop,), name="serve", daemon=True)
        self.thread.start()
        assert self.service.subscribed.wait(10), "the service did not subscribe"

    def close(self) -> None:
        self.stop.set()
        self.thread.join(15)
        assert not self.thread.is_alive()


@pytest.mark.parametrize("batch", [1, 50])
def test_replay_n_rows_gives_n_predictions(mosquitto, topic_root, detector, batch):
    broker = Broker.from_url(mosquitto.url)
    topics = Topics(site=SITE, root=topic_root)
    collector = Collector(broker, Topics(site="+", root=topic_root))
    service = Service(detector, broker, Topics(site="+", root=topic_root))
    frame = telemetry_frame(400)
    stats = replay(frame, broker, topics=topics, asset="pump_a", batch=batch)
    assert stats.rows == 400 and stats.messages == -(-400 // batch)
    collector.wait_for(400)
    service.close()
    collector.close()
    preds = collector.predictions()
    assert len(preds) == 400
    assert Counter(p["ts"] for p in preds) == Counter(frame.index.strftime("%Y-%m-%dT%H:%M:%SZ"))
    assert {p["asset"] for p in preds} == {"pump_a"} and {p["model"] for p in preds} == {"deviation"}
    expected = detector.score_samples(frame)
    assert sorted(p["score"] for p in preds) == pytest.approx(sorted(expected))
    # presence: the service said it was online, then offline (retained, on its own topic)
    presence = [b["status"] for k, _, b in collector.messages if k == "service"]
    assert presence[-1] == "offline"


def test_bad_payloads_go_to_errors_and_good_ones_are_still_scored(mosquitto, topic_root, detector):
    broker = Broker.from_url(mosquitto.url)
    topics = Topics(site=SITE, root=topic_root)
    collector = Collector(broker, topics)
    service = Service(detector, broker, topics)
    good = [orjson.dumps({"ts": f"2024-01-01T00:0{i}:00Z", "values": {"sensor_00": 0.1 * i}}) for i in range(4)]
    bad = {
        b"x" * (2 << 20): "over the limit",
        b"{oops": "not JSON",
        orjson.dumps({"values": {"sensor_00": 1.0}}): "missing ts",
        orjson.dumps({"ts": "noon", "values": {}}): "bad ts",
        orjson.dumps({"ts": "2024-01-01T01:00:00Z", "values": {"sensor_77": 1.0}}): "unknown sensor",
        orjson.dumps({"ts": "2024-01-01T01:00:00Z", "values": {"sensor_00": "high"}}): "non-numeric",
    }
    client = make_client("bad-sender", broker)
    client.connect(broker.host, broker.port)
    client.loop_start()
    infos = []
    for g, b in zip(good, list(bad)[:4]):
        infos += [client.publish(topics.telemetry("pump_a"), b, qos=1), client.publish(topics.telemetry("pump_a"), g, qos=1)]
    for b in list(bad)[4:]:
        infos.append(client.publish(topics.telemetry("pump_a"), b, qos=1))
    for info in infos:
        info.wait_for_publish(10)
    collector.wait_for(4, n_errors=len(bad))
    client.disconnect()
    client.loop_stop()
    service.close()
    collector.close()
    assert len(collector.predictions()) == 4
    errors = collector.errors()
    assert len(errors) == len(bad)
    for err, (payload, reason) in zip(sorted(errors, key=lambda e: e["payload_bytes"]), sorted(bad.items(), key=lambda kv: len(kv[0]))):
        assert reason in err["reason"], err
        assert err["topic"] == topics.telemetry("pump_a")
    big = max(errors, key=lambda e: e["payload_bytes"])
    assert big["truncated"] and big["payload_bytes"] == 2 << 20


@pytest.mark.slow
def test_broker_restart_mid_stream_loses_nothing(mosquitto, topic_root, detector):
    broker = Broker.from_url(mosquitto.url)
    topics = Topics(site=SITE, root=topic_root)
    collector = Collector(broker, topics, client_id="collector-restart")
    service = Service(detector, broker, topics, client_id="serve-restart")
    frame = telemetry_frame(600)
    result = {}
    sender = threading.Thread(
        target=lambda: result.update(stats=replay(frame, broker, topics=topics, asset="pump_a", rate=300.0, timeout_s=60)),
        name="replay",
        daemon=True,
    )
    sender.start()
    time.sleep(0.8)  # about 240 rows in
    mosquitto.restart()
    sender.join(60)
    assert result["stats"].rows == 600
    collector.wait_for(600, timeout=40)
    service.close()
    collector.close()
    preds = collector.predictions()
    distinct = {p["ts"] for p in preds}
    missing = sorted(set(frame.index.strftime("%Y-%m-%dT%H:%M:%SZ")) - distinct)
    assert not missing, f"{len(missing)} rows were never predicted: {missing[:5]}...; service {service.service.stats}"
    assert service.service.stats.connects >= 2


def test_rows_assembled_from_node_readings_are_scored_and_quality_is_reported(mosquitto, topic_root, detector):
    from datetime import datetime, timedelta, timezone

    from pumpguard.stream.assembler import NodeBinding, RowAssembler
    from pumpguard.stream.codec import TelemetryCodec

    broker = Broker.from_url(mosquitto.url)
    topics = Topics(site=SITE, root=topic_root)
    nodes = {f"J{i}": NodeBinding("pump_n", f"sensor_0{i}", "m") for i in range(3)}
    assembler = RowAssembler(nodes, period=timedelta(seconds=1))  # SKAB-like 1 s sampling
    collector = Collector(broker, topics)
    service = Service(detector, broker, topics, assembler=assembler)
    client = make_client("node-sender", broker)
    client.connect(broker.host, broker.port)
    client.loop_start()
    t0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
    infos = []
    for i in range(20):
        for j in range(3):
            if i >= 10 and j == 2:
                continue  # node J2 goes silent for the last ten rows
            ts = t0 + timedelta(seconds=i, milliseconds=40 * j)  # clocks a little apart
            infos.append(client.publish(topics.node(f"J{j}"), TelemetryCodec.encode_node(ts, 0.1 * j, "m"), qos=1))
    infos.append(client.publish(topics.node("J2"), TelemetryCodec.encode_node(t0 + timedelta(seconds=1), 0.2, "m"), qos=1))  # late
    infos.append(client.publish(topics.node("X9"), TelemetryCodec.encode_node(t0, 1.0), qos=1))  # not configured
    infos.append(client.publish(topics.node("J0"), b"{broken", qos=1))
    for info in infos:
        info.wait_for_publish(10)
    collector.wait_for(20, n_errors=1, timeout=20)
    time.sleep(0.3)
    client.disconnect()
    client.loop_stop()
    service.close()
    collector.close()
    predictions = collector.predictions()
    assert sorted({p["ts"] for p in predictions}) == [(t0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(20)]
    assert len(predictions) == 20 and {p["asset"] for p in predictions} == {"pump_n"}
    assert [e["reason"][:8] for e in collector.errors()] == ["not JSON"]
    stats = service.service.stats
    assert stats.quality_events == 12  # 10 rows missing J2, 1 late reading, 1 unknown node
    quality = Counter(b["kind"] for k, _, b in collector.messages if k == "quality")
    assert quality == {"missing": 10, "late": 1, "unknown_node": 1}
    assert all(b["nodes"] == ["J2"] for k, _, b in collector.messages if k == "quality" and b["kind"] == "missing")
    assert service.service._row_owners == {}  # every reading was acknowledged after its row was predicted


def test_an_out_of_order_row_for_a_time_aware_detector_goes_to_errors(mosquitto, topic_root):
    """A streaming detector keeps each asset's history in time order: a late row is not scored, and it
    reaches the errors topic with its reason instead of vanishing."""
    import numpy as np
    import pandas as pd

    from pumpguard.detectors.temporal import AdaptiveT2Detector
    from tests.stream.conftest import SENSORS

    rng = np.random.default_rng(3)
    idx = pd.date_range("2024-01-01", periods=400, freq="min", tz="UTC", name="timestamp")
    X = pd.DataFrame(rng.normal(size=(400, len(SENSORS))), index=idx, columns=SENSORS)
    det = AdaptiveT2Detector(window_s=300, baseline_halflife_s=3600, alarm_halflife_s=0, smoothing_s=120)
    det.fit(X).set_threshold(X, false_alarm_rate=0.05)

    broker = Broker.from_url(mosquitto.url)
    topics = Topics(site=SITE, root=topic_root)
    collector = Collector(broker, topics)
    service = Service(det, broker, topics)
    client = make_client("late-sender", broker)
    client.connect(broker.host, broker.port)
    client.loop_start()
    values = {s: 0.0 for s in SENSORS}
    for minute in (5, 6):
        client.publish(topics.telemetry("pump_a"), orjson.dumps({"ts": f"2024-02-01T00:0{minute}:00Z", "values": values}),
                       qos=1).wait_for_publish(10)
    collector.wait_for(2)
    late = orjson.dumps({"ts": "2024-02-01T00:01:00Z", "values": values})
    client.publish(topics.telemetry("pump_a"), late, qos=1).wait_for_publish(10)
    collector.wait_for(2, n_errors=1)
    client.disconnect()
    client.loop_stop()
    service.close()
    collector.close()
    assert len(collector.predictions()) == 2
    [error] = collector.errors()
    assert "order" in error["reason"] and error["topic"] == topics.telemetry("pump_a")


def test_a_service_started_before_the_broker_connects_when_it_comes_up(tmp_path, topic_root, detector):
    from tests.stream.conftest import MOSQUITTO, MosquittoBroker

    if MOSQUITTO is None:
        pytest.skip("mosquitto is not installed (apt-get install mosquitto; make test installs it)")
    later = MosquittoBroker(tmp_path)  # not started yet: the first connection attempts fail
    broker = Broker.from_url(later.url)
    topics = Topics(site=SITE, root=topic_root)
    service = ScoringService(StreamScorer(detector), broker, topics=topics, client_id="serve-early")
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), name="serve", daemon=True)
    thread.start()
    try:
        time.sleep(0.5)
        assert not service.connected.is_set()
        later.start()
        assert service.subscribed.wait(15), "the service did not connect once the broker was up"
        collector = Collector(broker, topics)
        replay(telemetry_frame(20), broker, topics=topics, asset="pump_a", batch=5, timeout_s=30)
        collector.wait_for(20)
        assert len({p["ts"] for p in collector.predictions()}) == 20
        collector.close()
    finally:
        stop.set()
        thread.join(15)
        later.stop()
    assert not thread.is_alive()


def test_rows_a_detector_fails_on_go_to_errors_and_the_service_goes_on(mosquitto, topic_root, detector):
    """A detector bug on some rows: each of those rows goes to errors with the exception, the
    service keeps scoring what comes next, and nothing is acknowledged silently."""

    class Brittle(type(detector)):
        def _score_and_contributions_values(self, values):
            if (values > 1e6).any():
                raise FloatingPointError("this detector cannot take a reading over 1e6")
            return super()._score_and_contributions_values(values)

    brittle = Brittle()
    brittle.__dict__.update({k: v for k, v in vars(detector).items() if k.endswith("_")})
    broker = Broker.from_url(mosquitto.url)
    topics = Topics(site=SITE, root=topic_root)
    collector = Collector(broker, topics)
    service = Service(brittle, broker, topics)
    frame = telemetry_frame(30)
    spoiled = frame.iloc[:10].copy()
    spoiled.iloc[3, 0] = 5e6
    replay(spoiled, broker, topics=topics, asset="pump_a", batch=10, timeout_s=30)  # one batch: every row fails
    # the next rows only once that batch is reported: sent at once, both could be one scoring batch
    collector.wait_for(0, n_errors=10)
    replay(frame.iloc[10:], broker, topics=topics, asset="pump_a", batch=10, timeout_s=30)
    collector.wait_for(20, n_errors=10)
    service.close()
    collector.close()
    errors = collector.errors()
    assert len(errors) == 10 and all("scoring failed: FloatingPointError" in e["reason"] for e in errors)
    assert {p["ts"] for p in collector.predictions()} == set(frame.index[10:].strftime("%Y-%m-%dT%H:%M:%SZ"))
