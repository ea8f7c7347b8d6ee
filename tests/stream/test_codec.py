"""The codec: each kind of bad payload comes back as a Rejected value with its reason, never raises."""

from __future__ import annotations

import math

import orjson
import pytest

from pumpguard.stream.codec import Rejected, TelemetryCodec, Topics, parse_ts

TOPIC = "pumpguard/v1/plant1/pump_a/telemetry"
TS = "2018-04-01T00:00:00Z"


@pytest.fixture()
def codec() -> TelemetryCodec:
    return TelemetryCodec(sensors=["sensor_00", "sensor_01"], max_payload_bytes=1000)


def row(**values) -> dict:
    return {"ts": TS, "values": values}


def test_single_row_decodes(codec):
    d = codec.decode_telemetry(TOPIC, orjson.dumps(row(sensor_00=2.46, sensor_01=None)))
    assert not d.rejected and not d.batch
    (r,) = d.rows
    assert (r.site, r.asset, r.ts.isoformat()) == ("plant1", "pump_a", "2018-04-01T00:00:00+00:00")
    assert r.values["sensor_00"] == 2.46 and math.isnan(r.values["sensor_01"])


def test_offset_is_converted_to_utc(codec):
    d = codec.decode_telemetry(TOPIC, orjson.dumps({"ts": "2018-04-01T02:00:00+02:00", "values": {}}))
    assert d.rows[0].ts.isoformat() == "2018-04-01T00:00:00+00:00"


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"x" * 1001, "over the limit"),
        (b"{not json", "not JSON"),
        (b"[1, 2]", "expected an object"),
        (orjson.dumps({"values": {"sensor_00": 1.0}}), "missing ts"),
        (orjson.dumps({"ts": "yesterday", "values": {}}), "bad ts"),
        (orjson.dumps({"ts": "2018-04-01 00:00:00", "values": {}}), "no UTC offset"),
        (orjson.dumps({"ts": 1522540800, "values": {}}), "bad ts"),
        (orjson.dumps({"ts": TS}), "missing values"),
        (orjson.dumps(row(sensor_99=1.0)), "unknown sensor 'sensor_99'"),
        (orjson.dumps(row(sensor_00="2.5")), "non-numeric value for 'sensor_00'"),
        (orjson.dumps(row(sensor_00=True)), "non-numeric value"),
        (orjson.dumps(row(sensor_00=[1])), "non-numeric value"),
        (b'{"ts": "2018-04-01T00:00:00Z", "values": {"sensor_00": 1e999}}', "not JSON"),
        (b"\xff\xfe", "not JSON"),
    ],
)
def test_each_bad_payload_is_rejected_with_its_reason(codec, payload, reason):
    d = codec.decode_telemetry(TOPIC, payload)
    assert d.rows == []
    (rej,) = d.rejected
    assert isinstance(rej, Rejected)
    assert reason in rej.reason
    assert rej.topic == TOPIC and rej.payload == payload


def test_batch_keeps_good_rows_and_rejects_bad_ones(codec):
    payload = orjson.dumps({"rows": [row(sensor_00=1.0), row(sensor_00="bad"), {"values": {}}, row(sensor_01=2)]})
    d = codec.decode_telemetry(TOPIC, payload)
    assert d.batch and len(d.rows) == 2
    assert [r.reason.split(":")[0] for r in d.rejected] == ["row 1", "row 2"]
    # the errors topic gets the offending row, not the whole batch
    assert orjson.loads(d.rejected[0].payload) == row(sensor_00="bad")


def test_rows_must_be_a_list(codec):
    d = codec.decode_telemetry(TOPIC, b'{"rows": 3}')
    assert "not a list" in d.rejected[0].reason


def test_not_a_telemetry_topic(codec):
    d = codec.decode_telemetry("pumpguard/v1/plant1/pump_a/prediction", orjson.dumps(row()))
    assert "not a telemetry topic" in d.rejected[0].reason


def test_error_payload_echoes_the_original(codec):
    rej = codec.decode_telemetry(TOPIC, b"{not json").rejected[0]
    err = orjson.loads(rej.to_error(received_at=parse_ts(TS)))
    assert err["payload"] == "{not json" and err["payload_encoding"] == "utf-8" and not err["truncated"]
    assert err["topic"] == TOPIC and err["reason"].startswith("not JSON") and err["ts"] == TS
    binary = Rejected("not JSON", TOPIC, b"\xff" * 10).to_error(received_at=parse_ts(TS))
    assert orjson.loads(binary)["payload_encoding"] == "base64"
    big = Rejected("too big", TOPIC, b"a" * 200_000).to_error(received_at=parse_ts(TS))
    assert orjson.loads(big)["truncated"] is True and len(big) < 70_000


def test_roundtrip_encode_decode(codec):
    ts = parse_ts(TS)
    one = TelemetryCodec.encode_rows([(ts, {"sensor_00": 1.5, "sensor_01": float("nan")})])
    assert codec.decode_telemetry(TOPIC, one).rows[0].values["sensor_00"] == 1.5
    many = TelemetryCodec.encode_rows([(ts, {"sensor_00": 1.0}), (parse_ts("2018-04-01T00:01:00Z"), {"sensor_00": 2.0})])
    d = codec.decode_telemetry(TOPIC, many)
    assert d.batch and [r.values["sensor_00"] for r in d.rows] == [1.0, 2.0]


def test_any_sensor_name_when_no_model_is_given():
    d = TelemetryCodec().decode_telemetry(TOPIC, orjson.dumps(row(anything=1)))
    assert d.rows[0].values == {"anything": 1}


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"nope", "not JSON"),
        (orjson.dumps({"value": 1.0}), "missing ts"),
        (orjson.dumps({"ts": TS, "value": "high"}), "non-numeric"),
        (orjson.dumps({"ts": TS}), "non-numeric"),
        (orjson.dumps({"ts": TS, "value": 1.0, "unit": 3}), "not text"),
    ],
)
def test_node_rejections(codec, payload, reason):
    result = codec.decode_node("pumpguard/v1/plant1/node/J12", payload)
    assert isinstance(result, Rejected) and reason in result.reason


def test_node_reading_decodes(codec):
    r = codec.decode_node("pumpguard/v1/plant1/node/J12", TelemetryCodec.encode_node(parse_ts(TS), 41.5, "m"))
    assert (r.site, r.node_id, r.value, r.unit) == ("plant1", "J12", 41.5, "m")


def test_topics_parse_every_kind():
    t = Topics(site="s1", root="test/pg")
    assert t.parse(t.telemetry("p")) == ("telemetry", "s1", "p")
    assert t.parse(t.prediction("p")) == ("prediction", "s1", "p")
    assert t.parse(t.quality("p")) == ("quality", "s1", "p")
    assert t.parse(t.controller_state) == ("controller/state", "s1", "")
    assert t.parse(t.errors) == ("errors", "s1", "")
    assert t.parse(t.presence("w1")) == ("service", "s1", "w1")
    assert t.parse("other/v1/s1/p/telemetry") is None
    assert t.parse("test/pg/v1/s1/p/q/telemetry") is None


def test_a_null_for_a_sensor_the_model_does_not_read_is_no_reading(codec):
    # the pump record's sensor_15 is empty and training drops it; a client sending the whole CSV
    # row still sends "sensor_15": null, and that row must be scored
    d = codec.decode_telemetry(TOPIC, orjson.dumps({"ts": TS, "values": {"sensor_00": 1.0, "sensor_15": None}}))
    assert not d.rejected and len(d.rows) == 1 and "sensor_15" not in d.rows[0].values
    d = codec.decode_telemetry(TOPIC, orjson.dumps({"ts": TS, "values": {"sensor_00": 1.0, "sensor_15": 2.0}}))
    assert d.rows == [] and "unknown sensor 'sensor_15'" in d.rejected[0].reason
