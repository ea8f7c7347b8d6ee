"""The file formats pumpguard knows by name: their columns, sensor metadata and units.

Two published data sets have fixed layouts:

* the **pump-sensor** CSV (one row a minute, ``timestamp``, ``sensor_00`` .. ``sensor_51``,
  ``machine_status``); its sensors are anonymised, so their quantity and unit are unknown;
* **SKAB** (Skoltech Anomaly Benchmark; ``;``-separated, one row a second, ``datetime``, eight
  sensors, ``anomaly``, ``changepoint``). Its README gives the units; pumpguard converts the non-SI
  ones at this edge (see :data:`SKAB_SENSORS`), so models only ever see SI values.

Examples
--------
>>> SKAB_SENSORS["Pressure"].unit
'Pa'
>>> SKAB_TO_SI["Pressure"]
100000.0
"""

from __future__ import annotations

import re

from pumpguard.data.schema import Sensor

PUMP_TIMESTAMP = "timestamp"
PUMP_STATUS = "machine_status"
#: ``sensor_00`` .. ``sensor_51`` in the published file.
PUMP_SENSOR_PATTERN = re.compile(r"^sensor_\d{2,}$")
#: Names a leading row-number column gets: empty (pandas ``to_csv`` with an unnamed index) or
#: ``Unnamed: 0`` (the same file re-saved by pandas).
INDEX_COLUMN_NAMES = ("", "Unnamed: 0")

SKAB_TIMESTAMP = "datetime"
SKAB_LABELS = ("anomaly", "changepoint")

STANDARD_GRAVITY = 9.80665  # m/s^2 per g (CGPM 1901)
PASCAL_PER_BAR = 1.0e5
CUBIC_METRE_PER_SECOND_PER_LITRE_PER_MINUTE = 1.0e-3 / 60.0

#: SKAB column -> (kind, unit as published, factor to SI, SI unit, description); units and
#: descriptions as SKAB's README gives them for each column.
#: Degrees Celsius, ampere and volt are SI (derived) units already and stay as they are.
_SKAB = {
    "Accelerometer1RMS": ("vibration", "g", STANDARD_GRAVITY, "m/s^2", "RMS vibration acceleration, pump accelerometer 1"),
    "Accelerometer2RMS": ("vibration", "g", STANDARD_GRAVITY, "m/s^2", "RMS vibration acceleration, pump accelerometer 2"),
    "Current": ("current", "A", 1.0, "A", "current drawn by the electric motor"),
    "Pressure": ("pressure", "bar", PASCAL_PER_BAR, "Pa", "gauge pressure in the loop after the water pump"),
    "Temperature": ("temperature", "degC", 1.0, "degC", "temperature of the motor body"),
    "Thermocouple": ("temperature", "degC", 1.0, "degC", "temperature of the fluid in the circulation loop"),
    "Voltage": ("voltage", "V", 1.0, "V", "voltage on the electric motor"),
    "Volume Flow RateRMS": (
        "flow", "L/min", CUBIC_METRE_PER_SECOND_PER_LITRE_PER_MINUTE, "m^3/s",
        "circulation flow rate of the fluid in the loop",
    ),
}

SKAB_SENSOR_COLUMNS = tuple(_SKAB)
#: Factor that turns each SKAB column as published into SI.
SKAB_TO_SI = {name: spec[2] for name, spec in _SKAB.items()}
#: Unit of each SKAB column as published.
SKAB_FILE_UNITS = {name: spec[1] for name, spec in _SKAB.items()}


def skab_sensor(name: str, *, si: bool = True) -> Sensor:
    """Metadata of one SKAB sensor, in SI (the default) or in the unit of the file."""
    kind, file_unit, factor, si_unit, text = _SKAB[name]
    if si and factor != 1.0:
        text = f"{text}; converted from {file_unit} (x{factor:.6g})"
    return Sensor(id=name, kind=kind, unit=si_unit if si else file_unit, zone="SKAB testbed", description=text)


#: SKAB sensors in SI, by column name.
SKAB_SENSORS = {name: skab_sensor(name) for name in _SKAB}


def pump_sensor(name: str) -> Sensor:
    """Metadata of one pump-sensor column: the publisher anonymised quantity and unit."""
    return Sensor(id=name, kind="unknown", unit="", description="anonymised pump sensor; quantity and unit not published")


#: Column names that look like a time stamp in a generic file (lower-cased, exact or as a word).
TIME_NAME_PATTERN = re.compile(r"(^|[_\s.\-])(time|timestamp|datetime|date|ts|time_utc|utc)($|[_\s.\-])", re.IGNORECASE)


def looks_like_time_name(name: str) -> bool:
    """True for ``timestamp``, ``datetime``, ``date``, ``ts``, ``event_time``, ``Time (UTC)`` ...

    >>> [looks_like_time_name(n) for n in ("timestamp", "ts", "event_time", "sensor_07", "status")]
    [True, True, True, False, False]
    """
    return bool(TIME_NAME_PATTERN.search(str(name).strip().replace("(", " ").replace(")", " ")))
