"""N2D: (Not Too) Deep clustering — R. McConville, R. Santos-Rodriguez, R. J. Piechocki,
I. Craddock, "N2D: (Not Too) Deep Clustering via Clustering the Local Manifold of an
Autoencoded Embedding", ICPR 2020 (arXiv:1908.05968).

1. An autoencoder d-500-500-2000-k (k = ``n_clusters``) is pretrained on reconstruction
   (the reference code: Keras' default start, glorot-uniform kernels and zero biases; Adam,
   batch 256, MSE, 1000 epochs).
2. UMAP learns the local manifold of the embedding, to ``umap_dim`` = k dimensions with
   ``n_neighbors=20`` and ``min_dist=0`` (the paper's settings; 10 neighbours is measured too).
3. A Gaussian mixture with full covariances clusters the manifold coordinates;
   ``labels_`` is its argmax and ``predict_proba`` its posterior. ``gmm_n_init`` > 1 (an
   option; the reference fits once) keeps the most likely of several EM runs.

``predict`` on new data embeds it with the encoder, maps it onto the manifold, and asks the
mixture. The mapping is approximate by nature: in the session that fitted the model it is
``umap.transform``; a model loaded from disk (umap-learn's fitted state can only be stored
with pickle, which deepclust never writes) places each new point at the distance-weighted
mean of the manifold coordinates of its ``umap_neighbors`` nearest training points in the
embedding, which is how ``umap.transform`` initialises points before refining them.
"""

from __future__ import annotations

import numpy as np

from ..base import BaseClusterer
from ..data.lazy import map_row_chunks
from ..params import NONE, Interval, Options, Param, install_params, positive_int, with_defaults
from ..registry import register
from ..runtime import PhaseTimer
from ..training.device import as_tensor
from ..training.loop import stop_at_once
from .classic import GaussianMixture
from .deep import NETWORK_PARAMS, PRETRAIN_PARAMS, RUNTIME_PARAMS, AutoencoderMixin
from .reducers import UMAPReducer

N2D_PARAMS = {
    "n_clusters": Param(10, (positive_int(),), "number of clusters (also the embedding and manifold size)"),
    "umap_dim": Param(None, (NONE, positive_int()), "dimensions of the UMAP manifold; None = n_clusters"),
    "umap_neighbors": Param(20, (positive_int(2),), "UMAP n_neighbors (20 in the paper)"),
    "umap_min_dist": Param(0.0, (Interval("real", 0),), "UMAP min_dist (0 in the paper)"),
    "umap_metric": Param("euclidean", (Options(("euclidean", "cosine", "manhattan", "correlation")),),
                         "UMAP metric"),
    "covariance_type": Param("full", (Options(("full", "tied", "diag", "spherical")),),
                             "covariance of the mixture components (full in the paper)"),
    "gmm_n_init": Param(1, (positive_int(),), "EM runs of the mixture, each from its own k-means start; the one "
                        "with the highest likelihood is kept (labels are never read). 1 in the reference code"),
}

_TABLE = {**N2D_PARAMS, **NETWORK_PARAMS, **PRETRAIN_PARAMS, **RUNTIME_PARAMS}
_TABLE["embedding_dim"] = Param(None, (NONE, positive_int()), "size of the embedding z; None = n_clusters (N2D)")
_TABLE = with_defaults(_TABLE, pretrain_optimizer="adam", pretrain_lr=0.001, weight_init="glorot")


@register("n2d", "N2D: autoencoder, then UMAP to k dims, then a full-covariance GMM (McConville et al. 2020)",
          family="deep")
class N2D(AutoencoderMixin, BaseClusterer):
    """N2D (McConville et al. 2020): cluster the UMAP manifold of an autoencoded embedding.

    Defaults follow the paper and its reference code (Keras' glorot-uniform starts with zero
    biases, ``weight_init="glorot"``; Adam lr 0.001, batch 256, MSE; UMAP ``n_neighbors=20,
    min_dist=0`` to k dimensions; full-covariance GMM), except ``pretrain_epochs``: the
    reference trains 1000 epochs, which takes hours on a CPU; the default here is the shared 50
    (set ``pretrain_epochs=1000`` for the paper's schedule). Until 2026-12-07 the default start
    was PyTorch's (``weight_init="torch"``); on Fashion-MNIST the reference's start measured a
    higher ACC median at the same NMI (``benchmarks/README.md``, "N2D's defaults since 2026-12-07").

    Fitted attributes: ``labels_``, ``proba_``, ``embedding_`` (manifold coordinates),
    ``ae_embedding_`` (the autoencoder's embedding of the training data), ``network_``,
    ``gmm_``, ``history_`` and ``phase_seconds_`` (pretrain / embed / manifold / cluster).
    """

    can_predict = True
    can_save = True
    streams_input = True

    def _manifold_dim(self) -> int:
        return self.umap_dim if self.umap_dim is not None else self.n_clusters

    def _fit(self, X):
        seed = self._seed()
        timer = PhaseTimer()
        self.phase_seconds_ = timer.seconds
        X_t = as_tensor(X, self._device())
        with timer.phase("pretrain"):
            self.history_ = {"pretrain": self._pretrain(X_t, seed, X)}
        with timer.phase("embed"), stop_at_once("the autoencoder's embedding"):
            self.ae_embedding_ = self.embed(X_t).cpu().numpy()
        with timer.phase("manifold"), stop_at_once("UMAP"):
            self.umap_ = UMAPReducer(n_components=self._manifold_dim(), n_neighbors=self.umap_neighbors,
                                     min_dist=self.umap_min_dist, metric=self.umap_metric, random_state=seed)
            self.embedding_ = self.umap_.fit_transform(self.ae_embedding_)
        with timer.phase("cluster"), stop_at_once("the Gaussian mixture"):
            self.gmm_ = GaussianMixture(n_clusters=self.n_clusters, covariance_type=self.covariance_type,
                                        n_init=self.gmm_n_init, random_state=seed).fit(self.embedding_)
        self.proba_ = self.gmm_.proba_
        self.labels_ = self.gmm_.labels_

    def transform(self, X):
        """Manifold coordinates of new data (approximate; see the module docstring)."""
        return map_row_chunks(self._to_manifold, self._check_predict_input(X))

    def _to_manifold(self, X) -> np.ndarray:
        Z = self.embed(as_tensor(X, self._device())).cpu().numpy()
        if hasattr(self, "umap_"):
            return self.umap_.transform(Z)
        return neighbour_average(self.ae_embedding_, self.embedding_, Z, self.umap_neighbors)

    def _predict(self, X):
        return self._predict_proba(X).argmax(axis=1)

    def _predict_proba(self, X):
        return self.gmm_.predict_proba(self._to_manifold(X))

    # -------------------------------------------------------------- persistence
    def _get_state(self):
        state, arrays = self._network_state()
        g_state, g_arrays = self.gmm_._get_state()
        arrays.update({f"gmm.{k}": v for k, v in g_arrays.items()})
        arrays["ae_embedding_"] = self.ae_embedding_.astype(np.float32)
        arrays["embedding_"] = np.asarray(self.embedding_, dtype=np.float32)
        return {**state, "gmm": g_state, "n_train": int(len(self.ae_embedding_))}, arrays

    def _set_state(self, state, arrays):
        self._load_network(state, arrays)
        n = int(state["n_train"])
        self.ae_embedding_ = self._require(arrays, "ae_embedding_", (n, self._embedding_size()))
        self.embedding_ = self._require(arrays, "embedding_", (n, self._manifold_dim()))
        self.gmm_ = GaussianMixture(n_clusters=self.n_clusters, covariance_type=self.covariance_type)
        self.gmm_.n_features_in_ = self._manifold_dim()
        self.gmm_._set_state(state.get("gmm", {}), {k.removeprefix("gmm."): v for k, v in arrays.items()
                                                    if k.startswith("gmm.")})


install_params(N2D, _TABLE)


def neighbour_average(train_Z: np.ndarray, train_E: np.ndarray, Z: np.ndarray, k: int) -> np.ndarray:
    """Place each row of ``Z`` at the inverse-distance-weighted mean of the ``train_E`` rows of its
    ``k`` nearest ``train_Z`` neighbours (an exact match takes that point's coordinates)."""
    from sklearn.neighbors import NearestNeighbors

    k = min(k, len(train_Z))
    dist, idx = NearestNeighbors(n_neighbors=k).fit(train_Z).kneighbors(Z)
    weights = 1.0 / np.maximum(dist, 1e-12)
    weights /= weights.sum(axis=1, keepdims=True)
    return np.einsum("nk,nkd->nd", weights, train_E[idx]).astype(np.float32)


__all__ = ["N2D", "neighbour_average"]
