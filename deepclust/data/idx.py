"""IDX files (the MNIST format) and folders holding the four MNIST-style files.

An IDX file starts with a 4-byte magic number ``0x0000TTDD`` (``TT`` the element type,
``DD`` the number of dimensions), then one big-endian uint32 per dimension, then exactly
``prod(dims) * itemsize`` bytes of data. Images are ``0x00000803`` (uint8, n x rows x
cols) and labels ``0x00000801`` (uint8, n). Files may be gzip-compressed or plain.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..validation import check_features
from .compressed import read_bytes
from .dataset import Dataset

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801

# type code -> (numpy dtype, description)
IDX_TYPES = {
    0x08: (np.dtype(np.uint8), "unsigned byte"),
    0x09: (np.dtype(np.int8), "signed byte"),
    0x0B: (np.dtype(">i2"), "short"),
    0x0C: (np.dtype(">i4"), "int"),
    0x0D: (np.dtype(">f4"), "float"),
    0x0E: (np.dtype(">f8"), "double"),
}

# The four files of an MNIST-style folder, per split (images, labels).
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}

IDX_NAME = re.compile(r"[.-]idx\d+-ubyte(\.gz)?$", re.IGNORECASE)


def is_idx_name(path: str | Path) -> bool:
    """True when the file name looks like an IDX file (``*-idx3-ubyte[.gz]`` etc.)."""
    return bool(IDX_NAME.search(Path(path).name))


def parse_idx(data: bytes, name: str, expect_magic: int | None = None) -> np.ndarray:
    """Parse the bytes of an IDX file into an array of its declared type and shape."""
    if len(data) < 4:
        raise InputError(f"{name} is not an IDX file: it is only {len(data)} bytes long.")
    magic = int.from_bytes(data[:4], "big")
    type_code, ndim = data[2], data[3]
    if expect_magic is not None and magic != expect_magic:
        raise InputError(
            f"{name} has the wrong IDX magic number 0x{magic:08X}; expected "
            f"0x{expect_magic:08X} ({_describe_magic(expect_magic)})."
        )
    if data[0] != 0 or data[1] != 0 or type_code not in IDX_TYPES or ndim == 0:
        raise InputError(
            f"{name} is not an IDX file: its magic number 0x{magic:08X} is not 0x0000TTDD "
            "with a known type TT and at least one dimension DD."
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise InputError(
            f"{name} is truncated: its header needs {header} bytes but the file has {len(data)}."
        )
    dims = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = IDX_TYPES[type_code][0]
    expected = int(np.prod(dims, dtype=np.int64)) * dtype.itemsize
    actual = len(data) - header
    if actual != expected:
        problem = "truncated" if actual < expected else "corrupt (it has trailing bytes)"
        raise InputError(
            f"{name} is {problem}: its header declares shape {dims}, i.e. {expected} bytes "
            f"of data, but the file holds {actual}."
        )
    array = np.frombuffer(data, dtype=dtype, offset=header).reshape(dims)
    return array.astype(dtype.newbyteorder("="), copy=False)


def read_idx(path: str | Path, expect_magic: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or plain) and validate its header and size."""
    path = Path(path)
    return parse_idx(read_bytes(path), path.name, expect_magic)


def read_idx_images(path: str | Path) -> np.ndarray:
    """Read an MNIST-style image file (magic ``0x00000803``) as ``(n, rows, cols)`` uint8."""
    return read_idx(path, IMAGES_MAGIC)


def read_idx_labels(path: str | Path) -> np.ndarray:
    """Read an MNIST-style label file (magic ``0x00000801``) as ``(n,)`` int64."""
    return read_idx(path, LABELS_MAGIC).astype(np.int64)


def find_file(directory: Path, stem: str) -> Path | None:
    """Return ``directory/stem.gz`` or ``directory/stem`` (also the ``.idx`` dot variant)."""
    variants = [stem]
    if "-idx" in stem:  # Kaggle copies use "train-images.idx3-ubyte"
        variants.append(stem.replace("-idx", ".idx", 1))
    for variant in variants:
        for candidate in (directory / f"{variant}.gz", directory / variant):
            if candidate.is_file():
                return candidate
    return None


def find_mnist_files(directory: Path, split: str) -> dict[str, tuple[Path, Path | None]] | None:
    """Locate the image (and label) files of ``split`` in ``directory``; ``None`` if absent.

    ``split="all"`` needs both the train and test image files.
    """
    parts = ["train", "test"] if split == "all" else [split]
    found = {}
    for part in parts:
        images_stem, labels_stem = MNIST_FILES[part]
        images = find_file(directory, images_stem)
        if images is None:
            return None
        found[part] = (images, find_file(directory, labels_stem))
    return found


def sibling_labels(images_path: Path) -> Path | None:
    """Return the labels file that belongs to an ``*-images-idx3-ubyte`` file, if present."""
    name = images_path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    labels_name = re.sub(r"idx3", "idx1", name.replace("images", "labels"), flags=re.I)
    if labels_name == name:
        return None
    for candidate in (
        images_path.with_name(labels_name + ".gz"),
        images_path.with_name(labels_name),
    ):
        if candidate.is_file():
            return candidate
    return None


def images_to_features(images: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """Flatten ``(n, H, W)`` or ``(n, H, W, C)`` images to float32 rows (uint8 scaled /255)."""
    shape = images.shape[1:] + ((1,) if images.ndim == 3 else ())
    X = np.empty((images.shape[0], int(np.prod(shape))), dtype=np.float32)
    flat = images.reshape(images.shape[0], -1)
    if images.dtype == np.uint8:
        np.divide(flat, np.float32(255.0), out=X)
    else:
        X[...] = flat
    return X, shape


def load_idx_file(path: Path, name: str | None = None) -> Dataset:
    """Load one IDX file as features (2-D) or images (3-D/4-D), with sibling labels if any."""
    array = read_idx(path)
    shape: tuple[int, ...] = ()
    X = array
    if array.ndim in (3, 4):
        X, shape = images_to_features(array)
    X = check_features(X, name=path.name)
    shape = shape or (X.shape[1],)
    y = None
    labels_path = sibling_labels(path)
    if labels_path is not None:
        y = read_idx_labels(labels_path)
        _check_pair(path, labels_path, X.shape[0], y.shape[0])
    return Dataset(X=X, y=y, shape=shape, source=str(path), name=name or _stem(path))


def load_mnist_folder(
    directory: Path,
    split: str,
    *,
    name: str | None = None,
    class_names: list[str] | None = None,
) -> Dataset:
    """Load an MNIST-style folder (train then test for ``split="all"``)."""
    files = find_mnist_files(directory, split)
    if files is None:
        wanted = [MNIST_FILES[p][0] for p in (["train", "test"] if split == "all" else [split])]
        raise InputError(
            f"{directory} does not hold the MNIST-style file(s) {', '.join(wanted)} "
            "(plain or .gz)."
        )
    blocks, labels = [], []
    shape: tuple[int, ...] = ()
    for images_path, labels_path in files.values():
        images = read_idx_images(images_path)
        X, shape_part = images_to_features(images)
        if shape and shape_part != shape:
            raise InputError(
                f"The train and test images in {directory} have different sizes "
                f"{shape} and {shape_part}."
            )
        shape = shape_part
        blocks.append(X)
        if labels_path is not None:
            y = read_idx_labels(labels_path)
            _check_pair(images_path, labels_path, X.shape[0], y.shape[0])
            labels.append(y)
    X = blocks[0] if len(blocks) == 1 else np.concatenate(blocks)
    y = None
    if len(labels) == len(blocks):
        y = labels[0] if len(labels) == 1 else np.concatenate(labels)
    X = check_features(X, name=str(directory))
    return Dataset(
        X=X,
        y=y,
        shape=shape,
        class_names=class_names if y is not None else None,
        source=str(directory),
        name=name or directory.name,
    )


def _check_pair(images: Path, labels: Path, n_images: int, n_labels: int) -> None:
    if n_images != n_labels:
        raise InputError(
            f"{images.name} holds {n_images} images but {labels.name} holds {n_labels} labels."
        )


def _describe_magic(magic: int) -> str:
    type_code, ndim = (magic >> 8) & 0xFF, magic & 0xFF
    kind = IDX_TYPES.get(type_code, (None, "unknown type"))[1]
    return f"{kind}, {ndim} dimension(s)"


def _stem(path: Path) -> str:
    name = path.name
    if name.lower().endswith(".gz"):
        name = name[:-3]
    return IDX_NAME.sub("", name) or name
