"""Shared behaviour of named datasets: find the files, download them if needed, parse."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ...errors import InputError, unknown_name_error
from ..checksums import REMOTE_FILES, RemoteFile
from ..dataset import Dataset
from ..download import download as download_file
from ..locations import cache_dir, search_dirs

SPLITS = ("all", "train", "test")


class NamedSource:
    """A named dataset stored as files: subclasses say which files and how to parse them.

    Subclasses set :attr:`name`, :attr:`description`, :attr:`splits` and
    :attr:`options` (extra keyword options of :meth:`parse` with their defaults) and
    implement :meth:`required_files`, :meth:`find` and :meth:`parse`.
    """

    name: str = ""
    description: str = ""
    splits: tuple[str, ...] = SPLITS
    options: dict[str, Any] = {}

    def required_files(self, split: str) -> list[str]:
        """Names of the remote files needed for ``split`` (keys of the checksum table)."""
        raise NotImplementedError

    def find(self, location: Path, split: str) -> Path | None:
        """Return what :meth:`parse` should read if ``location`` holds ``split``, else None."""
        raise NotImplementedError

    def parse(self, found: Path, split: str, **options) -> Dataset:
        """Read the files found by :meth:`find` into a :class:`Dataset`."""
        raise NotImplementedError

    # -- shared logic -------------------------------------------------------------------

    def remote_files(self, split: str) -> list[RemoteFile]:
        """The :class:`RemoteFile` entries needed for ``split``."""
        table = REMOTE_FILES[self.name]
        return [table[f] for f in self.required_files(split)]

    def check_split(self, split: str) -> None:
        """Raise :class:`InputError` unless ``split`` is valid for this dataset."""
        if split not in SPLITS:
            raise unknown_name_error("split", split, SPLITS)
        if split not in self.splits:
            raise InputError(
                f"The {self.name} dataset has no {split!r} split; use split="
                f"{self.splits[0]!r}."
            )

    def check_options(self, options: dict[str, Any]) -> dict[str, Any]:
        """Merge ``options`` with the defaults, rejecting unknown names."""
        for key in options:
            if key not in self.options:
                if self.options:
                    raise unknown_name_error(f"option of {self.name}", key, self.options)
                raise InputError(f"The {self.name} dataset takes no option {key!r}.")
        return {**self.options, **options}

    def locate(self, split: str = "all", path=None) -> Path | None:
        """Return the first location (in search order) holding ``split``, or None."""
        for directory in search_dirs(self.name, path):
            if directory.exists():
                found = self.find(directory, split)
                if found is not None:
                    return found
        return None

    def fetch(self, split: str, path=None, *, progress: bool = True) -> Path:
        """Download the files for ``split`` into ``path`` (or the cache) and return them."""
        target = Path(path).expanduser() if path is not None else cache_dir(self.name)
        if target.is_file():
            target = target.parent
        for remote in self.remote_files(split):
            if not (target / remote.filename).is_file():
                download_file(remote, target / remote.filename, progress=progress)
        found = self.find(target, split)
        if found is None:  # pragma: no cover - the downloaded files are what find() wants
            raise InputError(f"The downloaded {self.name} files in {target} are incomplete.")
        return found

    def load(self, split: str = "all", path=None, download: bool = True, **options) -> Dataset:
        """Find (or download) and parse the dataset."""
        self.check_split(split)
        options = self.check_options(options)
        found = self.locate(split, path)
        if found is None:
            if not download:
                dirs = ", ".join(str(d) for d in search_dirs(self.name, path))
                files = ", ".join(self.required_files(split))
                raise InputError(
                    f"The {self.name} files ({files}) were not found in {dirs}, and "
                    "download=False."
                )
            found = self.fetch(split, path)
        return self.parse(found, split, **options)

    def where(self) -> str:
        """Where the dataset would be read from now, or how it would be downloaded."""
        found = self.locate("all")
        if found is not None:
            return str(found)
        remotes = self.remote_files("all")
        target = cache_dir(self.name)
        unknown = [r.filename for r in remotes if r.sha256 is None]
        if unknown:
            return (
                f"not found; place the files in {target} (automatic download is disabled "
                f"because the SHA-256 of {', '.join(unknown)} is unknown)"
            )
        urls = [r.urls[0] for r in remotes]
        if len(urls) == 1:
            return f"not found; would download from {urls[0]} into {target}"
        base = os.path.commonprefix(urls).rsplit("/", 1)[0] + "/"
        return f"not found; would download {len(urls)} files from {base} into {target}"


def first_existing(directory: Path, names: list[str]) -> Path | None:
    """Return ``directory/name`` for the first name that is an existing file."""
    for name in names:
        candidate = directory / name
        if candidate.is_file():
            return candidate
    return None
