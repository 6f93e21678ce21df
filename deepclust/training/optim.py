"""The optimisers of every training loop: fused Adam, and no subnormal numbers on the CPU.

* **Fused Adam.** Where the installed PyTorch has it (on the CPU since 2.4), Adam runs as
  PyTorch's fused kernel: one pass over the parameters instead of about ten. For the 3.3
  million parameters of the d-500-500-2000-10 autoencoder a step took 2.4 ms instead of 11 ms
  on two cores (``benchmarks/optim_speed.py``). It computes the same update up to float32
  rounding.
* **Subnormals flushed.** x86 CPUs compute with subnormal floats (magnitude below 1.2e-38
  for float32) many times more slowly than with normal ones. Adam's running averages of
  squared gradients, SGD's momentum and weight-decayed weights drift into that range for
  parameters whose gradients vanish: in VaDE on Fashion-MNIST, 1.8 million of the 10.8
  million values of its parameters and Adam moments were subnormal after 7,000 steps, and a
  step took 189 ms instead of 88 ms. With subnormal state an Adam step over 3.3 million
  parameters takes 69-78 ms instead of 2.4-11 ms.
  ``torch.set_flush_denormal`` only changes the calling thread, not PyTorch's worker
  threads, so instead every optimiser made here sets the subnormal values of its parameters
  and state to zero every :data:`FLUSH_EVERY` steps (CPU tensors only). Only values smaller
  than 1.2e-38 change, far below float32's resolution next to any normal-sized number.
"""

from __future__ import annotations

import functools

import torch

FLUSH_EVERY = 100  # optimiser steps between two sweeps for subnormal values


@functools.lru_cache(maxsize=1)
def fused_adam_available() -> bool:
    """Whether this PyTorch has a fused Adam for CPU tensors (2.4 and later)."""
    try:
        torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], fused=True)
    except (RuntimeError, TypeError, ValueError):
        return False
    return True


def adam_implementation() -> str:
    """``"fused"`` or ``"foreach"``: which Adam :func:`make_optimizer` builds (part of the pretraining cache key)."""
    return "fused" if fused_adam_available() else "foreach"


@torch.no_grad()
def flush_subnormals_(optimizer: torch.optim.Optimizer) -> int:
    """Set subnormal values of ``optimizer``'s CPU parameters and state tensors to zero; return how many."""
    flushed = 0
    for group in optimizer.param_groups:
        for param in group["params"]:
            for t in (param, *optimizer.state.get(param, {}).values()):
                if not (torch.is_tensor(t) and t.is_floating_point() and t.dim() > 0 and t.device.type == "cpu"):
                    continue
                mask = (t != 0) & (t.abs() < torch.finfo(t.dtype).tiny)
                count = int(mask.sum())
                if count:
                    t.masked_fill_(mask, 0.0)
                    flushed += count
    return flushed


def _flush_periodically(optimizer: torch.optim.Optimizer) -> None:
    steps = [0]

    def hook(opt, args, kwargs):
        steps[0] += 1
        if steps[0] % FLUSH_EVERY == 0:
            flush_subnormals_(opt)

    optimizer.register_step_post_hook(hook)


def bias_rate_groups(params, lr: float, bias_scale: float) -> list:
    """``params`` as optimiser groups: weights at ``lr``, biases (1-d tensors) at ``bias_scale * lr``.

    Caffe's ``blobs_lr: 1, 2`` in the DEC authors' code (biases at twice the rate). The bias
    group carries ``lr_scale`` so that schedules (:class:`~deepclust.training.callbacks.StepDecay`)
    keep the ratio. With ``bias_scale == 1`` the parameters are returned as one plain list.
    """
    params = list(params)
    if bias_scale == 1:
        return params
    weights = [p for p in params if p.dim() > 1]
    biases = [p for p in params if p.dim() == 1]
    return [{"params": weights}, {"params": biases, "lr": bias_scale * lr, "lr_scale": float(bias_scale)}]


def make_optimizer(name: str, params, lr: float, momentum: float = 0.9, **options) -> torch.optim.Optimizer:
    """``"adam"`` (fused where available) or ``"sgd"`` (with ``momentum``) over ``params``
    (tensors, or parameter groups as :func:`bias_rate_groups` makes them).

    ``options`` go to the PyTorch optimiser (e.g. ``eps`` for Adam, ``weight_decay``). The
    optimiser sweeps its parameters and state for subnormal values every :data:`FLUSH_EVERY`
    steps (see the module docstring).
    """
    params = list(params)
    tensors = [t for g in params for t in (g["params"] if isinstance(g, dict) else [g])]
    if name == "adam":
        fused = fused_adam_available() and all(p.device.type in ("cpu", "cuda") for p in tensors)
        opt = torch.optim.Adam(params, lr=lr, fused=fused or None, **options)
    elif name == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=momentum, **options)
    else:
        raise ValueError(f"unknown optimizer {name!r}")
    _flush_periodically(opt)
    return opt


__all__ = [
    "FLUSH_EVERY", "adam_implementation", "bias_rate_groups", "flush_subnormals_", "fused_adam_available",
    "make_optimizer",
]
