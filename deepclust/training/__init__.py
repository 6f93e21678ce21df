"""Training machinery written once for every deep method: loop, callbacks, pretraining,
cluster initialisation and device handling."""

from .callbacks import Callback, LossHistory, ProgressBar
from .device import resolve_device
from .loop import Trainer

__all__ = ["Callback", "LossHistory", "ProgressBar", "Trainer", "resolve_device"]
