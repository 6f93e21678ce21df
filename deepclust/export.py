"""Export a clustering for annotation: a folder per cluster, or one CSV of items and clusters.

For a folder of images the original files are copied (named as before) into
``cluster_<k>/``; for other image data each sample is written as ``<index>.png``; for
non-image data ``folders`` is refused (use ``csv``). The CSV lists ``index,cluster,
confidence`` and, where the data has files, ``path``.
"""

from __future__ import annotations

import csv
import io
import shutil
from pathlib import Path

import numpy as np

from .errors import InputError
from .fileio import atomic_write_text


def export_clusters(run_dir, *, to: str, dest=None, force: bool = False) -> Path:
    """Export the clusters of a finished run; returns the folder or CSV written."""
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
    dest = Path(dest) if dest else run_dir / "export"
    _refuse_existing(dest, force)
    tmp = dest.with_name(f".{dest.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for k in sorted(set(labels.tolist())):
        (tmp / _folder(k)).mkdir(parents=True)
    images = None if ds.paths else ds.images()
    for i, lab in enumerate(labels):
        folder = tmp / _folder(int(lab))
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


def _refuse_existing(dest: Path, force: bool) -> None:
    if dest.exists() and not force:
        raise InputError(f"{dest} already exists; pass --force to overwrite it.")


def _save_png(img: np.ndarray, path: Path) -> None:
    from PIL import Image

    arr = (np.clip(img, 0, 1) * 255).round().astype(np.uint8)
    Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr).save(path)
