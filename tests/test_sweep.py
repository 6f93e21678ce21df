"""Choosing k: `deepclust.sweep` and the `deepclust sweep` command."""

import json

import numpy as np
import pytest
from test_cli import assert_one_sentence_error, cli

from deepclust.data import Dataset
from deepclust.sweep import best_k, markdown, parse_ks, summarize, sweep


def three_blobs(seed=0):
    rng = np.random.default_rng(seed)
    centers = np.array([[0, 0, 0], [8, 8, 8], [0, 8, 0]], dtype=np.float32)
    y = np.repeat(np.arange(3), 50)
    X = (centers[y] + rng.normal(size=(150, 3))).astype(np.float32)
    return X, y


@pytest.fixture(scope="module")
def blob_rows():
    X, y = three_blobs()
    return sweep("kmeans", Dataset(X, y, name="blobs"), [2, 3, 4, 5], [0, 1])


def test_parse_ks_accepts_ranges_lists_and_mixes():
    assert parse_ks("2-5") == [2, 3, 4, 5]
    assert parse_ks("2,4,8") == [2, 4, 8]
    assert parse_ks("8 2-3, 3") == [2, 3, 8]


@pytest.mark.parametrize("text, message", [
    ("1-4", "at least 2"), ("5-3", "is empty"), ("2-x", "numbers and ranges"), ("", "no number of clusters")])
def test_parse_ks_errors(text, message):
    with pytest.raises(Exception, match=message):
        parse_ks(text)


def test_every_criterion_finds_the_three_blobs_and_the_seeds_agree_there(blob_rows):
    assert [(r["k"], r["seed"]) for r in blob_rows] == [(k, s) for k in (2, 3, 4, 5) for s in (0, 1)]
    summary = summarize(blob_rows)
    assert best_k(summary) == {"silhouette": 3, "calinski_harabasz": 3, "davies_bouldin": 3}
    at3 = summary[1]
    assert at3["k"] == 3 and at3["stability"] == 1.0 and at3["acc"] == 1.0 and at3["smallest_cluster"] == 50
    assert at3["silhouette"] > 0.7 and all(e["silhouette"] < at3["silhouette"] for e in summary if e["k"] != 3)
    assert summary[0]["silhouette_embedding"] is None  # k-means has no embedding


def test_medians_over_seeds_and_no_stability_from_one_seed(blob_rows):
    one = summarize([r for r in blob_rows if r["seed"] == 0])
    assert all(e["stability"] is None for e in one)
    both = summarize(blob_rows)
    for e in both:
        values = [r["metrics"]["davies_bouldin"] for r in blob_rows if r["k"] == e["k"]]
        assert e["davies_bouldin"] == pytest.approx(np.median(values))


def test_best_k_breaks_ties_toward_the_smaller_k_and_skips_missing_criteria():
    base = {"silhouette_embedding": None, "calinski_harabasz": 1.0, "davies_bouldin": 2.0, "stability": 1.0}
    summary = [{**base, "k": 4, "silhouette": 0.5}, {**base, "k": 2, "silhouette": 0.5},
               {**base, "k": 3, "silhouette": 0.1}]
    picks = best_k(sorted(summary, key=lambda e: e["k"]))
    assert picks == {"silhouette": 2, "calinski_harabasz": 2, "davies_bouldin": 2}


def test_markdown_marks_each_criterions_best_k(blob_rows):
    text = markdown(summarize(blob_rows))
    row3 = next(line for line in text.splitlines() if line.startswith("| 3 |"))
    assert row3.count("*") == 3 and "| 1.0000 |" in row3  # silhouette, CH and DB; stability unranked
    assert "silhouette_embedding" not in text.splitlines()[0]  # no method here has an embedding
    assert "ACC (reference)" in text
    assert text.rstrip().endswith("davies_bouldin k=3.")


def test_resampled_stability_compares_runs_on_the_rows_they_share():
    X, y = three_blobs()
    rows = sweep("kmeans", Dataset(X, y, name="blobs"), [3, 5], [0, 1, 2], resample=0.7)
    assert all(len(r["index"]) == 105 and len(r["labels"]) == 105 for r in rows)
    first = [r for r in rows if r["seed"] == 0]
    np.testing.assert_array_equal(first[0]["index"], first[1]["index"])  # one subset per seed, at every k
    assert not np.array_equal(rows[0]["index"], rows[1]["index"])
    summary = summarize(rows)
    assert summary[0]["stability"] == 1.0  # three blobs hold on any 70%
    assert summary[1]["stability"] < 0.95  # five clusters cut the blobs differently on each subset
    a, b = rows[0], rows[1]
    shared, ia, ib = np.intersect1d(a["index"], b["index"], return_indices=True)
    assert 30 < len(shared) < 105
    with pytest.raises(Exception, match="between 0 and 1"):
        sweep("kmeans", Dataset(X, y, name="blobs"), [3], [0], resample=1.0)


def test_embedding_silhouette_for_two_stage_methods():
    X, y = three_blobs()
    rows = sweep("pca+kmeans", Dataset(X, None, name="blobs"), [2, 3], [0], params={"n_components": 2})
    summary = summarize(rows)
    assert summary[1]["silhouette_embedding"] is not None and summary[1]["acc"] is None
    assert best_k(summary)["silhouette_embedding"] == 3


def test_methods_that_choose_k_themselves_are_refused():
    X, _ = three_blobs()
    with pytest.raises(Exception, match="chooses its own number of clusters"):
        sweep("hdbscan", Dataset(X, None, name="blobs"), [2, 3], [0])


def test_cli_writes_table_json_and_label_files(capsys, tmp_path):
    X, y = three_blobs()
    np.save(tmp_path / "blobs.npy", X)
    out = tmp_path / "sw"
    code, stdout, err = cli(capsys, "sweep", "kmeans", "--data", tmp_path / "blobs.npy", "--k", "2-4",
                            "--seeds", "0,1", "--out", out)
    assert code == 0, err
    assert "silhouette k=3" in stdout and (out / "sweep.md").read_text().startswith("# kmeans on blobs")
    record = json.loads((out / "sweep.json").read_text())
    assert record["best_k"] == {"silhouette": 3, "calinski_harabasz": 3, "davies_bouldin": 3}
    assert len(record["runs"]) == 6 and record["seeds"] == [0, 1] and record["per_k"][1]["stability"] == 1.0
    assert "numpy" in record["versions"] and "command" in record
    assert (out / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    table = np.loadtxt(out / "labels" / "k3-seed1.csv", delimiter=",", skiprows=1, usecols=(0, 1))
    np.testing.assert_array_equal(table[:, 0], np.arange(150))
    assert len(set(table[:, 1].tolist())) == 3
    code, _, err = cli(capsys, "sweep", "kmeans", "--data", tmp_path / "blobs.npy", "--k", "2-3", "--out", out)
    assert_one_sentence_error(code, err, "already exists")
    code, _, err = cli(capsys, "sweep", "kmeans", "--data", tmp_path / "blobs.npy", "--k", "1-3",
                       "--out", tmp_path / "x")
    assert_one_sentence_error(code, err, "at least 2")


def test_cli_sample_clusters_the_same_rows_in_every_run(capsys, tmp_path):
    out = tmp_path / "sw"
    code, _, err = cli(capsys, "sweep", "kmeans", "--data", "digits", "--k", "9-10", "--seeds", "0 1",
                       "--sample", 300, "--out", out)
    assert code == 0, err
    record = json.loads((out / "sweep.json").read_text())
    assert record["n_samples"] == 300 and record["sample_index_seed"] == 0
    assert all(e["stability"] is not None for e in record["per_k"])
    index = np.loadtxt(out / "labels" / "k10-seed0.csv", delimiter=",", skiprows=1, usecols=0)
    assert len(index) == 300 and index.max() > 1000  # rows of the full 1,797-image data
    code, stdout, err = cli(capsys, "consensus", out / "labels" / "k10-seed0.csv", out / "labels" / "k10-seed1.csv",
                            "--out", tmp_path / "c", "--data", "digits")
    assert code == 0 and "300 samples" in stdout, err


def test_cli_resample_names_the_rows_of_the_data_each_run_clustered(capsys, tmp_path):
    out = tmp_path / "sw"
    code, _, err = cli(capsys, "sweep", "kmeans", "--data", "digits", "--k", "10", "--seeds", "0 1",
                       "--sample", 400, "--resample", 0.5, "--out", out)
    assert code == 0, err
    sampled = json.loads((out / "sweep.json").read_text())
    assert sampled["resample"] == 0.5 and sampled["n_samples"] == 400
    rows = [set(np.loadtxt(out / "labels" / f"k10-seed{s}.csv", delimiter=",", skiprows=1, usecols=0).astype(int))
            for s in (0, 1)]
    assert len(rows[0]) == len(rows[1]) == 200 and rows[0] != rows[1] and rows[0] & rows[1]


def test_plot_has_a_panel_per_criterion_the_best_k_marked_and_labels_as_reference(blob_rows):
    from deepclust.viz.plots import sweep_criteria

    summary = summarize(blob_rows)
    fig = sweep_criteria(summary, best_k(summary))
    titles = [ax.get_title() for ax in fig.axes]
    assert len(titles) == 5  # silhouette, CH, DB, stability, reference (k-means has no embedding)
    assert titles[0].startswith("silhouette") and titles[3].startswith("stability")
    assert "reference only" in titles[-1]
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == ["best k = 3"]
    assert fig.axes[3].get_legend() is None  # stability is shown, not ranked
    no_labels = [{**e, "acc": None, "nmi": None, "ari": None} for e in summary]
    assert len(sweep_criteria(no_labels, best_k(no_labels)).axes) == 4
    import matplotlib.pyplot as plt

    plt.close("all")
