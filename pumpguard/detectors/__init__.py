"""Detectors: fit on sensor tables, score rows (higher = more anomalous), explain per sensor.

- :mod:`.base` -- the one detector shape (:class:`Detector`, :class:`SupervisedDetector`).
- :mod:`.threshold` -- the one place a threshold is set from a false-alarm rate.
- :mod:`.registry` -- detector names -> classes, ``make_detector``.
- :mod:`.training` -- time-ordered training of a dataset into a :class:`TrainedModel`.
- :mod:`.model_file` -- safe model files (skops), ``save_model`` / ``load_model``.

This subpackage imports :mod:`pumpguard.data` only.
"""

from pumpguard.detectors.base import Detector, SupervisedDetector
from pumpguard.detectors.threshold import DEFAULT_FALSE_ALARM_RATE, calibrate, calibrate_threshold

__all__ = [
    "DEFAULT_FALSE_ALARM_RATE",
    "Detector",
    "SupervisedDetector",
    "calibrate",
    "calibrate_threshold",
]
