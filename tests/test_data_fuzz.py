"""Property-based tests (hypothesis) for the loaders: valid files damaged at random —
truncated, bytes overwritten, garbage inserted — and files whose labels do not fit.

Each load either returns a well-formed :class:`Dataset` (damage that leaves a valid file,
e.g. a changed pixel) or raises :class:`InputError` with one sentence; nothing else escapes.
Examples are derandomised so the suite is deterministic.
"""

from __future__ import annotations

import gzip
import io
import struct
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from deepclust.data import Dataset, load_dataset
from deepclust.errors import InputError

SETTINGS = settings(max_examples=200, derandomize=True, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])
IMAGES = np.arange(4 * 5 * 3, dtype=np.uint8).reshape(4, 5, 3) * 4


def _idx(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def _npy() -> bytes:
    buf = io.BytesIO()
    np.save(buf, IMAGES.astype(np.float32) / 255)
    return buf.getvalue()


def _npz() -> bytes:
    buf = io.BytesIO()
    np.savez(buf, x=IMAGES.reshape(4, -1), y=np.array([0, 1, 1, 0]))
    return buf.getvalue()


def _png() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(IMAGES[0]).save(buf, format="PNG")
    return buf.getvalue()


# file name -> valid content; every one of these loads cleanly before it is damaged
VALID = {
    "data.npy": _npy(),
    "data.npz": _npz(),
    "table.csv": b"a,b,label\n0.5,1.0,cat\n0.25,2.0,dog\n1.0,3.5,cat\n",
    "table.tsv": b"a\tb\n1\t2\n3\t4\n",
    "train-images-idx3-ubyte": _idx(IMAGES),
    "train-images-idx3-ubyte.gz": gzip.compress(_idx(IMAGES), mtime=0),
    "folder/a.png": _png(),
}
OPTIONS = {"table.csv": {"labels": "label"}}

damage = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1, exclude_max=True)),
    st.tuples(st.just("overwrite"), st.floats(0, 1, exclude_max=True), st.binary(min_size=1, max_size=8)),
    st.tuples(st.just("insert"), st.floats(0, 1), st.binary(min_size=1, max_size=8)),
)


def apply(data: bytes, how) -> bytes:
    kind, where = how[0], int(how[1] * len(data))
    if kind == "truncate":
        return data[:where]
    if kind == "overwrite":
        return data[:where] + how[2] + data[where + len(how[2]):]
    return data[:where] + how[2] + data[where:]


def load_or_input_error(path: Path, **kwargs) -> Dataset | None:
    """Load ``path``; return the Dataset, or None after an InputError. Anything else fails the test."""
    try:
        ds = load_dataset(path, **kwargs)
    except InputError as exc:
        message = str(exc)
        assert message and "\n" not in message and "Traceback" not in message
        return None
    assert ds.X.ndim == 2 and ds.X.shape[0] >= 1 and ds.X.dtype == np.float32
    assert np.isfinite(np.asarray(ds.X)).all()
    assert ds.y is None or ds.y.shape == (ds.X.shape[0],)
    return ds


def test_every_valid_fixture_loads():
    with tempfile.TemporaryDirectory() as tmp:
        for name, data in VALID.items():
            path = Path(tmp) / name
            path.parent.mkdir(exist_ok=True)
            path.write_bytes(data)
            target = path.parent if name.startswith("folder/") else path
            assert load_or_input_error(target, **OPTIONS.get(name, {})) is not None, name


@SETTINGS
@given(name=st.sampled_from(sorted(VALID)), how=damage)
def test_damaged_files_give_a_dataset_or_a_clear_error(name, how):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(apply(VALID[name], how))
        load_or_input_error(path.parent if name.startswith("folder/") else path, **OPTIONS.get(name, {}))


@SETTINGS
@given(data=st.binary(max_size=64), suffix=st.sampled_from([".npy", ".npz", ".csv", ".tsv", ".parquet",
                                                            "-idx3-ubyte", "-idx1-ubyte.gz"]))
def test_random_bytes_never_crash(data, suffix):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"random{suffix}"
        path.write_bytes(data)
        assert load_or_input_error(path) is None or len(data) > 0


label_values = st.lists(
    st.one_of(st.integers(-3, 3), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3)),
    min_size=0, max_size=8,
)


@SETTINGS
@given(values=label_values, suffix=st.sampled_from([".csv", ".txt", ".npy"]))
def test_label_files_that_do_not_fit_are_refused(values, suffix):
    """Four samples with a label file of any length and content: right length and clean
    values give int64 labels, anything else a clear error."""
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "x.npy"
        np.save(data, np.ones((4, 2), dtype=np.float32))
        labels = Path(tmp) / f"labels{suffix}"
        if suffix == ".npy":
            np.save(labels, np.array([str(v) for v in values]) if values else np.array([]))
        else:
            labels.write_text("".join(f"{str(v).replace(chr(10), ' ')}\n" for v in values))
        ds = load_or_input_error(data, labels=labels)
        if ds is not None:
            assert ds.y.dtype == np.int64 and len(ds.y) == 4


@SETTINGS
@given(n_labels=st.integers(0, 8), key=st.sampled_from(["y", "labels", "targets"]))
def test_npz_label_count_must_match(n_labels, key):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "d.npz"
        np.savez(path, x=np.ones((4, 3)), **{key: np.arange(n_labels)})
        ds = load_or_input_error(path)
        assert (ds is not None) == (n_labels == 4)
