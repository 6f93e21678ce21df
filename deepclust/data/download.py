"""Download a file once, verified by SHA-256, written atomically.

The file is streamed to a temporary name next to its destination (with a tqdm progress
bar), its SHA-256 is compared with the expected value, and only then is it renamed into
place. A mismatch deletes the temporary file and raises :class:`DownloadError`; a file
whose checksum is unknown is never downloaded.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

from tqdm.auto import tqdm

from ..errors import InputError
from .checksums import RemoteFile

CHUNK = 1 << 20
TIMEOUT_S = 60


class DownloadError(InputError):
    """A download failed, was refused (unknown checksum) or did not match its checksum."""


def urlopen(url: str, timeout: float = TIMEOUT_S):
    """Open ``url`` (module-level so tests can replace it with a fake opener)."""
    return urllib.request.urlopen(url, timeout=timeout)


def sha256_file(path: str | Path) -> str:
    """Return the hex SHA-256 digest of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def download(remote: RemoteFile, destination: str | Path, *, progress: bool = True) -> Path:
    """Download ``remote`` to ``destination`` (a file path), trying each mirror in turn.

    Raises :class:`DownloadError` when the checksum is unknown (nothing is fetched), or
    when every mirror fails or serves a file with the wrong SHA-256.
    """
    destination = Path(destination)
    if remote.sha256 is None:
        raise DownloadError(
            f"The SHA-256 checksum of {remote.filename} is not known, so deepclust will not "
            f"download it; download it yourself from {remote.urls[0]} and place it at "
            f"{destination}."
        )
    try:
        destination.parent.mkdir(parents=True, exist_ok=True)
        if not os.access(destination.parent, os.W_OK):
            raise PermissionError("permission denied")
    except OSError as exc:
        raise DownloadError(
            f"Cannot write to {destination.parent} ({exc.strerror or exc}); pass path= with "
            "a writable folder or set XDG_CACHE_HOME."
        ) from None
    error: DownloadError | None = None
    for url in remote.urls:
        try:
            return _fetch_verified(url, destination, remote.sha256, remote.size, progress)
        except DownloadError as exc:
            error = exc
    assert error is not None
    raise error


def _fetch_verified(url: str, destination: Path, sha256: str, size, progress: bool) -> Path:
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".part", dir=destination.parent
    )
    tmp = Path(tmp_name)
    digest = hashlib.sha256()
    try:
        with os.fdopen(fd, "wb") as out:
            try:
                response = urlopen(url)
            except (urllib.error.URLError, OSError, ValueError) as exc:
                reason = getattr(exc, "reason", exc)
                raise DownloadError(
                    f"Could not download {url} ({reason}); check the network connection or "
                    f"place the file at {destination} yourself."
                ) from None
            with response:
                total = _content_length(response) or size
                bar = tqdm(
                    total=total,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=destination.name,
                    disable=not progress,
                    leave=False,
                )
                with bar:
                    try:
                        for chunk in iter(lambda: response.read(CHUNK), b""):
                            out.write(chunk)
                            digest.update(chunk)
                            bar.update(len(chunk))
                    except (urllib.error.URLError, OSError) as exc:
                        raise DownloadError(
                            f"The download of {url} was interrupted ({exc}); run the command "
                            "again to retry."
                        ) from None
        got = digest.hexdigest()
        if got != sha256:
            raise DownloadError(
                f"The file downloaded from {url} has SHA-256 {got} instead of the expected "
                f"{sha256}, so it was deleted."
            )
        os.replace(tmp, destination)
        return destination
    finally:
        tmp.unlink(missing_ok=True)


def _content_length(response) -> int | None:
    headers = getattr(response, "headers", None)
    value = headers.get("Content-Length") if headers is not None else None
    try:
        return int(value) if value else None
    except ValueError:
        return None
