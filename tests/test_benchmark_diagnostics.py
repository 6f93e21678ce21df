"""The arithmetic of the benchmark diagnostics (benchmarks/kmeans_landscape.py)."""

from __future__ import annotations

import importlib.util
import itertools
from pathlib import Path

import numpy as np
import pytest

_SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "kmeans_landscape.py"


@pytest.fixture(scope="module")
def landscape():
    spec = importlib.util.spec_from_file_location("kmeans_landscape", _SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_expected_best_of_equals_the_mean_over_every_subset(landscape):
    rng = np.random.default_rng(0)
    inertia, acc = rng.permutation(8).astype(float), rng.random(8)
    brute = np.mean([acc[list(s)][np.argmin(inertia[list(s)])] for s in itertools.combinations(range(8), 3)])
    assert landscape.expected_best_of(inertia, acc, k=3) == pytest.approx(brute)
    assert landscape.expected_best_of(inertia, acc, k=8) == pytest.approx(acc[np.argmin(inertia)])


def test_most_agreeing_partition_is_the_one_the_others_resemble(landscape):
    a = np.repeat(np.arange(3), 10)
    near = a.copy()
    near[0] = 1  # one point moved
    odd = np.tile(np.arange(3), 10)
    assert landscape.most_agreeing([odd, near, a, a.copy()]) in (2, 3)
