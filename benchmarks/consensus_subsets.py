"""Consensus of every subset of several recorded runs (benchmarks/README.md, "Consensus of several N2D runs").

For each ensemble size, the consensus (:func:`deepclust.consensus.consensus`, both methods) of
every subset of the given runs is computed without labels, then scored against the data's
classes; one JSON line per (method, subset) goes to --out, and a summary table (median [min, max]
over the subsets, beside the single runs) is printed.

    .venv/bin/python benchmarks/consensus_subsets.py --data fashion-mnist --sizes "3 5 10" \\
        --out benchmarks/consensus/n2d-ten-seeds.jsonl benchmarks/consensus/n2d-seeds/seed{0..9}.npy
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import numpy as np

from deepclust import metrics
from deepclust.consensus import METHODS, consensus
from deepclust.data import load_dataset
from deepclust.score import read_assignment

SCORES = ("acc", "nmi", "ari")


def score(y, labels) -> dict:
    return {name: metrics.EXTERNAL_METRICS[name](y, labels) for name in SCORES}


def spread(values) -> str:
    return f"{np.median(values):.3f} [{min(values):.3f}, {max(values):.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("labels", nargs="+", help="labels.csv of each run (the runs to combine)")
    parser.add_argument("--data", required=True)
    parser.add_argument("--sizes", default="3 5", help="ensemble sizes (space-separated)")
    parser.add_argument("--out", required=True, help="JSON lines file to write")
    args = parser.parse_args()

    y = load_dataset(args.data).y
    runs = []
    for path in args.labels:
        clusters, index = read_assignment(path)
        if index is not None and not np.array_equal(index, np.arange(len(y))):
            raise SystemExit(f"{path} does not label every row of {args.data} in order")
        runs.append(clusters)
    single = [score(y, r) for r in runs]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    rows = []
    with out.open("w") as fh:
        for size in (int(s) for s in args.sizes.split()):
            for subset in itertools.combinations(range(len(runs)), size):
                members = [single[i]["acc"] for i in subset]
                for method in METHODS:
                    c = consensus([runs[i] for i in subset], method=method)
                    row = {"size": size, "subset": list(subset), "method": method, **score(y, c.labels),
                           "members_median_acc": float(np.median(members)),
                           "smallest": metrics.smallest_cluster(metrics.cluster_sizes(c.labels)),
                           "stability": c.summary()["stability"], "medoid": c.medoid}
                    fh.write(json.dumps(row) + "\n")
                    rows.append(row)
    print("| ensemble | method | subsets | ACC | NMI | ARI | consensus ACC >= its members' median ACC |")
    print("|---|---|---|---|---|---|---|")
    print(f"| single runs | - | {len(runs)} | " + " | ".join(spread([s[m] for s in single]) for m in SCORES) + " | |")
    keys = sorted({(r["size"], r["method"]) for r in rows}, key=lambda k: (k[0], METHODS.index(k[1])))
    for size, method in keys:
        group = [r for r in rows if r["size"] == size and r["method"] == method]
        reach = np.mean([r["acc"] >= r["members_median_acc"] for r in group])
        print(f"| {size} runs | {method} | {len(group)} | " + " | ".join(spread([r[m] for r in group]) for m in SCORES)
              + f" | {reach:.0%} |")


if __name__ == "__main__":
    main()
