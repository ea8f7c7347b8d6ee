"""Readers for the ground truth that travels beside a simulated ``data.csv``.

``pumpguard simulate --out DIR`` writes, beside ``DIR/data.csv``:

* ``events.csv`` -- one row per injected fault: ``event_id, kind, category (process|sensor), location,
  element, start, end, failure, severity, severity_unit, spec``; times are ISO 8601 UTC, ``end`` is
  empty when the fault lasts to the end of the run, ``failure`` is set only for a bearing that fails;
* ``controller.csv`` -- the controller's transitions: ``ts, from, to, reason, actions, alarm_id``;
* ``sensors.json`` -- ``{"sensors": [{id, kind, unit, element, x, y, zone, elevation, description,
  name}, ...]}`` and, when the simulator records it, ``"network"`` (the network the data came from).

:func:`read_events`, :func:`read_transitions` and :func:`read_sensors` read them back with one clear error per problem.
:func:`ground_truth_beside` finds them next to a data file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pumpguard.data.schema import Sensor
from pumpguard.errors import DataFormatError

#: Columns ``events.csv`` must have (the simulator writes a few more, which are kept).
EVENT_COLUMNS = ("event_id", "kind", "category", "location", "element", "start", "end")
CATEGORIES = ("process", "sensor")


def read_events(path: str | Path) -> pd.DataFrame:
    """Read ``events.csv``: ``start``/``end``/``failure`` as UTC Timestamps (NaT where empty), text as str.

    Examples
    --------
    >>> import io, tempfile, os
    >>> text = ("event_id,kind,category,location,element,start,end\\n"
    ...         "F-01,burst,process,P-M1,P-M1-LEAK,2018-04-03T07:00:00+00:00,2018-04-03T13:00:00+00:00\\n")
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = os.path.join(d, "events.csv"); _ = open(p, "w").write(text)
    ...     ev = read_events(p)
    >>> ev.loc[0, "kind"], ev.loc[0, "end"] - ev.loc[0, "start"]
    ('burst', Timedelta('0 days 06:00:00'))
    """
    path = Path(path)
    if not path.is_file():
        raise DataFormatError("the fault ground truth file does not exist", path=path,
                              hint="pass the events.csv written by `pumpguard simulate`")
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"not a readable CSV table: {exc}", path=path) from None
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame()
    missing = [c for c in EVENT_COLUMNS if c not in frame.columns]
    if missing:
        raise DataFormatError("events table lacks columns", path=path, line=1, found=list(frame.columns),
                              expected="the columns " + ", ".join(EVENT_COLUMNS),
                              hint="the file `pumpguard simulate` writes as events.csv has them")
    for col in ("start", "end", "failure"):
        if col in frame.columns:
            frame[col] = [_time(v, path, i + 2, col, required=(col == "start")) for i, v in enumerate(frame[col])]
            frame[col] = pd.to_datetime(frame[col], utc=True)
    for i, (cat, start, end) in enumerate(zip(frame["category"], frame["start"], frame["end"])):
        if cat not in CATEGORIES:
            raise DataFormatError("unknown fault category", path=path, line=i + 2, column="category",
                                  found=cat, expected=" or ".join(CATEGORIES))
        if pd.notna(end) and end < start:
            raise DataFormatError("a fault ends before it starts", path=path, line=i + 2, column="end",
                                  found=end.isoformat(), expected=f"a time at or after {start.isoformat()}")
    if "severity" in frame.columns:
        frame["severity"] = pd.to_numeric(frame["severity"].replace("", None), errors="coerce")
    return frame.reset_index(drop=True)


def _time(value: str, path: Path, line: int, column: str, *, required: bool):
    text = str(value).strip()
    if not text:
        if required:
            raise DataFormatError("a fault has no start time", path=path, line=line, column=column,
                                  expected="an ISO 8601 time such as 2018-04-03T07:00:00+00:00")
        return None
    try:
        t = pd.Timestamp(text)
    except ValueError:
        raise DataFormatError("not a time", path=path, line=line, column=column, found=text,
                              expected="an ISO 8601 time such as 2018-04-03T07:00:00+00:00") from None
    return t.tz_localize("UTC") if t.tzinfo is None else t.tz_convert("UTC")


def read_transitions(path: str | Path) -> pd.DataFrame:
    """Read ``controller.csv``: ``ts`` as UTC Timestamps, ``from``/``to``/``reason``/``actions`` as text."""
    path = Path(path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise DataFormatError("the controller history file does not exist", path=path) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"not a readable CSV table: {exc}", path=path) from None
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=["ts", "from", "to"])
    missing = [c for c in ("ts", "from", "to") if c not in frame.columns]
    if missing:
        raise DataFormatError("controller history lacks columns", path=path, line=1, found=list(frame.columns),
                              expected="ts, from, to (as `pumpguard simulate` writes controller.csv)")
    frame["ts"] = pd.to_datetime([_time(v, path, i + 2, "ts", required=True) for i, v in enumerate(frame["ts"])],
                                 utc=True)
    return frame


@dataclass(frozen=True)
class SensorFile:
    """What ``sensors.json`` says: the sensors in column order, and the network if it is recorded.

    >>> SensorFile((Sensor("sensor_00", "pressure", "m", element="J-1"),), None).by_id()["sensor_00"].element
    'J-1'
    """

    sensors: tuple[Sensor, ...]
    network: str | None

    def by_id(self) -> dict[str, Sensor]:
        return {s.id: s for s in self.sensors}


def read_sensors(path: str | Path) -> SensorFile:
    """Read ``sensors.json`` (``{"sensors": [...]}`` or a bare list) into :class:`Sensor` records."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataFormatError("the sensor metadata file does not exist", path=path,
                              hint="pass the sensors.json written by `pumpguard simulate`") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataFormatError(f"not valid JSON: {exc}", path=path) from None
    rows = doc.get("sensors") if isinstance(doc, dict) else doc
    if not isinstance(rows, list):
        raise DataFormatError("no sensor list", path=path, found=type(rows).__name__,
                              expected='{"sensors": [{"id": ..., "kind": ..., "element": ...}, ...]}')
    sensors = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict) or not isinstance(row.get("id"), str) or not row["id"]:
            raise DataFormatError(f"sensor entry {i} has no id", path=path, found=row,
                                  expected='an object with at least "id" (e.g. "sensor_00")')
        try:
            sensors.append(Sensor.from_dict(row))
        except TypeError as exc:
            raise DataFormatError(f"sensor entry {i} ({row['id']}) is malformed: {exc}", path=path) from None
    network = doc.get("network") if isinstance(doc, dict) else None
    return SensorFile(tuple(sensors), str(network) if network else None)


def ground_truth_beside(data_path: str | Path | None) -> dict[str, Path | None]:
    """``{"events", "sensors", "controller"}`` -> the file beside a data file (or inside a data folder),
    None where absent."""
    names = {"events": "events.csv", "sensors": "sensors.json", "controller": "controller.csv"}
    p = None if data_path is None else Path(data_path)
    if p is None or not p.exists():
        return {k: None for k in names}
    folder = p if p.is_dir() else p.parent
    return {k: (folder / f if (folder / f).is_file() else None) for k, f in names.items()}
