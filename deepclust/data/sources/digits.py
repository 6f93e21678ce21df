"""scikit-learn's bundled 8x8 digits (1,797 images): the fast dataset, no files needed."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..dataset import Dataset
from .base import NamedSource


class DigitsSource(NamedSource):
    """``sklearn.datasets.load_digits`` scaled to [0, 1] (pixel values 0..16 divided by 16).

    The data has no train/test split, so only ``split="all"`` is accepted; ``path`` and
    ``download`` are ignored because the data ships with scikit-learn.
    """

    name = "digits"
    description = "scikit-learn's bundled handwritten digits, 1,797 8x8 grayscale images"
    splits = ("all",)

    def data_file(self) -> Path:
        """The file scikit-learn reads the digits from."""
        import sklearn.datasets

        return Path(sklearn.datasets.__file__).parent / "data" / "digits.csv.gz"

    def load(self, split: str = "all", path=None, download: bool = True, **options) -> Dataset:
        """Return the 1,797 digits as an (1797, 64) float32 matrix with labels 0..9."""
        from sklearn.datasets import load_digits

        self.check_split(split)
        self.check_options(options)
        bunch = load_digits()
        X = (np.asarray(bunch.data, dtype=np.float32) / np.float32(16.0)).astype(np.float32)
        return Dataset(
            X=X,
            y=np.asarray(bunch.target, dtype=np.int64),
            shape=(8, 8, 1),
            class_names=[str(i) for i in range(10)],
            source=str(self.data_file()),
            name=self.name,
        )

    def where(self) -> str:
        """Always available: it is bundled with scikit-learn."""
        return f"bundled with scikit-learn ({self.data_file()})"


DIGITS = DigitsSource()
