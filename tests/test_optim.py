"""The shared optimisers: fused Adam gives Adam's update, and subnormal values are flushed."""

import pytest
import torch

from deepclust.training import optim
from deepclust.training.optim import FLUSH_EVERY, flush_subnormals_, make_optimizer

TINY = torch.finfo(torch.float32).tiny


def _subnormal(t):
    return int(((t != 0) & (t.abs() < TINY)).sum())


def test_adam_matches_pytorchs_reference_update():
    torch.manual_seed(0)
    a = torch.nn.Parameter(torch.randn(50, 7))
    b = torch.nn.Parameter(a.detach().clone())
    ours, ref = make_optimizer("adam", [a], 0.01, eps=1e-4), torch.optim.Adam([b], lr=0.01, eps=1e-4, foreach=False)
    for _ in range(5):
        g = torch.randn(50, 7)
        a.grad, b.grad = g.clone(), g.clone()
        ours.step()
        ref.step()
    torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert ours.defaults["eps"] == 1e-4 and ours.defaults["fused"] == (optim.adam_implementation() == "fused")


def test_sgd_options_reach_pytorch_and_unknown_names_are_refused():
    p = torch.nn.Parameter(torch.zeros(3))
    opt = make_optimizer("sgd", [p], 0.1, 0.5, weight_decay=1e-4)
    assert opt.defaults["momentum"] == 0.5 and opt.defaults["weight_decay"] == 1e-4
    with pytest.raises(ValueError, match="unknown optimizer 'rmsprop'"):
        make_optimizer("rmsprop", [p], 0.1)


def test_flush_sets_only_subnormal_values_to_zero():
    p = torch.nn.Parameter(torch.tensor([1e-39, -1e-40, 1e-30, 0.5, 0.0]))
    opt = make_optimizer("adam", [p], 0.01)
    p.grad = torch.ones(5)
    opt.step()
    opt.state[p]["exp_avg_sq"].copy_(torch.tensor([1e-39, 2.0, 1e-41, 0.0, 3.0]))
    with torch.no_grad():
        p.copy_(torch.tensor([1e-39, -1e-40, 1e-30, 0.5, 0.0]))
    assert flush_subnormals_(opt) == 4
    assert p.tolist() == [0.0, 0.0, pytest.approx(1e-30), 0.5, 0.0]
    assert opt.state[p]["exp_avg_sq"].tolist() == [0.0, 2.0, 0.0, 0.0, 3.0]


@pytest.mark.parametrize("name", ["adam", "sgd"])
def test_optimisers_sweep_for_subnormals_every_flush_every_steps(name):
    p = torch.nn.Parameter(torch.ones(1000))
    opt = make_optimizer(name, [p], 1e-3)
    p.grad = torch.zeros(1000)
    opt.step()
    state = opt.state[p]["exp_avg_sq" if name == "adam" else "momentum_buffer"]
    state.fill_(1e-39)  # as after vanishing gradients: every later step keeps them subnormal
    for _ in range(FLUSH_EVERY - 2):
        opt.step()
    assert _subnormal(state) == 1000  # not yet swept
    opt.step()  # step FLUSH_EVERY since the optimiser was made
    assert _subnormal(state) == 0 and _subnormal(p.detach()) == 0
