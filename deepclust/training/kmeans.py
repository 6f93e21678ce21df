"""k-means for DeepCluster's per-epoch pseudo-labels, with empty clusters re-seeded by splitting.

:func:`kmeans` uses faiss when it is installed (``pip install deepclust[faiss]``) and
``backend="auto"``, and otherwise a built-in Lloyd iteration in NumPy. Both start from k
distinct random points and run ``n_iter`` iterations (20, DeepCluster's setting). A cluster
that ends an iteration empty is re-seeded the way faiss does it: a non-empty cluster is
chosen with probability proportional to its size beyond one point, and its centroid is
split into two copies pushed apart by a relative perturbation of 1/1024 in opposite
directions, one for each cluster (DeepCluster, section 3.3: "empty clusters").
"""

from __future__ import annotations

import numpy as np
from scipy import sparse

EPS = 1.0 / 1024


def nearest_centroid(X: np.ndarray, C: np.ndarray, chunk: int = 16384) -> np.ndarray:
    """Index of the nearest row of ``C`` for every row of ``X`` (squared Euclidean; chunked)."""
    c2 = (C * C).sum(1)
    out = np.empty(len(X), dtype=np.int64)
    for s in range(0, len(X), chunk):
        block = X[s : s + chunk]
        out[s : s + chunk] = np.argmin(c2[None, :] - 2.0 * block @ C.T, axis=1)
    return out


def split_empty(C: np.ndarray, counts: np.ndarray, rng: np.random.Generator) -> int:
    """Re-seed every empty cluster of ``C`` (in place) by splitting a non-empty one; return how many."""
    n_split = 0
    for j in np.flatnonzero(counts == 0):
        weights = np.maximum(counts - 1, 0).astype(np.float64)
        if weights.sum() == 0:
            break
        m = int(rng.choice(len(C), p=weights / weights.sum()))
        signs = np.where(np.arange(C.shape[1]) % 2 == 0, 1.0, -1.0)
        C[j] = C[m] * (1 + signs * EPS)
        C[m] = C[m] * (1 - signs * EPS)
        counts[j] = counts[m] // 2
        counts[m] -= counts[j]
        n_split += 1
    return n_split


def kmeans(X: np.ndarray, k: int, *, n_iter: int = 20, seed: int = 0, backend: str = "auto", n_redo: int = 1):
    """Cluster the rows of ``X`` into ``k`` groups; return ``(centroids, labels, n_split)``.

    ``backend`` is ``"auto"`` (faiss when installed), ``"faiss"`` or ``"numpy"``.
    ``n_redo`` runs (faiss' ``nredo``; DeepCluster uses 1) start from different random points;
    the one with the lowest sum of squared distances is kept.
    ``n_split`` counts empty clusters re-seeded by the built-in path in the kept run (faiss
    does the same internally and does not report it; it is then 0).
    """
    X = np.ascontiguousarray(X, dtype=np.float32)
    if k > len(X):
        raise ValueError(f"k={k} is larger than the number of points ({len(X)})")
    if backend in ("auto", "faiss"):
        try:
            import faiss
        except ImportError:
            if backend == "faiss":
                raise
        else:
            km = faiss.Kmeans(X.shape[1], k, niter=n_iter, nredo=n_redo, seed=seed,
                              max_points_per_centroid=10**7, verbose=False)
            km.train(X)
            return km.centroids.copy(), nearest_centroid(X, km.centroids), 0
    rng = np.random.default_rng(seed)
    runs = [_lloyd(X, k, n_iter, rng) for _ in range(n_redo)]
    if len(runs) == 1:
        return runs[0]
    return min(runs, key=lambda run: float(((X - run[0][run[1]]) ** 2).sum()))


def _lloyd(X: np.ndarray, k: int, n_iter: int, rng: np.random.Generator):
    """One built-in k-means run from k distinct random points, splitting empty clusters."""
    C = X[rng.choice(len(X), size=k, replace=False)].astype(np.float64)
    n_split = 0
    for _ in range(n_iter):
        labels = nearest_centroid(X, C.astype(np.float32))
        counts = np.bincount(labels, minlength=k)
        members = sparse.csr_matrix((np.ones(len(X)), (labels, np.arange(len(X)))), shape=(k, len(X)))
        sums = np.asarray(members @ X, dtype=np.float64)
        nonempty = counts > 0
        C[nonempty] = sums[nonempty] / counts[nonempty, None]
        n_split += split_empty(C, counts, rng)
    C = C.astype(np.float32)
    return C, nearest_centroid(X, C), n_split
