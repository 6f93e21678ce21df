"""Dimensionality reducers: the first stage of ``REDUCER+CLUSTERER`` methods.

Defaults follow the thesis of seed 004, which compared these two-stage pipelines on
Fashion-MNIST: UMAP with ``n_neighbors=30, min_dist=0`` ("for clustering"), 2 components;
t-SNE with perplexity 25 and learning rate 10; PCA to 50 components (kept ~85% of the
variance before HDBSCAN).
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator

from ..data.lazy import materialize
from ..errors import InputError
from ..params import SEED, Interval, Options, positive_int, validate_params
from ..registry import register_reducer


class BaseReducer(BaseEstimator):
    """A reducer maps (n, d) features to (n, n_components) with ``fit_transform``.

    ``can_transform`` tells whether new data can be mapped after fitting; ``can_save``
    whether the fitted reducer can be written as safetensors + JSON, through
    ``get_state() -> (json_state, arrays)`` and ``set_state(json_state, arrays, n_features)``.
    ``clusterer_defaults`` maps a clusterer's name to parameters that a two-stage method
    (:class:`~deepclust.methods.two_stage.TwoStage`) gives that clusterer after this reducer
    unless the user sets them (e.g. the restarts of the papers' AE + k-means).
    """

    method_name = "reducer"
    can_transform = False
    can_save = False
    streams_input = False  # see BaseClusterer.streams_input
    clusterer_defaults: dict[str, dict] = {}
    _parameter_constraints: dict = {}

    def fit_transform(self, X, resume: bool = False) -> np.ndarray:
        """Fit on ``X`` and return its reduced coordinates (float32).

        ``resume`` lets trained reducers continue from the checkpoints in their
        ``checkpoint_dir``; the others ignore it.
        """
        validate_params(self)
        self._resume = resume
        return np.asarray(self._fit_transform(materialize(X, self.streams_input)), dtype=np.float32)

    def transform(self, X) -> np.ndarray:
        """Map new data with the fitted reducer (only when ``can_transform``)."""
        if not self.can_transform:
            raise InputError(f"Reducer {self.method_name!r} cannot map new data after fitting.")
        return np.asarray(self._transform(X), dtype=np.float32)


@register_reducer("pca", "PCA (50 components by default)")
class PCAReducer(BaseReducer):
    """Principal component analysis (Pearson 1901; Hotelling 1933), optionally whitened."""

    can_transform = True
    can_save = True
    _parameter_constraints = {
        "n_components": [positive_int()],
        "whiten": [Options((True, False))],
        "random_state": [SEED],
    }

    def __init__(self, n_components=50, whiten=False, random_state=None):
        self.n_components = n_components
        self.whiten = whiten
        self.random_state = random_state

    def _fit_transform(self, X):
        from sklearn.decomposition import PCA

        if self.n_components > min(X.shape):
            raise InputError(
                f"pca cannot keep n_components={self.n_components} of data with {X.shape[0]} "
                f"samples and {X.shape[1]} features; choose at most {min(X.shape)}."
            )
        self.model_ = PCA(n_components=self.n_components, whiten=self.whiten, random_state=self.random_state)
        return self.model_.fit_transform(X)

    def _transform(self, X):
        return self.model_.transform(X)

    def get_state(self) -> tuple[dict, dict[str, np.ndarray]]:
        """``(JSON state, arrays)`` that define the fitted projection."""
        m = self.model_
        return {}, {"components_": m.components_, "mean_": m.mean_,
                    "explained_variance_": m.explained_variance_}

    def set_state(self, state: dict, arrays: dict[str, np.ndarray], n_features: int) -> None:
        """Rebuild the fitted projection from :meth:`get_state`'s output."""
        from sklearn.decomposition import PCA

        comp = arrays["components_"]
        if comp.ndim != 2 or comp.shape[1] != n_features or arrays["mean_"].shape != (n_features,):
            raise InputError("The saved PCA tensors do not match the model's feature count.")
        m = PCA(n_components=comp.shape[0], whiten=self.whiten)
        m.components_, m.mean_ = comp, arrays["mean_"]
        m.explained_variance_ = arrays["explained_variance_"]
        m.n_components_, m.n_features_in_ = comp.shape[0], n_features
        self.model_ = m


@register_reducer("umap", "UMAP (n_neighbors=30, min_dist=0, 2-d by default)")
class UMAPReducer(BaseReducer):
    """UMAP manifold embedding (McInnes, Healy & Melville 2018).

    A seeded run is deterministic (and single-threaded, as umap-learn makes it). New data
    can be mapped in the same session with ``umap.transform`` (approximate); the fitted
    state is not saved, because umap-learn's index can only be stored with pickle.
    """

    can_transform = True
    _parameter_constraints = {
        "n_components": [positive_int()],
        "n_neighbors": [positive_int(2)],
        "min_dist": [Interval("real", 0)],
        "metric": [Options(("euclidean", "cosine", "manhattan", "correlation"))],
        "random_state": [SEED],
    }

    def __init__(self, n_components=2, n_neighbors=30, min_dist=0.0, metric="euclidean",
                 random_state=None):
        self.n_components = n_components
        self.n_neighbors = n_neighbors
        self.min_dist = min_dist
        self.metric = metric
        self.random_state = random_state

    def _fit_transform(self, X):
        import umap

        n = X.shape[0]
        self.model_ = umap.UMAP(
            n_components=min(self.n_components, max(n - 2, 1)),
            n_neighbors=min(self.n_neighbors, n - 1), min_dist=self.min_dist,
            metric=self.metric, random_state=self.random_state,
            n_jobs=1 if self.random_state is not None else -1,
            init="spectral" if n > self.n_components + 2 else "random",
        )
        return self.model_.fit_transform(X)

    def _transform(self, X):
        return self.model_.transform(X)


@register_reducer("tsne", "t-SNE (perplexity 25, learning rate 10, 2-d by default)")
class TSNEReducer(BaseReducer):
    """t-SNE embedding (van der Maaten & Hinton 2008), Barnes-Hut for 2-3 components.

    t-SNE has no mapping for new data, so ``tsne+...`` methods cannot ``predict``.
    ``learning_rate="auto"`` (max(n/12/4, 50)) converges better on large data than the
    thesis' 10, which it used on a 10,000-image sample. ``init`` is ``"pca"`` (scikit-learn's
    default since 1.2, more stable across seeds) or ``"random"`` (the default of the
    scikit-learn 0.21-0.22 that seed 004 used).
    """

    _parameter_constraints = {
        "n_components": [Interval("int", 1, 3)],
        "perplexity": [Interval("real", 0, low_open=True)],
        "learning_rate": [Interval("real", 0, low_open=True), Options(("auto",))],
        "max_iter": [positive_int(250)],
        "init": [Options(("pca", "random"))],
        "random_state": [SEED],
    }

    def __init__(self, n_components=2, perplexity=25.0, learning_rate=10.0, max_iter=1000, init="pca",
                 random_state=None):
        self.n_components = n_components
        self.perplexity = perplexity
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.init = init
        self.random_state = random_state

    def _fit_transform(self, X):
        from sklearn.manifold import TSNE

        perplexity = min(self.perplexity, max((X.shape[0] - 1) / 3.0, 1.0))
        model = TSNE(
            n_components=self.n_components, perplexity=perplexity,
            learning_rate=self.learning_rate, max_iter=self.max_iter, init=self.init,
            random_state=self.random_state,
        )
        return model.fit_transform(X)
