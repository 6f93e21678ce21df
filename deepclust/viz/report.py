"""The self-contained HTML report of a run folder (``report.html``).

Everything is embedded (PNG images as data URIs, inline CSS, no scripts, no network
requests), so the file opens from disk anywhere. The report is rebuilt from what ``run``
wrote — ``run.json``, ``metrics.json``, ``labels.csv``, optional ``history.json``,
``embedding.npy`` and ``model/`` — plus the data, reloaded from the source recorded in
``run.json``.
"""

from __future__ import annotations

import base64
import csv
import html
import json
from pathlib import Path

import numpy as np

from ..errors import InputError, MissingPathError
from ..fileio import atomic_write_text

SECTIONS = ("summary", "metrics", "maps", "training", "clusters", "galleries")


def read_run(run_dir) -> dict:
    """Read what ``deepclust run`` wrote into ``run_dir`` (labels, confidence, records)."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise MissingPathError(f"Run folder {run_dir} does not exist.")
    for name in ("run.json", "metrics.json", "labels.csv"):
        if not (run_dir / name).is_file():
            raise InputError(f"{run_dir} is not a finished run folder: {name} is missing.")
    labels, conf, index = [], [], []
    with (run_dir / "labels.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            index.append(int(row["index"]))
            labels.append(int(row["cluster"]))
            conf.append(float(row["confidence"]) if row.get("confidence") else np.nan)
    conf = np.asarray(conf)
    out = {
        "dir": run_dir,
        "record": json.loads((run_dir / "run.json").read_text(encoding="utf-8")),
        "metrics": json.loads((run_dir / "metrics.json").read_text(encoding="utf-8")),
        "labels": np.asarray(labels, dtype=np.int64),
        "index": np.asarray(index, dtype=np.int64),  # row numbers in the data (a sample's rows)
        "confidence": None if np.isnan(conf).all() else conf,
        "history": None,
        "embedding": None,
    }
    if (run_dir / "history.json").is_file():
        out["history"] = json.loads((run_dir / "history.json").read_text(encoding="utf-8"))
    if (run_dir / "embedding.npy").is_file():
        out["embedding"] = np.load(run_dir / "embedding.npy", allow_pickle=False)
    return out


def load_run_data(run: dict):
    """The data a finished run clustered (its recorded sample of rows, if any), or None when
    it cannot be loaded again."""
    from ..data import load_dataset

    data = run["record"]["data"]
    source = data.get("name") if data.get("name") in _named() else data.get("source")
    try:
        ds = load_dataset(source, split=data.get("split", "all"), prep=data.get("prep"))
    except (InputError, FileNotFoundError):
        return None
    if data.get("sample") is not None:  # the run clustered a subset: labels.csv names its rows
        return ds.subset(run["index"]) if run["index"].max(initial=-1) < ds.n_samples else None
    return ds


def _named():
    from ..data import list_datasets

    return set(list_datasets())


def map_points(run: dict, ds, *, map_method: str = "umap", max_points: int = 20_000):
    """2-d map of a finished run (:func:`read_run`) for the report and the explorer:
    ``(rows, coords, how, what)`` from the learned embedding, else from the data's features
    (``ds``, may be ``None``); ``None`` when neither is available. ``rows`` index the run's labels."""
    from . import plots

    embedding, what = run["embedding"], "learned embedding"
    if embedding is None and ds is not None:
        embedding, what = ds.X, "input features"
    if embedding is None:
        return None
    idx, coords, how = plots.map_2d(embedding, max_points=max_points, method=map_method)
    return idx, coords, how, what


def build_report(run_dir, *, map_method: str = "umap", max_map_points: int = 20_000) -> Path:
    """Write ``run_dir/report.html`` and return its path.

    ``map_method`` is ``"umap"`` (default) or ``"pca"`` (faster) for embeddings with more
    than two dimensions.
    """
    from . import plots

    run = read_run(run_dir)
    record, m, labels = run["record"], run["metrics"], run["labels"]
    ds = load_run_data(run)
    if ds is not None and ds.n_samples != len(labels):
        ds = None  # the data changed since the run; show what does not need it
    figures: dict[str, list[tuple[str, bytes]]] = {s: [] for s in SECTIONS}
    notes: list[str] = []

    mapped = map_points(run, ds, map_method=map_method, max_points=max_map_points)
    if mapped is not None:
        idx, coords, how, what = mapped
        figures["maps"].append((f"Predicted clusters — {how} ({what}, {len(idx)} points)",
                                plots.to_png(plots.scatter_map(coords, labels[idx], "predicted clusters"))))
        if ds is not None and ds.y is not None:
            figures["maps"].append((
                "True classes — for reference only; this is NOT the clustering result",
                plots.to_png(plots.scatter_map(coords, ds.y[idx], "TRUE CLASSES (reference, not the clustering)",
                                               legend_names=ds.class_names))))
    else:
        notes.append("No embedding or data available for a 2-d map.")

    if run["history"]:
        figures["training"].append(("Training curves", plots.to_png(plots.training_curves(run["history"]))))

    figures["clusters"].append(("Cluster sizes", plots.to_png(plots.cluster_sizes(labels))))
    if run["confidence"] is not None:
        figures["clusters"].append(("Assignment confidence",
                                    plots.to_png(plots.confidence_histogram(run["confidence"]))))
    if ds is not None and ds.y is not None:
        figures["clusters"].append(("Confusion matrix against true classes (after Hungarian matching)",
                                    plots.to_png(plots.confusion_matrix(ds.y, labels, ds.class_names))))

    if ds is not None and ds.is_image:
        images = ds.images()
        title, imgs, ids = _centre_images(run["dir"], ds, labels)
        captions = [f"cluster {c}" for c in ids]
        figures["galleries"].append((title, plots.to_png(plots.image_grid(imgs, title, captions=captions))))
        for c in sorted(set(labels.tolist())):
            figures["galleries"].append((f"Cluster {c}" if c != -1 else "Noise",
                                         plots.to_png(plots.cluster_gallery(images, labels, run["confidence"], c))))

    page = _render(record, m, figures, notes)
    return atomic_write_text(Path(run_dir) / "report.html", page)


def _centre_images(run_dir: Path, ds, labels):
    """Decoded cluster centres for autoencoder methods, raw centres for k-means on pixels,
    otherwise the mean image of each cluster (as seed 004 shows for k-means)."""
    model_dir = run_dir / "model"
    if model_dir.is_dir():
        try:
            from ..base import BaseClusterer

            model = BaseClusterer.load(model_dir, device="cpu")  # ten centres: no GPU needed
            centers = getattr(model, "cluster_centers_", None)
            if hasattr(model, "network_") and centers is not None:
                import torch

                with torch.no_grad():
                    flat = model.network_.decode(torch.as_tensor(np.asarray(centers), dtype=torch.float32))
                if model.reconstruction_loss == "bce":
                    flat = torch.sigmoid(flat)
                return "Decoded cluster centres", flat.numpy().reshape(len(centers), *ds.shape), range(len(centers))
            if centers is not None and np.asarray(centers).shape[1] == ds.n_features:
                return "Cluster centres", np.asarray(centers).reshape(len(centers), *ds.shape), range(len(centers))
        except (InputError, FileNotFoundError):
            pass
    ids = [c for c in sorted(set(labels.tolist())) if c != -1]
    means = np.stack([np.asarray(ds.X[labels == c]).mean(axis=0) for c in ids])
    return "Mean image of each cluster", means.reshape(len(ids), *ds.shape), ids


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1100px;
color:#222;padding:0 1rem}h1{font-size:1.6rem}h2{border-bottom:1px solid #ddd;padding-bottom:.3rem;margin-top:2.2rem}
table{border-collapse:collapse;margin:.5rem 0}td,th{border:1px solid #ddd;padding:.25rem .6rem;text-align:left;
font-size:.9rem}th{background:#f5f5f5}figure{margin:1rem 0}figcaption{font-size:.9rem;color:#555;margin-bottom:.3rem}
img{max-width:100%}.note{color:#8a5a00}code{background:#f3f3f3;padding:0 .2rem}
"""


def _table(rows, head=None) -> str:
    out = ["<table>"]
    if head:
        out.append("<tr>" + "".join(f"<th>{html.escape(str(h))}</th>" for h in head) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{html.escape(_fmt(v))}</td>" for v in row) + "</tr>")
    out.append("</table>")
    return "".join(out)


def _flat(params: dict, prefix: str = ""):
    """``(name, value)`` rows of ``params``; a nested dict (a pipeline's resolved stage
    parameters) gives one row per entry, named ``outer.inner``."""
    for key, value in params.items():
        if isinstance(value, dict) and value:
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4f}"
    if isinstance(v, (list, tuple)):
        return ", ".join(_fmt(x) for x in v)
    return "—" if v is None else str(v)


def _figs(items) -> str:
    return "".join(
        f'<figure><figcaption>{html.escape(title)}</figcaption>'
        f'<img alt="{html.escape(title)}" src="data:image/png;base64,{base64.b64encode(png).decode()}"></figure>'
        for title, png in items)


def _render(record: dict, m: dict, figures: dict, notes: list[str]) -> str:
    data = record["data"]
    method = html.escape(record["method"])
    summary = _table([
        ("method", record["method"]), ("data", f"{data['name']} ({data['source']})"),
        ("samples", data["n_samples"]), ("features", data["n_features"]),
        ("clusters requested", record.get("n_clusters")), ("k from", record.get("n_clusters_source")),
        ("seed", record.get("seed")), ("started", record.get("started")),
    ])
    seconds = {**record.get("seconds", {}), **{f"fit: {k}": v for k, v in record.get("fit_phases", {}).items()}}
    timing = _table(sorted(seconds.items(), key=lambda kv: kv[0]), head=("phase", "seconds"))
    params = _table(sorted(_flat(record.get("params", {}))), head=("parameter", "value"))
    versions = _table(sorted(record.get("versions", {}).items()), head=("library", "version"))
    internal = [(k, m.get(k)) for k in ("n_clusters", "noise_fraction", "silhouette", "calinski_harabasz",
                                        "davies_bouldin", "confidence_mean", "entropy_mean") if k in m]
    emb = m.get("internal_embedding") or {}
    internal += [(f"{k} (embedding)", v) for k, v in emb.items()]
    external = [(k.upper(), m[k]) for k in ("acc", "nmi", "ari", "ami", "fmi", "purity") if k in m]
    external += [(f"{k.removesuffix('_non_noise').upper()} (non-noise points)", m[k])
                 for k in m if k.endswith("_non_noise")]
    metrics_html = "<h3>Internal (no labels used)</h3>" + _table(internal, head=("metric", "value"))
    if external:
        metrics_html += ("<h3>External (against the true classes, after fitting)</h3>"
                         + _table(external, head=("metric", "value"))
                         + "<p>NMI/AMI use arithmetic-mean normalisation; ACC uses Hungarian matching.</p>")
    else:
        metrics_html += "<p>The data has no labels, so no external metrics.</p>"
    sections = [
        ("summary", "Run summary", summary + "<h3>Seconds per phase</h3>" + timing
         + "<h3>Parameters</h3>" + params + "<h3>Library versions</h3>" + versions),
        ("metrics", "Metrics", metrics_html),
        ("maps", "Maps", _figs(figures["maps"])),
        ("training", "Training", _figs(figures["training"]) or "<p>This method has no training history.</p>"),
        ("clusters", "Clusters", _figs(figures["clusters"])),
        ("galleries", "Galleries", _figs(figures["galleries"]) or "<p>Galleries are shown for image data.</p>"),
    ]
    body = "".join(f'<section id="{sid}"><h2>{html.escape(title)}</h2>{content}</section>'
                   for sid, title, content in sections)
    note_html = "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>deepclust report: {method} on {html.escape(data['name'])}</title>"
            f"<style>{_CSS}</style></head><body><h1>{method} on {html.escape(data['name'])}</h1>"
            f"{note_html}{body}</body></html>\n")
