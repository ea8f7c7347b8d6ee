"""SYNTHETIC pump-sensor data in the published schema, with known failure events.

Nothing here is measured: :func:`make_sample` draws a labelled table (``sensor_00`` .. ``sensor_51``,
``machine_status``) from a small physics-flavoured model of one pump so that EDA, detectors and
evaluation have data whose truth is known. The model, per row:

- a daily water-demand cycle plus slow random variation sets the relative flow ``Q``;
- a pump curve gives the head ``H = 1.25 - 0.25 Q**2`` (1 at the nominal point), the shaft power
  ``P = Q H``, the motor current follows the power, vibration grows with flow;
- temperatures follow the power through a 40-minute thermal lag, plus a daily ambient swing;
- the tank level sags while the pump is down;
- each sensor reads ``typical * (off + (1 - off) * latent)`` plus its own slowly varying (AR(1)) noise
  and white noise; ``typical`` is the scale of the same column in the published data.

A failure event has four times: ``onset`` (a few affected sensors start to drift, quadratically),
``start`` (BROKEN: the pump stops, for minutes), ``recovering_start`` (RECOVERING: mostly still down,
restarting towards the end, for hours) and ``end`` (NORMAL again). :func:`sample_failures` returns that
table, so a detector's lead time can be checked against ``onset``/``start``.

The interface (``make_sample(days, *, seed, step_seconds, failures) -> Dataset``) is meant to outlive
this model: a hydraulic simulator can later produce the latents instead.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from pumpguard.data.schema import INDEX_NAME, STATUS_COLUMN, STATUS_DTYPE, Dataset, Sensor
from pumpguard.errors import ConfigError

#: Where the published data starts; synthetic samples start there too unless told otherwise.
DEFAULT_START = pd.Timestamp("2018-04-01 00:00", tz="UTC")

# (kind, latent, off-level when the pump is down, [(sensor number, typical value), ...]).
# Typical values are the published columns' usual levels, so plots and scales look familiar.
_GROUPS: tuple[tuple[str, str, float, tuple[tuple[int, float], ...]], ...] = (
    ("pressure", "H", 0.05, ((0, 2.45), (1, 47.0), (2, 50.5), (3, 43.5))),
    ("current", "I", 0.0, ((4, 630.0),)),
    ("power", "P", 0.0, ((5, 74.0),)),
    ("flow", "Q", 0.0, ((6, 13.5), (7, 15.8), (8, 15.2), (9, 14.8))),
    ("flow", "Qd", 0.02, ((10, 42.0), (11, 43.0), (12, 30.0), (13, 7.5))),
    ("vibration", "V", 0.03, ((14, 414.0), (15, 0.0), (16, 420.0), (17, 420.0), (18, 2.5), (19, 590.0),
                               (20, 360.0), (21, 800.0), (22, 460.0), (23, 920.0), (24, 560.0), (25, 650.0))),
    ("speed", "S", 0.0, ((26, 800.0), (27, 410.0), (28, 730.0), (29, 590.0))),
    ("power", "P", 0.0, ((30, 920.0), (31, 540.0), (32, 700.0), (33, 580.0))),
    ("current", "I", 0.0, ((34, 190.0), (35, 410.0), (36, 500.0))),
    ("level", "L", 0.0, ((37, 55.0),)),
    ("temperature", "T", 0.0, ((38, 48.0), (39, 44.0), (40, 60.0), (41, 38.0), (42, 36.0), (43, 48.0),
                               (44, 44.0), (45, 48.0), (46, 45.0), (47, 53.0), (48, 57.0), (49, 48.0))),
    ("pressure", "Hd", 0.05, ((50, 183.0), (51, 202.0))),
)

#: Failure kinds: which sensor kinds drift before the breakdown, and by how much (relative, at ``start``).
FAILURE_KINDS: dict[str, dict[str, float]] = {
    "bearing_wear": {"vibration": +0.6, "temperature": +0.12},
    "impeller_clog": {"flow": -0.18, "pressure": -0.12, "current": +0.08},
    "seal_leak": {"pressure": -0.15, "flow": -0.10, "level": -0.20},
}

FAILURE_COLUMNS = ["kind", "onset", "start", "recovering_start", "end", "sensors", "lead_time"]

# Event durations, drawn per event (hours): drift lead, BROKEN (minutes), RECOVERING.
_LEAD_HOURS = (6.0, 72.0)
_BROKEN_MINUTES = (1.0, 10.0)
_RECOVERING_HOURS = (3.0, 30.0)
#: About one failure per this many days, as in the published data (7 in 153 days).
_DAYS_PER_FAILURE = 22.0


def _sensor_table() -> list[tuple[Sensor, str, float, float]]:
    rows = []
    for kind, latent, off, members in _GROUPS:
        for number, typical in members:
            sid = f"sensor_{number:02d}"
            desc = (f"SYNTHETIC {kind} (latent {latent}) on the published {sid} scale"
                    if typical else f"SYNTHETIC {sid}: always empty, as in the published data")
            rows.append((Sensor(id=sid, kind=kind, unit="", element="pump", zone="pump station",
                                description=desc), latent, off, typical))
    rows.sort(key=lambda r: r[0].id)
    return rows


_SENSORS = _sensor_table()
SENSOR_IDS = tuple(r[0].id for r in _SENSORS)


def synthetic_sensors() -> tuple[Sensor, ...]:
    """Metadata of the 52 synthetic sensors (``sensor_00`` .. ``sensor_51``)."""
    return tuple(r[0] for r in _SENSORS)


def _check(days: float, step_seconds: int) -> None:
    if not (isinstance(step_seconds, (int, np.integer)) and step_seconds >= 1):
        raise ConfigError(f"step_seconds must be a whole number of seconds >= 1, got {step_seconds!r}")
    if not (np.isfinite(days) and days > 0):
        raise ConfigError(f"days must be a positive number, got {days!r}")
    if days * 86400 / step_seconds > 20_000_000:
        raise ConfigError(f"{days} days at {step_seconds} s is more than 20 million rows; use fewer days "
                          "or a longer step")


def sample_failures(days: float, *, seed: int, step_seconds: int = 60, failures: int | None = None,
                    start: pd.Timestamp = DEFAULT_START) -> pd.DataFrame:
    """The failure-event table :func:`make_sample` uses for the same arguments.

    One row per event: ``kind``, ``onset`` (drift begins), ``start`` (BROKEN), ``recovering_start``,
    ``end`` (NORMAL again; exclusive), ``sensors`` (tuple of the drifting sensor ids), ``lead_time``.
    Events sit one per equal slot of the span, away from the slot edges, so they never overlap.

    >>> ev = sample_failures(10, seed=1)
    >>> len(ev), bool((ev["onset"] < ev["start"]).all())
    (1, True)
    """
    _check(days, step_seconds)
    step = pd.Timedelta(seconds=int(step_seconds))
    if failures is None:
        failures = max(1, round(days / _DAYS_PER_FAILURE)) if days >= 1 else 0
    if failures < 0:
        raise ConfigError(f"failures must be >= 0, got {failures}")
    rng = np.random.default_rng([int(seed), 1])
    span = pd.Timedelta(days=days)
    rows = []
    if failures:
        slot = span / failures
        for k in range(failures):
            kind = list(FAILURE_KINDS)[int(rng.integers(len(FAILURE_KINDS)))]
            # Durations scale down when the slot is short, so a 3-day sample still has a whole event.
            fit = min(1.0, (slot / pd.Timedelta(hours=_LEAD_HOURS[1] + _RECOVERING_HOURS[1] + 12)))
            lead = pd.Timedelta(hours=rng.uniform(*_LEAD_HOURS) * fit)
            broken = max(step, pd.Timedelta(minutes=rng.uniform(*_BROKEN_MINUTES)).round(step))
            recovering = pd.Timedelta(hours=rng.uniform(*_RECOVERING_HOURS) * fit)
            slot_start = start + k * slot
            free = slot - lead - broken - recovering
            if free <= 2 * step:
                raise ConfigError(f"{failures} failure(s) do not fit in {days} days; ask for fewer")
            at = slot_start + lead + free * rng.uniform(0.2, 0.8)
            at = at.floor(step)
            onset = (at - lead).floor(step)
            rec = at + broken
            end = (rec + recovering).ceil(step)
            drifting = [s.id for s, _, _, typ in _SENSORS if typ and s.kind in FAILURE_KINDS[kind]]
            n_pick = min(len(drifting), int(rng.integers(3, 7)))
            chosen = tuple(sorted(rng.choice(drifting, size=n_pick, replace=False).tolist()))
            rows.append((kind, onset, at, rec, end, chosen, at - onset))
    table = pd.DataFrame(rows, columns=FAILURE_COLUMNS)
    for col in ("onset", "start", "recovering_start", "end"):
        table[col] = pd.to_datetime(table[col], utc=True)
    table["lead_time"] = pd.to_timedelta(table["lead_time"])
    return table


def _ar1(rng: np.random.Generator, n: int, tau_steps: float, sd: float) -> np.ndarray:
    """Stationary AR(1) noise with correlation time ``tau_steps`` and standard deviation ``sd``."""
    phi = float(np.exp(-1.0 / max(tau_steps, 1e-9)))
    shocks = rng.standard_normal(n) * sd * np.sqrt(1 - phi**2)
    shocks[0] = rng.standard_normal() * sd
    return lfilter([1.0], [1.0, -phi], shocks)


def _lag(x: np.ndarray, tau_steps: float) -> np.ndarray:
    """First-order lag (thermal / tank inertia), started at the first value."""
    a = float(np.exp(-1.0 / max(tau_steps, 1e-9)))
    y, _ = lfilter([1 - a], [1.0, -a], x, zi=[a * x[0]])
    return y


def _simulate(index: pd.DatetimeIndex, events: pd.DataFrame, rng: np.random.Generator,
              step_seconds: int) -> pd.DataFrame:
    n = len(index)
    hour = (index.hour + index.minute / 60 + index.second / 3600).to_numpy(dtype=float)
    per_hour = 3600.0 / step_seconds
    running = np.ones(n)
    status = np.zeros(n, dtype=np.int8)  # codes into STATUS_DTYPE: 0 NORMAL, 1 BROKEN, 2 RECOVERING
    drift = {sid: np.zeros(n) for sid in SENSOR_IDS}
    for ev in events.itertuples():
        i_on, i_br, i_rec, i_end = index.searchsorted([ev.onset, ev.start, ev.recovering_start, ev.end])
        status[i_br:i_rec] = 1
        status[i_rec:i_end] = 2
        running[i_br:i_end] = 0.0
        # The restart takes the last ~30 % of RECOVERING: the pump comes back up gradually.
        ramp_from = i_rec + int(0.7 * (i_end - i_rec))
        if i_end > ramp_from:
            running[ramp_from:i_end] = np.linspace(0.0, 1.0, i_end - ramp_from, endpoint=False)
        if i_br > i_on:
            shape = np.linspace(0.0, 1.0, i_br - i_on, endpoint=False) ** 2
            by_kind = FAILURE_KINDS[ev.kind]
            for sid in ev.sensors:
                kind = next(s.kind for s, *_ in _SENSORS if s.id == sid)
                drift[sid][i_on:i_br] = by_kind[kind] * rng.uniform(0.7, 1.3) * shape

    demand = (1 + 0.12 * np.sin(2 * np.pi * (hour - 7) / 24) + 0.05 * np.sin(4 * np.pi * (hour - 3) / 24)
              + _ar1(rng, n, 6 * per_hour, 0.03))
    q = running * demand
    head = running * (1.25 - 0.25 * q**2)
    power = q * head
    ambient = np.sin(2 * np.pi * (hour - 9) / 24)
    latents = {
        "Q": q,
        "Qd": _lag(q, 5 * per_hour / 60),
        "H": head,
        "Hd": _lag(head, 15 * per_hour / 60),
        "P": power,
        "I": running * (0.35 + 0.65 * power),  # magnetising current while running, then load
        "S": running * (1 - 0.02 * (q - 1)),
        "V": running * (0.7 + 0.3 * np.clip(q, 0, None) ** 1.5),
        "T": 0.8 + 0.2 * _lag(power, 40 * per_hour / 60) + 0.02 * ambient,
        "L": 1 + 0.04 * np.sin(2 * np.pi * (hour - 14) / 24) - 0.25 * (1 - _lag(running, 3 * per_hour)),
    }
    columns: dict[str, np.ndarray] = {}
    for sensor, latent, off, typical in _SENSORS:
        if typical == 0.0:
            columns[sensor.id] = np.full(n, np.nan)
            continue
        gain = rng.uniform(0.9, 1.1)  # sensors of a group respond a little differently
        base = off + (1 - off) * np.clip(latents[latent] ** gain, 0, None)
        noise = _ar1(rng, n, rng.uniform(10, 60) * per_hour / 60, rng.uniform(0.005, 0.02))
        noise += rng.standard_normal(n) * rng.uniform(0.003, 0.015)
        value = typical * (base * (1 + drift[sensor.id]) + noise * (0.3 + 0.7 * running))
        # About seven significant digits, as the published file holds.
        columns[sensor.id] = np.round(np.clip(value, 0, None), max(0, 6 - int(np.floor(np.log10(typical)))))
    frame = pd.DataFrame(columns, index=index)
    _punch_gaps(frame, rng)
    frame[STATUS_COLUMN] = pd.Categorical.from_codes(status, dtype=STATUS_DTYPE)
    return frame


def _punch_gaps(frame: pd.DataFrame, rng: np.random.Generator) -> None:
    """Missing readings as in the field: sparse single drop-outs everywhere, a few long outages."""
    n = len(frame)
    for sid in frame.columns:
        values = frame[sid].to_numpy(copy=True)
        values[rng.random(n) < rng.uniform(0.0005, 0.004)] = np.nan
        frame[sid] = values
    # Long outages (published: sensor_50 misses about a third, sensor_51 and sensor_00 a few %).
    for sid, fraction in (("sensor_50", 0.3), ("sensor_51", 0.06), ("sensor_00", 0.04)):
        length = int(n * fraction * rng.uniform(0.8, 1.2))
        if length and n > length:
            first = n - length if sid == "sensor_50" else int(rng.integers(0, n - length))
            values = frame[sid].to_numpy(copy=True)
            values[first:first + length] = np.nan
            frame[sid] = values


def make_sample(days: float, *, seed: int, step_seconds: int = 60, failures: int | pd.DataFrame | None = None,
                start: pd.Timestamp | str = DEFAULT_START) -> Dataset:
    """A SYNTHETIC labelled pump-sensor dataset: ``days`` of rows every ``step_seconds``.

    ``failures`` is the number of failure events (default: about one per 22 days, at least one), or
    a table shaped like :func:`sample_failures` to place them yourself. The same arguments always give
    the same data. The events used are in :func:`sample_failures` (same arguments).

    >>> ds = make_sample(2, seed=3)
    >>> len(ds), len(ds.sensor_ids), int(ds.frame["sensor_15"].notna().sum())
    (2880, 52, 0)
    >>> sorted(set(ds.status.astype(str)))
    ['BROKEN', 'NORMAL', 'RECOVERING']
    """
    _check(days, step_seconds)
    start = pd.Timestamp(start)
    start = start.tz_localize("UTC") if start.tzinfo is None else start.tz_convert("UTC")
    if isinstance(failures, pd.DataFrame):
        missing = {"kind", "onset", "start", "recovering_start", "end", "sensors"} - set(failures.columns)
        if missing:
            raise ConfigError(f"failure table lacks columns {sorted(missing)}; shape it like sample_failures()")
        unknown = set(failures["kind"]) - set(FAILURE_KINDS)
        if unknown:
            raise ConfigError(f"unknown failure kind(s) {sorted(unknown)}; expected one of {sorted(FAILURE_KINDS)}")
        events = failures
    else:
        events = sample_failures(days, seed=seed, step_seconds=step_seconds, failures=failures, start=start)
    n = int(round(days * 86400 / step_seconds))
    index = pd.date_range(start, periods=n, freq=pd.Timedelta(seconds=int(step_seconds)), name=INDEX_NAME)
    frame = _simulate(index, events, np.random.default_rng([int(seed), 2]), int(step_seconds))
    note = (f"SYNTHETIC data from pumpguard.data.synthetic.make_sample(days={days}, seed={seed}, "
            f"step_seconds={step_seconds}) with {len(events)} failure event(s); not measurements")
    return Dataset.from_frame(frame, sensors=synthetic_sensors(), source="synthetic", notes=[note])


def make_records(count: int, *, start: pd.Timestamp | str, seed: int, step_seconds: int = 60) -> Dataset:
    """``count`` plausible NORMAL records from the synthetic model, the first at ``start``.

    The daily cycle follows the clock, so records appended later continue it.

    >>> rec = make_records(3, start="2024-01-01 12:00", seed=0)
    >>> [str(t) for t in rec.index.strftime("%H:%M")], rec.status.tolist()
    (['12:00', '12:01', '12:02'], ['NORMAL', 'NORMAL', 'NORMAL'])
    """
    if count < 1:
        raise ConfigError(f"count must be >= 1, got {count}")
    return make_sample(count * step_seconds / 86400, seed=seed, step_seconds=step_seconds, failures=0, start=start)
