"""The alarm list the operators see: detector alarms (a run of anomalous predictions of one asset)
and controller alarms (the controller's incidents, from its retained state), with acknowledgements.

A detector alarm opens at the first anomalous prediction of an asset and closes at its next
normal one; a controller alarm follows the controller's own record (``Alarm.to_dict``). An
acknowledgement made here is kept even when a later controller state does not carry it yet.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict

from pumpguard.errors import PumpguardError

#: Alarms kept (oldest closed ones are forgotten first): a few weeks of a busy plant.
DEFAULT_MAX_ALARMS = 500


class UnknownAlarmError(PumpguardError, KeyError):
    """No alarm with that id."""

    def __str__(self) -> str:  # KeyError would quote the whole message
        return str(self.args[0])


class AlarmBook:
    """Alarms by id, newest last.

    Examples
    --------
    >>> book = AlarmBook()
    >>> a = book.on_prediction("pump_a", {"ts": "2026-01-01T00:00:00Z", "anomaly": True, "score": 9.0,
    ...                                    "top_sensors": [{"sensor": "p1", "share": 0.8}]})
    >>> a["id"], a["source"], a["closed"]
    ('D-1', 'detector', None)
    >>> book.acknowledge("D-1", by="op", ts="2026-01-01T00:01:00Z")["acknowledged_by"]
    'op'
    >>> _ = book.on_prediction("pump_a", {"ts": "2026-01-01T00:02:00Z", "anomaly": False})
    >>> book.list()[0]["closed"]
    '2026-01-01T00:02:00Z'
    """

    def __init__(self, max_alarms: int = DEFAULT_MAX_ALARMS) -> None:
        self.max_alarms = int(max_alarms)
        self._alarms: OrderedDict[str, dict] = OrderedDict()
        self._open_by_asset: dict[str, str] = {}
        self._acks: dict[str, tuple[str, str]] = {}
        self._seq = itertools.count(1)
        self.raised = {"detector": 0, "controller": 0}

    def _add(self, alarm: dict) -> dict:
        self._alarms[alarm["id"]] = alarm
        self.raised[alarm["source"]] += 1
        while len(self._alarms) > self.max_alarms:
            oldest = next((k for k, v in self._alarms.items() if v["closed"]), next(iter(self._alarms)))
            self._alarms.pop(oldest)
        return alarm

    def on_prediction(self, asset: str, p: dict) -> dict | None:
        """Open or close the asset's detector alarm; the alarm when it changed, else None."""
        open_id = self._open_by_asset.get(asset)
        if p.get("anomaly") is True and open_id is None:
            alarm_id = f"D-{next(self._seq)}"
            self._open_by_asset[asset] = alarm_id
            return self._add({"id": alarm_id, "source": "detector", "asset": asset, "raised": p.get("ts"),
                              "reason": f"score {p.get('score'):.4g} over threshold {p.get('threshold', float('nan')):.4g}"
                              if isinstance(p.get("score"), (int, float)) else "anomaly",
                              "suspected": [], "top_sensors": list(p.get("top_sensors") or []),
                              "acknowledged_by": None, "acknowledged": None, "closed": None})
        if p.get("anomaly") is False and open_id is not None:
            self._open_by_asset.pop(asset)
            alarm = self._alarms.get(open_id)
            if alarm is not None:
                alarm["closed"] = p.get("ts")
            return alarm
        return None

    def on_controller_alarms(self, alarms: list, *, top_sensors: list | None = None) -> list[dict]:
        """Take the controller's alarm records (its snapshot's ``alarms``); the ones that changed."""
        changed = []
        for record in alarms:
            if not isinstance(record, dict) or not isinstance(record.get("id"), str):
                continue
            alarm_id = f"C-{record['id']}" if not record["id"].startswith("C-") else record["id"]
            new = {"id": alarm_id, "source": "controller", "asset": "controller",
                   "raised": record.get("raised"), "reason": record.get("reason", ""),
                   "suspected": list(record.get("suspected") or []),
                   "acknowledged_by": record.get("acknowledged_by"), "acknowledged": record.get("acknowledged"),
                   "closed": record.get("closed"), "controller_id": record["id"]}
            old = self._alarms.get(alarm_id)
            new["top_sensors"] = (old or {}).get("top_sensors") or list(top_sensors or [])
            if alarm_id in self._acks and not new["acknowledged_by"]:
                new["acknowledged_by"], new["acknowledged"] = self._acks[alarm_id]
            if old == new:
                continue
            if old is None:
                self._add(new)
            else:
                old.update(new)
                new = old
            changed.append(new)
        return changed

    def acknowledge(self, alarm_id: str, *, by: str, ts: str) -> dict:
        alarm = self._alarms.get(alarm_id)
        if alarm is None:
            raise UnknownAlarmError(f"no alarm {alarm_id!r}: GET /alarms lists the alarms and their ids")
        if not alarm["acknowledged_by"]:
            alarm["acknowledged_by"], alarm["acknowledged"] = by, ts
            self._acks[alarm_id] = (by, ts)
        return alarm

    def get(self, alarm_id: str) -> dict | None:
        return self._alarms.get(alarm_id)

    def list(self, *, open_only: bool = False) -> list[dict]:
        items = [dict(a) for a in self._alarms.values()]
        return [a for a in items if not a["closed"]] if open_only else items

    @property
    def open_count(self) -> int:
        return sum(1 for a in self._alarms.values() if not a["closed"])
