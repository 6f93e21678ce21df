"""RESULTS.md generation: figures come from the recorded lines, never from the spec."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from deepclust.cli import cli
from deepclust.errors import InputError
from deepclust.results import collect_runs, load_spec, render_results


def _row(seed, acc, *, method="kmeans", overrides=(), resumed=False, non_noise=None):
    return {"key": f"{method}|d|{seed}|{','.join(overrides)}", "method": method, "data": "d", "seed": seed,
            "overrides": list(overrides), "status": "ok", "date": "2026-11-20", "resumed": resumed,
            "seconds": {"load": 1.0, "fit": 9.0}, "fit_phases": {"pretrain": 6.0, "clustering": 3.0, "assign": 0.4},
            "metrics": {"acc": acc, "nmi": acc / 2}, "metrics_non_noise": non_noise or {}}


@pytest.fixture
def recorded(tmp_path):
    lines = [_row(0, 0.5), _row(1, 0.7), _row(2, 0.6), _row(0, 0.9, overrides=("k=1",)),
             _row(1, 0.8, overrides=("k=1", "pretrain_cache=/c")),
             {"key": "kmeans|d|3|", "method": "kmeans", "data": "d", "seed": 3, "status": "failed"},
             {"key": "kmeans|d|0|k=1", "method": "kmeans", "data": "d", "seed": 0, "status": "failed",
              "overrides": ["k=1"]},  # failed before it succeeded: a run, not a failure
             {"key": "dec|d|0|", "method": "dec", "data": "d", "seed": 0, "status": "failed"},
             _row(0, 0.4, method="hdb", non_noise={"acc": 0.8})]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    (tmp_path / "peer.jsonl").write_text(json.dumps(
        {"method": "DEC", "seed": 0, "date": "2026-11-21", "seconds": 2400.0,
         "own_assignments": {"acc": 0.51}, "kmeans_rerun": {"acc": 0.52}}) + "\n")
    spec = {"tables": [{"title": "T", "reference": "seed X", "metrics": ["acc"], "command": "cmd --x",
                        "rows": [{"label": "km", "results": "r.jsonl", "method": "kmeans", "data": "d",
                                  "reference": {"acc": 0.55}},
                                 {"label": "km k=1", "results": "r.jsonl", "method": "kmeans", "data": "d",
                                  "overrides": ["k=1"]},
                                 {"label": "hdb dropped", "results": "r.jsonl", "method": "hdb", "data": "d",
                                  "scoring": "non_noise"},
                                 {"label": "peer", "results": "peer.jsonl", "format": "clustpy", "method": "DEC",
                                  "assignments": "kmeans_rerun"},
                                 {"label": "missing", "results": "none.jsonl", "method": "dec", "data": "d"},
                                 {"label": "only failed", "results": "r.jsonl", "method": "dec", "data": "d"},
                                 {"label": "q(z|x)", "results": "none.jsonl", "method": "dec", "data": "d"}]}]}
    (tmp_path / "spec.json").write_text(json.dumps(spec))
    return tmp_path


def test_rows_select_method_overrides_and_scoring(recorded):
    spec = load_spec(recorded / "spec.json")
    rows = spec["tables"][0]["rows"]
    assert sorted(r["metrics"]["acc"] for r in collect_runs(rows[0], recorded)) == [0.5, 0.6, 0.7]
    # a run that only adds a result-neutral setting (pretrain_cache) belongs to the same row
    assert sorted(r["metrics"]["acc"] for r in collect_runs(rows[1], recorded)) == [0.8, 0.9]
    assert [r["metrics"]["acc"] for r in collect_runs(rows[2], recorded)] == [0.8]
    assert [r["metrics"]["acc"] for r in collect_runs(rows[3], recorded)] == [0.52]
    assert collect_runs(rows[4], recorded) == []


def test_rendered_table_has_medians_spread_reference_and_command(recorded):
    text = render_results(load_spec(recorded / "spec.json"), recorded)
    # every fit phase, in the order it ran
    # seed 3 only failed: counted beside the runs, its figures nowhere
    assert ("| km | 3 (1 failed) | 0.600 [0.500, 0.700] | 0.55 | 10 [10, 10] "
            "(pretrain 6, clustering 3, assign 0) |") in text
    assert "| km k=1 | 2 | 0.850 [0.800, 0.900] | — |" in text
    assert "| q(z\\|x) | not run yet |" in text  # a label's | is escaped, not a cell border
    assert "| missing | not run yet | — | — | — |" in text
    assert "| only failed | 0 (1 failed) | — | — | — |" in text
    assert "| peer | 1 | 0.520 | — | 2400 |" in text
    assert "cmd --x" in text and "Runs dated 2026-11-20 to 2026-11-21" in text


def test_cli_writes_the_file(recorded):
    out = recorded / "RESULTS.md"
    res = CliRunner().invoke(cli, ["results", str(recorded / "spec.json"), "--root", str(recorded),
                                   "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert out.read_text().startswith("# Results")


def test_bad_specs_are_refused(tmp_path):
    (tmp_path / "a.json").write_text("{not json")
    with pytest.raises(InputError, match="not valid JSON"):
        load_spec(tmp_path / "a.json")
    (tmp_path / "b.json").write_text(json.dumps({"tables": [{"title": "t", "rows": [{"label": "x"}]}]}))
    with pytest.raises(InputError, match="lacks results"):
        load_spec(tmp_path / "b.json")
    with pytest.raises(InputError, match="does not exist"):
        load_spec(tmp_path / "c.json")


def test_rows_read_sampled_runs_only_when_they_ask_for_them(tmp_path):
    lines = [_row(0, 0.5), {**_row(1, 0.9), "key": "kmeans|d|1|-s100", "sample": 100}]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    full = {"label": "full", "results": "r.jsonl", "method": "kmeans", "data": "d"}
    sampled = {**full, "label": "sampled", "sample": 100}
    assert [r["metrics"]["acc"] for r in collect_runs(full, tmp_path)] == [0.5]
    assert [r["metrics"]["acc"] for r in collect_runs(sampled, tmp_path)] == [0.9]


def test_smallest_cluster_column_shows_collapsed_runs(tmp_path):
    lines = [{**_row(0, 0.5), "min_cluster_size": 4000}, {**_row(1, 0.6), "min_cluster_size": 12},
             {**_row(2, 0.7), "min_cluster_size": 5000}]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    row = {"label": "km", "results": "r.jsonl", "method": "kmeans", "data": "d"}
    with_column = {"tables": [{"title": "T", "metrics": ["acc"], "smallest_cluster": True, "rows": [row]}]}
    text = render_results(with_column, tmp_path)
    assert "| ACC measured | ACC reference | smallest cluster | seconds/run (median phases) |" in text
    assert "| km | 3 | 0.600 [0.500, 0.700] | — | 4000 [12, 5000] | 10 [10, 10]" in text
    without = {"tables": [{"title": "T", "metrics": ["acc"], "rows": [row]}]}
    assert "smallest cluster" not in render_results(without, tmp_path)


def test_partial_timings_are_left_out_of_seconds_and_phases(tmp_path):
    """A resumed run gives no time; a run that loaded a resumed cached pretraining gives its other phases."""
    cached = {"pretrain_cached": True, "pretrain_cache_seconds": 50.0}
    lines = [{**_row(0, 0.5), **cached}, {**_row(1, 0.6), **cached, "pretrain_cache_resumed": True},
             _row(2, 0.7, resumed=True)]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    row = {"label": "km", "results": "r.jsonl", "method": "kmeans", "data": "d"}
    runs = {r["seed"]: r for r in collect_runs(row, tmp_path)}
    assert runs[0]["seconds"] == 60.0 and runs[0]["phases"]["pretrain"] == 50.0
    assert runs[1]["seconds"] is None and "pretrain" not in runs[1]["phases"] and runs[1]["phases"]["clustering"] == 3.0
    assert runs[2]["seconds"] is None and runs[2]["phases"] == {}
    text = render_results({"tables": [{"title": "T", "metrics": ["acc"], "rows": [row]}]}, tmp_path)
    assert "| km | 3 | 0.600 [0.500, 0.700] | — | 60 (pretrain 50, clustering 3, assign 0) |" in text


def test_cpu_column_labels_each_host_once_and_flags_pretraining_from_elsewhere(tmp_path):
    """Runs name their CPU; the column gives a letter per CPU (explained under the header) with the
    number of runs, and a cached pretraining's host where it differs or was not recorded."""
    fast, slow = "Fast CPU; 2 CPUs; avx2 amx_tile", "Slow CPU; 2 CPUs; avx2"
    lines = [{**_row(0, 0.5), "versions": {"cpu": fast}},
             {**_row(1, 0.6), "versions": {"cpu": fast}, "pretrain_cached": True, "pretrain_cache_seconds": 5.0,
              "pretrain_cache_cpu": slow},
             {**_row(2, 0.7), "versions": {"cpu": fast}, "pretrain_cached": True, "pretrain_cache_seconds": 5.0,
              "pretrain_cache_cpu": None},
             {**_row(3, 0.8), "versions": {"cpu": fast}, "pretrain_cached": True, "pretrain_cache_seconds": 5.0,
              "pretrain_cache_cpu": fast},
             _row(0, 0.4, method="old")]
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lines))
    rows = [{"label": "km", "results": "r.jsonl", "method": "kmeans", "data": "d"},
            {"label": "old", "results": "r.jsonl", "method": "old", "data": "d"}]
    text = render_results({"tables": [{"title": "T", "metrics": ["acc"], "rows": rows},
                                      {"title": "U", "metrics": ["acc"], "rows": rows[1:]}]}, tmp_path)
    assert "**A** = `Fast CPU; 2 CPUs; avx2 amx_tile`; **B** = `Slow CPU; 2 CPUs; avx2`; **?** = not recorded" in text
    assert "| ACC measured | ACC reference | CPU | seconds/run (median phases) |" in text
    assert "| 0.650 [0.500, 0.800] | — | A ×2; A (pretraining B) ×1; A (pretraining ?) ×1 |" in text
    assert "| old | 1 | 0.400 | — | ? ×1 | 10 (pretrain 6, clustering 3, assign 0) |" in text
    table_u = text.split("## U")[1]
    assert "CPU" not in table_u  # no run of that table named its CPU
    assert "CPU column" not in render_results({"tables": [{"title": "U", "rows": rows[1:]}]}, tmp_path)


def test_the_committed_results_file_is_generated_from_the_committed_lines():
    """benchmarks/RESULTS.md is what `deepclust results` makes of the recorded lines today: a hand
    edit, or new lines recorded without regenerating it, fails here (the date line aside)."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    spec = repo / "benchmarks" / "results_spec.json"
    committed = (repo / "benchmarks" / "RESULTS.md").read_text().splitlines()
    rendered = render_results(load_spec(spec), repo).splitlines()

    def undated(lines):
        return [ln for ln in lines if not ln.startswith("Generated by `deepclust results")]

    assert undated(rendered) == undated(committed)


def test_a_run_under_an_older_default_is_read_only_by_a_row_that_spells_it_out(tmp_path):
    """A row selects runs by the settings its overrides give today: after a default changed, the
    runs made before it belong to a row whose overrides name the old value, and a run whose
    overrides repeat today's default belongs to the plain row."""
    from deepclust.registry import make_estimator

    config = json.loads(json.dumps(make_estimator("kmeans", random_state=0).resolved_params()))
    old = {**_row(0, 0.3), "config": {**config, "n_init": 3}}
    today = {**_row(1, 0.6, overrides=("n_init=10",)), "config": config}
    (tmp_path / "r.jsonl").write_text("".join(json.dumps(r) + "\n" for r in (old, today)))
    plain = {"label": "defaults", "results": "r.jsonl", "method": "kmeans", "data": "d"}
    spelled = {**plain, "label": "the old default", "overrides": ["n_init=3"]}
    assert config["n_init"] == 10
    assert [r["metrics"]["acc"] for r in collect_runs(plain, tmp_path)] == [0.6]
    assert [r["metrics"]["acc"] for r in collect_runs(spelled, tmp_path)] == [0.3]
