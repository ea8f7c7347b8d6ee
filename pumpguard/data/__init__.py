"""Data: the one contract, readers and writers, validation, preprocessing and EDA.

This subpackage imports nothing else of pumpguard's (except :mod:`pumpguard.errors`).
"""

from pumpguard.data.preprocessing import (
    DropReport,
    FillReport,
    ResampleReport,
    drop_uninformative,
    fill_gaps,
    find_gaps,
    infer_step,
    resample,
)
from pumpguard.data.readers import read_dataset
from pumpguard.data.schema import (
    INDEX_NAME,
    LABEL_COLUMNS,
    STATUS_COLUMN,
    STATUS_DTYPE,
    STATUS_VALUES,
    Dataset,
    Sensor,
)
from pumpguard.data.validation import DataFileNotFoundError, DataQualityWarning, validate_dataset
from pumpguard.data.writers import write_archive, write_csv, write_parquet

__all__ = [
    "INDEX_NAME",
    "LABEL_COLUMNS",
    "STATUS_COLUMN",
    "STATUS_DTYPE",
    "STATUS_VALUES",
    "DataFileNotFoundError",
    "DataQualityWarning",
    "Dataset",
    "DropReport",
    "FillReport",
    "ResampleReport",
    "Sensor",
    "drop_uninformative",
    "fill_gaps",
    "find_gaps",
    "infer_step",
    "read_dataset",
    "resample",
    "validate_dataset",
    "write_archive",
    "write_csv",
    "write_parquet",
]
