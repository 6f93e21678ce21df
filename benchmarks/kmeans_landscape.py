"""Diagnostic: the k-means local optima on a pretrained autoencoder's embedding.

DEC, IDEC and AE + k-means start from the lowest-inertia partition of 20 k-means restarts
(DEC-keras: scikit-learn ``KMeans(n_init=20)``). This script embeds Fashion-MNIST (all 70,000
images) with one autoencoder (a deepclust pretraining-cache entry's ``weights.safetensors`` or
a file written by ``keras_pretrain.py``), runs ``--restarts`` single k-means++ restarts
(``n_init=1``, seeds 1000, 1001, ...) on the float32 embedding, and records each restart's
inertia, ACC and NMI. From those it derives, without running anything more:

- ``best_of_20``: the ACC of the lowest-inertia restart among restarts 0-19 and among 20-39
  (two draws of what DEC's start would be);
- ``expected_best_of_20``: the mean ACC of the lowest-inertia restart over every 20-restart
  subset of the recorded ones (exact: a restart of inertia rank ``r`` out of ``n`` is the
  subset's minimum with probability ``C(n - 1 - r, 19) / C(n, 20)``);
- ``consensus_of_20``: the ACC of the restart that agrees most with the others (largest summed
  ARI to the other restarts of its half), a label-free alternative to the lowest inertia;
- the Pearson correlation of inertia and ACC over the restarts.

The labels are read only to score partitions that are already fitted; nothing here chooses
anything by them. One JSON line per autoencoder:

    .venv/bin/python benchmarks/kmeans_landscape.py --out benchmarks/landscape/results.jsonl \\
        /tmp/deepclust-pretrain-cache/<key>/weights.safetensors benchmarks/keras-ae/seed0.safetensors
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from math import comb
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import numpy as np  # noqa: E402
import torch  # noqa: E402
from dec_on_keras_ae import network_weights  # noqa: E402
from sklearn.cluster import KMeans  # noqa: E402
from sklearn.metrics import adjusted_rand_score  # noqa: E402

from deepclust import metrics  # noqa: E402
from deepclust.data import load_dataset  # noqa: E402
from deepclust.nn.autoencoders import MLPAutoencoder  # noqa: E402


def embed(weights: Path, X: torch.Tensor) -> np.ndarray:
    """The float32 embedding of ``X`` by the 784-500-500-2000-10 autoencoder in ``weights``."""
    state, _ = network_weights(weights)
    net = MLPAutoencoder(X.shape[1])
    net.load_state_dict(state)
    net.eval()
    with torch.no_grad():
        return torch.cat([net.encode(X[i:i + 10_000]) for i in range(0, len(X), 10_000)]).numpy()


def expected_best_of(inertia: np.ndarray, acc: np.ndarray, k: int = 20) -> float:
    """Mean ACC of the lowest-inertia restart over all ``k``-subsets of the restarts."""
    n = len(inertia)
    order = np.argsort(inertia)
    weights = np.array([comb(n - 1 - r, k - 1) for r in range(n)], dtype=float) / comb(n, k)
    return float(np.dot(weights, acc[order]))


def most_agreeing(labels: list[np.ndarray]) -> int:
    """Index of the partition with the largest summed ARI to the other partitions."""
    n = len(labels)
    agreement = np.zeros((n, n))
    for i in range(n):
        for j in range(i + 1, n):
            agreement[i, j] = agreement[j, i] = adjusted_rand_score(labels[i], labels[j])
    return int(np.argmax(agreement.sum(1)))


def landscape(Z: np.ndarray, y: np.ndarray, restarts: int) -> dict:
    """Inertia, ACC and NMI of ``restarts`` single k-means++ restarts on ``Z``, and summaries."""
    runs, labels = [], []
    for r in range(restarts):
        km = KMeans(10, n_init=1, random_state=1000 + r).fit(Z)
        labels.append(km.labels_)
        runs.append({"seed": 1000 + r, "inertia": float(km.inertia_),
                     "acc": metrics.accuracy(y, km.labels_), "nmi": metrics.nmi(y, km.labels_)})
    inertia = np.array([r["inertia"] for r in runs])
    acc = np.array([r["acc"] for r in runs])
    halves = [slice(0, restarts // 2), slice(restarts // 2, restarts)]
    return {
        "runs": runs,
        "acc_median": float(np.median(acc)), "acc_min": float(acc.min()), "acc_max": float(acc.max()),
        "share_above_0.6": float((acc > 0.6).mean()),
        "best_of_20": [float(acc[s][np.argmin(inertia[s])]) for s in halves],
        "expected_best_of_20": expected_best_of(inertia, acc),
        "consensus_of_20": [float(acc[s][most_agreeing(labels[s])]) for s in halves],
        "inertia_acc_correlation": float(np.corrcoef(inertia, acc)[0, 1]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("weights", type=Path, nargs="+", help="autoencoder weights (safetensors)")
    parser.add_argument("--restarts", type=int, default=40)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    data = load_dataset("fashion-mnist")
    X = torch.as_tensor(np.asarray(data.X, dtype=np.float32))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for path in args.weights:
        t0 = time.perf_counter()
        record = {"weights": str(path), **landscape(embed(path, X), data.y, args.restarts)}
        record["seconds"] = round(time.perf_counter() - t0, 1)
        with args.out.open("a") as f:
            f.write(json.dumps(record) + "\n")
        print(f"{path}: restarts ACC {record['acc_median']:.3f} [{record['acc_min']:.3f}, {record['acc_max']:.3f}], "
              f"best of 20 {record['best_of_20'][0]:.3f} / {record['best_of_20'][1]:.3f}, "
              f"consensus {record['consensus_of_20'][0]:.3f} / {record['consensus_of_20'][1]:.3f}, "
              f"expected best of 20 {record['expected_best_of_20']:.3f}, "
              f"corr(inertia, ACC) {record['inertia_acc_correlation']:+.2f}", flush=True)


if __name__ == "__main__":
    main()
