"""The one data contract every part of pumpguard speaks.

A :class:`Dataset` is a wide table -- a UTC :class:`pandas.DatetimeIndex` named ``timestamp``, one
float column per sensor id, SI units -- plus optional label columns (``machine_status``, ``anomaly``,
``changepoint``), and the sensor metadata beside it as a tuple of :class:`Sensor`.
Units are converted at the edges (readers, simulators), never inside models.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Iterable

import numpy as np
import pandas as pd

STATUS_COLUMN = "machine_status"
STATUS_VALUES = ("NORMAL", "BROKEN", "RECOVERING")
#: Columns that describe the truth about a row rather than measure something.
LABEL_COLUMNS = (STATUS_COLUMN, "anomaly", "changepoint")
INDEX_NAME = "timestamp"

STATUS_DTYPE = pd.CategoricalDtype(list(STATUS_VALUES))


@dataclass(frozen=True)
class Sensor:
    """What one column measures and where.

    ``kind`` is a word of the field (``pressure``, ``flow``, ``level``, ``current``, ``power``,
    ``speed``, ``temperature``, ``vibration``, ``battery``, ``signal``, ``unknown``); ``element``
    names the network element (junction, pipe, tank, pump) the sensor sits on; ``x``/``y`` are
    network coordinates in metres.
    """

    id: str
    kind: str = "unknown"
    unit: str = ""
    element: str | None = None
    x: float | None = None
    y: float | None = None
    zone: str | None = None
    elevation: float | None = None
    description: str = ""

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}

    @classmethod
    def from_dict(cls, d: dict) -> "Sensor":
        known = {f for f in cls.__dataclass_fields__}
        return cls(**{k: v for k, v in d.items() if k in known})


@dataclass
class Dataset:
    """Sensor readings in the one data contract.

    Examples
    --------
    >>> idx = pd.date_range("2018-04-01", periods=3, freq="min", tz="UTC", name="timestamp")
    >>> frame = pd.DataFrame({"sensor_00": [2.4, 2.5, np.nan],
    ...                       "machine_status": pd.Categorical(["NORMAL"] * 3, dtype=STATUS_DTYPE)},
    ...                      index=idx)
    >>> ds = Dataset.from_frame(frame, source="example")
    >>> ds.sensor_ids
    ['sensor_00']
    >>> ds.status.tolist()
    ['NORMAL', 'NORMAL', 'NORMAL']
    """

    frame: pd.DataFrame
    sensors: tuple[Sensor, ...]
    source: str = ""
    #: What reading and preprocessing did to the data, in words a report can print.
    notes: list[str] = field(default_factory=list)

    @classmethod
    def from_frame(
        cls,
        frame: pd.DataFrame,
        *,
        sensors: Iterable[Sensor] | None = None,
        source: str = "",
        notes: Iterable[str] = (),
    ) -> "Dataset":
        """Wrap a frame that already follows the contract; unknown sensors get bare metadata."""
        given = {s.id: s for s in (sensors or ())}
        ids = [c for c in frame.columns if c not in LABEL_COLUMNS]
        meta = tuple(given.get(c, Sensor(id=c)) for c in ids)
        return cls(frame=frame, sensors=meta, source=source, notes=list(notes))

    @property
    def sensor_ids(self) -> list[str]:
        return [s.id for s in self.sensors]

    @property
    def values(self) -> pd.DataFrame:
        """The sensor columns only (rows x sensors, float)."""
        return self.frame[self.sensor_ids]

    @property
    def status(self) -> pd.Series | None:
        return self.frame[STATUS_COLUMN] if STATUS_COLUMN in self.frame else None

    @property
    def labels(self) -> pd.DataFrame:
        return self.frame[[c for c in LABEL_COLUMNS if c in self.frame]]

    @property
    def index(self) -> pd.DatetimeIndex:
        return self.frame.index  # type: ignore[return-value]

    def sensor(self, sensor_id: str) -> Sensor:
        for s in self.sensors:
            if s.id == sensor_id:
                return s
        raise KeyError(sensor_id)

    def with_frame(self, frame: pd.DataFrame, note: str | None = None) -> "Dataset":
        """A copy holding ``frame``; sensor metadata is kept for the columns that remain."""
        keep = [c for c in frame.columns if c not in LABEL_COLUMNS]
        by_id = {s.id: s for s in self.sensors}
        meta = tuple(by_id.get(c, Sensor(id=c)) for c in keep)
        notes = self.notes + ([note] if note else [])
        return replace(self, frame=frame, sensors=meta, notes=notes)

    def between(self, start=None, end=None) -> "Dataset":
        """Rows with ``start <= t < end``."""
        idx = self.frame.index
        mask = np.ones(len(idx), dtype=bool)
        if start is not None:
            mask &= idx >= pd.Timestamp(start)
        if end is not None:
            mask &= idx < pd.Timestamp(end)
        return replace(self, frame=self.frame[mask])

    def __len__(self) -> int:
        return len(self.frame)
