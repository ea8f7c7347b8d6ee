"""The network as the dashboard draws it: nodes, links, zones and sensors with coordinates (JSON).

Computed once per app from :func:`pumpguard.network.topology.load_network` and the default sensor
layout (both the ``sensor_NN`` ids the simulator writes and the readable names, so a model trained
on either naming finds its sensors on the map).
"""

from __future__ import annotations

from typing import Sequence

from pumpguard.data.schema import Sensor


def network_map(network: str = "pumpguard", sensors: Sequence[Sensor] | None = None) -> dict:
    """``{"name", "nodes", "links", "zones", "sensors", "bounds"}`` of a network for the SVG map.

    Examples
    --------
    >>> m = network_map()
    >>> sorted({n["kind"] for n in m["nodes"]}), sorted({l["kind"] for l in m["links"]})
    (['junction', 'reservoir', 'tank'], ['pipe', 'pump', 'valve'])
    >>> [l["id"] for l in m["links"] if l["normally_closed"]]
    ['V-B1']
    >>> s = next(s for s in m["sensors"] if s["id"] == "sensor_00"); (s["alias"], s["element"], s["zone"])
    ('pressure_J-SUC', 'J-SUC', 'STATION')
    """
    import wntr

    from pumpguard.network.sensors import default_layout
    from pumpguard.network.topology import load_network, zone_of

    wn = load_network(network)
    nodes = []
    for name in wn.node_name_list:
        node = wn.get_node(name)
        if node.coordinates is None:
            continue
        kind = "tank" if name in wn.tank_name_list else "reservoir" if name in wn.reservoir_name_list else "junction"
        x, y = node.coordinates
        nodes.append({"id": name, "kind": kind, "x": float(x), "y": float(y), "zone": zone_of(wn, name)})
    closed = wntr.network.LinkStatus.Closed
    links = []
    for name, link in wn.links():
        kind = "pump" if name in wn.pump_name_list else "valve" if name in wn.valve_name_list else "pipe"
        if kind == "pipe" and isinstance(link.tag, str) and link.tag.upper() == "VALVE":
            kind = "valve"
        links.append({"id": name, "kind": kind, "from": link.start_node_name, "to": link.end_node_name,
                      "normally_closed": bool(link.initial_status == closed and kind != "pump"),
                      "zone": zone_of(wn, link.start_node_name)})
    if sensors is None:
        layout = default_layout(wn)
        plain, readable = layout.metadata(wn), layout.metadata(wn, readable=True)
        pairs = [(s, r.id) for s, r in zip(plain, readable)]
    else:
        pairs = [(s, None) for s in sensors]
    out_sensors = [{"id": s.id, "alias": alias, "kind": s.kind, "unit": s.unit, "element": s.element,
                    "x": s.x, "y": s.y, "zone": s.zone, "description": s.description}
                   for s, alias in pairs if s.x is not None and s.y is not None]
    xs, ys = [n["x"] for n in nodes], [n["y"] for n in nodes]
    zones = sorted({n["zone"] for n in nodes if n["zone"]})
    return {"name": wn.name, "nodes": nodes, "links": links, "zones": zones, "sensors": out_sensors,
            "bounds": {"xmin": min(xs), "xmax": max(xs), "ymin": min(ys), "ymax": max(ys)} if nodes else None}
