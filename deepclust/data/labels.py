"""Label handling: turn label values of any kind into int64 codes, read label files.

Labels are optional everywhere and are only used for evaluation. Whole numbers are kept
as they are; text labels (``"cat"``, ``"dog"``) become codes ``0 .. k-1`` in sorted order
and their names become ``class_names``.
"""

from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np

from ..errors import InputError, MissingPathError

LABEL_FILE_SUFFIXES = (".npy", ".csv", ".tsv", ".txt")
LABEL_COLUMN_NAMES = ("label", "labels", "y", "target", "targets", "class")
MISSING = ("", "na", "nan", "none", "null")
# float64 holds every integer up to 2**53 exactly, and int64 holds them all
_LARGEST_EXACT_INTEGER = 2.0**53


def encode_labels(values, *, source: str = "labels") -> tuple[np.ndarray, list[str] | None]:
    """Return ``(codes, class_names)`` for a 1-D sequence of labels.

    Integer labels (or floats that are whole numbers) are returned as int64 with
    ``class_names=None``. Text labels are coded ``0 .. k-1`` in sorted order and their
    sorted unique values are returned as ``class_names``. Missing values raise
    :class:`InputError`.
    """
    arr = np.asarray(values)
    if arr.ndim != 1:
        raise InputError(f"{source} must be 1-D, got {arr.ndim} dimension(s).")
    if arr.dtype.kind in "iub":
        if arr.dtype.kind == "u" and arr.size and arr.max() > np.iinfo(np.int64).max:
            raise InputError(f"{source} has a label too large for a class number ({int(arr.max())}).")
        return arr.astype(np.int64), None
    if arr.dtype.kind == "f":
        if not np.isfinite(arr).all():
            row = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise InputError(f"{source} has a missing or infinite value at row {row}.")
        if not np.all(arr == np.round(arr)):
            bad = arr[arr != np.round(arr)][0]
            raise InputError(
                f"{source} must be whole numbers or names, but it contains {float(bad)!r}."
            )
        if not _exact_integers(arr):
            bad = arr[np.abs(arr) > _LARGEST_EXACT_INTEGER][0]
            raise InputError(f"{source} has a label too large for a class number ({float(bad):g}).")
        return arr.astype(np.int64), None
    text = np.array([str(v).strip() if v is not None else "" for v in arr.tolist()], dtype=str)
    missing = np.isin(np.char.lower(text), MISSING)
    if missing.any():
        row = int(np.flatnonzero(missing)[0])
        raise InputError(f"{source} has a missing value at row {row}.")
    as_int = _as_ints(text)
    if as_int is not None:
        return as_int, None
    names, codes = np.unique(text, return_inverse=True)
    return codes.astype(np.int64), [str(n) for n in names]


def _as_ints(text: np.ndarray) -> np.ndarray | None:
    try:
        floats = text.astype(np.float64)
    except ValueError:
        return None
    if not np.all(np.isfinite(floats)) or not np.all(floats == np.round(floats)):
        return None
    if not _exact_integers(floats):  # e.g. "1e300": a name, not a class number
        return None
    return floats.astype(np.int64)


def _exact_integers(floats: np.ndarray) -> bool:
    """True when the whole-number ``floats`` all convert to int64 without loss."""
    return bool(np.all(np.abs(floats) <= _LARGEST_EXACT_INTEGER))


def is_label_file(labels) -> bool:
    """True when ``labels`` names a file rather than a column or key."""
    if isinstance(labels, os.PathLike):
        return True
    if not isinstance(labels, str):
        return False
    return os.path.exists(labels) or labels.lower().endswith(LABEL_FILE_SUFFIXES)


def read_label_file(path: str | os.PathLike, columns: tuple[str, ...] = LABEL_COLUMN_NAMES) -> np.ndarray:
    """Read labels from a ``.npy`` array or a one-column ``.csv``/``.tsv``/``.txt`` file.

    A text file's first line is taken as a header unless it is a number. With several
    columns, the first of ``columns`` (matched without regard to case) that the header
    names is used; by default label/labels/y/target/targets/class.
    """
    path = Path(path)
    if not path.exists():
        raise MissingPathError(f"The labels file {path} does not exist.")
    if path.suffix.lower() == ".npy":
        from .arrays import UNREADABLE

        try:
            arr = np.load(path, allow_pickle=False)
        except UNREADABLE as exc:
            raise InputError(
                f"{path.name} could not be read as a .npy labels file ({exc})."
            ) from None
        if arr.ndim == 2 and 1 in arr.shape:
            arr = arr.reshape(-1)
        if arr.ndim != 1:
            raise InputError(
                f"{path.name} must hold a 1-D array of labels, got shape {arr.shape}."
            )
        return arr
    return label_column(read_text_rows(path), columns, path.name)


def read_text_rows(path: str | os.PathLike) -> list[list[str]]:
    """The non-empty rows of a ``.csv``/``.txt`` (comma) or ``.tsv`` (tab) labels file."""
    path = Path(path)
    delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    from .tables import text_errors

    with text_errors(path, "labels file"), open(path, newline="", encoding="utf-8-sig") as fh:
        rows = [row for row in csv.reader(fh, delimiter=delimiter) if row]
    if not rows:
        raise InputError(f"The labels file {path.name} is empty.")
    return rows


def label_column(rows: list[list[str]], columns: tuple[str, ...], file_name: str) -> np.ndarray:
    """The values of one column of ``rows`` (see :func:`read_label_file` for which one)."""
    width = len(rows[0])
    if width == 1:
        first = rows[0][0].strip()
        body = rows[1:] if not _is_number(first) else rows
        return np.array([r[0].strip() for r in body], dtype=object)
    lowered = [h.strip().lower() for h in rows[0]]
    for wanted in columns:
        if wanted in lowered:
            col = lowered.index(wanted)
            values = [r[col].strip() if col < len(r) else "" for r in rows[1:]]
            return np.array(values, dtype=object)
    raise InputError(
        f"The labels file {file_name} has {width} columns; keep one column, or name the "
        f"label column one of {', '.join(columns)}."
    )


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
