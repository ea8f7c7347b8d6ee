"""The measurement model: demand cycles, pump physics, instrument imperfections."""

import numpy as np
import pandas as pd

from pumpguard.network import measurement as meas
from pumpguard.network.topology import load_network

INDEX = pd.date_range("2018-04-02", periods=7 * 1440, freq="min", tz="UTC")  # a Monday-to-Sunday week


def test_demand_has_daily_and_weekly_cycles_and_seeded_scatter():
    wn = load_network()
    actual, shape = meas.demand_patterns(wn, INDEX, 60, np.random.default_rng(1))
    again, _ = meas.demand_patterns(wn, INDEX, 60, np.random.default_rng(1))
    assert set(shape) == {"ZONE-N", "ZONE-C", "ZONE-S"}
    res = pd.Series(shape["ZONE-N"], index=INDEX)
    assert res.between_time("03:00", "04:00").mean() < 0.6 < 1.2 < res.between_time("07:00", "08:00").mean()
    assert abs(res.mean() - 1.0) < 0.1
    com = pd.Series(shape["ZONE-C"], index=INDEX)
    weekday, weekend = com[INDEX.day_of_week < 5], com[INDEX.day_of_week >= 5]
    assert weekend.mean() < 0.75 * weekday.mean()
    assert np.array_equal(actual["ZONE-N"], again["ZONE-N"])
    ratio = actual["ZONE-N"] / shape["ZONE-N"]
    assert 0.02 < np.std(np.log(ratio)) < 0.08


def test_pump_physics_at_the_duty_point():
    n = 60
    idx = INDEX[:n]
    out = meas.pump_station(np.full(n, 55.0), np.full(n, 66.0), np.ones(n), np.ones(n, bool), np.zeros(n),
                            bep=(55.0, 66.0), index=idx, step_seconds=60, rng=np.random.default_rng(0))
    hydraulic_kw = 9.81 * 55.0 * 66.0 / 1000.0
    assert hydraulic_kw / 0.80 / 0.94 < out["power"].mean() < 1.1 * hydraulic_kw / 0.80 / 0.94
    assert 70 < out["current"].mean() < 95
    assert 1460 < out["speed"].mean() < 1480
    assert 1.5 < out["vibration"].mean() < 2.5
    worn = meas.pump_station(np.full(n, 55.0), np.full(n, 66.0), np.ones(n), np.ones(n, bool), np.ones(n),
                             bep=(55.0, 66.0), index=idx, step_seconds=60, rng=np.random.default_rng(0))
    assert worn["power"].mean() > out["power"].mean() and worn["vibration"].mean() > 6.0
    stopped = meas.pump_station(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n, bool), np.zeros(n),
                                bep=(55.0, 66.0), index=idx, step_seconds=60, rng=np.random.default_rng(0))
    assert stopped["current"].max() == 0 and stopped["speed"].max() == 0


def test_instrument_noise_quantisation_and_gaps():
    n = 20000
    true = np.column_stack([np.full(n, 40.0), np.zeros(n), np.linspace(0, 100, n)])
    read = meas.instrument(true, ["pressure", "flow", "battery"], 60, np.random.default_rng(3))
    pressure = read[:, 0][np.isfinite(read[:, 0])]
    assert 0.03 < pressure.std() < 0.08
    assert np.allclose(pressure, np.round(pressure, 2))
    assert np.nanmax(np.abs(read[:, 1])) == 0.0  # a shut pipe reads zero
    assert 0.0 < np.isnan(read).mean() < 0.01
    battery = read[:, 2][np.isfinite(read[:, 2])]
    assert np.allclose(battery, np.round(battery))
