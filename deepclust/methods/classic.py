"""Classic clusterers on raw (or reduced) features, as thin wrappers of scikit-learn.

Each wrapper exposes the deepclust surface (parameter checks, clear errors, ``save``/``load``
in safetensors + JSON) and keeps scikit-learn's algorithms untouched.
"""

from __future__ import annotations

import numpy as np
from sklearn import cluster as skc
from sklearn import mixture

from ..base import BaseClusterer
from ..errors import InputError
from ..params import NONE, SEED, Interval, Options, positive_int
from ..registry import register


class _CentroidClusterer(BaseClusterer):
    """Shared predict/transform/save for methods that end with ``cluster_centers_``."""

    can_predict = True
    can_save = True

    def _store(self, model) -> None:
        self.cluster_centers_ = model.cluster_centers_.astype(np.float32)
        self.labels_ = model.labels_.astype(np.int64)
        self.inertia_ = float(model.inertia_)

    def _predict(self, X):
        return self._distances(X).argmin(axis=1)

    def transform(self, X):
        """Euclidean distance of each sample to each cluster centre."""
        return np.sqrt(self._distances(self._check_predict_input(X)))

    def _distances(self, X):
        c = self.cluster_centers_
        d = (X**2).sum(1)[:, None] - 2.0 * X @ c.T + (c**2).sum(1)[None, :]
        return np.maximum(d, 0.0)

    def _get_state(self):
        return {"inertia_": self.inertia_}, {"cluster_centers_": self.cluster_centers_}

    def _set_state(self, state, arrays):
        k = self.n_clusters
        self.cluster_centers_ = self._require(arrays, "cluster_centers_", (k, self.n_features_in_))
        self.inertia_ = float(state.get("inertia_", float("nan")))


@register("kmeans", "k-means with k-means++ seeding and n_init restarts (Lloyd 1982; Arthur & Vassilvitskii 2007)")
class KMeans(_CentroidClusterer):
    """k-means (Lloyd) with k-means++ initialisation and ``n_init`` restarts.

    The restart with the lowest inertia (within-cluster sum of squares) is kept, which uses
    no labels. References: S. Lloyd, "Least squares quantization in PCM" (1982);
    D. Arthur and S. Vassilvitskii, "k-means++: the advantages of careful seeding" (2007).
    """

    _parameter_constraints = {
        "n_clusters": [positive_int()],
        "n_init": [positive_int()],
        "max_iter": [positive_int()],
        "tol": [Interval("real", 0)],
        "random_state": [SEED],
    }

    def __init__(self, n_clusters=10, n_init=10, max_iter=300, tol=1e-4, random_state=None):
        self.n_clusters = n_clusters
        self.n_init = n_init
        self.max_iter = max_iter
        self.tol = tol
        self.random_state = random_state

    def _fit(self, X):
        model = skc.KMeans(
            n_clusters=self.n_clusters, init="k-means++", n_init=self.n_init,
            max_iter=self.max_iter, tol=self.tol, random_state=self.random_state,
        ).fit(X)
        self._store(model)


@register("minibatch-kmeans", "mini-batch k-means for large n (Sculley 2010)")
class MiniBatchKMeans(_CentroidClusterer):
    """Mini-batch k-means (D. Sculley, "Web-scale k-means clustering", 2010).

    Much faster than :class:`KMeans` on large data at a small cost in inertia.
    """

    _parameter_constraints = {
        "n_clusters": [positive_int()],
        "batch_size": [positive_int()],
        "n_init": [positive_int()],
        "max_iter": [positive_int()],
        "random_state": [SEED],
    }

    def __init__(self, n_clusters=10, batch_size=4096, n_init=3, max_iter=100, random_state=None):
        self.n_clusters = n_clusters
        self.batch_size = batch_size
        self.n_init = n_init
        self.max_iter = max_iter
        self.random_state = random_state

    def _fit(self, X):
        model = skc.MiniBatchKMeans(
            n_clusters=self.n_clusters, batch_size=self.batch_size, n_init=self.n_init,
            max_iter=self.max_iter, random_state=self.random_state,
        ).fit(X)
        self._store(model)


@register("gmm", "Gaussian mixture fitted by EM (Dempster et al. 1977)")
class GaussianMixture(BaseClusterer):
    """Gaussian mixture model fitted by expectation-maximisation.

    ``predict_proba`` gives the posterior responsibility of each component. Reference:
    A. Dempster, N. Laird, D. Rubin, "Maximum likelihood from incomplete data via the EM
    algorithm" (1977).
    """

    can_predict = True
    can_save = True
    _parameter_constraints = {
        "n_clusters": [positive_int()],
        "covariance_type": [Options(("full", "tied", "diag", "spherical"))],
        "n_init": [positive_int()],
        "max_iter": [positive_int()],
        "reg_covar": [Interval("real", 0)],
        "random_state": [SEED],
    }
    _ARRAYS = ("weights_", "means_", "covariances_", "precisions_cholesky_")

    def __init__(self, n_clusters=10, covariance_type="full", n_init=1, max_iter=100,
                 reg_covar=1e-6, random_state=None):
        self.n_clusters = n_clusters
        self.covariance_type = covariance_type
        self.n_init = n_init
        self.max_iter = max_iter
        self.reg_covar = reg_covar
        self.random_state = random_state

    def _new_model(self):
        return mixture.GaussianMixture(
            n_components=self.n_clusters, covariance_type=self.covariance_type,
            n_init=self.n_init, max_iter=self.max_iter, reg_covar=self.reg_covar,
            random_state=self.random_state,
        )

    def _fit(self, X):
        self.model_ = self._new_model().fit(X)
        self.proba_ = self.model_.predict_proba(X)
        self.labels_ = self.proba_.argmax(axis=1).astype(np.int64)
        self.converged_ = bool(self.model_.converged_)

    def _predict(self, X):
        return self.model_.predict(X)

    def _predict_proba(self, X):
        return self.model_.predict_proba(X)

    def _get_state(self):
        return {"converged_": self.converged_}, {a: getattr(self.model_, a) for a in self._ARRAYS}

    def _set_state(self, state, arrays):
        k, d = self.n_clusters, self.n_features_in_
        cov_shape = {"full": (k, d, d), "tied": (d, d), "diag": (k, d), "spherical": (k,)}
        shapes = {"weights_": (k,), "means_": (k, d)}
        shapes["covariances_"] = shapes["precisions_cholesky_"] = cov_shape[self.covariance_type]
        model = self._new_model()
        for a in self._ARRAYS:
            setattr(model, a, self._require(arrays, a, shapes[a]))
        model.converged_ = bool(state.get("converged_", True))
        model.n_features_in_ = d
        self.model_ = model
        self.converged_ = model.converged_


@register("hdbscan", "HDBSCAN density clustering with noise (Campello et al. 2013)")
class HDBSCAN(BaseClusterer):
    """Hierarchical density-based clustering; finds its own number of clusters.

    Points in no dense region get the noise label ``-1``; it takes no ``n_clusters``.
    ``min_cluster_size=None`` means 1% of the samples (at least 5); seed 004 used 500 on
    Fashion-MNIST with ``min_samples=10``. This wraps scikit-learn's HDBSCAN, whose
    ``min_samples`` counts the point itself; the ``hdbscan`` library that seed 004 used does
    not, so its ``min_samples=10`` is ``min_samples=11`` here (the default, 10, is the
    library's 9). Reference: R. Campello,
    D. Moulavi, J. Sander, "Density-based clustering based on hierarchical density
    estimates" (2013).
    """

    _parameter_constraints = {
        "min_cluster_size": [positive_int(2), NONE],
        "min_samples": [positive_int(), NONE],
        "cluster_selection_epsilon": [Interval("real", 0)],
    }

    def __init__(self, min_cluster_size=None, min_samples=10, cluster_selection_epsilon=0.0):
        self.min_cluster_size = min_cluster_size
        self.min_samples = min_samples
        self.cluster_selection_epsilon = cluster_selection_epsilon

    def _fit(self, X):
        size = self.min_cluster_size or max(5, X.shape[0] // 100)
        model = skc.HDBSCAN(
            min_cluster_size=min(size, X.shape[0]), min_samples=self.min_samples,
            cluster_selection_epsilon=self.cluster_selection_epsilon, copy=True,
        ).fit(X)
        self.labels_ = model.labels_.astype(np.int64)
        self.confidence_ = model.probabilities_


class _NeedsSmallData:
    """Mixin: refuse data sizes whose dense n x n matrices would not fit in memory."""

    def _check_size(self, X):
        if X.shape[0] > self.max_samples:
            raise InputError(
                f"{self.method_name} needs memory quadratic in the number of samples and "
                f"{X.shape[0]} exceeds max_samples={self.max_samples}; reduce the data first "
                f"(e.g. pca+{self.method_name}) or raise max_samples."
            )


@register("agglomerative", "agglomerative (hierarchical) clustering, Ward linkage by default")
class Agglomerative(_NeedsSmallData, BaseClusterer):
    """Bottom-up hierarchical clustering (Ward 1963 linkage by default).

    Memory grows with the square of the sample count, so data larger than ``max_samples``
    is refused with a clear message.
    """

    _parameter_constraints = {
        "n_clusters": [positive_int()],
        "linkage": [Options(("ward", "complete", "average", "single"))],
        "max_samples": [positive_int()],
    }

    def __init__(self, n_clusters=10, linkage="ward", max_samples=30_000):
        self.n_clusters = n_clusters
        self.linkage = linkage
        self.max_samples = max_samples

    def _fit(self, X):
        self._check_size(X)
        model = skc.AgglomerativeClustering(n_clusters=self.n_clusters, linkage=self.linkage)
        self.labels_ = model.fit_predict(X).astype(np.int64)


@register("spectral", "spectral clustering on a k-nearest-neighbour graph (Ng, Jordan & Weiss 2001)")
class Spectral(_NeedsSmallData, BaseClusterer):
    """Spectral clustering on a sparse nearest-neighbour affinity graph.

    Reference: A. Ng, M. Jordan, Y. Weiss, "On spectral clustering: analysis and an
    algorithm" (2001). The default ``affinity="nearest_neighbors"`` keeps memory linear;
    ``"rbf"`` builds a dense matrix and is limited by ``max_samples``.
    """

    _parameter_constraints = {
        "n_clusters": [positive_int()],
        "affinity": [Options(("nearest_neighbors", "rbf"))],
        "n_neighbors": [positive_int()],
        "assign_labels": [Options(("kmeans", "discretize", "cluster_qr"))],
        "max_samples": [positive_int()],
        "random_state": [SEED],
    }

    def __init__(self, n_clusters=10, affinity="nearest_neighbors", n_neighbors=10,
                 assign_labels="cluster_qr", max_samples=30_000, random_state=None):
        self.n_clusters = n_clusters
        self.affinity = affinity
        self.n_neighbors = n_neighbors
        self.assign_labels = assign_labels
        self.max_samples = max_samples
        self.random_state = random_state

    def _fit(self, X):
        if self.affinity == "rbf":
            self._check_size(X)
        model = skc.SpectralClustering(
            n_clusters=self.n_clusters, affinity=self.affinity,
            n_neighbors=min(self.n_neighbors, X.shape[0] - 1) or 1,
            assign_labels=self.assign_labels, random_state=self.random_state,
        )
        self.labels_ = model.fit_predict(X).astype(np.int64)
