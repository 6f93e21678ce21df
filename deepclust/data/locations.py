"""Where named datasets are looked for, in order.

1. the ``path=`` given to :func:`~deepclust.data.load_dataset`;
2. ``$DEEPCLUST_DATA/<name>/``;
3. the user cache, ``$XDG_CACHE_HOME/deepclust/<name>/`` or ``~/.cache/deepclust/<name>/``
   (downloads go here);
4. ``/usr/share/datasets/<name>/`` (where Debian packages such as
   ``dataset-fashion-mnist`` install their files).
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import MissingPathError

DATA_ENV = "DEEPCLUST_DATA"
SYSTEM_DIRS: list[Path] = [Path("/usr/share/datasets")]


def cache_root() -> Path:
    """Return ``$XDG_CACHE_HOME/deepclust``, or ``~/.cache/deepclust`` when it is unset."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "deepclust"


def cache_dir(name: str) -> Path:
    """Return the cache folder of the named dataset (downloads are written there)."""
    return cache_root() / name


def search_dirs(name: str, path: str | os.PathLike | None = None) -> list[Path]:
    """Return the folders searched for dataset ``name``, in order (existing or not).

    An explicit ``path`` that does not exist raises :class:`MissingPathError`.
    """
    dirs: list[Path] = []
    if path is not None:
        explicit = Path(path).expanduser()
        if not explicit.exists():
            raise MissingPathError(f"The data path {explicit} does not exist.")
        dirs.append(explicit)
    env = os.environ.get(DATA_ENV)
    if env:
        dirs.append(Path(env).expanduser() / name)
    dirs.append(cache_dir(name))
    dirs.extend(root / name for root in SYSTEM_DIRS)
    return dirs
