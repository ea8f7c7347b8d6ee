"""A picture of the network: links (valves and normally-closed links marked), sources, sensors, fault places."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from pumpguard.data.schema import Sensor

_MARKERS = {"pressure": ("o", "#1f77b4"), "flow": ("s", "#2ca02c"), "level": ("^", "#17becf"),
            "battery": ("P", "#9467bd"), "station": ("*", "#ff7f0e")}


def plot_network(wn, sensors: tuple[Sensor, ...], events: pd.DataFrame | None, path: str | Path, *,
                 title: str | None = None) -> None:
    """Draw ``wn`` with its sensors and the fault locations of ``events`` to a PNG file.

    Examples
    --------
    >>> import tempfile, os
    >>> from pumpguard.network.topology import load_network
    >>> from pumpguard.network.sensors import default_layout
    >>> wn = load_network()
    >>> out = os.path.join(tempfile.mkdtemp(), "net.png")
    >>> plot_network(wn, default_layout(wn).metadata(wn), None, out)
    >>> os.path.getsize(out) > 10_000
    True
    """
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    import wntr

    fig = Figure(figsize=(12, 7), dpi=110)
    ax = fig.add_subplot(1, 1, 1)
    closed = wntr.network.LinkStatus.Closed
    coords = {n: wn.get_node(n).coordinates for n in wn.node_name_list}
    small = len(wn.node_name_list) <= 60
    for name, link in wn.links():
        (x1, y1), (x2, y2) = coords[link.start_node_name], coords[link.end_node_name]
        is_valve = name in wn.valve_name_list or (isinstance(link.tag, str) and link.tag.upper() == "VALVE")
        normally_closed = link.initial_status == closed and name not in wn.pump_name_list
        style = {"color": "#888888", "lw": 1.2 + 2.5 * float(getattr(link, "diameter", 0.2) or 0.2), "zorder": 1}
        if name in wn.pump_name_list:
            style.update(color="#ff7f0e", lw=3)
        if normally_closed:
            style.update(ls="--", color="#d62728")
        ax.plot([x1, x2], [y1, y2], **style)
        if is_valve:
            ax.plot([(x1 + x2) / 2], [(y1 + y2) / 2], marker="D", ms=7, mfc="white" if normally_closed else "black",
                    mec="black", zorder=3)
        if small and name in wn.pipe_name_list:
            ax.annotate(name, ((x1 + x2) / 2, (y1 + y2) / 2), fontsize=6, color="#555555", ha="center",
                        va="bottom")
    for name in wn.node_name_list:
        node = wn.get_node(name)
        x, y = coords[name]
        if name in wn.reservoir_name_list:
            ax.plot([x], [y], marker="s", ms=14, color="#08519c", zorder=4)
        elif name in wn.tank_name_list:
            ax.plot([x], [y], marker="h", ms=14, color="#3182bd", zorder=4)
        else:
            ax.plot([x], [y], marker=".", ms=4, color="#444444", zorder=2)
        if small:
            zone = f" [{node.tag}]" if isinstance(getattr(node, "tag", None), str) and node.tag.startswith("ZONE") else ""
            ax.annotate(f"{name}{zone}" if name.endswith("1") or not zone else name, (x, y), fontsize=7,
                        xytext=(4, -10), textcoords="offset points")
    station = {s.element for s in sensors if s.kind in ("current", "power", "speed", "temperature", "vibration")}
    shown = set()
    for s in sensors:
        if s.x is None or s.y is None:
            continue
        key = "station" if s.element in station else s.kind
        if key not in _MARKERS or (key, s.element) in shown:
            continue
        shown.add((key, s.element))
        marker, colour = _MARKERS[key]
        offset = {"pressure": (0, 0), "flow": (0, 40), "level": (60, 0), "battery": (-60, 40), "station": (0, 60)}[key]
        ax.plot([s.x + offset[0]], [s.y + offset[1]], marker=marker, ms=9 if key != "station" else 16,
                color=colour, mec="black", mew=0.5, zorder=5, alpha=0.9)
    if events is not None and len(events):
        places: dict[str, list[str]] = {}
        for _, ev in events.iterrows():
            el = ev["element"]
            if ev["category"] == "process" and el and (el in coords or el in wn.link_name_list):
                places.setdefault(el, []).append(f"{ev['event_id']} {ev['kind']}")
        for n, (el, labels) in enumerate(sorted(places.items())):
            if el in coords:
                x, y = coords[el]
            else:
                link = wn.get_link(el)
                (x1, y1), (x2, y2) = coords[link.start_node_name], coords[link.end_node_name]
                x, y = (x1 + x2) / 2, (y1 + y2) / 2
            ax.plot([x], [y], marker="X", ms=16, color="#d62728", mec="black", zorder=6)
            ax.annotate("\n".join(labels), (x, y), xytext=(8, 10 if n % 2 else -22), textcoords="offset points",
                        fontsize=7, color="#d62728", weight="bold", zorder=7)
    handles = [Line2D([], [], marker=m, color=c, ls="", ms=8, label=k) for k, (m, c) in _MARKERS.items()]
    handles += [Line2D([], [], marker="D", mfc="black", mec="black", ls="", label="valve (open)"),
                Line2D([], [], marker="D", mfc="white", mec="black", ls="", label="valve (normally closed)"),
                Line2D([], [], color="#d62728", ls="--", label="alternate route (closed)"),
                Line2D([], [], marker="X", color="#d62728", ls="", ms=10, label="fault location")]
    ax.legend(handles=handles, loc="upper left", fontsize=7, ncol=2, framealpha=0.8)
    ax.set_aspect("equal", adjustable="datalim")
    ax.set_xlabel("x (m)")
    ax.set_ylabel("y (m)")
    ax.set_title(title or f"network {getattr(wn, 'name', '')}: {len(sensors)} sensors")
    fig.tight_layout()
    fig.savefig(str(path))
