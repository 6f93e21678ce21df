"""The :class:`Dataset` container every loader returns."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..errors import InputError
from ..validation import check_labels
from .lazy import LazyImages, LazyMatrix


@dataclass
class Dataset:
    """Feature matrix, optional labels and the facts needed to interpret them.

    Attributes:
        X: ``(n_samples, n_features)`` float32 array. Images are flattened in H, W, C order
            and scaled to [0, 1]. Large ``.npy`` files stay on disk: ``X`` is then a read-only
            float32 :class:`numpy.memmap` or a :class:`~deepclust.data.lazy.LazyMatrix` that
            converts rows as they are read.
        y: ``(n_samples,)`` int64 labels, or ``None``. Labels are only ever used for
            evaluation, never for fitting.
        shape: original per-sample shape: ``(H, W, C)`` for images, ``(d,)`` otherwise.
        class_names: names of the label values ``0 .. k-1`` where known, else ``None``.
        source: the file or folder the data was read from.
        name: a short name for reports (the dataset name or the file's stem).
        paths: for a folder of images, the file of each sample (used by ``deepclust export``).
        prep: for a table loaded with ``prep="standard"``, the fitted
            :class:`~deepclust.data.table_prep.TablePrep` that made ``X``; else ``None``.
    """

    X: np.ndarray
    y: np.ndarray | None = None
    shape: tuple[int, ...] = field(default=())
    class_names: list[str] | None = None
    source: str = ""
    name: str = ""
    paths: list[str] | None = None
    prep: object | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.X, (np.ndarray, LazyMatrix)) or self.X.ndim != 2:
            raise InputError("Dataset.X must be a 2-D array (samples x features).")
        self.shape = tuple(int(s) for s in self.shape) or (int(self.X.shape[1]),)
        if int(np.prod(self.shape)) != self.X.shape[1]:
            raise InputError(
                f"Dataset shape {self.shape} does not match its {self.X.shape[1]} features."
            )
        if self.y is not None:
            self.y = check_labels(self.y, self.X.shape[0]).astype(np.int64, copy=False)
        if self.class_names is not None:
            self.class_names = [str(c) for c in self.class_names]

    @property
    def n_samples(self) -> int:
        """Number of samples (rows of ``X``)."""
        return int(self.X.shape[0])

    @property
    def n_features(self) -> int:
        """Number of features (columns of ``X``)."""
        return int(self.X.shape[1])

    @property
    def is_image(self) -> bool:
        """True when each sample is an ``(H, W, C)`` image."""
        return len(self.shape) == 3

    def images(self) -> np.ndarray:
        """Return ``X`` as an ``(n, H, W, C)`` array (a view, not a copy).

        For data kept on disk this is a :class:`~deepclust.data.lazy.LazyImages`, whose
        indexing reads only the requested images.
        """
        if not self.is_image:
            raise InputError(
                f"Dataset {self.name or self.source!r} holds feature vectors of shape "
                f"{self.shape}, not images."
            )
        if isinstance(self.X, LazyMatrix):
            return LazyImages(self.X, self.shape)
        return self.X.reshape((self.n_samples, *self.shape))

    def subset(self, indices) -> Dataset:
        """Return a new :class:`Dataset` with the rows selected by ``indices``.

        ``indices`` may be integer positions, a slice or a boolean mask.
        """
        if not isinstance(indices, slice):
            indices = np.asarray(indices)
            if indices.dtype == bool and indices.shape != (self.n_samples,):
                raise InputError(
                    f"A boolean mask must have {self.n_samples} entries, got {indices.shape[0]}."
                )
        X = np.asarray(self.X[indices])
        if X.ndim == 1:  # a single integer index
            X = X[None, :]
        y = None
        if self.y is not None:
            y = np.atleast_1d(self.y[indices])
        return Dataset(
            X=X,
            y=y,
            shape=self.shape,
            class_names=None if self.class_names is None else list(self.class_names),
            source=self.source,
            name=self.name,
            paths=None if self.paths is None else [self.paths[i] for i in np.arange(self.n_samples)[indices].ravel()],
        )

    def __repr__(self) -> str:
        labels = "no labels" if self.y is None else f"{len(np.unique(self.y))} label values"
        return (
            f"Dataset(name={self.name!r}, n_samples={self.n_samples}, shape={self.shape}, "
            f"{labels}, source={self.source!r})"
        )
