"""The stepping engine: EPANET's hydraulic solver driven one sampling step at a time.

:class:`HydraulicEngine` opens a network through WNTR's binding of the EPANET 2.2 toolkit
(``ENopenH`` / ``ENinitH`` / ``ENrunH`` / ``ENnextH``) and stops at every sampling instant so the
caller can read the state and change the plant (valve and pump status, pump speed, emitters for
leaks, minor losses for blockages) before EPANET solves the next step. A change made at time ``t``
acts from the solution at ``t + step`` on, exactly as a SCADA command issued between two scans.

Values are read in SI-like field units: pressure and head in m, flow in L/s, tank level in m
(the model is written to EPANET in LPS so the toolkit speaks those units whatever the source file
used). Every toolkit call's error code is checked: codes >= 100 raise
:class:`~pumpguard.errors.SimulationError` with the code and EPANET's meaning; warnings (< 100)
are counted in :attr:`HydraulicEngine.warnings`.
"""

from __future__ import annotations

import ctypes
import tempfile
from collections import Counter
from ctypes import byref
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import wntr
from wntr.epanet.exceptions import EN_ERROR_CODES
from wntr.epanet.toolkit import ENepanet
from wntr.epanet.util import EN

from pumpguard.errors import SimulationError

#: Called at each sampling instant with (step number, simulation time in s).
StepCallback = Callable[[int, int], None]


def _meaning(code: int) -> str:
    return EN_ERROR_CODES.get(code, "unknown EPANET code").replace("%s", "").replace("At ,", "").strip(" ,")


class HydraulicEngine:
    """Step one EPANET project through time, ``step_seconds`` at a time.

    Parameters
    ----------
    wn:
        The network (not modified).
    step_seconds:
        The sampling step: EPANET's hydraulic and report step; the callback runs every step.
    duration_seconds:
        Simulated period; the callback runs at ``0, step, ..., duration`` (a multiple of the step).
    patterns:
        Optional ``{pattern name: multipliers}`` replacing those patterns' values, one per step.

    Examples
    --------
    >>> from pumpguard.network.topology import load_network
    >>> eng = HydraulicEngine(load_network(), step_seconds=60, duration_seconds=600)
    >>> seen = []
    >>> eng.run(lambda k, t: seen.append(round(eng.link_flow("PUMP-1"), 1)))
    >>> len(seen), eng.warnings
    (11, Counter())
    >>> eng.close()
    """

    def __init__(
        self,
        wn: wntr.network.WaterNetworkModel,
        *,
        step_seconds: int,
        duration_seconds: int,
        patterns: dict[str, Sequence[float]] | None = None,
    ) -> None:
        if step_seconds <= 0 or duration_seconds < 0 or duration_seconds % step_seconds:
            raise SimulationError(
                f"step {step_seconds} s and duration {duration_seconds} s: expected a positive step "
                "that divides the duration"
            )
        self.step_seconds = int(step_seconds)
        self.duration_seconds = int(duration_seconds)
        self.warnings: Counter[int] = Counter()
        self._tmp = tempfile.TemporaryDirectory(prefix="pumpguard-epanet-")
        inp = Path(self._tmp.name) / "model.inp"
        wntr.network.write_inpfile(wn, str(inp), units="LPS")
        self._en = ENepanet()
        self._lib = self._en.ENlib
        self._ph = self._en._project
        self._check(self._lib.EN_createproject(byref(self._ph)), "createproject")
        self._check(
            self._lib.EN_open(self._ph, str(inp).encode(), str(inp.with_suffix(".rpt")).encode(), b""), "open"
        )
        self._open = True
        self._node_ix = {name: self._index(name, node=True) for name in wn.node_name_list}
        self._link_ix = {name: self._index(name, node=False) for name in wn.link_name_list}
        for param, value in (
            (EN.DURATION, self.duration_seconds),
            (EN.HYDSTEP, self.step_seconds),
            (EN.REPORTSTEP, self.step_seconds),
            (EN.QUALSTEP, self.step_seconds),
        ):
            self._check(self._lib.EN_settimeparam(self._ph, ctypes.c_int(param), ctypes.c_long(value)), "settimeparam")
        if patterns:
            self._check(
                self._lib.EN_settimeparam(self._ph, ctypes.c_int(EN.PATTERNSTEP), ctypes.c_long(self.step_seconds)),
                "settimeparam",
            )
            for name, values in patterns.items():
                self.set_pattern(name, values)
        self._controls = self._read_controls()
        self._target: dict[int, int] = {}  # control index -> link it acts on now
        self._value = ctypes.c_double()
        self._ref = byref(self._value)
        self._getnode = self._lib.EN_getnodevalue
        self._getlink = self._lib.EN_getlinkvalue

    # -- toolkit plumbing ---------------------------------------------------------------------
    def _check(self, code: int, what: str) -> None:
        if code == 0:
            return
        if code < 100:
            self.warnings[code] += 1
            return
        raise SimulationError(f"EPANET error {code} in {what}: {_meaning(code)}")

    def _index(self, name: str, *, node: bool) -> int:
        out = ctypes.c_int()
        fn = self._lib.EN_getnodeindex if node else self._lib.EN_getlinkindex
        self._check(fn(self._ph, name.encode("latin-1"), byref(out)), f"index of {name!r}")
        return out.value

    def _node(self, name: str) -> int:
        try:
            return self._node_ix[name]
        except KeyError:
            raise SimulationError(f"node {name!r} is not in the network") from None

    def _link(self, name: str) -> int:
        try:
            return self._link_ix[name]
        except KeyError:
            raise SimulationError(f"link {name!r} is not in the network") from None

    def _read_controls(self) -> list[dict]:
        count = ctypes.c_int()
        self._check(self._lib.EN_getcount(self._ph, ctypes.c_int(EN.CONTROLCOUNT), byref(count)), "getcount")
        out = []
        for i in range(1, count.value + 1):
            t, lk, nd = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
            s, lv = ctypes.c_double(), ctypes.c_double()
            self._check(self._lib.EN_getcontrol(self._ph, i, byref(t), byref(lk), byref(s), byref(nd), byref(lv)),
                        "getcontrol")
            out.append(dict(index=i, type=t.value, link=lk.value, setting=s.value, node=nd.value, level=lv.value))
        return out

    # -- the plant's levers ---------------------------------------------------------------------
    def set_pattern(self, name: str, values: Sequence[float]) -> None:
        ix = ctypes.c_int()
        self._check(self._lib.EN_getpatternindex(self._ph, name.encode("latin-1"), byref(ix)), f"pattern {name!r}")
        arr = np.ascontiguousarray(values, dtype=np.float64)
        self._check(
            self._lib.EN_setpattern(self._ph, ix, arr.ctypes.data_as(ctypes.POINTER(ctypes.c_double)), len(arr)),
            f"setpattern {name!r}",
        )

    def set_link_open(self, name: str, is_open: bool) -> None:
        """Open or close a pipe, valve or pump (a fixed status, as an operator's command)."""
        self._setlink(name, EN.STATUS, 1.0 if is_open else 0.0)

    def set_link_setting(self, name: str, value: float) -> None:
        """Pump relative speed, or a valve's setting (TCV: minor-loss coefficient)."""
        self._setlink(name, EN.SETTING, float(value))

    def set_minor_loss(self, name: str, value: float) -> None:
        """A pipe's minor-loss coefficient. EPANET 2.2 refuses exactly 0 (error 211), so 0 is set as 1e-6."""
        self._setlink(name, EN.MINORLOSS, max(float(value), 1e-6))

    def set_emitter(self, node: str, coefficient: float) -> None:
        """Emitter coefficient in L/s per m^0.5 (a leak: q = C * sqrt(p))."""
        self._check(self._lib.EN_setnodevalue(self._ph, self._node(node), EN.EMITTER, ctypes.c_double(coefficient)),
                    f"set emitter of {node!r}")

    def _setlink(self, name: str, code: int, value: float) -> None:
        self._check(self._lib.EN_setlinkvalue(self._ph, self._link(name), code, ctypes.c_double(value)),
                    f"set link {name!r}")

    def route_controls(self, link: str, to: str | None) -> None:
        """Point the network's simple controls written for ``link`` at pump ``to`` (``None``: suspend them).

        A tripped pump must stay off even when its tank-level control would start it again; a standby
        standing in for the duty pump takes over the duty pump's controls. ``to=link`` restores them.
        """
        own = self._link(link)
        target = 0 if to is None else self._link(to)  # EPANET skips a control whose link index is 0
        for c in self._controls:
            if c["link"] != own or self._target.get(c["index"], own) == target:
                continue
            self._check(self._lib.EN_setcontrol(self._ph, c["index"], c["type"], target, ctypes.c_double(c["setting"]),
                                                c["node"], ctypes.c_double(c["level"])), "setcontrol")
            self._target[c["index"]] = target

    # -- reading the state ----------------------------------------------------------------------
    def node_indices(self, names: Sequence[str]) -> list[int]:
        return [self._node(n) for n in names]

    def link_indices(self, names: Sequence[str]) -> list[int]:
        return [self._link(n) for n in names]

    def read_nodes(self, indices: Sequence[int], code: int, out: np.ndarray) -> None:
        """Fill ``out`` with one node value (``EN.PRESSURE``, ``EN.HEAD``, ``EN.DEMAND``...) per index."""
        get, ph, ref, val = self._getnode, self._ph, self._ref, self._value
        for j, ix in enumerate(indices):
            get(ph, ix, code, ref)
            out[j] = val.value

    def read_links(self, indices: Sequence[int], code: int, out: np.ndarray) -> None:
        get, ph, ref, val = self._getlink, self._ph, self._ref, self._value
        for j, ix in enumerate(indices):
            get(ph, ix, code, ref)
            out[j] = val.value

    def node_values(self, indices: Sequence[int], code: int) -> list[float]:
        """One node value per index, as a list (the fastest way through ctypes)."""
        get, ph, ref, val = self._getnode, self._ph, self._ref, self._value
        return [get(ph, ix, code, ref) or val.value for ix in indices]

    def link_values(self, indices: Sequence[int], code: int) -> list[float]:
        get, ph, ref, val = self._getlink, self._ph, self._ref, self._value
        return [get(ph, ix, code, ref) or val.value for ix in indices]

    def node_value(self, name: str, code: int = EN.PRESSURE) -> float:
        self._getnode(self._ph, self._node(name), code, self._ref)
        return self._value.value

    def link_value(self, name: str, code: int) -> float:
        self._getlink(self._ph, self._link(name), code, self._ref)
        return self._value.value

    def node_value_ix(self, index: int, code: int) -> float:
        self._getnode(self._ph, index, code, self._ref)
        return self._value.value

    def link_value_ix(self, index: int, code: int) -> float:
        self._getlink(self._ph, index, code, self._ref)
        return self._value.value

    def link_flow(self, name: str) -> float:
        return self.link_value(name, EN.FLOW)

    # -- time -----------------------------------------------------------------------------------
    def run(self, on_step: StepCallback, on_start: Callable[[], None] | None = None) -> None:
        """Solve from 0 to the duration, calling ``on_step(k, t)`` at every sampling instant ``t = k*step``.

        EPANET may solve extra intermediate instants (a tank reaching a control level); the callback
        sees only the sampling grid, and changes it makes act from the next solution on. ``on_start``
        runs once after EPANET has initialised the period (changes made before would be reset).
        """
        lib, ph = self._lib, self._ph
        t, dt = ctypes.c_long(), ctypes.c_long()
        self._check(lib.EN_openH(ph), "openH")
        try:
            self._check(lib.EN_initH(ph, 0), "initH")
            if on_start is not None:
                on_start()
            step = self.step_seconds
            while True:
                code = lib.EN_runH(ph, byref(t))
                if code:
                    self._check(code, f"runH at t={t.value} s")
                if t.value % step == 0:
                    on_step(t.value // step, t.value)
                code = lib.EN_nextH(ph, byref(dt))
                if code:
                    self._check(code, f"nextH at t={t.value} s")
                if dt.value == 0:
                    break
        finally:
            lib.EN_closeH(ph)

    def close(self) -> None:
        if self._open:
            self._lib.EN_close(self._ph)
            self._lib.EN_deleteproject(self._ph)
            self._open = False
            self._tmp.cleanup()

    def __enter__(self) -> "HydraulicEngine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

