"""NAB scoring with SKAB's conventions, on hand-made cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pumpguard.errors import ConfigError, DataFormatError
from pumpguard.evaluation.nab import (
    PROFILES,
    detection_windows,
    nab_counts,
    nab_score,
    position_score,
    predicted_changepoints,
)

IDX = pd.date_range("2020-03-09 10:00:00", periods=600, freq="s")


def _cp(*rows):
    v = np.zeros(len(IDX))
    v[list(rows)] = 1
    return v


def _alarms(*spans):
    v = np.zeros(len(IDX))
    for a, b in spans:
        v[a:b] = 1
    return v


def test_null_detector_scores_0_and_perfect_detector_100():
    truth = _cp(100, 300, 500)
    assert nab_score([(IDX, truth, np.zeros(len(IDX)))]) == {p: 0.0 for p in PROFILES}
    # alarms whose edges fall exactly on the changepoints
    perfect = _alarms((100, 300), (500, 600))
    assert predicted_changepoints(perfect)[[100, 300, 500]].all()
    assert nab_score([(IDX, truth, perfect)]) == {p: 100.0 for p in PROFILES}


def test_one_case_by_hand():
    # one changepoint at row 100 (window 100 s .. 160 s); one alarm from row 130 to 200 and a blip at 10
    truth = _cp(100)
    alarms = _alarms((10, 11), (130, 200))
    counts = nab_counts(IDX, truth, alarms)
    # edges: 10 (on), 11 (off), 130 (on, in the window: relative 0.5 -> SKAB step 500), 200 (off)
    assert counts.n_detected == 1 and counts.n_false_positives == 3
    assert counts.delays_s == [30.0]
    x = -math.pi / 2 + math.pi * 500 / 999
    for name, (a_tp, a_fp, a_fn) in PROFILES.items():
        tp = (a_tp - a_fp) / 2 * (-math.tanh(x) / math.tanh(math.pi / 2)) + (a_tp - a_fp) / 2 + a_fp
        raw = tp + 3 * a_fp
        assert counts.raw[name] == pytest.approx(raw)
        expected = 100 * (raw - a_fn) / (a_tp - a_fn)
        assert counts.normalised()[name] == pytest.approx(expected)
    assert counts.normalised()["standard"] == pytest.approx(100 * (0.44405 - 0.33 + 1) / 2, abs=1e-3)


def test_first_row_counts_and_only_the_first_detection_in_a_window():
    assert predicted_changepoints([1, 1, 0]).tolist() == [True, False, True]
    truth = _cp(100)
    flicker = _alarms((100, 105), (110, 115), (120, 125))   # 6 edges, all inside the window
    counts = nab_counts(IDX, truth, flicker)
    assert counts.n_detected == 1 and counts.n_false_positives == 0
    assert counts.normalised()["standard"] == 100.0


def test_windows_are_to_the_right_and_a_later_overlapping_window_starts_where_the_earlier_ends():
    t0 = IDX[100]
    w = detection_windows([t0, t0 + pd.Timedelta(seconds=30)])
    assert w[0] == (t0, t0 + pd.Timedelta(seconds=60))
    assert w[1] == (t0 + pd.Timedelta(seconds=60), t0 + pd.Timedelta(seconds=90))
    truth = _cp(100, 130)
    late = nab_counts(IDX, truth, _alarms((165, 170)))        # only in the second window
    assert late.n_detected == 1 and late.n_false_positives == 0
    before = nab_counts(IDX, truth, _alarms((90, 95)))        # before the changepoint: false positives
    assert before.n_detected == 0 and before.n_false_positives == 2


def test_position_score_ends_and_nab_sigmoid():
    assert position_score(0.0, 1.0, -0.22) == 1.0
    assert position_score(1.0, 1.0, -0.22) == pytest.approx(-0.22)
    assert position_score(0.0, 1.0, -0.11, scale="nab") == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert position_score(1.0, 1.0, -0.11, scale="nab") == pytest.approx(0.0)
    with pytest.raises(ConfigError):
        position_score(0.5, 1, -0.11, scale="other")


def test_files_are_pooled_before_normalising():
    truth, perfect = _cp(100), _alarms((100, 600))
    pooled = nab_score([(IDX, truth, perfect), (IDX, truth, np.zeros(len(IDX)))])
    assert pooled["standard"] == pytest.approx(50.0)


def test_bad_input():
    with pytest.raises(DataFormatError):
        nab_counts(IDX[:10], np.zeros(11), np.zeros(11))
    with pytest.raises(DataFormatError):
        nab_counts(IDX[::-1], np.zeros(600), np.zeros(600))
    with pytest.raises(ConfigError):
        nab_counts(IDX, _cp(1), _cp(1), width="-1s")
