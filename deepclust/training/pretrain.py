"""Autoencoder pretraining: plain, denoising, sparse, and greedy layer-wise stacked.

* ``end-to-end`` — the whole autoencoder is trained on reconstruction (the DEC-keras, IDEC
  and DCEC reference implementations).
* ``stacked`` — the DEC paper's scheme (Xie et al. 2016, section 3.2): each encoder layer and
  its mirrored decoder layer are trained as a one-hidden-layer denoising autoencoder on the
  outputs of the layers below, with 20% dropout on their inputs; then the whole network is
  fine-tuned end to end without dropout.
* ``stacked-caffe`` — the same scheme as the DEC authors' Caffe code runs it (piiswrong/dec,
  ``dec/pretrain.py``), where it differs from the paper's text: the first pair's input (the raw
  data) and the last pair's code (the embedding) are not corrupted; each pair starts from
  Gaussian weights of std 0.01 and zero biases (whatever ``weight_init`` says); biases learn at
  twice the learning rate (Caffe's ``blobs_lr: 2``), and SGD's momentum rises linearly from 0
  over the first 1,000 steps of every stage, fine-tuning included (``momentum_burnin: 1000``).
  Caffe also reads its batches in the stored order, as a ring: ``batch_order="cyclic"``, a
  separate setting. The data scale is the caller's: the code feeds pixels x 0.02 with lr 0.1 on
  half the squared error, i.e. rows x 5.1 and ``lr=0.05`` here (``benchmarks/dec_caffe_scale.py``).
* ``batch_order`` (every mode): ``"shuffle"`` (a seeded permutation each epoch, as Keras fits),
  ``"data"`` (stored order, the last batch of each pass partial) or ``"cyclic"`` (stored order
  read as a ring, as Caffe's data layer does); see :class:`~deepclust.training.loop.Trainer`.
* ``noise`` makes it a denoising autoencoder (``"dropout"``: masking noise as in DEC;
  ``"gaussian"``: additive noise of std ``noise_level``); ``sparsity`` adds an L1 penalty on
  the embedding (a sparse autoencoder).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F

from ..nn.autoencoders import MLPAutoencoder
from ..nn.losses import reconstruction_loss
from .callbacks import LossHistory, MomentumBurnIn, ProgressBar, StepDecay
from .checkpoint import CheckpointStore, attach_checkpoint
from .device import autocast
from .loop import Trainer
from .optim import bias_rate_groups, make_optimizer


@dataclass
class PretrainConfig:
    """Settings of one pretraining run (the estimators fill it from their parameters)."""

    mode: str = "end-to-end"  # "end-to-end", "stacked", "stacked-caffe" or "none"
    epochs: int = 50
    batch_size: int = 256
    optimizer: str = "adam"
    lr: float = 1e-3
    momentum: float = 0.9
    loss: str = "mse"
    noise: str = "none"  # "none", "dropout" or "gaussian"
    noise_level: float = 0.2
    sparsity: float = 0.0
    layer_epochs: int = 10  # per layer pair, for the stacked modes
    lr_step: int = 0  # steps between divisions of lr by 10, restarting each stage; 0: constant
    batch_order: str = "shuffle"  # "shuffle", "data" or "cyclic" (training.loop.Trainer)
    seed: int = 0
    progress: bool = True
    checkpoint_every: int = 1000  # steps between checkpoints when a store is given

    def __post_init__(self):
        # --set pretrain_lr=1 gives the int 1: the same learning rate as 1.0, and the same cache key
        for f in fields(self):
            if f.type == "float":  # annotations are strings (postponed evaluation)
                setattr(self, f.name, float(getattr(self, f.name)))


STACKED_MODES = ("stacked", "stacked-caffe")
CAFFE_MOMENTUM_BURNIN = 1000  # steps of dec/pretrain.py's solvers
CAFFE_INIT_STD = 0.01  # std of the Gaussian start of each layer pair in dec/pretrain.py


def corrupt(x: torch.Tensor, noise: str, level: float) -> torch.Tensor:
    """Apply denoising-autoencoder input noise (the clean ``x`` stays the target)."""
    if noise == "none" or level <= 0:
        return x
    if noise == "dropout":
        return F.dropout(x, p=level, training=True)
    if noise == "gaussian":
        return x + level * torch.randn_like(x)
    raise ValueError(f"unknown noise {noise!r}")


def pretrain_autoencoder(ae, X: torch.Tensor, cfg: PretrainConfig, store: CheckpointStore | None = None,
                         resume: bool = False) -> list[dict]:
    """Pretrain ``ae`` on ``X`` (a float32 tensor on the training device); return its history.

    With a ``store``, every stage (each layer pair, then end-to-end training) is
    checkpointed; with ``resume``, finished stages are loaded instead of retrained and an
    unfinished one continues from its last checkpoint.
    """
    stacked = cfg.mode in STACKED_MODES
    if cfg.mode == "none" or cfg.epochs <= 0 and not stacked:
        return []
    history: list[dict] = []
    if stacked:
        if not isinstance(ae, MLPAutoencoder):
            raise ValueError("stacked pretraining needs the fully connected autoencoder")
        for layer in range(ae.n_layers):
            history += _train_layer_pair(ae, X, layer, cfg, store, resume)
    if cfg.epochs > 0:
        history += _train_end_to_end(ae, X, cfg, "none" if stacked else cfg.noise, store, resume)
    return history


def train_epochs(X, cfg: PretrainConfig, params, epochs: int, phase: str, loss_fn, model, store=None,
                 resume: bool = False) -> list[dict]:
    """Minimise ``sum(loss_fn(batch).values())`` over ``params`` for ``epochs`` passes over ``X``.

    The one unsupervised training loop of autoencoder-style models: the optimiser, batch
    size, seed, progress bar and checkpoint cadence come from ``cfg``; with a ``store`` the
    phase is checkpointed (model, optimiser, history) and ``resume`` continues it. Returns
    the loss history records. With ``cfg.lr_step`` the learning rate is divided by 10 every
    ``lr_step`` steps of this phase (the DEC paper's schedule, restarted for each stage). With
    ``cfg.mode == "stacked-caffe"`` biases learn at twice the rate and SGD's momentum is ramped
    up over the phase's first steps, as the DEC authors' Caffe solvers do.
    """
    caffe = cfg.mode == "stacked-caffe"
    opt = make_optimizer(cfg.optimizer, bias_rate_groups(params, cfg.lr, 2.0 if caffe else 1.0), cfg.lr, cfg.momentum)
    history = LossHistory(phase, every=50)
    callbacks = [history, ProgressBar(phase, cfg.progress)]
    if cfg.lr_step:
        callbacks.insert(0, StepDecay((opt,), cfg.lr, 0.1, cfg.lr_step))
    if caffe and cfg.optimizer == "sgd":
        callbacks.insert(0, MomentumBurnIn(opt, cfg.momentum, CAFFE_MOMENTUM_BURNIN))
    trainer = Trainer(X.shape[0], cfg.batch_size, 0, seed=cfg.seed, callbacks=callbacks, order=cfg.batch_order)
    trainer.max_steps = epochs * trainer.steps_per_epoch
    stage = phase.replace(" ", "-").replace("/", "-of-")
    if attach_checkpoint(trainer, store, stage, cfg.checkpoint_every,
                         {"model": model, "optimizer": opt, "history": history}, resume):
        return history.records

    def step(idx):
        with autocast(X.device):
            losses = loss_fn(X[idx])
        total = sum(losses.values())
        opt.zero_grad(set_to_none=True)
        total.backward()
        opt.step()
        return {k: v.item() for k, v in losses.items()}

    trainer.run(step)
    return history.records


def _train_end_to_end(ae, X, cfg: PretrainConfig, noise: str, store=None, resume=False) -> list[dict]:
    def loss_fn(xb):
        z = ae.encode(corrupt(xb, noise, cfg.noise_level))
        losses = {"reconstruction": reconstruction_loss(ae.decode(z).float(), xb, cfg.loss)}
        if cfg.sparsity > 0:
            losses["sparsity"] = cfg.sparsity * z.float().abs().mean()
        return losses

    ae.train()
    return train_epochs(X, cfg, ae.parameters(), cfg.epochs, "pretrain", loss_fn, ae, store, resume)


@torch.no_grad()
def _caffe_start(layers, seed: int) -> None:
    """Gaussian weights of std :data:`CAFFE_INIT_STD` and zero biases, drawn from their own generator."""
    gen = torch.Generator().manual_seed(seed)
    for lin in layers:
        lin.weight.copy_(torch.randn(lin.weight.shape, generator=gen) * CAFFE_INIT_STD)
        lin.bias.zero_()


def _train_layer_pair(ae: MLPAutoencoder, X, layer: int, cfg: PretrainConfig, store=None, resume=False) -> list[dict]:
    enc, dec = ae.encoder_layers[layer], ae.decoder_layers[layer]
    last = layer == ae.n_layers - 1
    caffe = cfg.mode == "stacked-caffe"
    p_input = 0.0 if caffe and layer == 0 else 0.2  # the code does not corrupt the raw data...
    p_code = 0.0 if caffe and last else 0.2  # ...nor the embedding
    if caffe:  # a resumed stage loads its checkpoint over this start
        _caffe_start((enc, dec), cfg.seed * 1009 + layer)

    @torch.no_grad()
    def below(xb):  # clean output of the already trained layers under this one
        for i in range(layer):
            xb = torch.relu(ae.encoder_layers[i](xb))
        return xb

    def loss_fn(xb):
        h = below(xb)
        code = enc(F.dropout(h, p=p_input, training=True))
        code = code if last else torch.relu(code)  # the embedding layer is linear
        rec = dec(F.dropout(code, p=p_code, training=True))
        rec = rec if layer == 0 else torch.relu(rec)  # the first pair reconstructs raw data
        return {"reconstruction": reconstruction_loss(rec.float(), h, "mse")}

    return train_epochs(X, cfg, [*enc.parameters(), *dec.parameters()], cfg.layer_epochs,
                f"pretrain layer {layer + 1}/{ae.n_layers}", loss_fn, ae, store, resume)
