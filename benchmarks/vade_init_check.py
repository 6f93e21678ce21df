"""Development check for VaDE's ``init_gmm``: the two starting mixtures on each seed's embedding.

For seeds 0-2 it loads the autoencoder that VaDE's Adam-pretraining runs cached (fitting VaDE
up to its initialisation with ``pretrain_cache``), then fits the starting mixture both ways
(:func:`deepclust.methods.vade.initial_mixture`: ``sklearn`` and ``reference``) and prints
each one's mean log-likelihood per point (label-free) and, afterwards, the ACC/NMI of its
partition. Command (from the repository root; figures in benchmarks/README.md):

    .venv/bin/python benchmarks/vade_init_check.py
"""

import numpy as np

from deepclust import metrics
from deepclust.data import load_dataset
from deepclust.methods.vade import VaDE, initial_mixture

CACHE = "/tmp/deepclust-pretrain-cache"
ADAM = dict(pretrain_optimizer="adam", pretrain_lr=0.001, pretrain_epochs=20, pretrain_batch_size=128)


class _Embedding(Exception):
    """Carries the pretrained embedding out of ``fit`` once initialisation is reached."""


def pretrained_embedding(X, seed: int) -> np.ndarray:
    """The embedding VaDE's initialisation sees for ``seed`` (cached autoencoder, no ELBO)."""
    model = VaDE(**ADAM, pretrain_cache=CACHE, random_state=seed, verbose=False)

    def stop(Z, _seed):
        raise _Embedding(Z)

    model._initialise = stop
    try:
        model.fit(X)
    except _Embedding as found:
        return np.asarray(found.args[0], dtype=np.float64)
    raise RuntimeError("VaDE finished without reaching its initialisation")


def main() -> None:
    ds = load_dataset("fashion-mnist")
    for seed in (0, 1, 2):
        Z = pretrained_embedding(ds.X, seed)
        for start in ("sklearn", "reference"):
            gmm = initial_mixture(Z, 10, start, seed)
            labels = gmm.predict(Z)
            print(f"seed {seed} {start:9s}: log-likelihood/point {gmm.score(Z):.4f}  "
                  f"ACC {metrics.accuracy(ds.y, labels):.3f}  NMI {metrics.nmi(ds.y, labels):.3f}  "
                  f"smallest {np.bincount(labels, minlength=10).min()}", flush=True)


if __name__ == "__main__":
    main()
