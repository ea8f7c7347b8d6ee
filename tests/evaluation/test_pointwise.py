"""Row-level metrics on hand-made cases whose answers are worked out by hand."""

import math

import numpy as np
import pytest

from pumpguard.evaluation.pointwise import binary_confusion, confusion_matrix, ranking_scores


def test_confusion_per_class_by_hand():
    truth = ["NORMAL"] * 6 + ["BROKEN"] * 1 + ["RECOVERING"] * 3
    pred = ["NORMAL"] * 5 + ["RECOVERING"] + ["BROKEN"] + ["RECOVERING", "RECOVERING", "NORMAL"]
    cm = confusion_matrix(truth, pred, labels=["NORMAL", "BROKEN", "RECOVERING"])
    assert cm.counts.tolist() == [[5, 0, 1], [0, 1, 0], [1, 0, 2]]
    s = cm.scores()
    assert s["NORMAL"].precision == pytest.approx(5 / 6)
    assert s["NORMAL"].recall == pytest.approx(5 / 6)
    assert s["RECOVERING"].precision == pytest.approx(2 / 3)
    assert s["RECOVERING"].recall == pytest.approx(2 / 3)
    assert s["BROKEN"].f1 == 1.0
    assert cm.accuracy() == pytest.approx(0.8)
    assert cm.macro_f1() == pytest.approx((5 / 6 + 1 + 2 / 3) / 3)


def test_confusion_skips_missing_predictions_and_says_so():
    cm = confusion_matrix(["A", "B", "A"], ["A", None, "B"])
    assert cm.total == 2 and cm.skipped == 1


def test_class_never_predicted_has_undefined_precision_not_zero_division():
    cm = confusion_matrix(["A", "B"], ["A", "A"], labels=["A", "B"])
    assert cm.scores()["B"].precision is None
    assert cm.scores()["B"].recall == 0.0
    assert cm.scores()["B"].f1 is None


def test_confusion_length_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match="row for row"):
        confusion_matrix(["A"], ["A", "B"])


def test_binary_confusion_nan_alarm_is_skipped():
    cm = binary_confusion([1, 1, 0, 0, 1], [1, np.nan, 0, 1, 0])
    assert cm.counts.tolist() == [[1, 1], [1, 1]]
    assert cm.skipped == 1


def test_roc_auc_and_average_precision_by_hand():
    # positives at scores 0.9 and 0.4, negatives at 0.8, 0.3, 0.2: pairs won 5 of 6
    r = ranking_scores([1, 0, 1, 0, 0], [0.9, 0.8, 0.4, 0.3, 0.2])
    assert r.roc_auc == pytest.approx(5 / 6)
    # AP = mean precision at each positive: (1/1 + 2/3) / 2
    assert r.pr_auc == pytest.approx((1 + 2 / 3) / 2)
    assert r.base_rate == pytest.approx(0.4)


@pytest.mark.parametrize("truth", [[0, 0, 0, 0], [1, 1, 1, 1]])
def test_single_class_truth_is_undefined_not_a_crash(truth):
    r = ranking_scores(truth, [0.1, 0.2, 0.3, 0.4])
    assert r.roc_auc is None and r.pr_auc is None
    assert "needs both" in r.undefined


def test_nan_scores_are_left_out_and_counted():
    r = ranking_scores([1, 0, 1, 0], [0.9, 0.1, np.nan, np.nan])
    assert r.roc_auc == 1.0 and r.unscorable == 2


def test_no_scorable_rows():
    r = ranking_scores([1, 0], [math.nan, math.nan])
    assert r.roc_auc is None and r.undefined == "no scorable rows to rank"
