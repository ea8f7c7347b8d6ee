"""Time-ordered training of a dataset into a :class:`TrainedModel` (the detector and its card).

The time span of the data is cut in three, in time order (no shuffling: a model must never learn
from the future it is judged on):

- **training**: the first ``train_fraction`` (default 60 %) of the *time span*;
- **validation**: the next ``validation_fraction`` (default 20 %): the threshold is set here, on
  its NORMAL rows, from ``false_alarm_rate`` (:mod:`pumpguard.detectors.threshold`);
- **test**: the rest, never touched here -- for ``assess``.

Which rows a detector learns from: unsupervised detectors see only NORMAL rows of the training
slice (``machine_status == NORMAL``; without a status, ``anomaly == 0``; without either, every
row). Supervised ones see every training row with its label (``machine_status``, else ``anomaly``).
Time-aware detectors are scored over the training and validation slices in one piece, so their
windows have history, and the threshold uses the scores of the validation NORMAL rows.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
import pandas as pd

from pumpguard import __version__
from pumpguard.data.schema import STATUS_COLUMN, Dataset
from pumpguard.detectors.base import Detector
from pumpguard.detectors.registry import make_detector
from pumpguard.detectors.threshold import DEFAULT_FALSE_ALARM_RATE
from pumpguard.errors import ConfigError, DataFormatError


@dataclass
class TrainedModel:
    """A fitted detector with everything needed to trust and reuse it (the *model card*)."""

    detector: Detector
    detector_name: str
    params: dict
    #: sensor metadata (``Sensor.to_dict()``) in the detector's column order
    sensors: list[dict]
    threshold: float
    threshold_info: dict
    #: ISO-8601 UTC boundaries: train_start <= t < train_end <= t < validation_end <= test
    train_start: str
    train_end: str
    validation_end: str
    data_end: str
    n_train_rows: int
    n_validation_rows: int
    training_data_sha256: str
    pumpguard_version: str = __version__
    source: str = ""
    label_used: str | None = None
    notes: list[str] = field(default_factory=list)
    #: filled in by ``assess`` (see :func:`pumpguard.detectors.model_file.update_card`)
    assessment: dict = field(default_factory=dict)

    @property
    def sensor_ids(self) -> list[str]:
        return [s["id"] for s in self.sensors]

    @property
    def units(self) -> dict[str, str]:
        return {s["id"]: s.get("unit", "") for s in self.sensors}

    @property
    def test_start(self) -> pd.Timestamp:
        """Where the untouched test slice begins (``assess`` scores from here)."""
        return pd.Timestamp(self.validation_end)

    @classmethod
    def from_card(cls, card: dict, detector: Detector) -> "TrainedModel":
        """The inverse of :meth:`card`: a model from its card and its fitted detector."""
        split = card["split"]
        return cls(
            detector=detector,
            detector_name=card["detector"],
            params=card["params"],
            sensors=card["sensors"],
            threshold=card["threshold"],
            threshold_info=card["threshold_info"],
            train_start=split["train_start"],
            train_end=split["train_end"],
            validation_end=split["validation_end"],
            data_end=split["data_end"],
            n_train_rows=split["n_train_rows"],
            n_validation_rows=split["n_validation_rows"],
            training_data_sha256=card["training_data_sha256"],
            pumpguard_version=card["pumpguard_version"],
            source=card.get("source", ""),
            label_used=card.get("label_used"),
            notes=card.get("notes", []),
            assessment=card.get("assessment", {}),
        )

    def card(self) -> dict:
        """Everything but the detector, as plain JSON-able values."""
        return {
            "detector": self.detector_name,
            "params": dict(self.params),
            "sensors": [dict(s) for s in self.sensors],
            "threshold": float(self.threshold),
            "threshold_info": dict(self.threshold_info),
            "split": {
                "train_start": self.train_start,
                "train_end": self.train_end,
                "validation_end": self.validation_end,
                "data_end": self.data_end,
                "n_train_rows": self.n_train_rows,
                "n_validation_rows": self.n_validation_rows,
            },
            "training_data_sha256": self.training_data_sha256,
            "pumpguard_version": self.pumpguard_version,
            "source": self.source,
            "label_used": self.label_used,
            "notes": list(self.notes),
            "assessment": dict(self.assessment),
        }


def normal_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows known to be normal: status NORMAL; else ``anomaly == 0``; else every row."""
    if STATUS_COLUMN in frame:
        return (frame[STATUS_COLUMN].astype(str) == "NORMAL").to_numpy()
    if "anomaly" in frame:
        return (pd.to_numeric(frame["anomaly"], errors="coerce") == 0).to_numpy()
    return np.ones(len(frame), dtype=bool)


def training_label(frame: pd.DataFrame) -> tuple[pd.Series, str]:
    if STATUS_COLUMN in frame:
        return frame[STATUS_COLUMN].astype(str), STATUS_COLUMN
    if "anomaly" in frame:
        return pd.to_numeric(frame["anomaly"], errors="raise").astype("int64"), "anomaly"
    raise ConfigError(
        "this detector is supervised: the data need a machine_status (or anomaly) column; "
        "choose an unsupervised detector such as pca or iforest for unlabelled data"
    )


def data_hash(X: pd.DataFrame, y: pd.Series | None = None) -> str:
    """SHA-256 of the exact rows a detector learned from (column names, times, values, labels)."""
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, X.columns)).encode())
    if isinstance(X.index, pd.DatetimeIndex):
        h.update(np.ascontiguousarray(X.index.as_unit("ns").asi8).tobytes())
    h.update(np.ascontiguousarray(X.to_numpy(dtype="float64", na_value=np.nan)).tobytes())
    if y is not None:
        h.update("\x1f".join(map(str, y.tolist())).encode())
    return h.hexdigest()


def _plain(params: dict) -> dict:
    """Parameters as JSON-able values (an object parameter, e.g. a wrapped estimator, as its repr)."""
    out = {}
    for key, value in params.items():
        if value is None or isinstance(value, (bool, int, float, str)):
            out[key] = value
        elif isinstance(value, np.generic):
            out[key] = value.item()
        else:
            out[key] = repr(value)
    return out


def split_times(index: pd.DatetimeIndex, train_fraction: float, validation_fraction: float):
    """``(start, train_end, validation_end, end)`` cutting the time span by fractions."""
    for name, value in (("train_fraction", train_fraction), ("validation_fraction", validation_fraction)):
        if not 0.0 < float(value) < 1.0:
            raise ConfigError(f"{name}={value!r}: expected a fraction of the time span in (0, 1)")
    if train_fraction + validation_fraction > 1.0 + 1e-12:
        raise ConfigError(
            f"train_fraction + validation_fraction = {train_fraction + validation_fraction:.3g}: "
            "expected at most 1 (the rest is the test slice)"
        )
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
        raise DataFormatError("training needs a time-indexed table with at least 2 rows")
    start, end = index.min(), index.max()
    span = end - start
    train_end = start + span * train_fraction
    validation_end = train_end + span * validation_fraction
    return start, train_end, validation_end, end


def train(
    dataset: Dataset,
    detector_name: str | Detector,
    params: dict | None = None,
    *,
    train_fraction: float = 0.6,
    validation_fraction: float = 0.2,
    false_alarm_rate: float = DEFAULT_FALSE_ALARM_RATE,
    progress: Callable[[str], Any] | None = None,
    exclude: np.ndarray | pd.Series | None = None,
) -> TrainedModel:
    """Fit ``detector_name`` on the first part of ``dataset`` in time and set its threshold.

    ``detector_name`` is a registry name (:data:`pumpguard.detectors.registry.DETECTORS`) or an
    unfitted :class:`Detector` (``params`` then go to its ``set_params``). ``progress`` is called with
    a short message at each stage.

    ``exclude`` marks rows known to be abnormal from a record outside the sensor data (a maintenance
    log, the fault table of a simulation): a boolean per row of ``dataset`` (a Series is aligned on the
    time index). Unsupervised detectors learn from, and thresholds are set on, NORMAL rows that are not
    excluded; supervised detectors keep every labelled row, as the label already says what they are.

    Examples
    --------
    >>> from pumpguard.data.schema import Dataset
    >>> rng = np.random.default_rng(0)
    >>> idx = pd.date_range("2018-04-01", periods=2000, freq="min", tz="UTC", name="timestamp")
    >>> ds = Dataset.from_frame(pd.DataFrame(rng.normal(size=(2000, 3)), index=idx,
    ...                                      columns=["p1", "p2", "flow"]))
    >>> model = train(ds, "pca", false_alarm_rate=0.01)
    >>> model.n_train_rows, model.train_end
    (1200, '2018-04-01T19:59:24+00:00')
    >>> model.threshold_info["method"], model.threshold == model.detector.threshold_
    ('empirical-quantile', True)
    """
    say = progress or (lambda message: None)
    if isinstance(detector_name, Detector):  # a detector built elsewhere (e.g. import_pickle)
        detector, detector_name = detector_name, type(detector_name).name or type(detector_name).__name__
        if params:
            detector.set_params(**params)
    else:
        detector = make_detector(detector_name, **dict(params or {}))
    frame = dataset.frame.sort_index()
    sensors = dataset.sensor_ids
    start, train_end, validation_end, end = split_times(frame.index, train_fraction, validation_fraction)
    in_train = frame.index < train_end
    in_validation = (frame.index >= train_end) & (frame.index < validation_end)
    normal = normal_rows(frame)
    notes = [
        f"time-ordered split: training {start.isoformat()} .. {train_end.isoformat()}, "
        f"validation .. {validation_end.isoformat()}, test (untouched) .. {end.isoformat()}"
    ]
    if exclude is not None:
        known_bad = _exclusion_mask(exclude, dataset.frame.index, frame.index)
        if not detector.supervised:
            notes.append(f"left out {int((known_bad & normal & (in_train | in_validation)).sum()):,} NORMAL-labelled "
                         "training/validation rows inside known abnormal periods (exclude=)")
            normal = normal & ~known_bad

    label_used = None
    if detector.supervised:
        y_all, label_used = training_label(frame)
        X_fit, y_fit = frame.loc[in_train, sensors], y_all[in_train]
        notes.append(f"supervised on {label_used}: every training row with its label")
    else:
        X_fit, y_fit = frame.loc[in_train & normal, sensors], None
        notes.append("unsupervised: fitted on the NORMAL rows of the training slice only")
    if len(X_fit) < 2:
        raise DataFormatError(
            "too few training rows", found=len(X_fit), expected="at least 2",
            hint="raise train_fraction or give a longer record",
        )
    say(f"fitting {detector_name} on {len(X_fit):,} rows x {len(sensors)} sensors")
    detector.fit(X_fit, y_fit)

    n_val_normal = int((in_validation & normal).sum())
    if n_val_normal == 0:
        raise DataFormatError(
            "the validation slice has no NORMAL rows to set the threshold on",
            hint="change train_fraction / validation_fraction so the validation slice covers normal running",
        )
    say(f"setting the threshold on {n_val_normal:,} NORMAL validation rows (false-alarm rate {false_alarm_rate:g})")
    if detector.time_aware:
        # score in one piece from the start so windows have history; keep the validation NORMAL rows
        span = in_train | in_validation
        detector.set_threshold(
            frame.loc[span, sensors], false_alarm_rate=false_alarm_rate,
            normal=(in_validation & normal)[span],
        )
    else:
        detector.set_threshold(frame.loc[in_validation & normal, sensors], false_alarm_rate=false_alarm_rate)

    by_id = {s.id: s for s in dataset.sensors}
    return TrainedModel(
        detector=detector,
        detector_name=detector_name,
        params=_plain(detector.get_params()),
        sensors=[by_id[s].to_dict() for s in sensors],
        threshold=float(detector.threshold_),
        threshold_info=dict(detector.threshold_info_),
        train_start=start.isoformat(),
        train_end=train_end.isoformat(),
        validation_end=validation_end.isoformat(),
        data_end=end.isoformat(),
        n_train_rows=int(len(X_fit)),
        n_validation_rows=int(in_validation.sum()),
        training_data_sha256=data_hash(X_fit, y_fit),
        source=dataset.source,
        label_used=label_used,
        notes=notes,
    )


def _exclusion_mask(exclude, original_index: pd.DatetimeIndex, sorted_index: pd.DatetimeIndex) -> np.ndarray:
    """``exclude`` as a boolean array in ``sorted_index`` order (a Series is aligned on time)."""
    if isinstance(exclude, pd.Series):
        return exclude.reindex(sorted_index, fill_value=False).to_numpy(dtype=bool)
    mask = np.asarray(exclude, dtype=bool)
    if mask.shape != (len(original_index),):
        raise ConfigError(f"exclude has {mask.shape[0] if mask.ndim else 0} values for {len(original_index)} rows: "
                          "expected one boolean per row of the dataset")
    return pd.Series(mask, index=original_index).reindex(sorted_index).to_numpy(dtype=bool)
