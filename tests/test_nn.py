"""Networks and losses against hand computations (DEC paper eq. 1-5)."""

import numpy as np
import pytest
import torch

from deepclust.nn import (
    ConvAutoencoder,
    MLPAutoencoder,
    build_autoencoder,
    kl_divergence,
    reconstruction_loss,
    student_t_assignment,
    target_distribution,
)

Z = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
MU = torch.tensor([[0.0, 0.0], [1.0, 1.0]], dtype=torch.float64)


def test_student_t_matches_hand_computation():
    # squared distances: row0 [0, 2], row1 [1, 1], row2 [4, 2]; alpha=1 kernel 1/(1+d)
    k = np.array([[1, 1 / 3], [1 / 2, 1 / 2], [1 / 5, 1 / 3]])
    expected = k / k.sum(1, keepdims=True)
    np.testing.assert_allclose(student_t_assignment(Z, MU, 1.0).numpy(), expected, rtol=1e-12)


def test_student_t_alpha_changes_exponent():
    d = np.array([[0, 2], [1, 1], [4, 2]], dtype=float)
    alpha = 3.0
    k = (1 + d / alpha) ** (-(alpha + 1) / 2)
    np.testing.assert_allclose(student_t_assignment(Z, MU, alpha).numpy(), k / k.sum(1, keepdims=True), rtol=1e-12)


def test_target_distribution_hand_computation():
    q = torch.tensor([[0.9, 0.1], [0.5, 0.5], [0.2, 0.8]], dtype=torch.float64)
    f = q.sum(0).numpy()  # [1.6, 1.4]
    w = q.numpy() ** 2 / f
    expected = w / w.sum(1, keepdims=True)
    p = target_distribution(q).numpy()
    np.testing.assert_allclose(p, expected, rtol=1e-12)
    assert p[0, 0] > q[0, 0] and p[2, 1] > q[2, 1]  # sharper than q
    np.testing.assert_allclose(p.sum(1), 1.0)


def test_kl_divergence_hand_computation():
    p = torch.tensor([[0.7, 0.3], [0.4, 0.6]], dtype=torch.float64)
    q = torch.tensor([[0.5, 0.5], [0.2, 0.8]], dtype=torch.float64)
    expected = np.mean([0.7 * np.log(0.7 / 0.5) + 0.3 * np.log(0.3 / 0.5),
                        0.4 * np.log(0.4 / 0.2) + 0.6 * np.log(0.6 / 0.8)])
    assert kl_divergence(p, q).item() == pytest.approx(expected, rel=1e-12)
    assert kl_divergence(p, p).item() == pytest.approx(0.0, abs=1e-12)


def test_kl_gradients_match_dec_paper_equations_4_and_5():
    rng = np.random.default_rng(0)
    alpha = 1.0
    z = torch.tensor(rng.normal(size=(6, 3)), requires_grad=True)
    mu = torch.tensor(rng.normal(size=(4, 3)), requires_grad=True)
    q = student_t_assignment(z, mu, alpha)
    p = target_distribution(q).detach()
    loss = kl_divergence(p, q) * z.shape[0]  # the paper's L is a sum over points
    loss.backward()
    zn, mun, pn, qn = z.detach().numpy(), mu.detach().numpy(), p.numpy(), q.detach().numpy()
    diff = zn[:, None, :] - mun[None, :, :]  # (n, k, d)
    kern = 1.0 / (1.0 + (diff**2).sum(-1) / alpha)  # (n, k)
    coef = (alpha + 1) / alpha * kern * (pn - qn)
    dz = (coef[:, :, None] * diff).sum(1)
    dmu = -(coef[:, :, None] * diff).sum(0)
    np.testing.assert_allclose(z.grad.numpy(), dz, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(mu.grad.numpy(), dmu, rtol=1e-10, atol=1e-12)


def test_reconstruction_losses():
    x = torch.tensor([[0.0, 1.0]])
    assert reconstruction_loss(torch.tensor([[0.5, 0.5]]), x, "mse").item() == pytest.approx(0.25)
    logits = torch.tensor([[0.0, 0.0]])
    assert reconstruction_loss(logits, x, "bce").item() == pytest.approx(np.log(2))
    with pytest.raises(ValueError):
        reconstruction_loss(x, x, "l3")


def test_mlp_autoencoder_layout():
    ae = MLPAutoencoder(784)
    assert ae.sizes == [784, 500, 500, 2000, 10]
    z, x_hat = ae(torch.rand(4, 784))
    assert z.shape == (4, 10) and x_hat.shape == (4, 784)
    # linear embedding: negative values possible; ReLU hidden layers
    assert (ae.encode(torch.rand(64, 784)) < 0).any()
    rebuilt = build_autoencoder(ae.config())
    assert [p.shape for p in rebuilt.parameters()] == [p.shape for p in ae.parameters()]
    assert set(map(id, ae.encoder_parameters())) == set(map(id, ae.encoder_layers.parameters()))


@pytest.mark.parametrize("shape, inner", [((28, 28, 1), (3, 3)), ((32, 32, 3), (4, 4)), ((96, 96, 3), (12, 12)),
                                          ((16, 16, 1), (2, 2)), ((30, 26, 2), (3, 3))])
def test_conv_autoencoder_any_image_size(shape, inner):
    ae = ConvAutoencoder(shape)
    n = int(np.prod(shape))
    z, x_hat = ae(torch.rand(2, n))
    assert z.shape == (2, 10) and x_hat.shape == (2, n)
    assert ae._inner == (128, *inner)
    assert [c.out_channels for c in ae.convs] == [32, 64, 128]
    assert [c.kernel_size for c in ae.convs] == [(5, 5), (5, 5), (3, 3)]


def test_conv_autoencoder_keeps_hwc_order():
    # a pure channel-1 image must come back through the permutes in the same flat layout
    ae = ConvAutoencoder((8, 8, 2))
    x = torch.zeros(1, 8, 8, 2)
    x[..., 1] = 1.0
    img = ae._to_image(x.flatten(1))
    assert img.shape == (1, 2, 8, 8) and img[0, 1].eq(1).all() and img[0, 0].eq(0).all()


def test_keras_weight_starts():
    from deepclust.nn.autoencoders import initialise_weights

    torch.manual_seed(0)
    ae = initialise_weights(MLPAutoencoder(784), "fan_in")  # DEC-keras: VarianceScaling(1/3, fan_in, uniform)
    w = ae.encoder_layers[0].weight  # fan_in 784: uniform in +-1/28
    assert w.abs().max().item() <= 1 / 28 and w.abs().max().item() > 0.99 / 28
    assert w.std().item() == pytest.approx(1 / 28 / np.sqrt(3), rel=0.01)
    assert all(layer.bias.eq(0).all() for layer in [*ae.encoder_layers, *ae.decoder_layers])
    cae = initialise_weights(ConvAutoencoder((28, 28, 1)), "glorot")  # Guo's DCEC: Keras' glorot_uniform
    conv2 = cae.convs[1].weight  # 32 -> 64 channels, 5x5: fans 800 and 1600
    assert conv2.abs().max().item() <= np.sqrt(6 / 2400) and conv2.abs().max().item() > 0.99 * np.sqrt(6 / 2400)
    deconv = cae.deconvs[0].weight  # transposed 128 -> 64, 3x3: Keras' fans are 9*64 and 9*128
    assert deconv.std().item() == pytest.approx(np.sqrt(2 / (9 * 192)), rel=0.02)
    assert cae.embed.bias.eq(0).all() and all(d.bias.eq(0).all() for d in cae.deconvs)
    # the start is part of the description (so pretraining caches tell starts apart), and survives a rebuild
    assert cae.config()["weight_init"] == "glorot" and build_autoencoder(cae.config()).config() == cae.config()
    # PyTorch's default start adds nothing, so descriptions made before the option are unchanged
    assert set(initialise_weights(MLPAutoencoder(784)).config()) == {"kind", "input_dim", "dims"}
    with pytest.raises(ValueError, match="unknown weight_init"):
        initialise_weights(MLPAutoencoder(10), "he")


def test_bce_is_refused_for_data_outside_0_1():
    """BCE has no minimum for targets outside [0, 1] (VaDE's default BCE on a standardised table ran
    to NaN at its first ELBO step): refused in one sentence that names the fix; MSE, or data in [0, 1], pass."""
    from deepclust.errors import InputError
    from deepclust.nn.losses import check_bce_range

    check_bce_range("bce", np.array([[0.0, 1.0], [0.5, 0.25]]), "vade")
    check_bce_range("mse", np.array([[-3.0, 9.0]]), "vade")
    with pytest.raises(InputError, match=r"vade uses reconstruction_loss='bce'.*spans \[-0.5, 1\]; set "
                                         r"reconstruction_loss=mse"):
        check_bce_range("bce", np.array([[-0.5, 1.0]]), "vade")


def test_vade_with_its_default_bce_refuses_a_standardised_table_before_training():
    from deepclust.errors import InputError
    from deepclust.registry import make_estimator

    X = np.random.default_rng(0).normal(size=(60, 4)).astype(np.float32)
    with pytest.raises(InputError, match="needs data in \\[0, 1\\]"):
        make_estimator("vade", n_clusters=2, verbose=False).fit(X)
    est = make_estimator("vade", n_clusters=2, reconstruction_loss="mse", hidden_dims=[16, 16, 32],
                         pretrain_epochs=2, epochs=2, verbose=False).fit(X)
    assert np.isfinite(est.predict_proba(X)).all()
