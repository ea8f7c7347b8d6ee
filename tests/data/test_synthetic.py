"""The SYNTHETIC sample: schema, determinism, and failure events that match the labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pumpguard.data.schema import STATUS_DTYPE
from pumpguard.data.synthetic import FAILURE_KINDS, SENSOR_IDS, make_records, make_sample, sample_failures
from pumpguard.errors import ConfigError


def test_schema_like_the_published_file():
    ds = make_sample(3, seed=1)
    assert ds.sensor_ids == [f"sensor_{k:02d}" for k in range(52)] == list(SENSOR_IDS)
    assert len(ds) == 3 * 1440
    assert (ds.index[1:] - ds.index[:-1] == pd.Timedelta("1min")).all()
    assert str(ds.index.tz) == "UTC" and ds.index.name == "timestamp"
    assert ds.frame["sensor_15"].isna().all()
    others = ds.values.drop(columns="sensor_15")
    assert 0 < others.isna().to_numpy().mean() < 0.05
    assert ds.status.dtype == STATUS_DTYPE
    assert set(ds.status.astype(str)) == {"NORMAL", "BROKEN", "RECOVERING"}
    assert "SYNTHETIC" in ds.notes[0]
    kinds = {s.kind for s in ds.sensors}
    assert {"pressure", "flow", "current", "temperature", "vibration"} <= kinds


def test_same_seed_same_data_other_seed_other_data():
    a, b, c = make_sample(2, seed=5), make_sample(2, seed=5), make_sample(2, seed=6)
    assert a.frame.equals(b.frame)
    assert not a.frame.equals(c.frame)
    assert sample_failures(2, seed=5).equals(sample_failures(2, seed=5))


def test_step_seconds():
    ds = make_sample(1, seed=0, step_seconds=600)
    assert len(ds) == 144 and (ds.index[1:] - ds.index[:-1] == pd.Timedelta("10min")).all()


def test_labels_follow_the_failure_table():
    days, seed = 60, 11
    ds, events = make_sample(days, seed=seed), sample_failures(days, seed=seed)
    assert len(events) == 3  # about one per 22 days
    status = ds.status.astype(str)
    expected = pd.Series("NORMAL", index=ds.index)
    for ev in events.itertuples():
        assert ev.onset < ev.start < ev.recovering_start < ev.end
        assert ev.lead_time == ev.start - ev.onset
        assert pd.Timedelta(0) < ev.recovering_start - ev.start <= pd.Timedelta("10min")
        assert ev.end - ev.recovering_start >= pd.Timedelta("1h")
        expected[(ds.index >= ev.start) & (ds.index < ev.recovering_start)] = "BROKEN"
        expected[(ds.index >= ev.recovering_start) & (ds.index < ev.end)] = "RECOVERING"
    assert (status == expected).all()
    assert (events["start"].diff().dropna() > pd.Timedelta(0)).all()
    assert (events["onset"].iloc[1:].to_numpy() > events["end"].iloc[:-1].to_numpy()).all()


def test_affected_sensors_drift_before_the_failure_in_the_stated_direction():
    days, seed = 30, 4
    ds, events = make_sample(days, seed=seed, failures=1), sample_failures(days, seed=seed, failures=1)
    ev = events.iloc[0]
    before = ds.frame[(ds.index >= ev.start - pd.Timedelta("30min")) & (ds.index < ev.start)]
    # The same clock time on a later normal day, so the daily cycle cancels out.
    days_later = int(np.ceil((ev.end - ev.start) / pd.Timedelta("1D"))) + 1
    ref_start = ev.start + pd.Timedelta(days=days_later)
    ref = ds.frame[(ds.index >= ref_start - pd.Timedelta("30min")) & (ds.index < ref_start)]
    assert len(before) == len(ref) == 30
    kind_of = {s.id: s.kind for s in ds.sensors}
    for sid in ev.sensors:
        change = before[sid].mean() / ref[sid].mean() - 1
        sign = np.sign(FAILURE_KINDS[ev.kind][kind_of[sid]])
        assert np.sign(change) == sign and abs(change) > 0.04, (sid, change)


def test_pump_down_while_broken():
    ds, events = make_sample(3, seed=2), sample_failures(3, seed=2)
    ev = events.iloc[0]
    broken = ds.frame[(ds.index >= ev.start) & (ds.index < ev.recovering_start)]
    normal = ds.frame[ds.status.astype(str) == "NORMAL"]
    for sid in ("sensor_04", "sensor_06"):  # motor current, flow
        assert broken[sid].mean() < 0.1 * normal[sid].mean()


def test_given_failure_table_is_used():
    table = sample_failures(5, seed=0, failures=1)
    table["start"] += pd.Timedelta("1h")
    table["recovering_start"] += pd.Timedelta("1h")
    ds = make_sample(5, seed=0, failures=table)
    assert ds.frame.index[ds.status.astype(str) == "BROKEN"][0] == table.loc[0, "start"]


def test_records_continue_the_clock():
    rec = make_records(5, start="2024-03-01 06:30", seed=1)
    assert len(rec) == 5 and rec.index[0] == pd.Timestamp("2024-03-01 06:30", tz="UTC")
    assert (rec.status.astype(str) == "NORMAL").all()


@pytest.mark.parametrize("bad", [dict(days=0), dict(days=-1), dict(days=1, step_seconds=0)])
def test_bad_parameters_are_config_errors(bad):
    with pytest.raises(ConfigError):
        make_sample(seed=0, **bad)


def test_too_many_failures_for_the_span():
    with pytest.raises(ConfigError, match="do not fit"):
        make_sample(0.2, seed=0, failures=50)
