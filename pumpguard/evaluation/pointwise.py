"""Row-by-row scores: confusion matrices, per-class precision/recall/F1, ROC-AUC and PR-AUC.

Every function here is pure: it takes arrays (or Series) of truth, predictions and scores and returns
numbers. Rows whose prediction or score is missing (NaN: the detector could not score the row) are
left out and counted, never silently treated as "normal".

A ranking metric needs both classes in the truth. When the assessed rows hold only one class the
value is ``None`` and ``undefined`` says why, instead of a crash or a made-up 0.5.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score


@dataclass(frozen=True)
class ClassScores:
    """Precision, recall and F1 of one class (``None`` where the ratio has a zero denominator).

    Examples
    --------
    >>> s = confusion_matrix(["BROKEN", "NORMAL"], ["NORMAL", "NORMAL"]).scores()["BROKEN"]
    >>> s.recall, s.precision, s.support
    (0.0, None, 1)
    """

    label: str
    precision: float | None
    recall: float | None
    f1: float | None
    support: int  # rows whose truth is this class
    predicted: int  # rows predicted as this class

    def to_dict(self) -> dict:
        return dict(self.__dict__)


@dataclass(frozen=True)
class ConfusionMatrix:
    """Counts of truth (rows) against prediction (columns) over the same class list.

    Examples
    --------
    >>> cm = confusion_matrix(["NORMAL", "NORMAL", "BROKEN", "NORMAL"],
    ...                       ["NORMAL", "BROKEN", "BROKEN", "NORMAL"])
    >>> cm.labels
    ('BROKEN', 'NORMAL')
    >>> cm.counts.tolist()
    [[1, 0], [1, 2]]
    >>> cm.scores()["BROKEN"].precision
    0.5
    >>> round(cm.macro_f1(), 3)
    0.733
    """

    labels: tuple[str, ...]
    counts: np.ndarray  # counts[i, j] = rows with truth labels[i] predicted labels[j]
    skipped: int = 0  # rows left out because the prediction (or truth) was missing

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def accuracy(self) -> float | None:
        return _ratio(int(np.trace(self.counts)), self.total)

    def scores(self) -> dict[str, ClassScores]:
        out = {}
        for i, label in enumerate(self.labels):
            tp = int(self.counts[i, i])
            support = int(self.counts[i, :].sum())
            predicted = int(self.counts[:, i].sum())
            precision = _ratio(tp, predicted)
            recall = _ratio(tp, support)
            out[label] = ClassScores(label, precision, recall, _f1(precision, recall), support, predicted)
        return out

    def macro_f1(self) -> float | None:
        """Mean F1 over the classes present in the truth (a class never true has no recall)."""
        values = [s.f1 if s.f1 is not None else 0.0 for s in self.scores().values() if s.support > 0]
        return float(np.mean(values)) if values else None

    def to_dict(self) -> dict:
        return {
            "labels": list(self.labels),
            "counts": self.counts.tolist(),
            "rows": self.total,
            "skipped_rows": self.skipped,
            "accuracy": self.accuracy(),
            "macro_f1": self.macro_f1(),
            "per_class": {k: v.to_dict() for k, v in self.scores().items()},
        }


def confusion_matrix(truth, predicted, labels=None) -> ConfusionMatrix:
    """Count truth against prediction; rows where either is missing are skipped and counted.

    ``labels`` fixes the class order; by default it is the sorted union of what appears.
    """
    t = label_text(truth)
    p = label_text(predicted)
    if len(t) != len(p):
        raise ValueError(f"truth has {len(t)} rows but predictions have {len(p)}; they must match row for row")
    keep = ~(pd.isna(t) | pd.isna(p))
    t, p = t[keep], p[keep]
    if labels is None:
        labels = sorted(set(pd.unique(t)) | set(pd.unique(p)))
    labels = tuple(str(x) for x in labels)
    k = len(labels)
    ti = pd.Categorical(t, categories=labels).codes.astype(np.int64)
    pi = pd.Categorical(p, categories=labels).codes.astype(np.int64)
    known = (ti >= 0) & (pi >= 0)  # a class outside ``labels`` is not counted
    counts = np.bincount(ti[known] * k + pi[known], minlength=k * k).reshape(k, k)
    return ConfusionMatrix(labels=labels, counts=counts, skipped=int((~keep).sum()))


def binary_confusion(truth, alarms) -> ConfusionMatrix:
    """Confusion of a 0/1 truth against 0/1 alarms (NaN alarm = unscorable row, skipped).

    Examples
    --------
    >>> cm = binary_confusion([0, 0, 1, 1], [0, 1, 1, float("nan")])
    >>> cm.counts.tolist(), cm.skipped
    ([[1, 1], [0, 1]], 1)
    >>> cm.scores()["1"].recall
    1.0
    """
    t = _as_float(truth)
    a = _as_float(alarms)
    if len(t) != len(a):
        raise ValueError(f"truth has {len(t)} rows but alarms have {len(a)}; they must match row for row")
    keep = ~np.isnan(t) & ~np.isnan(a)
    code = (t[keep] > 0).astype(np.int64) * 2 + (a[keep] > 0).astype(np.int64)
    counts = np.bincount(code, minlength=4).reshape(2, 2)
    return ConfusionMatrix(labels=("0", "1"), counts=counts, skipped=int((~keep).sum()))


def label_text(values) -> np.ndarray:
    """Labels as an object array of str, missing as None (fast for categoricals and pandas strings)."""
    if isinstance(values, pd.Series):
        values = values.array
    if isinstance(values, pd.Categorical):
        cats = np.asarray(values.categories.astype(str), dtype=object)
        codes = values.codes
        out = np.where(codes >= 0, cats[np.maximum(codes, 0)], None)
        return out.astype(object)
    if isinstance(values, pd.api.extensions.ExtensionArray) and pd.api.types.is_string_dtype(values.dtype):
        return np.asarray(values.to_numpy(dtype=object, na_value=None), dtype=object)
    arr = np.asarray(values, dtype=object)
    missing = pd.isna(arr)
    out = arr.copy()
    idx = np.flatnonzero(~missing)
    if idx.size:
        out[idx] = [v if isinstance(v, str) else str(v) for v in arr[idx]]
    out[missing] = None
    return out


@dataclass(frozen=True)
class RankingScore:
    """ROC-AUC and PR-AUC (average precision) of scores against a 0/1 truth.

    ``undefined`` holds the reason when the truth has a single class (the values are then ``None``).

    Examples
    --------
    >>> ranking_scores([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]).roc_auc
    0.75
    >>> r = ranking_scores([0, 0, 0], [0.1, 0.2, 0.3])
    >>> r.roc_auc is None, r.undefined
    (True, 'the truth holds only negative rows (3 rows, no positive); a ranking score needs both')
    """

    roc_auc: float | None
    pr_auc: float | None
    positives: int
    negatives: int
    unscorable: int  # rows left out because the score was NaN
    undefined: str | None = None
    base_rate: float | None = field(default=None)  # PR-AUC of a random ranking = share of positives

    def to_dict(self) -> dict:
        return dict(self.__dict__)


def ranking_scores(truth, scores) -> RankingScore:
    """ROC-AUC and PR-AUC of ``scores`` (higher = more anomalous) against a 0/1 ``truth``."""
    t = _as_float(truth)
    s = _as_float(scores)
    if len(t) != len(s):
        raise ValueError(f"truth has {len(t)} rows but scores have {len(s)}; they must match row for row")
    keep = ~np.isnan(t) & ~np.isnan(s)
    unscorable = int((~np.isnan(t) & np.isnan(s)).sum())
    y = t[keep] > 0
    x = s[keep]
    pos, neg = int(y.sum()), int((~y).sum())
    if pos == 0 or neg == 0:
        if pos == 0 and neg == 0:
            why = "no scorable rows to rank"
        elif pos == 0:
            why = f"the truth holds only negative rows ({neg} rows, no positive); a ranking score needs both"
        else:
            why = f"the truth holds only positive rows ({pos} rows, no negative); a ranking score needs both"
        return RankingScore(None, None, pos, neg, unscorable, why, None if pos + neg == 0 else pos / (pos + neg))
    return RankingScore(
        roc_auc=float(roc_auc_score(y, x)),
        pr_auc=float(average_precision_score(y, x)),
        positives=pos,
        negatives=neg,
        unscorable=unscorable,
        base_rate=pos / (pos + neg),
    )


def _as_float(values) -> np.ndarray:
    if isinstance(values, pd.Series):
        values = values.to_numpy(dtype=float, na_value=np.nan)
    return np.asarray(values, dtype=float)


def _ratio(num: int, den: int) -> float | None:
    return None if den == 0 else num / den


def _f1(precision: float | None, recall: float | None) -> float | None:
    if precision is None or recall is None:
        return None
    if precision + recall == 0:
        return 0.0
    return 2 * precision * recall / (precision + recall)
