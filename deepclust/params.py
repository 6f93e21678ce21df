"""Declarative parameter constraints, checked once at the start of ``fit``.

Each estimator lists ``_parameter_constraints = {"name": [rule, ...]}``; a value is valid
when any rule accepts it. Rules describe themselves, so the error sentence says what was
expected, e.g. "Parameter 'n_init' of kmeans must be an integer >= 1, got 0."
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass

from .errors import InputError


@dataclass(frozen=True)
class Interval:
    """A number of ``kind`` ("int" or "real") within ``[low, high]`` (``None`` = unbounded)."""

    kind: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False

    def accepts(self, v) -> bool:
        if isinstance(v, bool):
            return False
        if self.kind == "int" and not isinstance(v, numbers.Integral):
            return False
        if not isinstance(v, numbers.Real):
            return False
        if self.low is not None and (v <= self.low if self.low_open else v < self.low):
            return False
        return self.high is None or v <= self.high

    def __str__(self) -> str:
        what = "an integer" if self.kind == "int" else "a number"
        parts = []
        if self.low is not None:
            parts.append(f"{'>' if self.low_open else '>='} {self.low}")
        if self.high is not None:
            parts.append(f"<= {self.high}")
        return f"{what} {' and '.join(parts)}".strip()


@dataclass(frozen=True)
class Options:
    """One of a fixed set of values."""

    values: tuple

    def accepts(self, v) -> bool:
        return v in self.values

    def __str__(self) -> str:
        return "one of " + ", ".join(repr(v) for v in self.values)


class _NoneRule:
    def accepts(self, v) -> bool:
        return v is None

    def __str__(self) -> str:
        return "None"


class _RandomStateRule:
    def accepts(self, v) -> bool:
        return v is None or (isinstance(v, numbers.Integral) and not isinstance(v, bool) and v >= 0)

    def __str__(self) -> str:
        return "a non-negative integer seed or None"


class _TypeRule:
    def __init__(self, typ, label):
        self.typ, self.label = typ, label

    def accepts(self, v) -> bool:
        return isinstance(v, self.typ) and not (self.typ is not bool and isinstance(v, bool))

    def __str__(self) -> str:
        return self.label


NONE = _NoneRule()
SEED = _RandomStateRule()
BOOL = _TypeRule(bool, "True or False")
DICT = _TypeRule(dict, "a dict")
STR = _TypeRule(str, "a string")


def positive_int(low: int = 1) -> Interval:
    """Integers ``>= low``."""
    return Interval("int", low)


def validate_params(estimator) -> None:
    """Check every parameter of ``estimator`` against its ``_parameter_constraints``."""
    constraints = getattr(estimator, "_parameter_constraints", {})
    label = getattr(estimator, "method_name", type(estimator).__name__)
    for name, rules in constraints.items():
        value = getattr(estimator, name)
        if not any(rule.accepts(value) for rule in rules):
            expected = " or ".join(str(r) for r in rules)
            raise InputError(
                f"Parameter {name!r} of {label} must be {expected}, got {value!r}."
            )
