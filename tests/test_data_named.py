"""Named datasets on tiny fake files: search order, downloads with checksums, parsers."""

from __future__ import annotations

import bz2
import gzip
import hashlib
import io
import struct
import tarfile
from types import SimpleNamespace

import numpy as np
import pytest

from deepclust.data import DownloadError, load_dataset, locate_dataset, locations
from deepclust.data import download as download_module
from deepclust.data.checksums import REMOTE_FILES, RemoteFile
from deepclust.errors import InputError, MissingPathError


@pytest.fixture(autouse=True)
def dirs(tmp_path, monkeypatch):
    """Point the cache, $DEEPCLUST_DATA and the system folder at empty temporary folders."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("DEEPCLUST_DATA", raising=False)
    monkeypatch.setattr(locations, "SYSTEM_DIRS", [tmp_path / "system"])
    return SimpleNamespace(
        cache=tmp_path / "xdg" / "deepclust",
        system=tmp_path / "system",
        env=tmp_path / "env",
        own=tmp_path / "own",
    )


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_mnist(folder, labels_train, labels_test=(7,), *, gz=True):
    """Write a fake MNIST folder whose labels identify it; returns the train images."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(len(labels_train))
    train = rng.integers(0, 256, size=(len(labels_train), 28, 28), dtype=np.uint8)
    test = rng.integers(0, 256, size=(len(labels_test), 28, 28), dtype=np.uint8)
    files = {
        "train-images-idx3-ubyte": idx_bytes(train),
        "train-labels-idx1-ubyte": idx_bytes(np.array(labels_train)),
        "t10k-images-idx3-ubyte": idx_bytes(test),
        "t10k-labels-idx1-ubyte": idx_bytes(np.array(labels_test)),
    }
    for name, data in files.items():
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(data))
        else:
            (folder / name).write_bytes(data)
    return train


# -- MNIST family and the search order -----------------------------------------------------


def test_mnist_family_parses_fake_files(dirs):
    train = write_mnist(dirs.system / "fashion-mnist", [0, 9, 3], [5, 1])
    ds = load_dataset("fashion-mnist")
    assert ds.X.shape == (5, 784) and ds.X.dtype == np.float32 and ds.shape == (28, 28, 1)
    np.testing.assert_array_equal(ds.y, [0, 9, 3, 5, 1])
    np.testing.assert_allclose(ds.X[:3], train.reshape(3, -1) / 255.0, rtol=1e-6)
    assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
    assert ds.source == str(dirs.system / "fashion-mnist") and ds.name == "fashion-mnist"
    assert load_dataset("fashion_mnist", split="test").n_samples == 2


def test_search_order(dirs, monkeypatch):
    write_mnist(dirs.system / "mnist", [4])
    assert load_dataset("mnist", split="train").y.tolist() == [4]
    write_mnist(dirs.cache / "mnist", [3], gz=False)
    assert load_dataset("mnist", split="train").y.tolist() == [3]
    write_mnist(dirs.env / "mnist", [2])
    monkeypatch.setenv("DEEPCLUST_DATA", str(dirs.env))
    assert load_dataset("mnist", split="train").y.tolist() == [2]
    write_mnist(dirs.own, [1])
    ds = load_dataset("mnist", split="train", path=dirs.own)
    assert ds.y.tolist() == [1] and ds.source == str(dirs.own)
    assert locate_dataset("mnist") == str(dirs.env / "mnist")


def test_incomplete_folder_is_skipped(dirs):
    write_mnist(dirs.system / "mnist", [4])
    (dirs.cache / "mnist").mkdir(parents=True)
    (dirs.cache / "mnist" / "train-images-idx3-ubyte.gz").write_bytes(b"")  # no labels
    assert load_dataset("mnist", split="train").y.tolist() == [4]


def test_explicit_missing_path(dirs):
    with pytest.raises(MissingPathError, match="does not exist"):
        load_dataset("mnist", path=dirs.own / "nowhere")


def test_not_found_without_download(dirs):
    with pytest.raises(InputError, match="were not found in .* and download=False"):
        load_dataset("mnist", download=False)


def test_locate_reports_download_url(dirs):
    text = locate_dataset("cifar10")
    assert text.startswith("not found; would download from https://www.cs.toronto.edu/")
    assert "not found; would download 4 files from https://" in locate_dataset("mnist")


# -- downloads ------------------------------------------------------------------------------


def serve_mnist_train(tmp_path, monkeypatch, *, corrupt_sha=False, bad_first_mirror=False):
    """Replace the MNIST train entries by file:// URLs of fake files; return the labels."""
    source = tmp_path / "server"
    write_mnist(source, [5, 6])
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        path = source / name
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        if corrupt_sha:
            digest = "0" * 64
        urls = (path.as_uri(),)
        if bad_first_mirror:
            urls = ((source / "missing" / name).as_uri(), *urls)
        monkeypatch.setitem(REMOTE_FILES["mnist"], name, RemoteFile(name, urls, digest))
    return [5, 6]


def test_download_verified_file_url(dirs, tmp_path, monkeypatch):
    labels = serve_mnist_train(tmp_path, monkeypatch)
    ds = load_dataset("mnist", split="train")
    assert ds.y.tolist() == labels and ds.source == str(dirs.cache / "mnist")
    assert sorted(p.name for p in (dirs.cache / "mnist").iterdir()) == [
        "train-images-idx3-ubyte.gz",
        "train-labels-idx1-ubyte.gz",
    ]


def test_download_bad_checksum_deletes_file(dirs, tmp_path, monkeypatch):
    serve_mnist_train(tmp_path, monkeypatch, corrupt_sha=True)
    with pytest.raises(InputError, match="has SHA-256 .* instead of the expected 0000.*deleted"):
        load_dataset("mnist", split="train")
    assert list((dirs.cache / "mnist").iterdir()) == []


def test_download_tries_next_mirror(dirs, tmp_path, monkeypatch):
    labels = serve_mnist_train(tmp_path, monkeypatch, bad_first_mirror=True)
    assert load_dataset("mnist", split="train").y.tolist() == labels


def test_download_into_explicit_path(dirs, tmp_path, monkeypatch):
    serve_mnist_train(tmp_path, monkeypatch)
    dirs.own.mkdir()
    load_dataset("mnist", split="train", path=dirs.own)
    assert (dirs.own / "train-images-idx3-ubyte.gz").is_file()


def test_download_with_fake_opener(dirs, monkeypatch):
    payload = b"hello deepclust"

    class Response(io.BytesIO):
        headers = {"Content-Length": str(len(payload))}

    seen = []

    def fake_urlopen(url, timeout=60):
        seen.append(url)
        return Response(payload)

    monkeypatch.setattr(download_module, "urlopen", fake_urlopen)
    remote = RemoteFile("f.bin", ("https://example.org/f.bin",),
                        hashlib.sha256(payload).hexdigest())
    out = download_module.download(remote, dirs.own / "f.bin", progress=False)
    assert out.read_bytes() == payload and seen == ["https://example.org/f.bin"]


def test_download_refused_when_checksum_unknown(dirs):
    with pytest.raises(DownloadError, match="SHA-256 checksum of usps.bz2 is not known") as info:
        load_dataset("usps")
    assert str(dirs.cache / "usps" / "usps.bz2") in str(info.value)
    assert "place the files in" in locate_dataset("usps")


def test_download_network_error(dirs, tmp_path, monkeypatch):
    name = "cifar-10-binary.tar.gz"
    url = (tmp_path / "absent.tar.gz").as_uri()
    monkeypatch.setitem(REMOTE_FILES["cifar10"], name, RemoteFile(name, (url,), "0" * 64))
    with pytest.raises(DownloadError, match="Could not download file://"):
        load_dataset("cifar10")


# -- CIFAR-10 ---------------------------------------------------------------------------------


def cifar_records(labels, seed):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, size=(len(labels), 32, 32, 3), dtype=np.uint8)  # HWC
    chw = images.transpose(0, 3, 1, 2).reshape(len(labels), -1)
    records = np.hstack([np.array(labels, dtype=np.uint8)[:, None], chw])
    return images, records.tobytes()


def write_cifar_tar(path, *, truncate=False):
    images, labels, members = [], [], {}
    for i, name in enumerate([f"data_batch_{k}.bin" for k in range(1, 6)] + ["test_batch.bin"]):
        batch_labels = [i % 10, (i + 3) % 10]
        imgs, data = cifar_records(batch_labels, seed=i)
        images.append(imgs)
        labels += batch_labels
        members[f"cifar-10-batches-bin/{name}"] = data[:-1] if truncate and i == 5 else data
    members["../evil.bin"] = b"x"  # never written anywhere
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return np.concatenate(images), labels


def test_cifar10_from_archive(dirs):
    (dirs.system / "cifar10").mkdir(parents=True)
    images, labels = write_cifar_tar(dirs.system / "cifar10" / "cifar-10-binary.tar.gz")
    ds = load_dataset("cifar10")
    assert ds.shape == (32, 32, 3) and ds.n_samples == 12
    np.testing.assert_allclose(ds.images(), images / 255.0, rtol=1e-6)
    assert ds.y.tolist() == labels and ds.class_names[:2] == ["airplane", "automobile"]
    assert load_dataset("cifar10", split="train").n_samples == 10
    test = load_dataset("cifar10", split="test")
    np.testing.assert_allclose(test.images(), images[10:] / 255.0, rtol=1e-6)
    assert not (dirs.system / "evil.bin").exists()
    assert not (dirs.system.parent / "evil.bin").exists()


def test_cifar10_from_extracted_folder(dirs):
    folder = dirs.own / "cifar-10-batches-bin"
    folder.mkdir(parents=True)
    _, data = cifar_records([1, 2, 3], seed=0)
    (folder / "test_batch.bin").write_bytes(data)
    assert load_dataset("cifar10", split="test", path=dirs.own).y.tolist() == [1, 2, 3]


def test_cifar10_truncated_batch(dirs):
    dirs.own.mkdir()
    write_cifar_tar(dirs.own / "c.tar.gz", truncate=True)
    with pytest.raises(InputError, match="test_batch.bin is truncated or corrupt"):
        load_dataset("cifar10", path=dirs.own / "c.tar.gz")


def test_cifar10_corrupt_archive(dirs):
    dirs.own.mkdir()
    (dirs.own / "cifar-10-binary.tar.gz").write_bytes(gzip.compress(b"not a tar")[:10])
    with pytest.raises(InputError, match="not a valid tar archive|truncated or corrupt"):
        load_dataset("cifar10", path=dirs.own)


# -- USPS ---------------------------------------------------------------------------------------


def libsvm_line(label, values):
    return f"{label} " + " ".join(f"{i}:{v}" for i, v in values) + "\n"


def write_usps(folder, *, test_text=None):
    folder.mkdir(parents=True, exist_ok=True)
    dense = [(i + 1, -1.0) for i in range(256)]
    dense[:4] = [(1, -1), (2, 0), (3, 1), (4, 0.5)]
    train = libsvm_line(1, dense) + libsvm_line(10, [(i + 1, 1) for i in range(256)])
    test = test_text if test_text is not None else libsvm_line(5, [(256, 1), (17, -1)])
    (folder / "usps.bz2").write_bytes(bz2.compress(train.encode()))
    (folder / "usps.t").write_text(test)  # a decompressed copy works too


def test_usps_parses_libsvm(dirs):
    write_usps(dirs.system / "usps")
    ds = load_dataset("usps")
    assert ds.shape == (16, 16, 1) and ds.n_samples == 3
    assert ds.y.tolist() == [0, 9, 4]
    np.testing.assert_allclose(ds.X[0, :5], [0, 0.5, 1, 0.75, 0])
    np.testing.assert_allclose(ds.X[1], 1.0)
    img = ds.images()[2, :, :, 0]  # sparse line: omitted indices are 0 -> 0.5
    assert img[15, 15] == 1.0 and img[1, 0] == 0.0 and img[0, 0] == 0.5
    assert load_dataset("usps", split="test").n_samples == 1


def test_usps_bad_line(dirs):
    write_usps(dirs.own, test_text="1 1:0\n11 1:0\n")
    with pytest.raises(InputError, match="Line 2 of usps.t is not valid USPS LIBSVM data"):
        load_dataset("usps", split="test", path=dirs.own)


def test_usps_corrupt_bz2(dirs):
    write_usps(dirs.own)
    (dirs.own / "usps.bz2").write_bytes(bz2.compress(b"1 1:0\n" * 100)[:30])
    with pytest.raises(InputError, match="usps.bz2 is not a valid compressed file or is truncated"):
        load_dataset("usps", split="train", path=dirs.own)


# -- REUTERS-10K ------------------------------------------------------------------------------

DOCS = {  # doc id -> (topics, text)
    101: (["CCAT", "C15"], "market shares profit profit"),
    102: (["CCAT", "GCAT"], "market vote"),  # two root topics: dropped
    103: (["GCAT", "GPOL"], "vote election vote"),
    104: (["E11"], "inflation"),  # no root topic: dropped
    105: (["MCAT"], "bonds market bonds yield"),
    106: (["ECAT"], "inflation rates"),
    107: (["GCAT"], "election party"),
    108: (["MCAT", "M14"], "yield bonds"),
}
EXPECTED = {101: 0, 103: 1, 105: 2, 106: 3, 107: 1, 108: 2}  # file order below


def write_reuters(folder):
    folder.mkdir(parents=True, exist_ok=True)
    parts = [[101, 102], [103], [104, 105], [106], [107, 108]]
    names = [f"lyrl2004_tokens_test_pt{i}.dat.gz" for i in range(4)]
    names.append("lyrl2004_tokens_train.dat.gz")
    for name, ids in zip(names, parts, strict=True):
        text = "".join(f".I {d}\n.W\n{DOCS[d][1]}\n\n" for d in ids)
        (folder / name).write_bytes(gzip.compress(text.encode()))
    qrels = "".join(f"{t} {d} 1\n" for d, (topics, _) in DOCS.items() for t in topics)
    (folder / "rcv1-v2.topics.qrels").write_text(qrels)


def test_reuters_construction(dirs):
    write_reuters(dirs.system / "reuters10k")
    ds = load_dataset("reuters10k", n_docs=6, n_words=5)
    labels_in_file_order = np.array(list(EXPECTED.values()))
    perm = np.random.RandomState(1234).permutation(6)
    np.testing.assert_array_equal(ds.y, labels_in_file_order[perm])
    assert ds.X.shape == (6, 5) and ds.X.dtype == np.float32
    assert ds.class_names == ["CCAT", "GCAT", "MCAT", "ECAT"]
    norms = np.linalg.norm(ds.X, axis=1)
    np.testing.assert_allclose(norms[norms > 0], np.sqrt(5), rtol=1e-5)
    assert (ds.X >= 0).all()


def test_reuters_random_subset_and_first_subset(dirs):
    write_reuters(dirs.own)
    labels_in_file_order = np.array(list(EXPECTED.values()))
    rand = load_dataset("reuters", path=dirs.own, n_docs=3, n_words=4, seed=7)
    np.testing.assert_array_equal(
        rand.y, labels_in_file_order[np.random.RandomState(7).permutation(6)[:3]]
    )
    first = load_dataset("reuters10k", path=dirs.own, n_docs=3, n_words=4, subset="first")
    np.testing.assert_array_equal(
        first.y, labels_in_file_order[:3][np.random.RandomState(1234).permutation(3)]
    )


def test_reuters_errors(dirs):
    write_reuters(dirs.own)
    with pytest.raises(InputError, match="Only 6 documents .* fewer than n_docs=10000"):
        load_dataset("reuters10k", path=dirs.own)
    with pytest.raises(InputError, match="has no 'train' split"):
        load_dataset("reuters10k", split="train", path=dirs.own)
    with pytest.raises(InputError, match="Unknown option of reuters10k 'n_doc'.*'n_docs'"):
        load_dataset("reuters10k", path=dirs.own, n_doc=5)


def test_reuters_corrupt_token_file(dirs):
    write_reuters(dirs.own)
    (dirs.own / "lyrl2004_tokens_test_pt1.dat.gz").write_bytes(gzip.compress(b"words\n.I 5\n"))
    with pytest.raises(InputError, match="line 1 comes before the first '.I' line"):
        load_dataset("reuters10k", path=dirs.own, n_docs=2)


# -- STL-10 -----------------------------------------------------------------------------------


def stl_bytes(images_hwc):
    return images_hwc.transpose(0, 3, 2, 1).tobytes()  # per image: channel, then column-major


def test_stl10_from_archive_extracts_to_cache(dirs):
    rng = np.random.default_rng(0)
    train = rng.integers(0, 256, size=(2, 96, 96, 3), dtype=np.uint8)
    test = rng.integers(0, 256, size=(1, 96, 96, 3), dtype=np.uint8)
    members = {
        "stl10_binary/train_X.bin": stl_bytes(train),
        "stl10_binary/train_y.bin": bytes([1, 10]),
        "stl10_binary/test_X.bin": stl_bytes(test),
        "stl10_binary/test_y.bin": bytes([3]),
    }
    (dirs.system / "stl10").mkdir(parents=True)
    with tarfile.open(dirs.system / "stl10" / "stl10_binary.tar.gz", "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    ds = load_dataset("stl10")
    assert ds.shape == (96, 96, 3) and ds.y.tolist() == [0, 9, 2]
    np.testing.assert_allclose(ds.images(), np.concatenate([train, test]) / 255.0, rtol=1e-6)
    assert (dirs.cache / "stl10" / "stl10_binary" / "test_X.bin").is_file()
    assert load_dataset("stl10", split="test").source == str(dirs.cache / "stl10" / "stl10_binary")


def test_stl10_label_count_mismatch(dirs):
    folder = dirs.own / "stl10_binary"
    folder.mkdir(parents=True)
    (folder / "test_X.bin").write_bytes(bytes(96 * 96 * 3 * 2))
    (folder / "test_y.bin").write_bytes(bytes([1]))
    with pytest.raises(InputError, match="holds 2 images but test_y.bin holds 1 labels"):
        load_dataset("stl10", split="test", path=dirs.own)


# -- tar members --------------------------------------------------------------------------------


def _tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, content in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def test_archive_members_by_base_name(tmp_path):
    from deepclust.data.sources.archive import extract_members, read_members

    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(_tar_gz({"d/x.bin": b"one", "../../y.bin": b"two", "d/z.bin": b"skip"}))
    assert read_members(archive, {"x.bin", "y.bin"}) == {"x.bin": b"one", "y.bin": b"two"}
    extract_members(archive, {"x.bin", "y.bin"}, tmp_path / "out")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["x.bin", "y.bin"]
    assert (tmp_path / "out" / "y.bin").read_bytes() == b"two" and not (tmp_path / "y.bin").exists()
    with pytest.raises(InputError, match=r"a.tar.gz does not contain w.bin\."):
        read_members(archive, {"x.bin", "w.bin"})


def test_archive_cut_inside_a_member(tmp_path):
    from deepclust.data.sources.archive import extract_members, read_members

    content = np.random.default_rng(0).bytes(200_000)  # incompressible: the cut lands inside it
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(_tar_gz({"x.bin": content})[:100_000])
    with pytest.raises(InputError, match="a.tar.gz is truncated or corrupt"):
        read_members(archive, {"x.bin"})
    with pytest.raises(InputError, match="a.tar.gz is truncated or corrupt"):
        extract_members(archive, {"x.bin"}, tmp_path / "out")
    assert not (tmp_path / "out" / "x.bin").exists()
