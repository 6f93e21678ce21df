"""Read files that may be gzip- or bzip2-compressed, whatever their name says.

The compression is recognised from the file's first bytes, so ``x.gz`` that was already
unpacked and ``x`` that is still compressed both work. A damaged or truncated archive
raises :class:`~deepclust.errors.InputError` naming the file.
"""

from __future__ import annotations

import bz2
import gzip
import io
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import InputError

GZIP_MAGIC = b"\x1f\x8b"
BZIP2_MAGIC = b"BZh"


def compression_of(path: str | Path) -> str | None:
    """Return ``"gzip"``, ``"bzip2"`` or ``None`` from the first bytes of ``path``."""
    with open(path, "rb") as fh:
        head = fh.read(3)
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head == BZIP2_MAGIC:
        return "bzip2"
    return None


def read_bytes(path: str | Path) -> bytes:
    """Return the (decompressed) content of ``path``."""
    path = Path(path)
    kind = compression_of(path)
    if kind is None:
        return path.read_bytes()
    opener = gzip.open if kind == "gzip" else bz2.open
    try:
        with opener(path, "rb") as fh:
            return fh.read()
    except (OSError, EOFError, zlib.error, ValueError) as exc:
        raise InputError(
            f"{path.name} is not a valid {kind} file or is truncated ({_reason(exc)})."
        ) from None


def open_text(path: str | Path, encoding: str = "latin-1") -> io.TextIOBase:
    """Return a text stream over the (decompressed) content of ``path``.

    Decompression errors surface while reading; wrap the reading loop in
    :func:`decompression_errors` to turn them into one-sentence errors.
    """
    path = Path(path)
    kind = compression_of(path)
    if kind == "gzip":
        return gzip.open(path, "rt", encoding=encoding)
    if kind == "bzip2":
        return bz2.open(path, "rt", encoding=encoding)
    return open(path, encoding=encoding)


@contextmanager
def decompression_errors(path: str | Path) -> Iterator[None]:
    """Context manager that re-raises decompression failures as :class:`InputError`."""
    try:
        yield
    except FileNotFoundError:
        raise
    except (OSError, EOFError, zlib.error) as exc:
        raise InputError(
            f"{Path(path).name} is not a valid compressed file or is truncated "
            f"({_reason(exc)})."
        ) from None


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().rstrip(".")
    return text or type(exc).__name__
