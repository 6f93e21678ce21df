"""Input checks shared by the data layer and every estimator.

Each check raises :class:`deepclust.errors.InputError` with one sentence that says what is
wrong and, where it helps, what to do instead.
"""

from __future__ import annotations

import numpy as np

from .errors import InputError


def check_features(X, *, name: str = "X", dtype=np.float32, allow_memmap: bool = True):
    """Validate a feature matrix and return it as a 2-D floating-point array.

    Accepts anything ``numpy.asarray`` understands (lists, arrays, memory maps). Rejects
    non-numeric content, 0-D or 1-D input, zero samples or zero features, and NaN or
    infinite values. Data kept on disk is returned as it is, so large files are not copied
    into memory (its finiteness is checked in chunks): a float32 memory map stays one, and a
    :class:`~deepclust.data.lazy.LazyMatrix` (or a memory map of another number type,
    which becomes one) converts rows when they are read.
    """
    from .data.lazy import LazyMatrix

    if allow_memmap and isinstance(X, np.memmap) and X.ndim == 2 and X.dtype.kind in "fiu" \
            and X.dtype != np.float32:
        X = LazyMatrix(X)
    if allow_memmap and isinstance(X, LazyMatrix):
        arr = X
        if X.raw.dtype.kind == "f":
            _check_finite(X.raw, name)
    elif allow_memmap and isinstance(X, np.memmap) and X.ndim == 2 and X.dtype == np.float32:
        arr = X
    else:
        try:
            arr = np.asarray(X)
        except (TypeError, ValueError) as exc:
            raise InputError(f"{name} could not be read as a numeric array ({exc}).") from None
        if arr.dtype.kind not in "fiub":
            raise InputError(
                f"{name} must hold numbers, but its values have type {arr.dtype}."
            )
    if arr.ndim != 2:
        hint = " Reshape 1-D data with X.reshape(-1, 1)." if arr.ndim == 1 else ""
        raise InputError(
            f"{name} must be a 2-D array (samples x features), got {arr.ndim} dimension(s).{hint}"
        )
    if arr.shape[0] == 0:
        raise InputError(f"{name} has 0 samples; at least 1 is required.")
    if arr.shape[1] == 0:
        raise InputError(f"{name} has 0 features; at least 1 is required.")
    if isinstance(arr, LazyMatrix):
        return arr
    if arr.dtype.kind == "f":
        _check_finite(arr, name)
    if arr is X and isinstance(X, np.memmap):
        return arr
    return np.asarray(arr, dtype=dtype)


def _check_finite(arr: np.ndarray, name: str, chunk: int = 65536) -> None:
    for start in range(0, arr.shape[0], chunk):
        block = arr[start : start + chunk]
        if not np.isfinite(block).all():
            bad = np.argwhere(~np.isfinite(block))[0]
            row = int(bad[0]) + start
            raise InputError(
                f"{name} contains NaN or infinite values (first at row {row}, column "
                f"{int(bad[1])}); remove or impute them first."
            )


def check_labels(y, n_samples: int | None = None, *, name: str = "y") -> np.ndarray:
    """Validate a 1-D label vector (any hashable values) and return it as an array."""
    arr = np.asarray(y)
    if arr.ndim != 1:
        raise InputError(f"{name} must be a 1-D array of labels, got {arr.ndim} dimension(s).")
    if n_samples is not None and arr.shape[0] != n_samples:
        raise InputError(
            f"{name} has {arr.shape[0]} labels but the data has {n_samples} samples."
        )
    return arr


def check_n_clusters(n_clusters, n_samples: int, *, name: str = "n_clusters") -> int:
    """Check that ``n_clusters`` is an integer between 1 and ``n_samples``."""
    if isinstance(n_clusters, bool) or not isinstance(n_clusters, (int, np.integer)):
        raise InputError(f"{name} must be an integer, got {n_clusters!r}.")
    if n_clusters < 1:
        raise InputError(f"{name} must be at least 1, got {n_clusters}.")
    if n_clusters > n_samples:
        raise InputError(
            f"{name}={n_clusters} is larger than the number of samples ({n_samples})."
        )
    return int(n_clusters)
