"""Diagnostic: DEC with ``pretrain="stacked-caffe"`` on the DEC reference code's data scale.

The authors' Caffe code (piiswrong/dec) feeds pixels x 0.02 (0 to 5.1) and pretrains with SGD lr
0.1 on a Euclidean loss of half the mean squared error; deepclust's rows are pixels / 255 and its
loss the mean squared error. This script multiplies deepclust's Fashion-MNIST rows by 5.1
(255 x 0.02) and pretrains with lr 0.05 (0.1 on half the loss: the same steps), so every layer
sees the values the reference code's layers saw, from the same N(0, 0.01) starts. DEC's
clustering phase (SGD lr 0.01, as in the reference code) runs on the same scaled rows. It scores
DEC's own k-means start (AE + k-means) and DEC's labels; the labels only score the finished
partitions. One JSON line per run:

    .venv/bin/python benchmarks/dec_caffe_scale.py --seed 0 --out benchmarks/caffe-scale/results.jsonl \
        --cache /tmp/deepclust-pretrain-cache
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
from dec_on_keras_ae import append_record, scores  # noqa: E402  (this folder is on sys.path when run as a script)

from deepclust.data import load_dataset  # noqa: E402
from deepclust.methods.dec import DEC  # noqa: E402
from deepclust.runtime import cpu_ticks  # noqa: E402

CAFFE_SCALE = 255 * 0.02  # the reference code's pixels x 0.02, from deepclust's pixels / 255
CAFFE_LR = 0.1 / 2  # its lr 0.1 on half the squared error = lr 0.05 on the mean squared error


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cache", default=None, help="pretraining cache folder (pretrain_cache)")
    parser.add_argument("--sample", type=int, default=None, help="only the first N images (development)")
    args = parser.parse_args()

    data = load_dataset("fashion-mnist")  # float32 rows in [0, 1], train then test
    X, y = np.asarray(data.X[: args.sample], dtype=np.float32) * np.float32(CAFFE_SCALE), data.y[: args.sample]
    est = DEC(random_state=args.seed, pretrain="stacked-caffe", pretrain_lr=CAFFE_LR, pretrain_cache=args.cache)
    initialise, start = est._initialise, {}

    def keep_start(Z, seed):  # DEC's own k-means start: AE + k-means
        centers, labels = initialise(Z, seed)
        start["labels"] = labels
        return centers, labels

    est._initialise = keep_start
    ticks, t0 = cpu_ticks(), time.perf_counter()
    est.fit(X)
    seconds = time.perf_counter() - t0
    final_mse = [r["reconstruction"] for r in est.history_["pretrain"] if r["phase"] == "pretrain"][-1]
    record = {
        "seed": args.seed, "n": len(X), "scale": CAFFE_SCALE, "pretrain_lr": CAFFE_LR, "pretrain": "stacked-caffe",
        "ae_kmeans": scores(y, start["labels"]), "dec": scores(y, est.labels_),
        "stop": est.stop_reason_, "steps": est.n_iter_, "seconds": round(seconds, 1),
        "phase_seconds": {k: round(v, 1) for k, v in est.phase_seconds_.items()},
        "final_pretrain_mse": final_mse, "pretrain_cached": est.pretrain_cached_,
    }
    append_record(args.out, record, ticks)


if __name__ == "__main__":
    main()
