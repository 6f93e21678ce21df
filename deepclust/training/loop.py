"""The one training loop every deep method uses.

A method supplies ``step_fn(indices) -> {loss component: value}`` (it computes the loss on
those samples and takes an optimiser step); the trainer walks mini-batches, calls the
callbacks and stops at ``max_steps`` or when a callback asks. A NaN or infinite loss
component stops training with :class:`~deepclust.errors.TrainingError`. Batch order (``order``)
is a seeded permutation per epoch derived from ``(seed, epoch)`` (``"shuffle"``), the data's own
order with the last batch of each pass partial (``"data"``, as Keras' ``shuffle=False``), or the
data read as a ring, every batch full and running over the end into the start (``"cyclic"``, as
Caffe's data layer reads its database). Each depends only on the seed and the step, so a resumed
run sees exactly the batches an uninterrupted one would.

A stop request (:func:`request_interrupt`, sent by ``deepclust run``'s SIGINT/SIGTERM handler)
ends a training loop at its next step boundary, after its checkpoint callback has saved it.
Work between training loops that a resume simply repeats from the saved stages (a k-means start,
UMAP, the final assignment) runs inside :func:`stop_at_once`, where a stop request ends it at
once instead of letting it run to the end of the fit.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch

from ..errors import TrainingError, TrainingInterrupted

_INTERRUPT = threading.Event()
_STAGE: list[str] = []  # the stop_at_once stages entered and not yet left, innermost last


class StageInterrupted(TrainingInterrupted):
    """A stop request ended a :func:`stop_at_once` stage; ``stage`` names it."""

    def __init__(self, stage: str):
        super().__init__(f"Fitting was interrupted during {stage}.")
        self.stage = stage


def request_interrupt() -> None:
    """Ask the running trainer to stop at the next step boundary (used by signal handlers).

    Inside a :func:`stop_at_once` stage there is no step boundary to wait for: the request raises
    :class:`StageInterrupted` at once (from the signal handler, so in the interrupted code).
    """
    if _STAGE:
        raise StageInterrupted(_STAGE[-1])
    _INTERRUPT.set()


@contextmanager
def stop_at_once(stage: str) -> Iterator[None]:
    """Run the block as a stage that a stop request may end at once.

    For work that keeps nothing a resume needs, because a resume repeats it from the stages saved
    before it with the same result (a seeded k-means start, UMAP, a final assignment). A request
    already pending on entry (it arrived after the last training step) raises
    :class:`StageInterrupted` before the block starts; one that arrives during it raises at once.
    """
    if _INTERRUPT.is_set():
        _INTERRUPT.clear()
        raise StageInterrupted(stage)
    _STAGE.append(stage)
    try:
        yield
    finally:
        _STAGE.pop()


def clear_interrupt() -> None:
    """Withdraw a stop request that no trainer has taken up (used when a fit ends)."""
    _INTERRUPT.clear()


BATCH_ORDERS = ("shuffle", "data", "cyclic")


class Trainer:
    """Run ``step_fn`` over mini-batches of ``n_samples`` indices (in ``order``) with callbacks.

    Attributes
    ----------
    step : int
        Steps taken so far.
    stop_reason : str or None
        Why training stopped ("max_steps", or what a callback gave, e.g. "tol").
    """

    def __init__(self, n_samples: int, batch_size: int, max_steps: int, *, seed: int = 0,
                 callbacks=(), order: str = "shuffle"):
        if order not in BATCH_ORDERS:
            raise ValueError(f"unknown batch order {order!r}; expected one of {BATCH_ORDERS}")
        self.n_samples = int(n_samples)
        self.batch_size = int(min(batch_size, n_samples))
        self.max_steps = int(max_steps)
        self.seed = int(seed)
        self.callbacks = list(callbacks)
        self.order = order
        self.step = 0
        self.stop_reason: str | None = None

    @property
    def steps_per_epoch(self) -> int:
        """Mini-batches per pass over the data (the last one may be smaller, except in ``"cyclic"`` order)."""
        return math.ceil(self.n_samples / self.batch_size)

    def request_stop(self, reason: str) -> None:
        """Stop before the next step (called by callbacks)."""
        self.stop_reason = reason

    def epoch_order(self, epoch: int) -> torch.Tensor:
        """The sample order of ``epoch``: a permutation seeded by ``(seed, epoch)``, or the data's order."""
        if self.order != "shuffle":
            return torch.arange(self.n_samples)
        g = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(self.n_samples, generator=g)

    def run(self, step_fn: Callable[[torch.Tensor], dict]) -> Trainer:
        """Train until ``max_steps`` or a stop request; returns ``self``."""
        self.stop_reason = None
        for cb in self.callbacks:
            cb.on_train_start(self)
        order, order_epoch = None, -1
        while self.step < self.max_steps:
            epoch, pos = divmod(self.step, self.steps_per_epoch)
            if epoch != order_epoch:
                order, order_epoch = self.epoch_order(epoch), epoch
            if _INTERRUPT.is_set():
                _INTERRUPT.clear()
                for cb in self.callbacks:
                    cb.on_interrupt(self)
                raise TrainingInterrupted(f"Training was interrupted at step {self.step}.")
            for cb in self.callbacks:
                cb.on_step_start(self)
            if self.stop_reason:
                break
            if self.order == "cyclic":
                idx = (torch.arange(self.batch_size) + self.step * self.batch_size) % self.n_samples
            else:
                idx = order[pos * self.batch_size : (pos + 1) * self.batch_size]
            logs = step_fn(idx)
            bad = {k: v for k, v in logs.items() if isinstance(v, float) and not math.isfinite(v)}
            if bad:
                raise TrainingError(
                    f"Training diverged at step {self.step}: {', '.join(f'{k}={v}' for k, v in bad.items())}; "
                    "lower the learning rate or check the data scale."
                )
            self.step += 1
            for cb in self.callbacks:
                cb.on_step_end(self, logs)
            if self.stop_reason:
                break
        if self.stop_reason is None:
            self.stop_reason = "max_steps"
        for cb in self.callbacks:
            cb.on_train_end(self)
        return self
