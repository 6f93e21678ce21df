"""NumPy ``.npy`` and ``.npz`` files: feature matrices, image stacks and embeddings.

* 2-D arrays are feature vectors (or precomputed embeddings) and are used as they are.
* 3-D ``(n, H, W)`` and 4-D ``(n, H, W, C)`` arrays are images; they are flattened with
  their shape kept, and uint8 images are scaled by 1/255. A 4-D array whose last axis is
  not a channel count (1, 3 or 4) but whose second axis is, is read as channel-first
  ``(n, C, H, W)`` and transposed to H, W, C.
* ``.npy`` files are opened with ``mmap_mode="r"``. When their float32 version would take
  more than :data:`MMAP_THRESHOLD` bytes they stay on disk: a float32 array is used in place
  as a memory map, any other dtype becomes a :class:`~deepclust.data.lazy.LazyMatrix` that
  converts (and, for uint8 images, scales) rows only when they are read. Smaller files are
  read into memory.
* ``.npz`` archives hold the features under one of :data:`FEATURE_KEYS` and, optionally,
  the labels under one of :data:`LABEL_KEYS` (or the key given as ``labels=``).
"""

from __future__ import annotations

import zipfile
import zlib
from pathlib import Path
from tokenize import TokenError

import numpy as np

from ..errors import InputError
from ..validation import check_features
from .dataset import Dataset
from .labels import encode_labels
from .lazy import LazyMatrix

MMAP_THRESHOLD = 1 << 30  # 1 GiB of float32 features
FEATURE_KEYS = ("x", "X", "data", "features", "embeddings")
LABEL_KEYS = ("y", "labels", "targets")
CHANNELS = (1, 3, 4)
# What numpy's readers raise on damaged files: bad headers fail inside its header parser
# (SyntaxError, tokenize.TokenError), damaged archives inside zipfile/zlib. With
# allow_pickle=False nothing in the file is executed, so these are all "not readable".
UNREADABLE = (ValueError, OSError, EOFError, SyntaxError, TokenError, KeyError, TypeError,
              zipfile.BadZipFile, zlib.error, NotImplementedError)


def array_to_features(array: np.ndarray, name: str) -> tuple[np.ndarray, tuple[int, ...]]:
    """Turn a 2-D feature array or a 3-D/4-D image stack into ``(X, shape)``.

    A memory-mapped ``array`` stays on disk: ``X`` is then the memory map itself (float32)
    or a :class:`~deepclust.data.lazy.LazyMatrix` over it.
    """
    if array.dtype.kind not in "fiub":
        raise InputError(f"{name} must hold numbers, but its values have type {array.dtype}.")
    if array.ndim == 4 and array.shape[-1] not in CHANNELS and array.shape[1] in CHANNELS:
        array = np.transpose(array, (0, 2, 3, 1))
    if array.ndim == 3:
        shape = (*array.shape[1:], 1)
    elif array.ndim == 4:
        shape = tuple(array.shape[1:])
    else:
        if isinstance(array, np.memmap) and array.ndim == 2 and array.dtype != np.float32:
            array = LazyMatrix(array)
        X = check_features(array, name=name)
        return X, (X.shape[1],)
    n = array.shape[0]
    if isinstance(array, np.memmap) and not (array.dtype == np.float32 and array.flags.c_contiguous):
        divisor = 255.0 if array.dtype == np.uint8 else None
        return check_features(LazyMatrix(array.reshape(n, -1), divisor), name=name), tuple(int(s) for s in shape)
    if array.dtype == np.float32 and array.flags.c_contiguous:
        X = array.reshape(n, -1)  # a view: memory maps stay memory maps
    elif array.dtype == np.uint8:
        X = np.empty((n, int(np.prod(shape))), dtype=np.float32)
        np.divide(array.reshape(n, -1), np.float32(255.0), out=X)
    else:
        X = np.asarray(array.reshape(n, -1), dtype=np.float32)
    return check_features(X, name=name), tuple(int(s) for s in shape)


def load_npy(path: Path) -> Dataset:
    """Load a ``.npy`` file; kept on disk when its float32 version exceeds :data:`MMAP_THRESHOLD`."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except UNREADABLE as exc:
        raise InputError(f"{path.name} could not be read as a .npy file ({_short(exc)}).") from None
    if array.size * 4 <= MMAP_THRESHOLD:
        array = np.array(array)  # small: read into memory (and release the map)
    X, shape = array_to_features(array, path.name)
    return Dataset(X=X, y=None, shape=shape, source=str(path), name=path.stem)


def load_npz(path: Path, labels: str | None = None) -> Dataset:
    """Load a ``.npz`` archive: features under x/X/data/features/embeddings, labels optional."""
    try:
        with np.load(path, allow_pickle=False) as archive:
            keys = list(archive.files)
            feature_key = next((k for k in FEATURE_KEYS if k in keys), None)
            if feature_key is None:
                raise InputError(
                    f"{path.name} has no features array; name it one of "
                    f"{', '.join(FEATURE_KEYS)} (found: {', '.join(keys) or 'no arrays'})."
                )
            if labels is not None and labels not in keys:
                raise InputError(
                    f"{path.name} has no array named {labels!r}; it holds {', '.join(keys)}."
                )
            label_key = labels or next((k for k in LABEL_KEYS if k in keys), None)
            array = archive[feature_key]
            raw_labels = archive[label_key] if label_key is not None else None
    except UNREADABLE as exc:
        raise InputError(f"{path.name} could not be read as a .npz file ({_short(exc)}).") from None
    X, shape = array_to_features(array, f"{path.name}[{feature_key!r}]")
    y, class_names = (None, None)
    if raw_labels is not None:
        y, class_names = encode_labels(raw_labels, source=f"{path.name}[{label_key!r}]")
    return Dataset(
        X=X, y=y, shape=shape, class_names=class_names, source=str(path), name=path.stem
    )


def _short(exc: BaseException) -> str:
    return str(exc).strip().rstrip(".").splitlines()[0] if str(exc).strip() else type(exc).__name__
