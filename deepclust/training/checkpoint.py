"""Checkpoints of training stages: tensors in safetensors, everything else in JSON. Never pickle.

A :class:`CheckpointStore` keeps one checkpoint per stage name ("pretrain", "clustering",
...) in ``folder/<stage>/`` (``state.json`` + ``tensors.safetensors``), each written
atomically. :class:`Checkpoint` is the callback that saves a stage every ``every`` steps, at a
step boundary and before other callbacks act on that step, and once more when training is
interrupted (SIGINT/SIGTERM) or finishes. Batch order depends only on ``(seed, epoch)`` and
the torch random state is saved, so a resumed stage continues exactly where it stopped.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from ..errors import InputError
from ..fileio import atomic_dir
from .callbacks import Callback


def flatten(obj, prefix: str, tensors: dict):
    """Replace every tensor/array in a nested structure by a reference stored in ``tensors``."""
    if isinstance(obj, (torch.Tensor, np.ndarray)):
        key = prefix or "root"
        arr = obj.detach().cpu() if isinstance(obj, torch.Tensor) else torch.from_numpy(np.ascontiguousarray(obj))
        tensors[key] = arr.contiguous()
        return {"__tensor__": key, "numpy": isinstance(obj, np.ndarray)}
    if isinstance(obj, dict):
        return {"__dict__": [[flatten(k, f"{prefix}.k{i}", tensors), flatten(v, f"{prefix}.{i}", tensors)]
                             for i, (k, v) in enumerate(obj.items())]}
    if isinstance(obj, (list, tuple)):
        out = [flatten(v, f"{prefix}.{i}", tensors) for i, v in enumerate(obj)]
        return {"__tuple__": out} if isinstance(obj, tuple) else out
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def unflatten(obj, tensors: dict):
    """Inverse of :func:`flatten`."""
    if isinstance(obj, dict):
        if "__tensor__" in obj:
            t = tensors[obj["__tensor__"]]
            return t.numpy() if obj.get("numpy") else t
        if "__dict__" in obj:
            return {unflatten(k, tensors): unflatten(v, tensors) for k, v in obj["__dict__"]}
        if "__tuple__" in obj:
            return tuple(unflatten(v, tensors) for v in obj["__tuple__"])
        return {k: unflatten(v, tensors) for k, v in obj.items()}
    if isinstance(obj, list):
        return [unflatten(v, tensors) for v in obj]
    return obj


class CheckpointStore:
    """The checkpoints of one run, one sub-folder per training stage."""

    def __init__(self, folder):
        self.folder = Path(folder)

    def save(self, stage: str, state: dict) -> None:
        """Atomically replace the checkpoint of ``stage`` with ``state``."""
        from safetensors.torch import save_file

        tensors: dict = {}
        meta = flatten(state, "s", tensors)

        def fill(tmp: Path) -> None:
            save_file(tensors, str(tmp / "tensors.safetensors"))
            (tmp / "state.json").write_text(json.dumps(meta))

        atomic_dir(self.folder / stage, fill)

    def stages(self) -> list[str]:
        """Names of the stages that have a saved checkpoint, sorted (empty when there are none)."""
        if not self.folder.is_dir():
            return []
        return sorted(d.name for d in self.folder.iterdir() if (d / "state.json").is_file())

    def load(self, stage: str) -> dict | None:
        """The saved state of ``stage``, or ``None`` when there is none."""
        from safetensors.torch import load_file

        d = self.folder / stage
        if not (d / "state.json").is_file() or not (d / "tensors.safetensors").is_file():
            return None
        try:
            return unflatten(json.loads((d / "state.json").read_text()), load_file(str(d / "tensors.safetensors")))
        except Exception as exc:  # safetensors and json raise their own error types
            raise InputError(f"The checkpoint in {d} is unreadable ({type(exc).__name__}); delete it to start over.") \
                from None


class Checkpoint(Callback):
    """Save a training stage every ``every`` steps, when interrupted, and when it ends.

    ``objects`` maps names to things with ``state_dict``/``load_state_dict`` (networks,
    optimisers, callbacks). The saved state also holds the trainer's step and the torch
    random state. :meth:`restore` puts a saved state back before training continues.
    """

    def __init__(self, store: CheckpointStore, stage: str, every: int, objects: dict):
        self.store, self.stage, self.every, self.objects = store, stage, max(1, int(every)), objects
        self._last = -1

    def snapshot(self, trainer, done: bool = False) -> dict:
        """The state a checkpoint saves: trainer step (and stop reason once ``done``), torch's
        random state and every object's ``state_dict``."""
        return {"step": trainer.step, "done": done, "stop_reason": trainer.stop_reason if done else None,
                "rng": torch.get_rng_state(),
                "objects": {k: o.state_dict() for k, o in self.objects.items()}}

    def restore(self, trainer, state: dict) -> None:
        """Load a saved state into the objects and the trainer, and say so on stderr."""
        import sys

        what = "finished" if state.get("done") else f"at step {int(state['step'])}"
        sys.stderr.write(f"Resuming {self.stage} from its checkpoint ({what}).\n")
        for k, o in self.objects.items():
            o.load_state_dict(state["objects"][k])
        torch.set_rng_state(state["rng"])
        trainer.step = int(state["step"])
        trainer.stop_reason = state.get("stop_reason")
        self._last = trainer.step

    def _save(self, trainer, done: bool = False) -> None:
        self.store.save(self.stage, self.snapshot(trainer, done))
        self._last = trainer.step

    def on_step_start(self, trainer):
        if trainer.step and trainer.step % self.every == 0 and trainer.step != self._last:
            self._save(trainer)

    def on_interrupt(self, trainer):
        self._save(trainer)

    def on_train_end(self, trainer):
        self._save(trainer, done=True)


def attach_checkpoint(trainer, store: CheckpointStore | None, stage: str, every: int, objects: dict,
                      resume: bool) -> bool:
    """Checkpoint ``objects`` as ``stage`` while ``trainer`` runs; with ``resume``, restore the saved
    state first. Returns whether the saved stage had already finished (then skip training).

    The checkpoint callback goes first, so a snapshot is taken before other callbacks act on a
    step. Does nothing (and returns ``False``) without a ``store``.
    """
    if store is None:
        return False
    ckpt = Checkpoint(store, stage, every, objects)
    trainer.callbacks.insert(0, ckpt)
    saved = store.load(stage) if resume else None
    if saved is None:
        return False
    ckpt.restore(trainer, saved)
    return bool(saved["done"])
