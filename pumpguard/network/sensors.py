"""Where the sensors sit, what they measure, and what they are called.

:func:`default_layout` places a sensor set on any network, the same way every time:

* **pump station** (the duty pump: the first pump by name): suction and discharge pressure, flow,
  motor current and power, speed, drive-end and non-drive-end bearing temperature, vibration RMS;
  every other pump: flow and motor current;
* **pressure loggers** at ``n_pressure`` junctions spread by greedy farthest-point selection on the
  pipe-length graph distance, starting from the junction farthest from the pump station;
* **flow meters** on the pipes next to normally-closed links (the alternate routes: their flow shows
  a reroute), the pipes next to tanks, then the pipes with the highest length-weighted edge
  betweenness (the mains), skipping pipes next to one already metered, up to ``n_flow``;
* **tank level** for every tank;
* **health** of the ``n_field`` most remote pressure loggers (battery-powered field units):
  battery % and radio signal dBm, slow-varying.

Columns are named in the pump-sensor schema (``sensor_00``, ``sensor_01``, ... in the order above)
unless readable ids (``pressure_J-N3``, ``vibration_PUMP-1``) are asked for. ``sensors.json`` holds
id, readable name, kind, unit, element, coordinates, zone, elevation and a description of each.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import wntr

from pumpguard.data.schema import Sensor
from pumpguard.network.topology import element_xy, zone_of

#: kind -> unit, as written in sensors.json
UNITS = {"pressure": "m", "flow": "L/s", "level": "m", "current": "A", "power": "kW", "speed": "rpm",
         "temperature": "degC", "vibration": "mm/s", "battery": "%", "signal": "dBm"}


@dataclass(frozen=True)
class SensorSpec:
    """One sensor: what it measures (``quantity`` tells the simulator which value feeds it).

    >>> SensorSpec("pressure_J-N3", "pressure", "J-N3", "pressure", "pressure logger at J-N3").unit
    'm'
    """

    name: str  # readable id, e.g. "pressure_J-N3"
    kind: str
    element: str
    quantity: str  # pressure | flow | level | current | power | speed | bearing_de | bearing_nde | vibration | battery | signal
    description: str

    @property
    def unit(self) -> str:
        return UNITS[self.kind]


@dataclass(frozen=True)
class SensorLayout:
    """The sensors of one network, in column order.

    Examples
    --------
    >>> from pumpguard.network.topology import load_network
    >>> layout = default_layout(load_network())
    >>> len(layout.specs), layout.ids()[:2], layout.ids(readable=True)[:2]
    (50, ['sensor_00', 'sensor_01'], ['pressure_J-SUC', 'pressure_J-DIS'])
    """

    specs: tuple[SensorSpec, ...]
    duty_pump: str | None

    def ids(self, *, readable: bool = False) -> list[str]:
        if readable:
            return [s.name for s in self.specs]
        width = max(2, len(str(len(self.specs) - 1)))
        return [f"sensor_{i:0{width}d}" for i in range(len(self.specs))]

    def of_quantity(self, quantity: str) -> list[int]:
        return [i for i, s in enumerate(self.specs) if s.quantity == quantity]

    def metadata(self, wn: wntr.network.WaterNetworkModel, *, readable: bool = False) -> tuple[Sensor, ...]:
        """The data contract's sensor metadata (coordinates in network units, metres for ours)."""
        out = []
        for sid, spec in zip(self.ids(readable=readable), self.specs):
            node = _site_node(wn, spec.element)
            xy = element_xy(wn, spec.element)
            elev = getattr(wn.get_node(node), "elevation", None) if node else None
            out.append(Sensor(id=sid, kind=spec.kind, unit=spec.unit, element=spec.element,
                              x=None if xy is None else xy[0], y=None if xy is None else xy[1],
                              zone=zone_of(wn, node) if node else None,
                              elevation=None if elev is None else float(elev), description=spec.description))
        return tuple(out)

    def resolve(self, sensor: str, *, readable: bool = False) -> int:
        """Column position of a sensor given by id (``sensor_03``) or readable name."""
        for names in (self.ids(readable=readable), self.ids(), [s.name for s in self.specs]):
            if sensor in names:
                return names.index(sensor)
        raise KeyError(sensor)


def _site_node(wn, element: str) -> str | None:
    """The node a sensor's site sits at (a link's start node; a pump's discharge node)."""
    if element in wn.node_name_list:
        return element
    if element in wn.pump_name_list:
        return wn.get_link(element).end_node_name
    if element in wn.link_name_list:
        return wn.get_link(element).start_node_name
    return None


def _graph(wn) -> nx.Graph:
    g = nx.Graph()
    for name, link in wn.links():
        length = float(getattr(link, "length", 1.0) or 1.0)
        g.add_edge(link.start_node_name, link.end_node_name, name=name, length=length)
    return g


def _farthest_points(g: nx.Graph, candidates: list[str], start_from: list[str], n: int) -> list[str]:
    dist = {c: min(nx.single_source_dijkstra_path_length(g, s, weight="length").get(c, float("inf"))
                   for s in start_from) for c in candidates}
    picked: list[str] = []
    while len(picked) < min(n, len(candidates)):
        best = max((c for c in candidates if c not in picked), key=lambda c: (dist[c], c))
        picked.append(best)
        from_best = nx.single_source_dijkstra_path_length(g, best, weight="length")
        for c in candidates:
            dist[c] = min(dist[c], from_best.get(c, float("inf")))
    return picked


def _flow_pipes(wn, g: nx.Graph, n: int) -> list[str]:
    pipes = set(wn.pipe_name_list)
    closed = wntr.network.LinkStatus.Closed
    wanted: list[str] = []

    def near(link_name: str) -> list[str]:
        link = wn.get_link(link_name)
        out = []
        for end in (link.end_node_name, link.start_node_name):
            out += sorted(d["name"] for _, _, d in g.edges(end, data=True) if d["name"] in pipes and d["name"] != link_name)
        return out

    for name, link in sorted(wn.links()):
        if link.initial_status == closed and name not in wn.pump_name_list:
            wanted += [name] if name in pipes else near(name)[:1]
    for tank in sorted(wn.tank_name_list):
        wanted += sorted(d["name"] for _, _, d in g.edges(tank, data=True) if d["name"] in pipes)[:1]
    ranked = nx.edge_betweenness_centrality(g, weight="length", normalized=True)
    order = sorted(((v, g.edges[e]["name"]) for e, v in ranked.items()), key=lambda t: (-t[0], t[1]))
    chosen: list[str] = []
    for name in dict.fromkeys(wanted + [nm for _, nm in order if nm in pipes]):
        if len(chosen) >= n:
            break
        if name in wanted or not any(o in chosen for o in near(name)):
            chosen.append(name)
    return chosen


def default_layout(wn: wntr.network.WaterNetworkModel, *, n_pressure: int = 14, n_flow: int = 6,
                   n_field: int = 9) -> SensorLayout:
    """The default sensor set of ``wn`` (about 50 sensors on the default network)."""
    g = _graph(wn)
    pumps = sorted(wn.pump_name_list)
    specs: list[SensorSpec] = []
    station_nodes: list[str] = []
    duty = pumps[0] if pumps else None
    if duty:
        p = wn.get_link(duty)
        station_nodes = [p.start_node_name, p.end_node_name]
        specs += [
            SensorSpec(f"pressure_{p.start_node_name}", "pressure", p.start_node_name, "pressure",
                       f"suction pressure of {duty} at {p.start_node_name}"),
            SensorSpec(f"pressure_{p.end_node_name}", "pressure", p.end_node_name, "pressure",
                       f"discharge pressure of {duty} at {p.end_node_name}"),
            SensorSpec(f"flow_{duty}", "flow", duty, "flow", f"flow through {duty}"),
            SensorSpec(f"current_{duty}", "current", duty, "current", f"motor current of {duty}"),
            SensorSpec(f"power_{duty}", "power", duty, "power", f"electrical power drawn by {duty}"),
            SensorSpec(f"speed_{duty}", "speed", duty, "speed", f"shaft speed of {duty}"),
            SensorSpec(f"bearing_temp_DE_{duty}", "temperature", duty, "bearing_de",
                       f"drive-end bearing temperature of {duty}"),
            SensorSpec(f"bearing_temp_NDE_{duty}", "temperature", duty, "bearing_nde",
                       f"non-drive-end bearing temperature of {duty}"),
            SensorSpec(f"vibration_{duty}", "vibration", duty, "vibration", f"vibration velocity RMS of {duty}"),
        ]
        for other in pumps[1:]:
            specs += [SensorSpec(f"flow_{other}", "flow", other, "flow", f"flow through {other}"),
                      SensorSpec(f"current_{other}", "current", other, "current", f"motor current of {other}")]
    sources = station_nodes or sorted(wn.reservoir_name_list) or sorted(wn.tank_name_list)
    candidates = sorted(j for j in wn.junction_name_list if j not in station_nodes)
    loggers = _farthest_points(g, candidates, sources, n_pressure)
    specs += [SensorSpec(f"pressure_{j}", "pressure", j, "pressure", f"pressure logger at {j}") for j in loggers]
    specs += [SensorSpec(f"flow_{k}", "flow", k, "flow", f"flow meter on {k}") for k in _flow_pipes(wn, g, n_flow)]
    specs += [SensorSpec(f"level_{t}", "level", t, "level", f"water level in {t}") for t in sorted(wn.tank_name_list)]
    for j in loggers[:n_field]:
        specs += [SensorSpec(f"battery_{j}", "battery", j, "battery", f"battery charge of the field logger at {j}"),
                  SensorSpec(f"signal_{j}", "signal", j, "signal", f"radio signal strength of the field logger at {j}")]
    return SensorLayout(specs=tuple(specs), duty_pump=duty)


def write_sensors_json(sensors: tuple[Sensor, ...], layout: SensorLayout, path: str | Path) -> None:
    """``sensors.json``: one object per column, in column order, with the readable name beside the id."""
    rows = []
    for meta, spec in zip(sensors, layout.specs):
        row = meta.to_dict()
        row["name"] = spec.name
        rows.append(row)
    Path(path).write_text(json.dumps({"sensors": rows}, indent=2) + "\n")
