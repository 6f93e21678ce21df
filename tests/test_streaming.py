"""Data kept on disk: large .npy files become memory maps or LazyMatrix views, and every
method fits, predicts and transforms them without loading the file whole."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from deepclust.data import arrays as arrays_module
from deepclust.data import lazy as lazy_module
from deepclust.data import load_dataset
from deepclust.data.lazy import LazyImages, LazyMatrix, iter_row_chunks, map_row_chunks
from deepclust.errors import InputError
from deepclust.registry import make_estimator
from deepclust.training.device import StreamedRows, as_tensor
from deepclust.validation import check_features


@pytest.fixture
def small_threshold(monkeypatch):
    """Treat every .npy file as larger than memory, and stream in chunks of 50 rows."""
    monkeypatch.setattr(arrays_module, "MMAP_THRESHOLD", 0)
    monkeypatch.setattr(lazy_module, "CHUNK_ROWS", 50)


def uint8_digits(tmp_path, n=300):
    from sklearn.datasets import load_digits

    X = (load_digits().data[:n] * (255 / 16)).round().astype(np.uint8).reshape(n, 8, 8)
    np.save(tmp_path / "digits_u8.npy", X)
    return tmp_path / "digits_u8.npy", X


def test_uint8_npy_over_threshold_is_a_lazy_scaled_view(tmp_path, small_threshold, monkeypatch):
    path, raw = uint8_digits(tmp_path)
    ds = load_dataset(path)
    assert isinstance(ds.X, LazyMatrix)
    assert ds.X.shape == (300, 64) and ds.shape == (8, 8, 1) and ds.X.dtype == np.float32
    expected = raw.reshape(300, 64).astype(np.float32) / np.float32(255)
    np.testing.assert_array_equal(ds.X[10:20], expected[10:20])
    np.testing.assert_array_equal(ds.X[[5, 1, 299]], expected[[5, 1, 299]])
    # bit-identical to what the in-memory loader gives for the same file
    monkeypatch.setattr(arrays_module, "MMAP_THRESHOLD", 1 << 40)
    in_memory = load_dataset(path).X
    assert type(in_memory) is np.ndarray
    np.testing.assert_array_equal(np.asarray(ds.X), in_memory)
    images = ds.images()
    assert isinstance(images, LazyImages) and images.shape == (300, 8, 8, 1)
    np.testing.assert_array_equal(images[7], expected[7].reshape(8, 8, 1))


def test_small_uint8_npy_is_read_into_memory(tmp_path):
    path, raw = uint8_digits(tmp_path, n=20)
    ds = load_dataset(path)
    assert type(ds.X) is np.ndarray and ds.X.dtype == np.float32
    assert ds.X.max() == pytest.approx(raw.max() / 255)


def test_chunked_mapping_matches_whole(small_threshold):
    X = LazyMatrix(np.arange(1200, dtype=np.uint8).reshape(120, 10), divisor=2.0)
    chunks = list(iter_row_chunks(X, 50))
    assert [len(c) for c in chunks] == [50, 50, 20]
    seen = []
    out = map_row_chunks(lambda a: seen.append(len(a)) or a.sum(axis=1), X)
    assert seen == [50, 50, 20]  # the module's CHUNK_ROWS, read at call time
    np.testing.assert_allclose(out, np.asarray(X).sum(axis=1))
    dense = np.ones((120, 2), dtype=np.float32)
    seen.clear()
    map_row_chunks(lambda a: seen.append(len(a)) or a, dense)
    assert seen == [120]  # in-memory data is passed whole


def test_check_features_keeps_lazy_and_converts_integer_memmaps(tmp_path):
    np.save(tmp_path / "i.npy", np.arange(12, dtype=np.int16).reshape(4, 3))
    mm = np.load(tmp_path / "i.npy", mmap_mode="r")
    out = check_features(mm)
    assert isinstance(out, LazyMatrix)
    np.testing.assert_array_equal(out[:], np.arange(12, dtype=np.float32).reshape(4, 3))
    np.save(tmp_path / "f.npy", np.array([[1.0, np.nan]], dtype=np.float64))
    with pytest.raises(InputError, match="NaN or infinite values"):
        check_features(np.load(tmp_path / "f.npy", mmap_mode="r"))


def test_streamed_rows_read_only_what_is_indexed():
    raw = np.arange(40, dtype=np.uint8).reshape(8, 5)
    rows = as_tensor(LazyMatrix(raw, divisor=0.5), torch.device("cpu"))
    assert isinstance(rows, StreamedRows) and rows.shape == (8, 5) and len(rows) == 8
    got = rows[torch.tensor([3, 0])]
    assert got.dtype == torch.float32
    np.testing.assert_array_equal(got.numpy(), raw[[3, 0]] * 2.0)
    np.testing.assert_array_equal(rows[2:4].numpy(), raw[2:4] * 2.0)


def test_classic_method_on_lazy_input_matches_in_memory(tmp_path, small_threshold):
    path, _ = uint8_digits(tmp_path)
    lazy = load_dataset(path).X
    dense = np.asarray(lazy)
    a = make_estimator("kmeans", n_clusters=10, random_state=0).fit(lazy)
    b = make_estimator("kmeans", n_clusters=10, random_state=0).fit(dense)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    np.testing.assert_array_equal(a.predict(lazy), b.predict(dense))


@pytest.mark.filterwarnings("ignore::deepclust.errors.CollapseWarning")
@pytest.mark.parametrize("method", ["idec", "ae+kmeans"])
def test_deep_method_streams_and_matches_in_memory(tmp_path, small_threshold, method):
    """Same seed, same data: training from disk gives the labels of training from memory."""
    path, _ = uint8_digits(tmp_path)
    lazy = load_dataset(path).X
    dense = np.asarray(lazy)
    params = dict(n_clusters=10, random_state=0)
    if method == "idec":
        params.update(pretrain_epochs=2, maxiter=60, update_interval=20, verbose=False, hidden_dims=(32, 32))
    else:
        params.update(reducer_params={"pretrain_epochs": 2, "verbose": False, "hidden_dims": (32, 32)})
    a = make_estimator(method, **params).fit(lazy)
    b = make_estimator(method, **params).fit(dense)
    np.testing.assert_array_equal(a.labels_, b.labels_)
    pa, pb = a.predict(lazy), b.predict(dense)
    np.testing.assert_array_equal(pa, pb)
    np.testing.assert_allclose(a.transform(lazy), b.transform(dense), rtol=1e-5, atol=1e-6)
    if method == "idec":
        np.testing.assert_allclose(a.predict_proba(lazy), b.predict_proba(dense), rtol=1e-5, atol=1e-6)


def test_release_rows_keeps_values_readable(tmp_path):
    """Releasing mapped pages only drops them from memory: the rows read back unchanged."""
    data = np.arange(20000 * 64, dtype=np.uint32).reshape(20000, 64) % 251
    np.save(tmp_path / "r.npy", data.astype(np.uint8))
    mm = np.load(tmp_path / "r.npy", mmap_mode="r")
    lazy = LazyMatrix(mm.reshape(20000, -1))
    chunks = list(iter_row_chunks(lazy, 3000))  # releases after each block
    np.testing.assert_array_equal(np.concatenate(chunks), data.astype(np.float32))
    np.testing.assert_array_equal(lazy[100:103], data[100:103].astype(np.float32))
    lazy_module.release_rows(np.ones((3, 3)), 0, 3)  # in-memory arrays: nothing to do


def _rss_file_kib() -> int | None:
    try:
        status = open("/proc/self/status").read()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("RssFile:"):
            return int(line.split()[1])
    return None


def test_streaming_a_mapped_file_does_not_keep_it_resident(tmp_path):
    """Reading a 48 MB memory map in blocks leaves far less than 48 MB of it resident."""
    if _rss_file_kib() is None:
        pytest.skip("needs /proc/self/status (Linux)")
    np.save(tmp_path / "big.npy", np.full((60000, 800), 7, dtype=np.uint8))
    lazy = LazyMatrix(np.load(tmp_path / "big.npy", mmap_mode="r"), divisor=1.0)
    before = _rss_file_kib()
    total = sum(float(block.sum()) for block in iter_row_chunks(lazy, 5000))
    grown_mib = (_rss_file_kib() - before) / 1024
    assert total == 7 * 60000 * 800
    assert grown_mib < 12, f"{grown_mib:.1f} MiB of the 46 MiB file stayed resident"
