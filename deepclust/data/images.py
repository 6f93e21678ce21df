"""A folder of image files (searched recursively), read with Pillow.

* Extensions: :data:`IMAGE_SUFFIXES` (case-insensitive); other files are ignored.
* Every image must have the same size and the same colour kind; nothing is resized.
  Grayscale images (modes 1, L, LA, I, I;16, F) give 1 channel, all others are converted
  to RGB (3 channels; alpha is dropped).
* Pixel values are scaled to [0, 1] (8-bit by 1/255, 16-bit by 1/65535).
* Labels: when every image sits directly in a first-level sub-folder
  (``root/cat/1.png``), the sub-folder names are the classes (``class_names`` sorted).
  Otherwise the dataset has no labels.
* Files are read in sorted path order, so row ``i`` is always the same file.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import InputError
from ..validation import check_features
from .dataset import Dataset

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
GRAY_MODES = {"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"}
SIXTEEN_BIT = {"I;16", "I;16B", "I;16L", "I;16N"}


def image_files(root: Path) -> list[Path]:
    """Return the image files under ``root`` (recursively), in sorted order."""
    return sorted(
        p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
    )


def _read_image(path: Path) -> np.ndarray:
    """Return one image as an ``(H, W, C)`` float32 array in [0, 1]."""
    try:
        with Image.open(path) as img:
            img.load()
            mode = img.mode
            if mode in SIXTEEN_BIT:
                arr = np.asarray(img, dtype=np.float32) / np.float32(65535.0)
            elif mode in GRAY_MODES:
                arr = np.asarray(img.convert("L"), dtype=np.float32) / np.float32(255.0)
            else:
                arr = np.asarray(img.convert("RGB"), dtype=np.float32) / np.float32(255.0)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        reason = str(exc).strip().rstrip(".") or type(exc).__name__
        raise InputError(f"Could not read the image {path} ({reason}).") from None
    if arr.ndim == 2:
        arr = arr[:, :, None]
    return arr


def _describe(arr: np.ndarray) -> str:
    h, w, c = arr.shape
    return f"{w}x{h} {'grayscale' if c == 1 else 'RGB'}"


def load_image_folder(root: Path) -> Dataset:
    """Load every image under ``root`` into one float32 matrix (see the module notes)."""
    files = image_files(root)
    if not files:
        raise InputError(
            f"No images found in {root} (looked recursively for "
            f"{', '.join(IMAGE_SUFFIXES)} files)."
        )
    first = _read_image(files[0])
    shape = first.shape
    X = np.empty((len(files), first.size), dtype=np.float32)
    X[0] = first.reshape(-1)
    for i, path in enumerate(files[1:], start=1):
        arr = _read_image(path)
        if arr.shape != shape:
            raise InputError(
                "All images must have the same size and colour mode, but "
                f"{files[0].relative_to(root)} is {_describe(first)} and "
                f"{path.relative_to(root)} is {_describe(arr)}."
            )
        X[i] = arr.reshape(-1)
    y, class_names = _folder_labels(root, files)
    X = check_features(X, name=str(root))
    return Dataset(
        X=X, y=y, shape=shape, class_names=class_names, source=str(root), name=root.name,
        paths=[str(p) for p in files],
    )


def _folder_labels(root: Path, files: list[Path]) -> tuple[np.ndarray | None, list[str] | None]:
    parts = [p.relative_to(root).parts for p in files]
    if not all(len(p) == 2 for p in parts):
        return None, None
    folders = [p[0] for p in parts]
    class_names = sorted(set(folders))
    index = {name: i for i, name in enumerate(class_names)}
    return np.array([index[f] for f in folders], dtype=np.int64), class_names
