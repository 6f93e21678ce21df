"""DEC, IDEC and DCEC: reference defaults, stopping rule, own assignments, persistence, accuracy on digits."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from deepclust import metrics
from deepclust.base import BaseClusterer
from deepclust.errors import InputError
from deepclust.registry import make_estimator

DIGITS = load_digits()
X = (DIGITS.data / 16.0).astype(np.float32)
Y = DIGITS.target
FAST = dict(hidden_dims=(128, 128, 256), pretrain_epochs=40, pretrain_batch_size=64, maxiter=600, update_interval=30,
            random_state=0, verbose=False)
CONV = dict(input_shape=(8, 8, 1), conv_filters=(16, 32, 64))


def fast(name, **kw):
    extra = CONV if name == "dcec" else {}
    return make_estimator(name, **{**FAST, **extra, **kw})


@pytest.fixture(scope="module")
def fitted():
    return {name: fast(name).fit(X, monitor_labels=Y) for name in ("dec", "idec", "dcec")}


def test_reference_defaults():
    dec, idec, dcec = (make_estimator(n).get_params() for n in ("dec", "idec", "dcec"))
    assert (dec["hidden_dims"], dec["embedding_dim"], dec["alpha"]) == ((500, 500, 2000), 10, 1.0)
    assert (dec["optimizer"], dec["lr"], dec["momentum"], dec["batch_size"]) == ("sgd", 0.01, 0.9, 256)
    assert (dec["update_interval"], dec["tol"], dec["maxiter"], dec["n_init"]) == (140, 0.001, 20000, 20)
    assert dec["gamma"] is None
    assert (idec["gamma"], idec["optimizer"], idec["network"]) == (0.1, "adam", "mlp")
    assert (dcec["gamma"], dcec["optimizer"], dcec["network"]) == (0.1, "adam", "conv")
    assert dcec["conv_filters"] == (32, 64, 128)
    # pretraining: DEC-keras' SGD(lr=1, momentum=0.9) at batch 256; DCEC's Adam(lr=0.001)
    assert (dec["pretrain_optimizer"], dec["pretrain_lr"], dec["pretrain_momentum"]) == ("sgd", 1.0, 0.9)
    assert (dec["pretrain_batch_size"], idec["pretrain_optimizer"]) == (256, "sgd")
    assert (dcec["pretrain_optimizer"], dcec["pretrain_lr"]) == ("adam", 0.001)
    # Guo's DCEC.py: 200 pretraining epochs from Keras' glorot-uniform starts; DEC and IDEC start as PyTorch does
    assert (dcec["pretrain_epochs"], dcec["weight_init"]) == (200, "glorot")
    assert (dec["pretrain_epochs"], dec["weight_init"], idec["weight_init"]) == (50, "torch", "torch")


# Floors: FAST on digits measured ACC .715/.772 (dec), .730/.786 (idec), .786/.760 (dcec) for seeds 0/1.
@pytest.mark.parametrize("name, floor", [("dec", 0.68), ("idec", 0.69), ("dcec", 0.70)])
def test_accuracy_floor_on_digits(fitted, name, floor):
    est = fitted[name]
    assert metrics.accuracy(Y, est.labels_) >= floor
    assert metrics.nmi(Y, est.labels_) >= floor - 0.05


@pytest.mark.parametrize("name", ["dec", "idec", "dcec"])
def test_labels_are_the_methods_own_assignments(fitted, name):
    est = fitted[name]
    assert est.proba_.shape == (len(X), 10)
    np.testing.assert_allclose(est.proba_.sum(1), 1.0, rtol=1e-5)
    assert np.array_equal(est.labels_, est.proba_.argmax(1))
    assert np.array_equal(est.predict(X), est.labels_)
    assert est.cluster_centers_.shape == (10, 10) and est.transform(X[:5]).shape == (5, 10)


@pytest.mark.parametrize("name", ["dec", "idec", "dcec"])
def test_refresh_cadence_and_history(fitted, name):
    est = fitted[name]
    steps = [r["step"] for r in est.history_["refresh"]]
    assert steps == list(range(0, steps[-1] + 1, 30))
    assert est.history_["refresh"][0]["delta_label"] == 0.0  # q at init equals the k-means labels
    assert est.n_iter_ == 600 or est.stop_reason_.startswith("tol")
    assert {"acc", "nmi", "ari"} <= set(est.history_["refresh"][-1])
    comps = set(est.history_["clustering"][0])
    assert ("reconstruction" in comps) == (name != "dec") and "kl" in comps
    assert est.history_["pretrain"][-1]["reconstruction"] < est.history_["pretrain"][0]["reconstruction"]
    assert set(est.phase_seconds_) == {"pretrain", "init", "clustering", "assign"}


def test_tol_stop_fires_at_first_refresh_after_start():
    est = fast("dec", tol=1.0, pretrain_epochs=2).fit(X)
    assert est.n_iter_ == 30 and est.stop_reason_.startswith("tol")


def test_monitor_labels_do_not_change_the_result():
    a = fast("idec", pretrain_epochs=3, maxiter=60).fit(X)
    b = fast("idec", pretrain_epochs=3, maxiter=60).fit(X, monitor_labels=Y)
    assert np.array_equal(a.labels_, b.labels_)
    assert "acc" not in a.history_["refresh"][0] and "acc" in b.history_["refresh"][0]


def test_dec_trains_encoder_only_idec_trains_decoder():
    torch.manual_seed(0)
    for name, decoder_moves in (("dec", False), ("idec", True)):
        est = fast(name, pretrain_epochs=2, maxiter=1)
        est.set_params(maxiter=40)
        est.fit(X)
        # refit with zero clustering steps to get the decoder right after pretraining
        ref = fast(name, pretrain_epochs=2, maxiter=1).fit(X)
        moved = not torch.equal(est.network_.decoder_layers[0].weight, ref.network_.decoder_layers[0].weight)
        assert moved == decoder_moves


@pytest.mark.parametrize("name", ["dec", "dcec"])
def test_save_load_round_trip(tmp_path, fitted, name):
    est = fitted[name]
    est.save(tmp_path / "m")
    loaded = BaseClusterer.load(tmp_path / "m")
    assert type(loaded) is type(est) and loaded.get_params() == est.get_params()
    np.testing.assert_allclose(loaded.predict_proba(X), est.predict_proba(X), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loaded.transform(X), est.transform(X), rtol=1e-5, atol=1e-5)


def test_tampered_network_weights_are_rejected(tmp_path, fitted):
    from safetensors.numpy import load_file, save_file

    fitted["dec"].save(tmp_path / "m")
    arrays = load_file(str(tmp_path / "m" / "weights.safetensors"))
    arrays["network.encoder_layers.0.weight"] = np.zeros((3, 3), np.float32)
    save_file(arrays, str(tmp_path / "m" / "weights.safetensors"))
    import json

    cfg = json.loads((tmp_path / "m" / "config.json").read_text())
    cfg["tensors"]["network.encoder_layers.0.weight"]["shape"] = [3, 3]
    (tmp_path / "m" / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(InputError, match="encoder_layers.0.weight"):
        BaseClusterer.load(tmp_path / "m")


def test_same_seed_same_labels():
    a = fast("dec", pretrain_epochs=3, maxiter=60).fit(X).labels_
    b = fast("dec", pretrain_epochs=3, maxiter=60).fit(X).labels_
    assert np.array_equal(a, b)


def _clustering_batches(monkeypatch, maxiter, **kw):
    """The index batches of a small DEC fit's clustering phase."""
    import deepclust.methods.dec as dec_module
    from deepclust.training.loop import Trainer

    seen = []

    class Spy(Trainer):
        def run(self, step_fn):
            return super().run(lambda idx: (seen.append(idx.clone()), step_fn(idx))[1])

    monkeypatch.setattr(dec_module, "Trainer", Spy)
    fast("dec", pretrain_epochs=1, maxiter=maxiter, update_interval=100, batch_size=256, **kw).fit(X)
    return seen


def test_batch_order_data_takes_the_clustering_batches_in_data_order(monkeypatch):
    """batch_order='data' walks the data in order, last batch partial, then starts again (as the
    references); the default shuffles every epoch."""
    seen = _clustering_batches(monkeypatch, 9, batch_order="data")
    assert len(seen) == 9 and all(torch.equal(seen[i], torch.arange(i * 256, (i + 1) * 256)) for i in range(7))
    assert torch.equal(seen[7], torch.arange(1792, 1797)) and torch.equal(seen[8], torch.arange(256))
    seen = _clustering_batches(monkeypatch, 8)
    assert not torch.equal(seen[0], torch.arange(256))
    assert sorted(torch.cat(seen[:8]).tolist()) == list(range(1797))  # one epoch: every point once
    with pytest.raises(InputError, match="batch_order"):
        make_estimator("dec", batch_order="sorted", verbose=False).fit(X)


def test_batch_order_cyclic_reads_the_data_as_a_ring(monkeypatch):
    """batch_order='cyclic' (the DEC authors' Caffe code): every batch full, running over the end into the start."""
    seen = _clustering_batches(monkeypatch, 9, batch_order="cyclic")
    assert len(seen) == 9 and all(len(b) == 256 for b in seen)
    assert torch.equal(seen[7], torch.arange(1792, 2048) % 1797) and torch.equal(seen[8], torch.arange(251, 507))


def _clustering_optimizer(monkeypatch, **kw):
    import deepclust.methods.dec as dec_module

    made, real = [], dec_module.make_optimizer
    monkeypatch.setattr(dec_module, "make_optimizer", lambda *a, **k: made.append(real(*a, **k)) or made[-1])
    est = fast("dec", pretrain_epochs=1, maxiter=5, **kw).fit(X)
    return est, made[-1]


def test_bias_lr_scale_gives_the_biases_their_own_rate(monkeypatch):
    est, opt = _clustering_optimizer(monkeypatch, bias_lr_scale=2.0, lr=0.05)
    weights, biases = opt.param_groups
    assert (weights["lr"], biases["lr"], biases["lr_scale"]) == (0.05, 0.1, 2.0)
    assert all(p.dim() == 1 for p in biases["params"]) and len(biases["params"]) == 4  # the 4 encoder layers
    assert any(p is est.cluster_centers_t_ for p in weights["params"])  # the centres learn at lr
    _, opt = _clustering_optimizer(monkeypatch)
    assert len(opt.param_groups) == 1 and opt.param_groups[0]["lr"] == 0.01  # the default: one rate


def test_momentum_restart_at_every_step_equals_sgd_without_momentum():
    """momentum_restart clears the SGD momentum at each refresh (the DEC authors' Caffe code starts
    a new solver run per refresh); refreshed every step, the training is momentum-free SGD."""
    common = dict(pretrain_epochs=2, maxiter=12, update_interval=1, tol=0.0)
    restarted = fast("dec", momentum=0.9, momentum_restart=True, **common).fit(X)
    plain = fast("dec", momentum=0.0, **common).fit(X)
    with_momentum = fast("dec", momentum=0.9, **common).fit(X)
    np.testing.assert_array_equal(restarted.cluster_centers_, plain.cluster_centers_)
    assert not np.array_equal(restarted.cluster_centers_, with_momentum.cluster_centers_)


def test_pretraining_batch_order_reaches_the_trainer(monkeypatch):
    import deepclust.training.pretrain as pretrain
    from deepclust.training.loop import Trainer

    orders = []

    class Spy(Trainer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            orders.append(self.order)

    monkeypatch.setattr(pretrain, "Trainer", Spy)
    fast("dec", pretrain_epochs=1, maxiter=2, pretrain_batch_order="cyclic").fit(X)
    assert orders == ["cyclic"]
    with pytest.raises(InputError, match="pretrain_batch_order"):
        make_estimator("dec", pretrain_batch_order="sorted", verbose=False).fit(X)


def test_dcec_needs_an_image_shape():
    with pytest.raises(InputError, match="input_shape"):
        make_estimator("dcec", pretrain_epochs=1, maxiter=1, verbose=False).fit(np.random.rand(20, 10))
    with pytest.raises(InputError, match="does not match"):
        make_estimator("dcec", input_shape=(4, 4, 1), verbose=False).fit(X)


@pytest.mark.filterwarnings("ignore::deepclust.errors.CollapseWarning")  # one epoch a stage: the path, not the clusters
@pytest.mark.parametrize("mode", ["stacked", "stacked-caffe"])
def test_stacked_pretraining_path(mode):
    est = fast("dec", pretrain=mode, layer_epochs=1, pretrain_epochs=1, maxiter=30).fit(X)
    phases = [r["phase"] for r in est.history_["pretrain"]]
    assert phases[0] == "pretrain layer 1/4" and phases[-1] == "pretrain"


def test_bad_device_is_one_sentence():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(InputError, match="no CUDA GPU"):
        fast("dec", device="cuda").fit(X)


@pytest.mark.parametrize("name", ["ae+kmeans", "cae+kmeans", "ae+gmm"])
def test_autoencoder_two_stage(tmp_path, name):
    extra = {"conv_filters": (16, 32, 64), "input_shape": (8, 8, 1)} if name.startswith("cae") else {}
    est = make_estimator(name, random_state=0, hidden_dims=(128, 128, 256), pretrain_epochs=40,
                         pretrain_batch_size=64, verbose=False, **extra)
    labels = est.fit_predict(X)
    assert est.embedding_.shape == (len(X), 10)
    assert metrics.accuracy(Y, labels) >= 0.6  # measured .75 (ae+kmeans), .72 (cae+kmeans), .68 (ae+gmm)
    assert set(est.phase_seconds_) == {"reduce", "cluster"} and est.history_["pretrain"]
    est.save(tmp_path / "m")
    loaded = BaseClusterer.load(tmp_path / "m")
    assert np.array_equal(loaded.predict(X), est.predict(X))


def test_ae_kmeans_is_decs_start():
    """``ae+kmeans`` restarts k-means 20 times, as DEC starts its clustering layer, so with the
    same seed and autoencoder it is DEC's starting partition (DEC-keras' AE + k-means row);
    a user's ``n_init`` still wins, and other pipelines keep k-means' own 10 restarts."""
    from deepclust.training.init import initial_clusters

    est = make_estimator("ae+kmeans", random_state=0, hidden_dims=(128, 128, 256), pretrain_epochs=20,
                         pretrain_batch_size=64, verbose=False).fit(X)
    assert est.clusterer_.n_init == 20
    _, start = initial_clusters(est.embedding_, 10, "kmeans", 20, seed=0)
    assert np.array_equal(est.labels_, start)
    assert make_estimator("ae+kmeans", n_init=5)._build("clusterer").n_init == 5
    assert make_estimator("cae+kmeans")._build("clusterer").n_init == 10
    assert make_estimator("pca+kmeans")._build("clusterer").n_init == 10
