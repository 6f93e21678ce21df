"""The single entry point: :func:`load_dataset` for named datasets and user files."""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError, MissingPathError, unknown_name_error
from .dataset import Dataset
from .registry import SOURCES, canonical_name, get_source
from .sources.base import SPLITS
from .user import load_path, looks_like_path


def load_dataset(
    name_or_path: str | os.PathLike,
    *,
    split: str = "all",
    path: str | os.PathLike | None = None,
    labels: str | os.PathLike | None = None,
    download: bool = True,
    prep=None,
    **options,
) -> Dataset:
    """Load a named dataset or a file/folder of your own.

    Args:
        name_or_path: a name from :func:`~deepclust.data.list_datasets` (``"mnist"``,
            ``"fashion-mnist"`` ...) or the path of a file or folder (see
            :mod:`deepclust.data.user` for the formats).
        split: ``"all"`` (train and test joined, train first; the default), ``"train"``
            or ``"test"``. Datasets without a split (digits, reuters10k) accept only
            ``"all"``; for user data it applies to MNIST-style folders only.
        path: for named datasets, a folder to look in first (and to download into when
            the files are found nowhere).
        labels: for user data only: the label column of a table or the label array of an
            ``.npz``, or the path of a ``.npy``/``.csv`` file holding one label per sample.
        download: allow downloading a named dataset that is not found locally.
        prep: for tables of your own: ``"standard"`` to standardise numeric columns, one-hot
            encode text columns and fill missing values (:mod:`deepclust.data.table_prep`), or
            a fitted :class:`~deepclust.data.table_prep.TablePrep` to prepare new rows alike.
        **options: dataset-specific options, e.g. ``n_docs``/``seed`` for reuters10k.

    Raises:
        InputError: an unknown name, bad content or bad option (one sentence).
        MissingPathError: a path that does not exist.
    """
    if split not in SPLITS:
        raise unknown_name_error("split", split, SPLITS)
    text = os.fspath(name_or_path)
    key = None if isinstance(name_or_path, os.PathLike) else canonical_name(text)
    if key is not None:
        if labels is not None:
            raise InputError(
                f"labels= applies to your own files; the {key} dataset brings its own labels."
            )
        if prep is not None and prep != "none":
            raise InputError(f"prep= applies to tables of your own, not to the {key} dataset.")
        return SOURCES[key].load(split=split, path=path, download=download, **options)
    if options:
        raise InputError(f"Options {', '.join(sorted(options))} apply only to named datasets.")
    if path is not None:
        raise InputError("path= applies only to named datasets; pass the path itself instead.")
    if Path(text).expanduser().exists():
        return load_path(text, split=split, labels=labels, prep=prep)
    if isinstance(name_or_path, os.PathLike) or looks_like_path(text):
        raise MissingPathError(f"The path {text} does not exist.")
    get_source(text)  # raises the unknown-name error with the closest names
    raise AssertionError("unreachable")  # pragma: no cover
