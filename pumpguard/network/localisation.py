"""Leak and burst localisation: from per-sensor contributions to ranked junctions and pipes.

Each located sensor spreads its share of the anomaly (after removing the part every sensor shares, the
median) over the network with the kernel
``exp(-d / L)``, where ``d`` is the hydraulic distance (shortest path along links, metres) from the
sensor and ``L`` the network's median pipe length (one typical pipe away, a sensor's weight falls to
1/e). A junction's score is the sum over sensors; a pipe's is the mean of its two end junctions, so the
pipe between the two best junctions ranks first among pipes. Scores are relative (contributions are
normalised to sum to 1), so they compare across events.

:func:`assess_localisation` scores ranked candidates against the true fault locations: share of faults
whose location is the top candidate, within 2 hops, within 300 m along the pipes (the BattLeDIM hit
radius), and the detection delay (first alarm minus fault start).
"""

from __future__ import annotations

import math
from typing import Mapping, Sequence

import networkx as nx
import numpy as np
import pandas as pd

from pumpguard.data.schema import Sensor
from pumpguard.errors import DataFormatError, UnknownSensorError

#: BattLeDIM counts a leak as found when the reported location is within 300 m of the true one.
HIT_RADIUS_M = 300.0
HIT_HOPS = 2


class _Network:
    """The undirected graph of a ``WaterNetworkModel`` with link lengths, and cached shortest paths."""

    def __init__(self, wn) -> None:
        self.wn = wn
        self.graph = nx.Graph()
        self.coords = {n: tuple(map(float, wn.get_node(n).coordinates)) for n in wn.node_name_list}
        self.graph.add_nodes_from(wn.node_name_list)
        self.pipe_length: dict[str, float] = {}
        self.ends: dict[str, tuple[str, str]] = {}
        for name, link in wn.links():
            a, b = link.start_node_name, link.end_node_name
            self.ends[name] = (a, b)
            if name in wn.pipe_name_list:
                length = float(link.length)
                self.pipe_length[name] = length
            else:  # pumps and valves: as long as the straight line between their ends
                length = math.dist(self.coords[a], self.coords[b])
            if not self.graph.has_edge(a, b) or self.graph[a][b]["length"] > length:
                self.graph.add_edge(a, b, length=length)
        lengths = list(self.pipe_length.values())
        self.typical_length = float(np.median(lengths)) if lengths else 1.0
        self._metres: dict[str, dict[str, float]] = {}
        self._hops: dict[str, dict[str, int]] = {}

    def anchors(self, element: str) -> list[tuple[str, float]]:
        """Where an element sits: a node is itself; a link is its midpoint, half its length from each end."""
        if element in self.coords:
            return [(element, 0.0)]
        if element in self.ends:
            a, b = self.ends[element]
            half = self.pipe_length.get(element, math.dist(self.coords[a], self.coords[b])) / 2.0
            return [(a, half), (b, half)]
        raise KeyError(element)

    def nearest_node(self, x: float, y: float) -> str:
        return min(self.coords, key=lambda n: (math.dist(self.coords[n], (x, y)), n))

    def metres_from(self, node: str) -> dict[str, float]:
        if node not in self._metres:
            self._metres[node] = nx.single_source_dijkstra_path_length(self.graph, node, weight="length")
        return self._metres[node]

    def hops_from(self, node: str) -> dict[str, int]:
        if node not in self._hops:
            self._hops[node] = nx.single_source_shortest_path_length(self.graph, node)
        return self._hops[node]

    def distance(self, a: str, b: str) -> float:
        """Metres along the links between two elements (midpoints for links)."""
        if a == b:
            return 0.0
        return min(oa + self.metres_from(na).get(nb, math.inf) + ob
                   for na, oa in self.anchors(a) for nb, ob in self.anchors(b))

    def hops(self, a: str, b: str) -> float:
        """Links between two elements (a link's own end nodes are 0 hops from it)."""
        if a == b:
            return 0
        return min(self.hops_from(na).get(nb, math.inf)
                   for na, _ in self.anchors(a) for nb, _ in self.anchors(b))


def rank_locations(contributions: pd.Series | pd.DataFrame, sensors: Sequence[Sensor] | Mapping[str, Sensor],
                   wn, *, top: int = 5, candidates: Sequence[str] = ("junction", "pipe"),
                   sensor_kinds: Sequence[str] = ("pressure", "flow"), common_mode: bool = True,
                   length_scale: float | None = None) -> pd.DataFrame:
    """Rank the junctions and pipes most likely to hold the fault behind ``contributions``.

    Parameters
    ----------
    contributions:
        One value per sensor (a Series), or rows x sensors (a DataFrame, e.g. a detector's
        ``contributions(X)`` over the alarm window: the mean magnitude per sensor is used).
    sensors:
        Sensor metadata; a sensor is placed at its ``element`` (node, or a link's midpoint), else at the
        network node nearest its ``x``/``y``. Sensors that cannot be placed, or whose ``kind`` is not in
        ``sensor_kinds``, are skipped (listed in ``result.attrs["skipped"]``).
    wn:
        The ``wntr.network.WaterNetworkModel``.
    top:
        How many candidates to return.
    candidates:
        Which elements to rank: ``junction`` and/or ``pipe``.
    sensor_kinds:
        Sensors that see a leak where they sit: pressure and flow by default. A pump's current or a
        logger's battery says nothing about where in the pipes the water goes.
    common_mode:
        Subtract the median weight of the placed sensors first (with 3 or more). A leak lowers every
        pressure by a shared amount (the pump slides along its curve, the tank drains) that says nothing
        about where it is; only the excess over it is local.
    length_scale:
        ``L`` of the kernel in metres; default the median pipe length.

    Returns
    -------
    DataFrame with columns ``element``, ``kind`` (``junction``/``pipe``), ``score``, ``x``, ``y``, best first.

    Examples
    --------
    >>> import wntr
    >>> wn = wntr.network.WaterNetworkModel()
    >>> wn.add_reservoir("R", base_head=40, coordinates=(0, 0))
    >>> for i in range(1, 4):
    ...     wn.add_junction(f"J{i}", base_demand=0.001, coordinates=(100 * i, 0))
    >>> for a, b in [("R", "J1"), ("J1", "J2"), ("J2", "J3")]:
    ...     wn.add_pipe(f"P-{b}", a, b, length=100, diameter=0.2, roughness=120)
    >>> sensors = [Sensor("p1", "pressure", "m", element="J1"), Sensor("p3", "pressure", "m", element="J3")]
    >>> rank_locations(pd.Series({"p1": 0.2, "p3": 1.8}), sensors, wn, top=2)[["element", "kind"]]
      element      kind
    0      J3  junction
    1    P-J3      pipe
    """
    net = _Network(wn)
    weights = _sensor_weights(contributions)
    meta = _sensor_index(sensors)
    scale = float(length_scale) if length_scale is not None else net.typical_length
    junctions = list(wn.junction_name_list)
    node_score = pd.Series(0.0, index=junctions)
    placed, skipped = {}, []
    for sensor_id in weights.index:
        sensor = meta.get(sensor_id)
        anchors = _place(sensor, net) if sensor is not None and sensor.kind in sensor_kinds else None
        if anchors is None:
            skipped.append(sensor_id)
        else:
            placed[sensor_id] = anchors
    used = weights[list(placed)]
    if common_mode and len(used) >= 3:
        used = (used - float(used.median())).clip(lower=0.0)
    total = float(used.sum())
    for sensor_id, anchors in placed.items():
        weight = float(used[sensor_id])
        if weight <= 0 or total <= 0:
            continue
        dist = np.array([min(off + net.metres_from(n).get(j, math.inf) for n, off in anchors)
                         for j in junctions])
        node_score += (weight / total) * np.exp(-dist / scale)
    if not placed:
        raise UnknownSensorError(
            "none of the sensors in the contributions can be placed on the network: expected sensors of "
            f"kind {tuple(sensor_kinds)} with an element of the network or x/y coordinates", unknown=skipped)
    rows = []
    if "junction" in candidates:
        rows += [(j, "junction", float(node_score[j]), *net.coords[j]) for j in junctions]
    if "pipe" in candidates:
        for p in wn.pipe_name_list:
            a, b = net.ends[p]
            ends = [node_score[n] for n in (a, b) if n in node_score.index]
            if ends:
                (xa, ya), (xb, yb) = net.coords[a], net.coords[b]
                rows.append((p, "pipe", float(np.mean(ends)), (xa + xb) / 2, (ya + yb) / 2))
    ranked = pd.DataFrame(rows, columns=["element", "kind", "score", "x", "y"])
    ranked = ranked.sort_values(["score", "element"], ascending=[False, True], kind="stable")
    ranked = ranked.head(top).reset_index(drop=True)
    ranked.attrs["skipped"] = skipped
    ranked.attrs["length_scale"] = scale
    ranked.attrs["total_weight"] = total  # 0: the sensors saw nothing, the ranking is by name only
    return ranked


def assess_localisation(candidates_per_event: Sequence[pd.DataFrame | Sequence[str] | None],
                        events: pd.DataFrame, wn) -> dict:
    """Score ranked candidates against the true fault locations.

    ``events`` has one row per fault, aligned with ``candidates_per_event``: column ``element`` (the true
    location; ``location`` is accepted too), ``start`` and optionally ``first_alarm`` (NaT if missed).
    A missing candidate list counts as a miss. Shares are over all events.

    >>> import wntr
    >>> wn = wntr.network.WaterNetworkModel()
    >>> wn.add_reservoir("R", base_head=40, coordinates=(0, 0))
    >>> for i in range(1, 4):
    ...     wn.add_junction(f"J{i}", coordinates=(400 * i, 0))
    >>> for a, b in [("R", "J1"), ("J1", "J2"), ("J2", "J3")]:
    ...     wn.add_pipe(f"P-{b}", a, b, length=400, diameter=0.2, roughness=120)
    >>> events = pd.DataFrame({"element": ["J3", "J1"], "start": pd.to_datetime(["2026-01-01 00:00"] * 2),
    ...                        "first_alarm": pd.to_datetime(["2026-01-01 00:05", None])})
    >>> r = assess_localisation([["J3"], ["J2"]], events, wn)
    >>> r["top1"], r["within_2_hops"], r["within_300m"], r["detection_delay_median_s"]
    (0.5, 1.0, 0.5, 300.0)
    """
    net = _Network(wn)
    where = "element" if "element" in events.columns else "location"
    if where not in events.columns or "start" not in events.columns:
        raise DataFormatError("events table lacks a column", found=list(events.columns),
                              expected="columns 'element' (or 'location') and 'start'",
                              hint="one row per fault: its true location and start time")
    if len(candidates_per_event) != len(events):
        raise DataFormatError("candidates and events differ in length", found=len(candidates_per_event),
                              expected=f"{len(events)} candidate lists, one per event")
    top1 = hops_hit = metres_hit = 0
    metres, hop_counts = [], []
    for row, (cands, truth) in enumerate(zip(candidates_per_event, events[where])):
        if truth not in net.coords and truth not in net.ends:
            raise DataFormatError("a fault's true location is not an element of the network",
                                  column=where, found=truth,
                                  expected=f"a node or link name (event row {row})")
        names = _candidate_names(cands)
        if not names:
            metres.append(math.inf)
            hop_counts.append(math.inf)
            continue
        best = names[0]
        top1 += best == truth
        d, h = net.distance(best, truth), net.hops(best, truth)
        metres.append(d)
        hop_counts.append(h)
        hops_hit += h <= HIT_HOPS
        metres_hit += d <= HIT_RADIUS_M
    n = len(events)
    delays = pd.Series(dtype="float64")
    if "first_alarm" in events.columns:
        delay = pd.to_datetime(events["first_alarm"]) - pd.to_datetime(events["start"])
        delays = delay.dt.total_seconds().dropna()
    finite = [m for m in metres if math.isfinite(m)]
    return {
        "n_events": n,
        "top1": top1 / n if n else math.nan,
        "within_2_hops": hops_hit / n if n else math.nan,
        "within_300m": metres_hit / n if n else math.nan,
        "median_distance_m": float(np.median(finite)) if finite else math.nan,
        "distance_m": metres,
        "hops": hop_counts,
        "detected": (len(delays) / n) if n and "first_alarm" in events.columns else math.nan,
        "detection_delay_median_s": float(delays.median()) if len(delays) else math.nan,
        "detection_delay_mean_s": float(delays.mean()) if len(delays) else math.nan,
    }


def _sensor_weights(contributions) -> pd.Series:
    if isinstance(contributions, pd.DataFrame):
        weights = contributions.abs().mean(axis=0, skipna=True)
    elif isinstance(contributions, pd.Series):
        weights = contributions.abs()
    else:
        raise DataFormatError("contributions must be a pandas Series (one value per sensor) or a DataFrame "
                              "(rows x sensors)", found=type(contributions).__name__)
    return weights.fillna(0.0).astype(float).rename(index=str)


def _sensor_index(sensors) -> dict[str, Sensor]:
    if isinstance(sensors, Mapping):
        return {str(k): v for k, v in sensors.items()}
    return {s.id: s for s in sensors}


def _place(sensor: Sensor | None, net: _Network) -> list[tuple[str, float]] | None:
    if sensor is None:
        return None
    if sensor.element is not None:
        try:
            return net.anchors(sensor.element)
        except KeyError:
            pass
    if sensor.x is not None and sensor.y is not None:
        return [(net.nearest_node(sensor.x, sensor.y), 0.0)]
    return None


def _candidate_names(cands) -> list[str]:
    if cands is None:
        return []
    if isinstance(cands, pd.DataFrame):
        return [str(e) for e in cands["element"]]
    return [str(e) for e in cands]
