"""Seed 000's convolutional variational autoencoder, generalised to any image size.

Encoder (as seed 000 lists it, Keras defaults: 3x3 kernels, stride 1, 'valid' padding):
five convolutions with C, 32, 64, 64, 64 filters (C = input channels; the seed's first layer
has 1 filter for grayscale), each ReLU then batch-norm; flatten; two dense heads for the mean
and the log-variance of a ``latent_dim``-d Gaussian (2 in the seed).

Decoder: dense (linear) to 64 x ceil(H/4) x ceil(W/4) (3136 = 7x7x64 for 28x28); transposed
convolutions 64 (stride 1), 64 (stride 2), 64 (stride 2), each ReLU then batch-norm, and C
(stride 1) with a sigmoid, all 3x3 'same'; the output is cropped to H x W when H or W is not
a multiple of 4.

The seed built it in Keras, so the layers start as Keras' do (``weight_init="glorot"``:
glorot-uniform kernels, zero biases) and batch-norm uses Keras' epsilon 1e-3 and moving-average
momentum 0.99 (PyTorch's ``momentum=0.01``). ``log_var_limit`` (off by default) squashes the
log-variance head into (-L, L) with ``L * tanh(raw / L)``: a reparametrisation that keeps
exp(log-variance) finite when Adam's coherent steps on the 20,736-input head overshoot.

Inputs and outputs are flat vectors in H, W, C order (as :class:`deepclust.data.Dataset`
stores images).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from .autoencoders import initialise_weights

KERAS_BATCHNORM = {"eps": 1e-3, "momentum": 0.01}  # Keras' BatchNormalization(epsilon=1e-3, momentum=0.99)
TORCH_BATCHNORM = {"eps": 1e-5, "momentum": 0.1}  # what models saved before the Keras defaults used


class ConvVAE(nn.Module):
    """The convolutional VAE of seed 000 for images of shape ``(H, W, C)``."""

    def __init__(self, input_shape, latent_dim: int = 2, filters=(32, 64, 64, 64), weight_init: str = "glorot",
                 log_var_limit: float | None = None, batchnorm: str = "keras", decoder_dense_relu: bool = False):
        super().__init__()
        h, w, c = (int(s) for s in input_shape)
        if h < 11 or w < 11:
            raise ValueError(f"images of {h}x{w} are too small for five 3x3 convolutions")
        if log_var_limit is not None and not log_var_limit > 0:
            raise ValueError(f"log_var_limit must be positive, got {log_var_limit}")
        self.input_shape, self.latent_dim, self.filters = (h, w, c), int(latent_dim), tuple(int(f) for f in filters)
        self.log_var_limit = None if log_var_limit is None else float(log_var_limit)
        self.batchnorm, self.decoder_dense_relu = batchnorm, bool(decoder_dense_relu)
        bn_options = {"keras": KERAS_BATCHNORM, "torch": TORCH_BATCHNORM}[batchnorm]

        def norm(channels):
            return nn.BatchNorm2d(channels, **bn_options)

        chans = (c, c, *self.filters)
        self.encoder = nn.Sequential(*[m for i in range(len(chans) - 1) for m in (
            nn.Conv2d(chans[i], chans[i + 1], 3), nn.ReLU(), norm(chans[i + 1]))])
        flat = self.filters[-1] * (h - 2 * (len(chans) - 1)) * (w - 2 * (len(chans) - 1))
        self.mu = nn.Linear(flat, self.latent_dim)
        self.log_var = nn.Linear(flat, self.latent_dim)
        self._seed_shape = (64, math.ceil(h / 4), math.ceil(w / 4))
        self.expand = nn.Linear(self.latent_dim, math.prod(self._seed_shape))

        def up(cin, cout, stride):
            return nn.ConvTranspose2d(cin, cout, 3, stride=stride, padding=1, output_padding=stride - 1)

        self.decoder = nn.Sequential(
            up(64, 64, 1), nn.ReLU(), norm(64),
            up(64, 64, 2), nn.ReLU(), norm(64),
            up(64, 64, 2), nn.ReLU(), norm(64),
            up(64, c, 1),
        )
        initialise_weights(self, weight_init)

    def encode_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean, log_variance)`` of q(z | x) for a batch of flat images."""
        features = self.encoder(self._images(x)).flatten(1)
        log_var = self.log_var(features)
        if self.log_var_limit is not None:
            log_var = self.log_var_limit * torch.tanh(log_var / self.log_var_limit)
        return self.mu(features), log_var

    @torch.no_grad()
    def first_layer_is_dead(self, x: torch.Tensor) -> bool:
        """True when the first convolution's ReLU is zero on every pixel of the flat images ``x``.

        The seed's first layer is one 3x3 filter per input channel; when its weights all draw
        negative with a zero bias (1 in 512 for one channel) no input and no gradient ever reach
        the rest of the encoder, and the posterior collapses to the prior.
        """
        return not bool((self.encoder[1](self.encoder[0](self._images(x))) > 0).any())

    def _images(self, x: torch.Tensor) -> torch.Tensor:
        """Flat (H, W, C)-ordered images as the (N, C, H, W) batch the convolutions take."""
        h, w, c = self.input_shape
        return x.reshape(-1, h, w, c).permute(0, 3, 1, 2)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid reconstruction (flat, H, W, C order); ``torch.sigmoid`` gives the image."""
        h, w, _ = self.input_shape
        seed = self.expand(z)
        out = self.decoder((torch.relu(seed) if self.decoder_dense_relu else seed).reshape(-1, *self._seed_shape))
        return out[:, :, :h, :w].permute(0, 2, 3, 1).flatten(1)

    def config(self) -> dict:
        """JSON description from which the network is rebuilt when a model is loaded."""
        return {"kind": "conv-vae", "input_shape": list(self.input_shape), "latent_dim": self.latent_dim,
                "filters": list(self.filters), "weight_init": self.weight_init, "log_var_limit": self.log_var_limit,
                "batchnorm": self.batchnorm, "decoder_dense_relu": self.decoder_dense_relu}

    @classmethod
    def from_config(cls, cfg: dict) -> ConvVAE:
        """Rebuild the (untrained) network that :meth:`config` describes.

        A description without the newer keys is a model saved before them: PyTorch's
        batch-norm defaults and a ReLU after the decoder's dense layer, as it was then.
        """
        network = cls(cfg["input_shape"], cfg["latent_dim"], cfg["filters"], weight_init="torch",
                      log_var_limit=cfg.get("log_var_limit"), batchnorm=cfg.get("batchnorm", "torch"),
                      decoder_dense_relu=cfg.get("decoder_dense_relu", True))
        network.weight_init = cfg.get("weight_init", "torch")  # the trained weights are loaded next
        return network


MSE_FACTOR = 1000.0  # the Keras tutorial seed 000 follows scales the per-pixel mean squared error by 1000


def vae_loss_terms(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor,
                   kind: str = "mse") -> dict[str, torch.Tensor]:
    """Seed 000's loss: a reconstruction term plus KL(q(z|x) || N(0, I)), batch means.

    ``kind="mse"`` is 1000 x the squared error of ``sigmoid(logits)`` against ``x`` averaged
    over pixels (the loss of the Keras VAE tutorial whose layer names, epochs and batch size
    seed 000 keeps); ``"sse"`` sums the squared error over pixels instead; ``"bce"`` is binary
    cross-entropy on the logits, summed over pixels (Keras' VAE example). The KL term is
    0.5 * sum_j (sigma²_j - log sigma²_j - 1 + mu_j²), the formula in seed 000.
    """
    if kind == "mse":
        rec = MSE_FACTOR * ((torch.sigmoid(logits) - x) ** 2).mean(1)
    elif kind == "sse":
        rec = ((torch.sigmoid(logits) - x) ** 2).sum(1)
    elif kind == "bce":
        rec = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    else:
        raise ValueError(f"unknown reconstruction loss {kind!r}")
    kl = 0.5 * (log_var.exp() - log_var - 1.0 + mu**2).sum(1)
    return {"reconstruction": rec.mean(), "kl": kl.mean()}
