"""The plant around the stepping engine: valves, pumps and fault effects as toolkit commands."""

from __future__ import annotations

import networkx as nx
import numpy as np
import wntr

from pumpguard.errors import SimulationError
from pumpguard.network.faults import PROCESS_KINDS
from pumpguard.network.hydraulics import HydraulicEngine

#: A leak or burst whose segment the controller has shut is repaired this long after (seconds):
#: the crew's travel, excavation and clamp, a typical working shift.
CREW_TIME = 8 * 3600


class Plant:
    """The plant around the engine: turns fault schedules and controller actions into toolkit commands.

    It owns what a real station would: which links are shut (controller's valve actions), which
    pumps are locked out, how the pumps run (normally the network's own level controls; a tripped,
    failed or locked-out duty pump is held off and the first free standby takes over its controls
    at once; without power every pump is off), and the fault effects: leak/burst emitters (zeroed
    while their node is cut off from every source: an isolated segment is depressurised; a crew
    then repairs it ``CREW_TIME`` later, or reports nothing found), blockage minor losses, bearing wear, trips and power loss.
    Times are seconds from the start of the run.

    Examples
    --------
    >>> from pumpguard.network.faults import parse_faults
    >>> from pumpguard.network.topology import load_network
    >>> wn = load_network()
    >>> engine = HydraulicEngine(wn, step_seconds=60, duration_seconds=600)
    >>> plant = Plant(engine, wn, parse_faults("pump_trip:start=2min,duration=3min"), {}, "PUMP-1")
    >>> plant.schedule(10, 60)
    >>> [plant.duty_fault(60 * k) for k in range(6)], plant.repaired_between(240, 300)
    ([False, False, True, True, True, False], True)
    >>> plant.apply_action("close_valve", "V-M1")
    >>> sorted(plant.closed)
    ['V-B1', 'V-M1']
    >>> engine.close()
    """

    def __init__(self, engine: HydraulicEngine, wn: wntr.network.WaterNetworkModel, faults, fault_nodes: dict[int, str],
                 duty_pump: str | None) -> None:
        self.engine, self.wn, self.duty = engine, wn, duty_pump
        self.pumps = sorted(wn.pump_name_list)
        closed = wntr.network.LinkStatus.Closed
        self.closed = {n for n, lk in wn.links() if lk.initial_status == closed and n not in wn.pump_name_list}
        self.lockout: set[str] = set()
        self.mode: dict[str, tuple] = {p: (p, None) for p in self.pumps}
        self.auto_open = {p: wn.get_link(p).initial_status != closed for p in self.pumps}
        self.tcv = {v for v in wn.valve_name_list if wn.get_link(v).valve_type == "TCV"}
        self.tcv_k = {v: float(wn.get_link(v).initial_setting or 0.0) for v in self.tcv}
        self.minor = {p: float(wn.get_link(p).minor_loss) for p in list(wn.pipe_name_list) + list(wn.valve_name_list)}
        self.faults = list(faults)
        self.secs = [(int(f.start.total_seconds()), None if f.end is None else int(f.end.total_seconds()))
                     for f in self.faults]
        self.fault_nodes = fault_nodes
        self.emitter = {node: 0.0 for node in fault_nodes.values()}
        self.blocked: dict[str, float] = {}
        self._graph = nx.MultiGraph()
        self._graph.add_nodes_from(wn.node_name_list)
        for name, link in wn.links():
            self._graph.add_edge(link.start_node_name, link.end_node_name, key=name)
        self._sources = list(wn.reservoir_name_list) + list(wn.tank_name_list)
        self.connected: frozenset[str] = frozenset()
        self._topology_changed = True
        self._crew_called = False

    # -- fault state (precomputed per step: the schedule is known before the run) -------------
    def schedule(self, n_steps: int, step_seconds: int) -> None:
        """Tabulate every fault's effect at ``t = k * step`` for ``k = 0..n_steps``."""
        self.step = step_seconds
        t = np.arange(n_steps + 1, dtype=np.int64) * step_seconds
        self._power = np.ones(len(t), dtype=bool)
        self._duty_fault = np.zeros(len(t), dtype=bool)
        self._wear = np.zeros(len(t))
        self._repaired = np.zeros(len(t), dtype=bool)
        self._size = {node: np.zeros(len(t)) for node in self.emitter}
        self._fault_size: dict[int, np.ndarray] = {}
        self.repaired_at: dict[int, int] = {}  # fault -> time (s) a crew finished it early
        self._block = {f.location: np.full(len(t), np.nan) for f in self.faults if f.kind == "blockage"}
        for i, f in enumerate(self.faults):
            start, end = self.secs[i]
            active = (t >= start) & ((t < end) if end is not None else True)
            if end is not None and f.kind in PROCESS_KINDS:
                self._repaired |= (t - step_seconds < end) & (end <= t)
            if f.kind == "power_loss":
                self._power &= ~active
            elif f.kind == "pump_trip":
                self._duty_fault |= active
            elif f.kind == "pump_bearing":
                fail = int(f.failure.total_seconds())
                self._duty_fault |= active & (t >= fail)
                frac = np.clip((t - start) / (fail - start), 0.0, 1.0)
                self._wear = np.maximum(self._wear, np.where(active, f.severity * frac ** 2, 0.0))
            elif f.kind in ("leak", "burst"):
                size = np.full(len(t), f.severity)
                if f.kind == "leak" and f.growth is not None:
                    size = f.severity * np.clip((t - start) / f.growth.total_seconds(), 0.0, 1.0)
                self._fault_size[i] = np.where(active, size, 0.0)
                self._size[self.fault_nodes[i]] += self._fault_size[i]
            elif f.kind == "blockage":
                self._block[f.location] = np.where(active, f.severity, self._block[f.location])

    def _k(self, t: int) -> int:
        return t // self.step

    def power_on(self, t: int) -> bool:
        return bool(self._power[self._k(t)])

    def duty_fault(self, t: int) -> bool:
        """Whether the duty pump cannot run at ``t`` (tripped, or its bearing has failed)."""
        return bool(self._duty_fault[self._k(t)])

    def wear(self, t: int) -> float:
        """Bearing wear 0..severity: grows as the square of elapsed wear time, 0 once repaired."""
        return float(self._wear[self._k(t)])

    def repaired_between(self, after: int, until: int) -> bool:
        """Whether a process fault's repair completes in ``(after, until]`` (maintenance reports it)."""
        return bool(self._repaired[self._k(until)])

    # -- commands -------------------------------------------------------------------------------
    def apply_action(self, kind: str, element: str) -> None:
        """Carry out a controller action (acts from the next solved step)."""
        if kind in ("close_valve", "open_valve"):
            if element not in self.wn.link_name_list:
                raise SimulationError(f"controller asked to {kind} {element!r}, which is not a link of the network")
            if kind == "close_valve":
                self.closed.add(element)
                self._crew_called = True
                self.engine.set_link_open(element, False)
            else:
                self.closed.discard(element)
                if element in self.tcv:  # a TCV opens by taking its setting (loss coefficient) again
                    self.engine.set_link_setting(element, self.blocked.get(element, self.tcv_k[element]))
                else:
                    self.engine.set_link_open(element, True)
            self._topology_changed = True
        elif kind in ("stop_pump", "start_pump"):
            if element not in self.pumps:
                raise SimulationError(f"controller asked to {kind} {element!r}, which is not a pump")
            (self.lockout.add if kind == "stop_pump" else self.lockout.discard)(element)

    def _set_mode(self, pump: str, mode: tuple[str | None, bool | None]) -> None:
        """``mode`` = (where the pump's own controls point, status to set: None = the normal one)."""
        if self.mode[pump] == mode:
            return
        self.mode[pump] = mode
        target, is_open = mode
        self.engine.route_controls(pump, target)
        self.engine.set_link_open(pump, self.auto_open[pump] if is_open is None else is_open)

    def update(self, t: int) -> None:
        """Set every fault effect and pump mode for the solution at ``t``."""
        k = self._k(t)
        power = bool(self._power[k])
        duty_down = bool(self._duty_fault[k]) or (self.duty in self.lockout)
        stand_in = None
        if power and duty_down:  # automatic changeover: a standby takes over the duty pump's controls
            stand_in = next((p for p in self.pumps if p != self.duty and p not in self.lockout), None)
        for p in self.pumps:
            if p == self.duty:
                mode = (stand_in, False) if (duty_down or not power) else (p, None)
            elif not power or p in self.lockout:
                mode = (None, False)
            elif p == stand_in:
                mode = (None, True)
            else:
                mode = (p, None)
            self._set_mode(p, mode)
        for link, ks in self._block.items():
            value = ks[k]
            self._set_block(link, None if value != value else float(value))
        if self._topology_changed:
            self._refresh_connectivity()
            self._dispatch_crews(k)
        for node, sizes in self._size.items():
            c = sizes[k] if node in self.connected else 0.0
            if c != self.emitter[node]:
                self.engine.set_emitter(node, c)
                self.emitter[node] = c

    def _dispatch_crews(self, k: int) -> None:
        """The controller shut a segment: a crew goes out and reports back ``CREW_TIME`` later.

        A leak or burst it finds cut off is repaired then (unless its own end comes sooner); if it
        finds nothing (the segment was the wrong one) it still reports the work done, so the
        controller reopens the valves.
        """
        if not self._crew_called:
            return
        self._crew_called = False
        crew = max(1, CREW_TIME // self.step)
        done = k + crew
        if done < len(self._repaired):
            self._repaired[done] = True
        for i, node in self.fault_nodes.items():
            if node in self.connected or i in self.repaired_at or not self._fault_size[i][k] > 0:
                continue
            end = self.secs[i][1]
            if end is not None and end // self.step <= done:
                continue
            self.repaired_at[i] = done * self.step
            self._size[node][done:] -= self._fault_size[i][done:]
            self._fault_size[i][done:] = 0.0

    def _set_block(self, link: str, k: float | None) -> None:
        if self.blocked.get(link) == k or (k is None and link not in self.blocked):
            return
        if k is None:
            self.blocked.pop(link, None)
        else:
            self.blocked[link] = k
        if link in self.tcv:
            if link not in self.closed:
                self.engine.set_link_setting(link, self.blocked.get(link, self.tcv_k[link]))
        else:
            self.engine.set_minor_loss(link, self.minor[link] + (k or 0.0))

    def _refresh_connectivity(self) -> None:
        g = nx.MultiGraph()
        g.add_nodes_from(self._graph.nodes)
        for a, b, key in self._graph.edges(keys=True):
            if key in self.closed:  # shut by the controller (or normally closed); pumps always count
                continue
            g.add_edge(a, b, key=key)
        reach: set[str] = set()
        for s in self._sources:
            if s not in reach:
                reach |= nx.node_connected_component(g, s)
        self.connected = frozenset(reach)
        self._topology_changed = False
