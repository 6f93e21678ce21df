"""The shared training loop, its callbacks, pretraining modes and cluster initialisation."""

import numpy as np
import pytest
import torch

from deepclust.nn import MLPAutoencoder, target_distribution
from deepclust.training import Callback, LossHistory, Trainer
from deepclust.training.callbacks import MomentumBurnIn, OptimizerRestart, StepDecay, TargetRefresh
from deepclust.training.init import initial_clusters
from deepclust.training.pretrain import (
    CAFFE_INIT_STD,
    STACKED_MODES,
    PretrainConfig,
    corrupt,
    pretrain_autoencoder,
    train_epochs,
)


class Recorder(Callback):
    def __init__(self):
        self.batches = []

    def on_step_end(self, trainer, logs):
        self.batches.append(logs["idx"])


def _run(n, bs, steps, seed=0, start_step=0):
    rec = Recorder()
    t = Trainer(n, bs, steps, seed=seed, callbacks=[rec])
    t.step = start_step
    t.run(lambda idx: {"idx": idx.tolist()})
    return t, rec.batches


def test_trainer_covers_every_sample_once_per_epoch():
    t, batches = _run(10, 4, 6)
    assert t.steps_per_epoch == 3 and t.stop_reason == "max_steps"
    assert [len(b) for b in batches] == [4, 4, 2, 4, 4, 2]
    assert sorted(sum(batches[:3], [])) == list(range(10))
    assert batches[:3] != batches[3:]  # a new permutation each epoch


def test_trainer_order_depends_only_on_seed_and_step():
    _, full = _run(10, 4, 7, seed=3)
    _, resumed = _run(10, 4, 7, seed=3, start_step=4)
    assert resumed == full[4:]
    _, other = _run(10, 4, 7, seed=4)
    assert other != full


def test_trainer_batch_orders():
    """'data': stored order, last batch of each pass partial; 'cyclic': stored order as a ring, every batch full."""
    def batches(order, steps=5, start_step=0):
        rec = Recorder()
        t = Trainer(10, 4, steps, callbacks=[rec], order=order)
        t.step = start_step
        t.run(lambda idx: {"idx": idx.tolist()})
        return rec.batches

    assert batches("data") == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3], [4, 5, 6, 7]]
    assert batches("cyclic") == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 0, 1], [2, 3, 4, 5], [6, 7, 8, 9]]
    assert batches("cyclic", start_step=3) == batches("cyclic")[3:]  # a resumed run continues the ring
    with pytest.raises(ValueError, match="unknown batch order 'sorted'"):
        Trainer(10, 4, 5, order="sorted")


def test_optimizer_restart_clears_the_momentum_at_each_interval():
    """Restarted every step, SGD with momentum takes plain gradient steps: the same as momentum 0."""
    torch.manual_seed(0)
    target = torch.randn(5)
    finals = []
    for momentum, restart in ((0.9, True), (0.0, False), (0.9, False)):
        w = torch.nn.Parameter(torch.zeros(5))
        opt = torch.optim.SGD([w], lr=0.1, momentum=momentum)

        def step(idx, w=w, opt=opt):
            opt.zero_grad()
            ((w - target) ** 2).sum().backward()
            opt.step()
            return {}

        Trainer(10, 1, 6, callbacks=[OptimizerRestart(opt, 1)] if restart else []).run(step)
        finals.append(w.detach().clone())
    torch.testing.assert_close(finals[0], finals[1], rtol=0, atol=0)
    assert not torch.allclose(finals[0], finals[2])
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    opt.state["x"] = {"momentum_buffer": torch.ones(1)}
    restart = OptimizerRestart(opt, 3)
    for step, kept in ((4, True), (6, False)):
        opt.state["x"] = {"momentum_buffer": torch.ones(1)}
        restart.on_step_start(type("T", (), {"step": step})())
        assert ("x" in opt.state) == kept


def test_request_stop_and_loss_history():
    class StopAt(Callback):
        def on_step_start(self, trainer):
            if trainer.step == 5:
                trainer.request_stop("enough")

    hist = LossHistory("x", every=2)
    t = Trainer(100, 10, 50, callbacks=[StopAt(), hist])
    t.run(lambda idx: {"loss": float(idx.numel())})
    assert t.step == 5 and t.stop_reason == "enough"
    assert [r["step"] for r in hist.records] == [2, 4, 5]
    assert hist.records[0] == {"phase": "x", "step": 2, "loss": 10.0}


def test_target_refresh_uses_whole_dataset_and_never_stops_at_step_zero():
    q_all = torch.tensor([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    calls = []

    def assign():
        calls.append(1)
        return q_all

    refresh = TargetRefresh(3, tol=0.5, assign=assign, target=target_distribution,
                            initial_labels=np.array([0, 1, 0, 1]))
    t = Trainer(4, 2, 20, callbacks=[refresh])
    t.run(lambda idx: {"loss": 0.0})
    # step 0: labels equal the initial ones (delta 0) but no stop; step 3: delta 0 < tol -> stop
    assert [r["step"] for r in refresh.records] == [0, 3]
    assert refresh.records[0]["delta_label"] == 0.0 and t.step == 3
    assert t.stop_reason.startswith("tol")
    torch.testing.assert_close(refresh.target, target_distribution(q_all))  # f over all points
    assert "acc" not in refresh.records[0]


def test_target_refresh_records_monitor_metrics_without_using_them():
    q = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    refresh = TargetRefresh(1, tol=0.0, assign=lambda: q, target=target_distribution,
                            monitor_labels=np.array([1, 0]))
    Trainer(2, 1, 3, callbacks=[refresh]).run(lambda idx: {})
    assert len(refresh.records) == 3 and refresh.records[0]["acc"] == 1.0


def test_step_decay_sets_every_group_before_each_step_and_stops_at_the_floor():
    params = [torch.nn.Parameter(torch.zeros(1)) for _ in range(3)]
    opts = (torch.optim.SGD([{"params": params[:1]}, {"params": params[1:2]}], lr=9.0),
            torch.optim.SGD(params[2:], lr=9.0))
    seen = []

    def step(idx):
        seen.append([g["lr"] for o in opts for g in o.param_groups])
        return {}

    Trainer(10, 1, 7, callbacks=[StepDecay(opts, 1.0, 0.1, 2, floor=0.005)]).run(step)
    expected = [1.0, 1.0, 0.1, 0.1, 0.01, 0.01, 0.005]  # 0.001 at steps 6-7 is under the floor
    np.testing.assert_allclose(seen, [[lr] * 3 for lr in expected])
    assert StepDecay(opts, 0.1, 0.1, 20_000).lr_at(39_999) == pytest.approx(0.01)


def test_step_decay_keeps_a_groups_rate_multiplier():
    w, b = torch.nn.Parameter(torch.zeros(2, 2)), torch.nn.Parameter(torch.zeros(2))
    opt = torch.optim.SGD([{"params": [w]}, {"params": [b], "lr_scale": 2.0}], lr=0.5)
    seen = []
    Trainer(4, 1, 3, callbacks=[StepDecay((opt,), 0.5, 0.1, 2)]).run(
        lambda idx: seen.append([g["lr"] for g in opt.param_groups]) or {})
    np.testing.assert_allclose(seen, [[0.5, 1.0], [0.5, 1.0], [0.05, 0.1]])


def test_momentum_burn_in_rises_linearly_then_holds():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    burn = MomentumBurnIn(opt, 0.9, 1000)
    assert 0 < burn.momentum_at(0) < 1e-20  # not 0: PyTorch keeps no buffer for a momentum-0 step
    assert [burn.momentum_at(s) for s in (250, 500, 1000, 5000)] == pytest.approx([0.225, 0.45, 0.9, 0.9])
    seen = []
    Trainer(10, 1, 3, callbacks=[MomentumBurnIn(opt, 0.9, 2)]).run(
        lambda idx: seen.append(opt.param_groups[0]["momentum"]) or {})
    assert seen[1:] == pytest.approx([0.45, 0.9]) and seen[0] < 1e-20
    assert MomentumBurnIn(opt, 0.0, 10).momentum_at(0) == 0.0


def test_a_burn_in_step_equals_caffes_momentum_update():
    """Caffe's SGD (v = m v + lr g; w -= v) with its momentum ramp, against PyTorch's SGD driven by the callback."""
    torch.manual_seed(0)
    target = torch.randn(6)
    w = torch.nn.Parameter(torch.zeros(6))
    opt = torch.optim.SGD([w], lr=0.1, momentum=0.9)

    def step(idx):
        opt.zero_grad()
        ((w - target) ** 2).sum().backward()
        opt.step()
        return {}

    Trainer(10, 1, 5, callbacks=[MomentumBurnIn(opt, 0.9, 4)]).run(step)
    ref, v = torch.zeros(6), torch.zeros(6)
    for t in range(5):
        v = 0.9 * min(t, 4) / 4 * v + 0.1 * 2 * (ref - target)
        ref = ref - v
    torch.testing.assert_close(w.detach(), ref)


def _dropout_rates(monkeypatch, mode):
    import deepclust.training.pretrain as pretrain

    rates, real = [], pretrain.F.dropout
    monkeypatch.setattr(pretrain.F, "dropout", lambda x, p, training: rates.append(p) or real(x, p, training))
    ae = MLPAutoencoder(12, (8, 6, 3))
    pretrain_autoencoder(ae, torch.rand(32, 12), PretrainConfig(mode=mode, epochs=1, layer_epochs=1, batch_size=32,
                                                                optimizer="sgd", lr=0.1, progress=False))
    return [tuple(rates[i:i + 2]) for i in range(0, len(rates), 2)]  # (input, code) of each pair's one step


def test_caffe_stacked_pairs_leave_the_raw_data_and_the_embedding_uncorrupted(monkeypatch):
    assert _dropout_rates(monkeypatch, "stacked") == [(0.2, 0.2)] * 3  # the paper's text: every pair
    assert _dropout_rates(monkeypatch, "stacked-caffe") == [(0.0, 0.2), (0.2, 0.2), (0.2, 0.0)]


def test_caffe_stacked_pairs_start_from_small_gaussians_whatever_the_networks_start(monkeypatch):
    import deepclust.training.pretrain as pretrain

    starts, groups, real_train = [], [], pretrain.train_epochs

    def spy(X, cfg, params, *args, **kwargs):
        params = list(params)
        starts.append([p.detach().clone() for p in params])
        return real_train(X, cfg, params, *args, **kwargs)

    def spy_optimizer(name, params, lr, momentum):
        groups.append([(len(g["params"]), g.get("lr", lr), g.get("lr_scale", 1.0)) for g in params])
        return torch.optim.SGD(params, lr=lr, momentum=momentum)

    monkeypatch.setattr(pretrain, "train_epochs", spy)
    monkeypatch.setattr(pretrain, "make_optimizer", spy_optimizer)
    X = torch.rand(64, 30)
    weights = []
    for network_seed in (0, 1):
        torch.manual_seed(network_seed)
        ae = MLPAutoencoder(30, (200, 300, 3))
        torch.manual_seed(7)  # the same dropout masks for both
        pretrain_autoencoder(ae, X, PretrainConfig(mode="stacked-caffe", epochs=1, layer_epochs=1, batch_size=32,
                                                   optimizer="sgd", lr=0.1, seed=3, progress=False))
        weights.append(torch.cat([p.detach().flatten() for p in ae.parameters()]))
    torch.testing.assert_close(weights[0], weights[1], rtol=0, atol=0)  # the network's own start is replaced
    first_pair = starts[0]  # encoder weight, bias, decoder weight, bias of layer pair 1
    assert first_pair[0].std().item() == pytest.approx(CAFFE_INIT_STD, rel=0.05)
    assert first_pair[2].std().item() == pytest.approx(CAFFE_INIT_STD, rel=0.05)
    assert not first_pair[1].any() and not first_pair[3].any()
    assert groups[0] == [(2, 0.1, 1.0), (2, 0.2, 2.0)]  # weights at lr, biases at twice it
    assert groups[3] == [(6, 0.1, 1.0), (6, 0.2, 2.0)]  # fine-tuning: all 6 layers


def test_pretraining_learning_rate_steps_restart_for_each_stage(monkeypatch):
    """``lr_step`` divides the rate by 10 every ``lr_step`` steps of each phase, counted from that phase's start."""
    X = torch.rand(64, 5)
    rates = []
    cfg = PretrainConfig(epochs=3, batch_size=16, optimizer="sgd", lr=0.5, lr_step=5, progress=False)
    model = torch.nn.Linear(5, 5)

    def loss_fn(xb):
        return {"reconstruction": ((model(xb) - xb) ** 2).mean()}

    class Spy(torch.optim.SGD):
        def step(self, closure=None):
            rates.append(self.param_groups[0]["lr"])
            return super().step(closure)

    import deepclust.training.pretrain as pretrain

    monkeypatch.setattr(pretrain, "make_optimizer", lambda name, params, lr, momentum: Spy(params, lr=lr))
    for _ in range(2):  # two phases, each 12 steps: 5 at 0.5, 5 at 0.05, 2 at 0.005
        train_epochs(X, cfg, model.parameters(), cfg.epochs, "phase", loss_fn, model)
    np.testing.assert_allclose(rates, ([0.5] * 5 + [0.05] * 5 + [0.005] * 2) * 2)


def test_a_learning_rate_step_beyond_the_last_step_changes_nothing():
    X = torch.rand(128, 12)
    weights = []
    for lr_step in (0, 10_000):
        torch.manual_seed(0)
        ae = MLPAutoencoder(12, (8, 3))
        pretrain_autoencoder(ae, X, PretrainConfig(mode="stacked", epochs=2, layer_epochs=2, batch_size=32,
                                                   optimizer="sgd", lr=0.1, lr_step=lr_step, progress=False))
        weights.append(torch.cat([p.detach().flatten() for p in ae.parameters()]))
    torch.testing.assert_close(weights[0], weights[1], rtol=0, atol=0)


def test_corrupt_modes():
    torch.manual_seed(0)
    x = torch.ones(1000, 10)
    assert corrupt(x, "none", 0.3) is x
    d = corrupt(x, "dropout", 0.2)
    assert 0.15 < (d == 0).float().mean() < 0.25 and d.max().item() == pytest.approx(1.25)
    g = corrupt(x, "gaussian", 0.1)
    assert 0.08 < (g - x).std().item() < 0.12


@pytest.mark.parametrize("cfg", [
    PretrainConfig(epochs=20, batch_size=64, progress=False),
    PretrainConfig(epochs=20, batch_size=64, noise="dropout", sparsity=0.01, progress=False),
    PretrainConfig(mode="stacked", epochs=1, layer_epochs=1, batch_size=64, optimizer="sgd", lr=0.1,
                   progress=False),
    # from N(0, 0.01) starts and with momentum ramped over 1,000 steps, more steps are needed
    PretrainConfig(mode="stacked-caffe", epochs=30, layer_epochs=5, batch_size=64, optimizer="sgd", lr=0.3,
                   progress=False),
])
def test_pretraining_reduces_reconstruction_error(cfg):
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    basis = rng.normal(size=(3, 20))
    X = torch.tensor(rng.normal(size=(512, 3)) @ basis, dtype=torch.float32)
    ae = MLPAutoencoder(20, (32, 16, 3))
    before = torch.nn.functional.mse_loss(ae(X)[1], X).item()
    history = pretrain_autoencoder(ae, X, cfg)
    after = torch.nn.functional.mse_loss(ae(X)[1], X).item()
    assert after < 0.7 * before
    phases = {r["phase"] for r in history}
    if cfg.mode in STACKED_MODES:
        assert phases == {"pretrain layer 1/3", "pretrain layer 2/3", "pretrain layer 3/3", "pretrain"}
    if cfg.sparsity:
        assert "sparsity" in history[0]


def test_initial_clusters_kmeans_and_gmm():
    rng = np.random.default_rng(0)
    Z = np.concatenate([rng.normal(loc=c, size=(50, 2)) for c in (0, 10, 20)])
    for method in ("kmeans", "gmm"):
        centers, labels = initial_clusters(Z, 3, method, n_init=5, seed=0)
        assert centers.shape == (3, 2) and len(np.unique(labels)) == 3
        assert sorted(np.round(centers[:, 0] / 10).astype(int)) == [0, 1, 2]


def test_initial_clusters_are_the_kmeans_clusterer_on_the_float32_embedding():
    """A deep method's start is the registered k-means on the embedding as the encoder gives it
    (float32), so ``ae+kmeans`` and DEC's start agree; a float64 embedding is clustered the same."""
    from deepclust.registry import make_estimator

    Z = np.random.default_rng(1).normal(size=(300, 5)).astype(np.float32)
    centers, labels = initial_clusters(Z, 6, "kmeans", n_init=7, seed=3)
    km = make_estimator("kmeans", n_clusters=6, n_init=7, random_state=3).fit(Z)
    assert np.array_equal(labels, km.labels_) and np.array_equal(centers, km.cluster_centers_)
    assert centers.dtype == np.float32 and labels.dtype == np.int64
    assert np.array_equal(initial_clusters(Z.astype(np.float64), 6, "kmeans", n_init=7, seed=3)[1], labels)
    with pytest.raises(ValueError, match="unknown cluster initialisation 'spectral'"):
        initial_clusters(Z, 6, "spectral")


def test_nan_loss_stops_with_a_clear_error():
    from deepclust.errors import TrainingError

    losses = iter([1.0, 0.5, float("nan")])
    t = Trainer(10, 2, 20)
    with pytest.raises(TrainingError, match=r"diverged at step 2: loss=nan; lower the learning rate"):
        t.run(lambda idx: {"loss": next(losses)})
    assert t.step == 2


def test_collapse_warnings():
    from deepclust.base import warn_if_collapsed
    from deepclust.errors import CollapseWarning

    with pytest.warns(CollapseWarning, match="single cluster"):
        warn_if_collapsed(np.zeros(50, int), 3, "dec")
    with pytest.warns(CollapseWarning, match="used 2 of the 3"):
        warn_if_collapsed(np.arange(50) % 2, 3, "dec")
    with pytest.warns(CollapseWarning, match="fewer than 0.1%"):
        warn_if_collapsed(np.r_[np.zeros(2000, int), [1]], 2, "dec")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert warn_if_collapsed(np.arange(3000) % 3, 3, "dec") == []
        assert warn_if_collapsed(np.r_[np.arange(100) % 4, [-1] * 5], None, "hdbscan") == []
