"""Feature matrices too large for memory: :class:`LazyMatrix` reads rows on demand.

A ``.npy`` file over :data:`~deepclust.data.arrays.MMAP_THRESHOLD` bytes is memory-mapped.
When it is already float32 the memory map is used directly; any other dtype (typically
uint8 images, which would need four times their size as float32) becomes a
:class:`LazyMatrix`: a read-only ``(n_samples, n_features)`` float32 *view* whose rows are
converted (and scaled, 1/255 for uint8) only when they are read.

Deep methods train and embed from it batch by batch, and ``predict``/``predict_proba`` of
every method stream it in chunks of :data:`CHUNK_ROWS` rows (:func:`iter_row_chunks`), so
peak memory is set by the chunk, not by the file. Methods that need all the data at once
(k-means, HDBSCAN, UMAP ...) convert it whole with ``numpy.asarray``, which needs the
memory of the float32 copy.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

CHUNK_ROWS = 65536


class LazyMatrix:
    """A 2-D float32 matrix over a (memory-mapped) array of another dtype, converted per read.

    Args:
        raw: a 2-D array (usually a :class:`numpy.memmap`) of shape ``(n_samples, n_features)``.
        divisor: rows are divided by it after conversion (255 for uint8 images, exactly as the
            in-memory loaders scale them), or ``None``.

    Indexing (``m[rows]``, ``m[a:b]``, ``m[i]``) returns an ordinary float32
    :class:`numpy.ndarray` holding only those rows; ``numpy.asarray(m)`` converts all of it.
    """

    dtype = np.dtype(np.float32)
    ndim = 2

    def __init__(self, raw: np.ndarray, divisor: float | None = None):
        if raw.ndim != 2:
            raise ValueError("LazyMatrix needs a 2-D array.")
        self.raw = raw
        self.divisor = None if divisor is None else np.float32(divisor)

    @property
    def shape(self) -> tuple[int, int]:
        """``(n_samples, n_features)``."""
        return tuple(int(s) for s in self.raw.shape)

    @property
    def nbytes(self) -> int:
        """Bytes the float32 matrix would take if it were converted whole."""
        return self.shape[0] * self.shape[1] * 4

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        rows = np.asarray(self.raw[key], dtype=np.float32)
        if self.divisor is not None:
            rows /= self.divisor
        return rows

    def __array__(self, dtype=None, copy=None) -> np.ndarray:
        out = self[:]
        return out if dtype is None else out.astype(dtype, copy=False)

    def __repr__(self) -> str:
        return f"LazyMatrix(shape={self.shape}, raw dtype={self.raw.dtype}, divisor={self.divisor})"


def is_streamed(X) -> bool:
    """True for inputs that are read from disk in chunks: a :class:`LazyMatrix` or a memory map."""
    return isinstance(X, (LazyMatrix, np.memmap))


def iter_row_chunks(X, rows: int | None = None) -> Iterator[np.ndarray]:
    """Yield consecutive blocks of at most ``rows`` (default :data:`CHUNK_ROWS`) rows of ``X`` as float32.

    For a memory-mapped file, the pages of a block are released from this process once the
    consumer has moved on (they stay in the operating system's file cache), so resident
    memory stays near one block rather than growing to the size of the file.
    """
    rows = rows or CHUNK_ROWS
    for start in range(0, X.shape[0], rows):
        stop = min(X.shape[0], start + rows)
        yield np.asarray(X[start:stop], dtype=np.float32)
        release_rows(X, start, stop)


def release_rows(X, start: int, stop: int) -> None:
    """Drop the mapped pages of rows ``start:stop`` of a memory-mapped ``X`` from resident memory.

    Uses ``madvise(MADV_DONTNEED)`` on the read-only mapping: the data stays in the file and
    in the page cache and is simply read again if needed. Does nothing for in-memory arrays,
    writable or non-contiguous maps, or where ``madvise`` is unavailable.
    """
    import mmap

    raw = X.raw if isinstance(X, LazyMatrix) else X
    mm = getattr(raw, "_mmap", None)
    if mm is None or not raw.flags.c_contiguous or raw.flags.writeable or not hasattr(mm, "madvise"):
        return
    row_bytes = raw.strides[0]
    begin = raw.ctypes.data - np.frombuffer(mm, dtype=np.uint8).ctypes.data + start * row_bytes
    end = begin + (stop - start) * row_bytes
    page = mmap.PAGESIZE
    begin = (begin // page) * page
    if end > begin:
        try:
            mm.madvise(mmap.MADV_DONTNEED, begin, min(end - begin, len(mm) - begin))
        except (OSError, ValueError):  # pragma: no cover - platform without this advice
            return


class LazyImages:
    """``(n, H, W, C)`` image access to a :class:`LazyMatrix`: ``images[i]`` reads only those rows."""

    def __init__(self, matrix: LazyMatrix, shape: tuple[int, ...]):
        self.matrix = matrix
        self.shape = (matrix.shape[0], *shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> np.ndarray:
        rows = self.matrix[key]
        return rows.reshape(self.shape[1:]) if rows.ndim == 1 else rows.reshape((-1, *self.shape[1:]))


def materialize(X, streams: bool):
    """``X`` itself when the consumer ``streams`` its input, else a :class:`LazyMatrix` converted whole."""
    return np.asarray(X) if isinstance(X, LazyMatrix) and not streams else X


def map_row_chunks(fn, X, rows: int | None = None) -> np.ndarray:
    """``fn(X)`` for in-memory ``X``; for data kept on disk, ``fn`` per chunk of rows, concatenated.

    Only for row-wise functions (each output row depends on its input row alone), such as
    ``predict``, ``predict_proba`` and ``transform``.
    """
    if not is_streamed(X):
        return np.asarray(fn(X))
    return np.concatenate([np.asarray(fn(chunk)) for chunk in iter_row_chunks(X, rows)])
