"""Input checks every detector shares, so a wrong table gets the same clear error everywhere.

A detector is fitted on a table of sensor columns and afterwards accepts exactly those columns (in
any order: they are put back in training order). Label columns (``machine_status``, ``anomaly``,
``changepoint``) are never sensor readings: they are dropped here so a label can never leak into a
model's inputs by accident.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from pumpguard.data.schema import LABEL_COLUMNS
from pumpguard.errors import ConfigError, DataFormatError, NotFittedError, UnknownSensorError


def check_fitted(detector: Any) -> None:
    """Refuse a detector that has not been fitted yet."""
    if not hasattr(detector, "sensors_"):
        name = type(detector).__name__
        raise NotFittedError(
            f"this {name} is not fitted yet: call fit(X_normal) first "
            "(or load a trained model file with pumpguard.detectors.load_model)"
        )


def _as_frame(X: Any, where: str) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise DataFormatError(
            f"{where}: expected a pandas DataFrame with one column per sensor",
            found=type(X).__name__,
            hint="wrap the array as pd.DataFrame(values, columns=sensor_ids) or pass dataset.values",
        )
    return X.drop(columns=[c for c in LABEL_COLUMNS if c in X.columns])


def _numeric(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    """The table as float64 columns; a cell that is not a number is refused by column, row and value."""
    converted = {}
    for column in frame.columns:
        series = frame[column]
        dtype = series.dtype
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            continue
        numbers = pd.to_numeric(series, errors="coerce")
        bad = numbers.isna() & series.notna()
        if bad.any():
            row = bad.to_numpy().nonzero()[0][0]
            raise DataFormatError(
                f"{where}: a sensor column is not numeric (row {row}, time {series.index[row]})",
                column=str(column),
                found=series.iloc[row],
                expected="a number in every cell, NaN for a missing reading",
                hint="convert the column with pd.to_numeric(..., errors='coerce') or drop it",
            )
        converted[column] = numbers
    if converted:
        frame = frame.assign(**{str(k): v for k, v in converted.items()})
    return frame.astype("float64")


def check_training_frame(X: Any, *, min_rows: int = 2) -> pd.DataFrame:
    """The training table, float64, label columns dropped; refuses empty or duplicate-column tables."""
    frame = _as_frame(X, "fit")
    if frame.shape[1] == 0:
        raise DataFormatError(
            "fit: the table has no sensor columns", expected="at least one numeric sensor column"
        )
    dup = frame.columns[frame.columns.duplicated()].tolist()
    if dup:
        raise DataFormatError("fit: sensor columns appear twice", found=dup, hint="keep one column per sensor id")
    frame = _numeric(frame, "fit")
    if len(frame) < min_rows:
        raise DataFormatError(
            "fit: too few rows to learn from", found=len(frame), expected=f"at least {min_rows} rows"
        )
    return frame


def check_scoring_frame(X: Any, sensors: list[str], *, where: str = "score") -> pd.DataFrame:
    """``X`` reordered to ``sensors`` as float64; an unseen or missing sensor column is refused.

    A float64 table whose columns are exactly ``sensors``, in order (what the stream scorer and
    ``X[model.sensors_]`` give), is returned as it is: the column-by-column checks below cost
    ~3 ms for 52 sensors, most of a one-row call. Pandas' copy-on-write keeps the caller's table
    safe from the detector either way.
    """
    if isinstance(X, pd.DataFrame) and _is_ready(X, sensors):
        return X
    frame = _as_frame(X, where)
    cols = [str(c) for c in frame.columns]
    known = set(sensors)
    unknown = [c for c in cols if c not in known]
    missing = [s for s in sensors if s not in set(cols)]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"sensor column(s) {unknown} were not seen in training")
        if missing:
            parts.append(f"sensor column(s) {missing} the model was trained on are absent")
        raise UnknownSensorError(
            f"{where}: " + " and ".join(parts)
            + f". The model expects exactly {len(sensors)} sensor columns ({_short(sensors)}). "
            "Fix: select the training columns (X[model.sensors_]); for a missing sensor add the column "
            "filled with NaN (it is then imputed), or retrain the model with the new sensor set.",
            unknown=unknown,
            missing=missing,
        )
    if frame.columns.duplicated().any():
        raise DataFormatError(f"{where}: sensor columns appear twice", found=cols)
    frame.columns = cols
    return _numeric(frame[sensors], where)


def _is_ready(X: pd.DataFrame, sensors: list[str]) -> bool:
    columns = X.columns
    if len(columns) != len(sensors) or columns.tolist() != sensors:
        return False
    float64 = np.dtype("float64")
    return all(dtype == float64 for dtype in X.dtypes.tolist())


def check_row_dict(x: Any, sensors: list[str]) -> pd.DataFrame:
    """One streaming reading ``{sensor_id: value}`` as a one-row frame; absent sensors are NaN."""
    if not isinstance(x, dict):
        raise DataFormatError("score_one: expected a dict {sensor_id: value}", found=type(x).__name__)
    unknown = [k for k in x if k not in set(sensors) and k not in LABEL_COLUMNS]
    if unknown:
        raise UnknownSensorError(
            f"score_one: sensor(s) {unknown} were not seen in training; the model knows "
            f"{_short(sensors)}. Fix: drop these keys or retrain with the new sensor set.",
            unknown=unknown,
        )
    row = {}
    for s in sensors:
        value = x.get(s, np.nan)
        try:
            row[s] = [np.nan if value is None else float(value)]
        except (TypeError, ValueError):
            raise DataFormatError(
                "score_one: a reading is not a number", column=s, found=value, expected="a number or None"
            ) from None
    return pd.DataFrame(row)


def check_target(y: Any, frame: pd.DataFrame) -> pd.Series:
    """The label of a supervised detector, aligned with ``frame``; rows without a label are refused."""
    if y is None:
        raise ConfigError(
            "fit: this detector is supervised and needs y (machine_status, or a 0/1 label) "
            "with one value per row of X"
        )
    series = y if isinstance(y, pd.Series) else pd.Series(np.asarray(y), index=frame.index)
    if len(series) != len(frame):
        raise DataFormatError(
            "fit: y does not have one value per row of X", found=len(series), expected=f"{len(frame)} values"
        )
    if series.isna().any():
        raise DataFormatError(
            "fit: y has missing labels",
            found=int(series.isna().sum()),
            expected="a label for every row",
            hint="drop rows without a label before fitting",
        )
    return pd.Series(series.to_numpy(), index=frame.index, name=series.name)


def check_positive_int(name: str, value: Any, *, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(f"parameter {name}={value!r}: expected an integer >= {minimum}")
    return int(value)


def check_fraction(name: str, value: Any, *, low: float = 0.0, high: float = 1.0) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.number)) or not (low < value <= high):
        raise ConfigError(f"parameter {name}={value!r}: expected a number in ({low}, {high}]")
    return float(value)


def check_choice(name: str, value: Any, choices: tuple) -> Any:
    if value not in choices:
        raise ConfigError(f"parameter {name}={value!r}: expected one of {list(choices)}")
    return value


def _short(names: list[str], limit: int = 6) -> str:
    if len(names) <= limit:
        return ", ".join(names)
    return ", ".join(names[:limit]) + f", ... ({len(names)} in all)"
