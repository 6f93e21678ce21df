"""Data layer: named benchmark datasets and user files, loaded into one :class:`Dataset`.

>>> from deepclust.data import load_dataset
>>> ds = load_dataset("digits")
>>> ds.X.shape, ds.shape
((1797, 64), (8, 8, 1))

Named datasets are found locally where possible (see :mod:`deepclust.data.locations`)
and otherwise downloaded once with SHA-256 verification. User data can be ``.npy``,
``.npz``, ``.csv``/``.tsv``, ``.parquet``, IDX files, MNIST-style folders, folders of
images, or precomputed embeddings stored in any of these (see :mod:`deepclust.data.user`).
"""

from .dataset import Dataset
from .download import DownloadError
from .loading import load_dataset
from .registry import describe_dataset, list_datasets, locate_dataset

__all__ = [
    "Dataset",
    "DownloadError",
    "describe_dataset",
    "list_datasets",
    "load_dataset",
    "locate_dataset",
]
