"""The Dataset container, the registry, load_dataset's dispatch, digits and real Fashion-MNIST."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import numpy as np
import pytest

from deepclust.data import (
    Dataset,
    describe_dataset,
    list_datasets,
    load_dataset,
    locate_dataset,
    locations,
)
from deepclust.data.checksums import REMOTE_FILES
from deepclust.errors import InputError, MissingPathError

FASHION_DIR = Path("/usr/share/datasets/fashion-mnist")


@pytest.fixture
def isolated(tmp_path, monkeypatch):
    """Empty cache, no $DEEPCLUST_DATA and an empty system folder."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("DEEPCLUST_DATA", raising=False)
    monkeypatch.setattr(locations, "SYSTEM_DIRS", [tmp_path / "system"])
    return tmp_path


# -- Dataset -------------------------------------------------------------------------------


def image_dataset():
    X = np.arange(2 * 2 * 3 * 3, dtype=np.float32).reshape(3, 12) / 36
    return Dataset(X=X, y=np.array([0, 1, 1]), shape=(2, 2, 3), class_names=["a", "b"],
                   source="mem", name="toy")


def test_dataset_properties_and_images():
    ds = image_dataset()
    assert ds.n_samples == 3 and ds.n_features == 12 and ds.is_image
    assert ds.y.dtype == np.int64
    imgs = ds.images()
    assert imgs.shape == (3, 2, 2, 3)
    assert imgs[1, 0, 1, 2] == ds.X[1, 5]  # H, W, C order: (0 * 2 + 1) * 3 + 2
    assert "n_samples=3" in repr(ds)


def test_dataset_subset():
    ds = image_dataset()
    sub = ds.subset([2, 0])
    np.testing.assert_array_equal(sub.X, ds.X[[2, 0]])
    assert sub.y.tolist() == [1, 0] and sub.shape == ds.shape and sub.class_names == ["a", "b"]
    assert ds.subset(np.array([True, False, True])).n_samples == 2
    assert ds.subset(1).X.shape == (1, 12)
    assert ds.subset(slice(0, 2)).y.tolist() == [0, 1]
    with pytest.raises(InputError, match="boolean mask must have 3 entries"):
        ds.subset(np.array([True, False]))


def test_dataset_defaults_and_validation():
    ds = Dataset(X=np.zeros((4, 5), dtype=np.float32))
    assert ds.shape == (5,) and ds.y is None and not ds.is_image
    with pytest.raises(InputError, match="not images"):
        ds.images()
    with pytest.raises(InputError, match=r"shape \(2, 2, 1\) does not match its 5 features"):
        Dataset(X=np.zeros((4, 5), dtype=np.float32), shape=(2, 2, 1))
    with pytest.raises(InputError, match="has 2 labels but the data has 4 samples"):
        Dataset(X=np.zeros((4, 5), dtype=np.float32), y=np.array([0, 1]))
    with pytest.raises(InputError, match="2-D array"):
        Dataset(X=np.zeros(5, dtype=np.float32))


# -- registry and dispatch -------------------------------------------------------------------


def test_list_and_describe_datasets():
    names = list_datasets()
    for name in ("digits", "mnist", "fashion-mnist", "usps", "cifar10", "stl10", "reuters10k"):
        assert name in names
        assert describe_dataset(name)
    assert names[0] == "digits"


def test_locate_dataset(isolated):
    assert locate_dataset("digits").startswith("bundled with scikit-learn")
    assert locate_dataset("FASHION_MNIST").startswith("not found; would download 4 files from")
    (isolated / "system" / "fashion-mnist").mkdir(parents=True)
    for remote in REMOTE_FILES["fashion-mnist"].values():
        (isolated / "system" / "fashion-mnist" / remote.filename).write_bytes(b"")
    assert locate_dataset("fashion-mnist") == str(isolated / "system" / "fashion-mnist")


def test_unknown_dataset_name_suggests_closest():
    with pytest.raises(InputError, match="Unknown dataset 'mnsit'. Did you mean 'mnist'"):
        load_dataset("mnsit")
    with pytest.raises(InputError, match="Valid names: .*fashion-mnist"):
        locate_dataset("nope")


def test_missing_path_is_one_sentence(tmp_path):
    with pytest.raises(MissingPathError) as info:
        load_dataset(str(tmp_path / "data.npz"))
    assert str(info.value) == f"The path {tmp_path / 'data.npz'} does not exist."


def test_bad_split():
    with pytest.raises(InputError, match="Unknown split 'val'"):
        load_dataset("digits", split="val")


def test_misplaced_arguments(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((2, 2)))
    with pytest.raises(InputError, match="labels= applies to your own files"):
        load_dataset("digits", labels="y")
    with pytest.raises(InputError, match="apply only to named datasets"):
        load_dataset(tmp_path / "x.npy", seed=3)
    with pytest.raises(InputError, match="path= applies only to named datasets"):
        load_dataset(tmp_path / "x.npy", path=tmp_path)
    with pytest.raises(InputError, match="takes no option 'seed'"):
        load_dataset("digits", seed=3)


# -- digits ----------------------------------------------------------------------------------


def test_digits():
    ds = load_dataset("digits")
    assert ds.X.shape == (1797, 64) and ds.X.dtype == np.float32 and ds.shape == (8, 8, 1)
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert ds.y.dtype == np.int64 and np.bincount(ds.y).sum() == 1797
    assert ds.class_names == [str(i) for i in range(10)] and ds.name == "digits"
    with pytest.raises(InputError, match="digits dataset has no 'train' split; use split='all'"):
        load_dataset("digits", split="train")


# -- real Fashion-MNIST (Debian package dataset-fashion-mnist) ---------------------------------


@pytest.mark.realdata
def test_real_fashion_mnist(monkeypatch, tmp_path):
    if not FASHION_DIR.is_dir():
        pytest.skip(f"{FASHION_DIR} is missing; install the Debian package dataset-fashion-mnist")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))  # never use a stray cached copy
    monkeypatch.delenv("DEEPCLUST_DATA", raising=False)
    ds = load_dataset("fashion-mnist")
    assert ds.source == str(FASHION_DIR)
    assert ds.X.shape == (70000, 784) and ds.X.dtype == np.float32 and ds.shape == (28, 28, 1)
    assert ds.X.min() == 0.0 and ds.X.max() == 1.0
    assert np.bincount(ds.y).tolist() == [7000] * 10
    assert ds.class_names[0] == "T-shirt/top"
    assert load_dataset("fashion-mnist", split="train").n_samples == 60000
    # The Debian files are recompressed, but their content is the official content.
    for remote in REMOTE_FILES["fashion-mnist"].values():
        content = gzip.decompress((FASHION_DIR / remote.filename).read_bytes())
        assert hashlib.sha256(content).hexdigest() == remote.raw_sha256
