"""Detectors: fit on sensor tables, score rows (higher = more anomalous), explain per sensor.

- :mod:`.base` -- the one detector shape (:class:`Detector`); :mod:`.supervised_base` -- its
  classifier form (:class:`SupervisedDetector`).
- :mod:`.threshold` -- the one place a threshold is set from a false-alarm rate.
- :mod:`.pca`, :mod:`.iforest`, :mod:`.supervised`, :mod:`.early_warning` (and
  :mod:`.temporal`) -- the detectors; :mod:`.labels` -- failure labels shared with evaluation.
- :mod:`.registry` -- detector names -> classes, ``make_detector``, ``parse_params``.
- :mod:`.training` -- time-ordered training of a dataset into a :class:`TrainedModel`.
- :mod:`.model_file` -- safe model files (skops): ``save_model`` / ``load_model`` / ``update_card``;
  :mod:`.pickled` -- importing a plain pickle only on trust.

This subpackage imports :mod:`pumpguard.data` only.
"""

from pumpguard.detectors.base import Detector
from pumpguard.detectors.supervised_base import SupervisedDetector
from pumpguard.detectors.labels import failure_starts, failure_within
from pumpguard.detectors.model_file import load_model, model_card, read_card, save_model, update_card
from pumpguard.detectors.pickled import PickledEstimator, import_pickle
from pumpguard.detectors.registry import DETECTORS, make_detector, parse_params
from pumpguard.detectors.threshold import DEFAULT_FALSE_ALARM_RATE, calibrate, calibrate_threshold
from pumpguard.detectors.training import TrainedModel, train

__all__ = [
    "DEFAULT_FALSE_ALARM_RATE",
    "DETECTORS",
    "Detector",
    "PickledEstimator",
    "SupervisedDetector",
    "TrainedModel",
    "calibrate",
    "calibrate_threshold",
    "failure_starts",
    "failure_within",
    "import_pickle",
    "load_model",
    "make_detector",
    "model_card",
    "parse_params",
    "read_card",
    "save_model",
    "train",
    "update_card",
]
