"""Benchmark harness: every method x dataset x seed, resumable, one JSON line per run.

Each cell runs ``deepclust run`` in its own process, so its wall time and peak memory are its
own (JIT compilation and imports included, as a user would see them) and a crash in one cell
cannot take the others down. What a cell's run writes goes to ``bench.log`` in its folder
(every attempt, kept after the run), and the bench's progress bar shows its latest line.
Finished cells are found in ``results.jsonl`` and skipped, so an interrupted benchmark
continues where it stopped; a deep run interrupted mid-cell continues from its checkpoint (its
row says ``"resumed": true`` and its seconds then cover only the resumed part, so use such rows
for accuracy, not for timing; the same holds for a row with ``"pretrain_cache_resumed": true``,
which loaded a cached pretraining that had itself been resumed, see :func:`timing_complete`).
``table.md`` holds medians with [min, max] spread over seeds; it is rewritten after every cell,
so a stopped bench leaves it current. ``cpu_steal`` in a line is the share of the machine's CPU
time that the host gave to other guests during the run (Linux virtual machines; ``None``
elsewhere): a run with much steal is slower than its code.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .experiments import cell_settings, current_rows, identity, row_settings
from .fileio import atomic_write_text
from .runtime import cpu_ticks, steal_fraction

RESULTS = "results.jsonl"
TABLE = "table.md"
LOG = "bench.log"
METRICS = ("acc", "nmi", "ari", "ami", "fmi", "silhouette")


@dataclass(frozen=True)
class Cell:
    """One benchmark run: a method on a dataset with a seed and parameter overrides."""

    method: str
    data: str
    seed: int
    overrides: tuple = ()
    n_clusters: int | None = None
    sample: int | None = None

    @property
    def key(self) -> str:
        """Stable identity used to recognise finished cells when resuming."""
        extra = ",".join(self.overrides)
        k = "" if self.n_clusters is None else f"-k{self.n_clusters}"
        n = "" if self.sample is None else f"-s{self.sample}"
        return f"{self.method}|{self.data}|{self.seed}|{extra}{k}{n}"

    @property
    def identity(self) -> str:
        """The experiment this cell is: its key with the overrides as the settings they give today
        (:func:`~deepclust.experiments.cell_settings`), so cells that differ only in result-neutral
        settings (``pretrain_cache``) or in overrides that repeat a default are one cell."""
        return identity(self.key, self.method, self.data, self.seed, self.overrides,
                        cell_settings(self.method, self.overrides))

    @property
    def folder(self) -> str:
        """The cell's folder name under ``OUT/cells``: its key with unsafe characters replaced."""
        safe = "".join(c if c.isalnum() or c in "-_+." else "_" for c in self.key.replace("|", "__"))
        return safe[:150]

    def command(self, out: Path) -> list[str]:
        """The ``deepclust run`` command of this cell; an interrupted deep run is resumed."""
        if (out / "request.json").is_file() and (out / "checkpoint").is_dir():
            return [sys.executable, "-m", "deepclust", "run", "--resume", str(out)]
        cmd = [sys.executable, "-m", "deepclust", "run", self.method, "--data", self.data,
               "--seed", str(self.seed), "--out", str(out), "--force", "--no-report"]
        if self.n_clusters is not None:
            cmd += ["--n-clusters", str(self.n_clusters)]
        if self.sample is not None:
            cmd += ["--sample", str(self.sample)]
        for o in self.overrides:
            cmd += ["--set", o]
        return cmd


def read_results(path: Path) -> list[dict]:
    """Read a results.jsonl file, ignoring a torn last line from an interrupted write."""
    if not path.exists():
        return []
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return rows


def _append(path: Path, row: dict) -> None:
    with path.open("a", encoding="utf-8") as fh:
        fh.write(json.dumps(row) + "\n")
        fh.flush()
        os.fsync(fh.fileno())


_ERROR_LINE = re.compile(r"^(Error: |[A-Za-z_][\w.]*(Error|Exception|Interrupt)\b)")


def failure_message(stderr: str, returncode: int) -> str:
    """The sentence that says why a cell's ``deepclust run`` failed.

    That is the CLI's ``Error: ...`` line or the exception line of a traceback, taken even
    when a progress bar redrew itself after it (tqdm rewrites its line with carriage
    returns as the process exits); without either, the last line of standard error. The
    exit status is added when the process did not exit with an error of its own (a signal,
    e.g. killed for memory, gives a negative status).
    """
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    errors = [ln for ln in lines if _ERROR_LINE.match(ln)]
    if errors:
        return errors[-1]
    return f"{lines[-1]} (exit {returncode})" if lines else f"exit {returncode}"


def latest_progress(log: Path, start: int = 0, width: int = 70) -> str:
    """The last line a cell's run wrote to its log after byte ``start``: a progress bar's
    latest redraw (tqdm rewrites its line with carriage returns), at most ``width`` characters."""
    with log.open("rb") as fh:
        fh.seek(max(start, log.stat().st_size - 4096))
        tail = fh.read().decode("utf-8", errors="replace")
    lines = [ln.strip() for ln in re.split(r"[\r\n]", tail) if ln.strip()]
    return lines[-1][:width] if lines else ""


def run_logged(cmd: list[str], log: Path, timeout: float | None = None, on_progress=None,
               poll: float = 2.0) -> tuple[int | None, str]:
    """Run ``cmd`` with its output appended to ``log``; return its exit status (``None`` when it
    ran past ``timeout`` seconds and was killed) and what it wrote this time.

    Each attempt starts with a ``===`` line naming the time and the command, so a resumed
    cell's log keeps every attempt. Every ``poll`` seconds ``on_progress`` gets
    :func:`latest_progress`, which lets a long cell show how far it has got."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as fh:
        fh.write(f"=== {time.strftime('%Y-%m-%d %H:%M:%S')} {shlex.join(cmd)}\n".encode())
        fh.flush()
        start = fh.tell()
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                returncode = proc.wait(timeout=poll)
                break
            except subprocess.TimeoutExpired:
                if deadline is not None and time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    returncode = None
                    break
                if on_progress is not None:
                    on_progress(latest_progress(log, start))
    with log.open("rb") as fh:
        fh.seek(start)
        return returncode, fh.read().decode("utf-8", errors="replace")


def run_cell(cell: Cell, root: Path, timeout: float | None = None, on_progress=None) -> dict:
    """Run one cell in a subprocess and return its JSON line (status ok or failed).

    The run's output goes to ``bench.log`` in the cell's folder (``tail -f`` it to follow a
    long cell); ``on_progress`` gets its latest line every few seconds (see :func:`run_logged`)."""
    out = root / "cells" / cell.folder
    command = cell.command(out)
    resumed = "--resume" in command
    started, ticks = time.time(), cpu_ticks()
    row = {"key": cell.key, "method": cell.method, "data": cell.data, "seed": cell.seed,
           "overrides": list(cell.overrides), "n_clusters": cell.n_clusters, "sample": cell.sample,
           "date": time.strftime("%Y-%m-%d", time.localtime(started)), "resumed": resumed}
    returncode, output = run_logged(command, out / LOG, timeout, on_progress)
    if returncode is None:
        return {**row, "status": "failed", "error": f"timed out after {timeout} s"}
    row["wall_seconds"] = round(time.time() - started, 3)
    row["cpu_steal"] = steal_fraction(ticks, cpu_ticks())  # host contention during the run (None off Linux)
    if returncode != 0:
        return {**row, "status": "failed", "error": failure_message(output, returncode)}
    from .metrics import smallest_cluster  # here: the bench parent process need not import scikit-learn

    record = json.loads((out / "run.json").read_text())
    metrics = json.loads((out / "metrics.json").read_text())
    row.update({
        "status": "ok",
        "n": record["data"]["n_samples"],
        "config": record["params"],
        "n_clusters": record["n_clusters"],
        "versions": record["versions"],
        "device": record.get("device", "cpu"),  # runs before 2026-12-06 name none: all trained on a CPU
        "seconds": record["seconds"],
        "fit_phases": record.get("fit_phases", {}),
        "pretrain_cached": record.get("pretrain_cached", False),
        "pretrain_cache_seconds": record.get("pretrain_cache_seconds"),
        "pretrain_cache_resumed": record.get("pretrain_cache_resumed", False),
        "pretrain_cache_cpu": record.get("pretrain_cache_cpu"),
        "peak_memory_mb": record["peak_memory_mb"]["overall"],
        "metrics": {k: metrics.get(k) for k in METRICS if k in metrics},
        "metrics_non_noise": {k: metrics[f"{k}_non_noise"] for k in METRICS if f"{k}_non_noise" in metrics},
        "noise_fraction": metrics.get("noise_fraction", 0.0),
        "n_clusters_found": metrics.get("n_clusters"),
        "min_cluster_size": smallest_cluster(metrics["cluster_sizes"]),
        "cell_dir": str(out.relative_to(root)),
    })
    return row


def run_bench(methods, datasets, seeds, root, *, overrides=(), n_clusters=None, sample=None, timeout=None,
              progress=True, rerun=False) -> list[dict]:
    """Run every (method, dataset, seed) cell not yet finished in ``root``; return all rows.

    ``sample=N`` makes every run cluster a random N-point subset drawn with its seed. With
    ``rerun``, finished cells run again too (e.g. after a code change that can move results):
    the new line is appended, the old one stays in ``results.jsonl``, and tables use the newest.
    A cell interrupted mid-run still continues from its checkpoint."""
    from tqdm import tqdm

    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    results = root / RESULTS
    done = set(current_rows(read_results(results)))
    cells = [Cell(m, d, s, tuple(overrides), n_clusters, sample)
             for m in methods for d in datasets for s in seeds]
    todo = [c for c in cells if rerun or c.identity not in done]
    bar = tqdm(total=len(cells), initial=len(cells) - len(todo), disable=not progress, unit="cell",
               desc="bench", file=sys.stderr)
    for cell in todo:
        name = f"{cell.method} {cell.data} seed {cell.seed}"
        bar.set_postfix_str(name)
        row = run_cell(cell, root, timeout,
                       on_progress=lambda line, name=name: bar.set_postfix_str(f"{name}: {line}" if line else name))
        _append(results, row)
        _write_table(root)  # current after every cell
        if row["status"] != "ok":
            bar.write(f"cell {cell.key} failed: {row['error']}")
        bar.update(1)
    bar.close()
    return _write_table(root)


def _write_table(root: Path) -> list[dict]:
    """Rewrite ``root/table.md`` from ``root/results.jsonl``; return the rows read."""
    rows = read_results(root / RESULTS)
    atomic_write_text(root / TABLE, markdown_table(rows))
    return rows


def timing_complete(row: dict) -> bool:
    """Whether a row's seconds cover its whole run: not when the run was resumed from a checkpoint
    (its seconds are the resumed part's), nor when it loaded a cached pretraining that had been
    resumed (the cache holds only that part's seconds). Such rows count for accuracy, not time."""
    return not row.get("resumed") and not row.get("pretrain_cache_resumed")


def run_seconds(row: dict) -> float:
    """Wall seconds of a run; with a cached pretraining, the seconds that pretraining took are added
    (so a run's time never looks shorter because another run paid for its autoencoder)."""
    cached = (row.get("pretrain_cache_seconds") or 0.0) if row.get("pretrain_cached") else 0.0
    return sum(row["seconds"].values()) + cached


def spread(values: list[float], digits: int = 3) -> str:
    """``median [min, max]`` of ``values`` (just the value for one run, "—" for none)."""
    if not values:
        return "—"

    def fmt(value: float) -> str:
        return f"{round(value, digits) + 0.0:.{digits}f}"  # + 0.0 turns -0.0 into 0.0: never "-0.000"

    med = statistics.median(values)
    if len(values) == 1:
        return fmt(med)
    return f"{fmt(med)} [{fmt(min(values))}, {fmt(max(values))}]"


def summarize(rows: list[dict], metrics=("acc", "nmi", "ari"), non_noise: bool = False) -> list[dict]:
    """Group ok rows by (method, data, settings, sample): medians/spread of metrics and wall time.

    A group's ``settings`` are where its runs differ from today's defaults
    (:func:`~deepclust.experiments.row_settings`), so result-neutral overrides
    (``pretrain_cache``) do not split a group and runs under an older default form their own."""
    groups: dict[tuple, list[dict]] = {}
    for r in current_rows(rows).values():
        key = (r["method"], r["data"], row_settings(r), r.get("sample") or 0)
        groups.setdefault(key, []).append(r)
    out = []
    for (method, data, settings, sample), rs in sorted(groups.items()):
        src = "metrics_non_noise" if non_noise else "metrics"
        entry = {"method": method, "data": data, "settings": list(settings), "sample": sample or None,
                 "n": rs[0].get("n"), "seeds": sorted(r["seed"] for r in rs)}
        for m in metrics:
            entry[m] = [r[src][m] for r in rs if r.get(src, {}).get(m) is not None]
        entry["seconds"] = [run_seconds(r) for r in rs if timing_complete(r)]
        entry["noise_fraction"] = [r.get("noise_fraction", 0.0) for r in rs]
        out.append(entry)
    return out


def markdown_table(rows: list[dict], metrics=("acc", "nmi", "ari")) -> str:
    """Markdown table of medians with [min, max] over seeds, plus wall seconds per run."""
    head = ["method", "data", "settings", "n", "seeds", *[m.upper() for m in metrics], "seconds/run"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in summarize(rows, metrics):
        secs = e["seconds"]
        timing = spread(secs, 0)
        settings = [*e["settings"], *([f"sample={e['sample']}"] if e["sample"] else [])]
        cells = [e["method"], e["data"], " ".join(settings) or "defaults", str(e["n"]),
                 str(len(e["seeds"])), *[spread(e[m]) for m in metrics], timing]
        lines.append("| " + " | ".join(cells) + " |")
    failed = [r for r in rows if r.get("status") != "ok"]
    if failed:
        lines.append("")
        lines.append(f"{len(failed)} failed run(s): " + "; ".join(f"{r['key']}: {r.get('error')}" for r in failed))
    return "\n".join(lines) + "\n"
