"""Export a clustering for annotation: a folder per cluster, or one CSV of items and clusters.

For a folder of images the original files are copied (named as before) into
``cluster_<k>/``; for other image data each sample is written as ``<index>.png``; for
non-image data ``folders`` is refused (use ``csv``). The CSV lists ``index,cluster,
confidence`` and, where the data has files, ``path``.

With ``names=`` (the ``annotations.csv`` that ``deepclust explore``'s page downloads), each
folder takes its cluster's name instead of ``cluster_<k>`` and the members flagged there go into
its ``flagged/`` sub-folder, ready to be looked at by hand.
"""

from __future__ import annotations

import csv
import io
import re
import shutil
from pathlib import Path

import numpy as np

from .errors import InputError
from .fileio import atomic_write_text


def export_clusters(run_dir, *, to: str, dest=None, force: bool = False, names=None) -> Path:
    """Export the clusters of a finished run; returns the folder or CSV written.

    ``names``: an annotations CSV from the explorer page (folders only; see the module docstring).
    """
    from .viz.report import load_run_data, read_run

    run = read_run(run_dir)
    run_dir = Path(run_dir)
    labels, conf = run["labels"], run["confidence"]
    ds = load_run_data(run)
    if ds is not None and ds.n_samples != len(labels):
        raise InputError(f"The data of {run_dir} has changed since the run ({ds.n_samples} samples now).")
    if to == "csv":
        dest = Path(dest) if dest else run_dir / "clusters.csv"
        _refuse_existing(dest, force)
        buf = io.StringIO()
        w = csv.writer(buf)
        paths = ds.paths if ds is not None else None
        w.writerow(["index", "cluster", "confidence", *(["path"] if paths else [])])
        for i, lab in enumerate(labels):
            c = "" if conf is None else f"{conf[i]:.6f}"
            w.writerow([int(run["index"][i]), int(lab), c, *([paths[i]] if paths else [])])
        return atomic_write_text(dest, buf.getvalue())
    if to != "folders":
        raise InputError(f"Unknown export target {to!r}; use folders or csv.")
    if ds is None or not ds.is_image:
        raise InputError("Folder export needs image data; use --to csv for other data.")
    clusters = sorted(set(labels.tolist()))
    folders, flagged = {k: _folder(k) for k in clusters}, set()
    if names is not None:
        folders, flagged = read_annotations(names, run["index"], labels)
    dest = Path(dest) if dest else run_dir / "export"
    _refuse_existing(dest, force)
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for k in clusters:
        (tmp / folders[k]).mkdir(parents=True)
    images = None if ds.paths else ds.images()
    for i, lab in enumerate(labels):
        folder = tmp / folders[int(lab)]
        if int(run["index"][i]) in flagged:
            folder = folder / "flagged"
            folder.mkdir(exist_ok=True)
        if ds.paths:
            src = Path(ds.paths[i])
            target = folder / src.name
            if target.exists():  # same file name in two source folders
                target = folder / f"{i}_{src.name}"
            shutil.copy2(src, target)
        else:
            _save_png(images[i], folder / f"{i}.png")
    if dest.exists():
        shutil.rmtree(dest)
    tmp.rename(dest)
    return dest


def _folder(k: int) -> str:
    return "noise" if k == -1 else f"cluster_{k}"


def read_annotations(path, index: np.ndarray, labels: np.ndarray) -> tuple[dict[int, str], set[int]]:
    """``(folder name of each cluster, flagged row indices)`` from an explorer annotations CSV
    (``index,cluster,cluster_name,flagged``) of the same run: a named cluster's folder is its name
    made safe for a file system (letters, digits, ``-``, ``_``, ``.``; spaces become ``_``),
    unnamed ones keep ``cluster_<k>``, and a name given twice gets ``_<k>`` added."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"The annotations file {path} does not exist.")
    with path.open(newline="", encoding="utf-8-sig") as fh:
        rows = list(csv.DictReader(fh))
    need = {"index", "cluster", "cluster_name", "flagged"}
    if not rows or not need <= set(rows[0]):
        raise InputError(f"{path.name} is not an explorer annotations file (it needs the columns "
                         f"{', '.join(sorted(need))}).")
    cluster_of = dict(zip(index.tolist(), labels.tolist(), strict=True))
    named: dict[int, str] = {}
    flagged: set[int] = set()
    for row in rows:
        try:
            i, k = int(row["index"]), int(row["cluster"])
        except ValueError:
            raise InputError(f"{path.name} has a row whose index or cluster is not a number.") from None
        if cluster_of.get(i) != k:
            raise InputError(f"{path.name} puts row {i} in cluster {k}, but this run does not; "
                             "were the annotations made on another run?")
        if row["cluster_name"].strip():
            named.setdefault(k, row["cluster_name"].strip())
        if row["flagged"].strip() in ("1", "true", "True"):
            flagged.add(i)
    folders, used = {}, set()
    for k in sorted(set(labels.tolist())):
        safe = re.sub(r"[^\w.-]+", "_", named.get(k, "")).strip("._")
        name = safe or _folder(k)
        if name in used:
            name = f"{name}_{k}"
        folders[k] = name
        used.add(name)
    return folders, flagged


def _refuse_existing(dest: Path, force: bool) -> None:
    if dest.exists() and not force:
        raise InputError(f"{dest} already exists; pass --force to overwrite it.")


def pil_image(img: np.ndarray):
    """A PIL image of one ``(H, W, C)`` image with values in [0, 1] (clipped): grey for one channel."""
    from PIL import Image

    arr = (np.clip(np.asarray(img, dtype=np.float32), 0, 1) * 255).round().astype(np.uint8)
    return Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)


def _save_png(img: np.ndarray, path: Path) -> None:
    pil_image(img).save(path)
