"""The controller state machine: scripted scenarios and property-based invariants."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pumpguard.errors import ConfigError, DataFormatError
from pumpguard.network.controller import (
    LEGAL_EDGES,
    Action,
    Controller,
    ControllerConfig,
    Observation,
    State,
    machine_status,
)

T0 = pd.Timestamp("2026-03-01 00:00", tz="UTC")


def at(minutes: float) -> pd.Timestamp:
    return T0 + pd.Timedelta(minutes=minutes)


class FakePlan:
    """Closes V1, V2 around anything and opens the bypass; knows one pump."""

    pumps = ("PU1",)

    def __init__(self, alternate: bool = True) -> None:
        self.alternate = alternate

    def isolate(self, suspected):
        return (Action("close_valve", "V1", f"isolate {suspected[0]}"),
                Action("close_valve", "V2", f"isolate {suspected[0]}"),
                Action("open_valve", "BYPASS", "alternate route"))

    def has_alternate_route(self, suspected):
        return self.alternate


def edges(transitions):
    return [(t.from_state, t.to_state) for t in transitions]


def test_leak_isolated_service_restored_then_repaired():
    c = Controller(FakePlan(), ControllerConfig(debounce=3))
    assert c.step(Observation(at(0), anomaly=True, suspected=("P5",))) == []
    assert c.step(Observation(at(1), anomaly=True, suspected=("P5",))) == []
    assert c.debounce_count == 2
    trs = c.step(Observation(at(2), anomaly=True, score=7.5, suspected=("P5", "J3")))
    assert edges(trs) == [(State.NORMAL, State.ALARM), (State.ALARM, State.ISOLATING)]
    assert trs[0].alarm_id == "A-0001" and "P5" in trs[0].reason
    assert [(a.kind, a.element) for a in trs[1].actions] == [
        ("close_valve", "V1"), ("close_valve", "V2"), ("open_valve", "BYPASS")]
    # the observation that triggered isolation cannot judge it; the next one does
    assert c.step(Observation(at(3), anomaly=True, min_service_pressure=12.0)) == []
    trs = c.step(Observation(at(4), anomaly=False, min_service_pressure=24.0))
    assert edges(trs) == [(State.ISOLATING, State.NORMAL)]
    assert c.active_alarm is not None and len(c.engaged_actions) == 3  # awaiting repair
    trs = c.step(Observation(at(60), anomaly=False, repaired=True))
    assert edges(trs) == [(State.NORMAL, State.RECOVERING)]
    assert [(a.kind, a.element) for a in trs[0].actions] == [
        ("close_valve", "BYPASS"), ("open_valve", "V2"), ("open_valve", "V1")]
    assert c.step(Observation(at(61), anomaly=False, in_normal_band=True)) == []
    assert c.step(Observation(at(80), anomaly=False, in_normal_band=False)) == []  # resets the hold
    assert c.step(Observation(at(81), anomaly=False, in_normal_band=True)) == []
    trs = c.step(Observation(at(111), anomaly=False, in_normal_band=True))
    assert edges(trs) == [(State.RECOVERING, State.NORMAL)]
    assert c.active_alarm is None and c.engaged_actions == ()


def test_debounce_resets_on_a_normal_observation():
    c = Controller(config=ControllerConfig(debounce=2))
    for i, flag in enumerate([True, False, True, False, True]):
        assert c.step(Observation(at(i), anomaly=flag)) == []
    assert c.state is State.NORMAL


def test_pump_failure_goes_broken_with_lockout_and_restart():
    c = Controller(FakePlan(), ControllerConfig(debounce=2))
    c.step(Observation(at(0), anomaly=False, pump_ok=False))
    trs = c.step(Observation(at(1), anomaly=True, pump_ok=False))
    assert edges(trs) == [(State.NORMAL, State.ALARM), (State.ALARM, State.BROKEN)]
    assert [(a.kind, a.element) for a in trs[1].actions] == [("stop_pump", "PU1")]
    assert machine_status(c.state) == "BROKEN"
    trs = c.step(Observation(at(300), anomaly=True, repaired=True))
    assert edges(trs) == [(State.BROKEN, State.RECOVERING)]
    assert [(a.kind, a.element) for a in trs[0].actions] == [("start_pump", "PU1")]


def test_no_alternate_route_is_broken_but_isolation_stays():
    c = Controller(FakePlan(alternate=False), ControllerConfig(debounce=1))
    trs = c.step(Observation(at(0), anomaly=True, suspected=("P9",)))
    assert edges(trs) == [(State.NORMAL, State.ALARM), (State.ALARM, State.ISOLATING),
                          (State.ISOLATING, State.BROKEN)]
    assert "no alternate route" in trs[-1].reason
    assert len(c.engaged_actions) == 3


def test_isolation_timeout_is_broken():
    c = Controller(FakePlan(), ControllerConfig(debounce=1, isolation_timeout=pd.Timedelta(minutes=10)))
    c.step(Observation(at(0), anomaly=True, suspected=("P1",)))
    assert c.step(Observation(at(9), anomaly=True, min_service_pressure=5.0)) == []
    trs = c.step(Observation(at(10), anomaly=True, min_service_pressure=5.0))
    assert edges(trs) == [(State.ISOLATING, State.BROKEN)] and "10" in trs[0].reason


def test_without_plan_or_pressure_service_judged_from_anomaly():
    c = Controller(config=ControllerConfig(debounce=1))
    trs = c.step(Observation(at(0), anomaly=True))
    assert trs[-1].actions == () and "no isolation plan" in trs[-1].reason
    trs = c.step(Observation(at(1), anomaly=False))
    assert edges(trs) == [(State.ISOLATING, State.NORMAL)]
    assert c.active_alarm is None  # nothing isolated: the incident is over


def test_acknowledge_records_and_optionally_releases_isolation():
    c = Controller(FakePlan(), ControllerConfig(debounce=1))
    c.step(Observation(at(0), anomaly=True, suspected=("P1",)))
    assert c.acknowledge("A-0001", by="alice", ts=at(1)) == []
    assert c.alarms[0].acknowledged_by == "alice" and c.alarms[0].acknowledged == at(1)
    assert c.state is State.ISOLATING
    with pytest.raises(ConfigError, match="A-0009"):
        c.acknowledge("A-0009", by="bob", ts=at(2))

    held = Controller(FakePlan(), ControllerConfig(debounce=1, require_acknowledge=True))
    assert edges(held.step(Observation(at(0), anomaly=True, suspected=("P1",)))) == [
        (State.NORMAL, State.ALARM)]
    held.step(Observation(at(1), anomaly=True))
    assert held.state is State.ALARM
    trs = held.acknowledge("A-0001", by="bob", ts=at(2))
    assert edges(trs) == [(State.ALARM, State.ISOLATING)] and len(trs[0].actions) == 3


def test_force_takes_any_edge_and_is_recorded():
    c = Controller()
    tr = c.force(State.BROKEN, reason="maintenance window", ts=at(0), by="ops")
    assert tr.forced and tr.by == "ops" and "maintenance window" in tr.reason
    assert (tr.from_state, tr.to_state) not in LEGAL_EDGES
    assert c.history[-1] == tr


def test_bad_input_has_one_clear_error():
    c = Controller()
    c.step(Observation(at(5), anomaly=False))
    with pytest.raises(DataFormatError, match="earlier"):
        c.step(Observation(at(4), anomaly=False))
    with pytest.raises(ConfigError, match="debounce"):
        ControllerConfig(debounce=0)
    with pytest.raises(DataFormatError, match="format"):
        Controller.restore({"state": "NORMAL"})
    with pytest.raises(ConfigError, match="kind"):
        Action("open_tap", "V1")


def test_machine_status_mapping():
    assert [machine_status(s) for s in State] == ["NORMAL", "NORMAL", "NORMAL", "BROKEN", "RECOVERING"]


# -- property-based invariants ---------------------------------------------------------------------

observations = st.lists(
    st.tuples(
        st.integers(0, 15),  # minutes since the previous event
        st.sampled_from(["obs", "obs", "obs", "obs", "ack", "force"]),
        st.booleans(),  # anomaly
        st.sampled_from([None, 5.0, 30.0]),  # min service pressure
        st.sampled_from([None, True, True, False]),  # pump ok
        st.sampled_from([None, True, False]),  # in band
        st.booleans(),  # repaired
        st.sampled_from([(), ("P1",), ("J2", "P1")]),
        st.sampled_from(list(State)),
    ),
    max_size=40,
)
configs = st.builds(ControllerConfig, debounce=st.integers(1, 4),
                    isolation_timeout=st.sampled_from([pd.Timedelta(minutes=m) for m in (0, 5, 10)]),
                    hold_time=st.sampled_from([pd.Timedelta(minutes=m) for m in (0, 10, 30)]),
                    recovery_settle=st.sampled_from([pd.Timedelta(minutes=m) for m in (0, 10)]),
                    require_acknowledge=st.booleans())


def play(c: Controller, script, start: pd.Timestamp) -> tuple[list, pd.Timestamp]:
    out, ts = [], start
    for gap, what, anomaly, pressure, pump_ok, band, repaired, suspected, target in script:
        ts = ts + pd.Timedelta(minutes=gap)
        if what == "ack":
            open_ids = [a.id for a in c.alarms if a.closed is None]
            out.append(("ack", c.acknowledge(open_ids[-1], by="op", ts=ts) if open_ids else None))
        elif what == "force":
            out.append(("force", c.force(target, reason="test", ts=ts, by="op")))
        else:
            obs = Observation(ts, anomaly, None, suspected, pressure, pump_ok, band, repaired)
            out.append(("obs", c.step(obs)))
    return out, ts


@settings(max_examples=150, deadline=None)
@given(config=configs, alternate=st.booleans(), script=observations)
def test_invariants_hold_for_any_sequence(config, alternate, script):
    c = Controller(FakePlan(alternate), config)
    play(c, script, T0)
    last = None
    for tr in c.history:
        assert tr.forced or (tr.from_state, tr.to_state) in LEGAL_EDGES
        assert last is None or tr.ts >= last
        last = tr.ts
    for before, after in zip(c.history, c.history[1:]):
        assert after.from_state == before.to_state
    ids = [a.id for a in c.alarms]
    assert ids == [f"A-{i:04d}" for i in range(1, len(ids) + 1)]


@settings(max_examples=150, deadline=None)
@given(config=configs, alternate=st.booleans(), prefix=observations, suffix=observations)
def test_snapshot_restore_gives_the_same_future(config, alternate, prefix, suffix):
    c = Controller(FakePlan(alternate), config)
    _, ts = play(c, prefix, T0)
    snap = json.loads(json.dumps(c.snapshot()))  # through JSON, as a retained MQTT message would
    twin = Controller.restore(snap, FakePlan(alternate), config)
    assert twin.snapshot() == c.snapshot()
    assert twin.state is c.state and twin.history == c.history
    assert play(c, suffix, ts)[0] == play(twin, suffix, ts)[0]
    assert twin.snapshot() == c.snapshot()


def test_an_isolated_incident_awaiting_repair_raises_no_alarm_storm():
    c = Controller(FakePlan(), ControllerConfig(debounce=2))
    c.step(Observation(at(0), anomaly=True, suspected=("P5",)))
    c.step(Observation(at(1), anomaly=True))  # suspected remembered from the debounce run
    assert c.alarms[0].suspected == ("P5",)
    c.step(Observation(at(2), anomaly=True, min_service_pressure=25.0))
    assert c.state is State.NORMAL and len(c.engaged_actions) == 3
    for i in range(3, 20):  # the isolated leak still disturbs the detector
        assert c.step(Observation(at(i), anomaly=True, suspected=("P5",))) == []
    assert len(c.alarms) == 1
    # a pump failure is a new incident even so
    c.step(Observation(at(20), anomaly=True, pump_ok=False))
    trs = c.step(Observation(at(21), anomaly=True, pump_ok=False))
    assert edges(trs) == [(State.NORMAL, State.ALARM), (State.ALARM, State.BROKEN)]
    assert trs[0].alarm_id == "A-0002"
    trs = c.step(Observation(at(90), anomaly=False, repaired=True))
    assert [a.kind for a in trs[0].actions] == ["start_pump", "close_valve", "open_valve", "open_valve"]


def test_a_new_incident_elsewhere_adds_only_new_actions():
    class TwoSegments(FakePlan):
        def isolate(self, suspected):
            valves = ("V1", "V2") if suspected[0].startswith("P") else ("V2", "V3")
            return tuple(Action("close_valve", v, f"isolate {suspected[0]}") for v in valves)

    c = Controller(TwoSegments(), ControllerConfig(debounce=1))
    c.step(Observation(at(0), anomaly=True, suspected=("P1",)))
    c.step(Observation(at(1), anomaly=False, min_service_pressure=30.0))
    trs = c.step(Observation(at(2), anomaly=True, suspected=("J7",)))
    assert edges(trs) == [(State.NORMAL, State.ALARM), (State.ALARM, State.ISOLATING)]
    assert [a.element for a in trs[-1].actions] == ["V3"]
    assert [a.element for a in c.engaged_actions] == ["V1", "V2", "V3"]


def test_forced_recovery_undoes_engaged_actions_when_it_completes():
    c = Controller(FakePlan(), ControllerConfig(debounce=1, hold_time=pd.Timedelta(minutes=5)))
    c.step(Observation(at(0), anomaly=True, suspected=("P1",)))
    c.force(State.RECOVERING, reason="crew fixed it, valves stay until checked", ts=at(1), by="ops")
    assert len(c.engaged_actions) == 3
    c.step(Observation(at(2), anomaly=False, in_normal_band=True))
    trs = c.step(Observation(at(7), anomaly=False, in_normal_band=True))
    assert edges(trs) == [(State.RECOVERING, State.NORMAL)] and len(trs[0].actions) == 3
    assert c.engaged_actions == () and c.active_alarm is None


def test_restore_mid_debounce_and_with_an_open_alarm():
    config = ControllerConfig(debounce=3)
    c = Controller(FakePlan(), config)
    c.step(Observation(at(0), anomaly=True, suspected="P7"))  # a bare name is one element
    c.step(Observation(at(1), anomaly=True))
    twin = Controller.restore(json.loads(json.dumps(c.snapshot(include_history=False))), FakePlan(), config)
    assert twin.debounce_count == 2 and twin.history == []
    trs = twin.step(Observation(at(2), anomaly=True))
    assert edges(trs) == [(State.NORMAL, State.ALARM), (State.ALARM, State.ISOLATING)]
    assert twin.alarms[0].suspected == ("P7",)
    again = Controller.restore(json.loads(json.dumps(twin.snapshot())), FakePlan(), config)
    assert again.active_alarm == twin.active_alarm and again.engaged_actions == twin.engaged_actions
    assert again.acknowledge("A-0001", by="op", ts=at(3)) == []
    assert again.alarms[0].acknowledged_by == "op"


def test_a_repair_while_the_pump_still_cannot_run_waits_for_the_pump():
    c = Controller(FakePlan(), ControllerConfig(debounce=1))
    c.step(Observation(at(0), anomaly=True, pump_ok=False))
    assert c.state is State.BROKEN
    # a burst elsewhere is repaired while the pump is still down: stay BROKEN, remember the repair
    assert c.step(Observation(at(60), anomaly=True, pump_ok=False, repaired=True)) == []
    assert c.snapshot()["repair_pending"] is True
    trs = c.step(Observation(at(61), anomaly=False, pump_ok=True))
    assert edges(trs) == [(State.BROKEN, State.RECOVERING)]
    assert [a.kind for a in trs[0].actions] == ["start_pump"]


def test_a_new_fault_during_recovery_is_alarmed_after_the_settling_time():
    config = ControllerConfig(debounce=2, recovery_settle=pd.Timedelta(minutes=10))
    c = Controller(FakePlan(), config)
    c.force(State.BROKEN, reason="test", ts=at(0), by="ops")
    c.step(Observation(at(1), anomaly=False, repaired=True))
    for i in range(2, 11):  # settling: anomalies expected, no alarm
        assert c.step(Observation(at(i), anomaly=True)) == []
    assert c.step(Observation(at(11), anomaly=True, suspected=("P3",))) == []
    trs = c.step(Observation(at(12), anomaly=True))
    assert edges(trs) == [(State.RECOVERING, State.ALARM), (State.ALARM, State.ISOLATING)]
    assert c.alarms[-1].suspected == ("P3",)


def test_forcing_alarm_raises_one_that_is_isolated_next_step():
    c = Controller(FakePlan(), ControllerConfig())
    tr = c.force(State.ALARM, reason="crew saw water on the road", ts=at(0), by="ops", suspected=["P2"])
    assert tr.alarm_id == "A-0001" and c.alarms[0].acknowledged_by == "ops"
    trs = c.step(Observation(at(1), anomaly=False))
    assert edges(trs) == [(State.ALARM, State.ISOLATING)] and len(trs[0].actions) == 3


def test_observation_round_trips_through_json():
    obs = Observation(at(3), anomaly=True, score=2.5, suspected=("P1", "J2"), min_service_pressure=18.0,
                      pump_ok=True, in_normal_band=False, repaired=False)
    assert Observation.from_dict(json.loads(json.dumps(obs.to_dict()))) == obs
