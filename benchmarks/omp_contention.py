"""Micro-benchmark: PyTorch CPU jobs side by side, with OpenMP's default and passive waiting.

PyTorch's CPU build parallelises with OpenMP (GNU libgomp), whose idle threads spin before
they sleep. Two PyTorch jobs with as many threads as cores each then take turns badly: while
one job's thread spins waiting for its partner, the other job cannot use that core. This
script runs ``--workers`` identical processes at once, each taking ``--steps`` SGD steps of
DEC's 784-500-500-2000-10 autoencoder (MSE, batch 256, random inputs in [0, 1]) with all
cores as threads, and reports each worker's steps per second, with ``OMP_WAIT_POLICY`` unset
(libgomp's default) or set to ``PASSIVE``. One JSON line per configuration:

    .venv/bin/python benchmarks/omp_contention.py --workers 1 2 --policy default passive \\
        --out benchmarks/host/omp_contention.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

WORKER = """
import sys, time, torch
sys.path.insert(0, {root!r})
from deepclust.nn.autoencoders import MLPAutoencoder
torch.manual_seed(0)
net = MLPAutoencoder(784)
opt = torch.optim.SGD(net.parameters(), lr=1.0, momentum=0.9)
x = torch.rand(256, 784)
def step():
    opt.zero_grad()
    loss = torch.nn.functional.mse_loss(net(x)[1], x)
    loss.backward()
    opt.step()
for _ in range(20):
    step()
t0 = time.perf_counter()
for _ in range({steps}):
    step()
print({steps} / (time.perf_counter() - t0))
"""


def run(workers: int, policy: str, steps: int) -> list[float]:
    """Steps per second of each of ``workers`` processes run at once under ``policy``."""
    env = dict(os.environ)
    env.pop("OMP_WAIT_POLICY", None)
    if policy == "passive":
        env["OMP_WAIT_POLICY"] = "PASSIVE"
    code = WORKER.format(root=str(ROOT), steps=steps)
    procs = [subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, text=True)
             for _ in range(workers)]
    return [float(p.communicate()[0].strip().splitlines()[-1]) for p in procs]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--policy", nargs="+", choices=["default", "passive"], default=["default", "passive"])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for workers in args.workers:
        for policy in args.policy:
            t0 = time.perf_counter()
            rates = run(workers, policy, args.steps)
            record = {"workers": workers, "policy": policy, "steps": args.steps, "steps_per_second": rates,
                      "seconds": round(time.perf_counter() - t0, 1), "cores": os.cpu_count(),
                      "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
            with args.out.open("a") as f:
                f.write(json.dumps(record) + "\n")
            print(json.dumps(record), flush=True)


if __name__ == "__main__":
    main()
