"""Seconds per optimiser step for the d-500-500-2000-10 autoencoder's parameters (784 inputs).

Compares PyTorch's foreach Adam (the default), its single-tensor loop and its fused kernel
(what :func:`deepclust.training.optim.make_optimizer` builds), each with normal and with
subnormal (1e-39) optimiser state, and SGD with momentum likewise. Subnormal state is what
vanishing gradients leave behind in Adam's second moments (see ``deepclust/training/optim.py``).

Command (run alone on the machine; writes one JSON line per setting)::

    .venv/bin/python benchmarks/optim_speed.py --out benchmarks/optim/steps.jsonl
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

DIMS = (784, 500, 500, 2000, 10)


def autoencoder_shapes() -> list[tuple[int, ...]]:
    """Weight and bias shapes of the MLP autoencoder (encoder then mirrored decoder)."""
    widths = [*DIMS, *reversed(DIMS[:-1])]
    return [s for a, b in zip(widths[:-1], widths[1:], strict=True) for s in ((b, a), (b,))]


def seconds_per_step(name: str, kind: str, state_value: float, steps: int) -> float:
    """Mean seconds of ``steps`` optimiser steps after the state is set to ``state_value``."""
    torch.manual_seed(0)
    params = [torch.nn.Parameter(torch.randn(s)) for s in autoencoder_shapes()]
    if name == "sgd":
        opt = torch.optim.SGD(params, lr=0.01, momentum=0.9, foreach=(kind == "foreach"))
    else:
        opt = torch.optim.Adam(params, lr=1e-3, foreach=(kind == "foreach") if kind != "fused" else None,
                               fused=(kind == "fused") or None)
    for p in params:
        p.grad = torch.randn_like(p) * 1e-3
    opt.step()
    for p in params:
        for t in opt.state[p].values():
            if t.dim() > 0:
                t.fill_(state_value)
        p.grad.zero_()
    start = time.perf_counter()
    for _ in range(steps):
        opt.step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    """Time every setting and append the lines to ``--out``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="benchmarks/optim/steps.jsonl")
    ap.add_argument("--steps", type=int, default=30)
    args = ap.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    n_params = sum(torch.Size(s).numel() for s in autoencoder_shapes())
    settings = [("adam", "foreach"), ("adam", "single-tensor"), ("adam", "fused"), ("sgd", "foreach"),
                ("sgd", "single-tensor")]
    with out.open("a") as fh:
        for name, kind in settings:
            for label, value in (("normal", 1e-3), ("subnormal", 1e-39)):
                ms = 1000 * seconds_per_step(name, kind, value, args.steps)
                line = {"optimizer": name, "implementation": kind, "state": label, "ms_per_step": round(ms, 2),
                        "parameters": n_params, "threads": torch.get_num_threads(), "torch": torch.__version__,
                        "date": time.strftime("%Y-%m-%d")}
                fh.write(json.dumps(line) + "\n")
                print(f"{name:5s} {kind:14s} {label:9s} {ms:8.1f} ms/step")


if __name__ == "__main__":
    main()
