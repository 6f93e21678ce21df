"""Load data the user supplies: pick the reader from the path, attach optional labels.

Supported inputs (precomputed embeddings are simply ``.npy``/``.npz``/``.csv`` files of
floats, one row per sample):

=================================  ==========================================================
``*.npy``                          2-D features, or 3-D/4-D images (see :mod:`.arrays`)
``*.npz``                          features under x/X/data/features/embeddings, labels under
                                   y/labels/targets (or ``labels="key"``)
``*.csv``, ``*.tsv``               header row; ``labels="column"`` picks the label column
``*.parquet``                      same rules as CSV (needs pyarrow)
``*-idx3-ubyte[.gz]``              IDX images; a sibling ``*-idx1-ubyte[.gz]`` gives labels
folder with MNIST-style files      ``train-images-idx3-ubyte[.gz]`` etc.; ``split`` applies
any other folder                   images, searched recursively (see :mod:`.images`)
=================================  ==========================================================

``labels`` may also be a path to a ``.npy``/``.csv``/``.tsv``/``.txt`` file holding one
label per sample, in row order.
"""

from __future__ import annotations

import os
from pathlib import Path

from ..errors import InputError, MissingPathError
from ..validation import check_labels
from .arrays import load_npy, load_npz
from .dataset import Dataset
from .idx import find_mnist_files, is_idx_name, load_idx_file, load_mnist_folder
from .images import load_image_folder
from .labels import encode_labels, is_label_file, read_label_file
from .tables import load_parquet, load_text_table

TABLE_SUFFIXES = (".csv", ".tsv")
KNOWN_SUFFIXES = (".npy", ".npz", ".csv", ".tsv", ".parquet", ".gz")


def looks_like_path(text: str) -> bool:
    """True when ``text`` reads as a file path rather than a dataset name."""
    return (
        os.sep in text
        or "/" in text
        or text.startswith((".", "~"))
        or text.lower().endswith(KNOWN_SUFFIXES)
        or is_idx_name(text)
    )


def load_path(path: str | os.PathLike, *, split: str = "all", labels=None, prep=None) -> Dataset:
    """Load a user file or folder, dispatching on its suffix (see the module notes).

    ``prep`` (tables only): ``"standard"`` fits a :class:`~deepclust.data.table_prep.TablePrep`
    (numbers standardised, text one-hot, missing values filled); a fitted one is applied as is;
    ``None`` or ``"none"`` reads the table as numbers only.
    """
    path = Path(path).expanduser()
    if not path.exists():
        raise MissingPathError(f"The path {path} does not exist.")
    if prep is not None and prep != "none":
        return _load_prepared(path, split, labels, prep)
    label_file = labels if labels is not None and is_label_file(labels) else None
    label_name = None if label_file is not None or labels is None else str(labels)

    if path.is_dir() and _is_mnist_folder(path):
        _refuse(label_name, "an MNIST-style folder")
        if split == "all":  # a folder may hold only one of the two parts
            present = [p for p in ("train", "test") if find_mnist_files(path, p) is not None]
            split = "all" if len(present) == 2 else present[0]
        dataset = load_mnist_folder(path, split)
    else:
        if split != "all":
            raise InputError(
                f"split={split!r} applies only to named datasets and MNIST-style folders; "
                f"use split='all' for {path.name}."
            )
        dataset = _load_single(path, label_name)
    if label_file is not None:
        dataset = attach_labels(dataset, label_file)
    return dataset


def _load_prepared(path: Path, split: str, labels, prep) -> Dataset:
    from .table_prep import PREPS, load_prepared_table

    if isinstance(prep, str) and prep not in PREPS:
        raise InputError(f"Unknown table preparation {prep!r}; choose one of {', '.join(PREPS)}.")
    if path.is_dir() or path.suffix.lower() not in (*TABLE_SUFFIXES, ".parquet"):
        raise InputError(f"prep={prep if isinstance(prep, str) else 'standard'!r} applies to tables "
                         f"(.csv, .tsv, .parquet), not to {path.name}.")
    if split != "all":
        raise InputError(f"split={split!r} applies only to named datasets and MNIST-style folders.")
    if labels is not None and is_label_file(labels):
        X, _, _, fitted = load_prepared_table(path, None, prep)
        return attach_labels(Dataset(X=X, source=str(path), name=path.stem, prep=fitted), labels)
    X, y, class_names, fitted = load_prepared_table(path, labels, prep)
    return Dataset(X=X, y=y, class_names=class_names, source=str(path), name=path.stem, prep=fitted)


def _is_mnist_folder(path: Path) -> bool:
    return any(find_mnist_files(path, part) is not None for part in ("train", "test"))


def _load_single(path: Path, label_name: str | None) -> Dataset:
    suffix = path.suffix.lower()
    if path.is_dir():
        _refuse(label_name, "an image folder")
        return load_image_folder(path)
    if is_idx_name(path):
        _refuse(label_name, "an IDX file")
        return load_idx_file(path)
    if suffix == ".npy":
        _refuse(label_name, "a .npy file")
        return load_npy(path)
    if suffix == ".npz":
        return load_npz(path, labels=label_name)
    if suffix in TABLE_SUFFIXES:
        return load_text_table(path, labels=label_name)
    if suffix == ".parquet":
        return load_parquet(path, labels=label_name)
    raise InputError(
        f"Cannot tell how to read {path.name}; supported are .npy, .npz, .csv, .tsv, "
        ".parquet, IDX files (*-idx3-ubyte[.gz]) and folders of images."
    )


def _refuse(label_name: str | None, what: str) -> None:
    if label_name is not None:
        raise InputError(
            f"labels={label_name!r} names a column, but {what} has no columns; pass the "
            "path of a .npy or .csv file of labels instead."
        )


def attach_labels(dataset: Dataset, label_file) -> Dataset:
    """Return ``dataset`` with its labels replaced by those read from ``label_file``."""
    raw = read_label_file(label_file)
    name = Path(label_file).name
    check_labels(raw, dataset.n_samples, name=f"The labels file {name}")
    y, class_names = encode_labels(raw, source=f"The labels file {name}")
    return Dataset(
        X=dataset.X,
        y=y,
        shape=dataset.shape,
        class_names=class_names,
        source=dataset.source,
        name=dataset.name,
    )
