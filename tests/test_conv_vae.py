"""Seed 000's conv-VAE: the network as the seed lists it, other image sizes, the loss, the pipeline."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from deepclust.base import BaseClusterer
from deepclust.errors import DeadLayerWarning, TrainingError
from deepclust.nn.conv_vae import ConvVAE, vae_loss_terms
from deepclust.registry import make_estimator

DIGITS = load_digits()
X16 = np.kron((DIGITS.data[:600] / 16.0).reshape(-1, 8, 8), np.ones((2, 2))).reshape(600, 256).astype(np.float32)
FAST = dict(reducer_params={"epochs": 2, "batch_size": 64, "verbose": False}, n_clusters=10, random_state=1)


def test_network_matches_seed_000_for_28x28():
    net = ConvVAE((28, 28, 1))
    n_params = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    # Keras summary in seed 000: encoder 176,530 parameters (incl. 450 non-trainable BN statistics
    # that PyTorch keeps as buffers), decoder 121,537 (384 non-trainable)
    encoder = n_params(net.encoder) + n_params(net.mu) + n_params(net.log_var)
    decoder = n_params(net.expand) + n_params(net.decoder)
    assert encoder == 176_530 - 450 and decoder == 121_537 - 384
    mu, log_var = net.encode_stats(torch.rand(3, 784))
    assert mu.shape == log_var.shape == (3, 2)
    assert net.decode_logits(mu).shape == (3, 784)


def test_keras_starts_and_batch_norm_and_a_linear_decoder_dense():
    torch.manual_seed(0)
    net = ConvVAE((28, 28, 1))
    assert net.weight_init == "glorot" and net.config()["batchnorm"] == "keras"
    assert all(b.eps == 1e-3 and b.momentum == 0.01 for b in net.modules() if isinstance(b, torch.nn.BatchNorm2d))
    assert not net.mu.bias.detach().any() and not net.expand.bias.detach().any()
    assert float(net.log_var.weight.detach().abs().max()) <= (6 / (20736 + 2)) ** 0.5  # glorot-uniform bound
    # the dense layer feeding the decoder is linear, as in the seed's tutorial
    z = torch.randn(4, 2)
    seed = net.expand(z).reshape(-1, 64, 7, 7)
    torch.testing.assert_close(net.decoder(seed)[:, :, :28, :28].permute(0, 2, 3, 1).flatten(1),
                               net.decode_logits(z))


def test_log_var_limit_bounds_the_log_variance_smoothly():
    torch.manual_seed(0)
    free, bounded = ConvVAE((16, 16, 1)), ConvVAE((16, 16, 1), log_var_limit=5.0)
    bounded.load_state_dict(free.state_dict())
    with torch.no_grad():
        free.log_var.bias.fill_(40.0)  # a head that overshot: exp(40) is 2e17
        bounded.log_var.bias.fill_(40.0)
        x = torch.rand(3, 256)
        raw, log_var = free.encode_stats(x)[1], bounded.encode_stats(x)[1]
    torch.testing.assert_close(log_var, 5.0 * torch.tanh(raw / 5.0))
    assert float(raw.min()) > 20 and float(log_var.max()) < 5.0
    with pytest.raises(ValueError, match="log_var_limit"):
        ConvVAE((16, 16, 1), log_var_limit=0)


def test_a_network_saved_before_the_keras_defaults_rebuilds_as_it_was():
    old = ConvVAE.from_config({"kind": "conv-vae", "input_shape": [16, 16, 1], "latent_dim": 2,
                               "filters": [32, 64, 64, 64]})
    assert old.batchnorm == "torch" and old.decoder_dense_relu and old.log_var_limit is None
    assert all(b.eps == 1e-5 for b in old.modules() if isinstance(b, torch.nn.BatchNorm2d))
    again = ConvVAE.from_config(ConvVAE((16, 16, 1), log_var_limit=8.0).config())
    assert again.config() == ConvVAE((16, 16, 1), log_var_limit=8.0).config()


@pytest.mark.parametrize("shape", [(32, 32, 3), (16, 16, 1), (30, 26, 1), (96, 96, 3)])
def test_other_image_sizes(shape):
    net = ConvVAE(shape, latent_dim=4)
    x = torch.rand(2, int(np.prod(shape)))
    mu, _ = net.encode_stats(x)
    assert net.decode_logits(mu).shape == x.shape


def test_loss_terms_by_hand():
    x, logits = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]])
    mu, log_var = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, np.log(2.0)]])
    terms = vae_loss_terms(x, logits, mu, log_var, "sse")
    assert terms["reconstruction"].item() == pytest.approx(0.25 + 0.25)
    # the seed's tutorial: 1000 x the squared error averaged over the 2 pixels
    assert vae_loss_terms(x, logits, mu, log_var, "mse")["reconstruction"].item() == pytest.approx(1000 * 0.25)
    assert terms["kl"].item() == pytest.approx(0.5 * ((1 - 0 - 1 + 1) + (2 - np.log(2) - 1 + 0)))
    assert vae_loss_terms(x, logits, mu, log_var, "bce")["reconstruction"].item() == pytest.approx(2 * np.log(2))


def test_pipeline_on_small_images_with_repeatable_sampling(tmp_path):
    est = make_estimator("convvae+kmeans", **FAST).fit(X16)
    assert est.embedding_.shape == (600, 2) and len(set(est.labels_.tolist())) == 10
    np.testing.assert_array_equal(est.transform(X16[:20]), est.transform(X16[:20]))  # seeded samples
    est.save(tmp_path / "m")
    loaded = BaseClusterer.load(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(X16[:50]), est.predict(X16[:50]))


def test_clustering_the_mean_is_an_option():
    est = make_estimator("convvae+kmeans", **{**FAST, "reducer_params": {**FAST["reducer_params"], "use_mean": True}})
    est.fit(X16[:200])
    reducer = est.reducer_
    mu = reducer.network_.encode_stats(torch.from_numpy(X16[:200]))[0].detach().numpy()
    np.testing.assert_allclose(est.embedding_, mu, rtol=1e-4, atol=1e-5)


def test_a_trained_vae_is_reused_from_the_cache_also_for_the_mean(tmp_path):
    cached = {**FAST["reducer_params"], "pretrain_cache": str(tmp_path / "cache")}
    first = make_estimator("convvae+kmeans", **{**FAST, "reducer_params": cached}).fit(X16[:200])
    again = make_estimator("convvae+kmeans", **{**FAST, "reducer_params": cached}).fit(X16[:200])
    assert not first.pretrain_cached_ and again.pretrain_cached_ and again.pretrain_cache_seconds_ > 0
    np.testing.assert_array_equal(again.labels_, first.labels_)
    np.testing.assert_array_equal(again.embedding_, first.embedding_)
    # clustering the mean loads the same entry and gives what training afresh with use_mean gives
    mean = make_estimator("convvae+kmeans", **{**FAST, "reducer_params": {**cached, "use_mean": True}}).fit(X16[:200])
    fresh = make_estimator("convvae+kmeans", **{**FAST, "reducer_params": {**FAST["reducer_params"], "use_mean": True}})
    fresh.fit(X16[:200])
    assert mean.pretrain_cached_ and not fresh.pretrain_cached_
    np.testing.assert_array_equal(mean.embedding_, fresh.embedding_)
    np.testing.assert_array_equal(mean.labels_, fresh.labels_)
    # another latent size is another network: no hit
    latent3 = make_estimator("convvae+kmeans", **{**FAST, "reducer_params": {**cached, "latent_dim": 3}}).fit(X16[:200])
    assert not latent3.pretrain_cached_ and latent3.embedding_.shape == (200, 3)
    assert len(list((tmp_path / "cache").iterdir())) == 2


def test_divergence_names_the_log_variance_bound():
    # a learning rate far too high makes exp(log-variance) overflow within a few steps
    params = {**FAST["reducer_params"], "lr": 50.0, "epochs": 3}
    with pytest.raises(TrainingError, match="log_var_limit=10"):
        make_estimator("convvae+kmeans", **{**FAST, "reducer_params": params}).fit(X16[:200])


def test_the_bound_and_the_start_are_parameters_that_survive_saving(tmp_path):
    params = {**FAST["reducer_params"], "log_var_limit": 10, "weight_init": "torch", "epochs": 1}
    est = make_estimator("convvae+kmeans", **{**FAST, "reducer_params": params}).fit(X16[:200])
    assert est.reducer_.network_.log_var_limit == 10.0 and est.reducer_.network_.weight_init == "torch"
    est.save(tmp_path / "m")
    loaded = BaseClusterer.load(tmp_path / "m")
    assert loaded.reducer_.network_.config() == est.reducer_.network_.config()
    np.testing.assert_array_equal(loaded.transform(X16[:30]), est.transform(X16[:30]))


def test_a_dead_first_layer_is_detected_and_warned_about(monkeypatch):
    net = ConvVAE((16, 16, 1), 2)
    x = torch.from_numpy(X16[:50])
    with torch.no_grad():
        net.encoder[0].weight.fill_(0.1)
        net.encoder[0].bias.zero_()
    assert not net.first_layer_is_dead(x)
    with torch.no_grad():
        net.encoder[0].weight.fill_(-0.1)  # every pre-activation <= 0 on images in [0, 1]
    assert net.first_layer_is_dead(x)
    monkeypatch.setattr(ConvVAE, "first_layer_is_dead", lambda self, x: True)
    with pytest.warns(DeadLayerWarning, match="random_state"):
        make_estimator("convvae+kmeans", **FAST).fit(X16[:200])


def test_seed_000s_network_at_latent_10_and_seed_0_starts_dead_on_fashion_like_images():
    torch.manual_seed(0)
    net = ConvVAE((28, 28, 1), 10, weight_init="glorot", log_var_limit=10)
    assert (net.encoder[0].weight < 0).all() and net.encoder[0].bias.item() == 0.0
    assert net.first_layer_is_dead(torch.rand(20, 784))
