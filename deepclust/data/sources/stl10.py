"""STL-10, official binary version (``stl10_binary.tar.gz``).

``train_X.bin`` (5,000 images) and ``test_X.bin`` (8,000) hold 96x96 RGB images as raw
bytes, each image channel by channel and each channel in column-major order;
``train_y.bin``/``test_y.bin`` hold one label byte (1..10) per image. Images are converted
to H, W, C order and scaled to [0, 1]; labels become 0..9. ``split="all"`` is the 13,000
labelled images (train then test), the set used in clustering papers; the 100,000
unlabelled images are not loaded. When only the 2.6 GB archive is found, the needed
members are extracted once into the cache (by base name only, so no path traversal).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import InputError
from ..dataset import Dataset
from ..locations import cache_dir
from .archive import extract_members
from .base import NamedSource

ARCHIVE = "stl10_binary.tar.gz"
FOLDER = "stl10_binary"
SIZE = 96
CLASSES = [
    "airplane", "bird", "car", "cat", "deer",
    "dog", "horse", "monkey", "ship", "truck",
]


def member_names(split: str) -> list[str]:
    """Image and label files of ``split`` (train first)."""
    parts = ["train", "test"] if split == "all" else [split]
    return [f"{part}_{kind}.bin" for part in parts for kind in ("X", "y")]


def parse_stl(images: Path, labels: Path) -> tuple[np.ndarray, np.ndarray]:
    """Read one ``*_X.bin``/``*_y.bin`` pair into ``(X, y)`` (X in HWC order, [0, 1])."""
    raw = np.fromfile(images, dtype=np.uint8)
    per_image = 3 * SIZE * SIZE
    if raw.size == 0 or raw.size % per_image:
        raise InputError(
            f"{images.name} is truncated or corrupt: {raw.size} bytes is not a whole number "
            f"of {per_image}-byte images."
        )
    y = np.fromfile(labels, dtype=np.uint8).astype(np.int64) - 1
    n = raw.size // per_image
    if y.shape[0] != n:
        raise InputError(
            f"{images.name} holds {n} images but {labels.name} holds {y.shape[0]} labels."
        )
    if y.size and (y.min() < 0 or y.max() > 9):
        raise InputError(f"{labels.name} is corrupt: its labels are not all in 1..10.")
    hwc = raw.reshape(n, 3, SIZE, SIZE).transpose(0, 3, 2, 1)  # (n, C, W, H) -> (n, H, W, C)
    X = np.empty((n, per_image), dtype=np.float32)
    np.divide(np.ascontiguousarray(hwc).reshape(n, -1), np.float32(255.0), out=X)
    return X, y


class Stl10Source(NamedSource):
    """STL-10: 5,000 train + 8,000 test labelled 96x96 RGB images in 10 classes."""

    name = "stl10"
    description = "STL-10, 13,000 labelled 96x96 RGB images in 10 classes (binary version)"

    def required_files(self, split: str) -> list[str]:
        """The single archive holds every split."""
        return [ARCHIVE]

    def find(self, location: Path, split: str) -> Path | None:
        """An extracted ``stl10_binary/`` folder, a folder of ``.bin`` files, or the archive."""
        if location.is_file():
            return location if location.name.endswith((".tar.gz", ".tgz", ".tar")) else None
        for folder in (location / FOLDER, location):
            if all((folder / m).is_file() for m in member_names(split)):
                return folder
        if (location / ARCHIVE).is_file():
            return location / ARCHIVE
        return None

    def parse(self, found: Path, split: str, **options) -> Dataset:
        """Read ``split``; an archive is first extracted (needed members only) to the cache."""
        if found.is_file():
            target = cache_dir(self.name) / FOLDER
            missing = {m for m in member_names(split) if not (target / m).is_file()}
            if missing:
                extract_members(found, missing, target)
            found = target
        names = member_names(split)
        pairs = zip(names[::2], names[1::2], strict=True)
        blocks = [parse_stl(found / images, found / labels) for images, labels in pairs]
        X = np.concatenate([b[0] for b in blocks]) if len(blocks) > 1 else blocks[0][0]
        y = np.concatenate([b[1] for b in blocks]) if len(blocks) > 1 else blocks[0][1]
        return Dataset(
            X=X, y=y, shape=(SIZE, SIZE, 3), class_names=CLASSES, source=str(found), name=self.name
        )


STL10 = Stl10Source()
