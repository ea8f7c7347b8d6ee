"""Localisation: kernel ranking on hand-made networks, exact distances, the assessment metrics."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import wntr

from pumpguard.data.schema import Sensor
from pumpguard.errors import DataFormatError, UnknownSensorError
from pumpguard.network.localisation import assess_localisation, rank_locations

NET3 = Path(wntr.__file__).parent / "library" / "networks" / "Net3.inp"


def line_network() -> wntr.network.WaterNetworkModel:
    """R -100 m- J1 -100 m- J2 -250 m- J3, plus J2 -100 m- J4 -100 m- J3 (a shorter way round to J3)."""
    wn = wntr.network.WaterNetworkModel()
    wn.add_reservoir("R", base_head=50, coordinates=(0, 0))
    for name, xy in {"J1": (100, 0), "J2": (200, 0), "J3": (450, 0), "J4": (300, 60)}.items():
        wn.add_junction(name, base_demand=0.001, coordinates=xy)
    for name, a, b, length in [("P1", "R", "J1", 100), ("P2", "J1", "J2", 100), ("P3", "J2", "J3", 250),
                               ("P4", "J2", "J4", 100), ("P5", "J4", "J3", 100)]:
        wn.add_pipe(name, a, b, length=length, diameter=0.2, roughness=120)
    return wn


def test_sensor_at_the_leak_with_the_highest_contribution_ranks_it_first():
    wn = line_network()
    sensors = [Sensor(f"p{i}", "pressure", "m", element=f"J{i}") for i in range(1, 5)]
    for leak in ("J1", "J2", "J3", "J4"):
        contrib = pd.Series({s.id: (5.0 if s.element == leak else 1.0) for s in sensors})
        ranked = rank_locations(contrib, sensors, wn, top=3)
        assert ranked.loc[0, "element"] == leak and ranked.loc[0, "kind"] == "junction"
        assert list(ranked.columns) == ["element", "kind", "score", "x", "y"]
        assert ranked["score"].is_monotonic_decreasing


def test_common_mode_is_removed_before_spreading():
    wn = line_network()
    sensors = [Sensor(f"p{i}", "pressure", "m", element=f"J{i}") for i in range(1, 5)]
    shared = pd.Series({"p1": 3.0, "p2": 3.0, "p3": 3.5, "p4": 3.0})  # everything dropped; J3 a bit more
    assert rank_locations(shared, sensors, wn, top=1).loc[0, "element"] == "J3"
    # without it the best-connected junction wins, whatever the readings say
    assert rank_locations(shared, sensors, wn, top=1, common_mode=False).loc[0, "element"] == "J4"


def test_kernel_scores_are_exact_shortest_path_distances():
    wn = line_network()
    ranked = rank_locations(pd.Series({"p1": 2.0}), [Sensor("p1", "pressure", element="J1")], wn,
                            top=20, candidates=("junction",))
    assert ranked.attrs["length_scale"] == 100.0  # median of 100, 100, 250, 100, 100
    score = dict(zip(ranked["element"], ranked["score"]))
    # J3 is 300 m away round J4, not 350 m along P3
    assert score == pytest.approx({"J1": 1.0, "J2": math.exp(-1), "J4": math.exp(-2), "J3": math.exp(-3)})


def test_pipes_score_the_mean_of_their_ends_and_flow_sensors_sit_mid_pipe():
    wn = line_network()
    ranked = rank_locations(pd.Series({"f": 1.0}), [Sensor("f", "flow", element="P3")], wn, top=20)
    score = dict(zip(ranked["element"], ranked["score"]))
    # P3's midpoint is 125 m from J2 and from J3
    assert score["J2"] == pytest.approx(math.exp(-1.25)) and score["J3"] == pytest.approx(math.exp(-1.25))
    assert score["P3"] == pytest.approx(math.exp(-1.25))
    assert score["P2"] == pytest.approx((math.exp(-1.25) + math.exp(-2.25)) / 2)
    row = ranked.set_index("element").loc["P3"]
    assert (row["x"], row["y"]) == (325.0, 0.0)


def test_dataframe_contributions_coordinates_and_skipped_sensors():
    wn = line_network()
    sensors = {"p_xy": Sensor("p_xy", "pressure", x=440.0, y=5.0),  # no element: nearest node J3
               "ghost": Sensor("ghost", "pressure", element="nowhere"),
               "p1": Sensor("p1", "pressure", element="J1"),
               "amps": Sensor("amps", "current", element="J1")}  # not a hydraulic sensor
    frame = pd.DataFrame({"p_xy": [3.0, -5.0, np.nan], "p1": [0.5, 0.5, 0.5], "ghost": [9.0, 9.0, 9.0],
                          "other": [1.0, 1.0, 1.0], "amps": [50.0, 50.0, 50.0]})
    ranked = rank_locations(frame, sensors, wn, top=1)
    assert ranked.loc[0, "element"] == "J3"
    assert sorted(ranked.attrs["skipped"]) == ["amps", "ghost", "other"]
    assert ranked.attrs["total_weight"] == pytest.approx(4.5)
    with pytest.raises(UnknownSensorError, match="placed"):
        rank_locations(pd.Series({"ghost": 1.0}), sensors, wn)
    with pytest.raises(DataFormatError, match="Series"):
        rank_locations([1.0, 2.0], sensors, wn)


def test_assessment_metrics_exact():
    wn = line_network()
    start = pd.Timestamp("2026-02-01", tz="UTC")
    events = pd.DataFrame({
        "element": ["J3", "P3", "J1", "J4"],
        "start": [start] * 4,
        "first_alarm": [start + pd.Timedelta(minutes=4), start + pd.Timedelta(minutes=10), pd.NaT,
                        start + pd.Timedelta(minutes=6)],
    })
    candidates = [["J3", "J4"], pd.DataFrame({"element": ["J1"]}), None, ["J1"]]
    r = assess_localisation(candidates, events, wn)
    # J3/J3: 0 m; J1 vs P3's midpoint: 100 + 125 m, 1 hop to J2; missed; J1 vs J4: 200 m, 2 hops
    assert r["distance_m"] == [0.0, 225.0, math.inf, 200.0]
    assert r["hops"] == [0, 1, math.inf, 2]
    assert r["top1"] == 0.25 and r["within_2_hops"] == 0.75 and r["within_300m"] == 0.75
    assert r["detected"] == 0.75
    assert r["detection_delay_median_s"] == 360.0
    assert r["detection_delay_mean_s"] == pytest.approx(400.0)


def test_assessment_bad_input():
    wn = line_network()
    events = pd.DataFrame({"element": ["J9"], "start": [pd.Timestamp("2026-01-01")]})
    with pytest.raises(DataFormatError, match="J9"):
        assess_localisation([["J1"]], events, wn)
    with pytest.raises(DataFormatError, match="length"):
        assess_localisation([], events, wn)
    with pytest.raises(DataFormatError, match="start"):
        assess_localisation([["J1"]], pd.DataFrame({"element": ["J1"]}), wn)


def _leak_pressure_drop(wn, node: str, sensors: list[str], workdir: Path) -> pd.Series:
    """Steady-state pressure drop at the sensor junctions when ``node`` leaks (an EPANET emitter)."""
    prefix = str(workdir / "leak")  # EPANET writes its files there, not in the working directory
    base = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=prefix).node["pressure"].iloc[0]
    emitter = wn.get_node(node)
    emitter.emitter_coefficient = 0.05  # m3/s per m^0.5 of pressure: a burst of tens of L/s at 30-60 m
    try:
        leak = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=prefix).node["pressure"].iloc[0]
    finally:
        emitter.emitter_coefficient = None
    return (base - leak)[sensors].clip(lower=0.0)


def test_net3_leaks_localise_better_than_chance(tmp_path):
    """Net3 with 20 pressure sensors: simulated bursts at 12 junctions; the top candidate is closer to the
    burst than a randomly chosen junction is (median over bursts)."""
    wn = wntr.network.WaterNetworkModel(str(NET3))
    wn.options.time.duration = 0
    rng = np.random.default_rng(3)
    junctions = [j for j in wn.junction_name_list if wn.get_node(j).demand_timeseries_list[0].base_value > 0]
    sensor_nodes = sorted(rng.choice(wn.junction_name_list, size=20, replace=False))
    sensors = [Sensor(f"p_{n}", "pressure", "m", element=n) for n in sensor_nodes]
    leaks = list(rng.choice(junctions, size=12, replace=False))
    candidates = []
    for node in leaks:
        drop = _leak_pressure_drop(wn, node, sensor_nodes, tmp_path)
        candidates.append(rank_locations(drop.rename(index=lambda n: f"p_{n}"), sensors, wn, top=5))
    events = pd.DataFrame({"element": leaks, "start": pd.Timestamp("2026-01-01", tz="UTC")})
    ours = assess_localisation(candidates, events, wn)
    chance = assess_localisation([[rng.choice(junctions)] for _ in leaks], events, wn)
    assert ours["median_distance_m"] < chance["median_distance_m"]
    assert ours["within_2_hops"] >= chance["within_2_hops"]
