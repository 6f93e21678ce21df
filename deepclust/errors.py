"""Error types and helpers that turn bad input into one clear sentence.

Every problem a user can cause (a missing file, a bad value, an unknown name) raises
:class:`InputError` (a :class:`ValueError`) or :class:`MissingPathError` (a
:class:`FileNotFoundError`) whose message is a single sentence. The command line prints
that sentence and exits with a non-zero status, without a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


class DeepclustError(Exception):
    """Base class of every error deepclust raises on purpose."""


class InputError(DeepclustError, ValueError):
    """Invalid user input: a bad value, file content, parameter or name."""


class MissingPathError(DeepclustError, FileNotFoundError):
    """A path the user named does not exist."""

    def __str__(self) -> str:  # FileNotFoundError's default adds errno noise
        return str(self.args[0]) if self.args else "A path does not exist."


class TrainingError(DeepclustError, RuntimeError):
    """Training cannot go on (for example the loss became NaN or infinite)."""


class TrainingInterrupted(DeepclustError):
    """SIGINT or SIGTERM stopped training at a step boundary (after saving a checkpoint)."""


class DeadLayerWarning(UserWarning):
    """A layer of a network passes nothing at its start, so training cannot use the input."""


class CollapseWarning(UserWarning):
    """A clustering used fewer clusters than requested, or put almost everything in one."""


def closest_names(name: str, valid: Iterable[str], n: int = 3) -> list[str]:
    """Return up to ``n`` entries of ``valid`` that look most like ``name``."""
    valid = list(valid)
    close = difflib.get_close_matches(name, valid, n=n, cutoff=0.4)
    if not close:
        close = [v for v in valid if name.lower() in v.lower()][:n]
    return close


def unknown_name_error(kind: str, name: str, valid: Iterable[str]) -> InputError:
    """Build the error for an unknown ``kind`` (e.g. "method") with the closest valid names."""
    valid = sorted(valid)
    close = closest_names(name, valid)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    return InputError(
        f"Unknown {kind} {name!r}.{hint} Valid names: {', '.join(valid)}."
    )
