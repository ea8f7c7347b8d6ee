"""The controller on MQTT, the pure part: predictions -> observations, operator commands, state payloads.

No sockets and no clock: :mod:`pumpguard.stream.controller_service` owns the connection.

Topics (``<base>`` = ``<root>/v1/<site>``)::

    <base>/+/prediction           in:  predictions of the site's assets (single or {"rows": [...]})
    <base>/controller/operator    in:  operator commands (below)
    <base>/controller/state       out: the controller's state, RETAINED (restored from after a restart)
    <base>/controller/event       out: each transition, and each accepted operator command
    <base>/controller/command     out: the plant actions of a transition (valves, pumps)
    <base>/errors                 out: what could not be used, with the reason

Operator commands travel on their own topic, not on ``controller/command``: the broker's ACL lets
only the controller publish plant commands (``deploy/mosquitto/acl``), and a plant gateway that
executes ``controller/command`` must never see an operator's request as a valve order.

Operator command payloads (``by`` names the operator; ``ts`` is optional, ISO-8601 with a UTC
offset, and defaults to the controller's clock -- the time of the last prediction it stepped on,
which is data time, not the wall clock, so a replayed record and a live plant behave alike)::

    {"command": "acknowledge", "alarm_id": "A-0001", "by": "anna"}
    {"command": "force", "state": "NORMAL", "reason": "false alarm, checked on site", "by": "anna"}
    {"command": "force", "state": "ALARM", "reason": "smell of gas", "by": "anna", "suspected": ["J-N3"]}
    {"command": "repaired", "by": "crew-2", "note": "joint on P-12 replaced"}

An optional ``"id"`` is echoed in the event the command produces, so a dashboard can match them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping, Sequence

import orjson
import pandas as pd

from pumpguard.data.schema import Sensor
from pumpguard.errors import UnknownSensorError
from pumpguard.network.control_records import Observation, State, Transition, machine_status
from pumpguard.stream.codec import parse_ts

STATE_FORMAT = "pumpguard.controller-state/1"
OPERATOR_COMMANDS = ("acknowledge", "force", "repaired")
#: Prediction keys remembered in the state message, so the predictions redelivered after a crash
#: (the unacknowledged batches: a few hundred at most) are recognised as already stepped on.
RECENT_KEYS = 1_000


def operator_topic(base: str) -> str:
    """``<root>/v1/<site>/controller/operator`` for a ``Topics.base``."""
    return f"{base}/controller/operator"


class Localiser:
    """Suspected network elements from a prediction's ``top_sensors`` (the sensors' shares of its score).

    Examples
    --------
    >>> import wntr
    >>> wn = wntr.network.WaterNetworkModel()
    >>> wn.add_reservoir("R", base_head=40, coordinates=(0, 0))
    >>> for i in range(1, 4):
    ...     wn.add_junction(f"J{i}", base_demand=0.001, coordinates=(100 * i, 0))
    >>> for a, b in [("R", "J1"), ("J1", "J2"), ("J2", "J3")]:
    ...     wn.add_pipe(f"P-{b}", a, b, length=100, diameter=0.2, roughness=120)
    >>> where = Localiser([Sensor("p1", "pressure", "m", element="J1"), Sensor("p3", "pressure", "m", element="J3")], wn, top=2)
    >>> where([{"sensor": "p3", "share": 0.8}, {"sensor": "p1", "share": 0.1}])
    ('J3', 'P-J3')
    >>> where([{"sensor": "motor_current", "share": 0.9}])   # no placed sensor: no suspicion
    ()
    """

    #: Rankings remembered, keyed by the shares to 1 %: a ranking costs ~12 ms on the default network
    #: (shortest paths from each sensor), and an ongoing fault repeats nearly the same shares.
    CACHE_SIZE = 4_096

    def __init__(self, sensors: Sequence[Sensor] | Mapping[str, Sensor], wn, *, top: int = 3) -> None:
        self.sensors = dict(sensors) if isinstance(sensors, Mapping) else {s.id: s for s in sensors}
        self.wn = wn
        self.top = int(top)
        self._cache: dict[tuple, tuple[str, ...]] = {}

    def __call__(self, top_sensors: Sequence[dict]) -> tuple[str, ...]:
        from pumpguard.network.localisation import rank_locations

        shares = {t["sensor"]: round(float(t["share"]), 2) for t in top_sensors if t.get("sensor") in self.sensors}
        key = tuple(sorted(shares.items()))
        if key in self._cache:
            return self._cache[key]
        found: tuple[str, ...] = ()
        if shares:
            try:
                ranked = rank_locations(pd.Series(dict(key)), self.sensors, self.wn, top=self.top)
                found = tuple(str(e) for e in ranked["element"])
            except UnknownSensorError:  # none of them sits on the network (a pump's current, a battery)
                pass
        if len(self._cache) >= self.CACHE_SIZE:
            self._cache.clear()
        self._cache[key] = found
        return found


def _prediction_key(asset: str, ts: datetime) -> str:
    return f"{asset}@{ts.isoformat()}"


@dataclass
class PredictionRead:
    """What one prediction message gave: ``(key, observation)`` pairs and the reasons rows were refused."""

    observations: list[tuple[str, Observation]] = field(default_factory=list)
    rejected: list[tuple[str, bytes]] = field(default_factory=list)
    unscorable: int = 0


def observations_from_prediction(payload: bytes, *, asset: str, localiser: Localiser | None = None) -> PredictionRead:
    """Observations from a prediction payload (one prediction or ``{"rows": [...]}``).

    ``anomaly`` and ``score`` come from the prediction; ``status`` BROKEN (a detector that predicts
    the machine status) is a pump failure (``pump_ok=False``); ``suspected`` is the localisation of
    ``top_sensors`` when a :class:`Localiser` is given and the row is anomalous, else empty. An
    UNSCORABLE row (no usable reading) is no evidence either way: it gives no observation (the data
    problem was reported by ``serve`` already).

    Examples
    --------
    >>> p = b'{"asset": "pump_a", "ts": "2024-01-01T00:00:00Z", "score": 9.1, "threshold": 4.0,' \\
    ...     b' "anomaly": true, "status": "ANOMALY", "top_sensors": [], "model": "pca"}'
    >>> read = observations_from_prediction(p, asset="pump_a")
    >>> key, obs = read.observations[0]
    >>> key, obs.anomaly, obs.score, obs.pump_ok
    ('pump_a@2024-01-01T00:00:00+00:00', True, 9.1, None)
    >>> observations_from_prediction(b'{"rows": [{"ts": "yesterday"}]}', asset="pump_a").rejected[0][0]
    "row 0: bad ts 'yesterday': not ISO-8601, expected e.g. '2018-04-01T00:01:00Z'"
    """
    out = PredictionRead()
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        out.rejected.append((f"prediction is not JSON: {exc}", payload))
        return out
    batch = isinstance(body, dict) and "rows" in body
    rows = body["rows"] if batch else [body]
    if not isinstance(rows, list):
        out.rejected.append(('"rows" is not a list of predictions', payload))
        return out
    for i, row in enumerate(rows):
        result = _observation(row, asset=asset, localiser=localiser)
        if result is None:
            out.unscorable += 1
        elif isinstance(result, str):
            where = f"row {i}: " if batch else ""
            out.rejected.append((where + result, orjson.dumps(row) if batch else payload))
        else:
            out.observations.append(result)
    return out


def _observation(row: object, *, asset: str, localiser: Localiser | None) -> tuple[str, Observation] | str | None:
    if not isinstance(row, dict):
        return f"expected a prediction object, found {type(row).__name__}"
    ts = parse_ts(row.get("ts"))
    if isinstance(ts, str):
        return ts
    anomaly = row.get("anomaly")
    if anomaly is None and row.get("status") == "UNSCORABLE":
        return None
    if not isinstance(anomaly, bool):
        return f"bad anomaly {anomaly!r}: expected true or false (or status UNSCORABLE)"
    score = row.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score)):
        return f"bad score {score!r}: expected a number or null"
    top = row.get("top_sensors", [])
    if not isinstance(top, list) or not all(isinstance(t, dict) and "sensor" in t and "share" in t for t in top):
        return 'bad top_sensors: expected a list of {"sensor", "share"}'
    suspected = localiser(top) if (localiser is not None and anomaly) else ()
    pump_ok = False if row.get("status") == "BROKEN" else None
    name = row.get("asset", asset) or asset
    obs = Observation(pd.Timestamp(ts), anomaly=anomaly, score=None if score is None else float(score),
                      suspected=suspected, pump_ok=pump_ok)
    return _prediction_key(str(name), ts), obs


@dataclass(frozen=True)
class OperatorCommand:
    """One validated operator command (see the module docstring for the payloads)."""

    command: str
    by: str
    ts: pd.Timestamp | None = None
    alarm_id: str | None = None
    state: State | None = None
    reason: str = ""
    suspected: tuple[str, ...] = ()
    note: str = ""
    id: str | None = None


def parse_operator_command(payload: bytes) -> OperatorCommand | str:
    """The command, or the reason it is refused (a str).

    Examples
    --------
    >>> parse_operator_command(b'{"command": "acknowledge", "alarm_id": "A-0001", "by": "anna"}').alarm_id
    'A-0001'
    >>> parse_operator_command(b'{"command": "force", "state": "FIXED", "by": "anna", "reason": "x"}')
    "force: unknown state 'FIXED', expected one of NORMAL, ALARM, ISOLATING, BROKEN, RECOVERING"
    >>> parse_operator_command(b'{"command": "reboot", "by": "anna"}')
    "unknown command 'reboot': expected one of acknowledge, force, repaired"
    """
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return f"operator command is not JSON: {exc}"
    if not isinstance(body, dict):
        return f'expected an object {{"command", "by", ...}}, found {type(body).__name__}'
    command = body.get("command")
    if command not in OPERATOR_COMMANDS:
        return f"unknown command {command!r}: expected one of {', '.join(OPERATOR_COMMANDS)}"
    by = body.get("by")
    if not isinstance(by, str) or not by.strip():
        return f'{command}: missing "by": name the operator who gives the command'
    ts = None
    if body.get("ts") is not None:
        parsed = parse_ts(body["ts"])
        if isinstance(parsed, str):
            return f"{command}: {parsed}"
        ts = pd.Timestamp(parsed)
    ident = body.get("id")
    if ident is not None and not isinstance(ident, (str, int)):
        return f"{command}: id must be text or a number, found {type(ident).__name__}"
    common = {"command": command, "by": by.strip(), "ts": ts, "id": None if ident is None else str(ident)}
    if command == "acknowledge":
        alarm_id = body.get("alarm_id")
        if not isinstance(alarm_id, str) or not alarm_id:
            return 'acknowledge: missing "alarm_id" (e.g. "A-0001", from the state message\'s active_alarm)'
        return OperatorCommand(alarm_id=alarm_id, **common)
    if command == "force":
        try:
            state = State(body.get("state"))
        except ValueError:
            return f"force: unknown state {body.get('state')!r}, expected one of {', '.join(s.value for s in State)}"
        reason = body.get("reason")
        if not isinstance(reason, str) or not reason.strip():
            return 'force: missing "reason": say why the state is forced (it goes in the event log)'
        suspected = body.get("suspected", [])
        if not isinstance(suspected, list) or not all(isinstance(s, str) for s in suspected):
            return 'force: "suspected" must be a list of network element names'
        return OperatorCommand(state=state, reason=reason.strip(), suspected=tuple(suspected), **common)
    note = body.get("note", "")
    if not isinstance(note, str):
        return 'repaired: "note" must be text'
    return OperatorCommand(note=note, **common)


def repair_observation(command: OperatorCommand, ts: pd.Timestamp) -> Observation:
    """The observation a ``repaired`` command feeds the controller (no anomaly, repair reported)."""
    return Observation(ts, anomaly=False, repaired=True)


def encode_state(controller, *, site: str, recent: Sequence[str], updated: datetime, client_id: str) -> bytes:
    """The retained state message: a summary for dashboards plus the snapshot to restore from."""
    alarm = controller.active_alarm
    snapshot = controller.snapshot(include_history=False)
    return orjson.dumps({
        "format": STATE_FORMAT,
        "site": site,
        "state": controller.state.value,
        "machine_status": machine_status(controller.state),
        "ts": snapshot["last_ts"],
        "active_alarm": None if alarm is None else alarm.to_dict(),
        "engaged": snapshot["engaged"],
        "updated": updated,
        "controller": client_id,
        "recent": list(recent)[-RECENT_KEYS:],
        "snapshot": snapshot,
    }, option=orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC)


def decode_state(payload: bytes) -> dict | str:
    """A state message as a dict with ``snapshot`` and ``recent``, or the reason it cannot be used."""
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return f"retained state is not JSON: {exc}"
    if not isinstance(body, dict) or body.get("format") != STATE_FORMAT:
        found = body.get("format") if isinstance(body, dict) else type(body).__name__
        return f"retained state has format {found!r}, expected {STATE_FORMAT!r}"
    if not isinstance(body.get("snapshot"), dict) or not isinstance(body.get("recent", []), list):
        return "retained state lacks its snapshot"
    return body


def encode_transition(transition: Transition, *, site: str, command_id: str | None = None) -> bytes:
    """An event: one transition (``type`` transition) with its actions."""
    body = {"type": "transition", "site": site, **transition.to_dict()}
    if command_id is not None:
        body["command_id"] = command_id
    return orjson.dumps(body)


def encode_actions(transition: Transition, *, site: str, client_id: str) -> bytes | None:
    """The plant command of a transition (None when it has no actions)."""
    if not transition.actions:
        return None
    d = transition.to_dict()
    return orjson.dumps({"site": site, "ts": d["ts"], "alarm_id": d["alarm_id"], "from_state": d["from_state"],
                         "to_state": d["to_state"], "reason": d["reason"], "actions": d["actions"],
                         "origin": client_id})


def encode_acknowledged(command: OperatorCommand, *, site: str, ts: pd.Timestamp) -> bytes:
    return orjson.dumps({"type": "acknowledged", "site": site, "ts": ts.isoformat(), "alarm_id": command.alarm_id,
                         "by": command.by, "command_id": command.id})
