"""Initial clusters on an embedding: k-means with 20 restarts (as in DEC, IDEC, DCEC) or a GMM."""

from __future__ import annotations

import numpy as np


def initial_clusters(Z: np.ndarray, n_clusters: int, method: str = "kmeans", n_init: int = 20,
                     seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(centers, labels)`` of k-means (best of ``n_init``) or a full-covariance GMM."""
    Z = np.asarray(Z, dtype=np.float64)
    if method == "kmeans":
        from sklearn.cluster import KMeans

        km = KMeans(n_clusters=n_clusters, n_init=n_init, random_state=seed).fit(Z)
        return km.cluster_centers_.astype(np.float32), km.labels_.astype(np.int64)
    if method == "gmm":
        from sklearn.mixture import GaussianMixture

        gmm = GaussianMixture(n_components=n_clusters, n_init=max(1, n_init // 5), random_state=seed).fit(Z)
        return gmm.means_.astype(np.float32), gmm.predict(Z).astype(np.int64)
    raise ValueError(f"unknown cluster initialisation {method!r}")
