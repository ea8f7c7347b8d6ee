"""Closed-loop simulation of a pump network with faults, sensors and the controller.

Each sampling step EPANET solves the network (:class:`~pumpguard.network.hydraulics.HydraulicEngine`),
the simulator's SCADA (:class:`~pumpguard.network.scada.ClosedLoop`: fixed alarm rules, not a
learned model) builds an :class:`~pumpguard.network.controller.Observation`, the
:class:`~pumpguard.network.controller.Controller` steps, and its actions and the fault schedule are
applied by the :class:`~pumpguard.network.plant.Plant` for the next step. After the run the recorded
state becomes instrument readings (:mod:`pumpguard.network.measurement`) with sensor faults on top.
``machine_status`` is the controller's state through :func:`~pumpguard.network.controller.machine_status`.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd
import wntr

from pumpguard.data.schema import STATUS_COLUMN, STATUS_DTYPE, Dataset, Sensor
from pumpguard.errors import ConfigError
from pumpguard.network import measurement as meas
from pumpguard.network.controller import State, Transition, machine_status
from pumpguard.network.faults import SENSOR_KINDS, Fault, events_frame, resolve_faults
from pumpguard.network.hydraulics import HydraulicEngine
from pumpguard.network.scada import ClosedLoop, ScadaRules
from pumpguard.network.sensors import SensorLayout, default_layout, write_sensors_json
from pumpguard.network.topology import load_network

#: The published pump-sensor data starts here; simulated runs start at the same instant by default.
DEFAULT_START = pd.Timestamp("2018-04-01", tz="UTC")
Progress = Callable[[int, int], None]


@dataclass
class SimulationResult:
    """What :func:`simulate` produced: the data, the ground truth, the controller's history.

    Examples
    --------
    >>> r = simulate(days=0.05, faults="burst@J-S3:start=10min,duration=20min", seed=0)
    >>> r.events[["kind", "element"]].values.tolist(), len(r.sensors)
    ([['burst', 'J-S3']], 50)
    >>> list(r.transitions_frame().columns)
    ['ts', 'from', 'to', 'reason', 'actions', 'alarm_id']
    """

    dataset: Dataset
    events: pd.DataFrame
    transitions: list[Transition]
    sensors: tuple[Sensor, ...]
    layout: SensorLayout
    network: wntr.network.WaterNetworkModel  # as simulated (leak nodes added)
    warnings: dict[int, int] = field(default_factory=dict)  # EPANET warning code -> count

    def transitions_frame(self) -> pd.DataFrame:
        """``controller.csv``: ts, from, to, reason, actions (JSON list), alarm_id."""
        rows = [{"ts": t.ts, "from": t.from_state.value, "to": t.to_state.value, "reason": t.reason,
                 "actions": json.dumps([a.to_dict() for a in t.actions]), "alarm_id": t.alarm_id or ""}
                for t in self.transitions]
        return pd.DataFrame(rows, columns=["ts", "from", "to", "reason", "actions", "alarm_id"])


def _leak_nodes(wn, faults: list[Fault]) -> dict[int, str]:
    """Give each leak/burst a node: the junction itself, or a new node splitting its pipe in half."""
    out: dict[int, str] = {}
    for i, f in enumerate(faults):
        if f.kind not in ("leak", "burst"):
            continue
        if f.location in wn.junction_name_list:
            out[i] = f.location
            continue
        node = f"{f.location}-LEAK"
        if node not in wn.node_name_list:
            start = wn.get_link(f.location).start_node
            wntr.morph.split_pipe(wn, f.location, f"{f.location}-B", node, split_at_point=0.5, return_copy=False)
            wn.get_node(node).elevation = float(start.elevation)
            wn.get_node(node).tag = getattr(start, "tag", None)
        out[i] = node
    return out


def simulate(network="pumpguard", *, days: float, step_seconds: int = 60, faults: str | None = "default",
             seed: int = 0, readable_ids: bool = False, progress: Progress | None = None, noise: bool = True,
             start: pd.Timestamp | str = DEFAULT_START, rules: ScadaRules = ScadaRules()) -> SimulationResult:
    """Simulate ``days`` of a network in closed loop with the controller.

    ``network``: a name (``pumpguard``, ``Net3``), an .inp path or a ``WaterNetworkModel``.
    ``faults``: a spec (see :mod:`pumpguard.network.faults`), a JSON path, ``"default"`` or ``None``.
    ``noise=False`` turns off demand scatter and instrument imperfections (reference checks).
    ``progress(done, total)`` is called about once per simulated day.

    Examples
    --------
    >>> r = simulate(days=0.1, faults="pump_trip:start=10min,duration=30min", seed=1)
    >>> r.dataset.frame.shape
    (144, 51)
    >>> [t.to_state.value for t in r.transitions]
    ['ALARM', 'BROKEN', 'RECOVERING', 'NORMAL']
    """
    if not isinstance(step_seconds, int) or step_seconds <= 0 or 86400 % step_seconds:
        raise ConfigError(f"step {step_seconds!r} s: expected a whole number of seconds that divides a day (e.g. 60)")
    if not isinstance(days, (int, float)) or not days > 0:
        raise ConfigError(f"days {days!r}: expected a positive number of days")
    n = int(round(days * 86400 / step_seconds))
    if n < 2:
        raise ConfigError(f"{days:g} days at a {step_seconds}-s step gives {n} samples; simulate at least 2 steps")
    wn = network if isinstance(network, wntr.network.WaterNetworkModel) else load_network(network)
    name = getattr(wn, "name", "") or "network"
    layout = default_layout(wn)
    fault_list = resolve_faults("none" if faults is None else faults, wn, layout, days)
    sensors = layout.metadata(wn, readable=readable_ids)
    sim_wn = copy.deepcopy(wn)
    sim_wn.name = name
    fault_nodes = _leak_nodes(sim_wn, fault_list)
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp(start)
    t0 = t0.tz_localize("UTC") if t0.tzinfo is None else t0.tz_convert("UTC")
    index = pd.date_range(t0, periods=n, freq=pd.Timedelta(seconds=step_seconds), name="timestamp")
    patterns, shapes = meas.demand_patterns(sim_wn, index, step_seconds, rng if noise else None)
    engine = HydraulicEngine(sim_wn, step_seconds=step_seconds, duration_seconds=(n - 1) * step_seconds,
                             patterns=patterns)
    try:
        loop = ClosedLoop(sim_wn, layout, sensors, engine, fault_list, fault_nodes, index, shapes, rules, rng,
                          progress)
        engine.run(loop.on_step, on_start=loop.on_start)
        warnings = dict(engine.warnings)
    finally:
        engine.close()
    true = loop.true_values()
    values = meas.instrument(true, [s.kind for s in layout.specs], step_seconds, rng) if noise else true
    columns = {i: layout.resolve(f.location) for i, f in enumerate(fault_list) if f.kind in SENSOR_KINDS}
    meas.apply_sensor_faults(values, true, fault_list, columns, step_seconds)
    frame = pd.DataFrame(values, index=index, columns=[s.id for s in sensors])
    frame[STATUS_COLUMN] = pd.Categorical([machine_status(State(s)) for s in loop.state_names()],
                                          dtype=STATUS_DTYPE)
    notes = [f"simulated by pumpguard: network {name}, {days:g} days at {step_seconds} s, seed {seed}",
             f"faults: {'; '.join(f.to_text() for f in fault_list) or 'none'}"]
    if warnings:
        notes.append(f"EPANET warnings (code: count): {warnings}")
    dataset = Dataset.from_frame(frame, sensors=sensors, source=f"pumpguard simulate ({name})", notes=notes)
    elements = {**fault_nodes, **{i: sensors[c].id for i, c in columns.items()}}
    elements.update({i: f.location for i, f in enumerate(fault_list) if f.kind in ("pump_bearing", "pump_trip")})
    ends = {i: pd.Timedelta(seconds=s) for i, s in loop.plant.repaired_at.items()}
    events = events_frame(fault_list, t0, days, elements=elements, ends=ends)
    return SimulationResult(dataset, events, list(loop.controller.history), sensors, layout, sim_wn, warnings)


def write_simulation(result: SimulationResult, out_dir: str | Path, *, data_name: str = "data.csv") -> dict[str, Path]:
    """Write ``data.csv`` (or ``data_name``: ``.csv.gz`` compresses), ``sensors.json``, ``events.csv``,
    ``controller.csv`` and ``network.png``; the readers find the ground truth beside the data by these names."""
    from pumpguard.data import write_csv
    from pumpguard.network.plot import plot_network

    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ConfigError(f"output directory {str(out)!r} cannot be created: {exc}") from None
    paths = {k: out / f for k, f in (("data", data_name), ("sensors", "sensors.json"), ("events", "events.csv"),
                                     ("controller", "controller.csv"), ("picture", "network.png"))}
    write_csv(result.dataset, paths["data"])
    write_sensors_json(result.sensors, result.layout, paths["sensors"])
    events = result.events.copy()
    for col in ("start", "end", "failure"):
        events[col] = [("" if t is None or pd.isna(t) else pd.Timestamp(t).isoformat()) for t in events[col]]
    events.to_csv(paths["events"], index=False)
    tr = result.transitions_frame()
    tr["ts"] = [t.isoformat() for t in tr["ts"]]
    tr.to_csv(paths["controller"], index=False)
    plot_network(result.network, result.sensors, result.events, paths["picture"])
    return paths
