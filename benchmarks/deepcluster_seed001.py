"""Seed 001's DeepCluster experiment: Fashion-MNIST classes 0, 1, 2, first 5,000 images, 3 clusters.

    .venv/bin/python benchmarks/deepcluster_seed001.py --seeds 0 1 2 --out benchmarks/deepcluster/seed001.jsonl

The seed reports NMI 0.42 for k-means on the untrained network's features and 0.57 after
training. The subset is chosen with the labels (as the seed does: it *defines* the data);
fitting never sees them. Each seed appends one JSON line: the NMI of the first epoch's
pseudo-labels (untrained network), the final ACC/NMI/ARI, seconds and the settings.
Extra estimator parameters can be given as ``--set key=value``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from deepclust import metrics
    from deepclust.cli import parse_assignments
    from deepclust.data import load_dataset
    from deepclust.registry import make_estimator
    from deepclust.runtime import library_versions

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()

    ds = load_dataset("fashion-mnist", split="train")
    keep = np.flatnonzero(np.isin(ds.y, [0, 1, 2]))[:5000]
    X, y = np.ascontiguousarray(ds.X[keep]), ds.y[keep]
    params = {"n_clusters": 3, **parse_assignments(tuple(args.overrides))}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for seed in args.seeds:
        est = make_estimator("deepcluster", **params, random_state=seed, verbose=False)
        start = time.perf_counter()
        est.fit(X, monitor_labels=y)
        seconds = time.perf_counter() - start
        row = {"experiment": "seed001", "seed": seed, "n": len(X), "params": est.get_params(),
               "first_epoch_nmi": est.history_["epochs"][0]["nmi"],
               "nmi_by_epoch": [round(e["nmi"], 4) for e in est.history_["epochs"]],
               "nmi_previous_by_epoch": [e["nmi_previous"] and round(e["nmi_previous"], 4)
                                         for e in est.history_["epochs"]],
               "acc": metrics.accuracy(y, est.labels_), "nmi": metrics.nmi(y, est.labels_),
               "ari": metrics.ari(y, est.labels_), "seconds": seconds, "phases": est.phase_seconds_,
               "date": time.strftime("%Y-%m-%d"), "versions": library_versions()}
        with args.out.open("a") as fh:
            fh.write(json.dumps(row, default=str) + "\n")
        print(json.dumps({k: row[k] for k in ("seed", "first_epoch_nmi", "acc", "nmi", "ari", "seconds")}))


if __name__ == "__main__":
    main()
