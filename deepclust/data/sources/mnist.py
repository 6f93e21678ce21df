"""MNIST and Fashion-MNIST: the four original IDX files (gzip-compressed or plain)."""

from __future__ import annotations

from pathlib import Path

from ..dataset import Dataset
from ..idx import MNIST_FILES, find_mnist_files, load_mnist_folder
from .base import NamedSource

FASHION_CLASSES = [
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
]
DIGIT_CLASSES = [str(i) for i in range(10)]


class IdxSource(NamedSource):
    """A dataset stored as MNIST-style IDX files (train: 60,000, test: 10,000 images)."""

    def __init__(self, name: str, description: str, class_names: list[str]):
        self.name = name
        self.description = description
        self.class_names = class_names

    def required_files(self, split: str) -> list[str]:
        """The two (train or test) or four (all) ``.gz`` files."""
        parts = ["train", "test"] if split == "all" else [split]
        return [f"{stem}.gz" for part in parts for stem in MNIST_FILES[part]]

    def find(self, location: Path, split: str) -> Path | None:
        """``location`` if it is a folder holding the image and label files of ``split``."""
        if not location.is_dir():
            return None
        files = find_mnist_files(location, split)
        if files is None or any(labels is None for _, labels in files.values()):
            return None
        return location

    def parse(self, found: Path, split: str, **options) -> Dataset:
        """Read the images (scaled to [0, 1], shape 28x28x1) and labels; train comes first."""
        return load_mnist_folder(found, split, name=self.name, class_names=self.class_names)


MNIST = IdxSource("mnist", "handwritten digits, 70,000 28x28 grayscale images", DIGIT_CLASSES)
FASHION_MNIST = IdxSource(
    "fashion-mnist", "Zalando clothing images, 70,000 28x28 grayscale", FASHION_CLASSES
)
