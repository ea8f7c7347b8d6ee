"""Data: the one contract, readers and writers, validation, preprocessing and EDA.

This subpackage imports nothing else of pumpguard's (except :mod:`pumpguard.errors`).
"""

from pumpguard.data.schema import (
    INDEX_NAME,
    LABEL_COLUMNS,
    STATUS_COLUMN,
    STATUS_DTYPE,
    STATUS_VALUES,
    Dataset,
    Sensor,
)

__all__ = [
    "INDEX_NAME",
    "LABEL_COLUMNS",
    "STATUS_COLUMN",
    "STATUS_DTYPE",
    "STATUS_VALUES",
    "Dataset",
    "Sensor",
]
