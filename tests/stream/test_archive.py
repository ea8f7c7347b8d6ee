"""The archive: day-partitioned Parquet that read_dataset and `pumpguard train` accept; crash-safe writes."""

from __future__ import annotations

import math
import os
import time
from datetime import timedelta

import pandas as pd
import pyarrow.parquet as pq
import pytest
from typer.testing import CliRunner

from pumpguard.data.readers import read_dataset
from pumpguard.stream import archive as archive_module
from pumpguard.stream.archive import Archiver, ArchivingScorer
from pumpguard.stream.codec import TelemetryRow
from pumpguard.stream.scorer import StreamScorer

from tests.stream.conftest import SENSORS, telemetry_frame


def rows_of(frame: pd.DataFrame, asset: str = "pump_a") -> list[TelemetryRow]:
    return [TelemetryRow("plant1", asset, ts.to_pydatetime(), dict(zip(frame.columns, map(float, values))))
            for ts, values in zip(frame.index, frame.to_numpy())]


def test_scored_rows_land_in_day_partitions_that_read_dataset_reads(tmp_path, detector):
    frame = telemetry_frame(3000, start="2024-01-01 22:00")  # crosses two midnights
    frame.iloc[5, 2] = math.nan
    archive = Archiver(tmp_path, flush_rows=1000)
    scorer = ArchivingScorer(StreamScorer(detector), archive)
    rows = rows_of(frame)
    for start in range(0, len(rows), 700):
        scorer.score(rows[start:start + 700])
    scorer.score(rows[:10])  # redelivered rows: duplicates are not archived twice
    archive.close()
    days = sorted(p.name for p in (tmp_path / "telemetry" / "site=plant1" / "asset=pump_a").iterdir())
    assert days == ["date=2024-01-01", "date=2024-01-02", "date=2024-01-03"]
    dataset = read_dataset(tmp_path / "telemetry")
    assert list(dataset.sensor_ids) == SENSORS
    assert len(dataset.frame) == 3000
    pd.testing.assert_frame_equal(dataset.frame[SENSORS], frame, check_freq=False, check_names=False)
    predictions = pd.concat(pq.read_table(p).to_pandas() for p in sorted((tmp_path / "predictions").rglob("*.parquet")))
    assert len(predictions) == 3000 and predictions["timestamp"].is_unique
    assert set(predictions.columns) >= {"timestamp", "site", "asset", "score", "threshold", "anomaly", "status", "top_sensors"}


def test_timed_flush_from_a_named_thread(tmp_path):
    archive = Archiver(tmp_path, flush_rows=10_000, flush_seconds=0.2).start()
    assert archive._thread.name == "pumpguard-archive"
    archive.add_telemetry(rows_of(telemetry_frame(5)))
    deadline = time.monotonic() + 5
    while not archive.written and time.monotonic() < deadline:
        time.sleep(0.05)
    archive.close()
    assert len(archive.written) == 1 and archive._thread is None


def test_a_crash_between_write_and_rename_leaves_no_corrupt_part(tmp_path, monkeypatch):
    first = Archiver(tmp_path, flush_rows=10_000)
    first.add_telemetry(rows_of(telemetry_frame(50)))
    first.flush()

    def crash(src, dst):
        raise SystemExit("killed between write and rename")

    monkeypatch.setattr(archive_module, "_publish", crash)
    first.add_telemetry(rows_of(telemetry_frame(50, start="2024-01-01 01:00")))
    with pytest.raises(SystemExit):
        first.flush()
    monkeypatch.undo()
    folder = tmp_path / "telemetry" / "site=plant1" / "asset=pump_a" / "date=2024-01-01"
    leftovers = list(folder.glob(".part-*"))
    assert len(leftovers) == 1 and sorted(p.name for p in folder.glob("*.parquet")) == ["part-0.parquet"]
    # a half-written temporary file (the crash came during the write) is never read either
    leftovers[0].write_bytes(leftovers[0].read_bytes()[:100])
    assert len(read_dataset(tmp_path / "telemetry").frame) == 50
    # the next writer on the directory (the restarted service) cleans up and goes on numbering
    old = time.time() - 3600
    os.utime(leftovers[0], (old, old))
    second = Archiver(tmp_path)
    assert not list(folder.glob(".part-*"))
    second.add_telemetry(rows_of(telemetry_frame(10, start="2024-01-01 02:00")))
    assert [p.name for p in second.flush()] == ["part-1.parquet"]


def test_an_existing_part_is_never_overwritten(tmp_path, monkeypatch):
    archive = Archiver(tmp_path)
    archive.add_telemetry(rows_of(telemetry_frame(3)))
    [path] = archive.flush()
    before = path.read_bytes()
    monkeypatch.setattr(archive_module, "_next_part", lambda folder: 0)  # a racing writer's stale view
    archive.add_telemetry(rows_of(telemetry_frame(3)))
    [second] = archive.flush()
    assert second.name == "part-1.parquet" and path.read_bytes() == before


def test_pumpguard_train_accepts_the_archive(tmp_path):
    from pumpguard.cli import app

    frame = telemetry_frame(2 * 1440, start="2024-03-01")  # two days at one row a minute
    archive = Archiver(tmp_path / "archive", flush_rows=500)
    archive.add_telemetry(rows_of(frame))
    archive.close()
    model = tmp_path / "model.skops"
    result = CliRunner().invoke(app, ["train", str(tmp_path / "archive" / "telemetry"), "--detector", "pca", "--out", str(model)])
    assert result.exit_code == 0, result.output
    assert model.exists()


def test_bad_settings_are_one_clear_error(tmp_path):
    from pumpguard.errors import ConfigError

    with pytest.raises(ConfigError, match="flush_rows"):
        Archiver(tmp_path, flush_rows=0)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="cannot be created"):
        Archiver(tmp_path / "file" / "sub")


def test_days_follow_the_rows_not_the_clock(tmp_path):
    archive = Archiver(tmp_path)
    frame = telemetry_frame(2, start="2019-06-30 23:59")
    archive.add_telemetry(rows_of(frame))
    paths = archive.flush()
    assert [p.parent.name for p in paths] == ["date=2019-06-30", "date=2019-07-01"]
    assert frame.index[1] - frame.index[0] == timedelta(minutes=1)


@pytest.mark.mqtt
def test_serve_archives_through_the_hook(mosquitto, topic_root, detector, tmp_path):
    """H8's ScoringService, unchanged, with an ArchivingScorer: every replayed row ends in the archive once."""
    import threading

    from pumpguard.stream.clients import replay
    from pumpguard.stream.codec import Topics
    from pumpguard.stream.mqtt import Broker, ScoringService

    broker, topics = Broker.from_url(mosquitto.url), Topics(site="plant1", root=topic_root)
    archive = Archiver(tmp_path, flush_rows=10_000, flush_seconds=0.5).start()
    service = ScoringService(ArchivingScorer(StreamScorer(detector), archive), broker, topics=topics, client_id="archiving-worker")
    stop = threading.Event()
    thread = threading.Thread(target=service.run, args=(stop,), kwargs={"until": lambda s: s.rows >= 300}, name="serve", daemon=True)
    thread.start()
    try:
        assert service.subscribed.wait(10)
        frame = telemetry_frame(300)
        replay(frame, broker, topics=topics, asset="pump_a", batch=25, timeout_s=60)
        thread.join(30)
    finally:
        stop.set()
        thread.join(10)
        archive.close()
    dataset = read_dataset(tmp_path / "telemetry")
    assert len(dataset.frame) == 300
    pd.testing.assert_frame_equal(dataset.frame[SENSORS], frame, check_freq=False, check_names=False)


def test_assets_are_archived_apart_so_a_model_trains_on_one(tmp_path):
    frame = telemetry_frame(20)
    archive = Archiver(tmp_path)
    archive.add_telemetry(rows_of(frame, "pump_a") + rows_of(frame * 2, "pump_b"))
    archive.flush()
    pump_b = read_dataset(tmp_path / "telemetry" / "site=plant1" / "asset=pump_b")
    pd.testing.assert_frame_equal(pump_b.frame[SENSORS], frame * 2, check_freq=False, check_names=False)


@pytest.mark.mqtt
def test_recorder_archives_what_crosses_the_broker(mosquitto, topic_root, tmp_path):
    import threading

    import orjson

    from pumpguard.stream.archive import RecordStats, record
    from pumpguard.stream.clients import replay
    from pumpguard.stream.codec import Topics
    from pumpguard.stream.mqtt import Broker, make_client

    broker, topics = Broker.from_url(mosquitto.url), Topics(site="plant1", root=topic_root)
    stop, ready, stats = threading.Event(), threading.Event(), RecordStats()
    thread = threading.Thread(target=record, args=(broker, tmp_path), name="recorder", daemon=True,
                              kwargs=dict(topics=topics, stop=stop, ready=ready, stats=stats))
    thread.start()
    assert ready.wait(10)
    frame = telemetry_frame(200)
    replay(frame, broker, topics=topics, asset="pump_a", batch=20, timeout_s=60)
    sender = make_client("", broker)
    sender.connect(broker.host, broker.port)
    sender.loop_start()
    body = {"rows": [{"asset": "pump_a", "ts": "2024-01-01T00:00:00Z", "score": 1.5, "threshold": 2.0, "anomaly": False,
                      "status": "NORMAL", "top_sensors": [{"sensor": "sensor_01", "share": 0.5}], "model": "t"},
                     {"ts": "no time"}]}
    sender.publish(topics.prediction("pump_a"), orjson.dumps(body), qos=1).wait_for_publish(5)
    deadline = time.monotonic() + 15
    while stats.predictions + stats.refused < 2 or stats.telemetry_rows < 200:
        assert time.monotonic() < deadline, stats
        time.sleep(0.05)
    stop.set()
    thread.join(15)
    sender.disconnect()
    sender.loop_stop()
    assert (stats.telemetry_rows, stats.predictions, stats.refused) == (200, 1, 1)
    dataset = read_dataset(tmp_path / "telemetry" / "site=plant1" / "asset=pump_a")
    pd.testing.assert_frame_equal(dataset.frame[SENSORS], frame, check_freq=False, check_names=False)
    [predictions] = list((tmp_path / "predictions").rglob("*.parquet"))
    assert pq.read_table(predictions).column("score").to_pylist() == [1.5]
