"""``benchmarks/RESULTS.md`` from recorded JSON lines: our figures beside the seeds' tables.

A *spec* (JSON) lists tables; each table lists rows, and each row says where its runs are
recorded and which published figures it is compared with::

    {"title": "...", "tables": [{
        "title": "Seed 002: Fashion-MNIST 70,000",
        "note": "free text shown under the title",
        "command": "deepclust bench --methods kmeans --data fashion-mnist --seeds 0 1 2 ...",
        "metrics": ["acc", "nmi", "ari"],
        "reference": "seed 002",
        "rows": [{"label": "k-means", "results": "benchmarks/foundation/results.jsonl",
                  "method": "kmeans", "data": "fashion-mnist", "overrides": [],
                  "scoring": "all", "reference": {"acc": 0.47, "nmi": 0.51, "ari": 0.35}}]}]}

A row with ``"sample": N`` reads runs made with ``--sample N`` (a random N-point subset);
other rows read only full-data runs. ``scoring`` is ``"all"`` (every point; HDBSCAN's noise
points count as one more cluster) or ``"non_noise"`` (noise points dropped, as seed 004
scored HDBSCAN). A table with ``"smallest_cluster": true`` adds a column with the size of
each run's smallest cluster (median [min, max]; noise excluded), which shows collapsed
clusters that the averaged metrics hide. A table whose runs name their CPU (run records do
since 2026-11-24) gets a CPU column: a letter per CPU model, explained once under the file's
header, with the host of a cached pretraining shown when it differs, so seconds measured on
different hosts are not compared unknowingly. Rows with
``"format": "clustpy"`` read the peer benchmark's lines (:mod:`benchmarks.clustpy_peer`)
and pick ``"assignments"`` (``own_assignments`` or ``kmeans_rerun``).

Our figures are the median [min, max] over the recorded seeds and never typed by hand;
a row with no recorded run says so. ``deepclust results SPEC --out benchmarks/RESULTS.md``
writes the file.
"""

from __future__ import annotations

import json
import statistics
import time
from collections import Counter
from pathlib import Path

from .bench import read_results, run_seconds, spread, timing_complete
from .errors import InputError
from .experiments import cell_settings, current_rows, row_identity, row_settings


def load_spec(path) -> dict:
    """Read and check a results spec (see the module docstring)."""
    path = Path(path)
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"The results spec {path} does not exist.") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"The results spec {path.name} is not valid JSON ({exc.msg} at line {exc.lineno}).") from None
    if not isinstance(spec, dict) or not isinstance(spec.get("tables"), list):
        raise InputError(f"The results spec {path.name} needs a list under \"tables\".")
    for table in spec["tables"]:
        for row in table.get("rows", []):
            missing = {"label", "results"} - set(row)
            if missing:
                raise InputError(f"A row of table {table.get('title')!r} lacks {', '.join(sorted(missing))}.")
    return spec


def _matches(r: dict, spec_row: dict) -> bool:
    """Whether run ``r`` is one of ``spec_row``'s: same method, data and sample, and run under the
    settings the row's overrides give today (so a run under an older default is a row's only when
    the row's overrides spell that default out)."""
    return (r.get("method") == spec_row.get("method") and r.get("data") == spec_row.get("data", r.get("data"))
            and r.get("sample") == spec_row.get("sample")
            and row_settings(r) == cell_settings(spec_row["method"], spec_row.get("overrides", [])))


def _failed_cells(rows: list[dict], spec_row: dict) -> int:
    """How many cells of a spec row were run but never finished.

    A cell that succeeded once counts as a run, whatever happened to it later; ClustPy rows
    record only finished runs.
    """
    if spec_row.get("format") == "clustpy":
        return 0
    done = {row_identity(r) for r in rows if r.get("status") == "ok"}
    failed = {row_identity(r): r for r in rows if r.get("status") == "failed" and row_identity(r) not in done}
    return sum(_matches(r, spec_row) for r in failed.values())


def _deepclust_runs(rows: list[dict], spec_row: dict) -> list[dict]:
    latest = current_rows(rows)  # a re-run replaces older lines of its experiment
    source = "metrics_non_noise" if spec_row.get("scoring") == "non_noise" else "metrics"
    runs = []
    for r in latest.values():
        if not _matches(r, spec_row):
            continue
        runs.append({"seed": r["seed"], "metrics": r.get(source, {}), "date": r.get("date"),
                     "seconds": run_seconds(r) if timing_complete(r) else None,
                     "phases": _phases(r), "noise": r.get("noise_fraction", 0.0),
                     "min_cluster": r.get("min_cluster_size"), "cpu": r.get("versions", {}).get("cpu"),
                     "pretrain_cpu": r.get("pretrain_cache_cpu") if r.get("pretrain_cached") else "same"})
    return runs


def _phases(row: dict) -> dict:
    """Fit phases of a run, with a cached pretraining counted at the seconds it originally took.

    A resumed run gives none (each phase's seconds may be partial); a run whose cached
    pretraining was resumed gives all but that pretraining.
    """
    if row.get("resumed"):
        return {}
    phases = dict(row.get("fit_phases", {}))
    if row.get("pretrain_cached") and row.get("pretrain_cache_seconds") is not None:
        phases["pretrain"] = row["pretrain_cache_seconds"]
    if row.get("pretrain_cache_resumed"):
        phases.pop("pretrain", None)
    return phases


def _clustpy_runs(rows: list[dict], spec_row: dict) -> list[dict]:
    pick = spec_row.get("assignments", "own_assignments")
    return [{"seed": r["seed"], "metrics": r[pick], "date": r.get("date"), "seconds": r["seconds"],
             "phases": {}, "noise": 0.0, "min_cluster": None, "cpu": r.get("cpu"), "pretrain_cpu": "same"}
            for r in rows if r.get("method") == spec_row.get("method")]


def collect_runs(spec_row: dict, root: Path, rows: list[dict] | None = None) -> list[dict]:
    """The recorded runs a spec row refers to, normalised to seed/metrics/date/seconds.

    ``rows`` are the lines of the row's results file when the caller has read them already.
    """
    if rows is None:
        rows = read_results(root / spec_row["results"])
    if spec_row.get("format") == "clustpy":
        return _clustpy_runs(rows, spec_row)
    return _deepclust_runs(rows, spec_row)


def _seconds(runs: list[dict]) -> str:
    secs = [r["seconds"] for r in runs if r["seconds"] is not None]
    if not secs:
        return "—"
    text = spread(secs, 0)
    phases = list(dict.fromkeys(p for r in runs for p in r["phases"]))  # in the order they ran
    if phases:
        parts = [f"{p} {statistics.median([r['phases'][p] for r in runs if p in r['phases']]):.0f}" for p in phases]
        text += " (" + ", ".join(parts) + ")"
    return text


class HostLabels:
    """Short labels ("A", "B", ...) for the CPU descriptions of runs, in order of first use."""

    UNRECORDED = "?"

    def __init__(self):
        self.names: dict[str, str] = {}

    def label(self, cpu: str | None) -> str:
        """The label of ``cpu`` (a new letter for a CPU not seen before; "?" when not recorded)."""
        if not cpu:
            return self.UNRECORDED
        if cpu not in self.names:
            n = len(self.names)
            self.names[cpu] = chr(ord("A") + n) if n < 26 else f"H{n + 1}"
        return self.names[cpu]

    def run_label(self, run: dict) -> str:
        """A run's host, plus its cached pretraining's host when that may differ: "A", "A (pretraining ?)"."""
        host = self.label(run.get("cpu"))
        if run.get("pretrain_cpu", "same") != "same":
            pretrain = self.label(run["pretrain_cpu"])
            if pretrain != host:
                host += f" (pretraining {pretrain})"
        return host

    def cell(self, runs: list[dict]) -> str:
        """The CPU cell of a row: each distinct host label with its number of runs."""
        counts = Counter(self.run_label(r) for r in runs)
        return "; ".join(f"{label} ×{n}" for label, n in counts.items()) or "—"

    def legend(self) -> str:
        """The text explaining the labels (empty when no run named its CPU)."""
        if not self.names:
            return ""
        known = "; ".join(f"**{label}** = `{cpu}`" for cpu, label in self.names.items())
        return (f"CPU column (the host each run ran on, and where a run loaded a cached pretraining, the host "
                f"that pretrained it when that differs or was not recorded): {known}; **?** = not recorded "
                "(runs from before run records named the CPU).")


def render_table(table: dict, root: Path, recorded: dict | None = None, hosts: HostLabels | None = None) -> str:
    """One markdown section: title, note, command, then ours beside the reference figures.

    ``recorded`` maps results paths to their lines already read (filled as files are read);
    ``hosts`` labels the CPUs (shared by the tables of one file, see :class:`HostLabels`).
    """
    recorded = {} if recorded is None else recorded
    hosts = HostLabels() if hosts is None else hosts
    metrics = table.get("metrics", ["acc", "nmi", "ari"])
    ref_name = table.get("reference", "reference")
    head = ["", "runs"]
    for m in metrics:
        head += [f"{m.upper()} measured", f"{m.upper()} {ref_name}"]
    show_smallest = bool(table.get("smallest_cluster"))
    if show_smallest:
        head.append("smallest cluster")
    lines = [f"## {table['title']}", ""]
    if table.get("note"):
        lines += [table["note"], ""]
    table_runs = []
    for row in table.get("rows", []):
        if row["results"] not in recorded:  # a results file feeds several rows: read it once
            recorded[row["results"]] = read_results(root / row["results"])
        table_runs.append(collect_runs(row, root, recorded[row["results"]]))
    show_cpu = any(r.get("cpu") for runs in table_runs for r in runs)
    if show_cpu:
        head.append("CPU")
    head.append("seconds/run (median phases)")
    dates = []
    body = []
    for row, runs in zip(table.get("rows", []), table_runs, strict=True):
        dates += [r["date"] for r in runs if r.get("date")]
        failed = _failed_cells(recorded[row["results"]], row)
        count = str(len(runs)) + (f" ({failed} failed)" if failed else "")
        cells = [row["label"], count if runs or failed else "not run yet"]
        for m in metrics:
            ours = [r["metrics"][m] for r in runs if r["metrics"].get(m) is not None]
            ref = row.get("reference", {}).get(m)
            cells += [spread(ours), "—" if ref is None else f"{ref:.4g}"]
        if show_smallest:
            cells.append(spread([r["min_cluster"] for r in runs if r["min_cluster"] is not None], 0))
        if show_cpu:
            cells.append(hosts.cell(runs))
        cells.append(_seconds(runs))
        body.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")  # a | would split a cell
    if table.get("command"):
        commands = table["command"] if isinstance(table["command"], list) else [table["command"]]
        lines += ["Commands:", "", "```bash", *commands, "```", ""]
    if dates:
        span = min(dates) if min(dates) == max(dates) else f"{min(dates)} to {max(dates)}"
        lines += [f"Runs dated {span}. Measured: median [min, max] over the runs.", ""]
    lines += ["| " + " | ".join(head) + " |", "|" + "---|" * len(head), *body, ""]
    return "\n".join(lines)


def render_results(spec: dict, root: Path, spec_path: str = "benchmarks/results_spec.json") -> str:
    """The whole ``RESULTS.md`` text for ``spec``, with result paths relative to ``root``."""
    header = [
        f"# {spec.get('title', 'Results')}",
        "",
        f"Generated by `deepclust results {spec_path} --out benchmarks/RESULTS.md` on "
        f"{time.strftime('%Y-%m-%d')} from the recorded JSON lines; do not edit by hand.",
        "",
    ]
    if spec.get("note"):
        header += [spec["note"], ""]
    recorded: dict = {}  # tables share results files: each is read once
    hosts = HostLabels()  # one set of CPU labels for the whole file, explained under the header
    tables = [render_table(t, root, recorded, hosts) for t in spec["tables"]]
    legend = hosts.legend()
    if legend:
        header += [legend, ""]
    return "\n".join(header) + "\n" + "\n".join(tables)
