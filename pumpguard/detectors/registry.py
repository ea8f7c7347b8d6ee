"""Detector names -> classes, and building a detector from a name and ``key=value`` strings.

Time-aware detectors of :mod:`pumpguard.detectors.temporal` join automatically when that module
exists: its ``TEMPORAL_DETECTORS`` dict if it defines one, else every :class:`Detector` subclass
defined there with a ``name``.
"""

from __future__ import annotations

import importlib
import inspect

from pumpguard.detectors.base import Detector
from pumpguard.detectors.early_warning import EarlyWarningDetector
from pumpguard.detectors.iforest import IsolationForestDetector
from pumpguard.detectors.pca import PCADetector
from pumpguard.detectors.supervised import (
    DecisionTreeDetector,
    GradientBoostingDetector,
    LogisticRegressionDetector,
    RandomForestDetector,
)
from pumpguard.errors import ConfigError

DETECTORS: dict[str, type[Detector]] = {
    cls.name: cls
    for cls in (
        PCADetector,
        IsolationForestDetector,
        DecisionTreeDetector,
        RandomForestDetector,
        LogisticRegressionDetector,
        GradientBoostingDetector,
        EarlyWarningDetector,
    )
}


def _add_temporal() -> None:
    try:
        module = importlib.import_module("pumpguard.detectors.temporal")
    except ModuleNotFoundError as exc:
        if exc.name == "pumpguard.detectors.temporal":
            return  # not written yet: the registry works without it
        raise
    found = getattr(module, "TEMPORAL_DETECTORS", None)
    if found is None:
        found = {
            obj.name: obj
            for obj in vars(module).values()
            if inspect.isclass(obj) and issubclass(obj, Detector) and obj.__module__ == module.__name__
            and not inspect.isabstract(obj) and obj.name
        }
    DETECTORS.update(found)


_add_temporal()


def _add_reanchor() -> None:
    # the re-anchoring T-squared (docs/skab.md) lives in its own module, registered like temporal's
    from pumpguard.detectors.reanchor import REANCHOR_DETECTORS

    DETECTORS.update(REANCHOR_DETECTORS)


_add_reanchor()


def make_detector(name: str, **params) -> Detector:
    """A new, unfitted detector by registry name.

    Examples
    --------
    >>> make_detector("pca", variance=0.9).get_params()["variance"]
    0.9
    >>> make_detector("pcaa")
    Traceback (most recent call last):
    ...
    pumpguard.errors.ConfigError: unknown detector 'pcaa'; known detectors: ...
    """
    try:
        cls = DETECTORS[name]
    except KeyError:
        raise ConfigError(f"unknown detector {name!r}; known detectors: {', '.join(sorted(DETECTORS))}") from None
    accepted = set(inspect.signature(cls.__init__).parameters) - {"self"}
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise ConfigError(
            f"detector {name!r} has no parameter(s) {unknown}; its parameters are: {', '.join(sorted(accepted))}"
        )
    return cls(**params)


def parse_value(text: str):
    """``"12"`` -> 12, ``"0.5"`` -> 0.5, ``"true"`` -> True, ``"none"`` -> None, else the string."""
    low = text.strip().lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if low in ("none", "null"):
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip()


def parse_params(items) -> dict:
    """``["n_estimators=50", "horizon=6h"]`` -> ``{"n_estimators": 50, "horizon": "6h"}``.

    Examples
    --------
    >>> parse_params(["n_estimators=50", "max_samples=0.2", "statistic=spe", "flag=true"])
    {'n_estimators': 50, 'max_samples': 0.2, 'statistic': 'spe', 'flag': True}
    """
    out: dict = {}
    for item in items or ():
        key, sep, value = str(item).partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"parameter {item!r}: expected key=value, e.g. n_estimators=50")
        out[key] = parse_value(value)
    return out
