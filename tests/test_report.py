"""Plots, the self-contained HTML report, and export for annotation."""

import base64
import csv
import re

import numpy as np
import pytest
from PIL import Image

from deepclust.cli import main
from deepclust.errors import InputError
from deepclust.export import export_clusters
from deepclust.run import run
from deepclust.viz import build_report, plots


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("r") / "gmm"
    run("pca+gmm", "digits", seed=0, params={"n_components": 10, "covariance_type": "diag"}, out=out,
        report=False)
    build_report(out, map_method="pca")
    return out


def _images(html):
    return re.findall(r'<img alt="([^"]*)" src="data:image/png;base64,([^"]+)"', html)


def test_report_is_self_contained_with_every_section(digits_run):
    html = (digits_run / "report.html").read_text()
    for sid in ("summary", "metrics", "maps", "training", "clusters", "galleries"):
        assert f'<section id="{sid}">' in html
    assert "http://" not in html and "https://" not in html and "<script" not in html
    imgs = _images(html)
    titles = [t for t, _ in imgs]
    assert any(t.startswith("Predicted clusters") for t in titles)
    assert any("True classes" in t and "NOT the clustering" in t for t in titles)
    assert "Cluster sizes" in titles and "Assignment confidence" in titles
    assert any(t.startswith("Confusion matrix") for t in titles)
    assert sum(bool(re.fullmatch(r"Cluster \d+", t)) for t in titles) == 10
    assert "Mean image of each cluster" in titles
    for _, b64 in imgs:
        assert base64.b64decode(b64)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "ACC" in html and "pca+gmm" in html
    # the pipeline's resolved stage parameters are one row each, not a dict printed whole
    assert "<td>reducer_resolved.n_components</td><td>10</td>" in html
    assert "<td>clusterer_resolved.covariance_type</td><td>diag</td>" in html


def test_true_class_map_is_labelled_as_reference():
    coords = np.random.default_rng(0).normal(size=(30, 2))
    fig = plots.scatter_map(coords, np.arange(30) % 3, "TRUE CLASSES (reference, not the clustering)")
    assert fig.axes[0].get_title().startswith("TRUE CLASSES")
    plots.to_png(fig)


def test_map_2d_modes():
    E = np.random.default_rng(0).normal(size=(100, 5))
    idx, coords, how = plots.map_2d(E, method="pca")
    assert coords.shape == (100, 2) and how.startswith("PCA") and len(idx) == 100
    idx, coords, how = plots.map_2d(E[:, :2], max_points=40)
    assert coords.shape == (40, 2) and how == "the 2-d embedding itself"


def test_training_curves_from_history():
    history = {
        "pretrain": [{"phase": "pretrain", "step": s, "reconstruction": 1 / s} for s in (1, 2, 3)],
        "clustering": [{"phase": "clustering", "step": s, "kl": 0.1 / s, "reconstruction": 0.01} for s in (1, 2)],
        "refresh": [{"step": 0, "delta_label": 0.0, "acc": 0.5, "nmi": 0.4, "ari": 0.3},
                    {"step": 10, "delta_label": 0.02, "acc": 0.6, "nmi": 0.5, "ari": 0.4}],
    }
    fig = plots.training_curves(history)
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[0] == "pretrain losses" and titles[1] == "clustering losses"
    assert "fraction of labels changed" in titles[2] and "monitoring only" in titles[3]
    assert plots.to_png(fig)[:4] == b"\x89PNG"


def test_confusion_matrix_orders_clusters_by_matched_class():
    y = np.array([0, 0, 1, 1, 2, 2])
    labels = np.array([2, 2, 0, 0, 1, 1])
    fig = plots.confusion_matrix(y, labels)
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2", "0", "1"]
    table = ax.images[0].get_array()
    assert np.array_equal(np.asarray(table), np.diag([2, 2, 2]))


def test_report_cli_rebuilds_and_errors(capsys, digits_run, tmp_path):
    (digits_run / "report.html").unlink()
    assert main(["report", str(digits_run), "--map", "pca"]) == 0
    assert (digits_run / "report.html").is_file()
    assert main(["report", str(tmp_path / "nope")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_export_csv_and_folders(digits_run, tmp_path):
    path = export_clusters(digits_run, to="csv", dest=tmp_path / "c.csv")
    rows = list(csv.DictReader(path.open()))
    labels = [r["cluster"] for r in csv.DictReader((digits_run / "labels.csv").open())]
    assert [r["cluster"] for r in rows] == labels
    folder = export_clusters(digits_run, to="folders", dest=tmp_path / "f")
    counts = {p.name: len(list(p.iterdir())) for p in folder.iterdir()}
    assert sum(counts.values()) == 1797
    assert counts == {f"cluster_{k}": labels.count(str(k)) for k in set(map(int, labels))}
    img = Image.open(next((folder / "cluster_0").iterdir()))
    assert img.size == (8, 8)
    with pytest.raises(InputError, match="already exists"):
        export_clusters(digits_run, to="folders", dest=tmp_path / "f")


def _annotations(path, labels, names: dict, flagged: set):
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["index", "cluster", "cluster_name", "flagged"])
        for i, k in enumerate(labels):
            w.writerow([i, k, names.get(k, ""), int(i in flagged)])
    return path


def test_export_folders_named_and_flagged_by_the_explorer_annotations(digits_run, tmp_path, capsys):
    """The CSV the explorer page downloads names the folders (made safe for a file system; a name given twice
    gets the cluster added) and sends flagged members into flagged/."""
    labels = [int(r["cluster"]) for r in csv.DictReader((digits_run / "labels.csv").open())]
    first3 = labels.index(3)
    notes = _annotations(tmp_path / "a.csv", labels, {3: 'threes, "mostly"', 5: "../odd", 6: "odd"}, {first3})
    folder = export_clusters(digits_run, to="folders", dest=tmp_path / "f", names=notes)
    found = {p.name: sorted(q.name for q in p.iterdir()) for p in folder.iterdir()}
    assert set(found) == {"threes_mostly", "odd", "odd_6"} | {f"cluster_{k}" for k in set(labels) - {3, 5, 6}}
    assert len(found["threes_mostly"]) == labels.count(3)  # the members less one, plus flagged/
    assert "flagged" in found["threes_mostly"] and [p.name for p in (folder / "threes_mostly" / "flagged").iterdir()] \
        == [f"{first3}.png"]
    assert len(found["odd"]) == labels.count(5) and not (tmp_path / "odd").exists()  # "../" cannot leave dest
    other = _annotations(tmp_path / "b.csv", [(k + 1) % 10 for k in labels], {}, set())
    with pytest.raises(InputError, match="puts row 0 in cluster .*another run"):
        export_clusters(digits_run, to="folders", dest=tmp_path / "g", names=other)
    (tmp_path / "c.csv").write_text("index,cluster\n0,1\n")
    with pytest.raises(InputError, match="not an explorer annotations file"):
        export_clusters(digits_run, to="folders", dest=tmp_path / "g", names=tmp_path / "c.csv")
    assert main(["export", str(digits_run), "--to", "csv", "--names", str(notes)]) == 2
    assert "--names applies to --to folders" in capsys.readouterr().err


def test_export_image_folder_copies_original_files(tmp_path):
    src = tmp_path / "imgs"
    rng = np.random.default_rng(0)
    for cls in ("a", "b"):
        (src / cls).mkdir(parents=True)
        for i in range(6):
            base = 40 if cls == "a" else 200
            pixels = (base + rng.integers(0, 20, size=(6, 6))).astype(np.uint8)
            Image.fromarray(pixels).save(src / cls / f"{cls}{i}.png")
    out = tmp_path / "run"
    run("kmeans", str(src), n_clusters=2, seed=0, out=out, report=False)
    dest = export_clusters(out, to="folders")
    names = sorted(sorted(p.name for p in d.iterdir()) for d in dest.iterdir())
    assert names == [[f"a{i}.png" for i in range(6)], [f"b{i}.png" for i in range(6)]]
    rows = list(csv.DictReader(export_clusters(out, to="csv").open()))
    assert rows[0]["path"].endswith(".png")


def test_deep_run_report_has_training_curves_and_decoded_centres(tmp_path):
    out = tmp_path / "idec"
    params = {"hidden_dims": (64, 64, 128), "pretrain_epochs": 5, "pretrain_batch_size": 128, "maxiter": 60,
              "update_interval": 20, "verbose": False}
    run("idec", "digits", seed=0, params=params, out=out, monitor=True, map_method="pca")
    titles = [t for t, _ in _images((out / "report.html").read_text())]
    assert "Training curves" in titles and "Decoded cluster centres" in titles
    assert any(t.startswith("Predicted clusters — PCA of the embedding (learned embedding") for t in titles)
