"""Hydraulic simulation speed: simulated days per second at 1-minute steps, and the default run's wall time.

Measured in one process, one run:

* ``pumpguard simulate`` in closed loop (EPANET stepped through the toolkit, SCADA rules, controller,
  measurement model) on the default network (10 days, default faults) and on WNTR's Net3 (3 days,
  a burst and a pump trip);
* the same EPANET stepping with nothing in the loop (the engine's floor);
* baseline: WNTR's ``EpanetSimulator.run_sim`` on the same network, days and step (no closed loop:
  it cannot apply a controller's actions between steps);
* the default run: 150 days on the default network with the default fault set, simulate + write
  (data.csv, sensors.json, events.csv, controller.csv, network.png). Target (not asserted): < 120 s.
"""

from __future__ import annotations

import os
import sys
import tempfile

if __package__ in (None, ""):
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._harness import Row, emit, peak_rss_mib, timed  # noqa: E402

STEP = 60


def _epanet_simulator_days_per_s(name: str, days: float) -> float:
    import wntr

    from pumpguard.network.topology import load_network

    wn = load_network(name)
    wn.options.time.duration = int(days * 86400)
    wn.options.time.hydraulic_timestep = STEP
    wn.options.time.report_timestep = STEP
    with tempfile.TemporaryDirectory() as tmp, timed() as t:
        wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=os.path.join(tmp, "ref"))
    return days / t[0]


def _engine_days_per_s(name: str, days: float) -> float:
    from pumpguard.network.hydraulics import HydraulicEngine
    from pumpguard.network.topology import load_network

    engine = HydraulicEngine(load_network(name), step_seconds=STEP, duration_seconds=int(days * 86400))
    with timed() as t:
        engine.run(lambda k, s: None)
    engine.close()
    return days / t[0]


def run() -> list[Row]:
    from pumpguard.network.simulate import simulate, write_simulation

    rows: list[Row] = []
    cases = (("pumpguard", 10.0, "default"),
             ("Net3", 3.0, "burst@20:start=1d,duration=6h;pump_trip:start=2d,duration=2h"))
    for name, days, faults in cases:
        baseline = _epanet_simulator_days_per_s(name, days)
        with timed() as t:
            simulate(name, days=days, step_seconds=STEP, faults=faults, seed=0)
        rows.append(Row("simulate", f"closed loop, {name}, {days:g} d", days / t[0], "sim days/s", baseline,
                        "wntr EpanetSimulator (open loop)", note=f"faults: {faults}"))
        rows.append(Row("simulate", f"engine only, {name}, {days:g} d", _engine_days_per_s(name, days),
                        "sim days/s", baseline, "wntr EpanetSimulator (open loop)"))
    with tempfile.TemporaryDirectory() as tmp:
        with timed() as t_sim:
            result = simulate(days=150, step_seconds=STEP, faults="default", seed=0)
        with timed() as t_write:
            write_simulation(result, tmp)
        size = os.path.getsize(os.path.join(tmp, "data.csv")) / 2**20
    rows.append(Row("simulate", "default run: 150 d, pumpguard, simulate", t_sim[0], "s", target="< 120 s (with write)",
                    note=f"{len(result.dataset):,} rows x {len(result.sensors)} sensors, "
                         f"{len(result.events)} faults, {len(result.transitions)} transitions"))
    rows.append(Row("simulate", "default run: write files", t_write[0], "s", note=f"data.csv {size:.0f} MiB"))
    rows.append(Row("simulate", "peak memory", peak_rss_mib(), "MiB"))
    return rows


if __name__ == "__main__":
    emit(run())
