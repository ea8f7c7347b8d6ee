"""The central controller: a pure state machine from observations to transitions and plant actions.

States and legal edges (``LEGAL_EDGES``; an operator's :meth:`Controller.force` may take any edge)::

    NORMAL --anomaly confirmed (debounce)--> ALARM --isolate (same step)--> ISOLATING
    ALARM --pump failure confirmed--> BROKEN
    ISOLATING --service restored--> NORMAL      (isolation stays in effect until repair)
    ISOLATING --pump failure / no alternate route / isolation timeout--> BROKEN
    ISOLATING, BROKEN, NORMAL (isolation in effect) --repair reported--> RECOVERING  (restore actions)
    RECOVERING --readings in normal band for hold_time--> NORMAL
    RECOVERING --pump failure--> BROKEN
    RECOVERING --new anomaly confirmed after recovery_settle--> ALARM

The controller touches no clock and no I/O: time comes in with each :class:`Observation`, actions go
out as data in each :class:`Transition`. :meth:`Controller.snapshot` is a JSON-able dict and
:meth:`Controller.restore` rebuilds a controller whose future behaviour is identical, so a live
deployment can keep its state in a retained MQTT message. See ``docs/controller.md``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Sequence

import pandas as pd

from pumpguard.errors import ConfigError, DataFormatError
from pumpguard.network.control_records import (  # re-exported: the controller's public records
    ACTION_KINDS,
    LEGAL_EDGES,
    Action,
    Alarm,
    ControllerConfig,
    IsolationPlanLike,
    Observation,
    State,
    Transition,
    _iso,
    _ts,
    machine_status,
    undo_actions,
)

__all__ = [
    "ACTION_KINDS", "LEGAL_EDGES", "Action", "Alarm", "Controller", "ControllerConfig",
    "IsolationPlanLike", "Observation", "State", "Transition", "machine_status", "undo_actions",
]

SNAPSHOT_FORMAT = "pumpguard.controller/1"

@dataclass
class _Memory:
    """Everything besides the state that decides future behaviour (all of it goes in the snapshot)."""

    debounce_count: int = 0
    suspected: tuple[str, ...] = ()  # latest non-empty localisation during the debounce run
    last_ts: pd.Timestamp | None = None
    entered: pd.Timestamp | None = None  # when the current state was entered
    band_since: pd.Timestamp | None = None  # RECOVERING: start of the current in-band run
    repair_pending: bool = False  # BROKEN: a repair was reported while the pump still could not run
    alarm_seq: int = 0
    alarms: list[Alarm] = field(default_factory=list)
    engaged: list[Action] = field(default_factory=list)  # actions in effect, undone on repair


class Controller:
    """The plant's supervisory state machine.

    Examples
    --------
    >>> t0 = pd.Timestamp("2026-01-01", tz="UTC")
    >>> c = Controller(config=ControllerConfig(debounce=2))
    >>> minute = pd.Timedelta(minutes=1)
    >>> c.step(Observation(t0, anomaly=True))
    []
    >>> [(t.from_state.value, t.to_state.value) for t in c.step(Observation(t0 + minute, anomaly=True))]
    [('NORMAL', 'ALARM'), ('ALARM', 'ISOLATING')]
    >>> c.step(Observation(t0 + 2 * minute, anomaly=False, min_service_pressure=25.0))[0].to_state
    <State.NORMAL: 'NORMAL'>
    >>> Controller.restore(c.snapshot()).snapshot() == c.snapshot()
    True
    """

    def __init__(self, plan: IsolationPlanLike | None = None, config: ControllerConfig = ControllerConfig(),
                 *, state: State = State.NORMAL) -> None:
        self.plan = plan
        self.config = config
        self._state = State(state)
        self._mem = _Memory()
        self.history: list[Transition] = []

    # -- read-only views ---------------------------------------------------------------------------
    @property
    def state(self) -> State:
        return self._state

    @property
    def alarms(self) -> tuple[Alarm, ...]:
        """Every alarm raised so far (copies: change them through acknowledge/force only)."""
        return tuple(replace(a) for a in self._mem.alarms)

    @property
    def active_alarm(self) -> Alarm | None:
        """The most recent alarm still open, if any (a copy)."""
        alarm = self._open_alarm()
        return None if alarm is None else replace(alarm)

    def _open_alarm(self) -> Alarm | None:
        return next((a for a in reversed(self._mem.alarms) if a.closed is None), None)

    @property
    def engaged_actions(self) -> tuple[Action, ...]:
        """Actions in effect on the plant (valves closed/opened, pumps locked out) awaiting repair."""
        return tuple(self._mem.engaged)

    @property
    def debounce_count(self) -> int:
        return self._mem.debounce_count

    # -- the machine -------------------------------------------------------------------------------
    def step(self, obs: Observation) -> list[Transition]:
        """Feed one observation; return the 0..n transitions it causes (also appended to ``history``)."""
        if not isinstance(obs, Observation):
            raise DataFormatError("Controller.step takes an Observation", found=type(obs).__name__,
                                  expected="pumpguard.network.controller.Observation")
        ts = self._advance_clock(obs.ts, "observation")
        out: list[Transition] = []
        pressure = obs.min_service_pressure
        if pressure is not None and pressure != pressure:  # NaN: not measured
            pressure = None
        pump_failed = obs.pump_ok is False
        suspected = (obs.suspected,) if isinstance(obs.suspected, str) else tuple(obs.suspected)
        state, mem = self._state, self._mem

        if state is State.NORMAL:
            if obs.repaired and mem.engaged:
                out.append(self._recover(ts, "repair reported while isolation in effect"))
            elif (obs.anomaly or pump_failed) and not self._open_incident_explains(suspected, pump_failed):
                mem.debounce_count += 1
                mem.suspected = suspected or mem.suspected
                if mem.debounce_count >= self.config.debounce:
                    out.extend(self._raise_alarm(ts, obs, pump_failed))
            else:
                mem.debounce_count, mem.suspected = 0, ()
        elif state is State.ALARM:
            if pump_failed:
                out.append(self._broken(ts, "pump failure while the alarm is raised", pump_failure=True))
            elif not self.config.require_acknowledge and self._open_alarm() is not None:
                out.extend(self._isolate(ts, self._open_alarm(), "isolating the suspected segment"))
        elif state is State.ISOLATING:
            if obs.repaired:
                out.append(self._recover(ts, "repair reported during isolation"))
            elif pump_failed:
                out.append(self._broken(ts, "pump failure during isolation", pump_failure=True))
            elif ts > mem.entered and self._service_restored(obs, pressure):
                what = f"min service pressure {pressure:.1f} m >= {self.config.min_service_pressure:g} m" \
                    if pressure is not None else "no anomaly and readings in band (pressure not measured)"
                out.append(self._go(ts, State.NORMAL, f"service restored: {what}"))
                if not mem.engaged:
                    self._close_alarms(ts)
            elif ts - mem.entered >= self.config.isolation_timeout:
                out.append(self._broken(ts, f"service not restored within {self.config.isolation_timeout}"))
        elif state is State.BROKEN:
            if obs.repaired or mem.repair_pending:
                if pump_failed:  # another fault's repair, or the pump not yet back: wait for it
                    mem.repair_pending = True
                else:
                    out.append(self._recover(ts, "repair reported"))
        elif state is State.RECOVERING:
            in_band = obs.in_normal_band if obs.in_normal_band is not None else not obs.anomaly
            if pump_failed:
                out.append(self._broken(ts, "pump failure during recovery", pump_failure=True))
            elif obs.anomaly and ts - mem.entered >= self.config.recovery_settle:
                mem.band_since = None  # a new fault once the repair has settled: confirm it as in NORMAL
                mem.debounce_count += 1
                mem.suspected = suspected or mem.suspected
                if mem.debounce_count >= self.config.debounce:
                    out.extend(self._raise_alarm(ts, obs, False))
            elif ts <= mem.entered or not in_band:
                mem.debounce_count, mem.suspected = 0, ()
                mem.band_since = None
            else:
                mem.debounce_count, mem.suspected = 0, ()
                if mem.band_since is None:
                    mem.band_since = ts
                if ts - mem.band_since >= self.config.hold_time:
                    # only a forced RECOVERING leaves actions engaged here; undo them now
                    actions = undo_actions(mem.engaged, "recovered: return to the normal configuration")
                    mem.engaged.clear()
                    out.append(self._go(ts, State.NORMAL,
                                        f"readings in normal band since {_iso(mem.band_since)} "
                                        f"(hold time {self.config.hold_time})", actions))
                    self._close_alarms(ts)
        return out

    def acknowledge(self, alarm_id: str, *, by: str, ts) -> list[Transition]:
        """Record that ``by`` acknowledged an alarm. Changes no state, unless ``require_acknowledge`` holds
        the alarm in ALARM: then isolation starts now and its transitions are returned."""
        ts = self._advance_clock(ts, "acknowledgement")
        alarm = next((a for a in self._mem.alarms if a.id == alarm_id), None)
        if alarm is None:
            known = [a.id for a in self._mem.alarms if a.closed is None]
            raise ConfigError(f"cannot acknowledge alarm {alarm_id!r}: no such alarm; open alarms: {known}")
        if alarm.acknowledged is None:
            alarm.acknowledged_by, alarm.acknowledged = by, ts
        if self.config.require_acknowledge and self._state is State.ALARM and alarm is self._open_alarm():
            return self._isolate(ts, alarm, f"alarm acknowledged by {by}")
        return []

    def force(self, state: State, *, reason: str, ts, by: str, suspected: Sequence[str] = ()) -> Transition:
        """Operator override: go to ``state`` whatever the graph says. Issues no actions (the operator
        owns the valves now); actions already in effect stay recorded and are undone on repair. Forcing
        ALARM raises an alarm (on ``suspected``), isolated at the next observation as any other."""
        ts = self._advance_clock(ts, "forced transition")
        target = State(state)
        if target is State.ALARM:
            self._mem.alarm_seq += 1
            self._mem.alarms.append(Alarm(f"A-{self._mem.alarm_seq:04d}", ts, f"raised by {by}: {reason}",
                                          tuple(suspected), acknowledged_by=by, acknowledged=ts))
        tr = self._go(ts, target, f"forced by {by}: {reason}", forced=True, by=by)
        if target is State.NORMAL:
            self._close_alarms(ts)
        return tr

    # -- persistence -------------------------------------------------------------------------------
    def snapshot(self, *, include_history: bool = True) -> dict:
        """A JSON-able dict of everything that decides future behaviour (and, optionally, the history)."""
        m = self._mem
        return {"format": SNAPSHOT_FORMAT, "state": self._state.value, "debounce_count": m.debounce_count,
                "suspected": list(m.suspected),
                "last_ts": _iso(m.last_ts), "entered": _iso(m.entered), "band_since": _iso(m.band_since),
                "repair_pending": m.repair_pending, "alarm_seq": m.alarm_seq,
                "alarms": [a.to_dict() for a in m.alarms],
                "engaged": [a.to_dict() for a in m.engaged],
                "history": [t.to_dict() for t in self.history] if include_history else []}

    @classmethod
    def restore(cls, snapshot: dict, plan: IsolationPlanLike | None = None,
                config: ControllerConfig = ControllerConfig()) -> "Controller":
        """Rebuild a controller from :meth:`snapshot` output (e.g. a retained MQTT message)."""
        if not isinstance(snapshot, dict) or snapshot.get("format") != SNAPSHOT_FORMAT:
            found = snapshot.get("format") if isinstance(snapshot, dict) else type(snapshot).__name__
            raise DataFormatError("controller snapshot is not in the expected format", found=found,
                                  expected=repr(SNAPSHOT_FORMAT),
                                  hint="pass the dict produced by Controller.snapshot()")
        try:
            c = cls(plan, config, state=State(snapshot["state"]))
            c._mem = _Memory(int(snapshot["debounce_count"]), tuple(snapshot["suspected"]),
                             _ts(snapshot["last_ts"]),
                             _ts(snapshot["entered"]),
                             _ts(snapshot["band_since"]), bool(snapshot["repair_pending"]),
                             int(snapshot["alarm_seq"]),
                             [Alarm.from_dict(a) for a in snapshot["alarms"]],
                             [Action.from_dict(a) for a in snapshot["engaged"]])
            c.history = [Transition.from_dict(t) for t in snapshot.get("history", [])]
        except (KeyError, ValueError, TypeError) as exc:
            raise DataFormatError(f"controller snapshot is damaged ({exc!r})",
                                  hint="pass the dict produced by Controller.snapshot()") from exc
        return c

    # -- internals ---------------------------------------------------------------------------------
    def _advance_clock(self, ts, what: str) -> pd.Timestamp:
        ts = _ts(ts)
        if ts is None:
            raise DataFormatError(f"{what} has no timestamp", expected="a pandas Timestamp")
        last = self._mem.last_ts
        if last is not None and ts < last:
            raise DataFormatError(f"{what} is earlier than the last one the controller saw", found=_iso(ts),
                                  expected=f"a time at or after {_iso(last)}",
                                  hint="feed observations in time order (drop late messages)")
        self._mem.last_ts = ts
        if self._mem.entered is None:
            self._mem.entered = ts
        return ts

    def _go(self, ts, to: State, reason: str, actions: tuple[Action, ...] = (), *, forced: bool = False,
            by: str | None = None) -> Transition:
        alarm = self._open_alarm()
        tr = Transition(ts, self._state, to, reason, tuple(actions), alarm.id if alarm else None, forced, by)
        self._state = to
        self._mem.entered = ts
        self._mem.band_since = None
        self._mem.debounce_count, self._mem.suspected, self._mem.repair_pending = 0, (), False
        self.history.append(tr)
        return tr

    def _raise_alarm(self, ts, obs: Observation, pump_failed: bool) -> list[Transition]:
        mem = self._mem
        mem.alarm_seq += 1
        score = "" if obs.score is None else f", score {obs.score:.3g}"
        cause = "pump failure" if pump_failed else "anomaly"
        where = f"; suspected {', '.join(mem.suspected[:3])}" if mem.suspected else ""
        alarm = Alarm(f"A-{mem.alarm_seq:04d}", ts,
                      f"{cause} confirmed: {mem.debounce_count} consecutive observations{score}{where}",
                      mem.suspected)
        mem.alarms.append(alarm)
        out = [self._go(ts, State.ALARM, alarm.reason)]
        if pump_failed:
            out.append(self._broken(ts, "pump failure confirmed: the pump station cannot run",
                                    pump_failure=True))
        elif not self.config.require_acknowledge:
            out.extend(self._isolate(ts, alarm, "isolating the suspected segment"))
        return out

    def _isolate(self, ts, alarm: Alarm, why: str) -> list[Transition]:
        if self.plan is None:
            actions, reason = (), f"{why}: no isolation plan, watching service pressure"
        elif not alarm.suspected:
            actions, reason = (), f"{why}: no suspected element, watching service pressure"
        else:
            in_effect = {(a.kind, a.element) for a in self._mem.engaged}
            actions = tuple(a for a in self.plan.isolate(alarm.suspected)
                            if (a.kind, a.element) not in in_effect)
            reason = f"{why}: around {alarm.suspected[0]}"
        self._mem.engaged.extend(actions)
        out = [self._go(ts, State.ISOLATING, reason, actions)]
        if self.plan is not None and alarm.suspected and not self.plan.has_alternate_route(alarm.suspected):
            out.append(self._broken(ts, f"no alternate route supplies every demand junction with "
                                        f"{alarm.suspected[0]} isolated"))
        return out

    def _broken(self, ts, reason: str, *, pump_failure: bool = False) -> Transition:
        actions: tuple[Action, ...] = ()
        if pump_failure and self.plan is not None:
            locked = {a.element for a in self._mem.engaged if a.kind == "stop_pump"}
            actions = tuple(Action("stop_pump", p, "lock out the failed pump station for repair")
                            for p in self.plan.pumps if p not in locked)
            self._mem.engaged.extend(actions)
        return self._go(ts, State.BROKEN, reason, actions)

    def _recover(self, ts, reason: str) -> Transition:
        actions = undo_actions(self._mem.engaged, "repair done: return to the normal configuration")
        self._mem.engaged.clear()
        return self._go(ts, State.RECOVERING, reason, actions)

    def _open_incident_explains(self, suspected: tuple[str, ...], pump_failed: bool) -> bool:
        """While a segment stays isolated awaiting repair, anomalies it explains raise no new alarm: without
        a plan or localisation, any anomaly; with them, one whose isolation is already in effect."""
        if not self._mem.engaged or pump_failed:
            return False
        if self.plan is None or not suspected:
            return True
        in_effect = {(a.kind, a.element) for a in self._mem.engaged}
        return {(a.kind, a.element) for a in self.plan.isolate(suspected)} <= in_effect

    def _service_restored(self, obs: Observation, pressure: float | None) -> bool:
        if pressure is not None:
            return pressure >= self.config.min_service_pressure
        return not obs.anomaly and obs.in_normal_band is not False

    def _close_alarms(self, ts) -> None:
        for alarm in self._mem.alarms:
            if alarm.closed is None:
                alarm.closed = ts
