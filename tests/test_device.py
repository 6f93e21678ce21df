"""Where deep methods run: the CPU path everywhere, and the CUDA path on a machine with a GPU.

The first tests run on every machine (CI has no GPU). The ``gpu`` tests skip without CUDA; on a
lent GPU machine ``benchmarks/gpu/check.sh`` runs them (issue 3: ``--device cuda`` runs the same
code with bfloat16 autocast). Their accuracy floors are the CPU floors of ``tests/test_dec.py``,
measured on the CPU: the GPU check tells whether bfloat16 keeps them.
"""

import json

import numpy as np
import pytest
import torch
from sklearn.datasets import load_digits

from deepclust import metrics
from deepclust.base import BaseClusterer
from deepclust.cli import main
from deepclust.errors import InputError
from deepclust.registry import make_estimator
from deepclust.runtime import gpu_description, use_deterministic_torch
from deepclust.training.device import resolve_device

DIGITS = load_digits()
X = (DIGITS.data / 16.0).astype(np.float32)
Y = DIGITS.target
X16 = np.kron((DIGITS.data[:600] / 16.0).reshape(-1, 8, 8), np.ones((2, 2))).reshape(600, 256).astype(np.float32)
AE = dict(hidden_dims=(128, 128, 256), pretrain_epochs=40, pretrain_batch_size=64, random_state=0, verbose=False)
FAST = dict(AE, maxiter=600, update_interval=30)
CONV = dict(input_shape=(8, 8, 1), conv_filters=(16, 32, 64))
CUDA = torch.cuda.is_available()
gpu = pytest.mark.skipif(not CUDA, reason="needs a CUDA GPU (benchmarks/gpu/check.sh runs these on a lent one)")


def fast(name, **kw):
    return make_estimator(name, **{**FAST, **(CONV if name == "dcec" else {}), **kw})


def cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------------- every machine
def test_load_can_choose_the_device(tmp_path):
    est = fast("dec", pretrain_epochs=2, maxiter=30, device="cpu").fit(X[:300])
    est.set_params(device="cuda")  # as if trained with --device cuda
    est.save(tmp_path / "m")
    saved = json.loads((tmp_path / "m" / "config.json").read_text())["params"]["device"]
    assert saved == "cuda"
    moved = BaseClusterer.load(tmp_path / "m", device="cpu")
    assert moved.get_params()["device"] == "cpu" and next(moved.network_.parameters()).device.type == "cpu"
    np.testing.assert_array_equal(moved.predict(X[:300]), est.predict(X[:300]))
    if not CUDA:
        with pytest.raises(InputError, match="no CUDA GPU"):
            BaseClusterer.load(tmp_path / "m")  # the saved setting, kept: one clear error
    assert BaseClusterer.load(tmp_path / "m", device="auto").get_params()["device"] == "auto"


def test_classic_models_ignore_the_device(tmp_path):
    est = make_estimator("kmeans", n_clusters=10, random_state=0).fit(X)
    est.save(tmp_path / "k")
    np.testing.assert_array_equal(BaseClusterer.load(tmp_path / "k", device="cpu").predict(X), est.labels_)


@pytest.mark.parametrize("method, on", [("dec", "cpu"), ("ae+kmeans", "cpu"), ("kmeans", "cpu")])
def test_run_record_names_the_training_device(capsys, tmp_path, method, on):
    out = tmp_path / method
    sets = [] if method == "kmeans" else ["--set", "pretrain_epochs=1", "--set", "hidden_dims=[32,32,64]"]
    sets += ["--set", "maxiter=20"] if method == "dec" else []
    code, _, err = cli(capsys, "run", method, "--data", "digits", "--device", "cpu", "--out", out, "--no-report", *sets)
    assert code == 0, err
    record = json.loads((out / "run.json").read_text())
    assert record["device"] == on
    assert record["versions"]["gpu"] == gpu_description()
    if not CUDA:
        assert record["versions"]["gpu"] == "none"


def test_predict_takes_a_device(capsys, tmp_path):
    out = tmp_path / "r"
    code, _, err = cli(capsys, "run", "dec", "--data", "digits", "--device", "cpu", "--out", out, "--no-report",
                       "--set", "pretrain_epochs=1", "--set", "maxiter=20", "--set", "hidden_dims=[32,32,64]")
    assert code == 0, err
    pred = tmp_path / "p.csv"
    code, _, err = cli(capsys, "predict", "--model", out / "model", "--data", "digits", "--device", "cpu",
                       "--out", pred)
    assert code == 0, err
    predicted = np.loadtxt(pred, delimiter=",", skiprows=1, usecols=1)
    labels = np.loadtxt(out / "labels.csv", delimiter=",", skiprows=1, usecols=1)
    np.testing.assert_array_equal(predicted, labels)


# ---------------------------------------------------------------------- a CUDA GPU only
@gpu
def test_auto_picks_the_gpu():
    assert resolve_device("auto").type == "cuda"
    assert gpu_description() != "none"


@gpu
@pytest.mark.parametrize("name, floor", [("dec", 0.68), ("idec", 0.69), ("dcec", 0.70)])
def test_dec_family_on_the_gpu_keeps_the_cpu_floors(tmp_path, name, floor):
    est = fast(name, device="cuda").fit(X)
    assert next(est.network_.parameters()).device.type == "cuda"
    assert est.proba_.dtype == np.float32 and np.allclose(est.proba_.sum(axis=1), 1, atol=1e-4)
    assert metrics.accuracy(Y, est.labels_) >= floor
    est.save(tmp_path / "m")
    on_cpu = BaseClusterer.load(tmp_path / "m", device="cpu")
    on_gpu = BaseClusterer.load(tmp_path / "m")
    assert next(on_gpu.network_.parameters()).device.type == "cuda"
    np.testing.assert_array_equal(on_gpu.predict(X), est.predict(X))
    # float32 on the CPU against bfloat16 autocast on the GPU: a few border points may move
    assert (on_cpu.predict(X) == est.predict(X)).mean() >= 0.98


@gpu
@pytest.mark.parametrize("name, kw, data", [
    ("ae+kmeans", dict(pretrain_epochs=5, hidden_dims=(64, 64, 128), verbose=False), X),
    ("cae+kmeans", dict(pretrain_epochs=5, input_shape=(8, 8, 1), conv_filters=(16, 32, 64), verbose=False), X),
    ("convvae+kmeans", dict(reducer_params={"epochs": 2, "batch_size": 64, "verbose": False}, n_clusters=10), X16),
    ("n2d", dict(AE, pretrain_epochs=5), X),
    ("vade", dict(AE, pretrain_epochs=5, epochs=3), X),
    ("deepcluster", dict(epochs=2, batch_size=128, verbose=False), X),
])
def test_every_deep_method_trains_on_the_gpu(name, kw, data):
    est = make_estimator(name, random_state=0, device="cuda", **kw).fit(data)
    assert est.labels_.shape == (len(data),) and len(set(est.labels_.tolist())) > 1
    network = getattr(est, "network_", None) or getattr(getattr(est, "reducer_", None), "network_", None)
    assert next(network.parameters()).device.type == "cuda"
    assert est.predict(data[:50]).shape == (50,)


@gpu
def test_cli_run_on_the_gpu_writes_report_and_record(capsys, tmp_path):
    out = tmp_path / "g"
    code, _, err = cli(capsys, "run", "dec", "--data", "digits", "--device", "cuda", "--out", out, "--map", "pca",
                       "--set", "pretrain_epochs=5", "--set", "maxiter=140")
    assert code == 0, err
    record = json.loads((out / "run.json").read_text())
    assert record["device"].startswith("cuda") and record["versions"]["gpu"] != "none"
    assert "Decoded cluster centres" in (out / "report.html").read_text()


@gpu
def test_deterministic_mode_repeats_labels_on_the_gpu():
    use_deterministic_torch(True)
    try:
        first, second = (fast("idec", device="cuda").fit(X).labels_ for _ in range(2))
    finally:
        use_deterministic_torch(False)
    np.testing.assert_array_equal(first, second)
