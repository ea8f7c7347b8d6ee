"""The exceptions pumpguard raises.

Every class subclasses both :class:`PumpguardError` and the builtin it behaves like, so callers can
catch either. Each carries the useful values as attributes and its message says what was expected,
what arrived, where, and how to fix it.
"""

from __future__ import annotations

from pathlib import Path


class PumpguardError(Exception):
    """Base class of every error pumpguard raises on purpose."""


class DataFormatError(PumpguardError, ValueError):
    """A data file (or payload) is not in a form pumpguard can read.

    Parameters
    ----------
    problem:
        What is wrong, in one sentence.
    path, line, column:
        Where. ``line`` counts from 1 as a text editor does (the header is line 1).
    found, expected:
        What arrived and what was expected.
    hint:
        How to fix it.

    Examples
    --------
    >>> err = DataFormatError("a cell is not a number", path="sensor.csv", line=1042,
    ...                       column="sensor_07", found="n/a", expected="a number")
    >>> str(err)
    "sensor.csv line 1042, column 'sensor_07': a cell is not a number: found 'n/a', expected a number"
    """

    def __init__(
        self,
        problem: str,
        *,
        path: str | Path | None = None,
        line: int | None = None,
        column: str | None = None,
        found: object = None,
        expected: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.path = None if path is None else str(path)
        self.line = line
        self.column = column
        self.found = found
        self.expected = expected
        self.hint = hint
        super().__init__(self._message())

    def _message(self) -> str:
        where = []
        if self.path is not None:
            where.append(self.path)
        if self.line is not None:
            where.append(f"line {self.line}")
        place = " ".join(where)
        if self.column is not None:
            place = f"{place}, column {self.column!r}" if place else f"column {self.column!r}"
        text = f"{place}: {self.problem}" if place else self.problem
        if self.found is not None:
            text += f": found {self.found!r}"
        if self.expected is not None:
            text += f", expected {self.expected}" if self.found is not None else f": expected {self.expected}"
        if self.hint:
            text += f". {self.hint}"
        return text


class NotFittedError(PumpguardError, AttributeError):
    """A detector was used before :meth:`fit`."""


class UnknownSensorError(PumpguardError, ValueError):
    """Data names sensors a fitted model has not seen, or lacks sensors it needs."""

    def __init__(self, message: str, *, unknown: list[str] | None = None, missing: list[str] | None = None):
        self.unknown = list(unknown or [])
        self.missing = list(missing or [])
        super().__init__(message)


class ModelFileError(PumpguardError, ValueError):
    """A model file is not a pumpguard model, is damaged, or holds types that are not trusted."""

    def __init__(self, message: str, *, path: str | Path | None = None, untrusted: list[str] | None = None):
        self.path = None if path is None else str(path)
        self.untrusted = list(untrusted or [])
        super().__init__(message)


class SimulationError(PumpguardError, RuntimeError):
    """A hydraulic simulation failed or produced partial results."""


class ConfigError(PumpguardError, ValueError):
    """A parameter or configuration value is out of range or of the wrong kind."""
