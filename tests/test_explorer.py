"""The cluster explorer page: which members it shows, its thumbnails, its data and its command.
(tests/test_report_browser.py drives it in a real browser.)"""

import base64
import io
import json
import re

import numpy as np
import pytest
from PIL import Image

from deepclust.cli import main
from deepclust.run import run
from deepclust.viz.explorer import build_explorer, pick_members, render, thumbnail_uri


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("r") / "gmm"
    run("pca+gmm", "digits", seed=0, params={"n_components": 10, "covariance_type": "diag"}, out=out,
        report=False)
    return out


def _data(page: str) -> dict:
    m = re.search(r'<script type="application/json" id="explorer-data">(.*?)</script>', page, re.S)
    return json.loads(m.group(1))


def test_pick_members_takes_both_ends_of_the_confidence_ranking_without_overlap():
    labels = np.array([0, 0, 0, 1, 1])
    conf = np.array([0.9, 0.5, 0.7, 0.2, 0.8])
    most, least = pick_members(labels, conf, 0, per_side=2)
    assert most.tolist() == [0, 2] and least.tolist() == [1]  # row 2 is not shown twice
    most, least = pick_members(labels, conf, 1, per_side=5)
    assert most.tolist() == [4, 3] and least.tolist() == []
    most, least = pick_members(labels, conf, 0, per_side=1)
    assert most.tolist() == [0] and least.tolist() == [1]


def test_pick_members_without_confidences_is_a_seeded_random_sample():
    labels = np.repeat([0, 1], 50)
    a, none = pick_members(labels, None, 1, per_side=6, seed=3)
    b, _ = pick_members(labels, None, 1, per_side=6, seed=3)
    c, _ = pick_members(labels, None, 1, per_side=6, seed=4)
    assert a.tolist() == b.tolist() and a.tolist() != c.tolist() and len(none) == 0
    assert len(set(a.tolist())) == 6 and all(labels[a] == 1) and a.tolist() == sorted(a.tolist())


def test_thumbnail_uri_is_a_png_of_the_clipped_pixels():
    uri = thumbnail_uri(np.array([[0.0, 0.5], [1.0, 1.7]]).reshape(2, 2, 1))
    assert uri.startswith("data:image/png;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert np.asarray(img).tolist() == [[0, 128], [255, 255]]
    rgb = Image.open(io.BytesIO(base64.b64decode(thumbnail_uri(np.full((3, 4, 3), 0.2)).split(",", 1)[1])))
    assert rgb.mode == "RGB" and rgb.size == (4, 3)


def test_explorer_page_holds_every_row_the_map_and_ranked_members(digits_run):
    page = build_explorer(digits_run, map_method="pca", per_cluster=5).read_text()
    assert "http://" not in page and "https://" not in page
    data = _data(page)
    labels = [int(row.split(",")[1]) for row in (digits_run / "labels.csv").read_text().splitlines()[1:]]
    assert data["labels"] == labels and data["index"] == list(range(1797)) and data["paths"] is None
    m = data["map"]
    assert len(m["rows"]) == len(m["x"]) == len(m["y"]) == 1797 and "PCA" in m["how"]
    assert min(m["x"]) == 0 and max(m["x"]) == 1 and min(m["y"]) == 0 and max(m["y"]) == 1
    assert [c["id"] for c in data["clusters"]] == sorted(set(labels))
    for c in data["clusters"]:
        assert c["size"] == labels.count(c["id"])
        (top, bottom) = c["groups"]
        assert top["title"] == "most confident" and bottom["title"] == "least confident"
        tc = [x["confidence"] for x in top["members"]]
        bc = [x["confidence"] for x in bottom["members"]]
        assert len(tc) == len(bc) == 5 and tc == sorted(tc, reverse=True) and bc == sorted(bc)
        assert min(tc) >= max(bc)
        assert all(labels[x["index"]] == c["id"] and x["src"].startswith("data:image/png") for x in top["members"])
    assert "y_true" not in page and "class_names" not in page  # the true classes are never shown


def test_explorer_of_feature_data_shows_row_numbers(tmp_path):
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(0, 0.3, (40, 2)), rng.normal(5, 0.3, (40, 2))]).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    out = tmp_path / "km"
    run("kmeans", str(tmp_path / "x.npy"), n_clusters=2, seed=0, out=out, report=False)
    data = _data(build_explorer(out, tmp_path / "page.html").read_text())
    assert "2-d embedding itself" in data["map"]["how"] and len(data["clusters"]) == 2
    for c in data["clusters"]:
        (group,) = c["groups"]  # k-means has no confidences: one seeded random group
        assert group["title"] == "random members" and len(group["members"]) == 24
        assert all(x["src"] is None and x["confidence"] is None for x in group["members"])


def test_render_escapes_the_payload_and_names():
    page = render({"title": "a</script><b>", "key": "k", "index": [0], "labels": [0], "paths": None,
                   "map": None, "clusters": []})
    assert page.count("</script>") == 2 and "a\\u003c/script>\\u003cb>" in page and "a&lt;/script&gt;&lt;b&gt;" in page
    assert _data(page)["title"] == "a</script><b>"  # the JSON reads back unchanged


def test_explore_command(digits_run, tmp_path, capsys):
    dest = tmp_path / "e.html"
    assert main(["explore", str(digits_run), "--out", str(dest), "--map", "pca", "--per-cluster", "2"]) == 0
    assert f"Wrote {dest}" in capsys.readouterr().out
    assert all(len(g["members"]) == 2 for c in _data(dest.read_text())["clusters"] for g in c["groups"])
    assert main(["explore", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is not a finished run folder" in err and "Traceback" not in err


def test_explorer_without_the_data_or_an_embedding_still_lists_the_clusters(tmp_path):
    """The data file is gone and k-means keeps no embedding: no map, row numbers only, no failure."""
    X = np.concatenate([np.zeros((10, 3)), np.ones((10, 3))]).astype(np.float32)
    np.save(tmp_path / "x.npy", X)
    run("kmeans", str(tmp_path / "x.npy"), n_clusters=2, seed=0, out=tmp_path / "km", report=False)
    (tmp_path / "x.npy").unlink()
    data = _data(build_explorer(tmp_path / "km").read_text())
    assert data["map"] is None and [c["size"] for c in data["clusters"]] == [10, 10]
    assert all(m["src"] is None for c in data["clusters"] for g in c["groups"] for m in g["members"])
