"""The batch fast path: a clean batch gives the same rows as the per-row path plus its column
matrix; a batch with any bad row goes row by row, so every reason still names its row."""

from __future__ import annotations

import math

import numpy as np
import orjson
import pytest

from pumpguard.stream.codec import TelemetryCodec
from pumpguard.stream.scorer import StreamScorer

TOPIC = "pumpguard/v1/plant1/pump_a/telemetry"
SENSORS = ["sensor_00", "sensor_01", "sensor_02"]


def per_row_codec() -> TelemetryCodec:
    codec = TelemetryCodec(sensors=SENSORS)
    codec._fast = None  # the per-row path only, as the reference
    return codec


def batch(*rows) -> bytes:
    return orjson.dumps({"rows": list(rows)})


def test_clean_batch_matches_the_per_row_path_and_brings_its_columns():
    payload = batch(
        {"ts": "2018-04-01T00:00:00Z", "values": {"sensor_00": 1, "sensor_01": 2.5, "sensor_02": None}},
        {"ts": "2018-04-01T02:01:00+02:00", "values": {"sensor_02": -1.0, "sensor_00": 0.5}},  # absent, reordered
    )
    fast = TelemetryCodec(sensors=SENSORS).decode_telemetry(TOPIC, payload)
    slow = per_row_codec().decode_telemetry(TOPIC, payload)
    assert fast.batch and not fast.rejected and slow.matrix is None
    assert [(r.site, r.asset, r.ts) for r in fast.rows] == [(r.site, r.asset, r.ts) for r in slow.rows]
    assert fast.rows[1].ts.isoformat() == "2018-04-01T00:01:00+00:00"
    assert math.isnan(fast.rows[0].values["sensor_02"]) and fast.rows[0].values["sensor_00"] == 1
    expected = np.array([[1.0, 2.5, np.nan], [0.5, np.nan, -1.0]])
    np.testing.assert_array_equal(fast.matrix, expected)
    # the scorer builds the same table from the matrix as from the row dicts
    class Mean:
        sensors_ = SENSORS
        threshold_ = 1.0

        def score_samples(self, X):
            return X.abs().mean(axis=1).to_numpy()

        def contributions(self, X):
            return X.abs().div(X.abs().sum(axis=1), axis=0)

    scorer = StreamScorer(Mean())
    np.testing.assert_array_equal(scorer.table(fast.rows, fast.matrix).to_numpy(), scorer.table(slow.rows).to_numpy())


@pytest.mark.parametrize(
    ("bad", "reason"),
    [
        ({"ts": "2018-04-01T00:01:00Z", "values": {"sensor_99": 1.0}}, "unknown sensor 'sensor_99'"),
        ({"ts": "2018-04-01T00:01:00Z", "values": {"sensor_00": "2.5"}}, "non-numeric value for 'sensor_00'"),
        ({"ts": "2018-04-01T00:01:00Z", "values": {"sensor_00": True}}, "non-numeric value"),
        ({"ts": "2018-04-01 00:01:00", "values": {}}, "no UTC offset"),
        ({"ts": "yesterday", "values": {}}, "bad ts"),
        ({"ts": 5, "values": {}}, "bad ts"),
        ({"values": {}}, "missing ts"),
        ({"ts": "2018-04-01T00:01:00Z"}, "missing values"),
        ([1, 2], "expected an object"),
    ],
)
def test_a_bad_row_is_named_and_the_good_ones_kept(bad, reason):
    good = {"ts": "2018-04-01T00:00:00Z", "values": {"sensor_00": 1.0}}
    d = TelemetryCodec(sensors=SENSORS).decode_telemetry(TOPIC, batch(good, bad, good))
    assert d.matrix is None and len(d.rows) == 2
    (rej,) = d.rejected
    assert rej.reason.startswith("row 1: ") and reason in rej.reason


def test_a_codec_without_a_model_has_no_columns():
    d = TelemetryCodec().decode_telemetry(TOPIC, batch({"ts": "2018-04-01T00:00:00Z", "values": {"x": 1}}))
    assert d.matrix is None and d.rows[0].values == {"x": 1}
