"""The arithmetic of the benchmark diagnostics (benchmarks/kmeans_landscape.py, benchmarks/anchor_odds.py)."""

from __future__ import annotations

import importlib.util
import itertools
import json
from pathlib import Path

import numpy as np
import pytest

_BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def _script(name: str):
    spec = importlib.util.spec_from_file_location(name, _BENCHMARKS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def landscape():
    return _script("kmeans_landscape")


@pytest.fixture(scope="module")
def odds():
    return _script("anchor_odds")


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


def test_pass_rates_count_the_subsets_whose_median_reaches_the_anchor(odds):
    trials = np.array([[1.0, 4.0], [2.0, 3.0], [3.0, 2.0], [4.0, 1.0]])
    # 3-subsets: {1,2,3} {1,2,4} {1,3,4} {2,3,4}; medians (2, 3) (2, 3) (3, 2) (3, 2)
    np.testing.assert_array_equal(odds.subset_medians(trials), [[2, 3], [2, 3], [3, 2], [3, 2]])
    per_metric, every = odds.pass_rates(trials, np.array([2.5, 2.5]))
    np.testing.assert_array_equal(per_metric, [0.5, 0.5])
    assert every == 0.0
    assert odds.pass_rates(trials, np.array([2.0, 2.0]))[1] == 1.0
    # the same subsets in both tables: only subsets passing both count
    assert odds.joint_pass_rate([trials, trials[::-1]], [np.array([2.5, 0.0]), np.array([2.5, 0.0])]) == 0.0


def test_the_dec_keras_trials_average_to_the_anchors(odds):
    for name, trials in (("AE + k-means", odds.DEC_KERAS_AE_KMEANS), ("DEC", odds.DEC_KERAS_DEC)):
        np.testing.assert_allclose(trials.mean(axis=0), odds.ANCHORS[name], atol=5e-4)


def test_recipe_runs_keep_the_latest_record_of_each_seed_and_ignore_the_cache(odds, tmp_path):
    def rec(seed, acc, overrides, **kw):
        base = {"status": "ok", "data": "fashion-mnist", "method": "dec", "seed": seed,
                "overrides": overrides, "metrics": {"acc": acc, "nmi": 0.5, "ari": 0.4}}
        rec = {**base, **kw}
        rec["key"] = f"{rec['method']}|{rec['data']}|{seed}|{','.join(overrides)}"
        return json.dumps(rec)

    path = tmp_path / "results.jsonl"
    path.write_text("\n".join([
        rec(0, 0.50, ["pretrain_epochs=300", "pretrain_cache=/a"]),
        rec(0, 0.60, ["pretrain_epochs=300", "pretrain_cache=/b"]),  # later record of seed 0 wins
        rec(1, 0.70, ["pretrain_epochs=300"]),
        rec(2, 0.90, ["pretrain_epochs=300"], data="mnist"),  # other data: left out
        rec(2, 0.90, ["pretrain_epochs=300"], status="failed"),  # failed run: left out
        rec(2, 0.80, [], method="vade"),  # not a DEC-family row
    ]) + "\n")
    runs = odds.recipe_runs([path])
    assert runs == {("dec", ("pretrain_epochs=300",)): {0: (0.60, 0.5, 0.4), 1: (0.70, 0.5, 0.4)}}


def test_rank_test_gives_the_exact_mann_whitney_tail(odds):
    reference = np.arange(10, 20, dtype=float)[:, None]
    all_lower = np.array([[1.0], [2.0], [3.0]])
    # every one of the C(13, 3) = 286 rankings is equally likely; all three lowest is one of them
    assert odds.rank_test(all_lower, reference)[0] == pytest.approx(1 / 286)
    assert odds.rank_test(reference[-3:] + 10, reference)[0] == pytest.approx(1.0)


def test_dec_gains_pair_each_seed_with_its_own_start(odds):
    runs = {("ae+kmeans", ("a",)): {0: (0.5, 0.6, 0.4), 1: (0.6, 0.6, 0.5), 2: (0.7, 0.7, 0.6)},
            ("dec", ("a",)): {0: (0.6, 0.6, 0.5), 1: (0.5, 0.7, 0.5), 3: (0.9, 0.9, 0.9)},  # seed 3 has no start
            ("dec", ("b",)): {0: (0.6, 0.6, 0.5)},  # no start recorded for this recipe
            ("idec", ("a",)): {0: (0.9, 0.9, 0.9)}}
    gains = odds.dec_gains(runs)
    assert list(gains) == [("a",)]
    np.testing.assert_allclose(gains[("a",)], [[0.1, 0.0, 0.1], [-0.1, 0.1, 0.0]])
    # DEC-keras' own trials: DEC gains over its start in 9 of 10 (ACC), median about +.013 / +.015 / +.017
    reference = odds.DEC_KERAS_DEC - odds.DEC_KERAS_AE_KMEANS
    assert (reference[:, 0] > 0).sum() == 9
    np.testing.assert_allclose(np.median(reference, axis=0), [0.013, 0.015, 0.017], atol=1.5e-3)


def test_keras_gains_keep_the_last_line_of_each_keras_autoencoder(odds, tmp_path):
    def line(weights, start, dec):
        keys = ("acc", "nmi", "ari")
        return json.dumps({"weights": weights, "ae_kmeans": dict(zip(keys, start, strict=True)),
                           "dec": dict(zip(keys, dec, strict=True))})

    path = tmp_path / "results.jsonl"
    path.write_text("\n".join([
        line("/tmp/deepclust-pretrain-cache/abc/weights.safetensors", (0.5, 0.5, 0.5), (0.9, 0.9, 0.9)),  # ours
        line("benchmarks/keras-ae/seed0.safetensors", (0.5, 0.6, 0.4), (0.6, 0.6, 0.3)),
        line("benchmarks/keras-ae/seed1.safetensors", (0.5, 0.5, 0.5), (0.5, 0.7, 0.5)),
        line("benchmarks/keras-ae/seed0.safetensors", (0.5, 0.6, 0.4), (0.7, 0.6, 0.5)),  # later line wins
    ]) + "\n")
    gains = odds.keras_gains(path)
    assert list(gains) == ["benchmarks/keras-ae/seed0.safetensors", "benchmarks/keras-ae/seed1.safetensors"]
    np.testing.assert_allclose(gains["benchmarks/keras-ae/seed0.safetensors"], [0.2, 0.0, 0.1])
    np.testing.assert_allclose(gains["benchmarks/keras-ae/seed1.safetensors"], [0.0, 0.2, 0.0])


@pytest.fixture(scope="module")
def lockstep():
    return _script("lockstep")


def test_lockstep_batches_cover_each_epoch_once_with_a_partial_last_batch(lockstep):
    n = 600  # 256 + 256 + 88 per epoch
    got = lockstep.batches(n, steps=7, seed=3)
    assert [len(b) for b in got] == [256, 256, 88, 256, 256, 88, 256]
    for epoch in (got[0:3], got[3:6]):
        assert sorted(np.concatenate(epoch).tolist()) == list(range(n))
    assert not np.array_equal(np.concatenate(got[0:3]), np.concatenate(got[3:6]))  # reshuffled
    again = lockstep.batches(n, steps=7, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(got, again, strict=True))
    assert lockstep.saved_steps(30) == [0, 1, 2, 5, 10, 20, 30]
    assert lockstep.saved_steps(20) == [0, 1, 2, 5, 10, 20]


def test_lockstep_relative_gaps_are_norm_ratios_per_parameter(lockstep):
    import torch

    theirs = {"w": torch.tensor([[3.0, 4.0]]), "b": torch.tensor([2.0])}
    ours = {"w": torch.tensor([[3.0, 4.5]]), "b": torch.tensor([2.0])}
    gaps = lockstep.relative_gaps(ours, theirs)
    assert gaps["per_parameter"] == {"w": pytest.approx(0.1), "b": 0.0}
    assert gaps["max"] == pytest.approx(0.1)


def test_lockstep_compare_runs_reads_two_saved_runs_step_by_step(lockstep, tmp_path):
    import torch
    from safetensors.torch import save_file

    (tmp_path / "keras.json").write_text(json.dumps({"saved": [0, 2], "losses": [1.0, 0.5]}))
    (tmp_path / "ours.json").write_text(json.dumps({"losses": [1.0, 0.6]}))
    for run, last in (("keras", 2.0), ("ours", 2.2)):
        save_file({"encoder_layers.3.weight": torch.ones(2, 2)}, str(tmp_path / f"{run}-0.safetensors"))
        save_file({"encoder_layers.3.weight": torch.full((2, 2), last)}, str(tmp_path / f"{run}-2.safetensors"))
    first, last = lockstep.compare_runs(tmp_path, "ours", "keras")
    assert first["weights_rel_gap_max"] == 0.0 and first["loss_mean_last100"] is None
    assert last["step"] == 2 and last["embedding_weight_rel_gap"] == pytest.approx(0.1)
    assert last["loss_mean_last100"] == pytest.approx(0.8)
    assert last["reference_loss_mean_last100"] == pytest.approx(0.75)
    assert last["loss_rel_gap_max_so_far"] == pytest.approx(0.2)
    assert (tmp_path / "ours-vs-keras.jsonl").read_text().count("\n") == 2


def test_consensus_subsets_scores_every_subset_of_each_size(tmp_path, monkeypatch, capsys):
    from sklearn.cluster import KMeans
    from sklearn.datasets import load_digits

    from deepclust import metrics

    X, y = load_digits(return_X_y=True)
    paths = []
    for s in range(4):
        paths.append(tmp_path / f"run{s}.npy")
        np.save(paths[-1], KMeans(10, n_init=1, random_state=s).fit_predict(X))
    out = tmp_path / "c.jsonl"
    monkeypatch.setattr("sys.argv", ["x", "--data", "digits", "--sizes", "2 4", "--out", str(out), *map(str, paths)])
    _script("consensus_subsets").main()
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(r["size"], r["method"]) for r in rows].count((2, "qmi")) == 6  # C(4, 2)
    assert len(rows) == 2 * (6 + 1)
    accs = [metrics.accuracy(y, np.load(p)) for p in paths]
    for r in rows:
        assert r["members_median_acc"] == pytest.approx(np.median([accs[i] for i in r["subset"]]))
        if r["method"] == "medoid":
            assert r["acc"] == pytest.approx(accs[r["subset"][r["medoid"]]])
    table = capsys.readouterr().out
    assert "| 4 runs | qmi | 1 |" in table and "| single runs | - | 4 |" in table
