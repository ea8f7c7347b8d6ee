"""The stream scorer: batches, dedupe by (asset, ts), predictions that agree with the detector."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from pumpguard.errors import ConfigError
from pumpguard.stream.codec import TelemetryRow
from pumpguard.stream.scorer import StreamScorer

SENSORS = [f"sensor_{i:02d}" for i in range(6)]
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def rows(n, asset="pump_a", seed=1, start=0):
    rng = np.random.default_rng(seed)
    return [
        TelemetryRow("s", asset, T0 + timedelta(minutes=start + i), dict(zip(SENSORS, rng.normal(size=len(SENSORS)).tolist())))
        for i in range(n)
    ]


def test_predictions_agree_with_the_detector(detector):
    batch = rows(50)
    batch[7] = TelemetryRow("s", "pump_a", batch[7].ts, {**batch[7].values, "sensor_03": 40.0})
    preds = StreamScorer(detector, model_name="deviation").score(batch)
    frame = pd.DataFrame([r.values for r in batch], columns=SENSORS)
    expected = detector.score_samples(frame)
    assert np.allclose([p["score"] for p in preds], expected)
    assert [p["anomaly"] for p in preds] == list(expected > detector.threshold_)
    assert preds[7]["anomaly"] and preds[7]["status"] == "ANOMALY"
    assert preds[7]["top_sensors"][0]["sensor"] == "sensor_03"
    assert all(p["model"] == "deviation" and p["threshold"] == detector.threshold_ for p in preds)
    assert all(len(p["top_sensors"]) <= 3 for p in preds)


def test_dedupe_by_asset_and_ts_within_and_across_batches(detector):
    scorer = StreamScorer(detector)
    first = rows(10)
    assert all(p is not None for p in scorer.score(first))
    again = scorer.score(first[5:] + rows(5, start=10))  # a redelivery after a reconnect, then new rows
    assert again[:5] == [None] * 5 and all(p is not None for p in again[5:])
    other_asset = scorer.score(rows(10, asset="pump_b"))  # same times, another pump: not duplicates
    assert all(p is not None for p in other_asset)
    inside = scorer.score([rows(1, start=100)[0]] * 3)
    assert inside[1:] == [None, None]
    assert scorer.duplicates == 7 and scorer.scored == 26


def test_dedupe_memory_is_bounded(detector):
    scorer = StreamScorer(detector, dedupe_rows=5)
    scorer.score(rows(10))
    assert len(scorer._seen) == 5


def test_missing_sensors_and_unscorable_rows(detector):
    scorer = StreamScorer(detector)
    partial = TelemetryRow("s", "p", T0, {"sensor_00": 0.1})
    empty = TelemetryRow("s", "p", T0 + timedelta(minutes=1), {})
    p, e = scorer.score([partial, empty])
    assert p["score"] is not None and p["status"] in ("NORMAL", "ANOMALY")
    assert e["score"] is None and e["anomaly"] is None and e["status"] == "UNSCORABLE" and e["top_sensors"] == []


def test_refuses_what_cannot_score():
    with pytest.raises(ConfigError, match="score_samples"):
        StreamScorer(object())

    class Windowed:
        sensors_ = ["a"]
        threshold_ = 1.0
        time_aware = True

        def score_samples(self, X): ...
        def contributions(self, X): ...

    with pytest.raises(ConfigError, match="time-aware"):
        StreamScorer(Windowed())


def test_model_wrapper_with_detector_attribute(detector):
    class Trained:
        name = "pca-2024"

        def __init__(self, d):
            self.detector = d

    scorer = StreamScorer(Trained(detector))
    assert scorer.model_name == "pca-2024" and scorer.sensors == SENSORS


def test_a_detector_that_overrides_predict_decides_anomaly(detector):
    class Quiet(type(detector)):
        def predict(self, X):  # e.g. an alarm filter that needs several rows over threshold
            return np.zeros(len(X))

    quiet = Quiet().fit(pd.DataFrame(np.random.default_rng(0).normal(size=(300, len(SENSORS))), columns=SENSORS))
    quiet.threshold_ = 0.0
    preds = StreamScorer(quiet).score(rows(5))
    assert all(p["score"] > 0 and p["anomaly"] is False and p["status"] == "NORMAL" for p in preds)


# ---------------------------------------------------------------------------- time-aware detectors
@pytest.fixture(scope="module")
def adaptive():
    from pumpguard.detectors.temporal import AdaptiveT2Detector

    rng = np.random.default_rng(3)
    idx = pd.date_range(T0, periods=400, freq="min", name="timestamp")
    X = pd.DataFrame(rng.normal(size=(400, len(SENSORS))), index=idx, columns=SENSORS)
    det = AdaptiveT2Detector(window_s=300, baseline_halflife_s=3600, alarm_halflife_s=0, smoothing_s=120)
    return det.fit(X).set_threshold(X, false_alarm_rate=0.05)


def test_time_aware_detector_streams_each_asset_in_time_order(adaptive):
    import pickle

    before = pickle.dumps(adaptive.__dict__)
    scorer = StreamScorer(adaptive)
    a, b = rows(40, asset="pump_a", seed=4), rows(40, asset="pump_b", seed=5)
    a[25] = TelemetryRow("s", "pump_a", a[25].ts, {**a[25].values, "sensor_02": 30.0})
    # two assets interleaved, each batch out of order inside: every asset's rows go in by time
    preds = []
    for start in range(0, 40, 10):
        mixed = a[start:start + 10][::-1] + b[start:start + 10]
        got = scorer.score(mixed)
        assert scorer.refused == [] and all(p is not None for p in got)
        preds += got
    for asset, sent in (("pump_a", a), ("pump_b", b)):
        mine = sorted((p for p in preds if p["asset"] == asset), key=lambda p: p["ts"])
        frame = pd.DataFrame([r.values for r in sent], columns=SENSORS,
                             index=pd.DatetimeIndex([r.ts for r in sent], name="timestamp"))
        expected = adaptive.score_samples(frame)  # the whole table at once: the same history
        np.testing.assert_allclose([p["score"] for p in mine], expected, rtol=1e-9)
        shares = adaptive.contributions(frame)
        assert mine[30]["top_sensors"][0]["sensor"] == shares.iloc[30].idxmax()
    late_a = sorted((p for p in preds if p["asset"] == "pump_a"), key=lambda p: p["ts"])
    assert late_a[26]["top_sensors"][0]["sensor"] == "sensor_02"
    assert pickle.dumps(adaptive.__dict__) == before  # each asset streams on its own copy


def test_time_aware_detector_refuses_an_out_of_order_row_with_a_reason(adaptive):
    scorer = StreamScorer(adaptive)
    first = rows(10)
    scorer.score(first)
    late = TelemetryRow("s", "pump_a", first[4].ts + timedelta(seconds=30), first[4].values)
    other = rows(1, asset="pump_b")[0]  # another asset's clock is its own
    got = scorer.score([late, other, rows(1, start=10)[0]])
    assert got[0] is None and got[1] is not None and got[2] is not None
    [(row, reason)] = scorer.refused
    assert row is late and "older than the last row scored" in reason and "pump_a" in reason
    assert scorer.out_of_order == 1
    scorer.score([late])  # redelivered: refused again, not dropped as a duplicate
    assert len(scorer.refused) == 1 and scorer.out_of_order == 2


def test_a_time_aware_detector_without_score_one_is_refused_naming_the_alternatives():
    from pumpguard.detectors.early_warning import EarlyWarningDetector

    det = EarlyWarningDetector()
    det.sensors_, det.threshold_ = SENSORS, 0.5  # looks fitted: the refusal is about its shape
    with pytest.raises(ConfigError, match="time-aware") as info:
        StreamScorer(det)
    assert "reset_stream" in str(info.value) and "adaptive_t2" in str(info.value) and "pca" in str(info.value)


def test_row_wise_batch_is_one_detector_call(detector):
    calls = []

    class Counting(type(detector)):
        def score_and_contributions(self, X):
            calls.append(len(X))
            return super().score_and_contributions(X)

        def score_matrix(self, values):  # the frame-free path a pumpguard detector takes
            calls.append(len(values))
            return super().score_matrix(values)

        def score_samples(self, X):  # not used by the scorer
            raise AssertionError("separate call")

    counting = Counting().fit(pd.DataFrame(np.random.default_rng(0).normal(size=(300, len(SENSORS))), columns=SENSORS))
    counting.threshold_ = 1.0
    StreamScorer(counting).score(rows(25) + rows(25, asset="pump_b"))
    assert calls == [50]
