"""Diagnostic: our AE + k-means and DEC on an autoencoder pretrained in Keras.

``benchmarks/keras_pretrain.py`` trains DEC-keras' Fashion-MNIST autoencoder in Keras and
writes its weights in deepclust's names. This script loads them into deepclust's
784-500-500-2000-10 network, fits our DEC with its defaults from there (``pretrain="none"``:
the loaded weights are the start; k-means with 20 restarts on the embedding, SGD lr 0.01 with
momentum 0.9, target refresh every 140 steps, ``tol`` 0.001, at most 20,000 steps), and scores
the k-means start (AE + k-means; the same k-means, same seed, as DEC's start) and DEC's labels.
The labels are read only to score the two finished partitions. One JSON line per run:

    .venv/bin/python benchmarks/dec_on_keras_ae.py --weights benchmarks/keras-ae/seed0.safetensors \
        --seed 0 --out benchmarks/keras-ae/results.jsonl

With ``--torch-cache KEY_FOLDER`` instead of ``--weights`` it loads one of deepclust's own
cached autoencoders (``weights.safetensors`` of a pretraining-cache entry), for a like-for-like
run of the same script.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from safetensors.torch import load_file  # noqa: E402

from deepclust import metrics  # noqa: E402
from deepclust.data import load_dataset  # noqa: E402
from deepclust.methods.dec import DEC  # noqa: E402
from deepclust.runtime import cpu_description, cpu_ticks, library_versions, steal_fraction  # noqa: E402


def network_weights(path: Path) -> tuple[dict, torch.Tensor | None]:
    """The MLPAutoencoder state dict in ``path`` and, for a pretraining-cache entry, the torch
    random state it saved after pretraining (loading the cache restores it; so does this script)."""
    arrays = load_file(str(path))
    rng = arrays.pop("__rng_state__", None)
    probe = arrays.pop("__probe_embedding__", None)
    if probe is not None:
        check_conversion(arrays, probe)
    return {k.removeprefix("network."): v for k, v in arrays.items()}, rng


def check_conversion(arrays: dict, probe: torch.Tensor) -> None:
    """Raise unless deepclust's network with ``arrays`` embeds the first images as Keras did."""
    from deepclust.nn.autoencoders import MLPAutoencoder

    net = MLPAutoencoder(784)
    net.load_state_dict(arrays)
    x = torch.as_tensor(np.asarray(load_dataset("fashion-mnist").X[: len(probe)], dtype=np.float32))
    with torch.no_grad():
        gap = float((net.encode(x) - probe).abs().max())
    if gap > 1e-3 * max(1.0, float(probe.abs().max())):
        raise SystemExit(f"converted weights embed differently from Keras (max gap {gap:.3g})")
    print(f"conversion checked: max embedding gap {gap:.2g} on {len(probe)} images")


def scores(y, labels) -> dict:
    """ACC / NMI / ARI of a finished partition, and its smallest cluster."""
    return {"acc": metrics.accuracy(y, labels), "nmi": metrics.nmi(y, labels), "ari": metrics.ari(y, labels),
            "smallest_cluster": int(np.bincount(labels, minlength=10).min())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--weights", type=Path, help="safetensors written by keras_pretrain.py")
    source.add_argument("--torch-cache", type=Path, help="a deepclust pretraining-cache entry folder")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    path = args.weights if args.weights else args.torch_cache / "weights.safetensors"
    state, rng = network_weights(path)
    data = load_dataset("fashion-mnist")  # float32 rows in [0, 1], train then test
    X, y = np.asarray(data.X, dtype=np.float32), data.y

    est = DEC(random_state=args.seed, pretrain="none", verbose=True)
    build, initialise, start = est._pretrain, est._initialise, {}

    def load_instead(X_t, seed, X=None):
        history = build(X_t, seed, X)  # builds network_ on the device; pretrain="none" trains nothing
        est.network_.load_state_dict(state)
        if rng is not None:
            torch.set_rng_state(rng)
        return history

    def keep_start(Z, seed):  # DEC's own k-means start on the loaded embedding: AE + k-means
        centers, labels = initialise(Z, seed)
        start.update(labels=labels, norm=float(np.median(np.linalg.norm(Z, axis=1))))
        return centers, labels

    est._pretrain, est._initialise = load_instead, keep_start
    ticks, t0 = cpu_ticks(), time.perf_counter()
    est.fit(X)
    seconds = time.perf_counter() - t0
    record = {
        "weights": str(path), "seed": args.seed,
        "ae_kmeans": scores(y, start["labels"]), "dec": scores(y, est.labels_),
        "stop": est.stop_reason_, "steps": est.n_iter_, "seconds": round(seconds, 1),
        "phase_seconds": {k: round(v, 1) for k, v in est.phase_seconds_.items()},
        "embedding_norm_median": start["norm"], "torch_threads": torch.get_num_threads(),
    }
    append_record(args.out, record, ticks)


def append_record(out: Path, record: dict, ticks) -> None:
    """Add the CPU, its steal since ``ticks`` and the library versions to ``record``; append it to ``out``."""
    record.update(cpu=cpu_description(), cpu_steal=steal_fraction(ticks, cpu_ticks()), versions=library_versions())
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("a") as f:
        f.write(json.dumps(record) + "\n")
    print(json.dumps(record))


if __name__ == "__main__":
    main()
