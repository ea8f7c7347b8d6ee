"""Payloads of pumpguard on MQTT, version 1 (pure: no sockets, no clock).

The topic names are :mod:`pumpguard.stream.topics` (``Topics`` stays importable from here).

A batch is an object ``{"rows": [...]}`` rather than a bare list so a later version can add fields
(a sequence number, a source) beside the rows without a second shape. Timestamps are ISO-8601 with a
UTC offset (``2018-04-01T00:00:00Z``); a time without an offset is refused because a service left
running for months must not guess a time zone. A sensor value is a number or ``null`` (no reading).

Decoding never raises: bad input comes back as a :class:`Rejected` value that the service publishes
on the errors topic with the original payload, so rejected data is never dropped silently.

A clean message (every row well formed, every sensor the model's) is decoded by one typed
``msgspec`` decode straight into columns (:mod:`pumpguard.stream.batch_decode`) and comes back as a
:class:`RowBlock`; a message that fails any check is parsed with ``orjson`` and checked row by row,
so the reason names the row. ``orjson`` also writes every payload we send (on a 1.3 KB row of 52
sensors it parsed ~170,000 rows/s here against ~29,000 for the standard library's ``json``).
"""

from __future__ import annotations

import base64
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Sequence

import numpy as np
import orjson

from pumpguard.stream.batch_decode import TypedMessages
from pumpguard.stream.topics import DEFAULT_ROOT, VERSION, Topics  # noqa: F401  (re-exported: imported from here)

#: 1 MiB: a 52-sensor row is about 1.5 KB, so a batch of ~600 rows fits; match Mosquitto's
#: ``message_size_limit`` in deploy/mosquitto so the broker refuses what the service would.
DEFAULT_MAX_PAYLOAD_BYTES = 1 << 20
#: How much of a rejected payload is echoed on the errors topic (the error must stay small itself).
ERROR_PAYLOAD_ECHO_BYTES = 64 * 1024

_FLOATS = frozenset((float, int))
_DUMPS_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC


@dataclass(frozen=True)
class TelemetryRow:
    """One row of readings of one asset at one time (``values``: sensor id -> float, NaN = no reading)."""

    site: str
    asset: str
    ts: datetime
    values: dict[str, float]


@dataclass(frozen=True)
class NodeReading:
    """One reading from one network node (a pressure node of the study, for instance)."""

    site: str
    node_id: str
    ts: datetime
    value: float
    unit: str = ""


@dataclass(frozen=True)
class Rejected:
    """A payload (or one row of a batch) that could not be used, and why."""

    reason: str
    topic: str
    payload: bytes

    def to_error(self, *, received_at: datetime) -> bytes:
        """The errors-topic payload: the reason and (up to 64 KiB of) the original payload.

        Examples
        --------
        >>> r = Rejected("not JSON", "pumpguard/v1/s/p/telemetry", b"hello")
        >>> sorted(orjson.loads(r.to_error(received_at=parse_ts("2024-01-01T00:00:00Z"))))
        ['payload', 'payload_bytes', 'payload_encoding', 'reason', 'topic', 'truncated', 'ts']
        """
        echo = self.payload[:ERROR_PAYLOAD_ECHO_BYTES]
        try:
            text, encoding = echo.decode("utf-8"), "utf-8"
        except UnicodeDecodeError:
            text, encoding = base64.b64encode(echo).decode("ascii"), "base64"
        return orjson.dumps(
            {
                "ts": received_at,
                "reason": self.reason,
                "topic": self.topic,
                "payload": text,
                "payload_encoding": encoding,
                "payload_bytes": len(self.payload),
                "truncated": len(echo) < len(self.payload),
            },
            option=_DUMPS_OPTIONS,
        )


@dataclass(frozen=True)
class RowBlock:
    """The rows of one clean message of one asset, in columns (the fast path's result).

    ``matrix`` is rows x ``columns`` (the model's sensors), float64, NaN where a reading is null or
    absent. :meth:`rows` gives the same rows as :class:`TelemetryRow` objects when they are needed
    (for the archive, say); the scorer takes the block as it is.
    """

    site: str
    asset: str
    times: list[datetime]
    matrix: np.ndarray
    columns: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.times)

    def rows(self) -> list[TelemetryRow]:
        """One :class:`TelemetryRow` a row; its values name every column (NaN = no reading)."""
        columns, site, asset = self.columns, self.site, self.asset
        return [TelemetryRow(site, asset, ts, dict(zip(columns, line))) for ts, line in zip(self.times, self.matrix.tolist())]


class Decoded:
    """What one telemetry message gave: the good rows and the rejected ones (a batch may have both).

    A clean message decoded on the fast path comes as a :class:`RowBlock` (``block``); ``rows``
    then builds its :class:`TelemetryRow` objects on first use.
    """

    __slots__ = ("rejected", "batch", "block", "_rows")

    def __init__(self, rows: list[TelemetryRow] | None = None, rejected: list[Rejected] | None = None,
                 batch: bool = False, block: RowBlock | None = None) -> None:
        self._rows = rows
        self.rejected = rejected if rejected is not None else []
        self.batch = batch
        self.block = block

    @property
    def rows(self) -> list[TelemetryRow]:
        if self._rows is None:
            self._rows = self.block.rows() if self.block is not None else []
        return self._rows

    @property
    def matrix(self) -> np.ndarray | None:
        """A clean message's values as rows x :attr:`TelemetryCodec.columns` (float64, NaN = no reading)."""
        return self.block.matrix if self.block is not None else None

    def __repr__(self) -> str:
        return f"Decoded(rows={len(self.rows)}, rejected={len(self.rejected)}, batch={self.batch}, block={self.block is not None})"


def parse_ts(text: object) -> datetime | str:
    """A UTC datetime from ISO-8601 text, or the reason it is refused (a str).

    Examples
    --------
    >>> parse_ts("2018-04-01T00:01:00Z")
    datetime.datetime(2018, 4, 1, 0, 1, tzinfo=datetime.timezone.utc)
    >>> parse_ts("2018-04-01 00:01:00")
    "bad ts '2018-04-01 00:01:00': no UTC offset, expected e.g. '2018-04-01T00:01:00Z'"
    """
    if not isinstance(text, str):
        return f"bad ts {text!r}: expected ISO-8601 text such as '2018-04-01T00:01:00Z'"
    try:
        ts = datetime.fromisoformat(text)
    except ValueError:
        return f"bad ts {text!r}: not ISO-8601, expected e.g. '2018-04-01T00:01:00Z'"
    if ts.tzinfo is None:
        return f"bad ts {text!r}: no UTC offset, expected e.g. '2018-04-01T00:01:00Z'"
    return ts.astimezone(timezone.utc)


def _number(value: object) -> float | None:
    """A finite float, NaN for null, None when the value is not a number."""
    if value is None:
        return math.nan
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


class TelemetryCodec:
    """Decodes telemetry and node payloads; encodes telemetry (for replay) and predictions.

    ``sensors``: the sensor ids a row may carry (the model's); None accepts any name.

    Examples
    --------
    >>> codec = TelemetryCodec(sensors=["sensor_00", "sensor_01"])
    >>> topic = "pumpguard/v1/plant1/pump_a/telemetry"
    >>> d = codec.decode_telemetry(topic, b'{"ts": "2018-04-01T00:00:00Z", "values": {"sensor_00": 2.46}}')
    >>> d.rows[0].asset, d.rows[0].values   # a clean message names every model sensor, NaN = no reading
    ('pump_a', {'sensor_00': 2.46, 'sensor_01': nan})
    >>> codec.decode_telemetry(topic, b'{"ts": "2018-04-01T00:00:00Z", "values": {"sensor_99": 1}}').rejected[0].reason
    "unknown sensor 'sensor_99': this model reads sensor_00, sensor_01"
    """

    def __init__(
        self,
        *,
        sensors: Iterable[str] | None = None,
        topics: Topics | None = None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> None:
        sensors = None if sensors is None else list(dict.fromkeys(sensors))
        self.sensors = None if sensors is None else frozenset(sensors)
        self._sensor_list = None if sensors is None else ", ".join(sorted(self.sensors))
        self._fast = TypedMessages(sensors) if sensors else None
        #: the column order of :attr:`Decoded.matrix` (the order the sensors were given in)
        self.columns = None if self._fast is None else self._fast.sensors
        self.topics = topics or Topics()
        self.max_payload_bytes = int(max_payload_bytes)

    # -- decoding ------------------------------------------------------------------------------

    def _load(self, topic: str, payload: bytes) -> object | Rejected:
        if len(payload) > self.max_payload_bytes:
            return Rejected(
                f"payload of {len(payload)} bytes is over the limit of {self.max_payload_bytes} bytes: "
                "send fewer rows per batch",
                topic,
                payload,
            )
        try:
            return orjson.loads(payload)
        except orjson.JSONDecodeError as exc:
            return Rejected(f"not JSON: {exc}", topic, payload)

    def _row(self, site: str, asset: str, obj: object) -> TelemetryRow | str:
        """The row, or the reason it is refused."""
        if not isinstance(obj, dict):
            return f"expected an object {{\"ts\", \"values\"}}, found {type(obj).__name__}"
        if "ts" not in obj:
            return "missing ts: every row needs \"ts\" (ISO-8601 UTC)"
        ts = parse_ts(obj["ts"])
        if isinstance(ts, str):
            return ts
        values = obj.get("values")
        if not isinstance(values, dict):
            return "missing values: expected \"values\": {sensor id: number}"
        if (self.sensors is None or values.keys() <= self.sensors) and set(map(type, values.values())) <= _FLOATS:
            # fast path: every name known and every value a JSON number (orjson never yields inf/nan)
            return TelemetryRow(site=site, asset=asset, ts=ts, values=values)
        clean: dict[str, float] = {}
        for name, value in values.items():
            if self.sensors is not None and name not in self.sensors:
                if value is None:
                    # no reading from a sensor the model does not read (the pump record's empty
                    # sensor_15, which training drops): nothing to refuse and nothing to keep
                    continue
                return f"unknown sensor {name!r}: this model reads {self._sensor_list}"
            number = _number(value)
            if number is None:
                return f"non-numeric value for {name!r}: {value!r}, expected a number or null"
            clean[name] = number
        return TelemetryRow(site=site, asset=asset, ts=ts, values=clean)

    def decode_telemetry(self, topic: str, payload: bytes) -> Decoded:
        """Rows of one telemetry message (single row or ``{"rows": [...]}``) and what was rejected."""
        parsed = self.topics.parse(topic)
        if parsed is None or parsed[0] != "telemetry":
            return Decoded(rejected=[Rejected("not a telemetry topic: expected <root>/v1/<site>/<asset>/telemetry", topic, payload)])
        _, site, asset = parsed
        if self._fast is not None and len(payload) <= self.max_payload_bytes:
            fast = self._fast.decode(payload)
            if fast is not None:  # clean: checked and put in columns at once
                times, matrix, batch = fast
                return Decoded(batch=batch, block=RowBlock(site, asset, times, matrix, self.columns))
        obj = self._load(topic, payload)
        if isinstance(obj, Rejected):
            return Decoded(rejected=[obj])
        if isinstance(obj, dict) and "rows" in obj:
            rows = obj["rows"]
            if not isinstance(rows, list):
                return Decoded(rejected=[Rejected("\"rows\" is not a list of rows", topic, payload)], batch=True)
            out = Decoded(rows=[], batch=True)
            for i, item in enumerate(rows):
                result = self._row(site, asset, item)
                if isinstance(result, str):
                    # the errors topic gets the offending row, not the whole batch
                    out.rejected.append(Rejected(f"row {i}: {result}", topic, orjson.dumps(item)))
                else:
                    out.rows.append(result)
            return out
        result = self._row(site, asset, obj)
        if isinstance(result, str):
            return Decoded(rejected=[Rejected(result, topic, payload)])
        return Decoded(rows=[result])

    def decode_node(self, topic: str, payload: bytes) -> NodeReading | Rejected:
        """One node reading ``{"ts", "value", "unit"}``."""
        parsed = self.topics.parse(topic)
        if parsed is None or parsed[0] != "node":
            return Rejected("not a node topic: expected <root>/v1/<site>/node/<node_id>", topic, payload)
        _, site, node_id = parsed
        obj = self._load(topic, payload)
        if isinstance(obj, Rejected):
            return obj
        if not isinstance(obj, dict):
            return Rejected(f"expected an object {{\"ts\", \"value\", \"unit\"}}, found {type(obj).__name__}", topic, payload)
        if "ts" not in obj:
            return Rejected("missing ts: a node reading needs \"ts\" (ISO-8601 UTC)", topic, payload)
        ts = parse_ts(obj["ts"])
        if isinstance(ts, str):
            return Rejected(ts, topic, payload)
        value = _number(obj.get("value"))
        if value is None or "value" not in obj:
            return Rejected(f"non-numeric value: {obj.get('value')!r}, expected a number or null", topic, payload)
        unit = obj.get("unit", "")
        if not isinstance(unit, str):
            return Rejected(f"unit {unit!r} is not text", topic, payload)
        return NodeReading(site=site, node_id=node_id, ts=ts, value=value, unit=unit)

    # -- encoding ------------------------------------------------------------------------------

    @staticmethod
    def encode_rows(rows: Sequence[tuple[datetime, dict[str, float]]]) -> bytes:
        """A telemetry payload: a single row when one is given, else the batch form.

        NaN becomes null. Examples
        --------
        >>> ts = parse_ts("2018-04-01T00:00:00Z")
        >>> TelemetryCodec.encode_rows([(ts, {"sensor_00": 2.5, "sensor_01": float("nan")})])
        b'{"ts":"2018-04-01T00:00:00Z","values":{"sensor_00":2.5,"sensor_01":null}}'
        """
        # orjson writes NaN as null, which is what a missing reading is on the wire.
        items = [{"ts": ts, "values": values} for ts, values in rows]
        body: object = items[0] if len(items) == 1 else {"rows": items}
        return orjson.dumps(body, option=_DUMPS_OPTIONS)

    @staticmethod
    def encode_node(ts: datetime, value: float, unit: str = "") -> bytes:
        return orjson.dumps({"ts": ts, "value": value, "unit": unit}, option=_DUMPS_OPTIONS)


def encode_predictions(predictions: Sequence[dict], *, batch: bool) -> bytes:
    """Prediction payload: one object, or ``{"rows": [...]}`` answering a batch message."""
    body: object = {"rows": list(predictions)} if batch else predictions[0]
    return orjson.dumps(body, option=_DUMPS_OPTIONS)


def decode_object(payload: bytes) -> dict | list | None:
    """Any JSON payload of ours (predictions, controller, errors, presence), None if it is not JSON."""
    try:
        return orjson.loads(payload)
    except orjson.JSONDecodeError:
        return None


def encode_presence(status: str, *, client_id: str, ts: datetime, model: str = "") -> bytes:
    """Birth (``online``) and death (``offline``, the will) payloads of a service."""
    return orjson.dumps({"status": status, "client_id": client_id, "ts": ts, "model": model}, option=_DUMPS_OPTIONS)


def encode_object(obj: dict) -> bytes:
    """Controller state / command / event payloads (their fields belong to the controller)."""
    return orjson.dumps(obj, option=_DUMPS_OPTIONS | orjson.OPT_SERIALIZE_NUMPY)
