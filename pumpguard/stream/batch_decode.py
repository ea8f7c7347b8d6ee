"""The fast path for clean telemetry: a message checked and put in columns by one typed decode.

The per-row decoder (:meth:`TelemetryCodec._row`) checks each row in Python: is it an object, is
``ts`` there, are the names known, is every value a number. For a stream of 52-sensor rows that
work, plus parsing the JSON into dicts first, was half of what ``pumpguard serve`` spent. Here the
message is decoded by ``msgspec`` against a schema made from the model's sensors, in one pass in C:

- the message is ``{"rows": [...]}`` (a batch) or ``{"ts", "values"}`` (one row); other fields are
  ignored, so a later version can add some;
- ``ts`` is RFC 3339 text with a time zone (converted to UTC afterwards);
- ``values`` has only the model's sensors (``forbid_unknown_fields``), each a number or null;
  a number out of the float range is refused.

The column matrix (rows x model sensors, float64, NaN for null or absent) is built from the typed
rows at once, so no dict is made per row. When any check fails the decoder returns None and the
caller runs the per-row path, which names the exact bad row with the same reason as always: the
fast path only decides *that* a message is clean, never *why* it is not.

msgspec (BSD-3, jcrist/msgspec) decoded and checked a 500-row batch of 52 sensors in ~6.7 us a row
here against ~17 us for ``orjson.loads`` plus the same checks in Python (same process, same run).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Sequence

import msgspec
import numpy as np

_UTC_ONLY = frozenset((timezone.utc,))
_astuple = msgspec.structs.astuple
_AwareTime = Annotated[datetime, msgspec.Meta(tz=True)]


class TypedMessages:
    """Decodes clean telemetry messages straight into ``(UTC times, matrix, is_batch)``.

    Examples
    --------
    >>> fast = TypedMessages(["p1", "p2"])
    >>> times, matrix, batch = fast.decode(b'{"rows": [{"ts": "2024-01-01T00:00:00Z", "values": {"p1": 1, "p2": null}},'
    ...                                    b' {"ts": "2024-01-01T01:00:01+01:00", "values": {"p2": 2.5}}]}')
    >>> matrix.tolist(), times[1].isoformat(), batch
    ([[1.0, nan], [nan, 2.5]], '2024-01-01T00:00:01+00:00', True)
    >>> fast.decode(b'{"ts": "2024-01-01T00:00:00Z", "values": {"p9": 1}}') is None   # the per-row path says why
    True
    """

    def __init__(self, sensors: Sequence[str]) -> None:
        self.sensors = tuple(sensors)
        # Python names f0, f1, ... renamed to the sensor ids: an id need not be an identifier
        # ("Volume Flow RateRMS" in SKAB)
        values = msgspec.defstruct(
            "Values",
            [(f"f{i}", float | None, msgspec.field(default=None, name=name)) for i, name in enumerate(self.sensors)],
            forbid_unknown_fields=True,
        )
        row = msgspec.defstruct("Row", [("ts", _AwareTime), ("values", values)])
        message = msgspec.defstruct(
            "Message", [("rows", list[row] | None, None), ("ts", _AwareTime | None, None), ("values", values | None, None)]
        )
        self._decoder = msgspec.json.Decoder(message)

    def decode(self, payload: bytes) -> tuple[list[datetime], np.ndarray, bool] | None:
        """``(UTC times, matrix, is_batch)`` of a clean message, else None (not JSON, not clean)."""
        try:
            message = self._decoder.decode(payload)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
        if message.rows is not None:
            rows = message.rows
            if not rows:
                return None  # an empty batch: the per-row path says so
            times = [row.ts for row in rows]
            lines = [_astuple(row.values) for row in rows]
            batch = True
        elif message.ts is not None and message.values is not None:
            times, lines, batch = [message.ts], [_astuple(message.values)], False
        else:
            return None  # neither shape (ts or values missing): the per-row path names what is missing
        if not set(map(_tzinfo, times)) <= _UTC_ONLY:
            times = [ts.astimezone(timezone.utc) for ts in times]
        # None (null or absent) becomes NaN; msgspec refuses numbers out of range, so the rest is finite
        matrix = np.array(lines, dtype="float64").reshape(len(times), len(self.sensors))
        return times, matrix, batch


def _tzinfo(ts: datetime):
    return ts.tzinfo
