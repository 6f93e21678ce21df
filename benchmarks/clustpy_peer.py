"""Peer comparison: ClustPy's DEC and IDEC with their defaults on Fashion-MNIST (70,000 images).

Runs in a SEPARATE environment (ClustPy is never a dependency of deepclust):

    python3 -m venv benchmarks/.venv-clustpy
    benchmarks/.venv-clustpy/bin/pip install torch==2.13.0 torchvision clustpy
    benchmarks/.venv-clustpy/bin/python benchmarks/clustpy_peer.py --method DEC --seed 0 \
        --out benchmarks/peer/clustpy.jsonl

torch 2.13.0 is the CPU build installed from local disk (clustpy 0.0.3 accepts any torch; the
torch 2.14.1 wheel would pull the multi-GB CUDA stack). The only torchvision wheel there (0.28.0)
has compiled detection ops that do not load against the CPU build, so the script skips
torchvision's meta registrations for those ops (nms, roi_align, ...); ClustPy's DEC and IDEC never
call them, and nothing about their training changes.

It reads the original IDX files itself, fits ClustPy's estimator with its default
parameters, and appends one JSON line with wall time, versions and ACC/NMI/ARI computed by
deepclust.metrics (imported from this checkout) for both of ClustPy's label sets: DEC's own
assignments (``dec_labels_``) and ClustPy's final k-means re-run (``labels_``).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import sys
import threading
import time
from importlib import metadata
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from deepclust import metrics  # noqa: E402  (metrics only: numpy, scipy, scikit-learn)


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (gzipped or not) into a uint8 array."""
    raw = gzip.open(path).read() if path.suffix == ".gz" else path.read_bytes()
    ndim = raw[3]
    dims = [int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def load_fashion(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """All 70,000 images scaled to [0, 1] (train then test) and their labels."""
    X = np.concatenate([read_idx(folder / f"{s}-images-idx3-ubyte.gz") for s in ("train", "t10k")])
    y = np.concatenate([read_idx(folder / f"{s}-labels-idx1-ubyte.gz") for s in ("train", "t10k")])
    return (X.reshape(len(X), -1) / 255.0).astype(np.float32), y.astype(np.int64)


def scores(y, labels) -> dict:
    return {"acc": metrics.accuracy(y, labels), "nmi": metrics.nmi(y, labels), "ari": metrics.ari(y, labels)}


def sample_load(samples: list, stop: threading.Event, every: float = 30.0) -> None:
    """Append the 1-minute load average every ``every`` seconds (records contention honestly)."""
    while not stop.wait(every):
        samples.append(os.getloadavg()[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--method", choices=["DEC", "IDEC"], required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--data", type=Path, default=Path("/usr/share/datasets/fashion-mnist"))
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    import types

    # torchvision's detection-op meta kernels need its compiled ops, which do not load against the
    # CPU torch build here; DEC/IDEC do not use them (see the module docstring).
    sys.modules.setdefault("torchvision._meta_registrations", types.ModuleType("torchvision._meta_registrations"))
    import torch
    from clustpy.deep import DEC, IDEC

    X, y = load_fashion(args.data)
    est = {"DEC": DEC, "IDEC": IDEC}[args.method](n_clusters=10, random_state=args.seed)
    load: list = []
    stop = threading.Event()
    threading.Thread(target=sample_load, args=(load, stop), daemon=True).start()
    start = time.perf_counter()
    est.fit(X)
    seconds = time.perf_counter() - start
    stop.set()
    row = {
        "library": "clustpy", "method": args.method, "data": "fashion-mnist", "n": len(X), "seed": args.seed,
        "date": time.strftime("%Y-%m-%d"), "seconds": seconds, "threads": torch.get_num_threads(),
        "load_average": {"mean": float(np.mean(load)) if load else None, "max": max(load, default=None),
                         "cpus": os.cpu_count()},
        "params": {k: repr(v) for k, v in est.get_params().items()},
        "versions": {"python": platform.python_version(), "clustpy": metadata.version("clustpy"),
                     "torch": torch.__version__, "numpy": np.__version__},
        "own_assignments": scores(y, est.dec_labels_),
        "kmeans_rerun": scores(y, est.labels_),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("a") as fh:
        fh.write(json.dumps(row) + "\n")
    print(json.dumps(row, indent=2))


if __name__ == "__main__":
    main()
