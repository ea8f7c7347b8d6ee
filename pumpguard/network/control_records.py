"""The controller's records: states, actions, transitions, observations, configuration, alarms.

Plain frozen data with JSON round trips, shared by :mod:`pumpguard.network.controller` (the state
machine), the simulator and the live services. See ``docs/controller.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Protocol, Sequence

import pandas as pd

from pumpguard.errors import ConfigError


class State(str, Enum):
    NORMAL = "NORMAL"
    ALARM = "ALARM"
    ISOLATING = "ISOLATING"
    BROKEN = "BROKEN"
    RECOVERING = "RECOVERING"


#: Edges the controller takes by itself; ``force`` may take any other.
LEGAL_EDGES: frozenset[tuple[State, State]] = frozenset(
    (State(a), State(b)) for a, b in (
        ("NORMAL", "ALARM"), ("NORMAL", "RECOVERING"), ("ALARM", "ISOLATING"), ("ALARM", "BROKEN"),
        ("ISOLATING", "NORMAL"), ("ISOLATING", "BROKEN"), ("ISOLATING", "RECOVERING"),
        ("BROKEN", "RECOVERING"), ("RECOVERING", "NORMAL"), ("RECOVERING", "BROKEN"),
        ("RECOVERING", "ALARM")))

ACTION_KINDS = ("close_valve", "open_valve", "stop_pump", "start_pump")
_INVERSE = {"close_valve": "open_valve", "open_valve": "close_valve",
            "stop_pump": "start_pump", "start_pump": "stop_pump"}


def machine_status(state: State | str) -> str:
    """The ``machine_status`` label of a state: ALARM and ISOLATING still count as NORMAL operation.

    >>> machine_status(State.ISOLATING), machine_status("BROKEN")
    ('NORMAL', 'BROKEN')
    """
    state = State(state)
    if state in (State.NORMAL, State.ALARM, State.ISOLATING):
        return "NORMAL"
    return state.value


@dataclass(frozen=True)
class Action:
    """One thing the plant must do.

    >>> Action("close_valve", "V-3", "isolate segment 2").inverse("repaired")
    Action(kind='open_valve', element='V-3', reason='repaired')
    """

    kind: str
    element: str
    reason: str = ""

    def __post_init__(self) -> None:
        if self.kind not in ACTION_KINDS:
            raise ConfigError(f"Action kind {self.kind!r} is not known: expected one of {ACTION_KINDS}")

    def inverse(self, reason: str) -> "Action":
        """The action that undoes this one (close <-> open, stop <-> start)."""
        return Action(_INVERSE[self.kind], self.element, reason)

    def to_dict(self) -> dict:
        return {"kind": self.kind, "element": self.element, "reason": self.reason}

    @classmethod
    def from_dict(cls, d: dict) -> "Action":
        return cls(d["kind"], d["element"], d.get("reason", ""))


def undo_actions(actions: Sequence[Action], reason: str) -> tuple[Action, ...]:
    """The actions that undo ``actions``, in reverse order (last closed, first reopened)."""
    return tuple(a.inverse(reason) for a in reversed(actions))


@dataclass(frozen=True)
class Transition:
    """A state change: when, from, to, why, what the plant must do, and (if forced) by whom.

    >>> t = Transition(pd.Timestamp("2026-01-01", tz="UTC"), State.NORMAL, State.ALARM, "anomaly confirmed")
    >>> Transition.from_dict(t.to_dict()) == t
    True
    """

    ts: pd.Timestamp
    from_state: State
    to_state: State
    reason: str
    actions: tuple[Action, ...] = ()
    alarm_id: str | None = None
    forced: bool = False
    by: str | None = None

    def to_dict(self) -> dict:
        return {"ts": _iso(self.ts), "from_state": self.from_state.value, "to_state": self.to_state.value,
                "reason": self.reason, "actions": [a.to_dict() for a in self.actions],
                "alarm_id": self.alarm_id, "forced": self.forced, "by": self.by}

    @classmethod
    def from_dict(cls, d: dict) -> "Transition":
        return cls(_ts(d["ts"]), State(d["from_state"]), State(d["to_state"]), d["reason"],
                   tuple(Action.from_dict(a) for a in d.get("actions", ())), d.get("alarm_id"),
                   bool(d.get("forced", False)), d.get("by"))


@dataclass(frozen=True)
class Observation:
    """What the controller learns at one time step (or one live prediction).

    >>> Observation(pd.Timestamp("2026-01-01", tz="UTC"), anomaly=True, suspected=("P-M1",)).suspected
    ('P-M1',)
    """

    ts: pd.Timestamp
    anomaly: bool
    score: float | None = None
    suspected: tuple[str, ...] = ()
    min_service_pressure: float | None = None
    pump_ok: bool | None = None
    in_normal_band: bool | None = None
    repaired: bool = False

    def to_dict(self) -> dict:
        """JSON-able (for an MQTT message); :meth:`from_dict` reads it back."""
        return {**self.__dict__, "ts": _iso(_ts(self.ts)), "suspected": list(self.suspected)}

    @classmethod
    def from_dict(cls, d: dict) -> "Observation":
        known = set(cls.__dataclass_fields__)
        return cls(**{**{k: v for k, v in d.items() if k in known}, "ts": _ts(d["ts"]),
                      "suspected": tuple(d.get("suspected", ()))})


@dataclass(frozen=True)
class ControllerConfig:
    """Thresholds of the state machine.

    ``debounce`` consecutive anomalous observations confirm an alarm (at 1 min sampling, 3 min: long
    enough to ignore a single spike, short against a burst's damage). ``min_service_pressure`` (m) is the
    lowest acceptable pressure at demand junctions (20 m is a common minimum service head).
    ``recovery_settle``: after a repair, anomalies are taken as the plant settling for this long; later
    ones are confirmed as a new fault. ``require_acknowledge`` holds an alarm in ALARM until an operator
    acknowledges it.

    >>> ControllerConfig(debounce=5, hold_time="1h").hold_time
    Timedelta('0 days 01:00:00')
    """

    debounce: int = 3
    min_service_pressure: float = 20.0
    isolation_timeout: pd.Timedelta = pd.Timedelta(minutes=10)
    hold_time: pd.Timedelta = pd.Timedelta(minutes=30)
    recovery_settle: pd.Timedelta = pd.Timedelta(minutes=10)
    require_acknowledge: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.debounce, int) or self.debounce < 1:
            raise ConfigError(f"ControllerConfig.debounce must be an integer >= 1, got {self.debounce!r}")
        for name in ("isolation_timeout", "hold_time", "recovery_settle"):
            value = pd.Timedelta(getattr(self, name))
            if value < pd.Timedelta(0):
                raise ConfigError(f"ControllerConfig.{name} must not be negative, got {value}")
            object.__setattr__(self, name, value)


class IsolationPlanLike(Protocol):
    """What the controller needs from :class:`pumpguard.network.isolation.IsolationPlan`."""

    pumps: tuple[str, ...]

    def isolate(self, suspected: Sequence[str]) -> tuple[Action, ...]: ...

    def has_alternate_route(self, suspected: Sequence[str]) -> bool: ...


@dataclass
class Alarm:
    """One confirmed incident; open until the plant is back to NORMAL with nothing left isolated."""

    id: str
    raised: pd.Timestamp
    reason: str
    suspected: tuple[str, ...] = ()
    acknowledged_by: str | None = None
    acknowledged: pd.Timestamp | None = None
    closed: pd.Timestamp | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "raised": _iso(self.raised), "reason": self.reason,
                "suspected": list(self.suspected), "acknowledged_by": self.acknowledged_by,
                "acknowledged": _iso(self.acknowledged), "closed": _iso(self.closed)}

    @classmethod
    def from_dict(cls, d: dict) -> "Alarm":
        return cls(d["id"], _ts(d["raised"]), d["reason"], tuple(d.get("suspected", ())),
                   d.get("acknowledged_by"), _ts(d.get("acknowledged")), _ts(d.get("closed")))


def _ts(value) -> pd.Timestamp | None:
    """A UTC timestamp (naive input is taken as UTC, the data contract's zone)."""
    if value is None:
        return None
    ts = pd.Timestamp(value)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _iso(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None else ts.isoformat()
