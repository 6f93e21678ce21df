"""Method registry: one table of names the CLI, configs, benchmarks, reports and tests share.

Clusterers and deep methods register under their own name (``kmeans``, ``dec`` ...);
dimensionality reducers register separately, and every ``REDUCER+CLUSTERER`` pair (for
example ``umap+kmeans``) is a two-stage method built on demand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .errors import unknown_name_error


@dataclass(frozen=True)
class Entry:
    """A registered class with its one-line description and family."""

    name: str
    cls: type
    description: str
    family: str  # "classic", "reducer" or "deep"


_CLUSTERERS: dict[str, Entry] = {}
_REDUCERS: dict[str, Entry] = {}


def register(name: str, description: str, family: str = "classic"):
    """Class decorator that registers a clusterer (or deep method) under ``name``."""
    return _register(_CLUSTERERS, name, description, family)


def register_reducer(name: str, description: str):
    """Class decorator that registers a dimensionality reducer under ``name``."""
    return _register(_REDUCERS, name, description, "reducer")


def _register(table: dict, name: str, description: str, family: str):
    def deco(cls):
        if name in table:
            raise RuntimeError(f"{name!r} is registered twice")
        cls.method_name = name
        table[name] = Entry(name, cls, description, family)
        return cls

    return deco


def _load_builtin() -> None:
    from . import methods  # noqa: F401  (registers on import)


def clusterer_names() -> list[str]:
    """Names of the single-stage methods (classic and deep)."""
    _load_builtin()
    return sorted(_CLUSTERERS)


def reducer_names() -> list[str]:
    """Names of the reducers usable as the first half of ``REDUCER+CLUSTERER``."""
    _load_builtin()
    return sorted(_REDUCERS)


def two_stage_clusterer_names() -> list[str]:
    """Clusterers that can follow a reducer (the classic ones)."""
    _load_builtin()
    return sorted(n for n, e in _CLUSTERERS.items() if e.family == "classic")


def method_names() -> list[str]:
    """Every valid method name, two-stage combinations included."""
    combos = [f"{r}+{c}" for r in reducer_names() for c in two_stage_clusterer_names()]
    return clusterer_names() + combos


def describe(name: str) -> str:
    """One-line description of a method name."""
    if "+" in name:
        r, c = _split(name)
        return f"{_REDUCERS[r].description}, then {_CLUSTERERS[c].description}"
    return _entry(name).description


def _entry(name: str) -> Entry:
    _load_builtin()
    if name not in _CLUSTERERS:
        raise unknown_name_error("method", name, method_names())
    return _CLUSTERERS[name]


def _split(name: str) -> tuple[str, str]:
    _load_builtin()
    reducer, _, clusterer = name.partition("+")
    if reducer not in _REDUCERS or clusterer not in two_stage_clusterer_names():
        raise unknown_name_error("method", name, method_names())
    return reducer, clusterer


def reducer_class(name: str) -> type:
    """The reducer class registered under ``name``."""
    _load_builtin()
    if name not in _REDUCERS:
        raise unknown_name_error("reducer", name, _REDUCERS)
    return _REDUCERS[name].cls


def clusterer_class(name: str) -> type:
    """The clusterer class registered under ``name`` (no two-stage names)."""
    return _entry(name).cls


def make_estimator(name: str, **params: Any):
    """Build the estimator for a method name with the given parameters.

    ``REDUCER+CLUSTERER`` names give a :class:`deepclust.methods.two_stage.TwoStage`.
    Unknown names raise :class:`~deepclust.errors.InputError` with the closest valid names.
    """
    if "+" in name:
        from .methods.two_stage import TwoStage

        reducer, clusterer = _split(name)
        est = TwoStage(reducer=reducer, clusterer=clusterer)
    else:
        est = _entry(name).cls()
    return est.set_params(**params) if params else est
