"""Reuse a pretrained autoencoder (or a trained conv-VAE) across fits (``pretrain_cache=DIR``).

AE + k-means, DEC and IDEC with the same seed start from the *same* pretrained
autoencoder: same data, same network, same pretraining settings, same seed. The reference
implementations pretrain once and load the weights for every method (DEC-keras saves
``ae_weights.h5``); with ``pretrain_cache`` deepclust does the same, keyed by all of those
inputs, so a cache hit gives bit-for-bit the network (and the random state) that
pretraining would have produced — the labels are identical with and without the cache.
Seed 000's conv-VAE (``convvae``) uses the same cache for its whole training, so its variants
that differ only in what is clustered (``use_mean``) train once.

Each entry is a folder named by the key, holding ``weights.safetensors`` (the network and
the torch random state after pretraining) and ``meta.json`` (the key's inputs, the
pretraining history, the seconds pretraining took and the CPU it ran on, so that a run which
loads the entry can say where its pretraining seconds were measured). Nothing is unpickled.

Adam pretrainings are keyed by the Adam implementation too (fused and foreach Adam round
differently). The optimisers set subnormal values (below 1.2e-38) to zero every 100 steps
(:mod:`deepclust.training.optim`); that changes no weight of normal size, and an entry
written before the sweep existed was checked bit for bit against a fresh SGD pretraining
(``benchmarks/README.md``).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..fileio import atomic_dir
from ..runtime import cpu_description
from .optim import adam_implementation
from .pretrain import PretrainConfig

# fields of PretrainConfig that do not change the trained weights
_NOT_IN_KEY = ("progress", "checkpoint_every")
# fields added after the cache format, left out of the key at these (former behaviour) values
# so that autoencoders cached before them are still found
_ADDED_LATER = {"lr_step": 0, "batch_order": "shuffle"}


def data_fingerprint(X) -> str:
    """SHA-256 of the shape and float32 bytes of ``X`` (read in chunks, so large files stream)."""
    from ..data.lazy import iter_row_chunks

    h = hashlib.sha256(repr(tuple(X.shape)).encode())
    for block in iter_row_chunks(X):
        h.update(np.ascontiguousarray(block, dtype=np.float32).tobytes())
    return h.hexdigest()


def cache_key(network_config: dict, cfg: PretrainConfig, fingerprint: str) -> tuple[str, dict]:
    """``(key, inputs)``: the hex key and the JSON-able inputs it was made from."""
    settings = {k: v for k, v in dataclasses.asdict(cfg).items()
                if k not in _NOT_IN_KEY and not (k in _ADDED_LATER and v == _ADDED_LATER[k])}
    inputs = {"network": network_config, "pretraining": settings, "data": fingerprint,
              "torch": torch.__version__, "threads": torch.get_num_threads()}
    if cfg.optimizer == "adam":  # fused and foreach Adam round differently (training/optim.py)
        inputs["adam"] = adam_implementation()
    key = hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()[:24]
    return key, inputs


class PretrainCache:
    """A folder of pretrained autoencoders, one sub-folder per :func:`cache_key`."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def load(self, key: str, network: torch.nn.Module) -> dict | None:
        """Load entry ``key`` into ``network`` and restore the random state; return its meta, or ``None``."""
        from safetensors.torch import load_file

        entry = self.folder / key
        if not (entry / "meta.json").is_file() or not (entry / "weights.safetensors").is_file():
            return None
        try:
            meta = json.loads((entry / "meta.json").read_text())
            tensors = load_file(str(entry / "weights.safetensors"))
            rng = tensors.pop("__rng_state__")
            network.load_state_dict({k.removeprefix("network."): v for k, v in tensors.items()})
        except Exception as exc:  # json, safetensors and torch raise their own error types
            raise InputError(f"The pretrained autoencoder in {entry} is unreadable ({type(exc).__name__}); "
                             "delete the folder to pretrain again.") from None
        torch.set_rng_state(rng)
        return meta

    def save(self, key: str, network: torch.nn.Module, meta: dict) -> None:
        """Store ``network``'s weights, the current torch random state and ``meta`` under ``key``."""
        from safetensors.torch import save_file

        tensors = {f"network.{k}": v.detach().cpu().contiguous() for k, v in network.state_dict().items()}
        tensors["__rng_state__"] = torch.get_rng_state()

        def fill(tmp: Path) -> None:
            save_file(tensors, str(tmp / "weights.safetensors"))
            (tmp / "meta.json").write_text(json.dumps(meta, indent=1))

        atomic_dir(self.folder / key, fill)


def load_or_train(folder, network: torch.nn.Module, cfg: PretrainConfig, X, train, resumed: bool = False):
    """Load ``network`` from the cache in ``folder`` when it holds an entry for these inputs, else
    call ``train()`` (which returns the training history) and store the result.

    The key is made of ``network.config()``, ``cfg`` and the fingerprint of ``X`` (the original
    array). ``resumed`` says that ``train()`` continues from a checkpoint, so the seconds it
    takes are only the rest of the training: the entry is marked ``"resumed": true``.
    Returns ``(history, info)``; ``info`` holds ``cached`` (whether the entry was loaded),
    ``seconds`` (how long the cached training took, ``None`` when it was trained now),
    ``resumed`` (whether the cached training had been resumed) and ``cpu`` (the
    :func:`~deepclust.runtime.cpu_description` of the host that trained it; ``None`` when it was
    trained now or the entry predates the field).
    """
    import time

    cache = PretrainCache(folder)
    key, inputs = cache_key(network.config(), cfg, data_fingerprint(X))
    meta = cache.load(key, network)
    if meta is not None:
        return meta["history"], {"cached": True, "seconds": meta["seconds"], "resumed": bool(meta.get("resumed")),
                                 "cpu": meta.get("cpu")}
    start = time.perf_counter()
    history = train()
    cache.save(key, network, {**inputs, "history": history, "seconds": time.perf_counter() - start,
                              "resumed": bool(resumed), "cpu": cpu_description()})
    return history, {"cached": False, "seconds": None, "resumed": False, "cpu": None}
