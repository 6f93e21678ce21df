"""DeepCluster — M. Caron, P. Bojanowski, A. Joulin, M. Douze, "Deep Clustering for
Unsupervised Learning of Visual Features", ECCV 2018 (seed 001 summarises it).

Every epoch:

1. features of the whole dataset from the backbone (classifier head removed), in eval mode,
   taken before the feature layer's final ReLU as in the reference code (which strips that
   ReLU for clustering and appends it again for training);
2. PCA with whitening, then L2 normalisation of each row: 256 dimensions for the paper's
   4,096 features, and the same 16:1 ratio for smaller features (16 for the small CNN's
   256, 32 for ResNet-18's 512; see :func:`pca_dimensions`);
3. k-means with ``k`` clusters (faiss when installed, else the built-in path of
   :mod:`deepclust.training.kmeans`); an empty cluster is re-seeded by splitting a non-empty one;
4. the assignment becomes the pseudo-labels; the NMI between this epoch's and the previous
   epoch's assignments is recorded (and ACC/NMI/ARI against true labels when they are given
   for monitoring — nothing reads them);
5. training images are sampled uniformly over the pseudo-labels (each cluster contributes
   the same number, drawn with replacement when it is small), N samples per epoch;
6. the classifier head is re-initialised (N(0, 0.01) weights, zero bias, a fresh optimiser),
   because cluster ids change meaning between epochs, and backbone + head are trained with
   cross-entropy for one pass: SGD lr 0.05, momentum 0.9, weight decay 1e-5, batch 256 (the
   paper's settings).

Inputs pass through the fixed :class:`~deepclust.nn.backbones.Sobel` filter (``sobel=True``,
the paper's remedy for colour and low-level shortcuts) and are augmented while training
(:func:`~deepclust.nn.backbones.augment`). Backbones: ``"small"`` for images up to 32 pixels,
``"resnet18"`` for larger ones (``backbone="auto"`` picks).

**Final labels.** After the last epoch the features are computed once more and, after the same
PCA-whitening and L2 normalisation, clustered by k-means with ``n_clusters`` (the best of
``n_init`` runs): ``labels_`` is that assignment. With ``k == n_clusters`` this is simply the
next epoch's pseudo-labels; with over-clustering (``k > n_clusters``) the k training clusters are
not merged — the final ``n_clusters`` clusters come from this separate k-means on the learned
features. ``predict`` assigns new images to the nearest of its centroids.
"""

from __future__ import annotations

import sys

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..base import BaseClusterer
from ..errors import InputError
from ..metrics import accuracy, ari
from ..metrics import nmi as nmi_score
from ..nn.backbones import Sobel, augment, build_backbone
from ..nn.state import load_checked, module_arrays
from ..params import BOOL, INTS, NONE, SEED, STR, Interval, Options, Param, install_params, positive_int
from ..registry import register
from ..runtime import PhaseTimer
from ..training.callbacks import ProgressBar
from ..training.device import as_tensor, autocast, map_batches, resolve_device
from ..training.init import initial_clusters
from ..training.kmeans import kmeans, nearest_centroid
from ..training.loop import Trainer
from ..training.optim import make_optimizer
from .deep import image_shape

RANK_TOL = 1e-6
"""Relative variance below which a PCA direction counts as empty (see ``_normalised``)."""
FEATURE_BATCH = 128
"""Images per forward pass when computing features (small batches stay in cache on a CPU)."""

_TABLE = {
    "n_clusters": Param(10, (positive_int(),), "number of clusters of the final labels"),
    "k": Param(None, (NONE, positive_int(2)), "clusters used for the pseudo-labels while training "
               "(over-clustering when > n_clusters); None = n_clusters"),
    "epochs": Param(20, (positive_int(),), "epochs (each: features, PCA, k-means, one pass of training)"),
    "backbone": Param("auto", (Options(("auto", "small", "resnet18")),),
                      "'small' CNN (images up to 32 px), 'resnet18', or 'auto' to choose by image size"),
    "sobel": Param(True, (BOOL,), "pass inputs through the fixed grey-scale Sobel filter (the paper's default)"),
    "augment": Param(True, (BOOL,), "random crops/flips (colour) or shifts/rotations (grey) while training"),
    "pca_dim": Param("auto", (Options(("auto",)), positive_int()),
                     "PCA dimensions before k-means (with whitening and L2 norm); 'auto' keeps the "
                     "paper's ratio: 256 for 4,096 features, feature size / 16 for smaller ones"),
    "kmeans_iter": Param(20, (positive_int(),), "k-means iterations per epoch"),
    "kmeans_redo": Param(1, (positive_int(),), "k-means runs per epoch from different starts, the lowest "
                         "inertia kept (1 in the paper, faiss' nredo)"),
    "kmeans_backend": Param("auto", (Options(("auto", "faiss", "numpy")),), "faiss when installed, or numpy"),
    "n_init": Param(10, (positive_int(),), "k-means restarts for the final n_clusters labels"),
    "batch_size": Param(256, (positive_int(),), "mini-batch size (256 in the paper)"),
    "lr": Param(0.05, (Interval("real", 0, low_open=True),), "SGD learning rate (0.05 in the paper)"),
    "momentum": Param(0.9, (Interval("real", 0, 1),), "SGD momentum"),
    "weight_decay": Param(1e-5, (Interval("real", 0),), "SGD weight decay (1e-5 in the paper)"),
    "input_shape": Param(None, (NONE, INTS), "(height, width, channels); the CLI fills it from image data"),
    "device": Param("auto", (STR,), "'auto' (CUDA when available), 'cpu' or 'cuda'"),
    "random_state": Param(None, (SEED,), "seed of every random choice"),
    "verbose": Param(True, (BOOL,), "show progress bars"),
}


class DeepClusterNet(nn.Module):
    """Sobel (optional) -> backbone -> features; ``head`` maps features to the k pseudo-classes."""

    def __init__(self, shape, backbone: str, sobel: bool, k: int):
        super().__init__()
        h, w, c = shape
        self.shape = (h, w, c)
        self.sobel = Sobel() if sobel else None
        self.backbone = build_backbone(backbone, 2 if sobel else c, h, w)
        self.head = nn.Linear(self.backbone.feature_dim, k)
        self.reset_head()
        # Images arrive as permuted NHWC rows, i.e. already channels-last in memory; keeping the
        # convolution weights channels-last too lets oneDNN skip layout conversions (the
        # untrained small CNN's feature pass over 10,000 images: 8.6 s -> 3.0 s on 2 cores).
        self.to(memory_format=torch.channels_last)

    def reset_head(self) -> None:
        """Fresh head: weights N(0, 0.01), bias 0 (the reference code's initialisation)."""
        nn.init.normal_(self.head.weight, 0.0, 0.01)
        nn.init.zeros_(self.head.bias)

    def images(self, x: torch.Tensor) -> torch.Tensor:
        """Flat H*W*C rows -> ``(n, C, H, W)``."""
        h, w, c = self.shape
        return x.reshape(-1, h, w, c).permute(0, 3, 1, 2)

    def features(self, images: torch.Tensor, activate: bool = True) -> torch.Tensor:
        """Backbone features of image batches (the head is not applied); ``activate=False``
        gives the small CNN's feature layer before its ReLU, which is what gets clustered."""
        images = images.contiguous(memory_format=torch.channels_last)  # no copy when already so
        return self.backbone(self.sobel(images) if self.sobel is not None else images, activate=activate)


def pca_dimensions(pca_dim, feature_dim: int) -> int:
    """PCA size for ``feature_dim`` features: ``pca_dim`` itself (at most the feature size), or
    for ``"auto"`` the paper's compression ratio 4,096 -> 256, i.e. ``feature_dim // 16`` (at
    least 2, at most 256).

    Whitening keeps every retained direction at unit variance, so keeping all directions of a
    small feature vector (256 of 256 for the small CNN) lets the weakest, noisiest ones count
    as much as the strongest. On seed 001's subset the untrained small CNN's features give
    k-means NMI .65 after whitening to 8 dimensions, .29 at 32 and .36 at all 227 non-empty ones.
    """
    if pca_dim == "auto":
        return int(min(256, max(2, feature_dim // 16)))
    return int(min(pca_dim, feature_dim))


def _epoch_summary(record: dict, epochs: int) -> str:
    """One line per epoch: loss, NMI with the previous assignment, monitored scores if any."""
    parts = [f"epoch {record['epoch'] + 1}/{epochs}", f"loss {record['loss']:.4f}"]
    if record["nmi_previous"] is not None:
        parts.append(f"NMI(previous) {record['nmi_previous']:.3f}")
    if "nmi" in record:
        parts.append(f"monitor ACC {record['acc']:.3f} NMI {record['nmi']:.3f}")
    return "deepcluster " + ", ".join(parts)


def uniform_over_labels(labels: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` indices with (almost) the same number from every non-empty pseudo-label, shuffled.

    Each cluster contributes ``ceil(n / n_clusters)`` indices, drawn without replacement when
    it is large enough and with replacement otherwise; the result is cut to ``n``.
    """
    groups = [np.flatnonzero(labels == c) for c in np.unique(labels)]
    per = int(np.ceil(n / len(groups)))
    picks = [rng.choice(g, size=per, replace=len(g) < per) for g in groups]
    out = np.concatenate(picks)
    rng.shuffle(out)
    return out[:n]


@register("deepcluster", "DeepCluster: k-means pseudo-labels train a CNN, every epoch (Caron et al. 2018)",
          family="deep")
class DeepCluster(BaseClusterer):
    """DeepCluster (Caron et al. 2018); see the module docstring.

    Fitted attributes: ``labels_``, ``cluster_centers_`` (in the whitened, normalised feature
    space), ``network_``, ``pca_`` (mean, components, scales), ``history_`` (per epoch: loss,
    NMI with the previous assignment, re-seeded empty clusters, cluster sizes, wall seconds;
    ACC/NMI/ARI when monitoring), ``embedding_`` (final normalised features) and ``phase_seconds_``.
    """

    can_predict = True
    can_save = True
    streams_input = True

    def _backbone_name(self, shape) -> str:
        if self.backbone != "auto":
            return self.backbone
        return "small" if max(shape[:2]) <= 32 else "resnet18"

    # ------------------------------------------------------------------ fitting
    def _fit(self, X):
        seed = 0 if self.random_state is None else int(self.random_state)
        torch.manual_seed(seed)
        rng = np.random.default_rng(seed)
        gen = torch.Generator().manual_seed(seed)
        self.device_ = resolve_device(self.device)
        X_t = as_tensor(X, self.device_)
        shape = image_shape(self.input_shape, X_t.shape[1], self.method_name)
        k = self.k or self.n_clusters
        if k > X_t.shape[0]:
            raise InputError(f"k={k} is larger than the number of samples ({X_t.shape[0]}).")
        self.network_ = DeepClusterNet(shape, self._backbone_name(shape), self.sobel, k).to(self.device_)
        net = self.network_
        natural = shape[2] == 3 or max(shape[:2]) > 32
        opt = make_optimizer("sgd", net.backbone.parameters(), self.lr, self.momentum,
                             weight_decay=self.weight_decay)
        timer = PhaseTimer()
        self.phase_seconds_ = timer.seconds
        self.history_ = {"epochs": []}
        previous = None
        for epoch in range(self.epochs):
            before = sum(timer.seconds.values())
            with timer.phase("cluster"):
                feats = self._normalised(self._features(X_t), fit=True)
                _, labels, n_split = kmeans(feats, k, n_iter=self.kmeans_iter, seed=seed + epoch,
                                            backend=self.kmeans_backend, n_redo=self.kmeans_redo)
            record = {"epoch": epoch, "empty_reseeded": int(n_split),
                      "sizes": np.bincount(labels, minlength=k).tolist(),
                      "nmi_previous": None if previous is None else float(nmi_score(previous, labels))}
            if self._monitor_labels is not None:  # recorded only; nothing reads them
                y = self._monitor_labels
                record.update(acc=accuracy(y, labels), nmi=nmi_score(y, labels), ari=ari(y, labels))
            previous = labels
            with timer.phase("train"):
                record["loss"] = self._train_epoch(X_t, labels, rng, gen, opt, natural, epoch, seed)
            record["seconds"] = sum(timer.seconds.values()) - before  # this epoch's clustering + training
            self.history_["epochs"].append(record)
            if self.verbose:
                sys.stderr.write(_epoch_summary(record, self.epochs) + "\n")
        with timer.phase("assign"):
            self.embedding_ = self._normalised(self._features(X_t), fit=True)
            self._final_clusters(self.embedding_, seed)

    def _train_epoch(self, X_t, labels, rng, gen, opt, natural, epoch, seed) -> float:
        net = self.network_
        net.reset_head()
        head_opt = make_optimizer("sgd", net.head.parameters(), self.lr, 0.0, weight_decay=self.weight_decay)
        order = torch.from_numpy(uniform_over_labels(labels, X_t.shape[0], rng))
        targets = torch.from_numpy(labels).to(self.device_)
        trainer = Trainer(len(order), self.batch_size, 0, seed=seed + epoch, order="data")
        trainer.max_steps = trainer.steps_per_epoch
        losses = []
        net.train()

        def step(pos):
            idx = order[pos]
            images = net.images(X_t[idx])
            if self.augment:
                images = augment(images, gen, natural)
            with autocast(self.device_):
                logits = net.head(net.features(images))
            loss = F.cross_entropy(logits.float(), targets[idx.to(targets.device)])
            opt.zero_grad(set_to_none=True)
            head_opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            head_opt.step()
            losses.append(loss.item())
            return {"cross_entropy": losses[-1]}

        trainer.callbacks = [ProgressBar(f"{self.method_name} epoch {epoch + 1}/{self.epochs}", self.verbose)]
        trainer.run(step)
        return float(np.mean(losses))

    @torch.no_grad()
    def _features(self, X_t) -> np.ndarray:
        net = self.network_
        net.eval()
        return map_batches(lambda xb: net.features(net.images(xb), activate=False), X_t,
                           batch_size=FEATURE_BATCH).cpu().numpy()

    def _normalised(self, feats: np.ndarray, fit: bool) -> np.ndarray:
        """PCA-whitening to ``pca_dim`` (fitted when ``fit``) and L2 normalisation of the rows.

        Components whose variance is below ``RANK_TOL`` times the largest are dropped, so the
        output may have fewer than ``pca_dim`` columns when the features are rank-deficient.
        """
        feats = feats.astype(np.float64)
        if fit:
            from sklearn.decomposition import PCA

            dim = min(pca_dimensions(self.pca_dim, feats.shape[1]), feats.shape[0] - 1)
            pca = PCA(n_components=dim, random_state=0).fit(feats)
            var = pca.explained_variance_
            # Directions without variance (dead ReLU units, rank < dim) would be scaled by
            # ~1/sqrt(0) and turn rounding noise into the dominant signal: drop them.
            keep = var > RANK_TOL * max(float(var[0]), np.finfo(np.float64).tiny)
            self.pca_ = {"mean": pca.mean_, "components": pca.components_[keep],
                         "scale": 1.0 / np.sqrt(var[keep])}
        p = self.pca_
        out = ((feats - p["mean"]) @ p["components"].T) * p["scale"]
        out /= np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)
        return out.astype(np.float32)

    def _final_clusters(self, feats: np.ndarray, seed: int) -> None:
        self.cluster_centers_, self.labels_ = initial_clusters(feats, self.n_clusters, "kmeans", self.n_init, seed)

    # --------------------------------------------------------------- prediction
    def transform(self, X):
        """The whitened, L2-normalised features of new images (the space of ``cluster_centers_``)."""
        X = self._check_predict_input(X)
        from ..data.lazy import map_row_chunks

        return map_row_chunks(lambda c: self._normalised(self._features(as_tensor(c, self._device())), fit=False), X)

    def _predict(self, X):
        feats = self._normalised(self._features(as_tensor(X, self._device())), fit=False)
        return nearest_centroid(feats, self.cluster_centers_)

    def _device(self):
        if not hasattr(self, "device_"):
            self.device_ = resolve_device(self.device)
        return self.device_

    # -------------------------------------------------------------- persistence
    def _get_state(self):
        arrays = module_arrays(self.network_)
        arrays.update({f"pca.{k}": np.asarray(v) for k, v in self.pca_.items()})
        arrays["cluster_centers_"] = self.cluster_centers_
        return {"shape": list(self.network_.shape), "backbone": self._backbone_name(self.network_.shape),
                "k": int(self.network_.head.out_features)}, arrays

    def _set_state(self, state, arrays):
        try:
            shape = tuple(int(s) for s in state["shape"])
            net = DeepClusterNet(shape, state["backbone"], self.sobel, int(state["k"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"The saved DeepCluster description is invalid ({exc}).") from None
        load_checked(net, arrays, what="DeepCluster")
        self.network_ = net.to(self._device()).eval()
        feat = net.backbone.feature_dim
        components = arrays.get("pca.components")
        if components is None or components.ndim != 2 or components.shape[1] != feat \
                or not 1 <= components.shape[0] <= feat:
            raise InputError(f"The model file's PCA components do not fit the {feat} backbone features.")
        dim = components.shape[0]
        self.pca_ = {"mean": self._require(arrays, "pca.mean", (feat,)), "components": components,
                     "scale": self._require(arrays, "pca.scale", (dim,))}
        self.cluster_centers_ = self._require(arrays, "cluster_centers_", (self.n_clusters, dim))


install_params(DeepCluster, _TABLE)

__all__ = ["DeepCluster", "DeepClusterNet", "uniform_over_labels"]
