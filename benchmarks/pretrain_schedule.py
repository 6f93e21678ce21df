"""How AE+k-means accuracy on Fashion-MNIST (70,000 images) grows with pretraining epochs.

Development measurement behind the pretraining defaults (not a method benchmark): trains
the d-500-500-2000-10 autoencoder with one optimiser and evaluates k-means (n_init=10) on
its embedding after 10, 20 and 30 epochs. One JSON line per checkpoint on stdout.

    python benchmarks/pretrain_schedule.py sgd 1.0 256 none 1 >> benchmarks/pretrain/curves.jsonl
    python benchmarks/pretrain_schedule.py adam 0.001 256 none 2 >> benchmarks/pretrain/curves.jsonl

Arguments: optimiser, learning rate, batch size, input noise (none/dropout/gaussian), threads.
"""

import json
import sys
import time

import torch

from deepclust import metrics
from deepclust.data import load_dataset
from deepclust.nn import MLPAutoencoder
from deepclust.training.device import map_batches
from deepclust.training.init import initial_clusters
from deepclust.training.pretrain import PretrainConfig, pretrain_autoencoder


def main() -> None:
    opt, lr, bs = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    noise = sys.argv[4] if len(sys.argv) > 4 else "none"
    torch.set_num_threads(int(sys.argv[5]) if len(sys.argv) > 5 else 2)
    ds = load_dataset("fashion-mnist")
    X = torch.from_numpy(ds.X)
    torch.manual_seed(0)
    ae = MLPAutoencoder(784)
    done, train_s = 0, 0.0
    for target in (10, 20, 30):
        start = time.time()
        cfg = PretrainConfig(epochs=target - done, batch_size=bs, optimizer=opt, lr=lr, seed=done,
                             progress=False, noise=noise)
        history = pretrain_autoencoder(ae, X, cfg)
        train_s += time.time() - start
        done = target
        ae.eval()
        Z = map_batches(ae.encode, X).numpy()
        ae.train()
        _, labels = initial_clusters(Z, 10, "kmeans", 10, 0)
        print(json.dumps({"noise": noise, "opt": opt, "lr": lr, "bs": bs, "epochs": target, "train_s": round(train_s),
                          "mse": round(history[-1]["reconstruction"], 5),
                          "acc": round(metrics.accuracy(ds.y, labels), 4), "nmi": round(metrics.nmi(ds.y, labels), 4),
                          "ari": round(metrics.ari(ds.y, labels), 4)}), flush=True)


if __name__ == "__main__":
    main()
