"""The default sensor layout: about 50 sensors in a stable order, named both ways, with metadata."""

import json

from pumpguard.network.sensors import default_layout, write_sensors_json
from pumpguard.network.topology import load_network


def test_default_layout_on_both_networks():
    for name, low, high in (("pumpguard", 45, 55), ("Net3", 45, 60)):
        wn = load_network(name)
        layout = default_layout(wn)
        kinds = {s.kind for s in layout.specs}
        assert low <= len(layout.specs) <= high, name
        assert {"pressure", "flow", "level", "current", "power", "speed", "temperature", "vibration",
                "battery", "signal"} <= kinds
        assert len(set(layout.ids(readable=True))) == len(layout.specs)
        assert default_layout(wn) == layout  # deterministic


def test_alternate_route_and_tank_are_metered():
    layout = default_layout(load_network())
    flows = [s.element for s in layout.specs if s.kind == "flow"]
    assert "P-B1" in flows and "P-TANK" in flows and "PUMP-1" in flows


def test_sensors_json(tmp_path):
    wn = load_network()
    layout = default_layout(wn)
    meta = layout.metadata(wn)
    path = tmp_path / "sensors.json"
    write_sensors_json(meta, layout, path)
    rows = json.loads(path.read_text())["sensors"]
    assert [r["id"] for r in rows] == [f"sensor_{i:02d}" for i in range(len(layout.specs))]
    first = rows[0]
    assert first["name"] == "pressure_J-SUC" and first["unit"] == "m" and first["zone"] == "STATION"
    assert {"id", "kind", "unit", "element", "x", "y", "zone", "elevation", "description", "name"} <= set(first)
    loggers = [r for r in rows if r["kind"] == "pressure" and r["zone"] and r["zone"].startswith("ZONE-")]
    assert len({r["zone"] for r in loggers}) == 3  # every demand zone has a logger
