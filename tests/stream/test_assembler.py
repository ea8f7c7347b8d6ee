"""Rows from node readings: the grid, the tolerance, and data-quality events for late/missing nodes."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import pytest

from pumpguard.errors import ConfigError
from pumpguard.stream.assembler import NodeBinding, RowAssembler
from pumpguard.stream.codec import NodeReading

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
S = timedelta(seconds=1)
NODES = {
    "J1": NodeBinding("pump_a", "p_J1", "m"),
    "J2": NodeBinding("pump_a", "p_J2", "m"),
    "J3": NodeBinding("pump_a", "p_J3", "m"),
    "K1": NodeBinding("pump_b", "p_K1"),
}


def reading(node, seconds, value=1.0, unit="m"):
    return NodeReading("plant1", node, T0 + seconds * S, value, unit)


@pytest.fixture()
def asm():
    return RowAssembler(NODES, period=60 * S)


def test_complete_row_goes_out_at_once_within_tolerance(asm):
    assert asm.add(reading("J1", 14.9)) == ([], [])  # 14.9 s off: inside the 15 s default tolerance
    assert asm.add(reading("J2", -10, 2.0)) == ([], [])
    rows, events = asm.add(reading("J3", 0.5, 3.0))
    assert events == [] and len(rows) == 1
    assert rows[0].ts == T0 and rows[0].asset == "pump_a" and rows[0].site == "plant1"
    assert rows[0].values == {"p_J1": 1.0, "p_J2": 2.0, "p_J3": 3.0}


def test_reading_outside_tolerance_is_off_grid(asm):
    rows, events = asm.add(reading("J1", 20))
    assert rows == [] and [e.kind for e in events] == ["off_grid"]
    assert "tolerance 15 s" in events[0].detail


def test_configurable_tolerance():
    asm = RowAssembler(NODES, period=60 * S, tolerance=2 * S)
    assert asm.add(reading("J1", 3))[1][0].kind == "off_grid"
    assert asm.add(reading("J1", 2))[1] == []


def test_missing_node_closes_the_row_after_wait_with_an_event(asm):
    asm.add(reading("J1", 0))
    asm.add(reading("J2", 0))
    assert asm.add(reading("J1", 60)) == ([], [])  # the next row is due: still waiting for J3
    rows, events = asm.add(reading("J1", 119))  # more than one period after T0, not after T0 + 60
    assert [r.ts for r in rows] == [T0]
    assert rows[0].values == {"p_J1": 1.0, "p_J2": 1.0}  # J3 absent: NaN for the detector, not a guess
    (event,) = events
    assert (event.kind, event.asset, event.ts, event.nodes) == ("missing", "pump_a", T0, ("J3",))
    assert event.to_payload()["nodes"] == ["J3"]


def test_late_reading_after_the_row_was_sent_is_an_event_not_a_second_row(asm):
    asm.add(reading("J1", 0))
    asm.add(reading("J1", 121))  # closes T0 without J2, J3
    rows, events = asm.add(reading("J2", 1))
    assert rows == [] and [e.kind for e in events] == ["late"]
    asm.add(reading("J2", 120))
    rows, events = asm.add(reading("J3", 119))
    assert len(rows) == 1 and rows[0].ts == T0 + 120 * S
    assert [e.kind for e in asm.add(reading("J3", 121))[1]] == ["late"]  # row already complete and sent


def test_assets_are_assembled_apart(asm):
    rows, _ = asm.add(reading("K1", 0, 5.0, unit=""))  # pump_b has one node: complete at once
    assert [(r.asset, r.values) for r in rows] == [("pump_b", {"p_K1": 5.0})]


def test_redelivery_is_harmless_and_a_different_value_is_a_conflict(asm):
    asm.add(reading("J1", 0, 1.0))
    assert asm.add(reading("J1", 0, 1.0)) == ([], [])
    assert asm.repeats == 1
    _, events = asm.add(reading("J1", 1, 9.0))
    assert [e.kind for e in events] == ["conflict"]
    asm.add(reading("J2", 0)), asm.add(reading("J3", 0))
    rows, _ = asm.flush()
    assert rows == []  # the row went out when J3 arrived


def test_unit_and_unknown_node(asm):
    assert [e.kind for e in asm.add(reading("J1", 0, unit="bar"))[1]] == ["unit"]
    assert [e.kind for e in asm.add(reading("Z9", 0))[1]] == ["unknown_node"]


def test_missing_value_is_nan_and_flush_closes_everything(asm):
    asm.add(reading("J1", 0, float("nan")))
    rows, events = asm.flush()
    assert math.isnan(rows[0].values["p_J1"]) and events[0].nodes == ("J2", "J3")


def test_advance_by_wall_clock_when_all_nodes_are_silent(asm):
    asm.add(reading("J1", 0))
    assert asm.advance(T0 + 30 * S) == ([], [])
    rows, events = asm.advance(T0 + 61 * S)
    assert len(rows) == 1 and events[0].kind == "missing"


@pytest.mark.parametrize("kwargs", [dict(period=0 * S), dict(period=60 * S, tolerance=30 * S), dict(period=60 * S, wait=-S)])
def test_bad_parameters(kwargs):
    with pytest.raises(ConfigError):
        RowAssembler(NODES, **kwargs)


def test_config_from_json():
    from pumpguard.stream.assembler import assembler_from_config

    asm = assembler_from_config({"period_s": 60, "tolerance_s": 5, "wait_s": 120,
                                 "nodes": {"J1": {"asset": "a", "sensor": "s1"}}})
    assert (asm.tolerance, asm.wait, asm.nodes["J1"].unit) == (5 * S, 120 * S, "")
    for bad, message in [
        ([], "expected an object"),
        ({"nodes": {"J1": {"asset": "a", "sensor": "s"}}}, "'period_s'"),
        ({"period_s": "60", "nodes": {}}, "expected a number"),
        ({"period_s": 60, "nodes": {"J1": {"asset": "a"}}}, "node 'J1' needs"),
    ]:
        with pytest.raises(ConfigError, match=message):
            assembler_from_config(bad)
