"""The same seed gives identical labels, for every registered method family on digits (CPU)."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from deepclust.registry import clusterer_names, make_estimator, reducer_names

X = (load_digits().data / 16.0).astype(np.float32)
# 16x16 versions of the digits for networks that need larger images (seed 000's conv-VAE)
X16 = np.kron(X[:400].reshape(-1, 8, 8), np.ones((2, 2), dtype=np.float32)).reshape(400, 256)
DEEP = {"hidden_dims": (32, 32, 64), "pretrain_epochs": 3, "pretrain_batch_size": 128, "verbose": False}
CONV = {"input_shape": (8, 8, 1), "conv_filters": (8, 16, 16)}

# every single-stage method, and every reducer once (followed by k-means)
NAMES = clusterer_names() + [f"{r}+kmeans" for r in reducer_names()]


def _params(name: str) -> dict:
    reducer = name.split("+")[0] if "+" in name else None
    if name == "n2d":
        return {**DEEP, "umap_neighbors": 10}
    if name == "deepcluster":
        return {"epochs": 2, "verbose": False}
    if name == "vade":
        return {**DEEP, "epochs": 2, "batch_size": 128}
    if name in ("dec", "idec", "dcec"):
        return {**DEEP, "maxiter": 40, "update_interval": 20, **(CONV if name == "dcec" else {})}
    if reducer in ("ae", "cae"):
        return {**DEEP, **(CONV if reducer == "cae" else {})}
    if reducer == "convvae":
        return {"epochs": 1, "batch_size": 64, "verbose": False}
    if reducer == "tsne":
        return {"max_iter": 250}
    return {}


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_labels(name):
    def fit():
        est = make_estimator(name, **_params(name))
        if est.accepts_param("random_state"):
            est.set_params(random_state=7)
        return est.fit_predict(X16 if name.startswith("convvae") else X)

    assert np.array_equal(fit(), fit())


def test_deterministic_torch_switch(monkeypatch):
    import torch

    from deepclust.runtime import seed_everything, use_deterministic_torch

    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    monkeypatch.setenv("DEEPCLUST_DETERMINISTIC", "1")
    try:
        seed_everything(3)
        assert torch.are_deterministic_algorithms_enabled()
        assert torch.backends.cudnn.deterministic and not torch.backends.cudnn.benchmark
        import os

        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    finally:
        use_deterministic_torch(False)
    assert not torch.are_deterministic_algorithms_enabled()
