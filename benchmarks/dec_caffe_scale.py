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

``--reference-code`` also does what the rest of the reference code does (``dec/pretrain.py`` and
``DisKmeans`` in ``dec/dec.py``): pretraining reads the training split only (the first 60,000
rows; DEC then clusters all 70,000) as a ring in stored order (``pretrain_batch_order="cyclic"``),
and DEC's clustering refreshes the target every 20 steps, reads the data as a ring, trains the
biases at twice the rate and restarts its momentum at every refresh; the reference code has no
step limit, so ``maxiter`` is raised to 100,000 (recorded whether it is reached). ``--train-split``
alone changes only the pretraining rows, ``--ring-order`` alone only the pretraining batch order.
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
TRAIN_SHARE = 60_000 / 70_000  # the training split: the first 60,000 of the 70,000 rows
# what dec/pretrain.py and DisKmeans(db, 20) in dec/dec.py do besides the scale and the stacked scheme
RING_ORDER = {"pretrain_batch_order": "cyclic"}  # Caffe's data layer: stored order as a ring
REFERENCE_CODE = {**RING_ORDER, "update_interval": 20, "batch_order": "cyclic", "bias_lr_scale": 2.0,
                  "momentum_restart": True, "maxiter": 100_000}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--cache", default=None, help="pretraining cache folder (pretrain_cache)")
    parser.add_argument("--sample", type=int, default=None, help="only the first N images (development)")
    parser.add_argument("--reference-code", action="store_true",
                        help="also the reference code's training split, batch order and clustering solver")
    parser.add_argument("--train-split", action="store_true",
                        help="only the reference code's training split for pretraining (implied by --reference-code)")
    parser.add_argument("--ring-order", action="store_true",
                        help="only the reference code's pretraining batch order (implied by --reference-code)")
    args = parser.parse_args()

    data = load_dataset("fashion-mnist")  # float32 rows in [0, 1], train then test
    X, y = np.asarray(data.X[: args.sample], dtype=np.float32) * np.float32(CAFFE_SCALE), data.y[: args.sample]
    settings = REFERENCE_CODE if args.reference_code else RING_ORDER if args.ring_order else {}
    est = DEC(random_state=args.seed, pretrain="stacked-caffe", pretrain_lr=CAFFE_LR, pretrain_cache=args.cache,
              **settings)
    initialise, start = est._initialise, {}
    train_split = args.reference_code or args.train_split
    pretrain_rows = round(len(X) * TRAIN_SHARE) if train_split else len(X)
    if train_split:  # pretrain on the training split only, as dec/pretrain.py reads mnist_train
        pretrain = est._pretrain
        est._pretrain = lambda X_t, seed, X_full=None: pretrain(X_t[:pretrain_rows], seed, X_full[:pretrain_rows])

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
        "reference_code": settings, "pretrain_rows": pretrain_rows,
        "ae_kmeans": scores(y, start["labels"]), "dec": scores(y, est.labels_),
        "stop": est.stop_reason_, "steps": est.n_iter_, "seconds": round(seconds, 1),
        "phase_seconds": {k: round(v, 1) for k, v in est.phase_seconds_.items()},
        "final_pretrain_mse": final_mse, "pretrain_cached": est.pretrain_cached_,
    }
    append_record(args.out, record, ticks)


if __name__ == "__main__":
    main()
