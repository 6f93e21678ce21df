"""DEC, IDEC and DCEC: one class, three sets of defaults.

* DEC — J. Xie, R. Girshick, A. Farhadi, "Unsupervised Deep Embedding for Clustering
  Analysis", ICML 2016. Student-t soft assignment q (degrees of freedom ``alpha``), target
  p = q²/f renormalised and refreshed over the whole dataset every ``update_interval``
  steps, loss KL(P||Q), stop when fewer than ``tol`` of the points change cluster between
  two refreshes, or after ``maxiter`` steps. Clustering-phase defaults are the DEC-keras
  reference's (SGD, lr 0.01, momentum 0.9, batch 256, update interval 140, tol 0.001,
  20,000 steps). The references take mini-batches in the data's order; ours shuffles them
  every epoch unless ``batch_order="data"`` (or ``"cyclic"``). The DEC authors' Caffe code
  differs from DEC-keras in its clustering phase too: it refreshes the target every 20 steps,
  reads the data as a ring (``batch_order="cyclic"``), trains biases at twice the rate
  (``bias_lr_scale=2``) and restarts its solver, momentum at zero, after every refresh
  (``momentum_restart=True``); there is no step limit (``maxiter``).
* IDEC — X. Guo, L. Gao, X. Liu, J. Yin, "Improved Deep Embedded Clustering with Local
  Structure Preservation", IJCAI 2017: keeps the decoder and minimises
  L = Lr + gamma * Lc (gamma = 0.1), with Adam as in the reference for MNIST.
* DCEC — X. Guo, X. Liu, E. Zhu, J. Yin, "Deep Clustering with Convolutional Autoencoders",
  ICONIP 2017: IDEC with the convolutional autoencoder (Adam, gamma = 0.1), pretrained as the
  reference code does: 200 epochs of Adam from glorot-uniform starts with zero biases.

``labels_`` are argmax of the method's own q after training (no final k-means re-run).
"""

from __future__ import annotations

import torch

from ..nn.losses import kl_divergence, reconstruction_loss, student_t_assignment, target_distribution
from ..params import BOOL, NONE, Interval, Options, Param, install_params, positive_int, with_defaults
from ..registry import register
from ..training.callbacks import LossHistory, OptimizerRestart, ProgressBar, TargetRefresh
from ..training.device import autocast, map_batches
from ..training.loop import BATCH_ORDERS, Trainer
from ..training.optim import bias_rate_groups, make_optimizer
from .deep import NETWORK_PARAMS, PRETRAIN_PARAMS, RUNTIME_PARAMS, DeepClusterer

DEC_PARAMS = {
    "n_clusters": Param(10, (positive_int(),), "number of clusters"),
    "alpha": Param(1.0, (Interval("real", 0, low_open=True),), "degrees of freedom of the Student-t kernel"),
    "gamma": Param(None, (NONE, Interval("real", 0)),
                   "None: DEC (KL loss only, no decoder); a number: IDEC's L = Lr + gamma * Lc"),
    "init": Param("kmeans", (Options(("kmeans", "gmm")),), "how the cluster centres are initialised"),
    "n_init": Param(20, (positive_int(),), "restarts of the initial k-means (20 in the papers)"),
    "maxiter": Param(20000, (positive_int(),), "maximum clustering steps (mini-batches)"),
    "update_interval": Param(140, (positive_int(),), "steps between target refreshes over the whole dataset"),
    "tol": Param(0.001, (Interval("real", 0),), "stop when fewer than this fraction of labels change"),
    "batch_size": Param(256, (positive_int(),), "mini-batch size of the clustering phase"),
    "batch_order": Param("shuffle", (Options(BATCH_ORDERS),),
                         "order of the clustering mini-batches: 'shuffle' (a seeded permutation every epoch), "
                         "'data' (the data's own order, the last batch partial, as the DEC-keras, IDEC and "
                         "DCEC reference code take them) or 'cyclic' (the data's order read as a ring, every "
                         "batch full, as the DEC authors' Caffe code reads its database)"),
    "optimizer": Param("sgd", (Options(("sgd", "adam")),), "optimiser of the clustering phase"),
    "lr": Param(0.01, (Interval("real", 0, low_open=True),), "learning rate of the clustering phase"),
    "momentum": Param(0.9, (Interval("real", 0, 1),), "SGD momentum of the clustering phase"),
    "bias_lr_scale": Param(1.0, (Interval("real", 0, low_open=True),),
                           "learning-rate multiplier of the network's biases in the clustering phase (2 in the "
                           "DEC authors' Caffe code, blobs_lr 1 and 2)"),
    "momentum_restart": Param(False, (BOOL,),
                              "clear the optimiser's state (momentum) at every target refresh, as the DEC authors' "
                              "Caffe code does by starting a new solver run after each refresh"),
}

_TABLE = {**DEC_PARAMS, **NETWORK_PARAMS, **PRETRAIN_PARAMS, **RUNTIME_PARAMS}


@register("dec", "DEC: autoencoder + Student-t clustering layer trained on KL(P||Q) (Xie et al. 2016)",
          family="deep")
class DEC(DeepClusterer):
    """Deep Embedded Clustering (Xie et al. 2016); IDEC and DCEC are the same class with other defaults."""

    def _train_clustering(self, X_t, centers, init_labels, seed):
        net = self.network_
        self.cluster_centers_t_ = torch.nn.Parameter(torch.as_tensor(centers, device=self.device_))
        use_decoder = self.gamma is not None
        params = list(net.parameters()) if use_decoder else net.encoder_parameters()
        # the centres (a 2-d tensor) learn at the weights' rate
        groups = bias_rate_groups([*params, self.cluster_centers_t_], self.lr, self.bias_lr_scale)
        opt = make_optimizer(self.optimizer, groups, self.lr, self.momentum)
        refresh = TargetRefresh(self.update_interval, self.tol, assign=lambda: self._soft_assign(X_t),
                                target=target_distribution, initial_labels=init_labels,
                                monitor_labels=self._monitor_labels)
        history = LossHistory("clustering", every=max(1, self.update_interval // 2))
        callbacks = [refresh, history, ProgressBar(self.method_name, self.verbose)]
        if self.momentum_restart:
            callbacks.insert(1, OptimizerRestart(opt, self.update_interval))
        trainer = Trainer(X_t.shape[0], self.batch_size, self.maxiter, seed=seed, callbacks=callbacks,
                          order=self.batch_order)
        objects = {"model": net, "centers": torch.nn.ParameterDict({"centers": self.cluster_centers_t_}),
                   "optimizer": opt, "refresh": refresh, "history": history}

        def step(idx):
            net.train()
            xb = X_t[idx]
            with autocast(self.device_):
                z = net.encode(xb)
                x_hat = net.decode(z) if use_decoder else None
            q = student_t_assignment(z.float(), self.cluster_centers_t_, self.alpha)
            lc = kl_divergence(refresh.target[idx], q)
            logs = {"kl": lc}
            loss = lc
            if use_decoder:
                lr = reconstruction_loss(x_hat.float(), xb, self.reconstruction_loss)
                loss = lr + self.gamma * lc
                logs["reconstruction"] = lr
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            return {k: v.item() for k, v in logs.items()}

        self._run_clustering(trainer, step, objects)
        self.cluster_centers_ = self.cluster_centers_t_.detach().cpu().numpy()

    @torch.no_grad()
    def _soft_assign(self, X_t):
        centers = getattr(self, "cluster_centers_t_", None)
        if centers is None:
            centers = torch.as_tensor(self.cluster_centers_, device=X_t.device)
        z = self.embed(X_t)
        return map_batches(lambda zb: student_t_assignment(zb, centers.detach(), self.alpha), z)

    def _load_head(self, arrays):
        super()._load_head(arrays)
        self.cluster_centers_t_ = torch.as_tensor(self.cluster_centers_, device=self._device())


install_params(DEC, _TABLE)


@register("idec", "IDEC: DEC plus the reconstruction loss, L = Lr + 0.1 Lc (Guo et al. 2017)", family="deep")
class IDEC(DEC):
    """Improved DEC (Guo et al., IJCAI 2017): DEC keeping the decoder, L = Lr + gamma * Lc."""


install_params(IDEC, with_defaults(_TABLE, gamma=0.1, optimizer="adam", lr=0.001))


@register("dcec", "DCEC: IDEC with a convolutional autoencoder (Guo et al. 2017)", family="deep")
class DCEC(DEC):
    """Deep Convolutional Embedded Clustering (Guo et al., ICONIP 2017): IDEC with DCEC's conv autoencoder."""


# Guo's DCEC.py pretrains the CAE 200 epochs with Adam from Keras' glorot-uniform starts (zero biases)
install_params(DCEC, with_defaults(_TABLE, network="conv", gamma=0.1, optimizer="adam", lr=0.001,
                                   pretrain_optimizer="adam", pretrain_lr=0.001, pretrain_epochs=200,
                                   weight_init="glorot"))

__all__ = ["DEC", "IDEC", "DCEC"]
