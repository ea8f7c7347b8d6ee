"""What the instruments read: demand cycles, pump-station physics, field-unit health, sensor imperfections.

Everything here is a deterministic function of its inputs and a :class:`numpy.random.Generator`, so a
seed fixes the data. Choices (one set for every network):

* **Demand**: each demand pattern of the network is repeated at the sampling step; the default
  network's flat ``ZONE-*`` placeholders get a residential day (night 0.45, peaks 07:30 and 19:30;
  weekends peak 1.5 h later and 8 % higher) or, for ``ZONE-C``, a commercial day (08:00-18:00
  plateau, weekends x0.6). Every pattern is multiplied by ``exp`` of an AR(1) process (sd 4 %,
  time constant 2 h: weather and events) and 1 % white noise (per-step scatter of many customers).
* **Pump station** (duty pump; affinity laws around the best-efficiency point (BEP) of its curve):
  efficiency ``eta_max * (2x - x^2)`` with ``x = Q / (speed * Q_bep)``, ``eta_max`` 0.80, floor 0.25;
  shaft power ``rho g Q H / eta`` plus 4 % windage and friction at full speed; bearing wear lowers
  efficiency by up to 8 %; motor efficiency 0.94, 400 V, power factor 0.86 give current; speed
  1485 rpm x relative speed with 1 % slip at full load; bearing temperatures follow
  ``ambient + 25 (DE) / 20 (NDE) degC x load + wear`` through a 45-minute thermal lag; vibration
  RMS (ISO 10816 velocity) is 1.8 mm/s x speed^2 + 1.5 x (x - 1)^2 + up to 6 mm/s of wear, with
  slow AR(1) scatter; a stopped pump reads 0 flow, current, power, speed and 0.1 mm/s.
* **Field units**: battery falls 0.3 %/day with a +/-1 % daily solar ripple and is replaced below
  20 %; radio signal is -75 dBm +/- an AR(1) process (sd 3 dB, 6 h).
* **Instruments**: clock jitter (each reading taken up to 2 s either side of its grid time: linear
  interpolation of the state between grid points, the timestamp stays on the grid), Gaussian
  noise and quantisation per kind (:data:`NOISE`), and missing values (a gap starts with
  probability 1e-4 per step, 3e-4 for field units; geometric length, mean 5 steps).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

#: kind -> (noise sd, relative noise sd, quantum)
NOISE = {"pressure": (0.05, 0.0, 0.01), "flow": (0.05, 0.005, 0.01), "level": (0.005, 0.0, 0.001),
         "current": (0.3, 0.0, 0.1), "power": (0.15, 0.0, 0.01), "speed": (1.5, 0.0, 1.0),
         "temperature": (0.1, 0.0, 0.1), "vibration": (0.03, 0.0, 0.01), "battery": (0.0, 0.0, 1.0),
         "signal": (1.0, 0.0, 1.0)}
JITTER_SECONDS = 2.0
GAP_START = {"battery": 3e-4, "signal": 3e-4}
GAP_START_DEFAULT = 1e-4
GAP_MEAN_STEPS = 5.0

ETA_MAX, ETA_FLOOR, MOTOR_ETA, VOLTAGE, POWER_FACTOR = 0.80, 0.25, 0.94, 400.0, 0.86
RATED_RPM, SLIP = 1485.0, 0.01
VIBRATION_ALARM = 4.5  # mm/s: ISO 10816-3 group 2 zone C/D boundary ("damage may occur")


def ar1(rng: np.random.Generator, n: int, tau_steps: float, sd: float) -> np.ndarray:
    """A stationary AR(1) series with standard deviation ``sd`` and time constant ``tau_steps``."""
    phi = float(np.exp(-1.0 / max(tau_steps, 1e-9)))
    shocks = rng.normal(0.0, sd * np.sqrt(1.0 - phi * phi), n)
    shocks[0] = rng.normal(0.0, sd)
    from scipy.signal import lfilter

    return lfilter([1.0], [1.0, -phi], shocks)


def _bumps(hours: np.ndarray, peaks: list[tuple[float, float, float]]) -> np.ndarray:
    out = np.zeros_like(hours)
    for centre, height, width in peaks:
        d = (hours - centre + 12.0) % 24.0 - 12.0
        out += height * np.exp(-0.5 * (d / width) ** 2)
    return out


def _day_shape(kind: str, hours: np.ndarray, weekend: np.ndarray) -> np.ndarray:
    if kind == "commercial":
        day = 0.35 + 1.05 / (1 + np.exp(-(hours - 8.0) * 2.0)) / (1 + np.exp((hours - 18.0) * 2.0))
        return np.where(weekend, 0.6 * day, day)
    shift = np.where(weekend, 1.5, 0.0)
    day = 0.45 + _bumps(hours - shift, [(7.5, 1.0, 1.3), (13.0, 0.3, 1.5), (19.5, 0.8, 1.8)])
    return np.where(weekend, 1.08 * day, day)


def zone_profile(kind: str, index: pd.DatetimeIndex) -> np.ndarray:
    """Deterministic daily x weekly demand multiplier of a residential or commercial zone (weekly mean 1)."""
    hours = (index.hour + index.minute / 60.0 + index.second / 3600.0).to_numpy(dtype=float)
    weekend = np.asarray(index.day_of_week) >= 5
    week_h = np.arange(7 * 1440) / 60.0
    mean = _day_shape(kind, week_h % 24.0, (week_h // 24.0) >= 5).mean()
    return _day_shape(kind, hours, weekend) / mean


def _repeat_pattern(multipliers: list[float], pattern_step: int, seconds: np.ndarray) -> np.ndarray:
    values = np.asarray(multipliers, dtype=float)
    return values[(seconds // max(pattern_step, 1)).astype(np.int64) % len(values)]


def demand_patterns(wn, index: pd.DatetimeIndex, step_seconds: int, rng: np.random.Generator | None
                    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Per-step multipliers of every demand pattern in use: (what customers draw, the demand model).

    The second dict is the deterministic part (daily x weekly shape), what the utility's demand model
    predicts; the first multiplies it by the scatter (``rng=None``: no scatter, both are equal).
    """
    seconds = np.arange(len(index), dtype=np.int64) * step_seconds
    pattern_step = int(wn.options.time.pattern_timestep)
    shapes: dict[str, np.ndarray] = {}
    for name in sorted(patterns_in_use(wn)):
        mult = list(wn.get_pattern(name).multipliers)
        if name.startswith("ZONE-") and np.allclose(mult, 1.0):
            shapes[name] = zone_profile("commercial" if name == "ZONE-C" else "residential", index)
        else:
            shapes[name] = _repeat_pattern(mult, pattern_step, seconds)
    if rng is None:
        return dict(shapes), shapes
    actual = {}
    for name, shape in shapes.items():
        noise = np.exp(ar1(rng, len(index), 7200.0 / step_seconds, 0.04) + rng.normal(0.0, 0.01, len(index)))
        actual[name] = np.clip(shape * noise, 0.0, None)
    return actual, shapes


def patterns_in_use(wn) -> set[str]:
    """Names of the demand patterns junctions use (the default pattern for those naming none)."""
    default = wn.options.hydraulic.pattern
    out = set()
    for _, junction in wn.junctions():
        for d in junction.demand_timeseries_list:
            name = d.pattern_name or default
            if name and name in wn.pattern_name_list:
                out.add(name)
    return out


def base_demand_by_pattern(wn, junctions) -> dict[str | None, float]:
    """Sum of base demands (L/s) of ``junctions`` per pattern name (``None``: constant demand)."""
    default = wn.options.hydraulic.pattern
    out: dict[str | None, float] = {}
    for j in junctions:
        node = wn.get_node(j)
        for d in getattr(node, "demand_timeseries_list", ()):
            name = d.pattern_name or default
            name = name if name in wn.pattern_name_list else None
            out[name] = out.get(name, 0.0) + float(d.base_value) * 1000.0
    return out


def best_efficiency_point(wn, pump: str) -> tuple[float, float]:
    """(flow L/s, head m) of the pump's curve design point (middle point of a multi-point curve)."""
    p = wn.get_link(pump)
    curve = getattr(p, "pump_curve_name", None)
    if curve and curve in wn.curve_name_list:
        points = wn.get_curve(curve).points
        q, h = points[len(points) // 2] if len(points) != 3 else points[1]
        return float(q) * 1000.0, float(h)
    power = float(getattr(p, "power", 10_000.0))  # POWER pumps: a nominal point at 40 m
    return power / (9.81 * 40.0), 40.0


def pump_station(q: np.ndarray, head_gain: np.ndarray, speed: np.ndarray, running: np.ndarray, wear: np.ndarray,
                 *, bep: tuple[float, float], index: pd.DatetimeIndex, step_seconds: int, rng: np.random.Generator
                 ) -> dict[str, np.ndarray]:
    """True readings of the duty pump: current, power, speed, bearing temperatures, vibration."""
    q_bep, h_bep = bep
    s = np.where(running, np.clip(speed, 0.05, None), 0.0)
    qq = np.where(running, np.clip(q, 0.0, None), 0.0)
    hh = np.where(running, np.clip(head_gain, 0.0, None), 0.0)
    x = np.divide(qq, np.maximum(s, 1e-6) * q_bep)
    eta = np.clip(ETA_MAX * (2 * x - x * x), ETA_FLOOR, ETA_MAX) * (1.0 - 0.08 * np.clip(wear, 0, 1))
    rated = 9.81 * q_bep * h_bep / 1000.0 / ETA_MAX  # kW shaft at BEP
    shaft = 9.81 * qq * hh / 1000.0 / eta + 0.04 * rated * s ** 3
    shaft = np.where(running, shaft, 0.0)
    power = shaft / MOTOR_ETA
    current = power * 1000.0 / (np.sqrt(3.0) * VOLTAGE * POWER_FACTOR)
    load = shaft / rated
    rpm = np.where(running, RATED_RPM * s * (1.0 - SLIP * np.clip(load, 0, 1.5) - 0.004 * wear), 0.0)
    n = len(index)
    hour = index.hour.to_numpy() + index.minute.to_numpy() / 60.0
    ambient = (17.0 + 4.0 * np.sin(2 * np.pi * (hour - 9.0) / 24.0)
               + 6.0 * np.sin(2 * np.pi * (index.day_of_year.to_numpy() - 110.0) / 365.25))
    w2 = np.clip(wear, 0, None) ** 2
    alpha = 1.0 - np.exp(-step_seconds / 2700.0)  # 45-minute thermal time constant
    from scipy.signal import lfilter

    def lag(target: np.ndarray) -> np.ndarray:
        zi = np.array([(1 - alpha) * target[0]])
        return lfilter([alpha], [1.0, -(1.0 - alpha)], target, zi=zi)[0]

    de = lag(ambient + np.where(running, 25.0 * load + 35.0 * w2, 0.0)) + ar1(rng, n, 600.0 / step_seconds, 0.15)
    nde = lag(ambient + np.where(running, 20.0 * load + 20.0 * w2, 0.0)) + ar1(rng, n, 600.0 / step_seconds, 0.15)
    vib = np.where(running, 1.8 * s ** 2 + 1.5 * (x - 1.0) ** 2 + 6.0 * w2, 0.1)
    vib = np.clip(vib * np.exp(ar1(rng, n, 1800.0 / step_seconds, 0.05)), 0.02, None)
    return {"current": current, "power": power, "speed": rpm, "bearing_de": de, "bearing_nde": nde, "vibration": vib}


def vibration_level(q: float, speed: float, running: bool, wear: float, q_bep: float) -> float:
    """The vibration the SCADA sees at one step (same law as :func:`pump_station`, without scatter)."""
    if not running:
        return 0.1
    s = max(speed, 0.05)
    x = max(q, 0.0) / (s * q_bep)
    return 1.8 * s * s + 1.5 * (x - 1.0) ** 2 + 6.0 * max(wear, 0.0) ** 2


def field_health(n_units: int, n_steps: int, index: pd.DatetimeIndex, step_seconds: int,
                 rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Battery % and signal dBm of field units (steps x units)."""
    days = np.arange(n_steps) * step_seconds / 86400.0
    hours = (index.hour + index.minute / 60.0).to_numpy(dtype=float)
    battery = np.empty((n_steps, n_units))
    signal = np.empty((n_steps, n_units))
    for u in range(n_units):
        start = rng.uniform(60.0, 100.0)
        drain = rng.uniform(0.2, 0.4)
        first = (start - 20.0) / drain  # days until the first replacement
        level = np.where(days < first, start - drain * days, 100.0 - drain * ((days - first) % (80.0 / drain)))
        battery[:, u] = np.clip(level + 1.0 * np.sin(2 * np.pi * (hours - 14.0) / 24.0), 0.0, 100.0)
        signal[:, u] = rng.uniform(-85.0, -65.0) + ar1(rng, n_steps, 21600.0 / step_seconds, 3.0)
    return battery, signal


def instrument(true: np.ndarray, kinds: list[str], step_seconds: int, rng: np.random.Generator) -> np.ndarray:
    """Turn true values (steps x sensors) into readings: jitter, noise, quantisation, missing values."""
    n, m = true.shape
    out = np.empty_like(true)
    for j, kind in enumerate(kinds):
        x = true[:, j]
        col = x.copy()
        if n > 1:  # read at t + offset: interpolate towards the neighbouring grid value
            offset = rng.uniform(-JITTER_SECONDS, JITTER_SECONDS, n) / step_seconds
            diff = np.diff(x)
            forward = np.append(diff, 0.0)
            backward = np.insert(diff, 0, 0.0)
            col += np.where(offset > 0, offset * forward, offset * backward)
        sd, rel, quantum = NOISE.get(kind, (0.0, 0.0, 0.0))
        if sd or rel:
            col += rng.normal(0.0, 1.0, n) * (sd + rel * np.abs(col))
        if kind in ("flow", "current", "power", "speed", "level", "battery"):
            col = np.where(np.abs(x) < 1e-9, 0.0, col)  # a stopped pump or a shut pipe reads zero
            if kind != "flow":
                col = np.clip(col, 0.0, None)
        if quantum:
            decimals = max(0, -int(math.floor(math.log10(quantum))))
            col = np.round(np.round(col / quantum) * quantum, decimals)
        starts = np.flatnonzero(rng.random(n) < GAP_START.get(kind, GAP_START_DEFAULT))
        for s in starts:
            col[s:s + int(rng.geometric(1.0 / GAP_MEAN_STEPS))] = np.nan
        out[:, j] = col
    return out


def sensor_fault_scale(history: np.ndarray, now: float) -> tuple[float, float]:
    """(|median|, standard deviation) of a sensor before its fault: the units of drift and spike."""
    finite = history[np.isfinite(history)]
    if len(finite) < 2:
        level = abs(now) if np.isfinite(now) else 1.0
        return level, max(0.1 * level, 1e-3)
    level = float(np.median(np.abs(finite)))
    return level, float(np.std(finite)) or max(0.1 * level, 1e-3)


def apply_sensor_faults(readings: np.ndarray, true: np.ndarray, faults, columns: dict[int, int], step_seconds: int
                        ) -> None:
    """Lay sensor faults (of the instrument, not the process) over the readings, in place.

    ``columns`` maps a fault's position in ``faults`` to its column. stuck: the last reading before
    the start is repeated; drift: ``severity`` x |median before the start| per day, added linearly;
    spike: ``severity`` standard deviations (before the start) added; dropout: missing. The SCADA
    loop applies the same laws to the pressure loggers and the vibration sensor it reads.
    """
    n = readings.shape[0]
    for i, j in columns.items():
        f = faults[i]
        a = min(n, int(f.start.total_seconds() // step_seconds))
        b = n if f.end is None else min(n, int(math.ceil(f.end.total_seconds() / step_seconds)))
        if a >= b:
            continue
        col = readings[:, j]
        level, sd = sensor_fault_scale(true[:a, j], true[a, j])
        if f.kind == "sensor_stuck":
            before = col[:a][np.isfinite(col[:a])]
            col[a:b] = before[-1] if len(before) else true[a, j]
        elif f.kind == "sensor_drift":
            col[a:b] += f.severity * level * np.arange(b - a) * step_seconds / 86400.0
        elif f.kind == "sensor_spike":
            col[a:b] += f.severity * sd
        elif f.kind == "sensor_dropout":
            col[a:b] = np.nan
