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


class _IntSequenceRule:
    def accepts(self, v) -> bool:
        return (isinstance(v, (list, tuple)) and len(v) > 0
                and all(isinstance(x, numbers.Integral) and not isinstance(x, bool) and x >= 1 for x in v))

    def __str__(self) -> str:
        return "a non-empty list of positive integers"


NONE = _NoneRule()
INTS = _IntSequenceRule()
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


@dataclass(frozen=True)
class Param:
    """One estimator parameter: default value, accepted values and a one-line description."""

    default: object
    rules: tuple
    doc: str


def install_params(cls, table: dict[str, Param]):
    """Give ``cls`` an ``__init__`` that stores the parameters of ``table`` (keyword only).

    scikit-learn reads parameter names from ``__init__``'s signature, so the signature is set
    explicitly; ``_parameter_constraints`` and a "Parameters" section of the docstring come
    from the same table, which keeps one definition per parameter.
    """
    import inspect

    names = list(table)

    def __init__(self, **kwargs):
        unknown = set(kwargs) - set(names)
        if unknown:
            raise TypeError(f"unexpected parameter(s) {sorted(unknown)}")
        for name in names:
            setattr(self, name, kwargs.get(name, table[name].default))

    self_param = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
    __init__.__signature__ = inspect.Signature(
        [self_param] + [inspect.Parameter(n, inspect.Parameter.KEYWORD_ONLY, default=p.default)
                        for n, p in table.items()])
    cls.__init__ = __init__
    cls._param_table = dict(table)
    cls._parameter_constraints = {n: list(p.rules) for n, p in table.items()}
    lines = [f"    {n} : default {p.default!r}\n        {p.doc}" for n, p in table.items()]
    cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n\n    Parameters\n    ----------\n" + "\n".join(lines) + "\n"
    return cls


def with_defaults(table: dict[str, Param], **defaults) -> dict[str, Param]:
    """A copy of ``table`` with some defaults changed (for method variants such as IDEC)."""
    out = dict(table)
    for name, value in defaults.items():
        p = out[name]
        out[name] = Param(value, p.rules, p.doc)
    return out
