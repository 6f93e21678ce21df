"""The plots of a run, each a function from arrays to a matplotlib figure.

Every figure that shows true classes says so in its title; maps coloured by the predicted
clusters are the clustering result, maps coloured by true classes are only a reference.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from .. import metrics  # noqa: E402

NOISE_COLOR = (0.75, 0.75, 0.75, 0.5)


def to_png(fig) -> bytes:
    """Render a figure to PNG bytes and close it."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return buf.getvalue()


def map_2d(embedding: np.ndarray, *, max_points: int = 20_000, random_state: int = 0,
           method: str = "umap") -> tuple[np.ndarray, np.ndarray, str]:
    """2-d coordinates of (a seeded sample of) an embedding: itself if 2-d, else UMAP or PCA.

    ``method="umap"`` falls back to PCA if UMAP fails; data with more than 50 dimensions is
    first reduced to 50 with PCA to keep UMAP fast. Returns ``(indices, coords, how)``
    where ``indices`` are the sampled rows.
    """
    n = len(embedding)
    rng = np.random.default_rng(random_state)
    idx = np.sort(rng.choice(n, size=max_points, replace=False)) if n > max_points else np.arange(n)
    E = np.asarray(embedding[idx], dtype=np.float32)
    if E.shape[1] == 2:
        return idx, E, "the 2-d embedding itself"
    if E.shape[1] == 1:
        return idx, np.column_stack([E[:, 0], np.zeros(len(E))]), "the 1-d embedding"
    from sklearn.decomposition import PCA

    if method == "umap":
        try:
            import umap

            if E.shape[1] > 50:
                E = PCA(n_components=50, random_state=random_state).fit_transform(E)
            coords = umap.UMAP(n_components=2, random_state=random_state, n_jobs=1).fit_transform(E)
            return idx, coords, "UMAP of the embedding"
        except Exception:  # pragma: no cover - UMAP failing on degenerate data
            pass
    return idx, PCA(n_components=2, random_state=random_state).fit_transform(E), "PCA of the embedding"


def scatter_map(coords, colors, title: str, legend_names=None):
    """Scatter of 2-d points coloured by integer labels (-1 = noise, grey).

    Points are drawn in a seeded random order, so no group hides another by being drawn last.
    """
    from matplotlib.lines import Line2D

    colors = np.asarray(colors)
    fig, ax = plt.subplots(figsize=(7, 6))
    uniq = [int(u) for u in np.unique(colors) if u != -1]
    cmap = plt.get_cmap("tab20" if len(uniq) > 10 else "tab10")
    palette = {u: cmap(i % cmap.N) for i, u in enumerate(uniq)}
    palette[-1] = NOISE_COLOR
    order = np.random.default_rng(0).permutation(len(colors))
    ax.scatter(coords[order, 0], coords[order, 1], s=2, c=[palette[int(c)] for c in colors[order]],
               rasterized=True)
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    if len(uniq) <= 30:
        def name(u):
            if u == -1:
                return "noise"
            return legend_names[u] if legend_names is not None and 0 <= u < len(legend_names) else str(u)

        keys = uniq + ([-1] if (colors == -1).any() else [])
        handles = [Line2D([], [], marker="o", linestyle="", color=palette[u], label=name(u)) for u in keys]
        ax.legend(handles=handles, fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5), frameon=False)
    return fig


def training_curves(history: dict):
    """Loss components per phase, label-change fraction and monitored metrics over training."""
    loss_phases = [k for k in ("pretrain", "clustering") if history.get(k)]
    refresh = history.get("refresh") or []
    monitored = [m for m in ("acc", "nmi", "ari") if refresh and m in refresh[0]]
    n_panels = len(loss_phases) + (1 if refresh else 0) + (1 if monitored else 0)
    fig, axes = plt.subplots(1, max(n_panels, 1), figsize=(5 * max(n_panels, 1), 3.6), squeeze=False)
    axes = list(axes[0])
    for phase in loss_phases:
        ax = axes.pop(0)
        records = history[phase]
        _plot_losses(ax, records, phase)
    if refresh:
        ax = axes.pop(0)
        pts = [(r["step"], r["delta_label"]) for r in refresh if r.get("delta_label") is not None]
        if pts:
            ax.plot(*zip(*pts, strict=True), marker=".")
        ax.set_yscale("symlog", linthresh=1e-4)
        ax.set_ylim(bottom=0)
        ax.set_title("fraction of labels changed at each refresh")
        ax.set_xlabel("clustering step")
    if monitored:
        ax = axes.pop(0)
        for m in monitored:
            ax.plot([r["step"] for r in refresh], [r[m] for r in refresh], label=m.upper())
        ax.set_title("ACC / NMI / ARI against true classes (monitoring only)")
        ax.set_xlabel("clustering step")
        ax.legend()
    fig.tight_layout()
    return fig


def _plot_losses(ax, records, phase):
    sub_phases = list(dict.fromkeys(r.get("phase", phase) for r in records))
    keys = sorted({k for r in records for k in r if k not in ("phase", "step")})
    offset = 0
    for sp in sub_phases:
        rs = [r for r in records if r.get("phase", phase) == sp]
        steps = [r["step"] + offset for r in rs]
        for k in keys:
            vals = [r.get(k) for r in rs]
            if any(v is not None for v in vals):
                label = k if len(sub_phases) == 1 else f"{sp}: {k}"
                ax.plot(steps, vals, label=label)
        offset = steps[-1] if steps else offset
    ax.set_yscale("log")
    ax.set_title(f"{phase} losses")
    ax.set_xlabel("step")
    ax.legend(fontsize=7)


def cluster_sizes(labels):
    """Bar chart of the number of points per cluster (noise shown separately)."""
    sizes = metrics.cluster_sizes(labels)
    keys = sorted(sizes)
    fig, ax = plt.subplots(figsize=(max(5, 0.35 * len(keys)), 3.2))
    ax.bar([str(k) if k != -1 else "noise" for k in keys], [sizes[k] for k in keys],
           color=["#bbbbbb" if k == -1 else "#4c72b0" for k in keys])
    ax.set_title("cluster sizes")
    ax.set_xlabel("cluster")
    ax.set_ylabel("points")
    return fig


def confidence_histogram(confidence):
    """Histogram of the assignment confidence (max soft assignment or membership strength)."""
    fig, ax = plt.subplots(figsize=(5, 3.2))
    ax.hist(np.asarray(confidence, dtype=float), bins=40, range=(0, 1), color="#55a868")
    ax.set_title("assignment confidence")
    ax.set_xlabel("confidence")
    ax.set_ylabel("points")
    return fig


def confusion_matrix(y, labels, class_names=None):
    """Classes x clusters counts, clusters reordered by their Hungarian-matched class."""
    table, classes, clusters = metrics.contingency(y, labels)
    mapping = metrics.match_clusters(y, labels)
    class_pos = {c: i for i, c in enumerate(classes.tolist())}
    order = sorted(range(len(clusters)), key=lambda j: (class_pos.get(mapping.get(clusters[j].item()), 1e9),
                                                         clusters[j]))
    table, clusters = table[:, order], clusters[order]
    fig, ax = plt.subplots(figsize=(max(5, 0.5 * len(clusters) + 2), max(4, 0.45 * len(classes) + 1.5)))
    ax.imshow(table, cmap="Blues")
    names = [class_names[c] if class_names is not None and 0 <= c < len(class_names) else str(c)
             for c in classes.tolist()]
    ax.set_yticks(range(len(classes)), names, fontsize=8)
    ax.set_xticks(range(len(clusters)), ["noise" if c == -1 else str(c) for c in clusters.tolist()], fontsize=8)
    ax.set_xlabel("cluster (ordered by matched class)")
    ax.set_ylabel("true class")
    ax.set_title("confusion matrix after Hungarian matching")
    if table.size <= 400:
        peak = table.max() or 1
        for (i, j), v in np.ndenumerate(table):
            ax.text(j, i, str(v), ha="center", va="center", fontsize=6,
                    color="white" if v > 0.6 * peak else "black")
    return fig


def image_grid(images, title: str, ncols: int = 10, row_labels=None, captions=None):
    """A grid of images (n, H, W, C) in [0, 1]; rows may be labelled, images captioned."""
    images = np.asarray(images)
    n = len(images)
    nrows = max(1, int(np.ceil(n / ncols)))
    fig, axes = plt.subplots(nrows, ncols, figsize=(ncols * 0.9, nrows * 0.95 + 0.4), squeeze=False)
    for k, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        for side in ax.spines.values():
            side.set_visible(False)
        if k < n:
            img = np.clip(images[k], 0, 1)
            ax.imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray" if img.shape[-1] == 1 else None,
                      vmin=0, vmax=1)
            if captions is not None:
                ax.set_title(str(captions[k]), fontsize=7)
        if row_labels is not None and k % ncols == 0 and k // ncols < len(row_labels):
            ax.set_ylabel(row_labels[k // ncols], rotation=0, ha="right", va="center", fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def cluster_gallery(images, labels, confidence, cluster: int, per_side: int = 8):
    """The most and the least confident members of one cluster (first and second row)."""
    members = np.flatnonzero(labels == cluster)
    if confidence is None:
        order = members
        rows = ["members"]
        pick = order[: 2 * per_side]
    else:
        order = members[np.argsort(-np.asarray(confidence)[members], kind="stable")]
        top, bottom = order[:per_side], order[::-1][:per_side]
        pick = np.concatenate([top, np.full(per_side - len(top), -1), bottom]) if len(order) else order
        rows = ["most confident", "least confident"]
    shown = np.stack([images[i] if i >= 0 else np.zeros_like(images[0]) for i in pick]) if len(pick) else images[:0]
    name = "noise" if cluster == -1 else f"cluster {cluster}"
    return image_grid(shown, f"{name} ({len(members)} points)", ncols=per_side, row_labels=rows)


def sweep_criteria(summary: list[dict], best: dict[str, int]):
    """A k sweep (:func:`deepclust.sweep.summarize`): one panel per label-free criterion against k,
    its best k (``best``, from :func:`deepclust.sweep.best_k`) marked, then the stability, then,
    when the data has labels, ACC/NMI/ARI in a last panel titled as a reference."""
    ks = [e["k"] for e in summary]
    panels = [(n, title) for n, title in (
        ("silhouette", "silhouette (higher is better)"),
        ("silhouette_embedding", "silhouette on the embedding (higher is better)"),
        ("calinski_harabasz", "Calinski-Harabasz (higher is better)"),
        ("davies_bouldin", "Davies-Bouldin (lower is better)"),
        ("stability", "stability: mean pairwise ARI of the seeds"),
    ) if any(e[n] is not None for e in summary)]
    reference = [m for m in ("acc", "nmi", "ari") if any(e.get(m) is not None for e in summary)]
    n_panels = len(panels) + (1 if reference else 0)
    fig, axes = plt.subplots(1, n_panels, figsize=(4 * n_panels, 3.4), squeeze=False)
    for ax, (name, title) in zip(axes[0], panels, strict=False):
        ax.plot(ks, [e[name] for e in summary], marker="o")
        if name in best:
            k = best[name]
            ax.plot([k], [next(e[name] for e in summary if e["k"] == k)], marker="*", markersize=16,
                    color="#c44e52", linestyle="none", label=f"best k = {k}")
            ax.legend(fontsize=8)
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("k")
    if reference:
        ax = axes[0][-1]
        for m in reference:
            ax.plot(ks, [e.get(m) for e in summary], marker=".", label=m.upper())
        ax.set_title("ACC / NMI / ARI against true classes (reference only)", fontsize=9)
        ax.set_xlabel("k")
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
