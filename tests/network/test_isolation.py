"""Isolation plans: segments, boundary valves, alternate routes, restore; hand-built networks, Net3."""

from __future__ import annotations

import collections
from pathlib import Path

import pandas as pd
import pytest
import wntr

from pumpguard.errors import ConfigError
from pumpguard.network.controller import Action, Controller, ControllerConfig, Observation, State
from pumpguard.network.isolation import build_isolation_plan

NET3 = Path(wntr.__file__).parent / "library" / "networks" / "Net3.inp"
DEFAULT = Path(__file__).parents[2] / "pumpguard" / "network" / "networks" / "pumpguard.inp"


def loop_network() -> wntr.network.WaterNetworkModel:
    """R - A |V-AB| A2 - B |V-BC| B2 - C, C feeds a loop C-D-E-C (the customers); a normally-closed
    bypass pipe BYPASS links A to D, so shutting the main's middle segment (A2, B) keeps C, D, E served."""
    wn = wntr.network.WaterNetworkModel()
    wn.add_reservoir("R", base_head=60.0, coordinates=(0, 0))
    coords = {"A": (100, 0), "A2": (110, 0), "B": (500, 0), "B2": (510, 0), "C": (900, 0),
              "D": (900, 400), "E": (1300, 200)}
    for name, xy in coords.items():
        demand = 0.002 if name in ("C", "D", "E") else 0.0
        wn.add_junction(name, base_demand=demand, elevation=0.0, coordinates=xy)
    wn.add_pipe("P-RA", "R", "A", length=100, diameter=0.3, roughness=120)
    wn.add_valve("V-AB", "A", "A2", diameter=0.3, valve_type="TCV", initial_setting=0)
    wn.add_pipe("P-AB", "A2", "B", length=400, diameter=0.3, roughness=120)
    wn.add_valve("V-BC", "B", "B2", diameter=0.3, valve_type="TCV", initial_setting=0)
    wn.add_pipe("P-BC", "B2", "C", length=400, diameter=0.3, roughness=120)
    wn.add_pipe("P-CD", "C", "D", length=400, diameter=0.2, roughness=120)
    wn.add_pipe("P-DE", "D", "E", length=450, diameter=0.2, roughness=120)
    wn.add_pipe("P-EC", "E", "C", length=450, diameter=0.2, roughness=120)
    wn.add_pipe("BYPASS", "A", "D", length=1000, diameter=0.2, roughness=120, initial_status="CLOSED")
    return wn


def test_segments_and_boundaries_of_the_loop():
    plan = build_isolation_plan(loop_network())
    middle = plan.segment_of("P-AB")
    assert plan.n_segments == 3
    assert plan.segment(middle) == (("A2", "B"), ("P-AB",))
    assert plan.boundary_valves(middle) == ("V-AB", "V-BC")
    assert plan.normally_closed == ("BYPASS",)
    # the normally-closed bypass bounds the head segment but is never "closed" again
    assert plan.boundary_valves(plan.segment_of("A")) == ("V-AB",)


def test_isolate_opens_the_bypass_when_the_main_is_cut():
    plan = build_isolation_plan(loop_network())
    actions = plan.isolate(["unknown", "P-AB"])
    assert [(a.kind, a.element) for a in actions] == [
        ("close_valve", "V-AB"), ("close_valve", "V-BC"), ("open_valve", "BYPASS")]
    assert plan.has_alternate_route(["P-AB"]) and plan.unserved(["P-AB"]) == ()
    undo = plan.restore()
    assert [(a.kind, a.element) for a in undo] == [
        ("close_valve", "BYPASS"), ("open_valve", "V-BC"), ("open_valve", "V-AB")]
    assert plan.restore(actions[:1]) == (Action("open_valve", "V-AB", undo[-1].reason),)
    # the customers' own segment: shut V-BC, the bypass would lead into it, so it stays closed;
    # every customer is inside, so no service is restored
    assert [a.element for a in plan.isolate(["D"])] == ["V-BC"]
    assert plan.unserved(["D"]) == ("C", "D", "E") and not plan.has_alternate_route(["D"])


def test_unknown_suspects_and_unisolable_segments():
    plan = build_isolation_plan(loop_network())
    assert plan.isolate(["nowhere"]) == () and not plan.has_alternate_route(["nowhere"])
    with pytest.raises(ConfigError, match="nowhere"):
        plan.segment_of("nowhere")
    # the head segment holds the only reservoir: shutting it serves nobody
    assert not plan.has_alternate_route(["P-RA"])


def test_without_bypass_there_is_no_alternate_route():
    wn = loop_network()
    wn.remove_link("BYPASS")
    plan = build_isolation_plan(wn)
    assert [a.element for a in plan.isolate(["B"])] == ["V-AB", "V-BC"]
    assert not plan.has_alternate_route(["B"])
    assert plan.unserved(["B"]) == ("C", "D", "E")


def test_isolation_holds_hydraulically(tmp_path):
    """Apply the actions to the model and simulate: the outside keeps pressure, the segment has no flow."""
    wn = loop_network()
    plan = build_isolation_plan(wn)
    for action in plan.isolate(["P-AB"]):
        link = wn.get_link(action.element)
        link.initial_status = wntr.network.LinkStatus.Closed if action.kind == "close_valve" \
            else wntr.network.LinkStatus.Open
    wn.options.time.duration = 0
    results = wntr.sim.EpanetSimulator(wn).run_sim(file_prefix=str(tmp_path / "isolated"))
    pressure = results.node["pressure"].iloc[0]
    flow = results.link["flowrate"].iloc[0]
    assert (pressure[["C", "D", "E"]] > 20).all()
    assert abs(flow["P-AB"]) < 1e-6 and abs(flow["BYPASS"]) > 1e-4


def test_valve_layer_partition_matches_wntr_on_net3():
    wn = wntr.network.WaterNetworkModel(str(NET3))
    layer = wntr.network.layer.generate_valve_layer(wn, "strategic", 1, seed=7)
    plan = build_isolation_plan(wn, valve_layer=layer)
    node_seg, _, _ = wntr.metrics.topographic.valve_segments(wn.to_graph(), layer)
    ours, theirs = collections.defaultdict(set), collections.defaultdict(set)
    for n, s in plan.node_segment.items():
        ours[s].add(n)
    for n, s in node_seg.items():
        theirs[s].add(n)
    assert sorted(map(sorted, ours.values())) == sorted(map(sorted, theirs.values()))
    # every junction can be isolated, and the actions only name links of the network
    for j in wn.junction_name_list:
        for a in plan.isolate([j]):
            assert a.element in wn.link_name_list
    assert "330" in plan.normally_closed and plan.pumps == ("10", "335")


def test_bad_valve_layer_is_one_clear_error():
    wn = loop_network()
    with pytest.raises(ConfigError, match="columns"):
        build_isolation_plan(wn, valve_layer=pd.DataFrame({"pipe": ["P-AB"]}))
    with pytest.raises(ConfigError, match="P-AB"):
        build_isolation_plan(wn, valve_layer=pd.DataFrame({"link": ["P-AB"], "node": ["E"]}))


def test_controller_with_real_plan_runs_leak_to_repair():
    plan = build_isolation_plan(loop_network())
    c = Controller(plan, ControllerConfig(debounce=1))
    t0 = pd.Timestamp("2026-01-01", tz="UTC")
    trs = c.step(Observation(t0, anomaly=True, suspected=("P-AB",)))
    assert [t.to_state for t in trs] == [State.ALARM, State.ISOLATING]
    assert [a.element for a in trs[-1].actions] == ["V-AB", "V-BC", "BYPASS"]
    c.step(Observation(t0 + pd.Timedelta(minutes=1), anomaly=False, min_service_pressure=30.0))
    trs = c.step(Observation(t0 + pd.Timedelta(hours=2), anomaly=False, repaired=True))
    assert [(a.kind, a.element) for a in trs[0].actions] == [
        ("close_valve", "BYPASS"), ("open_valve", "V-BC"), ("open_valve", "V-AB")]


def test_default_network_mains_burst_uses_the_south_main():
    wn = wntr.network.WaterNetworkModel(str(DEFAULT))
    plan = build_isolation_plan(wn)
    assert plan.normally_closed == ("V-B1",)
    actions = [(a.kind, a.element) for a in plan.isolate(["P-M1"])]
    assert {("close_valve", "V-M1"), ("close_valve", "V-M2")} <= set(actions)
    assert actions[-1] == ("open_valve", "V-B1")
    assert plan.has_alternate_route(["P-M1"]) and plan.unserved(["P-M1"]) == ()
    # every segment with customers can be shut while the rest of the town stays supplied
    table = plan.segments_table()
    for seg, row in table[table["demand_junctions"].map(len) > 0].iterrows():
        suspect = row["demand_junctions"][0]
        assert plan.has_alternate_route([suspect]), seg
        assert set(plan.unserved([suspect])) == set(row["demand_junctions"]), seg


@pytest.mark.parametrize("seed", [0, 1])
def test_isolation_really_cuts_the_segment_off_on_net3(seed):
    """Check isolate() with an independent graph: after its actions no source reaches the suspected
    junction, and when an alternate route is claimed every other demand junction is reached."""
    import networkx as nx

    wn = wntr.network.WaterNetworkModel(str(NET3))
    layer = wntr.network.layer.generate_valve_layer(wn, "strategic", 1, seed=seed)
    plan = build_isolation_plan(wn, valve_layer=layer)
    for j in wn.junction_name_list[::3]:
        actions = plan.isolate([j])
        shut = {a.element for a in actions if a.kind == "close_valve"}
        opened = {a.element for a in actions if a.kind == "open_valve"}
        g = nx.Graph()
        g.add_nodes_from(wn.node_name_list)
        for name, link in wn.links():
            closed = (link.initial_status == wntr.network.LinkStatus.Closed and name not in wn.pump_name_list
                      and name not in opened)
            # a shut valve link, or a pipe whose valve-layer valve is shut: no flow through it
            if not closed and name not in shut:
                g.add_edge(link.start_node_name, link.end_node_name)
        own = set(plan.isolated_nodes([j]))
        outside = [r for r in wn.reservoir_name_list if r not in own]  # a reservoir may sit in the segment
        reached = set().union(*(nx.node_connected_component(g, r) for r in outside))
        assert j not in reached, j
        if plan.has_alternate_route([j]):
            assert all(d in reached for d in plan.demand_junctions if d not in own), j
