"""Mixed tables with and without ``prep="standard"`` (benchmarks/README.md, "Tables of your own").

Writes two real tables as CSV (scikit-learn's bundled wine data; the Palmer penguins table kept in
tests/data), runs each method on each with seeds 0-2 through :func:`deepclust.run.run`, and writes
one JSON line per run (ACC/NMI/ARI, or the one-sentence error) to --out, printing median
[min, max] over the seeds. Labels are only scored, after fitting.

    .venv/bin/python benchmarks/table_prep.py --out benchmarks/tables/results.jsonl
"""

from __future__ import annotations

import argparse
import csv
import json
import tempfile
import warnings
from pathlib import Path

import numpy as np

from deepclust.errors import DeepclustError
from deepclust.run import run

ROOT = Path(__file__).resolve().parent.parent
SEEDS = (0, 1, 2)
# (table, method, prep, parameters): the rows of the README section
CASES = [
    ("wine", "kmeans", "none", {}), ("wine", "kmeans", "standard", {}),
    ("wine", "gmm", "none", {}), ("wine", "gmm", "standard", {}),
    ("wine", "agglomerative", "none", {}), ("wine", "agglomerative", "standard", {}),
    ("wine", "n2d", "standard", {}),
    ("wine", "dec", "standard", {}), ("wine", "dec", "standard", {"pretrain_lr": 0.1}),
    ("wine", "dec", "standard", {"pretrain_optimizer": "adam", "pretrain_lr": 0.001}),
    ("wine", "vade", "standard", {}), ("wine", "vade", "standard", {"reconstruction_loss": "mse"}),
    ("penguins", "kmeans", "none", {}), ("penguins", "kmeans", "standard", {}),
    ("penguins", "gmm", "standard", {}), ("penguins", "agglomerative", "standard", {}),
]


def write_wine(folder: Path) -> Path:
    from sklearn.datasets import load_wine

    wine = load_wine()
    path = folder / "wine.csv"
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow([*wine.feature_names, "cultivar"])
        for x, y in zip(wine.data, wine.target, strict=True):
            w.writerow([*x, wine.target_names[y]])
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        tables = {"wine": (write_wine(Path(tmp)), "cultivar"),
                  "penguins": (ROOT / "tests" / "data" / "penguins.csv", "species")}
        args.out.parent.mkdir(parents=True, exist_ok=True)
        with args.out.open("w") as fh:
            for table, method, prep, params in CASES:
                path, label = tables[table]
                results = []
                for seed in SEEDS:
                    record = {"table": table, "method": method, "prep": prep, "params": params, "seed": seed}
                    try:
                        m = run(method, str(path), labels=label, prep=prep, seed=seed, report=False,
                                params={**params, **({"verbose": False} if method in ("dec", "vade", "n2d") else {})}
                                ).metrics
                        record.update({k: round(m[k], 4) for k in ("acc", "nmi", "ari")})
                    except DeepclustError as exc:
                        record["error"] = str(exc)
                    fh.write(json.dumps(record) + "\n")
                    results.append(record)
                print(summary(results))


def summary(results: list[dict]) -> str:
    r = results[0]
    what = f"{r['table']:9s} {r['method']:14s} prep={r['prep']:8s} {json.dumps(r['params'])}"
    if "error" in r:
        return f"{what}: {r['error'][:110]}"
    cells = []
    for k in ("acc", "nmi", "ari"):
        v = np.array([x[k] for x in results])
        cells.append(f"{np.median(v):.3f} [{v.min():.3f}, {v.max():.3f}]")
    return f"{what}: " + " / ".join(cells) + "  (seeds: " + ", ".join(f"{x['acc']:.3f}" for x in results) + ")"


if __name__ == "__main__":
    main()
