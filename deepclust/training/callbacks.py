"""Callbacks: hooks that do nothing by default and keep their own state.

A :class:`~deepclust.training.loop.Trainer` calls ``on_train_start``, then for each step
``on_step_start`` (which may ask the trainer to stop) and ``on_step_end`` with the step's
loss components, and finally ``on_train_end``. ``state_dict``/``load_state_dict`` let a
checkpoint restore a callback exactly.
"""

from __future__ import annotations

import sys

import numpy as np


class Callback:
    """Base class: every hook is a no-op."""

    def on_train_start(self, trainer) -> None:
        """Called once before the first step."""

    def on_step_start(self, trainer) -> None:
        """Called before each step; may call ``trainer.request_stop(reason)``."""

    def on_step_end(self, trainer, logs: dict) -> None:
        """Called after each step with its loss components (floats)."""

    def on_train_end(self, trainer) -> None:
        """Called once after the last step."""

    def on_interrupt(self, trainer) -> None:
        """Called at a step boundary when SIGINT/SIGTERM asked training to stop."""

    def state_dict(self) -> dict:
        """JSON-serialisable state to checkpoint."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Restore what :meth:`state_dict` returned."""


class LossHistory(Callback):
    """Average every loss component over windows of ``every`` steps into ``records``.

    Each record is ``{"phase": name, "step": last step of the window, **means}``.
    """

    def __init__(self, phase: str, every: int = 50):
        self.phase = phase
        self.every = max(1, int(every))
        self.records: list[dict] = []
        self._sums: dict[str, float] = {}
        self._count = 0

    def on_step_end(self, trainer, logs):
        for k, v in logs.items():
            self._sums[k] = self._sums.get(k, 0.0) + float(v)
        self._count += 1
        if self._count >= self.every:
            self._flush(trainer.step)

    def on_train_end(self, trainer):
        if self._count:
            self._flush(trainer.step)

    def _flush(self, step: int) -> None:
        self.records.append({"phase": self.phase, "step": step,
                             **{k: v / self._count for k, v in self._sums.items()}})
        self._sums, self._count = {}, 0

    def state_dict(self):
        return {"records": self.records, "sums": self._sums, "count": self._count}

    def load_state_dict(self, state):
        self.records, self._sums, self._count = state["records"], state["sums"], state["count"]


class ProgressBar(Callback):
    """A tqdm bar over steps showing the latest loss components (stderr; off when disabled)."""

    def __init__(self, desc: str, enabled: bool = True):
        self.desc = desc
        self.enabled = enabled
        self._bar = None

    def on_train_start(self, trainer):
        if self.enabled:
            from tqdm import tqdm

            self._bar = tqdm(total=trainer.max_steps, initial=trainer.step, desc=self.desc,
                             unit="step", file=sys.stderr, dynamic_ncols=True, mininterval=1.0)

    def on_step_end(self, trainer, logs):
        if self._bar is not None:
            self._bar.update(1)
            if trainer.step % 20 == 0:
                self._bar.set_postfix({k: f"{float(v):.4g}" for k, v in logs.items()}, refresh=False)

    def on_train_end(self, trainer):
        if self._bar is not None:
            if trainer.stop_reason and trainer.stop_reason != "max_steps":
                self._bar.set_postfix_str(f"stopped: {trainer.stop_reason}")
            self._bar.close()
            self._bar = None


class StepDecay(Callback):
    """Step learning-rate schedule: before each step, ``lr = max(base_lr * factor ** (step // every), floor)``.

    Sets the rate of every parameter group of ``optimizers`` (times the group's ``lr_scale``
    where it has one, e.g. Caffe's doubled bias rate). It keeps no state of its own
    (the rate follows the trainer's step), so a resumed run continues the same schedule. The
    DEC paper's pretraining divides by 10 every 20,000 steps (Xie et al. 2016, section 4.3);
    VaDE's reference code multiplies by 0.9 every 10 epochs down to a floor.
    """

    def __init__(self, optimizers, base_lr: float, factor: float, every: int, floor: float = 0.0):
        self.optimizers = list(optimizers)
        self.base_lr, self.factor, self.floor = float(base_lr), float(factor), float(floor)
        self.every = max(1, int(every))

    def lr_at(self, step: int) -> float:
        """The learning rate of ``step`` (0-based)."""
        return max(self.base_lr * self.factor ** (step // self.every), self.floor)

    def on_step_start(self, trainer):
        lr = self.lr_at(trainer.step)
        for opt in self.optimizers:
            for group in opt.param_groups:
                group["lr"] = lr * group.get("lr_scale", 1.0)


class MomentumBurnIn(Callback):
    """Raise SGD's momentum linearly from 0 to ``momentum`` over the first ``steps`` steps.

    Before step ``t < steps`` every parameter group of ``optimizer`` gets momentum
    ``momentum * t / steps``; from step ``steps`` on, ``momentum``. This is the
    ``momentum_burnin`` of the Caffe solver in the DEC authors' code (piiswrong/dec, 1,000 steps
    for every pretraining stage). At step 0 the momentum is a negligible positive number rather
    than 0: PyTorch keeps no momentum buffer for a step taken with momentum 0, and its first
    buffer is the gradient itself whatever the momentum, so the updates equal Caffe's. Keeps no
    state of its own (it follows the trainer's step), so a resumed run continues the ramp.
    """

    def __init__(self, optimizer, momentum: float, steps: int):
        self.optimizer, self.momentum, self.steps = optimizer, float(momentum), max(1, int(steps))

    def momentum_at(self, step: int) -> float:
        """The momentum of ``step`` (0-based)."""
        return max(self.momentum * min(step, self.steps) / self.steps, 1e-30 if self.momentum else 0.0)

    def on_step_start(self, trainer):
        for group in self.optimizer.param_groups:
            group["momentum"] = self.momentum_at(trainer.step)


class OptimizerRestart(Callback):
    """Clear ``optimizer``'s state (SGD's momentum, Adam's moments) every ``interval`` steps.

    The DEC authors' Caffe code (piiswrong/dec, ``dec/dec.py``) runs each stretch between two
    target refreshes as a new solver from saved weights, so its momentum starts from zero at
    every refresh; with ``interval`` = the refresh interval this does the same. Keeps no state
    of its own (it follows the trainer's step).
    """

    def __init__(self, optimizer, interval: int):
        self.optimizer, self.interval = optimizer, max(1, int(interval))

    def on_step_start(self, trainer):
        if trainer.step % self.interval == 0:
            self.optimizer.state.clear()


class TargetRefresh(Callback):
    """Every ``interval`` steps: soft-assign the WHOLE dataset, refresh the target, check the stop rule.

    ``assign()`` returns the soft assignments q of all points; ``target(q)`` the training
    target (DEC's sharpened p). The hard labels are ``argmax q``; the fraction of points whose
    label changed since the previous refresh is ``delta_label``, and training stops when it
    falls below ``tol`` — never at the first refresh (step 0), whose labels are the
    initialisation's own. ``monitor_labels`` (optional true classes) only add ACC/NMI/ARI
    to the records; nothing reads them.

    After a refresh, ``self.target`` holds the current target and ``self.labels`` the labels.
    """

    def __init__(self, interval: int, tol: float, assign, target, initial_labels=None,
                 monitor_labels=None):
        self.interval = max(1, int(interval))
        self.tol = float(tol)
        self.assign = assign
        self.target_fn = target
        self.labels = None if initial_labels is None else np.asarray(initial_labels)
        self.monitor_labels = monitor_labels
        self.target = None
        self.records: list[dict] = []

    def on_step_start(self, trainer):
        if trainer.step % self.interval and self.target is not None:
            return
        q = self.assign()
        self.target = self.target_fn(q)
        labels = q.argmax(dim=1).cpu().numpy()
        delta = None if self.labels is None else float(np.mean(labels != self.labels))
        record = {"step": trainer.step, "delta_label": delta}
        if self.monitor_labels is not None:
            from .. import metrics

            record.update(acc=metrics.accuracy(self.monitor_labels, labels),
                          nmi=metrics.nmi(self.monitor_labels, labels),
                          ari=metrics.ari(self.monitor_labels, labels))
        self.records.append(record)
        self.labels = labels
        if trainer.step > 0 and delta is not None and delta < self.tol:
            trainer.request_stop(f"tol: {delta:.5f} of labels changed (< {self.tol})")

    def state_dict(self):
        return {"records": self.records, "labels": self.labels, "target": self.target}

    def load_state_dict(self, state):
        self.records = list(state["records"])
        self.labels = None if state["labels"] is None else np.asarray(state["labels"])
        self.target = state["target"]
