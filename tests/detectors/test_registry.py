import pytest

from pumpguard.detectors.base import Detector
from pumpguard.detectors.registry import DETECTORS, make_detector, parse_params
from pumpguard.errors import ConfigError

REQUIRED = {"pca", "iforest", "decision_tree", "random_forest", "logistic_regression", "gradient_boosting",
            "early_warning"}


def test_every_required_detector_is_registered():
    assert REQUIRED <= set(DETECTORS)
    for name, cls in DETECTORS.items():
        assert issubclass(cls, Detector) and cls.name == name


def test_unknown_name_lists_known_ones():
    with pytest.raises(ConfigError, match="known detectors: .*iforest.*pca"):
        make_detector("isolation")


def test_unknown_parameter_lists_the_parameters():
    with pytest.raises(ConfigError, match="no parameter.*n_trees.*n_estimators"):
        make_detector("iforest", n_trees=5)


def test_parameters_are_validated_in_fit_not_init(record):
    det = make_detector("pca", variance=2.0)  # stored as given
    with pytest.raises(ConfigError, match="variance"):
        det.fit(record.drop(columns=["machine_status"]))


def test_parse_params_types():
    assert parse_params(["a=1", "b=0.5", "c=true", "d=False", "e=6h", "f=none", "g=1e-3"]) == {
        "a": 1, "b": 0.5, "c": True, "d": False, "e": "6h", "f": None, "g": 0.001}
    with pytest.raises(ConfigError, match="key=value"):
        parse_params(["n_estimators"])
