"""The simulator's SCADA: fixed alarm rules read the plant every step and feed the controller.

:class:`ScadaRules` holds the rules' thresholds; :class:`ClosedLoop` is the per-step callback of the
engine: it records the hydraulic state, evaluates the rules, builds an
:class:`~pumpguard.network.controller.Observation`, steps the controller and hands its actions to
the :class:`~pumpguard.network.plant.Plant`, which applies them (and the fault schedule) for the next
step. After the run :meth:`ClosedLoop.true_values` gives what each sensor would read without
instrument error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd
from wntr.epanet.util import EN

from pumpguard.network import measurement as meas
from pumpguard.network.controller import Controller, ControllerConfig, Observation, State
from pumpguard.network.faults import SENSOR_KINDS
from pumpguard.network.isolation import build_isolation_plan
from pumpguard.network.localisation import rank_locations
from pumpguard.network.plant import Plant

_STATES = list(State)


@dataclass(frozen=True)
class ScadaRules:
    """The station's alarm rules, and how their alarms are handled.

    * ``water_balance``: supply (the flow of every link at a reservoir or tank: the station and tank
      meters) minus the demand model's prediction for the junctions in service, both smoothed over
      ``balance_tau`` (15 min), above ``balance_rel`` x predicted demand + ``balance_abs``. 10 % is
      about 4 standard deviations of the demand model's error (4 % AR(1) scatter per pattern, mixed
      over the zones); 1.5 L/s covers the meters. A leak shows first at night, when demand is lowest.
    * ``low_pressure``: the lowest in-service pressure logger at a demand junction is below
      ``low_pressure`` (20 m, the controller's minimum service head).
    * ``vibration``: the duty pump's vibration RMS, smoothed over 10 min, above 4.5 mm/s
      (ISO 10816-3 group 2, zone C/D boundary).

    A rule's alarm is annunciated once: when the controller raises an alarm while the rule is
    active, the rule is latched (a standing alarm) and counts as a new anomaly only after it has
    been clear for its clear time: a day for the water balance (a leak's excess hides under the
    daytime demand and shows again every night: the night-flow check is a daily one), 6 h for
    vibration, 30 min for low pressure. ``suspected`` comes from
    :func:`~pumpguard.network.localisation.rank_locations` over the pressure loggers' drop (against
    the same time yesterday and against the step before the anomaly began, common mode removed).
    """

    balance_tau: float = 900.0
    balance_rel: float = 0.10
    balance_abs: float = 1.5
    low_pressure: float = 20.0
    vibration: float = meas.VIBRATION_ALARM
    vibration_tau: float = 600.0
    clear_water_balance: float = 86400.0
    clear_low_pressure: float = 1800.0
    clear_vibration: float = 21600.0


_RULES = ("water_balance", "low_pressure", "vibration")
#: Pressures this many steps before an anomaly began are the reference for localisation
#: (longer than the smoothing of the water balance, so the reference predates the fault).
LOOKBACK_STEPS = 15


class ClosedLoop:
    """The per-step callback: record, judge, control, actuate (built and run by :func:`simulate`).

    Examples
    --------
    >>> from pumpguard.network.simulate import simulate
    >>> simulate(days=0.02, faults=None).transitions  # a quiet half hour: nothing to do
    []
    """

    def __init__(self, wn, layout, sensors, engine, faults, fault_nodes, index: pd.DatetimeIndex,
                 shapes: dict[str, np.ndarray], rules: ScadaRules, rng: np.random.Generator,
                 progress: Callable[[int, int], None] | None) -> None:
        self.wn, self.layout, self.sensors, self.engine = wn, layout, sensors, engine
        self.faults, self.index, self.shapes, self.rules = faults, index, shapes, rules
        self.step = int((index[1] - index[0]).total_seconds())
        self.stamps = list(index)
        self.progress = progress
        n = len(index)
        specs = layout.specs
        self.p_sites = list(dict.fromkeys(s.element for s in specs if s.quantity == "pressure"))
        self.f_links = list(dict.fromkeys(s.element for s in specs if s.quantity == "flow"))
        self.tanks = list(dict.fromkeys(s.element for s in specs if s.quantity == "level"))
        self.pumps = sorted(wn.pump_name_list)
        self.p_ix, self.f_ix = engine.node_indices(self.p_sites), engine.link_indices(self.f_links)
        self.l_ix = engine.node_indices(self.tanks)
        self.P, self.F, self.L = np.zeros((n, len(self.p_sites))), np.zeros((n, len(self.f_links))), np.zeros((n, len(self.tanks)))
        self.PQ, self.PH, self.PS = (np.zeros((n, len(self.pumps))) for _ in range(3))
        self.PR = np.zeros((n, len(self.pumps)), dtype=bool)
        self.W = np.zeros(n)
        self.CONN = np.ones((n, len(self.p_sites)), dtype=bool)
        self.state_codes = np.zeros(n, dtype=np.int8)
        self.plant = Plant(engine, wn, faults, fault_nodes, layout.duty_pump)
        self.plant.schedule(n, self.step)
        self.a_bal = 1.0 - float(np.exp(-self.step / rules.balance_tau))
        self.a_vib = 1.0 - float(np.exp(-self.step / rules.vibration_tau))
        self.pump_ix = engine.link_indices(self.pumps)
        self.pump_ends = [tuple(engine.node_indices([wn.get_link(p).start_node_name, wn.get_link(p).end_node_name]))
                          for p in self.pumps]
        self.duty_col = self.pumps.index(layout.duty_pump) if layout.duty_pump else None
        plan = build_isolation_plan(wn)
        if layout.duty_pump:
            # Lock out only the failed machine: the standby keeps the town supplied during the repair.
            plan.pumps = (layout.duty_pump,)
        self.controller = Controller(plan, ControllerConfig())
        self.source_links = self._source_links()
        self.demand_sites = [i for i, s in enumerate(self.p_sites)
                             if s in wn.junction_name_list
                             and sum(d.base_value for d in wn.get_node(s).demand_timeseries_list) > 0]
        self.bep = meas.best_efficiency_point(wn, layout.duty_pump) if layout.duty_pump else (1.0, 1.0)
        self.noise = rng.normal(0.0, 1.0, (n, 3))
        self.rng = rng
        self._connected = None
        self._conn_mask = np.ones(len(self.p_sites), dtype=bool)
        self._bal = self._exp = self._vib = None
        self.latched = [False] * len(_RULES)
        self.clear_for = [0] * len(_RULES)
        self.clear_steps = [getattr(rules, f"clear_{r}") / self.step for r in _RULES]
        self.state_code = {st: i for i, st in enumerate(_STATES)}
        self.noise_rows = self.noise.tolist()
        self.pump_end_ix = [i for pair in self.pump_ends for i in pair]
        self.source_ix = [ix for ix, _ in self.source_links]
        self.source_signs = [sg for _, sg in self.source_links]
        self.suspected: tuple[str, ...] | None = None
        self.onset: int | None = None
        self.PV = np.zeros((n, len(self.p_sites)))  # the pressures as the SCADA reads them
        self.VV = np.zeros(n)  # the duty pump's vibration as the SCADA reads it
        self.overlays = self._sensor_overlays(n)

    def _sensor_overlays(self, n: int) -> list[dict]:
        """Sensor faults on what the SCADA reads: the pressure loggers and the duty pump's vibration."""
        out = []
        for f in self.faults:
            if f.kind not in SENSOR_KINDS:
                continue
            spec = self.layout.specs[self.layout.resolve(f.location)]
            if spec.quantity == "pressure" and spec.element in self.p_sites:
                site = self.p_sites.index(spec.element)
            elif spec.quantity == "vibration" and spec.element == self.layout.duty_pump:
                site = None
            else:
                continue  # flow meters, levels, health: not read by the rules
            a = int(f.start.total_seconds() // self.step)
            b = n if f.end is None else min(n, -(-int(f.end.total_seconds()) // self.step))
            out.append({"fault": f, "site": site, "a": a, "b": b, "held": None, "level": None, "sd": None})
        return out

    def _seen(self, ov: dict, k: int, value: float, history: np.ndarray) -> float | None:
        """``value`` as the faulty instrument reports it (``None``: no reading)."""
        f = ov["fault"]
        if ov["level"] is None:
            ov["level"], ov["sd"] = meas.sensor_fault_scale(history[:k], value)
            before = history[:k][np.isfinite(history[:k])]
            ov["held"] = float(before[-1]) if len(before) else value
        if f.kind == "sensor_stuck":
            return ov["held"]
        if f.kind == "sensor_drift":
            return value + f.severity * ov["level"] * (k - ov["a"]) * self.step / 86400.0
        if f.kind == "sensor_spike":
            return value + f.severity * ov["sd"]
        return None  # dropout

    def on_start(self) -> None:
        """Faults in effect from the first instant (called once EPANET has initialised)."""
        self.plant.update(0)

    def _source_links(self) -> list[tuple[int, float]]:
        out = []
        for s in list(self.wn.reservoir_name_list) + list(self.wn.tank_name_list):
            for name, link in self.wn.links():
                if link.start_node_name == s:
                    out.append((self.engine.link_indices([name])[0], 1.0))
                elif link.end_node_name == s:
                    out.append((self.engine.link_indices([name])[0], -1.0))
        return out

    def _refresh_service(self) -> None:
        conn = self.plant.connected
        self._connected = conn
        self._conn_mask = np.array([s in conn for s in self.p_sites])
        in_service = [j for j in self.wn.junction_name_list if j in conn]
        base = meas.base_demand_by_pattern(self.wn, in_service)
        self._expected = sum((b * (self.shapes[p] if p is not None else 1.0) for p, b in base.items()),
                             np.zeros(len(self.index)))
        self._sites = [i for i in self.demand_sites if self._conn_mask[i]]
        self._expected_list = self._expected.tolist()

    # -- the step ---------------------------------------------------------------------------------
    def on_step(self, k: int, t: int) -> None:
        eng, plant, rules = self.engine, self.plant, self.rules
        pressures = eng.node_values(self.p_ix, EN.PRESSURE)
        self.P[k] = pressures
        self.F[k] = eng.link_values(self.f_ix, EN.FLOW)
        self.L[k] = eng.node_values(self.l_ix, EN.PRESSURE)
        status = eng.link_values(self.pump_ix, EN.STATUS)
        running = [s_ > 0.5 for s_ in status]
        flows = eng.link_values(self.pump_ix, EN.FLOW)
        speeds = eng.link_values(self.pump_ix, EN.SETTING)
        heads = eng.node_values(self.pump_end_ix, EN.HEAD)
        self.PR[k] = running
        self.PQ[k] = [q if on else 0.0 for q, on in zip(flows, running)]
        self.PS[k] = [v if on else 0.0 for v, on in zip(speeds, running)]
        self.PH[k] = [heads[2 * j + 1] - heads[2 * j] for j in range(len(running))]
        if plant.connected is not self._connected:
            self._refresh_service()
        self.CONN[k] = self._conn_mask
        wear = plant.wear(t)
        self.W[k] = wear
        noise = self.noise_rows[k]

        # water balance: supply through the source meters vs the demand model for junctions in service
        supply = sum(sign * q for sign, q in zip(self.source_signs, eng.link_values(self.source_ix, EN.FLOW)))
        supply *= 1.0 + 0.005 * noise[0]
        expected = self._expected_list[k]
        a_bal = self.a_bal
        self._bal = supply if self._bal is None else self._bal + a_bal * (supply - self._bal)
        self._exp = expected if self._exp is None else self._exp + a_bal * (expected - self._exp)
        excess = self._bal - self._exp
        limit = rules.balance_rel * self._exp + rules.balance_abs
        c_balance = excess > limit
        # low service pressure at in-service demand loggers (as read: sensor faults included)
        seen: list[float | None] = list(pressures)
        vib_fault = None
        for ov in self.overlays:
            if ov["a"] <= k < ov["b"]:
                if ov["site"] is None:
                    vib_fault = ov
                else:
                    seen[ov["site"]] = self._seen(ov, k, pressures[ov["site"]], self.PV[:, ov["site"]])
        self.PV[k] = [np.nan if v is None else v for v in seen]
        readable = [seen[i] for i in self._sites if seen[i] is not None]
        min_p = min(readable) + 0.05 * noise[1] if readable else None
        c_pressure = min_p is not None and min_p < rules.low_pressure
        # duty pump vibration
        c_vibration = False
        if self.duty_col is not None:
            d = self.duty_col
            vib = meas.vibration_level(flows[d], speeds[d], running[d], wear, self.bep[0]) * (1.0 + 0.05 * noise[2])
            if vib_fault is not None:
                vib = self._seen(vib_fault, k, vib, self.VV)
            self.VV[k] = np.nan if vib is None else vib
            if vib is not None:
                self._vib = vib if self._vib is None else self._vib + self.a_vib * (vib - self._vib)
            c_vibration = self._vib is not None and self._vib > rules.vibration
        cond = (c_balance, c_pressure, c_vibration)
        latched = self.latched
        new = [r for r in range(3) if cond[r] and not latched[r]]
        pump_ok = plant.power_on(t) and not plant.duty_fault(t)
        ctrl = self.controller
        if new:
            if self.onset is None:
                self.onset = k
            if self.suspected is None and ctrl.state is State.NORMAL and new != [2]:
                self.suspected = self._localise(k)
        elif self.onset is not None:
            self.onset, self.suspected = None, None
        repaired = plant.repaired_between(t - self.step, t)
        # An idle controller (NORMAL, nothing to count, nothing reported) would change nothing: skip it.
        if new or not pump_ok or repaired or ctrl.state is not State.NORMAL or ctrl.debounce_count:
            obs = Observation(self.stamps[k], anomaly=bool(new), score=max(excess / limit, 0.0),
                              suspected=self.suspected or (), min_service_pressure=min_p, pump_ok=pump_ok,
                              in_normal_band=not any(cond) and pump_ok, repaired=repaired)
            for tr in ctrl.step(obs):
                for action in tr.actions:
                    plant.apply_action(action.kind, action.element)
                if tr.to_state is State.ALARM:
                    for r in range(3):
                        latched[r] = latched[r] or cond[r]
        clear_for = self.clear_for
        for r in range(3):
            clear_for[r] = 0 if cond[r] else clear_for[r] + 1
            if latched[r] and clear_for[r] >= self.clear_steps[r]:
                latched[r] = False
        self.state_codes[k] = self.state_code[ctrl.state]
        plant.update(t + self.step)
        if self.progress is not None and (k % 1440 == 0 or k == len(self.stamps) - 1):
            self.progress(k + 1, len(self.stamps))

    def _localise(self, k: int) -> tuple[str, ...]:
        """Rank candidate locations from the pressure loggers' drop since before the anomaly began."""
        day = 86400 // self.step
        before = max((self.onset if self.onset is not None else k) - LOOKBACK_STEPS, 0)
        now = self.PV[k]
        drops = [self.PV[before] - now]
        if k >= day:
            drops.append(self.PV[k - day] - now)
        score = np.zeros(len(self.p_sites))
        for d in drops:
            d = np.nan_to_num(d, nan=0.0)  # a logger without a reading contributes nothing
            score += np.clip(d - np.median(d), 0.0, None)
        score[~self._conn_mask] = 0.0
        if not score.any():
            return ()
        by_site = dict(zip(self.p_sites, score))
        contributions, metas = {}, []
        station = {n for p in self.pumps for n in (self.wn.get_link(p).start_node_name, self.wn.get_link(p).end_node_name)}
        for meta, spec in zip(self.sensors, self.layout.specs):
            # station pressures follow the pump's operating point, not the fault's place: left out
            if spec.quantity == "pressure" and spec.element in self.wn.junction_name_list and spec.element not in station:
                contributions[meta.id] = by_site[spec.element]
                metas.append(meta)
        ranked = rank_locations(pd.Series(contributions), metas, self.wn, top=5)
        return tuple(ranked["element"])

    # -- after the run ----------------------------------------------------------------------------
    def state_names(self) -> list[str]:
        return [_STATES[c].value for c in self.state_codes]

    def true_values(self) -> np.ndarray:
        """Steps x sensors: what each sensor would read with a perfect instrument."""
        n = len(self.index)
        specs = self.layout.specs
        out = np.zeros((n, len(specs)))
        duty = self.layout.duty_pump
        station = {}
        per_pump = {}
        for j, p in enumerate(self.pumps):
            wear = self.W if p == duty else np.zeros(n)
            per_pump[p] = meas.pump_station(self.PQ[:, j], self.PH[:, j], self.PS[:, j], self.PR[:, j], wear,
                                            bep=self.bep, index=self.index, step_seconds=self.step, rng=self.rng)
        if duty:
            station = per_pump[duty]
        field_sites = [s.element for s in specs if s.quantity == "battery"]
        battery, signal = meas.field_health(len(field_sites), n, self.index, self.step, self.rng)
        for c, s in enumerate(specs):
            q = s.quantity
            if q == "pressure":
                i = self.p_sites.index(s.element)
                out[:, c] = np.where(self.CONN[:, i], np.clip(self.P[:, i], -10.0, None), 0.0)
            elif q == "flow":
                if s.element in self.pumps:
                    out[:, c] = self.PQ[:, self.pumps.index(s.element)]
                else:
                    out[:, c] = self.F[:, self.f_links.index(s.element)]
            elif q == "level":
                out[:, c] = self.L[:, self.tanks.index(s.element)]
            elif q == "battery":
                out[:, c] = battery[:, field_sites.index(s.element)]
            elif q == "signal":
                out[:, c] = signal[:, field_sites.index(s.element)]
            elif q == "current" and s.element != duty:
                out[:, c] = per_pump[s.element]["current"]
            else:
                out[:, c] = station[q]
        return out
