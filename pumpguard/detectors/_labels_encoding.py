"""Turning a supervised detector's ``y`` into class codes (statuses or a 0/1 label)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pumpguard.data.schema import STATUS_VALUES
from pumpguard.errors import DataFormatError


def encode_target(y: pd.Series) -> tuple[np.ndarray, list, list]:
    """``(codes, classes, anomalous_classes)``.

    Status strings: classes are the statuses present, in NORMAL, BROKEN, RECOVERING order;
    anomalous = every class but NORMAL. 0/1 (or bool) labels: classes ``[0, 1]``, anomalous ``[1]``.

    Examples
    --------
    >>> codes, classes, anomalous = encode_target(pd.Series(["NORMAL", "BROKEN", "NORMAL"]))
    >>> codes.tolist(), classes, anomalous
    ([0, 1, 0], ['NORMAL', 'BROKEN'], ['BROKEN'])
    """
    values = y.to_numpy()
    if pd.api.types.is_bool_dtype(y.dtype) or pd.api.types.is_numeric_dtype(y.dtype):
        numeric = values.astype("float64")
        bad = ~np.isin(numeric, (0.0, 1.0))
        if bad.any():
            raise DataFormatError(
                "fit: a numeric label must be 0 or 1", found=sorted(set(numeric[bad].tolist()))[:5],
                expected="0 (normal) or 1 (anomalous / failure ahead), or machine_status strings",
            )
        codes = numeric.astype("int64")
        if len(np.unique(codes)) < 2:
            raise DataFormatError("fit: y holds one class only", found=int(codes[0]), expected="both 0 and 1")
        return codes, [0, 1], [1]
    text = pd.Series(values).astype(str).str.upper().to_numpy()
    unknown = sorted(set(text) - set(STATUS_VALUES))
    if unknown:
        raise DataFormatError(
            "fit: unknown machine_status value(s)", found=unknown[:5], expected=f"one of {list(STATUS_VALUES)}"
        )
    classes = [s for s in STATUS_VALUES if s in set(text)]
    if "NORMAL" not in classes or len(classes) < 2:
        raise DataFormatError(
            "fit: y needs NORMAL rows and at least one other status", found=classes,
            hint="train supervised detectors on a span that contains a failure",
        )
    lookup = {c: i for i, c in enumerate(classes)}
    codes = np.array([lookup[t] for t in text], dtype="int64")
    return codes, classes, [c for c in classes if c != "NORMAL"]
