"""One honest assessment of a detector's output: row scores, events, false alarms, on a stated time slice.

:func:`assess` is pure: it takes the detector's scores and alarms (and predicted status, if the model
has one) on a DatetimeIndex plus the truth labels, keeps only the time slice it is told to (by
default the caller passes the end of the training/validation slice as ``start``), and returns a
JSON-ready dict. What every number means is in ``docs/assessment.md``.

Which truth the ranking scores use:

* ``warning`` (pump data with ``machine_status``): 1 on the normal rows of each failure's look-back
  window, 0 on the other normal rows, and BROKEN/RECOVERING rows left out -- "does the score rise
  before a failure?". This is the early-warning question and the primary one.
* ``abnormal`` (pump data): 1 on BROKEN/RECOVERING rows, 0 on NORMAL -- "is the score high while the
  machine is down?". Easy (a stopped pump looks nothing like a running one), reported for context.
* ``anomaly`` (SKAB-style data): the ``anomaly`` column itself; it is the primary truth there.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from pumpguard.data import STATUS_COLUMN, STATUS_VALUES
from pumpguard.errors import DataFormatError
from pumpguard.evaluation.events import (
    DEFAULT_HORIZON,
    events_from_labels,
    false_alarms,
    lookback_windows,
    match_events,
    normal_outside_events,
    parse_horizon,
    truth_kind,
)
from pumpguard.evaluation.pointwise import binary_confusion, confusion_matrix, label_text, ranking_scores

FORMAT_VERSION = 1


def warning_truth(labels: pd.DataFrame, horizon=DEFAULT_HORIZON) -> pd.Series:
    """The early-warning truth: 1 in look-back windows, 0 on other normal rows, NaN on the rest.

    Examples
    --------
    >>> idx = pd.date_range("2018-04-01", periods=6, freq="h", tz="UTC")
    >>> lab = pd.DataFrame({"machine_status": ["NORMAL"] * 4 + ["BROKEN", "NORMAL"]}, index=idx)
    >>> warning_truth(lab, "2h").tolist()
    [0.0, 0.0, 1.0, 1.0, nan, 0.0]
    """
    events = events_from_labels(labels)
    normal = normal_outside_events(labels, events)
    truth = np.where(normal, 0.0, np.nan)
    for win in lookback_windows(labels.index, events, horizon, normal):
        truth[win] = 1.0
    return pd.Series(truth, index=labels.index, name="warning")


def abnormal_truth(labels: pd.DataFrame) -> pd.Series:
    """1 where the truth says the machine is not normal, 0 where it is, NaN where unlabelled."""
    kind = truth_kind(labels)
    if kind == STATUS_COLUMN:
        s = label_text(labels[STATUS_COLUMN])
        values = np.where(pd.isna(s), np.nan, (s != "NORMAL").astype(float))
    elif kind == "anomaly":
        values = labels["anomaly"].to_numpy(dtype=float, na_value=np.nan)
        values = np.where(np.isnan(values), np.nan, (values > 0).astype(float))
    else:
        values = np.full(len(labels), np.nan)
    return pd.Series(values.astype(float), index=labels.index, name="abnormal")


def assess(
    scores: pd.Series,
    alarms: pd.Series,
    labels: pd.DataFrame,
    *,
    threshold: float | None = None,
    predicted_status: pd.Series | None = None,
    horizon=None,
    start=None,
    end=None,
    slice_rule: str = "all rows given",
) -> dict:
    """Assess scores and alarms against the truth in ``labels`` on rows ``start <= t < end``.

    ``horizon`` defaults to 12 h for ``machine_status`` data and to 0 for ``anomaly`` data (SKAB faults
    are switched on with no precursor to warn from). ``slice_rule`` says in words why this slice.

    Examples
    --------
    >>> idx = pd.date_range("2018-04-01", periods=72, freq="h", tz="UTC")
    >>> status = ["NORMAL"] * 40 + ["BROKEN"] + ["RECOVERING"] * 5 + ["NORMAL"] * 26
    >>> labels = pd.DataFrame({"machine_status": status}, index=idx)
    >>> scores = pd.Series(np.r_[np.zeros(34), np.ones(6), np.zeros(32)], index=idx)
    >>> report = assess(scores, (scores > 0.5).astype(float), labels, threshold=0.5, start=idx[10])
    >>> report["events"]["caught"], report["events"]["median_lead_time_s"] / 3600
    (1, 6.0)
    >>> report["ranking"]["warning"]["roc_auc"]
    0.75
    """
    _check_aligned(scores, alarms, labels)
    if not scores.index.is_monotonic_increasing:
        order = np.argsort(scores.index.asi8, kind="stable")
        scores, alarms, labels = scores.iloc[order], alarms.iloc[order], labels.iloc[order]
        if predicted_status is not None:
            predicted_status = predicted_status.iloc[order]
    keep = np.ones(len(scores), dtype=bool)
    if start is not None:
        keep &= scores.index >= _on_clock(start, scores.index)
    if end is not None:
        keep &= scores.index < _on_clock(end, scores.index)
    scores, alarms, labels = scores[keep], alarms[keep], labels[keep]
    if predicted_status is not None:
        predicted_status = predicted_status[keep]

    kind = truth_kind(labels)
    if horizon is None:
        horizon = DEFAULT_HORIZON if kind == STATUS_COLUMN else pd.Timedelta(0)
    horizon = parse_horizon(horizon)
    index = scores.index
    events = events_from_labels(labels)
    outcomes = match_events(events, alarms, horizon, normal=normal_outside_events(labels, events))
    fa = false_alarms(alarms, labels, events, horizon)

    ranking: dict = {}
    alarm_quality: dict = {}
    if kind == STATUS_COLUMN:
        truths = {"warning": warning_truth(labels, horizon), "abnormal": abnormal_truth(labels)}
        primary = "warning"
    elif kind == "anomaly":
        truths = {"anomaly": abnormal_truth(labels)}
        primary = "anomaly"
    else:
        truths, primary = {}, None
    for name, truth in truths.items():
        ranking[name] = ranking_scores(truth, scores).to_dict()
        alarm_quality[name] = binary_confusion(truth, alarms).to_dict()

    status_report = None
    if predicted_status is not None and kind is not None:
        status_report = _status_confusion(labels, kind, predicted_status).to_dict()

    leads = [o.lead_time.total_seconds() for o in outcomes if o.lead_time is not None]
    delays = [o.detection_delay.total_seconds() for o in outcomes if o.detection_delay is not None]
    a = alarms.to_numpy(dtype=float, na_value=np.nan)
    report = {
        "format": FORMAT_VERSION,
        "slice": {
            "rule": slice_rule,
            "start": index[0].isoformat() if len(index) else None,
            "end": index[-1].isoformat() if len(index) else None,
            "rows": int(len(index)),
            "days": float((index[-1] - index[0]).total_seconds() / 86400) if len(index) > 1 else 0.0,
        },
        "truth": {"kind": kind, "primary": primary},
        "horizon_s": horizon.total_seconds(),
        "scores": {
            "threshold": None if threshold is None else float(threshold),
            "unscorable_rows": int(np.isnan(a).sum()),
            "alarm_rows": int(np.nansum(a > 0)),
            "alarm_share": float(np.nanmean(a > 0)) if np.isfinite(a).any() else None,
        },
        "ranking": ranking,
        "alarms": alarm_quality,
        "status": status_report,
        "events": {
            "kind": events[0].kind if events else ("failure" if kind == STATUS_COLUMN else "anomaly"),
            "total": len(outcomes),
            "caught": sum(o.caught for o in outcomes),
            "late": sum(o.late for o in outcomes),
            "missed": sum(o.outcome == "missed" for o in outcomes),
            "median_lead_time_s": float(np.median(leads)) if leads else None,
            "median_detection_delay_s": float(np.median(delays)) if delays else None,
            "items": [o.to_dict() for o in outcomes],
        },
        "false_alarms": fa.to_dict(),
    }
    return _jsonable(report)


def headline(report: dict) -> dict:
    """The few numbers a side-by-side table shows, taken from an :func:`assess` report."""
    primary = report["truth"]["primary"]
    rank = report["ranking"].get(primary, {}) if primary else {}
    ev = report["events"]
    status = report.get("status")
    alarms = report["alarms"].get(primary, {}) if primary else {}
    return {
        "truth": primary,
        "roc_auc": rank.get("roc_auc"),
        "pr_auc": rank.get("pr_auc"),
        "ranking_undefined": rank.get("undefined"),
        "events_caught": ev["caught"],
        "events_total": ev["total"],
        "events_late": ev["late"],
        "median_lead_time_s": ev["median_lead_time_s"],
        "median_detection_delay_s": ev["median_detection_delay_s"],
        "false_alarms_per_day": report["false_alarms"]["events_per_day"],
        "alarm_f1": (alarms.get("per_class", {}).get("1", {}) or {}).get("f1"),
        "status_macro_f1": None if status is None else status["macro_f1"],
    }


def _label_text(values: pd.Series) -> np.ndarray:
    """Labels as strings (0/1 floats as "0"/"1"); missing or empty (unscorable) as None."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        v = values.to_numpy(dtype=float, na_value=np.nan)
        whole = np.isfinite(v) & (v == np.round(v))
        out = np.full(len(v), None, dtype=object)
        out[whole] = np.round(v[whole]).astype(np.int64).astype(str)
        rest = np.isfinite(v) & ~whole
        out[rest] = v[rest].astype(str)
        return out
    text = label_text(values)
    text[text == ""] = None
    return text


def _status_confusion(labels: pd.DataFrame, kind: str, predicted: pd.Series):
    """Predicted labels (status, or 0/1 for anomaly data) against the truth, per class."""
    truth = _label_text(labels[kind])
    pred = _label_text(predicted)
    seen = {x for x in truth if x is not None} | {x for x in pred if x is not None}
    order = [s for s in STATUS_VALUES if s in seen] + sorted(seen - set(STATUS_VALUES))
    return confusion_matrix(truth, pred, labels=order)


def _on_clock(t, index: pd.DatetimeIndex) -> pd.Timestamp:
    """``t`` as a Timestamp comparable with ``index`` (a naive time is read as UTC, the data contract)."""
    t = pd.Timestamp(t)
    if index.tz is not None and t.tz is None:
        return t.tz_localize("UTC")
    if index.tz is None and t.tz is not None:
        return t.tz_convert("UTC").tz_localize(None)
    return t


def _check_aligned(scores: pd.Series, alarms: pd.Series, labels: pd.DataFrame) -> None:
    if not isinstance(scores.index, pd.DatetimeIndex):
        raise DataFormatError("scores are not indexed by time", found=type(scores.index).__name__,
                              expected="a DatetimeIndex (the data's timestamps)")
    for name, other in (("alarms", alarms), ("labels", labels)):
        if len(other) != len(scores) or not other.index.equals(scores.index):
            raise DataFormatError(f"{name} are not on the same timestamps as the scores",
                                  found=f"{len(other)} rows", expected=f"the same {len(scores)} timestamps")


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, pd.Timestamp):
        return obj.isoformat()
    return obj
