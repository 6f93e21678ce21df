"""`deepclust score`: any tool's clustering, scored with the metrics `run` uses."""

import json

import numpy as np
import pytest
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score
from test_cli import assert_one_sentence_error, cli

from deepclust.metrics import accuracy, evaluate
from deepclust.score import read_assignment, score_assignment

Y = load_digits().target


def shuffled_classes(frac, seed=0):
    """The true classes renamed (7 -> 0, ...), with ``frac`` of the rows moved to another cluster."""
    rng = np.random.default_rng(seed)
    pred = (Y + 3) % 10
    moved = rng.random(len(Y)) < frac
    pred[moved] = (pred[moved] + 1) % 10
    return pred


def test_scores_match_evaluate_on_the_same_labels(tmp_path):
    pred = shuffled_classes(0.2)
    path = tmp_path / "pred.txt"
    np.savetxt(path, pred, fmt="%d")
    got = score_assignment(path, "digits")
    want = evaluate(pred, Y, load_digits().data.astype(np.float32))
    for name in ("acc", "nmi", "ari", "ami", "fmi", "purity", "silhouette", "calinski_harabasz", "davies_bouldin"):
        assert got[name] == pytest.approx(want[name], rel=1e-9), name
    # about 80% of each cluster stays with its class; cluster names do not matter (Hungarian matching)
    assert got["acc"] == pytest.approx(accuracy(Y, pred)) and 0.77 < got["acc"] < 0.83
    assert got["ari"] == pytest.approx(adjusted_rand_score(Y, pred))


@pytest.mark.parametrize("kind", ["npy", "txt_header", "csv_cluster", "tsv_label"])
def test_assignment_file_formats(tmp_path, kind):
    pred = shuffled_classes(0.1)
    if kind == "npy":
        path = tmp_path / "a.npy"
        np.save(path, pred)
    elif kind == "txt_header":
        path = tmp_path / "a.txt"
        path.write_text("cluster\n" + "\n".join(map(str, pred)) + "\n")
    elif kind == "csv_cluster":  # labels.csv of `deepclust run` without an index column
        path = tmp_path / "a.csv"
        path.write_text("cluster,confidence\n" + "".join(f"{c},0.5\n" for c in pred))
    else:
        path = tmp_path / "a.tsv"
        path.write_text("id\tlabel\n" + "".join(f"r{i}\t{c}\n" for i, c in enumerate(pred)))
    clusters, index = read_assignment(path)
    np.testing.assert_array_equal(clusters, pred)
    assert index is None


def test_text_cluster_names_are_coded_in_sorted_order(tmp_path):
    path = tmp_path / "names.csv"
    path.write_text("cluster\nb\na\nc\na\n")
    clusters, index = read_assignment(path)
    np.testing.assert_array_equal(clusters, [1, 0, 2, 0])
    assert index is None


def test_index_column_scores_only_the_named_rows(tmp_path):
    rows = np.arange(0, len(Y), 3)
    path = tmp_path / "labels.csv"
    path.write_text("index,cluster,confidence\n" + "".join(f"{i},{Y[i]}," + "\n" for i in rows))
    clusters, index = read_assignment(path)
    np.testing.assert_array_equal(index, rows)
    result = score_assignment(path, "digits", internal=False)
    assert result["n_samples"] == len(rows) and result["acc"] == 1.0 and "silhouette" not in result
    # the same clusters read against all rows in order would be wrong, and is refused
    path.write_text("cluster\n" + "".join(f"{Y[i]}\n" for i in rows))
    with pytest.raises(Exception, match="has 599 rows but digits"):
        score_assignment(path, "digits")


def test_noise_is_kept_and_reported(tmp_path):
    pred = Y.copy()
    pred[:100] = -1
    result = score_assignment(pred, "digits", internal=False)
    assert result["noise_fraction"] == pytest.approx(100 / len(Y))
    assert result["acc_non_noise"] == 1.0 and result["acc"] < 1.0


def test_cli_prints_the_figures_and_writes_json(capsys, tmp_path):
    pred = shuffled_classes(0.2)
    path = tmp_path / "p.npy"
    np.save(path, pred)
    code, out, err = cli(capsys, "score", path, "--data", "digits", "--json", tmp_path / "m.json")
    assert code == 0, err
    saved = json.loads((tmp_path / "m.json").read_text())
    assert f"ACC {saved['acc']:.4f}" in out and f"NMI {saved['nmi']:.4f}" in out and "1797 samples" in out
    assert saved["acc"] == pytest.approx(accuracy(Y, pred))


def test_cli_scores_a_sampled_run(capsys, tmp_path):
    out = tmp_path / "run"
    code, _, err = cli(capsys, "run", "kmeans", "--data", "digits", "--sample", 400, "--seed", 1, "--out", out)
    assert code == 0, err
    code, stdout, err = cli(capsys, "score", out / "labels.csv", "--data", "digits", "--json", tmp_path / "s.json")
    assert code == 0, err
    run_metrics = json.loads((out / "metrics.json").read_text())
    scored = json.loads((tmp_path / "s.json").read_text())
    assert scored["n_samples"] == 400
    for name in ("acc", "nmi", "ari", "silhouette", "davies_bouldin"):
        assert scored[name] == pytest.approx(run_metrics[name], rel=1e-9), name


@pytest.mark.parametrize("content, phrase", [
    ("cluster\n1\n2\n3\n", "has 3 rows but digits"),
    ("index,cluster\n0,1\n5000,2\n", "names row 5000, outside the 1797 samples of digits"),
    ("index,cluster\n4,1\n4,2\n", "names a row more than once"),
    ("a,b\n1,2\n", "keep one column, or name the label column one of cluster"),
    ("index,cluster\n0,1\n1,\n2,3\n", "missing value at row 1"),
])
def test_cli_errors_are_one_sentence(capsys, tmp_path, content, phrase):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    code, _, err = cli(capsys, "score", path, "--data", "digits")
    assert_one_sentence_error(code, err, phrase)


def test_cli_missing_file_and_nothing_to_score(capsys, tmp_path):
    code, _, err = cli(capsys, "score", tmp_path / "none.csv", "--data", "digits")
    assert_one_sentence_error(code, err, "does not exist")
    X = np.random.default_rng(0).normal(size=(30, 4)).astype(np.float32)
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "p.npy", np.arange(30) % 3)
    code, _, err = cli(capsys, "score", tmp_path / "p.npy", "--data", tmp_path / "X.npy", "--no-internal")
    assert_one_sentence_error(code, err, "has no labels and internal metrics are off")
    code, out, err = cli(capsys, "score", tmp_path / "p.npy", "--data", tmp_path / "X.npy")
    assert code == 0 and "silhouette" in out and "ACC" not in out
