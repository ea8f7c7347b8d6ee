"""Faults to inject, with their ground truth.

Grammar of a fault spec (``--faults``)::

    SPEC   := FAULT (";" FAULT)*  |  "default"  |  "none"  |  PATH.json
    FAULT  := KIND ["@" LOCATION] [":" KEY "=" VALUE ("," KEY "=" VALUE)*]
    VALUE  := a number, or a duration: (NUMBER UNIT)+ with UNIT one of s, min, h, d, w (90s, 6h, 2.5d, 1d6h)

``start`` (required) counts from the start of the run. Keys, defaults and units by kind:

================  ==========================  ===========================================================
kind              location                    keys (default)
================  ==========================  ===========================================================
leak              pipe or junction            severity: emitter coefficient at full size, L/s per m^0.5 (1.0);
                                              growth: time to reach full size (2d); duration: until repaired (to the end)
burst             pipe or junction            severity: emitter coefficient, L/s per m^0.5 (6.0); duration (12h)
blockage          valve or pipe               severity: minor-loss coefficient added (400); duration (3d)
pump_bearing      pump (the duty pump)        duration: wear period before the bearing fails (4d);
                                              repair: time to repair after the failure (1d); severity: wear scale (1.0)
pump_trip         pump (the duty pump)        duration: until restarted (2h)
power_loss        (none: every pump)          duration (3h)
sensor_stuck      sensor id or readable name  duration (6h)
sensor_drift      sensor                      severity: drift per day as a fraction of the sensor's median before the
                                              start, negative = downwards (0.02); duration (7d)
sensor_spike      sensor                      severity: height in standard deviations of the sensor before the start,
                                              negative = downwards (8); duration (3min)
sensor_dropout    sensor                      duration (1d)
================  ==========================  ===========================================================

A JSON file holds a list of objects with the same keys plus ``kind`` and ``at`` (the location), e.g.
``[{"kind": "leak", "at": "P-N1", "start": "2d", "growth": "1d"}]``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd

from pumpguard.errors import ConfigError

PROCESS_KINDS = ("leak", "burst", "blockage", "pump_bearing", "pump_trip", "power_loss")
SENSOR_KINDS = ("sensor_stuck", "sensor_drift", "sensor_spike", "sensor_dropout")
KINDS = PROCESS_KINDS + SENSOR_KINDS

_DEFAULTS: dict[str, dict[str, object]] = {
    "leak": {"severity": 1.0, "growth": "2d", "duration": None},
    "burst": {"severity": 6.0, "duration": "12h"},
    "blockage": {"severity": 400.0, "duration": "3d"},
    "pump_bearing": {"severity": 1.0, "duration": "4d", "repair": "1d"},
    "pump_trip": {"severity": 1.0, "duration": "2h"},
    "power_loss": {"severity": 1.0, "duration": "3h"},
    "sensor_stuck": {"severity": 1.0, "duration": "6h"},
    "sensor_drift": {"severity": 0.02, "duration": "7d"},
    "sensor_spike": {"severity": 8.0, "duration": "3min"},
    "sensor_dropout": {"severity": 1.0, "duration": "1d"},
}
SEVERITY_UNITS = {"leak": "L/s/m^0.5", "burst": "L/s/m^0.5", "blockage": "minor-loss K", "pump_bearing": "wear scale",
                  "pump_trip": "", "power_loss": "", "sensor_stuck": "", "sensor_drift": "median/day",
                  "sensor_spike": "std", "sensor_dropout": ""}
_UNIT_SECONDS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PART = re.compile(r"\s*([0-9]*\.?[0-9]+)\s*([a-z]+)\s*")


@dataclass(frozen=True)
class Fault:
    """One fault: what, where, when, how big.

    ``end`` is when the plant is back to its normal configuration (repair done); for a bearing it is
    ``start + duration + repair``. ``None`` means it lasts to the end of the run.

    Examples
    --------
    >>> f = parse_faults("leak@P-N1:start=2d,growth=1d,severity=0.5")[0]
    >>> f.kind, f.location, f.start, f.end, f.severity
    ('leak', 'P-N1', Timedelta('2 days 00:00:00'), None, 0.5)
    >>> round(f.size_at(pd.Timedelta(hours=60)), 2)
    0.25
    """

    kind: str
    location: str | None
    start: pd.Timedelta
    duration: pd.Timedelta | None
    severity: float
    growth: pd.Timedelta | None = None
    repair: pd.Timedelta | None = None

    @property
    def end(self) -> pd.Timedelta | None:
        if self.duration is None:
            return None
        return self.start + self.duration + (self.repair or pd.Timedelta(0))

    @property
    def failure(self) -> pd.Timedelta | None:
        """pump_bearing: when the bearing fails and the pump stops."""
        return self.start + self.duration if self.kind == "pump_bearing" and self.duration is not None else None

    def active(self, t: pd.Timedelta) -> bool:
        return t >= self.start and (self.end is None or t < self.end)

    def size_at(self, t: pd.Timedelta) -> float:
        """Leak/burst emitter coefficient (or blockage K) in effect at ``t``; 0 outside the fault."""
        if not self.active(t):
            return 0.0
        if self.kind == "leak" and self.growth is not None and self.growth > pd.Timedelta(0):
            return self.severity * min(1.0, (t - self.start) / self.growth)
        return self.severity

    def to_text(self) -> str:
        parts = [f"start={_fmt(self.start)}"]
        for key in ("duration", "growth", "repair"):
            value = getattr(self, key)
            if value is not None:
                parts.append(f"{key}={_fmt(value)}")
        parts.append(f"severity={self.severity:g}")
        at = f"@{self.location}" if self.location else ""
        return f"{self.kind}{at}:{','.join(parts)}"


def _fmt(td: pd.Timedelta) -> str:
    seconds = int(td.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds % size == 0 and seconds:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def parse_duration(text: object, *, what: str) -> pd.Timedelta:
    """``"2d"``, ``"6h"``, ``"90min"``, ``"30s"``, ``"1w"``, ``"1d6h"`` -> Timedelta."""
    if isinstance(text, pd.Timedelta):
        return text
    s = str(text).lower()
    parts, pos = [], 0
    for m in _PART.finditer(s):
        if m.start() != pos or m.group(2) not in _UNIT_SECONDS:
            break
        parts.append(float(m.group(1)) * _UNIT_SECONDS[m.group(2)])
        pos = m.end()
    if not parts or pos != len(s):
        raise ConfigError(f"{what}: {text!r} is not a duration; expected numbers with units "
                          f"(s, min, h, d, w), e.g. 6h, 2.5d or 1d6h")
    return pd.Timedelta(seconds=sum(parts))


def _build(kind: str, location: str | None, params: dict[str, object], where: str) -> Fault:
    if kind not in KINDS:
        raise ConfigError(f"{where}: fault kind {kind!r} is not known; expected one of {', '.join(KINDS)}")
    allowed = {"start"} | set(_DEFAULTS[kind])
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise ConfigError(f"{where}: key {unknown[0]!r} does not apply to {kind}; expected keys: "
                          f"{', '.join(sorted(allowed))}")
    if "start" not in params:
        raise ConfigError(f"{where}: {kind} needs a start, e.g. {kind}{'@' + location if location else ''}:start=2d")
    if kind in ("leak", "burst", "blockage") or kind in SENSOR_KINDS:
        if not location:
            example = "sensor_03" if kind in SENSOR_KINDS else "P-N1"
            raise ConfigError(f"{where}: {kind} needs a location, e.g. {kind}@{example}:start=1d")
    if kind == "power_loss" and location:
        raise ConfigError(f"{where}: power_loss takes every pump off, it has no location; drop '@{location}'")
    values = {**_DEFAULTS[kind], **params}
    start = parse_duration(values["start"], what=f"{where} start")
    durations = {}
    for key in ("duration", "growth", "repair"):
        if key in values:
            durations[key] = None if values[key] is None else parse_duration(values[key], what=f"{where} {key}")
            if durations[key] is not None and durations[key] <= pd.Timedelta(0):
                raise ConfigError(f"{where}: {key} must be longer than zero, got {values[key]!r}")
    try:
        severity = float(values["severity"])  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ConfigError(f"{where}: severity {values['severity']!r} is not a number") from None
    if kind in ("sensor_drift", "sensor_spike"):
        if severity == 0 or severity != severity:
            raise ConfigError(f"{where}: severity must be non-zero (negative drifts or spikes go down), got {severity:g}")
    elif not severity > 0:
        raise ConfigError(f"{where}: severity must be positive, got {severity:g}")
    return Fault(kind, location or None, start, durations.get("duration"), severity,
                 durations.get("growth"), durations.get("repair"))


def parse_faults(spec: str | Path | None) -> list[Fault]:
    """Parse a spec string or a JSON file into faults, sorted by start.

    ``None``, ``""`` and ``"none"`` mean no faults. ``"default"`` is resolved by
    :func:`default_faults`, which needs the network; here it raises.
    """
    if spec is None or str(spec).strip().lower() in ("", "none"):
        return []
    text = str(spec).strip()
    if text == "default":
        raise ConfigError("the 'default' fault set depends on the network and the run length; "
                          "use default_faults(network_name, days)")
    if text.lower().endswith(".json"):
        return _parse_json(Path(text))
    faults = []
    for n, item in enumerate(t for t in text.split(";") if t.strip()):
        where = f"fault {n + 1} ({item.strip()!r})"
        head, _, tail = item.strip().partition(":")
        kind, _, location = head.strip().partition("@")
        params: dict[str, object] = {}
        for pair in (p for p in tail.split(",") if p.strip()):
            key, eq, value = pair.partition("=")
            if not eq or not key.strip() or not value.strip():
                raise ConfigError(f"{where}: {pair.strip()!r} is not key=value; write e.g. start=2d,duration=6h")
            params[key.strip().lower()] = value.strip()
        faults.append(_build(kind.strip().lower(), location.strip() or None, params, where))
    return sorted(faults, key=lambda f: (f.start, f.kind))


def _parse_json(path: Path) -> list[Fault]:
    if not path.is_file():
        raise ConfigError(f"fault file {str(path)!r} does not exist")
    try:
        items = json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise ConfigError(f"fault file {str(path)!r} line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise ConfigError(f"fault file {str(path)!r}: expected a JSON list of objects with 'kind', 'at', 'start'")
    faults = []
    for n, item in enumerate(items):
        params = {k.lower(): v for k, v in item.items() if k not in ("kind", "at")}
        faults.append(_build(str(item.get("kind", "")).lower(), item.get("at"), params,
                             f"{path.name} item {n + 1}"))
    return sorted(faults, key=lambda f: (f.start, f.kind))


#: The default scenario of the pumpguard network: (fraction of the run, fault text without start).
_PUMPGUARD_DEFAULT = (
    (0.04, "sensor_stuck@pressure_J-N3:duration=12h"),
    (0.08, "leak@P-S2:growth=3d,duration=8d,severity=1.5"),
    (0.17, "pump_bearing:duration=4d,repair=1d"),
    (0.30, "burst@P-M1:duration=18h"),
    (0.37, "sensor_drift@flow_P-M2:duration=10d"),
    (0.43, "blockage@V-C1:duration=5d"),
    (0.50, "pump_trip:duration=3h"),
    (0.55, "sensor_spike@pressure_J-C3"),
    (0.62, "power_loss:duration=2h"),
    (0.70, "leak@P-N2:growth=2d,duration=6d,severity=1.2"),
    (0.79, "pump_bearing:duration=5d,repair=2d"),
    (0.90, "burst@J-S3:duration=12h"),
    (0.95, "sensor_dropout@flow_P-TANK:duration=1d"),
)


def default_faults(wn, layout, days: float) -> list[Fault]:
    """The default scenario, spread over the run (positions scale with ``days``, durations do not).

    On the pumpguard network the locations are chosen by hand (one of each kind, bursts on the main
    so the alternate route is used); on any other network they are picked from its graph: leaks and
    bursts on the most central pipes, a blockage on the first valve (or pipe), sensor faults on the
    first pressure and flow sensors.
    """
    if getattr(wn, "name", "") == "pumpguard":
        table = _PUMPGUARD_DEFAULT
    else:
        table = _generic_default(wn, layout)
    out = []
    for frac, text in table:
        start = pd.Timedelta(seconds=round(frac * days * 86400 / 60) * 60)
        kind, _, rest = text.partition(":")
        out.append(parse_faults(f"{kind}:start={int(start.total_seconds())}s{',' + rest if rest else ''}")[0])
    end = pd.Timedelta(days=days)
    return [f for f in out if f.start < end]


def _generic_default(wn, layout) -> tuple[tuple[float, str], ...]:
    import networkx as nx

    g = nx.Graph()
    for name, link in wn.links():
        if name in wn.pipe_name_list:
            g.add_edge(link.start_node_name, link.end_node_name, name=name, length=float(link.length))
    ranked = nx.edge_betweenness_centrality(g, weight="length")
    pipes = [g.edges[e]["name"] for e, _ in sorted(ranked.items(), key=lambda t: (-t[1], g.edges[t[0]]["name"]))]
    valves = sorted(wn.valve_name_list) or pipes[5:6]
    pressures = [s.name for s in layout.specs if s.kind == "pressure"]
    flows = [s.name for s in layout.specs if s.kind == "flow"] or pressures
    table = (
        (0.05, f"sensor_stuck@{pressures[-1]}:duration=12h"),
        (0.10, f"leak@{pipes[3]}:growth=3d,duration=8d,severity=1.5"),
        (0.20, "pump_bearing:duration=4d,repair=1d"),
        (0.32, f"burst@{pipes[1]}:duration=18h"),
        (0.40, f"sensor_drift@{flows[-1]}:duration=10d"),
        (0.47, f"blockage@{valves[0]}:duration=5d"),
        (0.55, "pump_trip:duration=3h"),
        (0.65, "power_loss:duration=2h"),
        (0.75, f"leak@{pipes[7]}:growth=2d,duration=6d,severity=1.2"),
        (0.85, "pump_bearing:duration=5d,repair=2d"),
        (0.93, f"sensor_dropout@{pressures[0]}:duration=1d"),
    )
    pumped = ("pump_bearing", "pump_trip", "power_loss")
    return tuple(row for row in table if layout.duty_pump or not row[1].startswith(pumped))


def resolve_faults(spec, wn, layout, days: float) -> list[Fault]:
    """Parse ``spec`` (or take the default set) and check every location exists in ``wn``/``layout``."""
    faults = default_faults(wn, layout, days) if str(spec).strip() == "default" else parse_faults(spec)
    checked = []
    for f in faults:
        where = f"fault {f.to_text()!r}"
        if f.kind in ("leak", "burst"):
            if f.location not in wn.pipe_name_list and f.location not in wn.junction_name_list:
                raise ConfigError(f"{where}: {f.location!r} is not a pipe or junction of network {wn.name!r}")
        elif f.kind == "blockage":
            if f.location not in wn.valve_name_list and f.location not in wn.pipe_name_list:
                raise ConfigError(f"{where}: {f.location!r} is not a valve or pipe of network {wn.name!r}")
        elif f.kind in ("pump_bearing", "pump_trip"):
            pump = f.location or layout.duty_pump
            if pump is None or pump not in wn.pump_name_list:
                raise ConfigError(f"{where}: {pump!r} is not a pump of network {wn.name!r}; "
                                  f"pumps: {sorted(wn.pump_name_list)}")
            if pump != layout.duty_pump:
                raise ConfigError(f"{where}: only the monitored duty pump {layout.duty_pump!r} carries the "
                                  "station sensors; faults on other pumps are not modelled")
            f = replace(f, location=pump)
        elif f.kind in SENSOR_KINDS:
            try:
                layout.resolve(f.location)
            except KeyError:
                raise ConfigError(f"{where}: sensor {f.location!r} is not in the layout; use an id like "
                                  f"sensor_03 or a readable name like {layout.specs[0].name}") from None
        if f.start >= pd.Timedelta(days=days):
            raise ConfigError(f"{where}: starts at {f.start}, after the end of the {days:g}-day run")
        checked.append(f)
    return checked


def events_frame(faults: list[Fault], t0: pd.Timestamp, days: float, *, elements: dict[int, str] | None = None,
                 ends: dict[int, pd.Timedelta] | None = None) -> pd.DataFrame:
    """``events.csv``: one row per fault with absolute UTC times (``end`` empty when it lasts to the end).

    ``ends`` overrides a fault's end (a leak repaired early because the controller isolated it).
    """
    rows = []
    run_end = t0 + pd.Timedelta(days=days)
    for i, f in enumerate(faults):
        end_offset = (ends or {}).get(i, f.end)
        end = None if end_offset is None else min(t0 + end_offset, run_end)
        rows.append({
            "event_id": f"F-{i + 1:02d}", "kind": f.kind,
            "category": "sensor" if f.kind in SENSOR_KINDS else "process",
            "location": f.location or "", "element": (elements or {}).get(i, f.location or ""),
            "start": t0 + f.start, "end": end,
            "failure": t0 + f.failure if f.failure is not None else None,
            "severity": f.severity, "severity_unit": SEVERITY_UNITS[f.kind], "spec": f.to_text(),
        })
    cols = ["event_id", "kind", "category", "location", "element", "start", "end", "failure", "severity",
            "severity_unit", "spec"]
    return pd.DataFrame(rows, columns=cols)
