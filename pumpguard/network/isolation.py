"""Isolation planning from the network graph: valve segments, the valves that bound them, alternate routes.

An *isolation valve* is anything the plant can shut: every valve link of the model (pumpguard's default
network names its isolation valves ``V-...`` as TCVs), every pipe that is normally closed (a closed pipe
is an operable bypass), every pipe whose EPANET ``[TAGS]`` tag is ``VALVE`` or ``ISOLATION_VALVE``, and
optionally WNTR *valve-layer* entries (``link``, ``node``: a valve on ``link`` next to ``node``, as made by
:func:`wntr.network.layer.generate_valve_layer`). A *segment* is what stays connected once every valve is
shut (the partition of :func:`wntr.metrics.topographic.valve_segments`). Closing a segment's boundary
valves isolates it; if that cuts demand junctions off every reservoir, normally-closed links outside the
segment are opened until supply comes back (the alternate route).

Connectivity is undirected and ignores capacity: a route that exists may still be too small, which is
why the controller also watches the service pressure after isolating.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import networkx as nx
import pandas as pd

from pumpguard.errors import ConfigError
from pumpguard.network.controller import Action, undo_actions

VALVE_TAGS = frozenset({"VALVE", "ISOLATION_VALVE"})


@dataclass(frozen=True)
class IsolationValve:
    """One shut-off point: shutting ``element`` separates ``link`` from ``node`` (valve links: both ends)."""

    element: str
    link: str
    node: str


class IsolationPlan:
    """Valve segments of a network and the actions that isolate one (build with :func:`build_isolation_plan`).

    Examples
    --------
    >>> import wntr
    >>> wn = wntr.network.WaterNetworkModel()
    >>> wn.add_reservoir("R", base_head=50.0)
    >>> for j in ("A", "B", "C"):
    ...     wn.add_junction(j, base_demand=0.001, elevation=0.0)
    >>> wn.add_pipe("P1", "R", "A", length=100, diameter=0.3, roughness=100)
    >>> wn.add_pipe("P2", "A", "B", length=100, diameter=0.3, roughness=100)
    >>> wn.add_pipe("P3", "B", "C", length=100, diameter=0.3, roughness=100)
    >>> wn.add_pipe("BYPASS", "A", "C", length=300, diameter=0.2, roughness=100, initial_status="CLOSED")
    >>> plan = build_isolation_plan(wn, valve_layer=pd.DataFrame({"link": ["P2", "P3"], "node": ["A", "C"]}))
    >>> [(a.kind, a.element) for a in plan.isolate(["B"])]
    [('close_valve', 'P2'), ('close_valve', 'P3'), ('open_valve', 'BYPASS')]
    >>> plan.has_alternate_route(["B"]), plan.unserved(["B"])
    (True, ('B',))
    """

    def __init__(self, *, valves: tuple[IsolationValve, ...], node_segment: dict[str, int],
                 link_segment: dict[str, int], graph: nx.MultiGraph, sources: tuple[str, ...],
                 demand_junctions: tuple[str, ...], normally_closed: tuple[str, ...],
                 pumps: tuple[str, ...], valve_links: frozenset[str] = frozenset(),
                 notes: tuple[str, ...] = ()) -> None:
        self.valves = valves
        self.valve_links = valve_links  # links that are valves themselves: boundaries, in no segment
        self.node_segment = node_segment
        self.link_segment = link_segment
        self.sources = sources
        self.demand_junctions = demand_junctions
        self.normally_closed = normally_closed
        self.pumps = pumps
        self.notes = notes
        self._graph = graph  # undirected, every link an edge keyed by its name
        self._last: tuple[Action, ...] = ()

    # -- segments ----------------------------------------------------------------------------------
    @property
    def n_segments(self) -> int:
        return len(set(self.node_segment.values()) | set(self.link_segment.values()))

    def segment_of(self, element: str) -> int:
        """The segment holding a node or link (a valve link: the segment of its start node)."""
        if element in self.node_segment:
            return self.node_segment[element]
        if element in self.link_segment:
            return self.link_segment[element]
        raise ConfigError(f"element {element!r} is not a node or link of the network; "
                          f"expected one of its {len(self.node_segment)} nodes or links")

    def segment(self, seg: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """The (nodes, links) of a segment, sorted; valve links bound segments and belong to none."""
        return (tuple(sorted(n for n, s in self.node_segment.items() if s == seg)),
                tuple(sorted(k for k, s in self.link_segment.items()
                             if s == seg and k not in self.valve_links)))

    def boundary_valves(self, seg: int) -> tuple[str, ...]:
        """The elements to shut to cut ``seg`` off the rest of the network, sorted."""
        out = {v.element for v in self.valves
               if (self.link_segment[v.link] == seg) != (self.node_segment[v.node] == seg)}
        # normally-closed links are shut already: closing them again would reopen them on restore
        return tuple(sorted(out - set(self.normally_closed)))

    def segments_table(self) -> pd.DataFrame:
        """One row per segment: its nodes, links, boundary valves and demand junctions."""
        demand = set(self.demand_junctions)
        rows = []
        for seg in sorted(set(self.node_segment.values()) | set(self.link_segment.values())):
            nodes, links = self.segment(seg)
            rows.append({"segment": seg, "nodes": nodes, "links": links, "valves": self.boundary_valves(seg),
                         "demand_junctions": tuple(n for n in nodes if n in demand)})
        return pd.DataFrame(rows).set_index("segment")

    # -- isolation ---------------------------------------------------------------------------------
    def isolate(self, suspected: Sequence[str]) -> tuple[Action, ...]:
        """Close the valves bounding the segment of the first known suspected element, then open
        normally-closed links if demand junctions outside it would lose every reservoir."""
        seg = self._target(suspected)
        if seg is None:
            self._last = ()
            return ()
        element = next(s for s in suspected if s in self.node_segment or s in self.link_segment)
        closes = self.boundary_valves(seg)
        opens = self._alternate_route(seg, closes)
        actions = tuple(Action("close_valve", v, f"isolate segment {seg} around {element}") for v in closes)
        actions += tuple(Action("open_valve", v, f"alternate route while segment {seg} is isolated")
                         for v in opens)
        self._last = actions
        return actions

    def isolated_nodes(self, suspected: Sequence[str]) -> tuple[str, ...]:
        """The nodes of the segment ``isolate(suspected)`` shuts (e.g. to leave them out of the service
        pressure while isolated)."""
        seg = self._target(suspected)
        return () if seg is None else self.segment(seg)[0]

    def unserved(self, suspected: Sequence[str]) -> tuple[str, ...]:
        """Demand junctions without a reservoir once ``isolate(suspected)`` is carried out (the segment's
        own junctions included: they are out of service until the repair)."""
        seg = self._target(suspected)
        if seg is None:
            return ()
        closes = self.boundary_valves(seg)
        return self._cut_off(seg, closes, self._alternate_route(seg, closes))

    def has_alternate_route(self, suspected: Sequence[str]) -> bool:
        """True when the suspected segment can be shut, every demand junction outside it still reaches a
        reservoir (through the alternate route if one is needed), and some demand is still served (shutting
        a segment that holds every customer restores no service)."""
        seg = self._target(suspected)
        if seg is None:
            return False
        closes = self.boundary_valves(seg)
        if not closes:
            return False
        own = set(self.segment(seg)[0])
        lost = self._cut_off(seg, closes, self._alternate_route(seg, closes))
        return all(j in own for j in lost) and len(lost) < len(self.demand_junctions)

    def restore(self, actions: Sequence[Action] | None = None) -> tuple[Action, ...]:
        """The actions that undo ``actions`` (default: the last :meth:`isolate` result)."""
        return undo_actions(self._last if actions is None else tuple(actions),
                            "repair done: return to the normal configuration")

    # -- internals ---------------------------------------------------------------------------------
    def _target(self, suspected: Sequence[str]) -> int | None:
        for s in suspected:
            if s in self.node_segment or s in self.link_segment:
                return self.segment_of(s)
        return None

    def _cut_off(self, seg: int, closes: Sequence[str], opens: Sequence[str]) -> tuple[str, ...]:
        g = nx.MultiGraph()
        g.add_nodes_from(self._graph.nodes)
        shut = set(closes)
        for a, b, key, data in self._graph.edges(keys=True, data=True):
            if key in shut or (data["normally_closed"] and key not in opens):
                continue
            if self.link_segment.get(key) == seg:
                continue
            g.add_edge(a, b, key=key)
        g.remove_nodes_from([n for n, s in self.node_segment.items() if s == seg])
        reach: set[str] = set()
        for src in self.sources:
            if src in g and src not in reach:
                reach |= nx.node_connected_component(g, src)
        return tuple(j for j in self.demand_junctions if j not in reach)

    def _alternate_route(self, seg: int, closes: Sequence[str]) -> tuple[str, ...]:
        """Normally-closed links to open, chosen greedily (fewest cut junctions, then name)."""
        own = set(self.segment(seg)[0])

        def n_lost(opens: list[str]) -> int:
            return sum(j not in own for j in self._cut_off(seg, closes, opens))

        lost = n_lost([])
        candidates = [k for k in self.normally_closed if self.link_segment[k] != seg]
        opened: list[str] = []
        while lost and candidates:
            best_lost, best = min((n_lost(opened + [k]), k) for k in candidates)
            if best_lost >= lost:
                break
            opened.append(best)
            candidates.remove(best)
            lost = best_lost
        return tuple(opened)


def build_isolation_plan(wn, *, valve_layer: pd.DataFrame | None = None,
                         tanks_as_sources: bool = False) -> IsolationPlan:
    """Find the isolation valves and valve segments of a ``wntr.network.WaterNetworkModel``.

    Parameters
    ----------
    wn:
        The network.
    valve_layer:
        Extra valves as WNTR's valve layer (columns ``link``, ``node``), e.g. from
        ``wntr.network.layer.generate_valve_layer(wn, "strategic", 1, seed=0)``.
    tanks_as_sources:
        Count tanks as supply. Off by default: a tank holds hours of demand, a repair takes longer.
        Networks without a reservoir always count their tanks.
    """
    import wntr

    graph = nx.MultiGraph()
    graph.add_nodes_from(wn.node_name_list)
    closed_status = wntr.network.LinkStatus.Closed
    normally_closed, valves, link_valves = [], [], set()
    for name, link in wn.links():
        nc = link.initial_status == closed_status and name not in wn.pump_name_list
        graph.add_edge(link.start_node_name, link.end_node_name, key=name, normally_closed=nc)
        if nc:
            normally_closed.append(name)
        tag = (link.tag or "").strip().upper() if isinstance(link.tag, str) else ""
        if name in wn.valve_name_list or nc or tag in VALVE_TAGS:
            link_valves.add(name)
            valves += [IsolationValve(name, name, link.start_node_name),
                       IsolationValve(name, name, link.end_node_name)]
    if valve_layer is not None:
        if not {"link", "node"} <= set(valve_layer.columns):
            raise ConfigError(f"valve_layer needs columns 'link' and 'node' (WNTR's valve layer), "
                              f"got {list(valve_layer.columns)}")
        for link, node in valve_layer[["link", "node"]].itertuples(index=False):
            lk = wn.get_link(link) if link in wn.link_name_list else None
            if lk is None or node not in (lk.start_node_name, lk.end_node_name):
                raise ConfigError(f"valve_layer row (link={link!r}, node={node!r}) does not name a link and "
                                  "one of its end nodes in this network")
            valves.append(IsolationValve(link, link, node))
    valves = tuple(dict.fromkeys(valves))

    # Bipartite graph node <-> link; a valve removes one attachment. Components are the segments.
    cut = {(v.link, v.node) for v in valves}
    parts = nx.Graph()
    parts.add_nodes_from(("n", n) for n in wn.node_name_list)
    for name, link in wn.links():
        if name in link_valves:
            continue  # a valve link belongs to no segment: it is the boundary itself
        parts.add_node(("l", name))
        for end in (link.start_node_name, link.end_node_name):
            if (name, end) not in cut:
                parts.add_edge(("l", name), ("n", end))
    order = {("n", n): i for i, n in enumerate(wn.node_name_list)}
    order.update({("l", k): len(order) + i for i, k in enumerate(wn.link_name_list)})
    comps = sorted(nx.connected_components(parts), key=lambda c: min(order[x] for x in c))
    node_segment, link_segment = {}, {}
    for seg, comp in enumerate(comps, start=1):
        for kind, name in comp:
            (node_segment if kind == "n" else link_segment)[name] = seg
    for name in link_valves:
        link_segment[name] = node_segment[wn.get_link(name).start_node_name]

    reservoirs = tuple(wn.reservoir_name_list)
    sources = reservoirs + tuple(wn.tank_name_list) if tanks_as_sources or not reservoirs else reservoirs
    demand = tuple(j for j, node in wn.junctions()
                   if sum(d.base_value for d in node.demand_timeseries_list) > 0)
    notes = []
    if not valves:
        notes.append("no isolation valves found: the whole network is one segment")
    return IsolationPlan(valves=valves, node_segment=node_segment, link_segment=link_segment, graph=graph,
                         sources=sources, demand_junctions=demand, normally_closed=tuple(normally_closed),
                         pumps=tuple(wn.pump_name_list), valve_links=frozenset(link_valves),
                         notes=tuple(notes))

