import numpy as np
import pandas as pd
import pytest

from pumpguard.detectors.labels import failure_starts, failure_within, parse_horizon
from pumpguard.errors import ConfigError, DataFormatError


def status(values, freq="min"):
    idx = pd.date_range("2018-04-01", periods=len(values), freq=freq, tz="UTC", name="timestamp")
    return pd.Series(values, index=idx)


def test_failure_starts_are_transitions_into_broken():
    s = status(["BROKEN", "RECOVERING", "NORMAL", "BROKEN", "BROKEN", "NORMAL", "BROKEN"])
    assert list(failure_starts(s)) == list(s.index[[0, 3, 6]])


def test_failure_within_marks_the_horizon_before_each_start():
    s = status(["NORMAL"] * 10 + ["BROKEN"] + ["RECOVERING"] * 3 + ["NORMAL"] * 5)
    label = failure_within(s, "3min")
    assert label.dtype == np.int8
    assert label.index.equals(s.index)
    assert label.to_numpy().nonzero()[0].tolist() == [7, 8, 9]


def test_categorical_status_works(record):
    label = failure_within(record["machine_status"], "1h")
    assert label.sum() == 3 * 60


def test_irregular_sampling_uses_time_not_rows():
    idx = pd.DatetimeIndex(["2018-04-01 00:00", "2018-04-01 05:00", "2018-04-01 11:00", "2018-04-01 12:00"], tz="UTC")
    s = pd.Series(["NORMAL", "NORMAL", "NORMAL", "BROKEN"], index=idx)
    assert failure_within(s, "12h").tolist() == [1, 1, 1, 0]
    assert failure_within(s, "6h").tolist() == [0, 0, 1, 0]


def test_bad_input_is_refused():
    with pytest.raises(ConfigError, match="horizon"):
        parse_horizon("soon")
    with pytest.raises(ConfigError, match="positive"):
        parse_horizon("-1h")
    with pytest.raises(DataFormatError, match="DatetimeIndex"):
        failure_within(pd.Series(["NORMAL", "BROKEN"]), "1h")
