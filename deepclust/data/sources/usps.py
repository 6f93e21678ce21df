"""USPS handwritten digits, from the LIBSVM multiclass collection.

``usps.bz2`` (7,291 training images) and ``usps.t.bz2`` (2,007 test images) are text in
LIBSVM format, one image per line: ``label index:value ...`` with labels 1..10 (digit
``label - 1``), 256 feature indices (a 16x16 image in row-major order) and values in
[-1, 1]. Values are rescaled to [0, 1]; an omitted index means 0 in the original scale,
i.e. 0.5 after rescaling. The decompressed files ``usps`` and ``usps.t`` work too.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from ...errors import InputError
from ..compressed import decompression_errors, open_text
from ..dataset import Dataset
from .base import NamedSource, first_existing

FILES = {"train": "usps.bz2", "test": "usps.t.bz2"}
N_PIXELS = 256
TOLERANCE = 1e-6


def parse_libsvm_digits(path: Path) -> tuple[np.ndarray, np.ndarray]:
    """Parse a USPS LIBSVM file into ``(X, y)`` with X in [0, 1] and y in 0..9."""
    rows: list[np.ndarray] = []
    labels: list[int] = []
    with decompression_errors(path), open_text(path) as fh:
        for line_no, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            row, label = _parse_line(line, line_no, path.name)
            rows.append(row)
            labels.append(label)
    if not rows:
        raise InputError(f"{path.name} holds no samples.")
    X = (np.vstack(rows) + np.float32(1.0)) / np.float32(2.0)
    return X.astype(np.float32), np.asarray(labels, dtype=np.int64)


def _parse_line(line: str, line_no: int, name: str) -> tuple[np.ndarray, int]:
    def bad(reason: str) -> InputError:
        return InputError(f"Line {line_no} of {name} is not valid USPS LIBSVM data: {reason}.")

    tokens = line.split()
    try:
        label = int(float(tokens[0]))
    except (ValueError, OverflowError):
        raise bad(f"the label {tokens[0]!r} is not a number") from None
    if not 1 <= label <= 10 or float(tokens[0]) != label:
        raise bad(f"the label {tokens[0]} is not one of 1..10")
    row = np.zeros(N_PIXELS, dtype=np.float32)
    seen = set()
    for token in tokens[1:]:
        index_text, sep, value_text = token.partition(":")
        try:
            index, value = int(index_text), float(value_text)
        except ValueError:
            raise bad(f"{token!r} is not index:value") from None
        if not sep or not 1 <= index <= N_PIXELS or index in seen:
            raise bad(f"the index in {token!r} is not a new index in 1..{N_PIXELS}")
        if not math.isfinite(value) or abs(value) > 1 + TOLERANCE:
            raise bad(f"the value in {token!r} is outside [-1, 1]")
        seen.add(index)
        row[index - 1] = min(max(value, -1.0), 1.0)
    return row, label - 1


class UspsSource(NamedSource):
    """USPS: 7,291 train + 2,007 test 16x16 grayscale digits."""

    name = "usps"
    description = "USPS handwritten digits, 9,298 16x16 grayscale images (LIBSVM version)"

    def required_files(self, split: str) -> list[str]:
        """``usps.bz2`` (train) and/or ``usps.t.bz2`` (test)."""
        return [FILES[p] for p in (["train", "test"] if split == "all" else [split])]

    def _file(self, location: Path, filename: str) -> Path | None:
        return first_existing(location, [filename, filename[: -len(".bz2")]])

    def find(self, location: Path, split: str) -> Path | None:
        """``location`` if it is a folder holding the file(s) of ``split``."""
        if not location.is_dir():
            return None
        if all(self._file(location, f) for f in self.required_files(split)):
            return location
        return None

    def parse(self, found: Path, split: str, **options) -> Dataset:
        """Read train then test (for ``split="all"``) into 16x16x1 images."""
        blocks = [parse_libsvm_digits(self._file(found, f)) for f in self.required_files(split)]
        X = np.concatenate([b[0] for b in blocks])
        y = np.concatenate([b[1] for b in blocks])
        return Dataset(
            X=X, y=y, shape=(16, 16, 1), class_names=[str(i) for i in range(10)],
            source=str(found), name=self.name,
        )


USPS = UspsSource()
