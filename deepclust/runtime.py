"""Run bookkeeping: seeding, phase timings with peak memory, library versions, progress.

One ``seed`` drives Python's, NumPy's and PyTorch's generators; estimators also receive it
as ``random_state`` so scikit-learn and UMAP are seeded explicitly, never from global state.
"""

from __future__ import annotations

import platform
import random
import resource
import sys
import threading
import time
from contextlib import contextmanager
from importlib import metadata

import numpy as np

LIBRARIES = ("deepclust", "numpy", "scipy", "scikit-learn", "torch", "umap-learn",
             "numba", "safetensors", "matplotlib")


def seed_everything(seed: int | None) -> None:
    """Seed Python's ``random``, NumPy's legacy global generator and PyTorch (if imported).

    With ``DEEPCLUST_DETERMINISTIC=1`` in the environment it also calls
    :func:`use_deterministic_torch`.
    """
    import os

    if os.environ.get("DEEPCLUST_DETERMINISTIC") == "1":
        use_deterministic_torch(True)
    if seed is None:
        return
    random.seed(seed)
    np.random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def use_deterministic_torch(enabled: bool = True) -> None:
    """Ask PyTorch for deterministic kernels (needed for bit-identical runs on a GPU).

    Sets ``torch.use_deterministic_algorithms``, turns cuDNN autotuning off and sets
    ``CUBLAS_WORKSPACE_CONFIG=:4096:8`` (required by cuBLAS) when it is not already set.
    On the CPU deepclust runs are deterministic without it. An operation that has no
    deterministic GPU kernel then raises instead of running silently non-deterministically.
    :func:`seed_everything` calls it when the environment sets ``DEEPCLUST_DETERMINISTIC=1``
    (so ``DEEPCLUST_DETERMINISTIC=1 deepclust run ...`` works). See ``docs/reproducibility.md``.
    """
    import os

    import torch

    if enabled:
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.use_deterministic_algorithms(enabled)
    torch.backends.cudnn.benchmark = False
    torch.backends.cudnn.deterministic = enabled


# Instruction-set extensions that change PyTorch's CPU speed (its kernels pick the widest available).
SPEED_FLAGS = ("avx2", "avx512f", "avx512_bf16", "amx_tile")


def cpu_description(cpuinfo_path: str = "/proc/cpuinfo") -> str:
    """One line naming the CPU model, the logical CPU count and its speed-relevant extensions.

    Read from ``/proc/cpuinfo`` (Linux), e.g. ``"Intel(R) Xeon(R) Processor; 2 CPUs; avx2 avx512f"``;
    elsewhere ``platform.processor()``. Recorded with every run so that seconds measured on
    different hosts of the same nominal size are not compared unknowingly.
    """
    fallback = platform.processor() or "unknown"
    try:
        with open(cpuinfo_path, encoding="utf-8", errors="replace") as fh:
            text = fh.read()
    except OSError:
        return fallback
    fields: dict[str, str] = {}
    count = 0
    for line in text.splitlines():
        key, _, value = line.partition(":")
        key = key.strip()
        if key == "processor":
            count += 1
        fields.setdefault(key, value.strip())
    flags = set(fields.get("flags", "").split())
    extensions = " ".join(f for f in SPEED_FLAGS if f in flags) or "no avx2"
    return f"{fields.get('model name', fallback)}; {count} CPUs; {extensions}"


def source_revision(package_dir: str | None = None) -> str:
    """The git commit of the deepclust source that runs, e.g. ``"a8ba3fc1d2e4"``.

    ``"+modified"`` is appended when tracked files of the package differ from that commit (so
    the commit alone does not say what ran); ``"unknown"`` outside a git checkout (an installed
    wheel) or without git. Recorded with every run, so results can be tied to the code that
    produced them, and a change that moves results can say which recorded runs predate it.
    """
    import subprocess
    from pathlib import Path

    where = package_dir or str(Path(__file__).resolve().parent)
    try:
        head = subprocess.run(["git", "-C", where, "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        changed = subprocess.run(["git", "-C", where, "status", "--porcelain", "--untracked-files=no", "--", "."],
                                 capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    if head.returncode != 0 or not head.stdout.strip():
        return "unknown"
    return head.stdout.strip() + ("+modified" if changed.stdout.strip() else "")


def gpu_description() -> str:
    """The CUDA GPU PyTorch trains on (name, memory, CUDA version), e.g.
    ``"NVIDIA H100 80GB HBM3; 79 GiB; CUDA 13.0"``, or ``"none"``.

    ``"none"`` also when PyTorch has not been imported: such a run (a classic method) used no GPU.
    """
    torch = sys.modules.get("torch")
    if torch is None or not torch.cuda.is_available():
        return "none"
    props = torch.cuda.get_device_properties(torch.cuda.current_device())
    return f"{props.name}; {props.total_memory / 2**30:.0f} GiB; CUDA {torch.version.cuda}"


def library_versions() -> dict[str, str]:
    """Installed versions of the libraries a result depends on, plus Python, platform, CPU, GPU
    (:func:`gpu_description`) and the deepclust source's git commit (:func:`source_revision`)."""
    out = {"python": platform.python_version(), "platform": platform.platform(), "cpu": cpu_description(),
           "gpu": gpu_description(), "deepclust_source": source_revision()}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def cpu_ticks(stat_path: str = "/proc/stat") -> tuple[int, int] | None:
    """``(steal, total)`` CPU ticks of the whole machine since boot (Linux), or ``None``.

    *Steal* is time a virtual machine's CPUs waited while the host ran other guests; its
    share of a run's ticks (:func:`steal_fraction`) tells whether the run's seconds were
    slowed by the host rather than by the code.
    """
    try:
        with open(stat_path, encoding="ascii") as fh:
            fields = fh.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu" or len(fields) < 9:
        return None
    ticks = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    return ticks[7], sum(ticks)


def steal_fraction(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    """Share of the CPU ticks between two :func:`cpu_ticks` readings that were stolen by the host."""
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round((after[0] - before[0]) / (after[1] - before[1]), 4)


def peak_memory_mb() -> float:
    """Peak resident memory of this process so far, in MiB (Linux ``ru_maxrss`` is KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


class PhaseTimer:
    """Record wall-clock seconds and peak memory of named phases.

    Use ``with timer.phase("fit"): ...``; ``timer.seconds`` maps phase -> seconds. When
    ``progress`` is true, a one-line status with the elapsed time is kept on stderr while the
    phase runs (for phases without their own progress bar).
    """

    def __init__(self, progress: bool = False):
        self.progress = progress
        self.seconds: dict[str, float] = {}
        self.peak_memory_mb: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str, label: str | None = None):
        """Time the ``with`` block as phase ``name`` (seconds add up over repeats) and record
        the peak memory at its end; with ``progress`` a status line shows ``label`` meanwhile."""
        start = time.perf_counter()
        ticker = _Ticker(label or name) if self.progress else None
        try:
            yield
        finally:
            elapsed = time.perf_counter() - start
            if ticker:
                ticker.stop(elapsed)
            self.seconds[name] = self.seconds.get(name, 0.0) + elapsed
            self.peak_memory_mb[name] = peak_memory_mb()


class _Ticker:
    """A status line '<label> ... 12 s' refreshed every second on stderr (TTY only)."""

    def __init__(self, label: str):
        self.label = label
        self._done = threading.Event()
        self._start = time.perf_counter()
        self._tty = sys.stderr.isatty()
        if self._tty:
            self._thread = threading.Thread(target=self._run, daemon=True)
            self._thread.start()
        else:
            print(f"{label} ...", file=sys.stderr, flush=True)

    def _run(self):
        while not self._done.wait(1.0):
            secs = time.perf_counter() - self._start
            print(f"\r{self.label} ... {secs:5.0f} s", end="", file=sys.stderr, flush=True)

    def stop(self, elapsed: float):
        self._done.set()
        prefix = "\r" if self._tty else ""
        print(f"{prefix}{self.label} ... done in {elapsed:.1f} s", file=sys.stderr, flush=True)
