"""Device selection and mixed precision.

``device="auto"`` picks CUDA when available and the CPU otherwise. On CUDA, forward passes
run under bfloat16 autocast (safe for these networks: losses, soft assignments and targets
are computed in float32); on the CPU everything stays float32.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch

from ..errors import InputError


def resolve_device(device: str = "auto") -> torch.device:
    """Map ``"auto" | "cpu" | "cuda" | "cuda:N"`` to a torch device, with a clear error."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise InputError("device='cuda' was requested but no CUDA GPU is available; use --device cpu or auto.")
    try:
        return torch.device(device)
    except RuntimeError:
        raise InputError(f"Unknown device {device!r}; use auto, cpu or cuda.") from None


def autocast(device: torch.device):
    """bfloat16 autocast on CUDA, nothing on the CPU."""
    if device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    return nullcontext()


class StreamedRows:
    """Tensor-like row access to data kept on disk (:class:`~deepclust.data.lazy.LazyMatrix`).

    Training code reads ``X_t[indices]`` and ``X_t[a:b]`` and asks ``X_t.shape`` and
    ``X_t.device``; for data larger than memory :func:`as_tensor` returns this object, which
    reads just those rows from disk and moves them to the device.
    """

    def __init__(self, matrix, device: torch.device):
        self.matrix = matrix
        self.device = device
        self.shape = torch.Size(matrix.shape)

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key) -> torch.Tensor:
        if isinstance(key, torch.Tensor):
            key = key.cpu().numpy()
        return torch.from_numpy(self.matrix[key]).to(self.device)


def as_tensor(X, device: torch.device):
    """A float32 tensor of ``X`` on ``device`` (no copy for a float32 CPU array).

    Data kept on disk as a :class:`~deepclust.data.lazy.LazyMatrix` gives a
    :class:`StreamedRows` instead, which reads rows only when they are indexed.
    """
    from ..data.lazy import LazyMatrix

    if isinstance(X, LazyMatrix):
        return StreamedRows(X, device)
    t = torch.from_numpy(X) if not isinstance(X, torch.Tensor) else X
    return t.to(device=device, dtype=torch.float32)


@torch.no_grad()
def map_batches(fn, X: torch.Tensor, batch_size: int = 4096) -> torch.Tensor:
    """Apply ``fn`` to ``X`` in batches (no gradients) and concatenate the float32 results."""
    device = X.device
    outs = []
    with autocast(device):
        for start in range(0, X.shape[0], batch_size):
            outs.append(fn(X[start : start + batch_size]).float())
    return torch.cat(outs)
