"""pretrain_cache: a pretrained autoencoder is reused across fits and methods with identical results."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.datasets import load_digits

from deepclust.bench import run_seconds
from deepclust.errors import InputError
from deepclust.registry import make_estimator
from deepclust.runtime import cpu_description

X = (load_digits().data[:600] / 16.0).astype(np.float32)
AE = {"hidden_dims": (32, 32, 64), "pretrain_epochs": 3, "pretrain_batch_size": 64, "verbose": False}
IDEC = {**AE, "maxiter": 60, "update_interval": 20, "n_clusters": 10, "random_state": 4}

pytestmark = pytest.mark.filterwarnings("ignore::deepclust.errors.CollapseWarning")


def test_cache_miss_then_hit_gives_identical_labels(tmp_path):
    plain = make_estimator("idec", **IDEC).fit(X)
    first = make_estimator("idec", **IDEC, pretrain_cache=str(tmp_path)).fit(X)
    second = make_estimator("idec", **IDEC, pretrain_cache=str(tmp_path)).fit(X)
    assert not first.pretrain_cached_ and second.pretrain_cached_
    np.testing.assert_array_equal(plain.labels_, first.labels_)
    np.testing.assert_array_equal(first.labels_, second.labels_)
    np.testing.assert_allclose(first.proba_, second.proba_, rtol=0, atol=0)
    assert second.history_["pretrain"] == first.history_["pretrain"]
    assert second.pretrain_cache_seconds_ > 0
    assert first.pretrain_cache_cpu_ is None and second.pretrain_cache_cpu_ == cpu_description()
    entries = list(tmp_path.iterdir())
    assert len(entries) == 1 and {p.name for p in entries[0].iterdir()} == {"meta.json", "weights.safetensors"}


def test_the_cache_is_shared_across_methods_with_the_same_autoencoder(tmp_path):
    make_estimator("idec", **IDEC, pretrain_cache=str(tmp_path)).fit(X)
    reducer = {**AE, "pretrain_cache": str(tmp_path)}
    shared = make_estimator("ae+kmeans", n_clusters=10, random_state=4, reducer_params=reducer).fit(X)
    fresh = make_estimator("ae+kmeans", n_clusters=10, random_state=4, reducer_params=AE).fit(X)
    assert shared.pretrain_cached_
    np.testing.assert_array_equal(shared.labels_, fresh.labels_)


@pytest.mark.parametrize("change", [{"random_state": 5}, {"pretrain_epochs": 2}, {"embedding_dim": 6},
                                    {"weight_init": "glorot"}])
def test_different_inputs_do_not_hit(tmp_path, change):
    make_estimator("idec", **IDEC, pretrain_cache=str(tmp_path)).fit(X)
    other = make_estimator("idec", **{**IDEC, **change}, pretrain_cache=str(tmp_path)).fit(X)
    assert not other.pretrain_cached_ and len(list(tmp_path.iterdir())) == 2
    again = make_estimator("idec", **IDEC, pretrain_cache=str(tmp_path)).fit(X[:500])  # other data
    assert not again.pretrain_cached_


def test_a_damaged_entry_is_refused_clearly(tmp_path):
    make_estimator("idec", **IDEC, pretrain_cache=str(tmp_path)).fit(X)
    entry = next(tmp_path.iterdir())
    (entry / "weights.safetensors").write_bytes(b"\x80\x04not a tensor file")
    with pytest.raises(InputError, match="unreadable.*delete the folder"):
        make_estimator("idec", **IDEC, pretrain_cache=str(tmp_path)).fit(X)


def test_bench_timing_counts_the_cached_pretraining():
    row = {"seconds": {"fit": 10.0, "load": 1.0}, "pretrain_cached": True, "pretrain_cache_seconds": 100.0}
    assert run_seconds(row) == 111.0
    assert run_seconds({**row, "pretrain_cached": False}) == 11.0


def test_adam_pretrainings_are_keyed_by_the_adam_implementation():
    from deepclust.training.optim import adam_implementation
    from deepclust.training.pretrain import PretrainConfig
    from deepclust.training.pretrain_cache import cache_key

    _, adam = cache_key({"kind": "mlp"}, PretrainConfig(optimizer="adam"), "f")
    _, sgd = cache_key({"kind": "mlp"}, PretrainConfig(optimizer="sgd"), "f")
    assert adam["adam"] == adam_implementation() and "adam" not in sgd


def test_integer_and_float_settings_give_one_key():
    from deepclust.training.pretrain import PretrainConfig
    from deepclust.training.pretrain_cache import cache_key

    as_int = cache_key({"kind": "mlp"}, PretrainConfig(optimizer="sgd", lr=1, momentum=1, sparsity=0), "f")
    as_float = cache_key({"kind": "mlp"}, PretrainConfig(optimizer="sgd", lr=1.0, momentum=1.0, sparsity=0.0), "f")
    assert as_int == as_float and isinstance(as_int[1]["pretraining"]["lr"], float)


@pytest.mark.parametrize("field, value", [("lr_step", 20_000), ("batch_order", "cyclic")])
def test_settings_added_later_keep_the_key_at_their_former_behaviour(field, value):
    """``lr_step`` and ``batch_order`` came later: at 0 and "shuffle" (what pretraining did before
    them) they are left out of the key, so older cache entries are still found."""
    from deepclust.training.pretrain import PretrainConfig
    from deepclust.training.pretrain_cache import cache_key

    key, inputs = cache_key({"kind": "mlp"}, PretrainConfig(optimizer="sgd"), "f")
    other, other_inputs = cache_key({"kind": "mlp"}, PretrainConfig(optimizer="sgd", **{field: value}), "f")
    assert field not in inputs["pretraining"] and other_inputs["pretraining"][field] == value
    assert key != other


def test_a_resumed_pretraining_is_marked_in_the_cache_and_in_the_fits_that_load_it(tmp_path):
    """Its cache entry's seconds are only the resumed part's, so the fits that load it say so."""
    ckpt, fresh, cont = (str(tmp_path / d) for d in ("ckpt", "fresh", "cont"))
    first = make_estimator("idec", **IDEC, pretrain_cache=fresh, checkpoint_dir=ckpt).fit(X)
    assert not first.pretrain_cache_resumed_
    assert not make_estimator("idec", **IDEC, pretrain_cache=fresh).fit(X).pretrain_cache_resumed_
    continued = make_estimator("idec", **IDEC, pretrain_cache=cont, checkpoint_dir=ckpt).fit(X, resume=True)
    assert not continued.pretrain_cached_  # it pretrained itself, from the checkpoint
    loaded = make_estimator("idec", **IDEC, pretrain_cache=cont).fit(X)
    assert loaded.pretrain_cached_ and loaded.pretrain_cache_resumed_
    np.testing.assert_array_equal(loaded.labels_, first.labels_)


def test_a_row_with_a_resumed_cached_pretraining_has_no_run_time():
    from deepclust.bench import timing_complete

    row = {"seconds": {"fit": 10.0}, "pretrain_cached": True, "pretrain_cache_seconds": 100.0}
    assert timing_complete(row)
    assert not timing_complete({**row, "pretrain_cache_resumed": True})
    assert not timing_complete({**row, "resumed": True})


def test_bench_rows_say_where_a_cached_pretraining_ran_and_whether_it_was_resumed(tmp_path):
    """A cell that loads a cached autoencoder records the CPU that pretrained it (its seconds are
    that host's) and whether that pretraining had been resumed (then its time is incomplete)."""
    import json

    from deepclust.bench import read_results, run_bench

    sets = ["hidden_dims=[32,32,64]", "pretrain_epochs=2", "maxiter=20", "update_interval=10",
            f"pretrain_cache={tmp_path / 'cache'}"]
    run_bench(["idec"], ["digits"], [0], tmp_path / "a", overrides=sets, progress=False)
    run_bench(["idec"], ["digits"], [0], tmp_path / "b", overrides=sets, progress=False)
    [trained] = read_results(tmp_path / "a" / "results.jsonl")
    [loaded] = read_results(tmp_path / "b" / "results.jsonl")
    assert not trained["pretrain_cached"] and trained["pretrain_cache_cpu"] is None
    assert loaded["pretrain_cached"] and loaded["pretrain_cache_cpu"] == loaded["versions"]["cpu"]
    assert loaded["pretrain_cache_resumed"] is False
    [entry] = (tmp_path / "cache").iterdir()
    assert json.loads((entry / "meta.json").read_text())["cpu"] == cpu_description()
