"""Losses and soft assignments as pure functions, each checked against hand computations.

References: J. Xie, R. Girshick, A. Farhadi, "Unsupervised Deep Embedding for Clustering
Analysis", ICML 2016 (DEC: Student-t soft assignment, target distribution, KL loss);
X. Guo, L. Gao, X. Liu, J. Yin, "Improved Deep Embedded Clustering with Local Structure
Preservation", IJCAI 2017 (IDEC: reconstruction + gamma * KL).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def squared_distances(z: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Squared Euclidean distances between rows of ``z`` (n, d) and ``centers`` (k, d)."""
    return ((z.unsqueeze(1) - centers.unsqueeze(0)) ** 2).sum(-1)


def student_t_assignment(z: torch.Tensor, centers: torch.Tensor, alpha: float = 1.0) -> torch.Tensor:
    """DEC's soft assignment (eq. 1): q_ij ∝ (1 + ||z_i - mu_j||² / alpha)^(-(alpha + 1) / 2).

    Rows sum to 1. ``alpha`` is the Student-t degrees of freedom (1 in the paper).
    """
    kernel = (1.0 + squared_distances(z, centers) / alpha).pow(-(alpha + 1.0) / 2.0)
    return kernel / kernel.sum(dim=1, keepdim=True)


def target_distribution(q: torch.Tensor) -> torch.Tensor:
    """DEC's auxiliary target (eq. 3): p_ij = (q_ij² / f_j) / sum_j' (q_ij'² / f_j').

    ``f_j = sum_i q_ij`` are soft cluster frequencies, so ``q`` must cover the WHOLE dataset
    (DEC refreshes p over all points every ``update_interval`` steps, not per mini-batch).
    """
    weight = q.pow(2) / q.sum(dim=0, keepdim=True)
    return weight / weight.sum(dim=1, keepdim=True)


def kl_divergence(p: torch.Tensor, q: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """KL(P || Q) = sum_ij p_ij log(p_ij / q_ij), averaged over the rows (samples) given.

    Equals Keras' ``kld`` loss used by the reference DEC/IDEC implementations; the gradient
    with respect to ``z`` and the centres is eq. 4-5 of the DEC paper (divided by n).
    """
    p = p.clamp_min(eps)
    return (p * (p.log() - q.clamp_min(eps).log())).sum(dim=1).mean()


def reconstruction_loss(x_hat: torch.Tensor, x: torch.Tensor, kind: str = "mse") -> torch.Tensor:
    """Mean squared error, or binary cross-entropy on logits (for inputs in [0, 1])."""
    if kind == "mse":
        return F.mse_loss(x_hat, x)
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(x_hat, x)
    raise ValueError(f"unknown reconstruction loss {kind!r}")
