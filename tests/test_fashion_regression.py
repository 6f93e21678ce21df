"""Real-data regression test: IDEC on a fixed Fashion-MNIST subset, against a measured floor.

The subset is Fashion-MNIST's 10,000 test images (``split="test"``), read from the Debian
package ``dataset-fashion-mnist`` that ``.ci/run`` installs. The schedule is shortened to
keep the test near two minutes on two CPU cores (20 pretraining epochs, at most 3,000
clustering steps); everything else is IDEC's default. The floor comes from
``python tests/test_fashion_regression.py`` (seeds 0, 1, 2; seeds 0 and 1 recorded below).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from deepclust import metrics
from deepclust.data import load_dataset
from deepclust.registry import make_estimator

SETTINGS = dict(pretrain_epochs=20, maxiter=3000, verbose=False)
# Measured 2026-11-23 (fused Adam) on the 2-core machine, alone, with
# `python tests/test_fashion_regression.py`:
#   seed 0: ACC 0.5668 NMI 0.5749 ARI 0.4311 (max_steps, 241 s)
#   seed 1: ACC 0.5106 NMI 0.5623 ARI 0.3946 (tol: 0.0005 of labels changed, 163 s)
#   seed 2: ACC 0.5184 NMI 0.5396 ARI 0.3758 (max_steps, 249 s)
# The test runs seed 0; the floor sits below all three seeds (before fused Adam, 2026-11-22:
# seed 0 .5349 / .5439, seed 1 .5177 / .5316), leaving room for other CPUs' rounding.
FLOOR = {"acc": 0.50, "nmi": 0.50}


def _have_fashion() -> bool:
    from deepclust.errors import DeepclustError

    try:
        load_dataset("fashion-mnist", split="test", download=False)
    except DeepclustError:
        return False
    return True


def fit_subset(seed: int):
    """IDEC on the 10,000 Fashion-MNIST test images; returns (estimator, true labels)."""
    ds = load_dataset("fashion-mnist", split="test", download=False)
    est = make_estimator("idec", n_clusters=10, random_state=seed, **SETTINGS).fit(ds.X)
    return est, ds.y


@pytest.mark.skipif(not _have_fashion(), reason="needs the dataset-fashion-mnist package (.ci/run installs it)")
def test_idec_on_fashion_test_split_stays_above_its_floor():
    est, y = fit_subset(0)
    scores = {"acc": metrics.accuracy(y, est.labels_), "nmi": metrics.nmi(y, est.labels_)}
    assert scores["acc"] >= FLOOR["acc"] and scores["nmi"] >= FLOOR["nmi"], scores
    assert est.stop_reason_.split(":")[0] in ("tol", "max_steps"), est.stop_reason_  # "tol: 0.0006 of labels ..."
    assert np.bincount(est.labels_, minlength=10).min() > 0  # no empty cluster


if __name__ == "__main__":  # the measurement behind FLOOR
    import time

    for seed in (0, 1, 2):
        start = time.perf_counter()
        est, y = fit_subset(seed)
        print(f"seed {seed}: ACC {metrics.accuracy(y, est.labels_):.4f} NMI {metrics.nmi(y, est.labels_):.4f} "
              f"ARI {metrics.ari(y, est.labels_):.4f} stop {est.stop_reason_} "
              f"{time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
