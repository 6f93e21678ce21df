"""The benchmark harness: every cell once, resumable after an interruption, failures isolated."""

import json
import signal
import subprocess
import sys
import time

import pytest
from click.testing import CliRunner

from deepclust.bench import (
    failure_message,
    latest_progress,
    markdown_table,
    read_results,
    run_bench,
    run_logged,
    spread,
    summarize,
)
from deepclust.cli import cli
from deepclust.experiments import cell_settings, ran_with_current_defaults, result_settings, row_settings
from deepclust.registry import make_estimator


def _ok_keys(root):
    return [r["key"] for r in read_results(root / "results.jsonl") if r["status"] == "ok"]


def test_bench_two_methods_two_seeds_and_table(tmp_path):
    rows = run_bench(["kmeans", "gmm"], ["digits"], [0, 1], tmp_path, progress=False)
    assert sorted(_ok_keys(tmp_path)) == sorted(
        f"{m}|digits|{s}|" for m in ("kmeans", "gmm") for s in (0, 1))
    row = rows[0]
    assert row["n"] == 1797 and row["config"]["random_state"] == row["seed"]
    assert 0.5 < row["metrics"]["acc"] <= 1 and "nmi" in row["metrics"] and "silhouette" in row["metrics"]
    assert row["seconds"]["fit"] > 0 and row["peak_memory_mb"] > 0 and row["versions"]["numpy"]
    assert row["device"] == "cpu" and "gpu" in row["versions"]  # classic methods: no GPU, whatever the machine
    table = (tmp_path / "table.md").read_text()
    assert "| kmeans | digits |" in table and "| gmm | digits |" in table
    accs = sorted(r["metrics"]["acc"] for r in rows if r["method"] == "kmeans")
    assert f"{(accs[0] + accs[1]) / 2:.3f} [{accs[0]:.3f}, {accs[1]:.3f}]" in table

    # a second call finds every cell finished and runs nothing
    before = (tmp_path / "results.jsonl").read_text()
    run_bench(["kmeans", "gmm"], ["digits"], [0, 1], tmp_path, progress=False)
    assert (tmp_path / "results.jsonl").read_text() == before


def test_rerun_runs_finished_cells_again_and_keeps_the_old_lines(tmp_path):
    run_bench(["kmeans"], ["digits"], [0], tmp_path, progress=False)
    first = read_results(tmp_path / "results.jsonl")
    res = CliRunner().invoke(cli, ["bench", "--methods", "kmeans", "--data", "digits", "--seeds", "0",
                                   "--out", str(tmp_path), "--rerun"])
    assert res.exit_code == 0, res.output
    lines = read_results(tmp_path / "results.jsonl")
    assert len(first) == 1 and len(lines) == 2 and lines[0] == first[0]
    assert [r["key"] for r in lines] == ["kmeans|digits|0|"] * 2
    assert lines[1]["metrics"]["acc"] == lines[0]["metrics"]["acc"]  # same seed, same code: same partition
    # the table counts the newest line once
    assert "| kmeans | digits | defaults | 1797 | 1 |" in (tmp_path / "table.md").read_text()


def test_rows_name_the_source_revision_that_ran(tmp_path):
    from deepclust.runtime import source_revision

    rev = source_revision()
    assert rev == "unknown" or len(rev.split("+")[0]) == 12
    assert source_revision(str(tmp_path)) == "unknown"  # not a git checkout
    rows = run_bench(["kmeans"], ["digits"], [0], tmp_path, progress=False)
    assert rows[0]["versions"]["deepclust_source"] == rev


def test_bench_resumes_after_interruption(tmp_path):
    cmd = [sys.executable, "-m", "deepclust", "bench", "--methods", "kmeans,minibatch-kmeans",
           "--data", "digits", "--seeds", "0 1", "--out", str(tmp_path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not _ok_keys(tmp_path):
        time.sleep(0.2)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished_first = _ok_keys(tmp_path)
    assert 1 <= len(finished_first) < 4
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    keys = _ok_keys(tmp_path)
    assert sorted(keys) == sorted(f"{m}|digits|{s}|" for m in ("kmeans", "minibatch-kmeans") for s in (0, 1))
    assert keys[: len(finished_first)] == finished_first  # finished cells were not run again


def test_table_is_current_after_each_cell(tmp_path, monkeypatch):
    import deepclust.bench as bench

    real, calls = bench.run_cell, []

    def stop_at_second(cell, root, timeout=None, **kw):
        calls.append(cell.seed)
        if len(calls) == 2:
            raise KeyboardInterrupt  # the user stops the bench during its second cell
        return real(cell, root, timeout, **kw)

    monkeypatch.setattr(bench, "run_cell", stop_at_second)
    try:
        run_bench(["kmeans"], ["digits"], [0, 1], tmp_path, progress=False)
    except KeyboardInterrupt:
        pass
    table = (tmp_path / "table.md").read_text()
    acc = read_results(tmp_path / "results.jsonl")[0]["metrics"]["acc"]
    assert "| kmeans | digits | defaults | 1797 | 1 |" in table and f"{acc:.3f}" in table


def test_failed_cell_is_recorded_and_others_continue(tmp_path):
    rows = run_bench(["kmeans"], ["digits", str(tmp_path / "missing.npy")], [0], tmp_path, progress=False)
    status = {r["data"]: r["status"] for r in rows}
    assert status["digits"] == "ok"
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 1 and "does not exist" in failed[0]["error"]
    logs = sorted((tmp_path / "cells").glob("*/bench.log"))  # each cell's output is kept
    assert len(logs) == 2 and any("does not exist" in log.read_text() for log in logs)
    assert "1 failed run(s)" in (tmp_path / "table.md").read_text()


def test_table_uses_latest_line_per_cell_and_torn_lines_are_ignored(tmp_path):
    line = {"key": "k|d|0|", "method": "k", "data": "d", "seed": 0, "status": "ok", "n": 5,
            "metrics": {"acc": 0.1, "nmi": 0.1, "ari": 0.1}, "seconds": {"fit": 1.0}}
    newer = {**line, "metrics": {"acc": 0.9, "nmi": 0.9, "ari": 0.9}}
    p = tmp_path / "results.jsonl"
    p.write_text(json.dumps(line) + "\n" + json.dumps(newer) + "\n" + '{"key": "torn')
    rows = read_results(p)
    assert len(rows) == 2
    assert "| k | d | defaults | 5 | 1 | 0.900 | 0.900 | 0.900 | 1 |" in markdown_table(rows)


def test_a_cell_differing_only_in_a_neutral_setting_is_the_same_cell_and_counted_once(tmp_path):
    base = ("pretrain_epochs=1", "hidden_dims=[16,16,32]")
    cached = (*base, f"pretrain_cache={tmp_path / 'cache'}")
    run_bench(["ae+kmeans"], ["digits"], [0], tmp_path, overrides=base, sample=300, progress=False)
    before = (tmp_path / "results.jsonl").read_text()
    run_bench(["ae+kmeans"], ["digits"], [0], tmp_path, overrides=cached, sample=300, progress=False)
    assert (tmp_path / "results.jsonl").read_text() == before  # the same experiment, already done
    run_bench(["ae+kmeans"], ["digits"], [0, 1], tmp_path, overrides=cached, sample=300, progress=False, rerun=True)
    rows = read_results(tmp_path / "results.jsonl")
    assert [r["seed"] for r in rows] == [0, 0, 1] and rows[0]["key"] != rows[1]["key"]
    assert summarize(rows)[0]["seeds"] == [0, 1]  # seed 0's two lines count once: the newest


def test_result_neutral_settings_do_not_split_a_group():
    def line(seed, overrides, acc):
        return {"key": f"dec|d|{seed}|{','.join(overrides)}", "method": "dec", "data": "d", "seed": seed,
                "status": "ok", "n": 5, "overrides": list(overrides),
                "metrics": {"acc": acc, "nmi": acc, "ari": acc}, "seconds": {"fit": 1.0}}
    rows = [line(0, ["pretrain_epochs=10"], 0.2), line(1, ["pretrain_epochs=10", "pretrain_cache=/c"], 0.4),
            line(2, ["pretrain_epochs=10", "pretrain_cache=/c", "verbose=false"], 0.6),
            line(0, ["pretrain_epochs=20", "pretrain_cache=/c"], 0.9)]
    groups = {tuple(e["settings"]): e for e in summarize(rows)}
    assert set(groups) == {("pretrain_epochs=10",), ("pretrain_epochs=20",)}
    assert groups[("pretrain_epochs=10",)]["seeds"] == [0, 1, 2]
    assert groups[("pretrain_epochs=10",)]["acc"] == [0.2, 0.4, 0.6]
    assert result_settings(["maxiter=5", " pretrain_cache = /c", "tol=0"]) == ("maxiter=5", "tol=0")
    # the order of --set options and spaces around '=' do not make another experiment
    assert result_settings(["tol = 0", "maxiter=5"]) == result_settings(["maxiter=5", "tol=0"])
    assert result_settings(["tol=1", "maxiter=5", "tol=0"]) == ("maxiter=5", "tol=1", "tol=0")


def test_interrupted_deep_cell_is_resumed_not_restarted(tmp_path):
    from deepclust.bench import Cell

    cell = Cell("dec", "digits", 0)
    out = tmp_path / "cell"
    assert "--resume" not in cell.command(out)
    (out / "checkpoint").mkdir(parents=True)
    (out / "request.json").write_text("{}")
    assert cell.command(out)[-2:] == ["--resume", str(out)]


def test_sampled_cells_are_their_own_cells_and_rows(tmp_path):
    rows = run_bench(["kmeans"], ["digits"], [0, 1], tmp_path, sample=400, progress=False)
    assert sorted(_ok_keys(tmp_path)) == ["kmeans|digits|0|-s400", "kmeans|digits|1|-s400"]
    assert {r["n"] for r in rows} == {400} and {r["sample"] for r in rows} == {400}
    run_bench(["kmeans"], ["digits"], [0], tmp_path, progress=False)  # the full data is another cell
    table = (tmp_path / "table.md").read_text()
    assert "| kmeans | digits | sample=400 | 400 | 2 |" in table
    assert "| kmeans | digits | defaults | 1797 | 1 |" in table


def test_cpu_steal_is_read_from_proc_stat(tmp_path):
    from deepclust.runtime import cpu_ticks, steal_fraction

    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 10 0 0 40 0 0\ncpu0 1 2 3\n")
    before = cpu_ticks(str(stat))
    assert before == (40, 1000)
    stat.write_text("cpu  160 0 70 870 10 0 0 90 0 0\n")
    assert steal_fraction(before, cpu_ticks(str(stat))) == 0.25  # 50 stolen of 200 ticks
    assert cpu_ticks(str(tmp_path / "missing")) is None and steal_fraction(None, before) is None
    stat.write_text("intr 1 2\n")
    assert cpu_ticks(str(stat)) is None


def test_rows_name_the_cpu_model_count_and_speed_extensions(tmp_path):
    from deepclust.runtime import cpu_description, library_versions

    info = tmp_path / "cpuinfo"
    core = "processor\t: {i}\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu sse2 avx2 avx512f amx_tile\n\n"
    info.write_text(core.format(i=0) + core.format(i=1))
    assert cpu_description(str(info)) == "Intel(R) Xeon(R) Processor; 2 CPUs; avx2 avx512f amx_tile"
    info.write_text("processor\t: 0\nmodel name\t: Old CPU\nflags\t\t: fpu sse2 avx\n")
    assert cpu_description(str(info)) == "Old CPU; 1 CPUs; no avx2"
    assert cpu_description(str(tmp_path / "missing"))  # falls back to platform.processor() or "unknown"
    assert library_versions()["cpu"] == cpu_description()


def test_failure_message_is_the_error_even_when_a_progress_bar_redraws_after_it():
    # what a diverged conv-VAE run left on standard error: tqdm redrew its bar after the error
    stderr = ("fitting ... done in 6.4 s\nError: Training diverged at step 23: kl=inf; lower the learning rate.\n"
              "\rpretrain:   0%|          | 23/6564 [00:04<20:25,  5.34step/s, kl=9.6e+26]")
    assert failure_message(stderr, 2) == "Error: Training diverged at step 23: kl=inf; lower the learning rate."
    traceback = 'Traceback (most recent call last):\n  File "x.py", line 1\nValueError: bad shape\n'
    assert failure_message(traceback, 1) == "ValueError: bad shape"
    # killed by a signal: no error line, so the exit status tells what happened
    assert failure_message("pretrain:  16%|█▌  | 1064/6564\n", -9) == "pretrain:  16%|█▌  | 1064/6564 (exit -9)"
    assert failure_message("", 3) == "exit 3"


def test_a_running_cell_reports_its_latest_progress_line_and_keeps_its_log(tmp_path):
    script = ("import sys, time\n"
              "for i in range(4):\n"
              "    sys.stderr.write(f'\\rtrain {i}/4'); sys.stderr.flush(); time.sleep(0.3)\n"
              "print('done')\n")
    seen, log = [], tmp_path / "cell" / "bench.log"
    code, output = run_logged([sys.executable, "-c", script], log, on_progress=seen.append, poll=0.1)
    assert code == 0 and output.endswith("done\n") and "train 3/4" in output
    assert seen and all(s == "" or s.startswith("train ") for s in seen)  # a bar's redraw, not its history
    # a second attempt (a resumed cell) appends to the log after a header naming its command
    code, output = run_logged([sys.executable, "-c", "import sys; sys.exit(3)"], log)
    assert code == 3 and output == ""
    text = log.read_text()
    assert text.count("=== ") == 2 and "train 3/4" in text and "sys.exit(3)" in text
    assert latest_progress(log) == text.strip().splitlines()[-1][:70]


def test_a_cell_past_its_timeout_is_killed(tmp_path):
    started = time.monotonic()
    code, _ = run_logged([sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "l.log",
                         timeout=0.5, poll=0.1)
    assert code is None and time.monotonic() - started < 30


def test_spread_gives_median_min_max_and_never_a_negative_zero():
    assert spread([]) == "—"
    assert spread([0.5]) == "0.500"
    assert spread([0.3, 0.1, 0.2]) == "0.200 [0.100, 0.300]"
    assert spread([-2e-5]) == "0.000"
    assert spread([-2e-5, -0.3, 0.1]) == "0.000 [-0.300, 0.100]"


def test_a_run_under_a_changed_default_is_stale_and_runs_again(tmp_path):
    """Cells are named by their --set overrides only: a run recorded under another value of a
    default is not the cell's run today, so the bench runs the cell again, and tables show the
    old run apart, under the setting it differs in; a parameter the recorded config lacks
    (added since) does not make a run stale."""
    run_bench(["kmeans"], ["digits"], [0], tmp_path, progress=False)
    path = tmp_path / "results.jsonl"
    [row] = read_results(path)
    assert ran_with_current_defaults(row) and row["config"]["n_init"] == 10
    stale = {**row, "config": {**row["config"], "n_init": 3}, "metrics": {**row["metrics"], "acc": 0.123}}
    older = {**row, "config": {k: v for k, v in row["config"].items() if k != "max_iter"}}
    assert not ran_with_current_defaults(stale) and ran_with_current_defaults(older)
    assert not ran_with_current_defaults({**row, "method": "no-such-method"})
    path.write_text(json.dumps(stale) + "\n")
    [old] = summarize(read_results(path))  # the stale run is its own group, named by its old value
    assert old["settings"] == ["n_init=3"] and old["acc"] == [0.123]
    run_bench(["kmeans"], ["digits"], [0], tmp_path, progress=False)
    lines = read_results(path)
    assert len(lines) == 2 and lines[1]["config"]["n_init"] == 10  # the cell ran again
    groups = {tuple(e["settings"]): e for e in summarize(lines)}
    assert groups[()]["acc"] == [row["metrics"]["acc"]] and groups[("n_init=3",)]["acc"] == [0.123]
    run_bench(["kmeans"], ["digits"], [0], tmp_path, overrides=("n_init=3",), progress=False)
    assert len(read_results(path)) == 2  # spelling the old default out names the old run: already done


def test_settings_are_the_difference_from_todays_defaults():
    """An override that repeats a default names the default cell; numbers compare by value
    (1 and 1.0 are one setting); a pipeline stage's settings are named as --set names them,
    also for runs recorded before stages were resolved."""
    assert cell_settings("dec", ("tol=0.001",)) == cell_settings("dec", ()) == ()
    assert cell_settings("dec", ("pretrain_lr=1",)) == cell_settings("dec", ("pretrain_lr=1.0",))
    assert cell_settings("dec", ("maxiter=7", "alpha=2")) == ("alpha=2", "maxiter=7")
    assert cell_settings("umap+kmeans", ("n_components=30",)) == ("n_components=30",)
    config = json.loads(json.dumps(make_estimator("umap+kmeans", n_components=30).resolved_params()))
    older = {k: v for k, v in config.items() if not k.endswith("_resolved")}
    for recorded in (config, older):
        row = {"method": "umap+kmeans", "overrides": ["n_components=30"], "config": recorded}
        assert row_settings(row) == ("n_components=30",) and ran_with_current_defaults(row)
    assert cell_settings("no-such-method", ("b=1", "a=2")) == ("a=2", "b=1")  # unknown: the overrides


def test_a_pipeline_run_records_and_checks_its_stages_defaults(tmp_path):
    """A two-stage run records each stage's parameters with defaults filled in, so a changed
    reducer default makes the run stale; rows recorded before that (no resolved stages) stay current."""
    run_bench(["pca+kmeans"], ["digits"], [0], tmp_path, progress=False)
    [row] = read_results(tmp_path / "results.jsonl")
    resolved = row["config"]["reducer_resolved"]
    assert resolved["n_components"] == make_estimator("pca+kmeans")._build("reducer").n_components
    assert row["config"]["clusterer_resolved"]["n_init"] == 10 and ran_with_current_defaults(row)
    changed = {**row, "config": {**row["config"], "reducer_resolved": {**resolved, "n_components": 3}}}
    older = {**row, "config": {k: v for k, v in row["config"].items() if not k.endswith("_resolved")}}
    assert not ran_with_current_defaults(changed) and ran_with_current_defaults(older)


@pytest.mark.parametrize("method, settings", [("dec", ()), ("n2d", ("weight_init=torch",)),
                                              ("dcec", ("weight_init=torch",))])
def test_deep_runs_recorded_before_weight_init_existed_started_from_pytorchs_weights(method, settings):
    """Until ``weight_init`` existed every deep method started from PyTorch's weights. Under DEC's
    default (still PyTorch's start) such a run stays current; DCEC's and N2D's defaults are Keras'
    glorot start now, so their older runs are named by the start they had, not passed off as today's."""
    config = json.loads(json.dumps(make_estimator(method).resolved_params()))
    older = {k: v for k, v in config.items() if k != "weight_init"}
    row = {"method": method, "overrides": [], "config": older}
    assert row_settings(row) == settings and ran_with_current_defaults(row) is (settings == ())
    assert row_settings({**row, "config": config}) == ()


@pytest.mark.parametrize("method, current", [("ae+kmeans", False), ("cae+kmeans", True), ("pca+kmeans", True)])
def test_pipeline_rows_from_before_resolved_stages_ran_with_the_clusterers_own_defaults(method, current):
    """Rows recorded before stage parameters were (no ``clusterer_resolved``) ran with the
    clusterer class's own defaults: 10 k-means restarts. After ``ae`` the restarts are now 20
    (DEC's start), so those rows are stale; other pipelines' rows stay current."""
    config = json.loads(json.dumps(make_estimator(method, random_state=0).resolved_params()))
    older = {k: v for k, v in config.items() if k != "clusterer_resolved"}
    assert ran_with_current_defaults({"method": method, "overrides": [], "config": config})
    assert ran_with_current_defaults({"method": method, "overrides": [], "config": older}) is current
