"""The shared estimator of every deep method: validate -> seed -> device -> build network ->
pretrain -> initialise clusters -> train -> assign.

A deep method differs only in the hooks it fills: ``_train_clustering`` (its own loss and
cadences on top of :class:`~deepclust.training.loop.Trainer`), ``_soft_assign`` (its soft
assignments of embedded points) and ``_head_arrays``/``_load_head`` for saving. Parameter
tables (:data:`NETWORK_PARAMS`, :data:`PRETRAIN_PARAMS`, :data:`RUNTIME_PARAMS`) are shared
so every method spells a setting the same way.
"""

from __future__ import annotations

import numpy as np
import torch

from ..base import BaseClusterer
from ..data.lazy import map_row_chunks
from ..errors import InputError, TrainingError
from ..nn.autoencoders import WEIGHT_INITS, ConvAutoencoder, MLPAutoencoder, build_autoencoder, initialise_weights
from ..nn.losses import check_bce_range
from ..nn.state import load_checked, module_arrays
from ..params import BOOL, INTS, NONE, SEED, STR, Interval, Options, Param, positive_int
from ..runtime import PhaseTimer
from ..training.checkpoint import CheckpointStore, attach_checkpoint
from ..training.device import as_tensor, map_batches, resolve_device
from ..training.init import initial_clusters
from ..training.loop import BATCH_ORDERS, stop_at_once
from ..training.pretrain import PretrainConfig, pretrain_autoencoder

NETWORK_PARAMS = {
    "network": Param("mlp", (Options(("mlp", "conv")),), "'mlp' (fully connected) or 'conv' (DCEC's network)"),
    "hidden_dims": Param((500, 500, 2000), (INTS,), "hidden layer sizes of the MLP encoder; the decoder mirrors them"),
    "embedding_dim": Param(10, (positive_int(),), "size of the embedding z"),
    "conv_filters": Param((32, 64, 128), (INTS,), "filters of the three convolutions (network='conv')"),
    "input_shape": Param(None, (NONE, INTS), "(height, width, channels) of images for network='conv'; "
                         "the CLI fills it from image data"),
    "weight_init": Param("torch", (Options(WEIGHT_INITS),),
                         "start of the autoencoder's weights: 'torch' (PyTorch's default), 'fan_in' (DEC-keras: "
                         "uniform ±sqrt(1/fan_in), zero biases) or 'glorot' (Keras' default, Guo's DCEC: "
                         "glorot-uniform, zero biases)"),
}

PRETRAIN_PARAMS = {
    "pretrain": Param("end-to-end", (Options(("end-to-end", "stacked", "stacked-caffe", "none")),),
                      "'end-to-end' (DEC-keras/IDEC/DCEC), 'stacked' (DEC paper's greedy layer-wise "
                      "denoising pretraining, then fine-tuning), 'stacked-caffe' (the same as the DEC "
                      "authors' Caffe code runs it: no corruption of the raw data or the embedding, "
                      "N(0, 0.01) starts, biases at twice the rate, momentum ramped over 1,000 steps) "
                      "or 'none'"),
    "pretrain_epochs": Param(50, (Interval("int", 0),),
                             "epochs of end-to-end (fine-tuning) pretraining; DEC-keras uses 300 for MNIST and "
                             "Fashion-MNIST, 50 for USPS and Reuters, DCEC 200 (DCEC's default here) — 50 keeps a "
                             "70,000-image run on two CPU cores near 12 minutes"),
    "pretrain_batch_size": Param(256, (positive_int(),), "mini-batch size of pretraining (256 in the references)"),
    "pretrain_optimizer": Param("sgd", (Options(("adam", "sgd")),),
                                "optimiser of pretraining: DEC-keras uses SGD (lr 1, momentum 0.9) for MNIST, "
                                "Fashion-MNIST and Reuters; DCEC uses Adam (lr 0.001)"),
    "pretrain_lr": Param(1.0, (Interval("real", 0, low_open=True),), "learning rate of pretraining"),
    "pretrain_momentum": Param(0.9, (Interval("real", 0, 1),), "SGD momentum of pretraining"),
    "reconstruction_loss": Param("mse", (Options(("mse", "bce")),), "reconstruction loss; 'bce' for data in [0, 1]"),
    "noise": Param("none", (Options(("none", "dropout", "gaussian")),), "input corruption of a denoising autoencoder"),
    "noise_level": Param(0.2, (Interval("real", 0),), "dropout rate or Gaussian std of the corruption"),
    "sparsity": Param(0.0, (Interval("real", 0),), "weight of an L1 penalty on the embedding (sparse autoencoder)"),
    "layer_epochs": Param(10, (positive_int(),), "epochs per layer pair for pretrain='stacked' or 'stacked-caffe'"),
    "pretrain_lr_step": Param(0, (Interval("int", 0),),
                              "divide the pretraining learning rate by 10 every this many steps, restarting for "
                              "each layer pair and for fine-tuning (the DEC paper: 20,000); 0 keeps it constant"),
    "pretrain_batch_order": Param("shuffle", (Options(BATCH_ORDERS),),
                                  "order of the pretraining mini-batches: 'shuffle' (a seeded permutation every "
                                  "epoch, as Keras fits), 'data' (the data's order, the last batch of each pass "
                                  "partial) or 'cyclic' (the data's order read as a ring, every batch full, as the "
                                  "DEC authors' Caffe code reads its database)"),
}

RUNTIME_PARAMS = {
    "device": Param("auto", (STR,), "'auto' (CUDA when available), 'cpu' or 'cuda'"),
    "checkpoint_dir": Param(None, (NONE, STR), "folder for training checkpoints (resume with fit(X, resume=True))"),
    "checkpoint_every": Param(1000, (positive_int(),), "steps between checkpoints when checkpoint_dir is set"),
    "pretrain_cache": Param(None, (NONE, STR),
                            "folder of pretrained autoencoders to reuse: a fit with the same data, network, "
                            "pretraining settings and seed loads the weights instead of pretraining again, with "
                            "identical results (as DEC-keras reuses ae_weights.h5)"),
    "random_state": Param(None, (SEED,), "seed of every random choice (torch, k-means, batch order)"),
    "verbose": Param(True, (BOOL,), "show progress bars"),
}


def image_shape(input_shape, n_features: int, method: str) -> tuple[int, int, int]:
    """``(height, width, channels)`` of flat image rows: ``input_shape`` when given (checked against
    ``n_features``), else a square grey-scale image; a clear error when neither fits."""
    shape = input_shape
    if shape is None:
        side = int(round(n_features**0.5))
        if side * side != n_features:
            raise InputError(
                f"{method} needs input_shape=(height, width, channels) for {n_features} features that are "
                "not a square grayscale image (the CLI fills it from image data)."
            )
        shape = (side, side, 1)
    if int(np.prod(shape)) != n_features:
        raise InputError(f"input_shape {tuple(shape)} does not match the {n_features} features of the data.")
    return tuple(int(s) for s in shape)


def cached_training(est, cfg, X, store, resume: bool, train, enabled: bool = True) -> list[dict]:
    """Run ``train()`` for ``est.network_``, or load its result from ``est.pretrain_cache``.

    The cache is used when ``pretrain_cache`` is set, ``enabled`` is true and the original array
    ``X`` is given (for its fingerprint); see :mod:`deepclust.training.pretrain_cache`. Sets
    ``est.pretrain_cached_``, ``est.pretrain_cache_seconds_`` (how long the cached training
    took), ``est.pretrain_cache_resumed_`` (whether that training had been resumed from a
    checkpoint, so its seconds are a lower bound) and ``est.pretrain_cache_cpu_`` (the CPU that
    training ran on; ``None`` when not recorded). Returns the training history.
    """
    est.pretrain_cached_ = est.pretrain_cache_resumed_ = False
    est.pretrain_cache_cpu_ = None
    if not (est.pretrain_cache and X is not None and enabled):
        return train()
    from ..training.pretrain_cache import load_or_train

    resumed = bool(resume and store is not None and store.stages())  # nothing else is saved before it
    history, info = load_or_train(est.pretrain_cache, est.network_, cfg, X, train, resumed)
    if info["cached"]:
        est.pretrain_cached_, est.pretrain_cache_seconds_ = True, info["seconds"]
        est.pretrain_cache_resumed_ = info["resumed"]
        est.pretrain_cache_cpu_ = info["cpu"]
    return history


class AutoencoderMixin:
    """What every autoencoder-based estimator shares: seeding, building the network from the
    :data:`NETWORK_PARAMS`, pretraining it with the :data:`PRETRAIN_PARAMS`, batched
    embedding, and saving/loading its weights (``network.*`` tensors + its JSON config)."""

    def _seed(self) -> int:
        if self.random_state is None:
            return int(np.random.SeedSequence().entropy % (2**31))
        return int(self.random_state)

    def _embedding_size(self) -> int:
        """``embedding_dim``, or ``n_clusters`` where a method lets it default to that (N2D)."""
        return self.embedding_dim if self.embedding_dim is not None else self.n_clusters

    def _build_network(self, n_features: int):
        if self.network == "mlp":
            network = MLPAutoencoder(n_features, (*self.hidden_dims, self._embedding_size()))
        else:
            shape = image_shape(self.input_shape, n_features, self.method_name)
            network = ConvAutoencoder(shape, self.conv_filters, self._embedding_size())
        return initialise_weights(network, self.weight_init)

    def _pretrain_config(self, seed: int) -> PretrainConfig:
        return PretrainConfig(
            mode=self.pretrain, epochs=self.pretrain_epochs, batch_size=self.pretrain_batch_size,
            optimizer=self.pretrain_optimizer, lr=self.pretrain_lr, momentum=self.pretrain_momentum,
            loss=self.reconstruction_loss,
            noise=self.noise, noise_level=self.noise_level, sparsity=self.sparsity,
            layer_epochs=self.layer_epochs, lr_step=self.pretrain_lr_step, batch_order=self.pretrain_batch_order,
            seed=seed, progress=self.verbose,
            checkpoint_every=self.checkpoint_every,
        )

    def _checkpoints(self):
        """The checkpoint store of this fit, or ``None`` without ``checkpoint_dir``."""
        return CheckpointStore(self.checkpoint_dir) if self.checkpoint_dir else None

    def _run_clustering(self, trainer, step, objects: dict) -> None:
        """Run the clustering stage: checkpoint ``objects`` (restoring them when resuming), train
        with ``step`` unless the saved stage had finished, then record ``n_iter_``,
        ``stop_reason_`` and the histories of ``objects["history"]`` and ``objects["refresh"]``.
        """
        finished = attach_checkpoint(trainer, self._checkpoints(), "clustering", self.checkpoint_every,
                                     objects, self._resume)
        if not finished:
            trainer.run(step)
        self.n_iter_ = trainer.step
        self.stop_reason_ = trainer.stop_reason
        self.history_["clustering"] = objects["history"].records
        self.history_["refresh"] = objects["refresh"].records

    def _pretrain(self, X_t: torch.Tensor, seed: int, X=None) -> list[dict]:
        """Build ``network_`` for ``X_t`` on the training device and pretrain it.

        With ``pretrain_cache`` set (and the original array ``X`` given, for its fingerprint),
        a cached autoencoder for the same inputs is loaded instead; ``pretrain_cached_`` tells
        which happened and ``pretrain_cache_seconds_`` how long the cached pretraining took.
        A pretraining resumed from a checkpoint took longer than the seconds its own process
        measured: the cache entry then says ``"resumed": true`` and a fit that loads it sets
        ``pretrain_cache_resumed_`` (its pretraining seconds are a lower bound).
        """
        check_bce_range(self.reconstruction_loss, X, self.method_name)
        torch.manual_seed(seed)
        self.device_ = resolve_device(self.device)
        self.network_ = self._build_network(X_t.shape[1]).to(self.device_)
        cfg = self._pretrain_config(seed)
        store, resume = self._checkpoints(), getattr(self, "_resume", False)
        try:
            return cached_training(self, cfg, X, store, resume, lambda: pretrain_autoencoder(
                self.network_, X_t, cfg, store, resume), enabled=cfg.mode != "none")
        except TrainingError as exc:  # say which setting: the defaults are tuned for pixels in [0, 1]
            raise TrainingError(f"{str(exc).rstrip('.')} (pretraining: {cfg.optimizer} at pretrain_lr={cfg.lr:g}; "
                                f"try --set pretrain_lr={cfg.lr / 10:g}).") from None

    def embed(self, X_t: torch.Tensor) -> torch.Tensor:
        """Embedding of a float32 tensor, computed in batches without gradients."""
        self.network_.eval()
        return map_batches(self.network_.encode, X_t)

    def _device(self) -> torch.device:
        if not hasattr(self, "device_"):
            self.device_ = resolve_device(self.device)
        return self.device_

    def _network_state(self) -> tuple[dict, dict]:
        return {"network": self.network_.config()}, module_arrays(self.network_)

    def _load_network(self, state: dict, arrays: dict) -> None:
        try:
            self.network_ = build_autoencoder(state["network"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"The saved network description is invalid ({exc}).") from None
        load_checked(self.network_, arrays)
        self.network_.to(self._device()).eval()


class DeepClusterer(AutoencoderMixin, BaseClusterer):
    """Base of the deep methods (see the module docstring for the hooks).

    Fitted attributes: ``labels_`` (argmax of the method's own soft assignments),
    ``proba_``, ``cluster_centers_`` (in the embedding), ``embedding_`` (the training data's
    final embedding), ``network_`` (the autoencoder),
    ``history_`` (``{"pretrain": [...], "clustering": [...], "refresh": [...]}``),
    ``phase_seconds_`` and ``stop_reason_``.
    """

    can_predict = True
    can_save = True
    streams_input = True

    # ------------------------------------------------------------------ fitting
    def _fit(self, X):
        seed = self._seed()
        timer = PhaseTimer()
        self.phase_seconds_ = timer.seconds
        self.history_ = {"pretrain": [], "clustering": [], "refresh": []}
        X_t = as_tensor(X, resolve_device(self.device))
        with timer.phase("pretrain"):
            self.history_["pretrain"] = self._pretrain(X_t, seed, X)
        with timer.phase("init"), stop_at_once("the clusters' start"):
            centers, init_labels = self._initialise(self.embed(X_t).cpu().numpy(), seed)
        with timer.phase("clustering"):
            self._train_clustering(X_t, centers, init_labels, seed)
        with timer.phase("assign"), stop_at_once("the final assignment"):
            q = self._soft_assign(X_t)
            self.embedding_ = self.embed(X_t).cpu().numpy()
        self.proba_ = q.cpu().numpy()
        self.labels_ = self.proba_.argmax(axis=1).astype(np.int64)

    def _initialise(self, Z: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """Initial ``(centers, labels)`` on the pretrained embedding (k-means or GMM, see ``init``)."""
        return initial_clusters(Z, self.n_clusters, self.init, self.n_init, seed)

    def _train_clustering(self, X_t, centers, init_labels, seed):  # pragma: no cover - abstract
        raise NotImplementedError

    def _soft_assign(self, X_t: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def transform(self, X):
        """The learned embedding z of new data (n_samples x embedding_dim)."""
        X = self._check_predict_input(X)
        return map_row_chunks(lambda chunk: self.embed(as_tensor(chunk, self._device())).cpu().numpy(), X)

    def _predict(self, X):
        return self._predict_proba(X).argmax(axis=1)

    def _predict_proba(self, X):
        return self._soft_assign(as_tensor(X, self._device())).cpu().numpy()

    # -------------------------------------------------------------- persistence
    def _get_state(self):
        state, arrays = self._network_state()
        arrays.update(self._head_arrays())
        return {**state, "stop_reason_": getattr(self, "stop_reason_", None)}, arrays

    def _set_state(self, state, arrays):
        self._load_network(state, arrays)
        self.stop_reason_ = state.get("stop_reason_")
        self._load_head({k: v for k, v in arrays.items() if not k.startswith("network.")})

    def _head_arrays(self) -> dict:
        return {"cluster_centers_": np.asarray(self.cluster_centers_, dtype=np.float32)}

    def _load_head(self, arrays: dict) -> None:
        self.cluster_centers_ = self._require(arrays, "cluster_centers_", (self.n_clusters, self.embedding_dim))
