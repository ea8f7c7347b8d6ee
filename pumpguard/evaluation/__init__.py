"""Evaluation: row-level scores, event-level early warning, false alarms, and reports.

Pure: every function takes arrays or Series of scores, alarms and labels (on a DatetimeIndex) and
returns numbers; only :mod:`pumpguard.evaluation.report` draws, and it returns HTML text.
This subpackage imports :mod:`pumpguard.data` and :mod:`pumpguard.errors` only.
"""

from pumpguard.evaluation.assessment import abnormal_truth, assess, headline, warning_truth
from pumpguard.evaluation.events import (
    DEFAULT_HORIZON,
    Event,
    EventOutcome,
    FalseAlarms,
    alarm_onsets,
    anomaly_events,
    events_from_labels,
    failure_events,
    false_alarms,
    match_events,
    parse_horizon,
)
from pumpguard.evaluation.pointwise import (
    ClassScores,
    ConfusionMatrix,
    RankingScore,
    binary_confusion,
    confusion_matrix,
    ranking_scores,
)

__all__ = [
    "DEFAULT_HORIZON",
    "ClassScores",
    "ConfusionMatrix",
    "Event",
    "EventOutcome",
    "FalseAlarms",
    "RankingScore",
    "abnormal_truth",
    "alarm_onsets",
    "anomaly_events",
    "assess",
    "binary_confusion",
    "confusion_matrix",
    "events_from_labels",
    "failure_events",
    "false_alarms",
    "headline",
    "match_events",
    "parse_horizon",
    "ranking_scores",
    "warning_truth",
]
