"""Seed 000's convolutional variational autoencoder, generalised to any image size.

Encoder (as seed 000 lists it, Keras defaults: 3x3 kernels, stride 1, 'valid' padding):
five convolutions with C, 32, 64, 64, 64 filters (C = input channels; the seed's first layer
has 1 filter for grayscale), each ReLU then batch-norm; flatten; two dense heads for the mean
and the log-variance of a ``latent_dim``-d Gaussian (2 in the seed).

Decoder: dense to 64 x ceil(H/4) x ceil(W/4) (3136 = 7x7x64 for 28x28), ReLU; transposed
convolutions 64 (stride 1), 64 (stride 2), 64 (stride 2), each ReLU then batch-norm, and C
(stride 1) with a sigmoid, all 3x3 'same'; the output is cropped to H x W when H or W is not
a multiple of 4.

Inputs and outputs are flat vectors in H, W, C order (as :class:`deepclust.data.Dataset`
stores images).
"""

from __future__ import annotations

import math

import torch
from torch import nn


class ConvVAE(nn.Module):
    """The convolutional VAE of seed 000 for images of shape ``(H, W, C)``."""

    def __init__(self, input_shape, latent_dim: int = 2, filters=(32, 64, 64, 64)):
        super().__init__()
        h, w, c = (int(s) for s in input_shape)
        if h < 11 or w < 11:
            raise ValueError(f"images of {h}x{w} are too small for five 3x3 convolutions")
        self.input_shape, self.latent_dim, self.filters = (h, w, c), int(latent_dim), tuple(int(f) for f in filters)
        chans = (c, c, *self.filters)
        self.encoder = nn.Sequential(*[m for i in range(len(chans) - 1) for m in (
            nn.Conv2d(chans[i], chans[i + 1], 3), nn.ReLU(), nn.BatchNorm2d(chans[i + 1]))])
        flat = self.filters[-1] * (h - 2 * (len(chans) - 1)) * (w - 2 * (len(chans) - 1))
        self.mu = nn.Linear(flat, self.latent_dim)
        self.log_var = nn.Linear(flat, self.latent_dim)
        self._seed_shape = (64, math.ceil(h / 4), math.ceil(w / 4))
        self.expand = nn.Linear(self.latent_dim, math.prod(self._seed_shape))

        def up(cin, cout, stride):
            return nn.ConvTranspose2d(cin, cout, 3, stride=stride, padding=1, output_padding=stride - 1)

        self.decoder = nn.Sequential(
            up(64, 64, 1), nn.ReLU(), nn.BatchNorm2d(64),
            up(64, 64, 2), nn.ReLU(), nn.BatchNorm2d(64),
            up(64, 64, 2), nn.ReLU(), nn.BatchNorm2d(64),
            up(64, c, 1),
        )

    def encode_stats(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(mean, log_variance)`` of q(z | x) for a batch of flat images."""
        h, w, c = self.input_shape
        features = self.encoder(x.reshape(-1, h, w, c).permute(0, 3, 1, 2)).flatten(1)
        return self.mu(features), self.log_var(features)

    def decode_logits(self, z: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid reconstruction (flat, H, W, C order); ``torch.sigmoid`` gives the image."""
        h, w, _ = self.input_shape
        out = self.decoder(torch.relu(self.expand(z)).reshape(-1, *self._seed_shape))
        return out[:, :, :h, :w].permute(0, 2, 3, 1).flatten(1)

    def config(self) -> dict:
        """JSON description from which the network is rebuilt when a model is loaded."""
        return {"kind": "conv-vae", "input_shape": list(self.input_shape), "latent_dim": self.latent_dim,
                "filters": list(self.filters)}


def vae_loss_terms(x: torch.Tensor, logits: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor,
                   kind: str = "mse") -> dict[str, torch.Tensor]:
    """Seed 000's loss: reconstruction summed over pixels plus KL(q(z|x) || N(0, I)), batch means.

    ``kind="mse"`` compares ``sigmoid(logits)`` with ``x`` (squared error summed over pixels);
    ``"bce"`` is binary cross-entropy on the logits, summed. The KL term is
    0.5 * sum_j (sigma²_j - log sigma²_j - 1 + mu_j²), the formula in seed 000.
    """
    if kind == "mse":
        rec = ((torch.sigmoid(logits) - x) ** 2).sum(1)
    elif kind == "bce":
        rec = nn.functional.binary_cross_entropy_with_logits(logits, x, reduction="none").sum(1)
    else:
        raise ValueError(f"unknown reconstruction loss {kind!r}")
    kl = 0.5 * (log_var.exp() - log_var - 1.0 + mu**2).sum(1)
    return {"reconstruction": rec.mean(), "kl": kl.mean()}
