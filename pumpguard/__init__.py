"""pumpguard: watch a water-pump sensor network, find anomalies and failures as they start,
say where they are, and let a central controller react.

Subpackages, in the order imports flow:

- :mod:`pumpguard.data` -- the one data contract, readers/writers, validation, EDA.
- :mod:`pumpguard.network` -- topology, sensors, faults, hydraulic simulation, controller.
- :mod:`pumpguard.detectors` -- fit / score / contributions / threshold.
- :mod:`pumpguard.evaluation` -- pointwise, event-level, SKAB and NAB scoring.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("pumpguard")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
