"""VaDE — Z. Jiang, Y. Zheng, H. Tan, B. Tang, H. Zhou, "Variational Deep Embedding: An
Unsupervised and Generative Approach to Clustering", IJCAI 2017.

A variational autoencoder whose prior on the 10-d latent z is a Gaussian mixture
p(z) = sum_c pi_c N(z | mu_c, diag(sigma²_c)) with learnable weights, means and variances.

* Network: the shared MLP encoder d-500-500-2000 with two heads, the mean (the
  autoencoder's embedding layer) and the log-variance of q(z | x); the mirrored decoder
  gives Bernoulli logits (BCE, data in [0, 1]) or Gaussian means (MSE).
* Pretraining: the d-500-500-2000-10 autoencoder trained end to end on the BCE for 20 epochs
  with Adam (lr 0.001, batch 128), as the PyTorch re-implementations whose re-runs are the
  published Fashion-MNIST figures (mori97/VaDE). The paper starts from DEC's stacked
  autoencoder; DEC-keras' SGD recipe (``pretrain_optimizer="sgd", pretrain_lr=1,
  pretrain_epochs=50, pretrain_batch_size=256``, the default until 2026-12-06) measured
  .505 / .578 ACC / NMI on Fashion-MNIST against this recipe's .572-.582 / .627-.632 over
  3 seeds, with a seed's smallest cluster down to 526 images (benchmarks/README.md).
* Initialisation (as the reference code): the pretrained autoencoder gives the encoder,
  the mean head and the decoder; a diagonal GMM fitted on the embedding gives the prior's
  means and variances (``init_gmm``: how its EM starts); the prior weights start uniform.
  The log-variance head is new; by default (``init_log_var="small"``, not the reference's
  random layer) it starts at zero weights and a variance 10x below the prior components'.
* Training: the negative ELBO (:func:`~deepclust.nn.losses.vade_loss_terms`), Adam
  (lr 0.002, epsilon 1e-4) for the network and for the prior, batch 100, both learning
  rates multiplied by 0.9 every 10 epochs down to 0.0002 (the reference MNIST schedule).
* ``predict_proba`` is the posterior q(c | x) at z = the mean of q(z | x) (deterministic;
  the reference code samples z), ``labels_`` its argmax.

Two deliberate departures from the Theano reference, both for a valid model: the prior
weights are a softmax of learnable logits (the reference updates raw weights, which the
-log pi term can push without bound), and the prior variances are learned as logarithms
(the reference's raw variances can turn negative).

``prior_weights="uniform"`` (an option, not the default) keeps pi at 1/K. The reference's
raw weights do not follow the clusters' shares: their gradient, -mean(gamma_c) / theta_c, is
negative for every component, so Adam's normalised steps raise every theta_c by about the
learning rate each step, and their ratios, the only thing the posterior sees, drift towards
1. Our softmax weights instead converge to the clusters' shares, which makes a small cluster
less likely still; fixing pi at 1/K is the nearer of the two valid models to what the
reference does.
"""

from __future__ import annotations

import numpy as np
import torch

from ..errors import InputError
from ..nn.losses import vade_loss_terms, vade_posterior
from ..nn.state import load_checked, module_arrays
from ..params import Interval, Options, Param, install_params, positive_int, with_defaults
from ..registry import register
from ..training.callbacks import LossHistory, ProgressBar, StepDecay, TargetRefresh
from ..training.device import autocast, map_batches
from ..training.loop import Trainer
from ..training.optim import make_optimizer
from .deep import NETWORK_PARAMS, PRETRAIN_PARAMS, RUNTIME_PARAMS, DeepClusterer

VADE_PARAMS = {
    "n_clusters": Param(10, (positive_int(),), "number of mixture components (clusters)"),
    "epochs": Param(50, (positive_int(),), "training epochs of the ELBO (the reference runs 300-500 on MNIST)"),
    "batch_size": Param(100, (positive_int(),), "mini-batch size (100 in the reference)"),
    "lr": Param(0.002, (Interval("real", 0, low_open=True),), "initial Adam learning rate (network and prior)"),
    "lr_decay": Param(0.9, (Interval("real", 0, 1, low_open=True),), "learning-rate factor every decay_every epochs"),
    "decay_every": Param(10, (positive_int(),), "epochs between learning-rate decays"),
    "min_lr": Param(0.0002, (Interval("real", 0),), "floor of the decayed learning rate"),
    "init_covariance": Param("diag", (Options(("diag",)),), "covariance of the GMM that initialises the prior"),
    "init_gmm": Param("sklearn", (Options(("sklearn", "reference")),),
                      "start of that GMM's EM: 'sklearn' (today's GaussianMixture: one k-means run) or "
                      "'reference' (the reference code's sklearn 0.17 GMM: k-means with 10 restarts for the "
                      "means, the data's variance for every component, uniform weights, covariance floor 1e-3)"),
    "prior_weights": Param("learned", (Options(("learned", "uniform")),),
                           "'learned': the prior weights pi are trained (a softmax of logits, so pi follows the "
                           "clusters' shares); 'uniform': pi stays 1/K, which is where the reference's raw, "
                           "unnormalised weights drift under Adam (an option; see the module docstring)"),
    "init_log_var": Param("small", (Options(("small", "default")),),
                          "'small': the log-variance head starts at a variance 10x below the prior components' "
                          "(avoids the early collapse seen with 'default', the reference's random layer)"),
}

_TABLE = {**VADE_PARAMS, **NETWORK_PARAMS, **PRETRAIN_PARAMS, **RUNTIME_PARAMS}
# pretraining as the PyTorch re-implementations that published re-runs (mori97/VaDE's pretrain.py):
# Adam lr 0.001, batch 128, 20 epochs; pretrain_optimizer=sgd pretrain_lr=1 pretrain_epochs=50
# pretrain_batch_size=256 gives DEC-keras' recipe, the default until 2026-12-06 (benchmarks/README.md)
_TABLE = with_defaults(_TABLE, reconstruction_loss="bce", pretrain_optimizer="adam", pretrain_lr=0.001,
                       pretrain_epochs=20, pretrain_batch_size=128)


class VaDEHead(torch.nn.Module):
    """The parts VaDE adds to an autoencoder: the log-variance head and the mixture prior."""

    def __init__(self, hidden: int, latent: int, n_clusters: int):
        super().__init__()
        self.log_var = torch.nn.Linear(hidden, latent)
        self.prior_logits = torch.nn.Parameter(torch.zeros(n_clusters))
        self.prior_means = torch.nn.Parameter(torch.zeros(n_clusters, latent))
        self.prior_log_vars = torch.nn.Parameter(torch.zeros(n_clusters, latent))

    def prior(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(logits, means, log_vars)`` of the mixture prior."""
        return self.prior_logits, self.prior_means, self.prior_log_vars


@register("vade", "VaDE: a VAE with a Gaussian-mixture prior, trained on the ELBO (Jiang et al. 2017)",
          family="deep")
class VaDE(DeepClusterer):
    """Variational Deep Embedding (Jiang et al., IJCAI 2017); see the module docstring.

    Fitted attributes beyond :class:`DeepClusterer`'s: ``head_`` (log-variance head and the
    prior), ``weights_`` (prior weights pi), ``cluster_centers_`` (prior means) and
    ``cluster_variances_`` (prior variances).
    """

    def _build_network(self, n_features: int):
        if self.network != "mlp":
            raise InputError("vade uses the fully connected network; set network='mlp'.")
        return super()._build_network(n_features)

    def _initialise(self, Z, seed):
        gmm = initial_mixture(Z, self.n_clusters, self.init_gmm, seed)
        self._init_variances = gmm.covariances_.astype(np.float32)
        return gmm.means_.astype(np.float32), gmm.predict(Z).astype(np.int64)

    def _encode_stats(self, xb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.network_.encode_hidden(xb)
        return self.network_.encoder_layers[-1](h), self.head_.log_var(h)

    def _train_clustering(self, X_t, centers, init_labels, seed):
        net = self.network_
        torch.manual_seed(seed)
        self.head_ = VaDEHead(self.hidden_dims[-1], self._embedding_size(), self.n_clusters).to(self.device_)
        with torch.no_grad():
            self.head_.prior_means.copy_(torch.as_tensor(centers))
            self.head_.prior_log_vars.copy_(torch.as_tensor(np.log(self._init_variances)))
            if self.init_log_var == "small":  # q(z|x) starts 10x narrower than the prior's components
                self.head_.log_var.weight.zero_()
                self.head_.log_var.bias.copy_(torch.as_tensor(np.log(0.1 * self._init_variances.mean(0))))
        opt_nn = make_optimizer("adam", [*net.parameters(), *self.head_.log_var.parameters()], self.lr, eps=1e-4)
        prior_params = self.head_.prior()
        if self.prior_weights == "uniform":  # pi stays 1/K: the logits keep their zero start
            self.head_.prior_logits.requires_grad_(False)
            prior_params = prior_params[1:]
        opt_prior = make_optimizer("adam", prior_params, self.lr, eps=1e-4)
        trainer = Trainer(X_t.shape[0], self.batch_size, 0, seed=seed)
        spe = trainer.steps_per_epoch
        trainer.max_steps = self.epochs * spe
        # once per epoch: posterior over the whole dataset, label changes (and ACC/NMI/ARI when monitoring)
        refresh = TargetRefresh(spe, 0.0, assign=lambda: self._soft_assign(X_t), target=lambda q: q,
                                initial_labels=init_labels, monitor_labels=self._monitor_labels)
        history = LossHistory("clustering", every=max(1, spe // 4))
        schedule = StepDecay((opt_nn, opt_prior), self.lr, self.lr_decay, self.decay_every * spe, self.min_lr)
        trainer.callbacks = [schedule, refresh, history, ProgressBar(self.method_name, self.verbose)]
        objects = {"model": net, "head": self.head_, "opt_nn": opt_nn, "opt_prior": opt_prior,
                   "refresh": refresh, "history": history}

        def step(idx):
            net.train()
            xb = X_t[idx]
            with autocast(self.device_):
                mu, log_var = self._encode_stats(xb)
                z = mu + torch.randn_like(mu) * (0.5 * log_var).exp()
                x_logits = net.decode(z)
            terms = vade_loss_terms(xb, x_logits.float(), mu.float(), log_var.float(), z.float(),
                                    *self.head_.prior(), kind=self.reconstruction_loss)
            loss = sum(terms.values())
            opt_nn.zero_grad(set_to_none=True)
            opt_prior.zero_grad(set_to_none=True)
            loss.backward()
            opt_nn.step()
            opt_prior.step()
            return {k: v.item() for k, v in terms.items()}

        self._run_clustering(trainer, step, objects)
        self._export_prior()

    def _export_prior(self) -> None:
        logits, means, log_vars = (t.detach().cpu() for t in self.head_.prior())
        self.weights_ = torch.softmax(logits, 0).numpy()
        self.cluster_centers_ = means.numpy()
        self.cluster_variances_ = log_vars.exp().numpy()

    @torch.no_grad()
    def _soft_assign(self, X_t):
        self.network_.eval()
        mu = map_batches(lambda xb: self._encode_stats(xb)[0], X_t)
        return map_batches(lambda zb: vade_posterior(zb, *self.head_.prior()), mu)

    # -------------------------------------------------------------- persistence
    def _head_arrays(self) -> dict:
        return module_arrays(self.head_, "head.")

    def _load_head(self, arrays: dict) -> None:
        self.head_ = VaDEHead(self.hidden_dims[-1], self._embedding_size(), self.n_clusters)
        load_checked(self.head_, arrays, "head.", what="VaDE head")
        self.head_.to(self._device()).eval()
        self._export_prior()


install_params(VaDE, _TABLE)


def initial_mixture(Z: np.ndarray, n_components: int, start: str, seed: int):
    """The diagonal Gaussian mixture on the pretrained embedding ``Z`` that starts VaDE's prior.

    ``start="sklearn"`` is scikit-learn's ``GaussianMixture`` as it is today (its EM starts from
    one k-means run and the per-cluster variances). ``start="reference"`` starts EM as the
    ``mixture.GMM(covariance_type='diag')`` of sklearn 0.17 that the reference VaDE code calls:
    means from ``KMeans`` with its then-default 10 restarts (kept by inertia), every component
    with the variance of the whole of ``Z`` plus the floor ``min_covar=1e-3``, uniform weights,
    and that floor on the covariances during EM (tolerance 1e-3 on the mean log-likelihood).
    Neither reads labels; returns the fitted ``sklearn.mixture.GaussianMixture``.
    """
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    if start == "sklearn":
        return GaussianMixture(n_components=n_components, covariance_type="diag", random_state=seed).fit(Z)
    if start != "reference":
        raise InputError(f"init_gmm must be 'sklearn' or 'reference', got {start!r}.")
    Z = np.asarray(Z, dtype=np.float64)
    means = KMeans(n_clusters=n_components, n_init=10, random_state=seed).fit(Z).cluster_centers_
    variances = np.tile(Z.var(axis=0) + 1e-3, (n_components, 1))
    return GaussianMixture(n_components=n_components, covariance_type="diag", reg_covar=1e-3, tol=1e-3,
                           means_init=means, weights_init=np.full(n_components, 1.0 / n_components),
                           precisions_init=1.0 / variances, random_state=seed).fit(Z)


__all__ = ["VaDE", "VaDEHead", "initial_mixture"]
