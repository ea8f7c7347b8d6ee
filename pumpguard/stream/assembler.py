"""Rows from per-node readings (pure: no sockets, no clock -- time is the readings' own).

The study's pressure nodes each send ``{"ts", "value", "unit"}`` on their own topic. A model scores
rows, so readings are put on the sampling grid of their asset: a reading belongs to the grid time
nearest its ``ts`` if it lies within ``tolerance`` of it. A row goes out as soon as every node of its
asset has reported; otherwise it waits until the readings' clock (the latest ``ts`` seen) has passed
its grid time by ``wait``, then goes out with the missing sensors empty (NaN: the detector's
missing-value rule applies) and a **data-quality event** -- a node that did not report is a fault of
the data path, not an anomaly of the process, and is reported as such.

Defaults, from the sampling: ``tolerance`` = a quarter of the period (node clocks and send jitter are
well under that; a reading further off is as far from one grid time as from the next half-way, so it
is refused rather than guessed), ``wait`` = one period (a row is held until the next row is due).

Events (``DataQualityEvent.kind``): ``missing`` (nodes absent when the row closed), ``late`` (a
reading for a row already sent: dropped, since the row was predicted), ``off_grid``, ``conflict`` (a
node sent two different values for one row; the first is kept), ``unit`` (a unit other than the
one configured: units are converted at the edge, not guessed here), ``unknown_node``.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Mapping

from pumpguard.errors import ConfigError
from pumpguard.stream.codec import NodeReading, TelemetryRow

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
#: Sent rows remembered to recognise a late reading (per assembler; bounded).
_EMITTED_MEMORY = 50_000


@dataclass(frozen=True)
class NodeBinding:
    """Which asset and sensor column a node fills, and the unit it must send (``""``: any)."""

    asset: str
    sensor: str
    unit: str = ""


@dataclass(frozen=True)
class DataQualityEvent:
    """A fault of the data path (not of the process)."""

    kind: str
    site: str
    asset: str
    ts: datetime
    nodes: tuple[str, ...]
    detail: str

    def to_payload(self) -> dict:
        return {"ts": self.ts, "kind": self.kind, "asset": self.asset, "nodes": list(self.nodes), "detail": self.detail}


@dataclass
class _OpenRow:
    values: dict[str, float] = field(default_factory=dict)
    nodes: set[str] = field(default_factory=set)


class RowAssembler:
    """Puts node readings together into :class:`TelemetryRow` s on a time grid.

    Examples
    --------
    >>> from datetime import datetime, timedelta, timezone
    >>> nodes = {"J1": NodeBinding("pump_a", "p_J1", "m"), "J2": NodeBinding("pump_a", "p_J2", "m")}
    >>> asm = RowAssembler(nodes, period=timedelta(seconds=60))
    >>> t = datetime(2024, 1, 1, tzinfo=timezone.utc)
    >>> asm.add(NodeReading("s", "J1", t + timedelta(seconds=2), 41.0, "m"))
    ([], [])
    >>> rows, events = asm.add(NodeReading("s", "J2", t - timedelta(seconds=1), 39.5, "m"))
    >>> rows[0].ts == t, rows[0].values
    (True, {'p_J1': 41.0, 'p_J2': 39.5})
    >>> asm.add(NodeReading("s", "J1", t + timedelta(seconds=60), 41.2, "m"))
    ([], [])
    >>> rows, events = asm.add(NodeReading("s", "J1", t + timedelta(seconds=181), 41.1, "m"))
    >>> [(r.values, e.kind, e.nodes) for r, e in zip(rows, events)]
    [({'p_J1': 41.2}, 'missing', ('J2',))]
    """

    def __init__(
        self,
        nodes: Mapping[str, NodeBinding],
        *,
        period: timedelta,
        tolerance: timedelta | None = None,
        wait: timedelta | None = None,
    ) -> None:
        if not isinstance(period, timedelta) or period <= timedelta(0):
            raise ConfigError(f"period={period!r}: expected a positive timedelta (the sampling interval)")
        tolerance = period / 4 if tolerance is None else tolerance
        wait = period if wait is None else wait
        if not timedelta(0) <= tolerance < period / 2:
            raise ConfigError(
                f"tolerance={tolerance}: expected at least 0 and under half the period ({period / 2}), "
                "or a reading could belong to two rows"
            )
        if wait < timedelta(0):
            raise ConfigError(f"wait={wait}: expected a duration of at least 0")
        if not nodes:
            raise ConfigError("no nodes: give a mapping node id -> NodeBinding(asset, sensor, unit)")
        self.nodes = dict(nodes)
        self.period, self.tolerance, self.wait = period, tolerance, wait
        self._expected: dict[str, set[str]] = {}
        for node_id, binding in self.nodes.items():
            self._expected.setdefault(binding.asset, set()).add(node_id)
        self._open: dict[tuple[str, str, datetime], _OpenRow] = {}
        self._closed_before: dict[tuple[str, str], datetime] = {}
        self._emitted: OrderedDict[tuple[str, str, datetime], None] = OrderedDict()
        self.watermark: datetime | None = None
        self.repeats = 0

    @property
    def open_rows(self) -> int:
        """Rows waiting for nodes."""
        return len(self._open)

    def slot(self, ts: datetime) -> datetime:
        """The grid time nearest ``ts``."""
        return _EPOCH + round((ts - _EPOCH) / self.period) * self.period

    def _event(self, kind, reading: NodeReading, asset: str, ts: datetime, detail: str) -> DataQualityEvent:
        return DataQualityEvent(kind, reading.site, asset, ts, (reading.node_id,), detail)

    def add(self, reading: NodeReading) -> tuple[list[TelemetryRow], list[DataQualityEvent]]:
        """Take one reading; return the rows completed or closed by it and the events it caused."""
        binding = self.nodes.get(reading.node_id)
        if binding is None:
            return [], [self._event("unknown_node", reading, "", reading.ts, f"node {reading.node_id!r} is not configured")]
        events: list[DataQualityEvent] = []
        if binding.unit and reading.unit and reading.unit != binding.unit:
            events.append(self._event("unit", reading, binding.asset, reading.ts,
                                      f"unit {reading.unit!r}, expected {binding.unit!r}: reading dropped"))
            return [], events
        slot = self.slot(reading.ts)
        off = abs(reading.ts - slot)
        key = (reading.site, binding.asset, slot)
        if off > self.tolerance:
            events.append(self._event("off_grid", reading, binding.asset, reading.ts,
                                      f"{off.total_seconds():g} s from the grid time {slot.isoformat()}, tolerance "
                                      f"{self.tolerance.total_seconds():g} s: reading dropped"))
        elif key in self._emitted or slot <= self._closed_before.get(key[:2], _EPOCH - self.period):
            late = (self.watermark - slot).total_seconds() if self.watermark else 0.0
            events.append(self._event("late", reading, binding.asset, slot,
                                      f"arrived when the row was already sent ({late:g} s after its time): dropped"))
        else:
            row = self._open.setdefault(key, _OpenRow())
            if reading.node_id in row.nodes:
                first = row.values[binding.sensor]
                if first == reading.value or (math.isnan(first) and math.isnan(reading.value)):
                    self.repeats += 1  # a QoS 1 redelivery: harmless
                else:
                    events.append(self._event("conflict", reading, binding.asset, slot,
                                              f"second value {reading.value!r} after {first!r}: first kept"))
            else:
                row.nodes.add(reading.node_id)
                row.values[binding.sensor] = reading.value
        rows: list[TelemetryRow] = []
        if key in self._open and self._open[key].nodes >= self._expected[binding.asset]:
            rows.append(self._send(key))
        if self.watermark is None or reading.ts > self.watermark:
            self.watermark = reading.ts
        closed, missing = self.advance(self.watermark)
        return rows + closed, events + missing

    def _send(self, key: tuple[str, str, datetime]) -> TelemetryRow:
        row = self._open.pop(key)
        self._emitted[key] = None
        if len(self._emitted) > _EMITTED_MEMORY:
            self._emitted.popitem(last=False)
        site, asset, slot = key
        return TelemetryRow(site=site, asset=asset, ts=slot, values=row.values)

    def advance(self, watermark: datetime) -> tuple[list[TelemetryRow], list[DataQualityEvent]]:
        """Close every row whose grid time is more than ``wait`` before ``watermark``.

        The service calls this with the wall clock as well, so rows still close when every node of
        an asset has gone silent.
        """
        due = [key for key in self._open if watermark - key[2] > self.wait]
        due.sort(key=lambda k: k[2])
        rows, events = [], []
        for key in due:
            site, asset, slot = key
            missing = tuple(sorted(self._expected[asset] - self._open[key].nodes))
            rows.append(self._send(key))
            if slot > self._closed_before.get((site, asset), _EPOCH - self.period):
                self._closed_before[(site, asset)] = slot
            events.append(DataQualityEvent("missing", site, asset, slot, missing,
                                           f"{len(missing)} of {len(self._expected[asset])} nodes did not report "
                                           f"within {self.wait.total_seconds():g} s"))
        return rows, events

    def flush(self) -> tuple[list[TelemetryRow], list[DataQualityEvent]]:
        """Close every open row (at shutdown)."""
        if not self._open:
            return [], []
        latest = max(key[2] for key in self._open)
        return self.advance(latest + self.wait + self.period)


def assembler_from_config(config: object, *, where: str = "node map") -> RowAssembler:
    """A :class:`RowAssembler` from the JSON of ``pumpguard serve --nodes FILE``.

    Examples
    --------
    >>> asm = assembler_from_config({"period_s": 1, "nodes": {"J1": {"asset": "pump_a", "sensor": "p_J1", "unit": "m"}}})
    >>> asm.period.total_seconds(), asm.tolerance.total_seconds(), asm.nodes["J1"].sensor
    (1.0, 0.25, 'p_J1')
    """
    example = '{"period_s": 60, "nodes": {"J12": {"asset": "pump_a", "sensor": "p_J12", "unit": "m"}}}'
    if not isinstance(config, dict) or not isinstance(config.get("nodes"), dict):
        raise ConfigError(f"{where}: expected an object with \"nodes\", e.g. {example}")

    def seconds(key: str, required: bool = False) -> timedelta | None:
        value = config.get(key)
        if value is None:
            if required:
                raise ConfigError(f"{where}: {key!r} (the sampling period in seconds) is missing, e.g. {example}")
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{where}: {key!r} is {value!r}, expected a number of seconds")
        return timedelta(seconds=float(value))

    nodes = {}
    for node_id, entry in config["nodes"].items():
        if not isinstance(entry, dict) or not isinstance(entry.get("asset"), str) or not isinstance(entry.get("sensor"), str):
            raise ConfigError(f"{where}: node {node_id!r} needs \"asset\" and \"sensor\" (text), found {entry!r}")
        nodes[str(node_id)] = NodeBinding(entry["asset"], entry["sensor"], str(entry.get("unit", "")))
    return RowAssembler(nodes, period=seconds("period_s", required=True), tolerance=seconds("tolerance_s"), wait=seconds("wait_s"))
