"""Load network weights read from a model file, checking names and shapes first."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ..errors import InputError


def module_arrays(module: nn.Module, prefix: str = "network.") -> dict[str, np.ndarray]:
    """The module's state (weights and buffers) as numpy arrays named ``prefix + name``."""
    return {f"{prefix}{k}": v.detach().cpu().numpy() for k, v in module.state_dict().items()}


def load_checked(module: nn.Module, arrays: dict, prefix: str = "network.", what: str = "network") -> None:
    """Load ``arrays`` (``prefix + name`` -> array) into ``module`` after checking them.

    Every expected weight must be present with the expected shape (a scalar buffer may be
    stored as a one-element array), and no unexpected ``prefix`` entry may remain;
    anything else raises :class:`InputError` naming the first problem.
    """
    given = {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}
    expected = module.state_dict()
    state = {}
    for name, tensor in expected.items():
        if name not in given:
            raise InputError(f"The model file has no {what} weights {name!r}.")
        value = np.asarray(given[name])
        if tuple(value.shape) != tuple(tensor.shape) and not (tensor.dim() == 0 and value.size == 1):
            raise InputError(f"The {what} weights {name!r} have shape {tuple(value.shape)}, expected "
                             f"{tuple(tensor.shape)} for the saved configuration.")
        state[name] = torch.from_numpy(value.reshape(tuple(tensor.shape)).copy())
    extra = set(given) - set(expected)
    if extra:
        raise InputError(f"The model file has unexpected {what} weights {sorted(extra)}.")
    module.load_state_dict(state)
