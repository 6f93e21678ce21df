"""User data: every supported file format, written here as tiny fixtures, and every error."""

from __future__ import annotations

import gzip
import struct
import sys

import numpy as np
import pytest
from PIL import Image

from deepclust.data import Dataset, load_dataset
from deepclust.data import arrays as arrays_module
from deepclust.data.idx import parse_idx
from deepclust.errors import InputError, MissingPathError

# -- helpers ------------------------------------------------------------------------------


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    """Encode ``array`` as an IDX file (big-endian header, uint8 payload by default)."""
    header = bytes([0, 0, type_code, array.ndim]) + b"".join(
        struct.pack(">I", d) for d in array.shape
    )
    dtype = {0x08: ">u1", 0x0D: ">f4"}[type_code]
    return header + array.astype(dtype).tobytes()


def write_idx(path, array, *, gz: bool, type_code: int = 0x08):
    data = idx_bytes(np.asarray(array), type_code)
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(data))
    else:
        path.write_bytes(data)
    return path


def make_images(n=4, h=3, w=2, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w), dtype=np.uint8)


def save_png(path, array, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array, mode=mode).save(path)
    return path


# -- .npy -----------------------------------------------------------------------------------


def test_npy_features(tmp_path):
    X = np.arange(12, dtype=np.float64).reshape(4, 3)
    np.save(tmp_path / "emb.npy", X)
    ds = load_dataset(tmp_path / "emb.npy")
    assert isinstance(ds, Dataset)
    assert ds.X.dtype == np.float32 and ds.X.shape == (4, 3)
    np.testing.assert_allclose(ds.X, X)
    assert ds.y is None and ds.shape == (3,) and not ds.is_image
    assert ds.name == "emb" and ds.source.endswith("emb.npy")


def test_npy_uint8_images_are_scaled_and_flattened_hwc(tmp_path):
    imgs = make_images(n=2, h=3, w=2)
    np.save(tmp_path / "imgs.npy", imgs)
    ds = load_dataset(str(tmp_path / "imgs.npy"))
    assert ds.shape == (3, 2, 1) and ds.is_image
    np.testing.assert_allclose(ds.X, imgs.reshape(2, -1) / 255.0, rtol=1e-6)
    np.testing.assert_allclose(ds.images()[..., 0], imgs / 255.0, rtol=1e-6)


def test_npy_channel_first_images_are_transposed(tmp_path):
    rgb = np.random.default_rng(1).integers(0, 256, size=(2, 4, 5, 3), dtype=np.uint8)
    np.save(tmp_path / "chw.npy", rgb.transpose(0, 3, 1, 2))
    ds = load_dataset(tmp_path / "chw.npy")
    assert ds.shape == (4, 5, 3)
    np.testing.assert_allclose(ds.images(), rgb / 255.0, rtol=1e-6)


def test_large_npy_is_memory_mapped_not_copied(tmp_path, monkeypatch):
    X = np.random.default_rng(0).random((50, 4)).astype(np.float32)
    np.save(tmp_path / "big.npy", X)
    monkeypatch.setattr(arrays_module, "MMAP_THRESHOLD", 10)
    ds = load_dataset(tmp_path / "big.npy")
    assert isinstance(ds.X, np.memmap)
    np.testing.assert_array_equal(np.asarray(ds.X), X)


def test_npy_with_labels_file(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 2)))
    np.save(tmp_path / "y.npy", np.array([2, 0, 2]))
    ds = load_dataset(tmp_path / "x.npy", labels=tmp_path / "y.npy")
    assert ds.y.dtype == np.int64
    np.testing.assert_array_equal(ds.y, [2, 0, 2])


def test_labels_csv_file_with_names(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 2)))
    (tmp_path / "y.csv").write_text("label\ncat\ndog\ncat\n")
    ds = load_dataset(tmp_path / "x.npy", labels=str(tmp_path / "y.csv"))
    np.testing.assert_array_equal(ds.y, [0, 1, 0])
    assert ds.class_names == ["cat", "dog"]


def test_labels_csv_without_header(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((3, 2)))
    np.savetxt(tmp_path / "y.csv", [1, 5, 1], fmt="%d")
    ds = load_dataset(tmp_path / "x.npy", labels=tmp_path / "y.csv")
    np.testing.assert_array_equal(ds.y, [1, 5, 1])


def test_labels_too_large_for_a_class_number(tmp_path):
    """Whole numbers beyond 2**53 would not survive the int64 cast: a text file's become names,
    an array's raise a clear error (no silent wrap-around)."""
    np.save(tmp_path / "x.npy", np.ones((3, 2)))
    (tmp_path / "y.txt").write_text("1e300\n7\n1e300\n")
    ds = load_dataset(tmp_path / "x.npy", labels=tmp_path / "y.txt")
    np.testing.assert_array_equal(ds.y, [0, 1, 0])
    assert ds.class_names == ["1e300", "7"]
    np.save(tmp_path / "y.npy", np.array([1e300, 7.0, 2.0**53]))
    with pytest.raises(InputError, match=r"too large for a class number \(1e\+300\)"):
        load_dataset(tmp_path / "x.npy", labels=tmp_path / "y.npy")
    np.save(tmp_path / "y.npy", np.array([2**63, 1, 2], dtype=np.uint64))
    with pytest.raises(InputError, match=r"too large for a class number \(9223372036854775808\)"):
        load_dataset(tmp_path / "x.npy", labels=tmp_path / "y.npy")
    np.save(tmp_path / "y.npy", np.array([2.0**53, 1.0, 2.0]))
    assert load_dataset(tmp_path / "x.npy", labels=tmp_path / "y.npy").y.tolist() == [2**53, 1, 2]


# -- .npz -----------------------------------------------------------------------------------


def test_npz_with_features_and_labels(tmp_path):
    np.savez(tmp_path / "d.npz", embeddings=np.eye(3), targets=np.array([0, 1, 1]))
    ds = load_dataset(tmp_path / "d.npz")
    assert ds.X.shape == (3, 3)
    np.testing.assert_array_equal(ds.y, [0, 1, 1])


def test_npz_named_label_key_and_text_labels(tmp_path):
    np.savez(tmp_path / "d.npz", X=np.zeros((2, 2)), species=np.array(["b", "a"]))
    ds = load_dataset(tmp_path / "d.npz", labels="species")
    np.testing.assert_array_equal(ds.y, [1, 0])
    assert ds.class_names == ["a", "b"]


def test_npz_without_features_key(tmp_path):
    np.savez(tmp_path / "d.npz", weird=np.zeros((2, 2)))
    with pytest.raises(InputError, match="has no features array.*weird"):
        load_dataset(tmp_path / "d.npz")


# -- .csv / .tsv / .parquet -----------------------------------------------------------------


def test_csv_with_label_column(tmp_path):
    (tmp_path / "t.csv").write_text("a,b,kind\n1,2.5,x\n3,4,y\n5,6,x\n")
    ds = load_dataset(tmp_path / "t.csv", labels="kind")
    np.testing.assert_allclose(ds.X, [[1, 2.5], [3, 4], [5, 6]])
    np.testing.assert_array_equal(ds.y, [0, 1, 0])
    assert ds.class_names == ["x", "y"] and ds.shape == (2,)


def test_csv_without_labels(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3,4\n")
    ds = load_dataset(tmp_path / "t.csv")
    assert ds.y is None and ds.X.shape == (2, 2)


def test_tsv_with_integer_labels(tmp_path):
    (tmp_path / "t.tsv").write_text("f1\tf2\ty\n0.5\t1\t3\n0.25\t2\t7\n")
    ds = load_dataset(tmp_path / "t.tsv", labels="y")
    np.testing.assert_allclose(ds.X, [[0.5, 1], [0.25, 2]])
    np.testing.assert_array_equal(ds.y, [3, 7])
    assert ds.class_names is None


def test_csv_non_numeric_column_names_column(tmp_path):
    (tmp_path / "t.csv").write_text("a,colour\n1,red\n2,blue\n")
    with pytest.raises(InputError, match=r"Column 'colour'.*not numeric.*labels='colour'"):
        load_dataset(tmp_path / "t.csv")


def test_csv_unknown_label_column(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match="has no column 'c'"):
        load_dataset(tmp_path / "t.csv", labels="c")


def test_csv_missing_cell(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3,\n")
    with pytest.raises(InputError, match="missing value on line 3"):
        load_dataset(tmp_path / "t.csv")


def test_csv_nan_value(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3,nan\n")
    with pytest.raises(InputError, match="NaN or infinite"):
        load_dataset(tmp_path / "t.csv")


def test_csv_ragged_row(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n1,2\n3,4,5\n")
    with pytest.raises(InputError, match="Line 3 .* 3 fields but the header has 2"):
        load_dataset(tmp_path / "t.csv")


def test_csv_header_only_has_zero_samples(tmp_path):
    (tmp_path / "t.csv").write_text("a,b\n")
    with pytest.raises(InputError, match="0 samples"):
        load_dataset(tmp_path / "t.csv")


def test_parquet_with_label_column(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    table = pa.table({"x1": [1.0, 2.0, 3.0], "x2": [4, 5, 6], "who": ["b", "a", "b"]})
    pq.write_table(table, tmp_path / "t.parquet")
    ds = load_dataset(tmp_path / "t.parquet", labels="who")
    np.testing.assert_allclose(ds.X, [[1, 4], [2, 5], [3, 6]])
    np.testing.assert_array_equal(ds.y, [1, 0, 1])
    assert ds.class_names == ["a", "b"]


def test_parquet_non_numeric_column(tmp_path):
    pa = pytest.importorskip("pyarrow")
    pq = pytest.importorskip("pyarrow.parquet")
    pq.write_table(pa.table({"x": [1.0], "tag": ["a"]}), tmp_path / "t.parquet")
    with pytest.raises(InputError, match=r"Column 'tag'.*labels='tag'"):
        load_dataset(tmp_path / "t.parquet")


def test_parquet_without_pyarrow(tmp_path, monkeypatch):
    (tmp_path / "t.parquet").write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(InputError, match="needs pyarrow"):
        load_dataset(tmp_path / "t.parquet")


# -- IDX --------------------------------------------------------------------------------------


@pytest.mark.parametrize("gz", [True, False])
def test_idx_file_with_sibling_labels(tmp_path, gz):
    imgs = make_images(n=5, h=4, w=3)
    images = write_idx(tmp_path / "foo-images-idx3-ubyte", imgs, gz=gz)
    write_idx(tmp_path / "foo-labels-idx1-ubyte", np.array([1, 0, 9, 9, 2]), gz=gz)
    ds = load_dataset(images)
    assert ds.shape == (4, 3, 1) and ds.X.dtype == np.float32
    np.testing.assert_allclose(ds.X, imgs.reshape(5, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.y, [1, 0, 9, 9, 2])
    assert ds.name == "foo-images"


def test_idx_file_without_labels(tmp_path):
    images = write_idx(tmp_path / "a-images-idx3-ubyte", make_images(), gz=False)
    assert load_dataset(images).y is None


def test_idx_float_features(tmp_path):
    X = np.array([[0.5, 1.5], [2.0, -1.0]], dtype=np.float32)
    path = write_idx(tmp_path / "feat-idx2-ubyte", X, gz=False, type_code=0x0D)
    np.testing.assert_array_equal(load_dataset(path).X, X)


def test_mnist_style_folder_with_splits(tmp_path):
    train, test = make_images(n=3, seed=1), make_images(n=2, seed=2)
    write_idx(tmp_path / "train-images-idx3-ubyte", train, gz=True)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([0, 1, 2]), gz=True)
    write_idx(tmp_path / "t10k-images-idx3-ubyte", test, gz=False)
    write_idx(tmp_path / "t10k-labels-idx1-ubyte", np.array([3, 4]), gz=False)
    ds = load_dataset(tmp_path)
    assert ds.n_samples == 5 and ds.shape == (3, 2, 1)
    np.testing.assert_array_equal(ds.y, [0, 1, 2, 3, 4])
    np.testing.assert_allclose(ds.X[3:], test.reshape(2, -1) / 255.0, rtol=1e-6)
    assert load_dataset(tmp_path, split="train").n_samples == 3
    np.testing.assert_array_equal(load_dataset(tmp_path, split="test").y, [3, 4])


def test_idx_truncated_payload(tmp_path):
    data = idx_bytes(make_images(n=4))[:-5]
    (tmp_path / "x-images-idx3-ubyte").write_bytes(data)
    with pytest.raises(InputError, match="truncated.*declares shape"):
        load_dataset(tmp_path / "x-images-idx3-ubyte")


def test_idx_trailing_bytes(tmp_path):
    (tmp_path / "x-images-idx3-ubyte").write_bytes(idx_bytes(make_images()) + b"\x00")
    with pytest.raises(InputError, match="trailing bytes"):
        load_dataset(tmp_path / "x-images-idx3-ubyte")


def test_idx_bad_magic(tmp_path):
    (tmp_path / "x-images-idx3-ubyte").write_bytes(b"\x12\x34\x56\x78" + bytes(20))
    with pytest.raises(InputError, match="not an IDX file.*0x12345678"):
        load_dataset(tmp_path / "x-images-idx3-ubyte")


def test_idx_wrong_magic_for_mnist_images(tmp_path):
    write_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((2, 2), np.uint8), gz=False)
    write_idx(tmp_path / "train-labels-idx1-ubyte", np.array([0, 1]), gz=False)
    with pytest.raises(InputError, match="wrong IDX magic number 0x00000802; expected 0x00000803"):
        load_dataset(tmp_path)


def test_idx_label_count_mismatch(tmp_path):
    images = write_idx(tmp_path / "q-images-idx3-ubyte", make_images(n=4), gz=False)
    write_idx(tmp_path / "q-labels-idx1-ubyte", np.array([0, 1, 2]), gz=False)
    with pytest.raises(InputError, match="holds 4 images but q-labels-idx1-ubyte holds 3 labels"):
        load_dataset(images)


def test_idx_corrupt_gzip(tmp_path):
    good = gzip.compress(idx_bytes(make_images()))
    (tmp_path / "z-images-idx3-ubyte.gz").write_bytes(good[: len(good) // 2])
    with pytest.raises(InputError, match="not a valid gzip file or is truncated"):
        load_dataset(tmp_path / "z-images-idx3-ubyte.gz")


def test_parse_idx_short_header():
    with pytest.raises(InputError, match="header needs 16 bytes"):
        parse_idx(bytes([0, 0, 8, 3, 0, 0]), "x")


# -- image folders ----------------------------------------------------------------------------


def test_image_folder_with_class_subfolders(tmp_path):
    gray = np.random.default_rng(0).integers(0, 256, size=(3, 5, 4), dtype=np.uint8)
    save_png(tmp_path / "imgs" / "dogs" / "a.png", gray[0])
    save_png(tmp_path / "imgs" / "cats" / "b.png", gray[1])
    save_png(tmp_path / "imgs" / "cats" / "c.bmp", gray[2])
    (tmp_path / "imgs" / "notes.txt").write_text("ignored")
    ds = load_dataset(tmp_path / "imgs")
    assert ds.shape == (5, 4, 1) and ds.n_samples == 3
    assert ds.class_names == ["cats", "dogs"]
    np.testing.assert_array_equal(ds.y, [0, 0, 1])  # cats/b.png, cats/c.bmp, dogs/a.png
    np.testing.assert_allclose(ds.images()[2, :, :, 0], gray[0] / 255.0, rtol=1e-6)


def test_image_folder_rgb_without_labels(tmp_path):
    rgb = np.random.default_rng(3).integers(0, 256, size=(2, 3, 2, 3), dtype=np.uint8)
    save_png(tmp_path / "x" / "top.png", rgb[0])
    save_png(tmp_path / "x" / "deep" / "er" / "low.png", rgb[1])
    ds = load_dataset(tmp_path / "x")
    assert ds.y is None and ds.class_names is None and ds.shape == (3, 2, 3)
    np.testing.assert_allclose(ds.images(), rgb[::-1] / 255.0, rtol=1e-6)  # sorted paths


def test_image_folder_rgba_and_palette_become_rgb(tmp_path):
    rgba = np.full((2, 2, 4), 200, dtype=np.uint8)
    save_png(tmp_path / "x" / "a.png", rgba)
    Image.fromarray(np.zeros((2, 2, 3), np.uint8)).convert("P").save(tmp_path / "x" / "b.gif")
    ds = load_dataset(tmp_path / "x")
    assert ds.shape == (2, 2, 3)
    np.testing.assert_allclose(ds.X[0], 200 / 255.0, rtol=1e-6)


def test_image_folder_empty(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="No images found"):
        load_dataset(tmp_path / "empty")


def test_image_folder_sizes_differ_names_both_files(tmp_path):
    save_png(tmp_path / "x" / "a.png", np.zeros((4, 4), np.uint8))
    save_png(tmp_path / "x" / "b.png", np.zeros((5, 4), np.uint8))
    with pytest.raises(InputError, match=r"a\.png is 4x4 grayscale and b\.png is 4x5 grayscale"):
        load_dataset(tmp_path / "x")


def test_image_folder_modes_differ(tmp_path):
    save_png(tmp_path / "x" / "a.png", np.zeros((4, 4), np.uint8))
    save_png(tmp_path / "x" / "b.png", np.zeros((4, 4, 3), np.uint8))
    with pytest.raises(InputError, match="same size and colour mode.*RGB"):
        load_dataset(tmp_path / "x")


def test_image_folder_unreadable_file(tmp_path):
    save_png(tmp_path / "x" / "a.png", np.zeros((4, 4), np.uint8))
    (tmp_path / "x" / "broken.jpg").write_bytes(b"this is not an image")
    with pytest.raises(InputError, match=r"Could not read the image .*broken\.jpg"):
        load_dataset(tmp_path / "x")


def test_image_folder_truncated_file(tmp_path):
    path = save_png(tmp_path / "x" / "a.png", np.random.default_rng(0).integers(
        0, 256, size=(64, 64), dtype=np.uint8))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"Could not read the image .*a\.png"):
        load_dataset(tmp_path / "x")


# -- general errors ---------------------------------------------------------------------------


def test_missing_path(tmp_path):
    with pytest.raises(MissingPathError, match="does not exist"):
        load_dataset(tmp_path / "nope.npy")
    with pytest.raises(MissingPathError, match="does not exist"):
        load_dataset("some/where/data.csv")


def test_nan_and_inf_values(tmp_path):
    X = np.ones((3, 2))
    X[1, 1] = np.inf
    np.save(tmp_path / "x.npy", X)
    with pytest.raises(InputError, match=r"NaN or infinite values \(first at row 1, column 1\)"):
        load_dataset(tmp_path / "x.npy")


def test_one_dimensional_array(tmp_path):
    np.save(tmp_path / "x.npy", np.arange(5.0))
    with pytest.raises(InputError, match="must be a 2-D array"):
        load_dataset(tmp_path / "x.npy")


def test_zero_sample_array(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((0, 3)))
    with pytest.raises(InputError, match="0 samples"):
        load_dataset(tmp_path / "x.npy")


def test_label_count_mismatch(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((4, 2)))
    np.save(tmp_path / "y.npy", np.array([0, 1, 0]))
    with pytest.raises(InputError, match="has 3 labels but the data has 4 samples"):
        load_dataset(tmp_path / "x.npy", labels=tmp_path / "y.npy")


def test_npz_label_count_mismatch(tmp_path):
    np.savez(tmp_path / "d.npz", x=np.ones((4, 2)), y=np.array([0, 1]))
    with pytest.raises(InputError, match="has 2 labels but the data has 4 samples"):
        load_dataset(tmp_path / "d.npz")


def test_corrupt_npy(tmp_path):
    (tmp_path / "x.npy").write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(InputError, match=r"x\.npy could not be read as a \.npy file"):
        load_dataset(tmp_path / "x.npy")


def test_column_labels_for_array_file_are_refused(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((2, 2)))
    with pytest.raises(InputError, match="names a column"):
        load_dataset(tmp_path / "x.npy", labels="y")


def test_split_for_plain_file_is_refused(tmp_path):
    np.save(tmp_path / "x.npy", np.ones((2, 2)))
    with pytest.raises(InputError, match="split='train' applies only"):
        load_dataset(tmp_path / "x.npy", split="train")


def test_unsupported_suffix(tmp_path):
    (tmp_path / "x.xlsx").write_bytes(b"")
    with pytest.raises(InputError, match="Cannot tell how to read x.xlsx"):
        load_dataset(tmp_path / "x.xlsx")
