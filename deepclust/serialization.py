"""Model files: tensors in safetensors, everything else in JSON. Never pickle.

A saved model is a folder with two files:

* ``config.json`` — ``{"format": "deepclust-model", "format_version": 1, "method": NAME,
  "params": {...}, "state": {...}, "tensors": {NAME: {"shape": [...], "dtype": "..."}},
  "deepclust_version": "..."}``
* ``weights.safetensors`` — the arrays named in ``tensors``.

Loading validates the JSON against this schema and every tensor's name, shape and dtype
against the config, and rejects anything else with one clear sentence.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from .errors import InputError, MissingPathError
from .fileio import _json_safe, atomic_dir

FORMAT = "deepclust-model"
FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
WEIGHTS_FILE = "weights.safetensors"

_SCHEMA = {
    "format": str,
    "format_version": int,
    "method": str,
    "params": dict,
    "state": dict,
    "tensors": dict,
}


def write_model(path, method: str, params: dict, state: dict, arrays: dict[str, np.ndarray]) -> Path:
    """Write a model folder atomically (see the module docstring for the layout)."""
    from safetensors.numpy import save_file

    from . import __version__

    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    config = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "method": method,
        "params": _json_safe(params),
        "state": _json_safe(state),
        "tensors": {k: {"shape": list(v.shape), "dtype": str(v.dtype)} for k, v in arrays.items()},
        "deepclust_version": __version__,
    }

    def fill(tmp: Path) -> None:
        save_file(arrays, str(tmp / WEIGHTS_FILE))
        (tmp / CONFIG_FILE).write_text(json.dumps(config, indent=2, allow_nan=False) + "\n")

    return atomic_dir(path, fill)


def read_model(path) -> tuple[dict, dict[str, np.ndarray]]:
    """Read and validate a model folder; return ``(config, arrays)``."""
    path = Path(path)
    if not path.exists():
        raise MissingPathError(f"Model folder {path} does not exist.")
    cfg_path, w_path = path / CONFIG_FILE, path / WEIGHTS_FILE
    for p in (cfg_path, w_path):
        if not p.is_file():
            raise InputError(f"{path} is not a deepclust model folder: {p.name} is missing.")
    try:
        config = json.loads(cfg_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{cfg_path} is not valid JSON ({exc}).") from None
    _check_schema(config, cfg_path)
    arrays = _read_tensors(w_path)
    expected = config["tensors"]
    if set(arrays) != set(expected):
        raise InputError(
            f"{w_path} holds tensors {sorted(arrays)} but {cfg_path.name} lists {sorted(expected)}."
        )
    for name, meta in expected.items():
        arr = arrays[name]
        if list(arr.shape) != list(meta.get("shape", [])) or str(arr.dtype) != meta.get("dtype"):
            raise InputError(
                f"Tensor {name!r} in {w_path} has shape {list(arr.shape)} and dtype {arr.dtype}, "
                f"but {cfg_path.name} expects {meta.get('shape')} and {meta.get('dtype')}."
            )
    return config, arrays


def _check_schema(config, where: Path) -> None:
    if not isinstance(config, dict):
        raise InputError(f"{where} must hold a JSON object.")
    for key, typ in _SCHEMA.items():
        if key not in config:
            raise InputError(f"{where} is missing the required key {key!r}.")
        if not isinstance(config[key], typ) or isinstance(config[key], bool):
            raise InputError(f"Key {key!r} in {where} must be a {typ.__name__}.")
    if config["format"] != FORMAT:
        raise InputError(f"{where} is not a deepclust model (format {config['format']!r}).")
    if config["format_version"] != FORMAT_VERSION:
        raise InputError(
            f"{where} has format version {config['format_version']}, this deepclust reads "
            f"version {FORMAT_VERSION}."
        )
    for name, meta in config["tensors"].items():
        if not (isinstance(meta, dict) and isinstance(meta.get("shape"), list)
                and isinstance(meta.get("dtype"), str)):
            raise InputError(f"Tensor entry {name!r} in {where} needs a 'shape' list and a 'dtype'.")


def _read_tensors(w_path: Path) -> dict[str, np.ndarray]:
    from safetensors.numpy import load_file

    try:
        return load_file(str(w_path))
    except Exception as exc:  # safetensors raises its own error types for bad headers
        raise InputError(f"{w_path} is not a valid safetensors file ({type(exc).__name__}).") from None
