"""The stepping engine against WNTR's EpanetSimulator (the reference), and its levers."""

import numpy as np
import pandas as pd
import pytest
import wntr
from wntr.epanet.util import EN

from pumpguard.errors import SimulationError
from pumpguard.network import measurement as meas
from pumpguard.network.hydraulics import HydraulicEngine
from pumpguard.network.simulate import simulate
from pumpguard.network.topology import load_network

STEP = 60
DAY = 86400


def _reference(wn, patterns):
    ref = wn  # same model, with the same per-step patterns written in
    for name, values in patterns.items():
        ref.get_pattern(name).multipliers = list(values)
    ref.options.time.pattern_timestep = STEP
    ref.options.time.hydraulic_timestep = STEP
    ref.options.time.report_timestep = STEP
    ref.options.time.duration = DAY
    return wntr.sim.EpanetSimulator(ref).run_sim()


def test_engine_matches_epanet_simulator_at_every_junction_and_step():
    wn = load_network()
    index = pd.date_range("2018-04-01", periods=DAY // STEP + 1, freq="min", tz="UTC")
    patterns, _ = meas.demand_patterns(wn, index, STEP, None)  # the daily cycle, no scatter
    engine = HydraulicEngine(wn, step_seconds=STEP, duration_seconds=DAY, patterns=patterns)
    ix = engine.node_indices(wn.junction_name_list)
    rows = []
    engine.run(lambda k, t: rows.append(engine.node_values(ix, EN.PRESSURE)))
    engine.close()
    ref = _reference(load_network(), patterns).node["pressure"][wn.junction_name_list].to_numpy()
    ours = np.array(rows)
    assert ours.shape == ref.shape == (DAY // STEP + 1, wn.num_junctions)
    assert np.abs(ours - ref).max() < 0.01


def test_simulated_data_without_noise_matches_epanet_simulator():
    """The whole path (plant, SCADA, controller, sensors) adds nothing to a fault-free, noise-free run."""
    result = simulate(days=1, faults=None, noise=False, readable_ids=True)
    wn = load_network()
    index = pd.date_range("2018-04-01", periods=DAY // STEP + 1, freq="min", tz="UTC")
    patterns, _ = meas.demand_patterns(wn, index, STEP, None)
    ref = _reference(wn, patterns).node["pressure"]
    frame = result.dataset.frame
    for sensor in result.sensors:
        if sensor.kind == "pressure":
            expected = ref[sensor.element].to_numpy()[: len(frame)]
            assert np.abs(frame[sensor.id].to_numpy() - expected).max() < 0.01, sensor.id
    assert set(frame["machine_status"]) == {"NORMAL"}


def test_toolkit_errors_become_simulation_errors():
    with pytest.raises(SimulationError, match="divides the duration"):
        HydraulicEngine(load_network(), step_seconds=7, duration_seconds=60)
    engine = HydraulicEngine(load_network(), step_seconds=60, duration_seconds=120)
    with pytest.raises(SimulationError, match="not in the network"):
        engine.set_emitter("J-NOPE", 1.0)
    engine.close()


def test_closing_the_main_and_opening_the_alternate_route_reroutes():
    wn = load_network()
    engine = HydraulicEngine(wn, step_seconds=60, duration_seconds=1200)
    seen = []

    def step(k, t):
        seen.append((engine.link_flow("P-M1"), engine.link_flow("P-B1")))
        if k == 5:
            engine.set_link_open("V-M1", False)
            engine.set_link_setting("V-B1", 0.0)  # a TCV opens by taking a setting again

    engine.run(step)
    engine.close()
    assert seen[5][0] > 30 and abs(seen[5][1]) < 0.5
    assert abs(seen[6][0]) < 0.5 and seen[6][1] > 30


def test_a_pipe_blockage_can_be_set_and_lifted():
    engine = HydraulicEngine(load_network(), step_seconds=60, duration_seconds=120)
    engine.set_minor_loss("P-N1", 400.0)
    engine.set_minor_loss("P-N1", 0.0)  # back to the file's value; EPANET itself refuses exactly 0
    assert engine.link_value("P-N1", EN.MINORLOSS) < 1e-3
    engine.close()
