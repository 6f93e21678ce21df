"""Seed 000's pipeline: a convolutional VAE, then k-means on its latent codes (``convvae+kmeans``).

The seed trains the network of :class:`~deepclust.nn.conv_vae.ConvVAE` for 20 epochs at
batch 32 and runs k-means with k = 10 on the *sampled* latent z (mean + noise), comparing ARI
and Fowlkes-Mallows with k-means on raw pixels. It does not print its optimiser or loss
scale; its layer names ("encoder_mu", "encoder_log_variance", "decoder_conv_tran_layer_N"),
20 epochs and batch 32 are those of the Keras VAE tutorial it adapts (A. Gad, Paperspace,
2020), which trains with Adam at lr 0.0005 on 1000 x the per-pixel mean squared error plus
the KL term; its loss of about 32 per image on Fashion-MNIST fits that. Those are the
defaults here (``reconstruction_loss="sse"`` sums the squared error instead, ``"bce"`` is
Keras' VAE example). Layers start as Keras' do (glorot-uniform, ``weight_init``).

``log_var_limit=L`` bounds the log-variance head to (-L, L) (see the network's docstring):
with the seed's settings Adam's steps on the 20,736-input head can overshoot until
exp(log-variance) overflows; the benchmark notes record how often and what the bound changes.
``use_mean=True`` clusters the mean of q(z|x) rather than a sample, and ``latent_dim`` sets
the latent size (2 in the seed).

Samples are drawn from a generator seeded by ``random_state``, so ``transform`` (and
``predict`` of ``convvae+...``) is repeatable.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch

from ..errors import DeadLayerWarning, InputError, TrainingError
from ..nn.autoencoders import WEIGHT_INITS
from ..nn.conv_vae import ConvVAE, vae_loss_terms
from ..nn.losses import check_bce_range
from ..nn.state import load_checked, module_arrays
from ..params import BOOL, INTS, NONE, STR, Interval, Options, Param, install_params, positive_int
from ..registry import register_reducer
from ..training.device import as_tensor, map_batches, resolve_device
from ..training.pretrain import PretrainConfig, train_epochs
from .deep import RUNTIME_PARAMS, cached_training, image_shape
from .reducers import BaseReducer

_TABLE = {
    "latent_dim": Param(2, (positive_int(),), "size of the latent z (2 in seed 000)"),
    "filters": Param((32, 64, 64, 64), (INTS,), "filters of encoder convolutions 2-5 (the first keeps the channels)"),
    "epochs": Param(20, (positive_int(),), "training epochs (20 in seed 000)"),
    "batch_size": Param(32, (positive_int(),), "mini-batch size (32 in seed 000)"),
    "lr": Param(0.0005, (Interval("real", 0, low_open=True),), "Adam learning rate (0.0005 in the seed's tutorial)"),
    "reconstruction_loss": Param("mse", (Options(("mse", "sse", "bce")),),
                                 "1000 x per-pixel mean squared error (the seed's tutorial), summed squared error, "
                                 "or summed binary cross-entropy"),
    "weight_init": Param("glorot", (Options(WEIGHT_INITS),), "initial weights: Keras' glorot-uniform (the seed's "
                                                             "framework), 'fan_in', or PyTorch's default ('torch')"),
    "log_var_limit": Param(None, (NONE, Interval("real", 0, low_open=True)),
                           "bound L of the log-variance, L * tanh(raw / L); None keeps the seed's unbounded head"),
    "use_mean": Param(False, (BOOL,), "cluster the mean of q(z|x) instead of a sample (the seed samples)"),
    "input_shape": Param(None, (NONE, INTS), "(height, width, channels); the CLI fills it from image data"),
    **RUNTIME_PARAMS,
    "pretrain_cache": Param(None, (NONE, STR),
                            "folder of trained conv-VAEs to reuse: a fit with the same data, network, training "
                            "settings and seed loads the weights instead of training again, with identical results "
                            "(use_mean only changes which codes are clustered, so both settings share an entry)"),
}


@register_reducer("convvae", "seed 000's convolutional VAE (2-d latent, sampled z)")
class ConvVAEReducer(BaseReducer):
    """Embed images with seed 000's convolutional VAE (sampled z by default); see the module docstring."""

    can_transform = True
    can_save = True
    streams_input = True

    def _fit_transform(self, X):
        seed = 0 if self.random_state is None else int(self.random_state)
        check_bce_range(self.reconstruction_loss, X, self.method_name)
        torch.manual_seed(seed)
        self.device_ = resolve_device(self.device)
        X_t = as_tensor(X, self.device_)
        shape = image_shape(self.input_shape, X_t.shape[1], self.method_name)
        self.network_ = ConvVAE(shape, self.latent_dim, self.filters, weight_init=self.weight_init,
                                log_var_limit=self.log_var_limit).to(self.device_)
        if self.network_.first_layer_is_dead(X_t[:1024]):
            warnings.warn(f"{self.method_name}: with random_state={seed} the first convolution's ReLU is zero "
                          "for every pixel of these images, so the encoder never sees them and the codes will be "
                          "noise (posterior collapse); choose another random_state.", DeadLayerWarning, stacklevel=2)
        cfg = PretrainConfig(epochs=self.epochs, batch_size=self.batch_size, optimizer="adam", lr=self.lr,
                             loss=self.reconstruction_loss, seed=seed, progress=self.verbose,
                             checkpoint_every=self.checkpoint_every)

        def loss_fn(xb):
            mu, log_var = self.network_.encode_stats(xb)
            z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
            return vae_loss_terms(xb, self.network_.decode_logits(z), mu, log_var, self.reconstruction_loss)

        store = None
        if self.checkpoint_dir:
            from ..training.checkpoint import CheckpointStore

            store = CheckpointStore(self.checkpoint_dir)
        self.network_.train()
        try:
            history = cached_training(self, cfg, X, store, self._resume, lambda: train_epochs(
                X_t, cfg, self.network_.parameters(), self.epochs, "pretrain", loss_fn, self.network_, store,
                self._resume))
        except TrainingError as exc:
            if self.log_var_limit is not None:
                raise
            raise TrainingError(f"{exc} With the seed's unbounded log-variance head, log_var_limit=10 "
                                "keeps exp(log-variance) finite.") from None
        self.history_ = {"pretrain": history}
        return self._codes(X_t)

    @torch.no_grad()
    def _codes(self, X_t) -> np.ndarray:
        self.network_.eval()
        mu, log_var = map_batches(lambda xb: torch.cat(self.network_.encode_stats(xb), 1), X_t).chunk(2, dim=1)
        if self.use_mean:
            return mu.cpu().numpy()
        g = torch.Generator(device="cpu").manual_seed(0 if self.random_state is None else int(self.random_state))
        noise = torch.randn(mu.shape, generator=g).to(mu.device)
        return (mu + noise * (0.5 * log_var).exp()).cpu().numpy()

    def _transform(self, X):
        return self._codes(as_tensor(X, self._device()))

    def _device(self):
        if not hasattr(self, "device_"):
            self.device_ = resolve_device(self.device)
        return self.device_

    def get_state(self):
        """``(JSON state, arrays)`` of the trained network."""
        return {"network": self.network_.config()}, module_arrays(self.network_)

    def set_state(self, state, arrays, n_features):
        """Rebuild the trained network from :meth:`get_state`'s output, checking every tensor's shape."""
        cfg = state.get("network", {})
        try:
            self.network_ = ConvVAE.from_config(cfg)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"The saved conv-VAE description is invalid ({exc}).") from None
        load_checked(self.network_, arrays, what="conv-VAE")
        self.network_.to(self._device()).eval()


install_params(ConvVAEReducer, _TABLE)
