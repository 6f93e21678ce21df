"""Initial clusters on an embedding: k-means with 20 restarts (as in DEC, IDEC, DCEC) or a GMM.

Both go through the library's own :class:`~deepclust.methods.classic.KMeans` and
:class:`~deepclust.methods.classic.GaussianMixture`, on the float32 embedding as the encoder gives
it (DEC-keras hands Keras' float32 ``predict`` output to scikit-learn's ``KMeans`` the same way).
So a deep method's start is exactly the ``ae+kmeans`` pipeline's result for the same autoencoder
and seed: one k-means code path, one dtype. (Until 2026-11-25 this cast the embedding to float64
first, which can change which of the 20 restarts has the lowest inertia; benchmarks/README.md
says which recorded runs used that.)
"""

from __future__ import annotations

import numpy as np


def initial_clusters(Z: np.ndarray, n_clusters: int, method: str = "kmeans", n_init: int = 20,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(centers, labels)`` of k-means (best of ``n_init`` by inertia) or of a
    full-covariance GMM (``max(1, n_init // 5)`` EM runs) fitted on the float32 embedding ``Z``."""
    from ..methods.classic import GaussianMixture, KMeans

    if method == "kmeans":
        model = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed)
    elif method == "gmm":
        model = GaussianMixture(n_clusters=n_clusters, n_init=max(1, n_init // 5), random_state=seed)
    else:
        raise ValueError(f"unknown cluster initialisation {method!r}")
    model.fit(np.asarray(Z, dtype=np.float32))
    centers = model.cluster_centers_ if method == "kmeans" else model.model_.means_
    return np.asarray(centers, dtype=np.float32), model.labels_.astype(np.int64)
