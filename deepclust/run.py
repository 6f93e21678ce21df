"""One clustering run from data to written outputs; the CLI and the benchmarks call this.

Outputs (all written atomically into ``out``):

* ``labels.csv`` — ``index,cluster,confidence`` (confidence empty when the method has none;
  ``index`` is the row number in the data, which matters for a ``sample=N`` run)
* ``metrics.json`` — :func:`deepclust.metrics.evaluate` on the input features, plus the
  internal metrics on the learned embedding when the method has one
* ``run.json`` — method, data, full configuration, seed, library versions, seconds and peak
  memory per phase (``fit_phases`` splits the fit, e.g. pretrain / init / clustering),
  command line and date
* ``history.json`` — training history of deep methods (loss components, refreshes)
* ``embedding.npy`` — the learned embedding of the training data, when the method has one
* ``report.html`` — the self-contained report (:func:`deepclust.viz.build_report`)
* ``model/`` — safetensors + JSON, when the method can be saved
"""

from __future__ import annotations

import io
import shutil
import sys
import threading
import time
import warnings
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from . import metrics
from .errors import CollapseWarning, InputError, TrainingInterrupted
from .fileio import atomic_write, atomic_write_json
from .registry import make_estimator
from .runtime import PhaseTimer, library_versions, peak_memory_mb, seed_everything


@dataclass
class RunResult:
    """What :func:`run` produced: the fitted estimator, its labels, metrics and run record."""

    estimator: object
    labels: np.ndarray
    metrics: dict
    record: dict
    out: Path | None = None
    confidence: np.ndarray | None = field(default=None, repr=False)
    sample_indices: np.ndarray | None = field(default=None, repr=False)  # rows of a ``sample=N`` run
    dataset_prep: object | None = field(default=None, repr=False)  # a table's fitted TablePrep, saved with the model


TABLE_PREP = "table_prep.json"  # in a model folder: how a table's rows were prepared (``prep="standard"``)


def saved_table_prep(model_dir: Path):
    """The :class:`~deepclust.data.table_prep.TablePrep` saved beside a model, or ``None``."""
    from .data.table_prep import TablePrep

    path = Path(model_dir) / TABLE_PREP
    return TablePrep.load(path) if path.is_file() else None


def prepare_out_dir(out, force: bool) -> Path:
    """Refuse to reuse a non-empty output folder unless ``force`` is set."""
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"Output path {out} exists and is not a folder.")
    if out.exists() and any(out.iterdir()) and not force:
        raise InputError(f"Output folder {out} already exists and is not empty; pass --force to overwrite it.")
    out.mkdir(parents=True, exist_ok=True)
    return out


def resolve_n_clusters(n_clusters, dataset) -> tuple[int | None, str]:
    """Pick k: the user's value, else the dataset's documented class count (metadata only)."""
    if n_clusters is not None:
        return n_clusters, "user"
    if dataset.class_names:
        return len(dataset.class_names), "dataset metadata (number of documented classes)"
    raise InputError(
        f"Dataset {dataset.name!r} has no documented number of classes; pass --n-clusters."
    )


REQUEST = "request.json"


def draw_sample(n_samples: int, size: int, seed: int | None) -> np.ndarray:
    """Sorted row numbers of a random ``size``-point subset of ``n_samples`` rows, drawn with ``seed``."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 2:
        raise InputError(f"sample must be an integer of at least 2, got {size!r}.")
    if size > n_samples:
        raise InputError(f"sample={size} exceeds the {n_samples} samples of the data; choose at most {n_samples}.")
    rng = np.random.default_rng(seed)
    return np.sort(rng.choice(n_samples, size=size, replace=False)).astype(np.int64)


def resume_run(out, **overrides) -> RunResult:
    """Continue the interrupted run in ``out`` with the arguments it was started with."""
    out = Path(out)
    if not (out / REQUEST).is_file():
        raise InputError(f"{out} holds no interrupted run to resume ({REQUEST} is missing).")
    import json

    request = json.loads((out / REQUEST).read_text(encoding="utf-8"))
    return run(**{**request, **overrides}, out=out, resume=True)


def training_device(estimator) -> str:
    """Where ``estimator``'s network trained, ``device="auto"`` resolved (``"cuda:0"``, ``"cpu"``):
    its own device or its reducer's (``ae+kmeans`` ...); ``"cpu"`` for classic methods."""
    for part in (estimator, getattr(estimator, "reducer_", None)):
        if hasattr(part, "device_"):
            return str(part.device_)
    return "cpu"


def run(method: str, data, *, n_clusters: int | None = None, seed: int | None = 0,
        params: dict | None = None, out=None, force: bool = False, split: str = "all",
        labels=None, progress: bool = False, monitor: bool = False, report: bool = True,
        map_method: str = "umap", resume: bool = False, sample: int | None = None,
        prep: str | None = None) -> RunResult:
    """Load ``data``, fit ``method``, evaluate, and write the outputs into ``out`` (optional).

    ``data`` is a dataset name, a path, or a :class:`deepclust.data.Dataset`. Labels in the
    data are used only for the external metrics, after fitting, and — with ``monitor`` —
    to record ACC/NMI/ARI in a deep method's training history (never for decisions).
    Image data fills an ``input_shape`` parameter the user left unset (convolutional nets).
    ``sample=N`` clusters a random N-point subset drawn with ``seed`` (its row numbers are
    the ``index`` column of ``labels.csv``), as seed 004 ran t-SNE on a random 10,000-image
    sample.

    With ``out``, deep methods checkpoint into ``out/checkpoint`` (removed once the run has
    finished); SIGINT/SIGTERM save a checkpoint and stop, and :func:`resume_run` (or
    ``resume=True``) continues from it with identical results.
    """
    from .data import Dataset, load_dataset

    started = time.time()
    request = {"method": method, "data": data if isinstance(data, str) else None, "n_clusters": n_clusters,
               "seed": seed, "params": dict(params or {}), "split": split, "labels": labels, "monitor": monitor,
               "report": report, "map_method": map_method, "sample": sample, "prep": prep}
    out = prepare_out_dir(out, force or resume) if out is not None else None
    if out is not None and request["data"] is not None and not resume:
        atomic_write_json(out / REQUEST, request)
    timer = PhaseTimer(progress=progress)
    with timer.phase("load", "loading data"):
        ds = data if isinstance(data, Dataset) else load_dataset(data, split=split, labels=labels, prep=prep)
        table_prep = ds.prep
        sample_indices = None if sample is None else draw_sample(ds.n_samples, sample, seed)
        if sample_indices is not None:
            ds = ds.subset(sample_indices)
    params = dict(params or {})
    estimator = make_estimator(method, **params)
    if ds.is_image and "input_shape" not in params and estimator.accepts_param("input_shape"):
        estimator.set_params(input_shape=tuple(ds.shape))
    checkpoint_dir = params.get("checkpoint_dir")
    if out is not None and "checkpoint_dir" not in params and estimator.accepts_param("checkpoint_dir"):
        checkpoint_dir = str(out / "checkpoint")
        estimator.set_params(checkpoint_dir=checkpoint_dir)
    k, k_source = resolve_n_clusters(n_clusters, ds) if estimator.uses_n_clusters else (None, "not used")
    if k is not None:
        estimator.set_params(n_clusters=k)
    if "random_state" in estimator.get_params():
        estimator.set_params(random_state=seed)
    seed_everything(seed)
    with timer.phase("fit", f"fitting {method} on {ds.n_samples} samples"), \
            warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CollapseWarning)
        with _stop_on_signals(checkpoints=estimator.accepts_param("checkpoint_dir")):
            try:
                estimator.fit(ds.X, monitor_labels=ds.y if monitor else None, resume=resume)
            except TrainingInterrupted as exc:
                raise TrainingInterrupted(_interrupted_message(exc, bool(checkpoint_dir), out)) from None
    collapse = [str(w.message) for w in caught if issubclass(w.category, CollapseWarning)]
    for w in caught:
        if issubclass(w.category, CollapseWarning):
            print(f"Warning: {w.message}", file=sys.stderr)
        else:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    labels_ = np.asarray(estimator.labels_)
    confidence = estimator.training_confidence()
    with timer.phase("evaluate", "computing metrics"):
        result = metrics.evaluate(labels_, ds.y, ds.X, proba=getattr(estimator, "proba_", None),
                                  random_state=seed or 0)
        emb = getattr(estimator, "embedding_", None)
        if emb is not None:
            result["internal_embedding"] = {
                "silhouette": metrics.silhouette(emb, labels_, random_state=seed or 0),
                "calinski_harabasz": metrics.calinski_harabasz(emb, labels_),
                "davies_bouldin": metrics.davies_bouldin(emb, labels_),
            }
    record = {
        "method": method,
        "data": {"name": ds.name, "source": str(ds.source), "split": split,
                 "n_samples": ds.n_samples, "n_features": ds.n_features,
                 "shape": list(ds.shape), "has_labels": ds.y is not None, "sample": sample,
                 "prep": None if table_prep is None else "standard",
                 "features": None if table_prep is None else table_prep.feature_names},
        "n_clusters": k,
        "n_clusters_source": k_source,
        "seed": seed,
        "params": estimator.resolved_params(),
        "device": training_device(estimator),
        "versions": library_versions(),
        "warnings": collapse,
        "seconds": timer.seconds,
        "fit_phases": getattr(estimator, "phase_seconds_", {}),
        # pretraining loaded from pretrain_cache: its seconds are those of the run that computed it
        "pretrain_cached": getattr(estimator, "pretrain_cached_", False),
        "pretrain_cache_seconds": getattr(estimator, "pretrain_cache_seconds_", None),
        "pretrain_cache_resumed": getattr(estimator, "pretrain_cache_resumed_", False),
        "pretrain_cache_cpu": getattr(estimator, "pretrain_cache_cpu_", None),
        "peak_memory_mb": {"by_phase": timer.peak_memory_mb, "overall": peak_memory_mb()},
        "command": sys.argv,
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(started)),
    }
    res = RunResult(estimator, labels_, result, record, out, confidence, sample_indices, table_prep)
    if out is not None:
        write_outputs(res, timer)
        shutil.rmtree(out / "checkpoint", ignore_errors=True)
        (out / REQUEST).unlink(missing_ok=True)
        if report:
            from .viz import build_report

            with timer.phase("report", "writing report.html"):
                build_report(out, map_method=map_method)
            res.record["seconds"] = timer.seconds
            atomic_write_json(out / "run.json", res.record)
    return res


def _interrupted_message(exc: TrainingInterrupted, checkpoints: bool, out) -> str:
    """What a stopped fit tells the user: where it stopped, what was kept and how to go on."""
    from .training.loop import StageInterrupted

    text = exc.args[0].rstrip(".")
    if not checkpoints:
        return f"{text} (no checkpoints were kept)."
    kept = "; a resume repeats it from the stages saved before it" if isinstance(exc, StageInterrupted) \
        else ", and a checkpoint was saved"
    hint = f"; continue with: deepclust run --resume {out}" if out is not None else ""
    return f"{text}{kept}{hint}."


@contextmanager
def _stop_on_signals(checkpoints: bool = True):
    """During fitting, SIGINT/SIGTERM ask the trainer to checkpoint and stop at the next step
    boundary (or end a :func:`~deepclust.training.loop.stop_at_once` stage at once), and a
    second SIGINT interrupts at once. A method that keeps no checkpoints
    (``checkpoints=False``: the classic ones, PCA/UMAP/t-SNE two-stage pipelines) has no
    boundary to stop at, so the first signal interrupts it at once. A request that the fit
    never saw (it arrived after the last training step) is dropped on leaving, so it cannot
    stop the next fit of the same process (a sweep's next run) before its first step."""
    import signal

    from .training.loop import clear_interrupt, request_interrupt

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    state = {"asked": False}

    def handler(signum, frame):
        if not checkpoints or (state["asked"] and signum == signal.SIGINT):
            raise KeyboardInterrupt
        state["asked"] = True
        request_interrupt()

    old = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)
        clear_interrupt()


def write_outputs(res: RunResult, timer: PhaseTimer | None = None) -> None:
    """Write labels.csv, metrics.json, model/ and run.json (last, so it marks completion)."""
    out = res.out
    with (timer.phase("write") if timer else nullcontext()):
        atomic_write(out / "labels.csv",
                     lambda fh: fh.write(labels_csv(res.labels, res.confidence, res.sample_indices)))
        atomic_write_json(out / "metrics.json", res.metrics)
        emb = getattr(res.estimator, "embedding_", None)
        if emb is not None:
            atomic_write(out / "embedding.npy", lambda fh: np.save(fh, np.asarray(emb, dtype=np.float32)), mode="wb")
        history = getattr(res.estimator, "history_", None)
        if history:
            atomic_write_json(out / "history.json", history)
        if res.estimator.can_save:
            res.estimator.save(out / "model")
            if res.dataset_prep is not None:
                res.dataset_prep.save(out / "model" / TABLE_PREP)
            res.record["model"] = "model"
        else:
            res.record["model"] = None
    if timer:
        res.record["seconds"] = timer.seconds
    atomic_write_json(out / "run.json", res.record)


def labels_csv(labels, confidence=None, index=None) -> str:
    """Render ``index,cluster,confidence`` rows (empty confidence when unknown).

    ``index`` gives each row's number in the full data (a ``sample=N`` run); default 0, 1, ...
    """
    buf = io.StringIO()
    buf.write("index,cluster,confidence\n")
    conf = [""] * len(labels) if confidence is None else [f"{c:.6f}" for c in confidence]
    index = range(len(labels)) if index is None else index
    for i, lab, c in zip(index, labels, conf, strict=True):
        buf.write(f"{int(i)},{int(lab)},{c}\n")
    return buf.getvalue()
