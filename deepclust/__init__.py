"""deepclust: deep and classic clustering of unlabeled data, with honest metrics and reports."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("deepclust")
except PackageNotFoundError:  # running from a source tree that was not installed
    __version__ = "0.0.0+unknown"
