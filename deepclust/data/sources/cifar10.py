"""CIFAR-10, official binary version (``cifar-10-binary.tar.gz``); nothing is unpickled.

Each record is 1 label byte followed by 3,072 pixel bytes: the 1,024 red, then green,
then blue values of a 32x32 image in row-major order. Records are converted to H, W, C
order and scaled to [0, 1]. The archive is read directly (members are never extracted);
an already extracted ``cifar-10-batches-bin/`` folder, or the ``.bin`` files themselves,
work too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...errors import InputError
from ..dataset import Dataset
from .archive import read_members
from .base import NamedSource

ARCHIVE = "cifar-10-binary.tar.gz"
FOLDER = "cifar-10-batches-bin"
TRAIN = [f"data_batch_{i}.bin" for i in range(1, 6)]
TEST = ["test_batch.bin"]
RECORD = 1 + 32 * 32 * 3
CLASSES = [
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
]


def batch_names(split: str) -> list[str]:
    """The batch files of ``split`` in order (train batches 1-5, then the test batch)."""
    return {"train": TRAIN, "test": TEST, "all": TRAIN + TEST}[split]


def parse_records(data: bytes, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Parse CIFAR-10 binary records into ``(X, y)``: X is (n, 3072) float32 in HWC order."""
    if len(data) == 0 or len(data) % RECORD:
        raise InputError(
            f"{name} is truncated or corrupt: {len(data)} bytes is not a whole number of "
            f"{RECORD}-byte CIFAR-10 records."
        )
    records = np.frombuffer(data, dtype=np.uint8).reshape(-1, RECORD)
    y = records[:, 0].astype(np.int64)
    if y.max() >= len(CLASSES):
        raise InputError(f"{name} is corrupt: it has a label byte of {int(y.max())} (above 9).")
    chw = records[:, 1:].reshape(-1, 3, 32, 32)
    hwc = np.ascontiguousarray(chw.transpose(0, 2, 3, 1)).reshape(len(y), -1)
    X = np.empty(hwc.shape, dtype=np.float32)
    np.divide(hwc, np.float32(255.0), out=X)
    return X, y


class Cifar10Source(NamedSource):
    """CIFAR-10: 50,000 train + 10,000 test 32x32 RGB images in 10 classes."""

    name = "cifar10"
    description = "CIFAR-10, 60,000 32x32 RGB images in 10 classes (official binary version)"

    def required_files(self, split: str) -> list[str]:
        """The single archive holds every split."""
        return [ARCHIVE]

    def find(self, location: Path, split: str) -> Path | None:
        """The archive, an extracted batches folder, or a folder holding the ``.bin`` files."""
        if location.is_file():
            return location if location.name.endswith((".tar.gz", ".tgz", ".tar")) else None
        if (location / ARCHIVE).is_file():
            return location / ARCHIVE
        for folder in (location / FOLDER, location):
            if all((folder / b).is_file() for b in batch_names(split)):
                return folder
        return None

    def parse(self, found: Path, split: str, **options) -> Dataset:
        """Read the batches of ``split`` (train first) from the archive or folder."""
        names = batch_names(split)
        if found.is_file():
            contents = read_members(found, set(names))
        else:
            contents = {b: (found / b).read_bytes() for b in names}
        blocks = [parse_records(contents[b], b) for b in names]
        X = np.concatenate([b[0] for b in blocks]) if len(blocks) > 1 else blocks[0][0]
        y = np.concatenate([b[1] for b in blocks]) if len(blocks) > 1 else blocks[0][1]
        return Dataset(
            X=X, y=y, shape=(32, 32, 3), class_names=CLASSES, source=str(found), name=self.name
        )


CIFAR10 = Cifar10Source()
