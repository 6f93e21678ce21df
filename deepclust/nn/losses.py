"""Losses and soft assignments as pure functions, each checked against hand computations.

References: J. Xie, R. Girshick, A. Farhadi, "Unsupervised Deep Embedding for Clustering
Analysis", ICML 2016 (DEC: Student-t soft assignment, target distribution, KL loss);
X. Guo, L. Gao, X. Liu, J. Yin, "Improved Deep Embedded Clustering with Local Structure
Preservation", IJCAI 2017 (IDEC: reconstruction + gamma * KL); Z. Jiang, Y. Zheng, H. Tan,
B. Tang, H. Zhou, "Variational Deep Embedding: An Unsupervised and Generative Approach to
Clustering", IJCAI 2017 (VaDE: the ELBO with a Gaussian-mixture prior).
"""

from __future__ import annotations

import math

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


def check_bce_range(kind: str, X, method: str) -> None:
    """Refuse binary cross-entropy (``kind="bce"``) on data outside [0, 1], where it has no
    minimum and training runs off to NaN or nonsense; ``X`` may be kept on disk (read in chunks)."""
    if kind != "bce" or X is None:
        return
    import numpy as np

    from ..data.lazy import map_row_chunks

    ends = map_row_chunks(lambda chunk: [[np.min(chunk), np.max(chunk)]], X)
    lo, hi = float(np.min(ends[:, 0])), float(np.max(ends[:, 1]))
    if lo < 0 or hi > 1:
        from ..errors import InputError

        raise InputError(
            f"{method} uses reconstruction_loss='bce', which needs data in [0, 1] (images), but this data spans "
            f"[{lo:.3g}, {hi:.3g}]; set reconstruction_loss=mse (--set reconstruction_loss=mse)."
        )


def gaussian_log_likelihoods(z: torch.Tensor, means: torch.Tensor, log_vars: torch.Tensor) -> torch.Tensor:
    """log N(z_i | mean_c, diag(exp(log_var_c))) for every row i and component c: shape (n, k)."""
    diff2 = (z.unsqueeze(1) - means.unsqueeze(0)) ** 2  # (n, k, d)
    return -0.5 * (math.log(2 * math.pi) + log_vars.unsqueeze(0) + diff2 / log_vars.exp().unsqueeze(0)).sum(-1)


def vade_posterior(z: torch.Tensor, prior_logits: torch.Tensor, means: torch.Tensor,
                   log_vars: torch.Tensor) -> torch.Tensor:
    """VaDE's gamma = q(c | x) ≈ p(c | z) ∝ pi_c N(z | mu_c, sigma²_c) (eq. 16 of Jiang et al. 2017)."""
    return torch.softmax(torch.log_softmax(prior_logits, 0) + gaussian_log_likelihoods(z, means, log_vars), dim=1)


def vade_loss_terms(x: torch.Tensor, x_logits: torch.Tensor, mu: torch.Tensor, log_var: torch.Tensor,
                    z: torch.Tensor, prior_logits: torch.Tensor, means: torch.Tensor, log_vars: torch.Tensor,
                    kind: str = "bce") -> dict[str, torch.Tensor]:
    """The negative ELBO of VaDE (Jiang et al. 2017, eq. 12 with one sample of z), as named terms.

    Every term is a per-sample sum averaged over the batch; their total is -ELBO up to the
    constant (d/2) log 2π of the encoder's entropy:

    * ``reconstruction`` = -log p(x | z): BCE on logits summed over features (``kind="bce"``,
      data in [0, 1]) or half the summed squared error (``"mse"``, a unit-variance Gaussian);
    * ``prior`` = E_q(c|x)[ -E_q(z|x) log p(z | c) ]
      = sum_c gamma_c 0.5 sum_j (log 2π + log σ²_cj + σ̃²_j / σ²_cj + (μ̃_j - μ_cj)² / σ²_cj);
    * ``entropy`` = -0.5 sum_j (1 + log σ̃²_j), minus the entropy of q(z | x);
    * ``cluster`` = KL(q(c | x) || p(c)) = sum_c gamma_c (log gamma_c - log pi_c).

    gamma is computed from the sampled ``z`` as in the reference code.
    """
    if kind == "bce":
        rec = F.binary_cross_entropy_with_logits(x_logits, x, reduction="none").sum(1)
    elif kind == "mse":
        rec = 0.5 * ((x_logits - x) ** 2).sum(1)
    else:
        raise ValueError(f"unknown reconstruction loss {kind!r}")
    log_pi = torch.log_softmax(prior_logits, 0)
    gamma = torch.softmax(log_pi + gaussian_log_likelihoods(z, means, log_vars), dim=1)  # (n, k)
    var_c = log_vars.exp()
    per_c = 0.5 * (math.log(2 * math.pi) + log_vars.unsqueeze(0) + log_var.exp().unsqueeze(1) / var_c.unsqueeze(0)
                   + (mu.unsqueeze(1) - means.unsqueeze(0)) ** 2 / var_c.unsqueeze(0)).sum(-1)  # (n, k)
    prior = (gamma * per_c).sum(1)
    entropy = -0.5 * (1.0 + log_var).sum(1)
    cluster = (gamma * (torch.log(gamma.clamp_min(1e-10)) - log_pi.unsqueeze(0))).sum(1)
    return {"reconstruction": rec.mean(), "prior": prior.mean(), "entropy": entropy.mean(),
            "cluster": cluster.mean()}
