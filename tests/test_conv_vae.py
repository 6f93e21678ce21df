"""Seed 000's conv-VAE: the network as the seed lists it, other image sizes, the loss, the pipeline."""

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from deepclust.base import BaseClusterer
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


@pytest.mark.parametrize("shape", [(32, 32, 3), (16, 16, 1), (30, 26, 1), (96, 96, 3)])
def test_other_image_sizes(shape):
    net = ConvVAE(shape, latent_dim=4)
    x = torch.rand(2, int(np.prod(shape)))
    mu, _ = net.encode_stats(x)
    assert net.decode_logits(mu).shape == x.shape


def test_loss_terms_by_hand():
    x, logits = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 0.0]])
    mu, log_var = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, np.log(2.0)]])
    terms = vae_loss_terms(x, logits, mu, log_var, "mse")
    assert terms["reconstruction"].item() == pytest.approx(0.25 + 0.25)
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
