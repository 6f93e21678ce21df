"""The table of named datasets: list them, resolve names and aliases, say where they are."""

from __future__ import annotations

from ..errors import unknown_name_error
from .sources.base import NamedSource
from .sources.cifar10 import CIFAR10
from .sources.digits import DIGITS
from .sources.mnist import FASHION_MNIST, MNIST
from .sources.reuters import REUTERS10K
from .sources.stl10 import STL10
from .sources.usps import USPS

SOURCES: dict[str, NamedSource] = {
    s.name: s for s in (DIGITS, MNIST, FASHION_MNIST, USPS, CIFAR10, STL10, REUTERS10K)
}

ALIASES = {
    "fashion": "fashion-mnist",
    "fmnist": "fashion-mnist",
    "fashionmnist": "fashion-mnist",
    "cifar-10": "cifar10",
    "stl-10": "stl10",
    "reuters": "reuters10k",
    "reuters-10k": "reuters10k",
    "reutersidf10k": "reuters10k",
}


def canonical_name(name: str) -> str | None:
    """Return the registered name for ``name`` (case, ``_`` and aliases ignored), or None."""
    key = name.strip().lower().replace("_", "-")
    key = ALIASES.get(key, key)
    return key if key in SOURCES else None


def get_source(name: str) -> NamedSource:
    """Return the named dataset's source, or raise the unknown-name error."""
    key = canonical_name(name)
    if key is None:
        raise unknown_name_error("dataset", name, SOURCES)
    return SOURCES[key]


def list_datasets() -> list[str]:
    """Return the names of the named datasets, in a stable order (smallest first)."""
    return list(SOURCES)


def describe_dataset(name: str) -> str:
    """Return a one-line description of a named dataset."""
    return get_source(name).description


def locate_dataset(name: str) -> str:
    """Say where ``name`` would be read from now: a path, or how it would be downloaded.

    Nothing is downloaded. Used by the ``deepclust datasets`` command.
    """
    return get_source(name).where()
