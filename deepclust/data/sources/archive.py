"""Read chosen members of a tar archive by base name, safely.

Members are read into memory (or copied to a folder under their *base name only*), so a
hostile member path such as ``../../etc/passwd`` can never write outside the target;
links, devices and folders are ignored.
"""

from __future__ import annotations

import shutil
import tarfile
import zlib
from pathlib import Path

from ...errors import InputError


def _open(archive: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
        raise InputError(
            f"{archive.name} is not a valid tar archive or is truncated ({exc})."
        ) from None


def _for_each_member(archive: Path, wanted: set[str], action) -> None:
    """Call ``action(base name, file handle)`` once for each regular-file member named in ``wanted``.

    Then check that every wanted name was found. A truncated or corrupt archive, also one
    found while ``action`` reads a member, raises :class:`InputError`.
    """
    seen: set[str] = set()
    with _open(archive) as tar:
        try:
            for member in tar:
                base = Path(member.name).name
                if member.isfile() and base in wanted and base not in seen:
                    handle = tar.extractfile(member)
                    if handle is not None:
                        action(base, handle)
                        seen.add(base)
        except (tarfile.TarError, OSError, EOFError, zlib.error) as exc:
            raise InputError(f"{archive.name} is truncated or corrupt ({exc}).") from None
    _check_all_found(archive, wanted, seen)


def read_members(archive: Path, wanted: set[str]) -> dict[str, bytes]:
    """Return ``{base name: content}`` for the regular-file members named in ``wanted``."""
    found: dict[str, bytes] = {}

    def keep(base, handle):
        found[base] = handle.read()

    _for_each_member(archive, wanted, keep)
    return found


def extract_members(archive: Path, wanted: set[str], target: Path) -> None:
    """Copy the regular-file members named in ``wanted`` to ``target/<base name>``."""
    target.mkdir(parents=True, exist_ok=True)

    def copy(base, handle):
        partial = target / f".{base}.part"
        with open(partial, "wb") as out:
            shutil.copyfileobj(handle, out, 1 << 20)
        partial.replace(target / base)

    _for_each_member(archive, wanted, copy)


def _check_all_found(archive: Path, wanted: set[str], found) -> None:
    missing = sorted(wanted - set(found))
    if missing:
        raise InputError(f"{archive.name} does not contain {', '.join(missing)}.")
