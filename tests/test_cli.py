"""The command line: outputs of `run`, `predict`, and one clear sentence per user error."""

import csv
import json

import numpy as np
import pytest

from deepclust.cli import main


def cli(capsys, *args):
    """Run the CLI in-process; `run` skips the report unless a test asks for it (--map)."""
    args = [str(a) for a in args]
    if args[0] == "run" and "--map" not in args:
        args.append("--no-report")
    code = main(args)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_sentence_error(code, err, phrase):
    """Exit 2, no traceback, and exactly one 'Error: ...' line, the last thing printed."""
    assert code == 2
    assert "Traceback" not in err
    errors = [line for line in err.strip().splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and err.strip().splitlines()[-1] == errors[0]
    assert phrase in errors[0]


@pytest.fixture()
def blobs(tmp_path):
    rng = np.random.default_rng(0)
    centers = np.array([[0, 0, 0], [6, 6, 6], [0, 6, 0]], dtype=np.float32)
    X = np.concatenate([c + rng.normal(size=(40, 3)) for c in centers]).astype(np.float32)
    path = tmp_path / "blobs.npy"
    np.save(path, X)
    return path


def test_methods_and_datasets_listings(capsys):
    code, out, _ = cli(capsys, "methods")
    assert code == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert {"kmeans", "hdbscan", "umap+kmeans", "tsne+kmeans", "pca+hdbscan"} <= set(names)
    code, out, _ = cli(capsys, "datasets")
    assert code == 0 and "digits" in out and "fashion-mnist" in out


def test_run_writes_outputs_and_predict_reads_model(capsys, tmp_path, blobs):
    out = tmp_path / "run"
    code, stdout, _ = cli(capsys, "run", "kmeans", "--data", blobs, "--n-clusters", 3, "--seed", 1, "--out", out,
                          "--map", "pca")
    assert code == 0, stdout
    assert "<section id=\"metrics\">" in (out / "report.html").read_text()
    rows = list(csv.DictReader((out / "labels.csv").open()))
    assert len(rows) == 120 and set(rows[0]) == {"index", "cluster", "confidence"}
    assert len({r["cluster"] for r in rows}) == 3
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["silhouette"] > 0.5 and "acc" not in metrics  # no labels, no external metrics
    record = json.loads((out / "run.json").read_text())
    assert record["seed"] == 1 and record["params"]["n_clusters"] == 3
    assert {"load", "fit", "evaluate"} <= set(record["seconds"])
    assert record["versions"]["numpy"] == np.__version__
    assert record["peak_memory_mb"]["overall"] > 0

    pred = tmp_path / "pred.csv"
    code, _, err = cli(capsys, "predict", "--model", out / "model", "--data", blobs, "--out", pred)
    assert code == 0, err
    predicted = [r["cluster"] for r in csv.DictReader(pred.open())]
    assert predicted == [r["cluster"] for r in rows]


def test_run_digits_with_labels_reports_external_metrics(capsys, tmp_path):
    out = tmp_path / "d"
    code, stdout, _ = cli(capsys, "run", "gmm", "--data", "digits", "--set", "covariance_type=diag", "--out", out)
    assert code == 0
    m = json.loads((out / "metrics.json").read_text())
    assert m["acc"] > 0.6 and m["n_clusters"] == 10
    assert "ACC" in stdout
    conf = [float(r["confidence"]) for r in csv.DictReader((out / "labels.csv").open())]
    assert all(0 < c <= 1 for c in conf)
    record = json.loads((out / "run.json").read_text())
    assert record["n_clusters_source"].startswith("dataset metadata")


def test_config_file_and_set(capsys, tmp_path, blobs):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("n_init: 2\nmax_iter: 50\n")
    out = tmp_path / "r"
    code, _, _ = cli(capsys, "run", "kmeans", "--data", blobs, "--n-clusters", 3, "--config", cfg,
                     "--set", "max_iter=20", "--out", out)
    assert code == 0
    params = json.loads((out / "run.json").read_text())["params"]
    assert params["n_init"] == 2 and params["max_iter"] == 20


def test_existing_out_needs_force(capsys, tmp_path, blobs):
    out = tmp_path / "r"
    assert cli(capsys, "run", "kmeans", "--data", blobs, "--n-clusters", 2, "--out", out)[0] == 0
    before = (out / "labels.csv").read_text()
    code, _, err = cli(capsys, "run", "kmeans", "--data", blobs, "--n-clusters", 3, "--out", out)
    assert_one_sentence_error(code, err, "--force")
    assert (out / "labels.csv").read_text() == before
    assert cli(capsys, "run", "kmeans", "--data", blobs, "--n-clusters", 3, "--out", out, "--force")[0] == 0


def test_missing_path(capsys, tmp_path):
    code, _, err = cli(capsys, "run", "kmeans", "--data", tmp_path / "nope.npy", "--out", tmp_path / "o")
    assert_one_sentence_error(code, err, "does not exist")


def test_empty_folder(capsys, tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = cli(capsys, "run", "kmeans", "--data", tmp_path / "empty", "--n-clusters", 2,
                       "--out", tmp_path / "o")
    assert_one_sentence_error(code, err, str(tmp_path / "empty"))


def test_truncated_idx(capsys, tmp_path):
    p = tmp_path / "bad-images-idx3-ubyte"
    p.write_bytes(b"\x00\x00\x08\x03" + (5).to_bytes(4, "big") + (4).to_bytes(4, "big") * 2 + b"\x00" * 10)
    code, _, err = cli(capsys, "run", "kmeans", "--data", p, "--n-clusters", 2, "--out", tmp_path / "o")
    assert_one_sentence_error(code, err, p.name)


def test_truncated_image(capsys, tmp_path):
    from PIL import Image

    folder = tmp_path / "imgs"
    folder.mkdir()
    for i in range(3):
        Image.fromarray(np.full((8, 8), i * 40, np.uint8)).save(folder / f"{i}.png")
    data = (folder / "1.png").read_bytes()
    (folder / "1.png").write_bytes(data[: len(data) // 2])
    code, _, err = cli(capsys, "run", "kmeans", "--data", folder, "--n-clusters", 2, "--out", tmp_path / "o")
    assert_one_sentence_error(code, err, "1.png")


def test_csv_non_numeric_column(capsys, tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("a,b,name\n1,2,x\n3,4,y\n5,6,z\n")
    code, _, err = cli(capsys, "run", "kmeans", "--data", p, "--n-clusters", 2, "--out", tmp_path / "o")
    assert_one_sentence_error(code, err, "name")


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_nan_or_inf(capsys, tmp_path, value):
    X = np.ones((10, 3))
    X[4, 1] = value
    np.save(tmp_path / "x.npy", X)
    code, _, err = cli(capsys, "run", "kmeans", "--data", tmp_path / "x.npy", "--n-clusters", 2,
                       "--out", tmp_path / "o")
    assert_one_sentence_error(code, err, "NaN or infinite")


@pytest.mark.parametrize("arr, phrase", [(np.arange(5.0), "2-D"), (np.zeros((0, 3)), "0 samples")])
def test_bad_shapes(capsys, tmp_path, arr, phrase):
    np.save(tmp_path / "x.npy", arr)
    code, _, err = cli(capsys, "run", "kmeans", "--data", tmp_path / "x.npy", "--n-clusters", 2,
                       "--out", tmp_path / "o")
    assert_one_sentence_error(code, err, phrase)


@pytest.mark.parametrize("k, phrase", [(0, ">= 1"), (500, "larger than the number of samples")])
def test_bad_n_clusters(capsys, tmp_path, blobs, k, phrase):
    code, _, err = cli(capsys, "run", "kmeans", "--data", blobs, "--n-clusters", k, "--out", tmp_path / "o")
    assert_one_sentence_error(code, err, phrase)


def test_unknown_method_and_dataset(capsys, tmp_path):
    code, _, err = cli(capsys, "run", "kmenas", "--data", "digits", "--out", tmp_path / "o")
    assert_one_sentence_error(code, err, "Did you mean 'kmeans'")
    code, _, err = cli(capsys, "run", "kmeans", "--data", "fashion-mnis", "--out", tmp_path / "o2")
    assert_one_sentence_error(code, err, "fashion-mnist")


def test_predict_with_method_that_cannot_predict(capsys, tmp_path, blobs):
    out = tmp_path / "h"
    assert cli(capsys, "run", "hdbscan", "--data", blobs, "--set", "min_cluster_size=10", "--out", out)[0] == 0
    code, _, err = cli(capsys, "predict", "--model", out / "model", "--data", blobs, "--out", tmp_path / "p.csv")
    assert_one_sentence_error(code, err, "cannot assign new data")


def test_bad_set_syntax(capsys, tmp_path, blobs):
    code, _, err = cli(capsys, "run", "kmeans", "--data", blobs, "--set", "n_init", "--out", tmp_path / "o")
    assert_one_sentence_error(code, err, "key=value")


def test_run_on_a_random_sample_records_its_rows(capsys, tmp_path):
    out = tmp_path / "s"
    code, stdout, _ = cli(capsys, "run", "kmeans", "--data", "digits", "--sample", 500, "--seed", 3, "--out", out,
                          "--map", "pca")
    assert code == 0, stdout
    from sklearn.datasets import load_digits

    from deepclust.run import draw_sample

    labels = list(csv.DictReader((out / "labels.csv").open()))
    rows = np.array([int(r["index"]) for r in labels])  # index = row number in the full data
    assert rows.shape == (500,) and np.all(np.diff(rows) > 0) and rows.max() < 1797
    np.testing.assert_array_equal(rows, draw_sample(1797, 500, 3))  # drawn with the run's seed
    assert not np.array_equal(rows, draw_sample(1797, 500, 4))
    record = json.loads((out / "run.json").read_text())
    assert record["data"]["n_samples"] == 500 and record["data"]["sample"] == 500
    # the metrics are those of the sampled rows' own labels
    from deepclust.metrics import nmi

    y = load_digits().target[rows]
    got = json.loads((out / "metrics.json").read_text())["nmi"]
    assert got == pytest.approx(nmi(y, np.array([int(r["cluster"]) for r in labels])), abs=1e-9)
    page = (out / "report.html").read_text()
    assert 'alt="Cluster 0"' in page and "Confusion matrix" in page  # the report found the sampled rows
    code, _, err = cli(capsys, "export", out, "--to", "csv")
    assert code == 0, err
    exported = list(csv.DictReader((out / "clusters.csv").open()))
    assert [int(r["index"]) for r in exported] == rows.tolist()


@pytest.mark.parametrize("n, phrase", [(5000, "exceeds the 1797 samples"), (1, "at least 2")])
def test_bad_sample_sizes_are_one_sentence_errors(capsys, tmp_path, n, phrase):
    code, _, err = cli(capsys, "run", "kmeans", "--data", "digits", "--sample", n, "--out", tmp_path / "x")
    assert_one_sentence_error(code, err, phrase)
