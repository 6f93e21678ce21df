"""Peak memory of ``deepclust predict`` on a 1,000,000 x 784 uint8 ``.npy`` (3 GB as float32).

    .venv/bin/python benchmarks/memmap_predict.py --out benchmarks/memmap/results.json

1. Fits two small models on 10,000 Fashion-MNIST images and saves them: ``idec`` (a deep
   model; short schedule, the point is memory, not accuracy) and ``kmeans`` (classic).
2. Writes a 1,000,000 x 28 x 28 uint8 ``.npy`` (Fashion-MNIST tiled) with
   ``numpy.lib.format.open_memmap``, 784 MB on disk.
3. Runs ``deepclust predict`` on it for each model under ``/usr/bin/time -v`` and records
   the maximum resident set size, the wall time and the fraction of labels that agree with
   predicting the same 70,000 images in memory (the first 70,000 rows). Agreement is not
   exactly 1 for the deep model: matrix products over chunks of different sizes round the
   last bits differently, which moves a few points that sit on a cluster border.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
N_ROWS = 1_000_000


def fit_models(work: Path, X: np.ndarray) -> dict[str, Path]:
    from deepclust.registry import make_estimator

    models = {
        "idec": make_estimator("idec", n_clusters=10, random_state=0, pretrain_epochs=2, maxiter=500,
                               verbose=False),
        "kmeans": make_estimator("kmeans", n_clusters=10, random_state=0),
    }
    paths = {}
    for name, est in models.items():
        est.fit(X[:10_000])
        paths[name] = est.save(work / f"model-{name}")
    return paths


def write_big(path: Path, images: np.ndarray) -> None:
    big = np.lib.format.open_memmap(path, mode="w+", dtype=np.uint8, shape=(N_ROWS, 28, 28))
    for start in range(0, N_ROWS, len(images)):
        stop = min(N_ROWS, start + len(images))
        big[start:stop] = images[: stop - start]
    big.flush()
    del big


def measure(model: Path, data: Path, out_csv: Path) -> dict:
    cmd = ["/usr/bin/time", "-v", str(ROOT / ".venv/bin/deepclust"), "predict", "--model", str(model),
           "--data", str(data), "--out", str(out_csv), "--force"]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - start
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    return {"command": " ".join(cmd[2:]), "max_rss_mib": round(rss_kb / 1024, 1), "seconds": round(seconds, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args()
    sys.path.insert(0, str(ROOT))
    from deepclust.base import BaseClusterer
    from deepclust.data import load_dataset

    ds = load_dataset("fashion-mnist")
    images = np.round(ds.images()[..., 0] * 255).astype(np.uint8)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        models = fit_models(work, ds.X)
        big = work / "fashion_1m_uint8.npy"
        write_big(big, images)
        for name, model in models.items():
            row = {"model": name, "rows": N_ROWS, "file_mib": round(big.stat().st_size / 2**20, 1),
                   **measure(model, big, work / f"{name}.csv")}
            streamed = np.loadtxt(work / f"{name}.csv", delimiter=",", skiprows=1, usecols=1, dtype=np.int64)
            in_memory = BaseClusterer.load(model).predict(ds.X)
            row["agreement_with_in_memory"] = float(np.mean(streamed[: len(ds.X)] == in_memory))
            rows.append(row)
            print(json.dumps(row))
    result = {"date": time.strftime("%Y-%m-%d"), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
