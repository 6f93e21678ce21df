"""Clustering metrics: external (against known labels), internal (from the data) and stability.

Conventions, recorded in every :func:`evaluate` result under ``"conventions"``:

* **ACC** is unsupervised clustering accuracy: the best one-to-one matching between
  predicted clusters and true classes (Hungarian algorithm on the contingency table, as in
  Xie et al. 2016, "Unsupervised Deep Embedding for Clustering Analysis"). It works when the
  number of predicted clusters differs from the number of classes; clusters left without a
  class count as errors. Points labelled ``-1`` (noise, e.g. from HDBSCAN) count as errors.
* **NMI** uses the arithmetic mean of the two entropies as normaliser
  (``average_method="arithmetic"``, scikit-learn's default), as do AMI.
* For noise-producing methods every external metric is also given on the non-noise points
  only (suffix ``_non_noise``), the way some papers report HDBSCAN; the plain values treat
  noise as one extra cluster for NMI/ARI/AMI/FMI/purity and as errors for ACC.
* The silhouette is computed on a seeded random sample of ``silhouette_sample_size`` points
  when the data is larger than that.
"""

from __future__ import annotations

import itertools

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn import metrics as skm

from .errors import InputError
from .validation import check_labels

NOISE = -1
"""The label a clusterer gives to points it leaves unassigned (noise)."""

NMI_AVERAGING = "arithmetic"


def _pair(labels_true, labels_pred):
    y = check_labels(labels_true, name="labels_true")
    p = check_labels(labels_pred, len(y), name="labels_pred")
    return y, p


def contingency(labels_true, labels_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return ``(table, classes, clusters)``: counts of each (class, cluster) pair."""
    y, p = _pair(labels_true, labels_pred)
    classes, yi = np.unique(y, return_inverse=True)
    clusters, pi = np.unique(p, return_inverse=True)
    table = np.zeros((len(classes), len(clusters)), dtype=np.int64)
    np.add.at(table, (yi, pi), 1)
    return table, classes, clusters


def match_clusters(labels_true, labels_pred) -> dict:
    """Hungarian matching of predicted clusters to true classes maximising agreement.

    Returns a dict ``{cluster: class}`` for the matched clusters. The noise label ``-1`` is
    never matched. Unmatched clusters (when there are more clusters than classes) are absent.
    """
    table, classes, clusters = contingency(labels_true, labels_pred)
    keep = clusters != NOISE
    table, clusters = table[:, keep], clusters[keep]
    if table.size == 0:
        return {}
    rows, cols = linear_sum_assignment(table, maximize=True)
    return {clusters[c].item(): classes[r].item() for r, c in zip(rows, cols, strict=True)}


def accuracy(labels_true, labels_pred) -> float:
    """Unsupervised clustering accuracy (ACC) with Hungarian matching; noise counts as error."""
    y, p = _pair(labels_true, labels_pred)
    mapping = match_clusters(y, p)
    if len(y) == 0:
        raise InputError("Cannot compute accuracy on 0 samples.")
    hits = sum(int(np.sum((p == c) & (y == k))) for c, k in mapping.items())
    return hits / len(y)


def purity(labels_true, labels_pred) -> float:
    """Purity: each cluster votes for its majority class (many clusters may pick one class)."""
    table, _, _ = contingency(labels_true, labels_pred)
    return float(table.max(axis=0).sum() / table.sum())


def nmi(labels_true, labels_pred) -> float:
    """Normalised mutual information with arithmetic-mean normalisation."""
    y, p = _pair(labels_true, labels_pred)
    return float(skm.normalized_mutual_info_score(y, p, average_method=NMI_AVERAGING))


def ami(labels_true, labels_pred) -> float:
    """Adjusted mutual information with arithmetic-mean normalisation."""
    y, p = _pair(labels_true, labels_pred)
    return float(skm.adjusted_mutual_info_score(y, p, average_method=NMI_AVERAGING))


def ari(labels_true, labels_pred) -> float:
    """Adjusted Rand index (Hubert and Arabie 1985)."""
    y, p = _pair(labels_true, labels_pred)
    return float(skm.adjusted_rand_score(y, p))


def fowlkes_mallows(labels_true, labels_pred) -> float:
    """Fowlkes-Mallows index: geometric mean of pairwise precision and recall."""
    y, p = _pair(labels_true, labels_pred)
    return float(skm.fowlkes_mallows_score(y, p))


EXTERNAL_METRICS = {
    "acc": accuracy,
    "nmi": nmi,
    "ari": ari,
    "ami": ami,
    "fmi": fowlkes_mallows,
    "purity": purity,
}
"""Name -> function(labels_true, labels_pred) for every external metric."""


def silhouette(X, labels, *, sample_size: int | None = 10_000, random_state=0) -> float | None:
    """Mean silhouette coefficient, on a seeded sample of ``sample_size`` points when larger.

    Noise points are left out. Returns ``None`` when fewer than 2 clusters remain or a
    cluster structure makes the score undefined (every point its own cluster).
    """
    X, labels = _non_noise(X, labels)
    n_clusters = len(np.unique(labels))
    if n_clusters < 2 or n_clusters >= len(labels):
        return None
    if sample_size is not None and len(labels) > sample_size:
        rng = np.random.default_rng(random_state)
        idx = np.sort(rng.choice(len(labels), size=sample_size, replace=False))
        X, labels = np.asarray(X[idx]), labels[idx]
        if len(np.unique(labels)) < 2:
            return None
    return float(skm.silhouette_score(X, labels))


def calinski_harabasz(X, labels) -> float | None:
    """Calinski-Harabasz score on non-noise points; ``None`` with fewer than 2 clusters."""
    X, labels = _non_noise(X, labels)
    if not 2 <= len(np.unique(labels)) < len(labels):
        return None
    return float(skm.calinski_harabasz_score(X, labels))


def davies_bouldin(X, labels) -> float | None:
    """Davies-Bouldin score on non-noise points; ``None`` with fewer than 2 clusters."""
    X, labels = _non_noise(X, labels)
    if not 2 <= len(np.unique(labels)) < len(labels):
        return None
    return float(skm.davies_bouldin_score(X, labels))


def _non_noise(X, labels):
    labels = check_labels(labels, len(X), name="labels")
    keep = labels != NOISE
    if keep.all():
        return X, labels
    return np.asarray(X)[keep], labels[keep]


def cluster_sizes(labels) -> dict[int, int]:
    """Number of points per cluster label (noise ``-1`` included when present)."""
    values, counts = np.unique(check_labels(labels), return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts, strict=True)}


def smallest_cluster(sizes: dict) -> int:
    """The size of the smallest cluster in :func:`cluster_sizes`' dict (keys int or str), noise
    excluded; 0 when there is no cluster."""
    return min((v for k, v in sizes.items() if int(k) != NOISE), default=0)


def confidence_summary(proba) -> dict[str, float]:
    """Mean and quantiles of the assignment confidence (max soft assignment) and entropy."""
    proba = np.asarray(proba, dtype=np.float64)
    if proba.ndim != 2:
        raise InputError("Soft assignments must be a 2-D array (samples x clusters).")
    conf = proba.max(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.nansum(np.where(proba > 0, proba * np.log(proba), 0.0), axis=1)
    return {
        "confidence_mean": float(conf.mean()),
        "confidence_median": float(np.median(conf)),
        "confidence_p10": float(np.quantile(conf, 0.1)),
        "entropy_mean": float(ent.mean()),
    }


def pairwise_ari(label_runs) -> np.ndarray:
    """The ARI of every pair of runs' labelings: a symmetric (runs, runs) matrix, 1 on the diagonal."""
    runs = [check_labels(r, name="labels") for r in label_runs]
    if any(len(r) != len(runs[0]) for r in runs):
        raise InputError("Every run's labels must cover the same samples.")
    out = np.eye(len(runs))
    for i, j in itertools.combinations(range(len(runs)), 2):
        out[i, j] = out[j, i] = skm.adjusted_rand_score(runs[i], runs[j])
    return out


def stability(label_runs) -> float:
    """Mean pairwise ARI between the labelings of several runs (e.g. different seeds).

    1.0 means every run found the same partition (up to renaming of clusters).
    """
    runs = list(label_runs)
    if len(runs) < 2:
        raise InputError("Stability needs the labels of at least 2 runs.")
    ari = pairwise_ari(runs)
    return float(ari[np.triu_indices(len(runs), 1)].mean())


def evaluate(
    labels,
    y=None,
    X=None,
    *,
    proba=None,
    silhouette_sample_size: int | None = 10_000,
    random_state=0,
) -> dict:
    """Evaluate a clustering and return a JSON-ready dict.

    Parameters
    ----------
    labels : array of shape (n,)
        Predicted cluster labels; ``-1`` marks noise.
    y : array of shape (n,), optional
        True classes, used for the external metrics only.
    X : array of shape (n, d), optional
        The features the clustering was computed on, for the internal metrics.
    proba : array of shape (n, k), optional
        Soft assignments, for confidence and entropy summaries.
    silhouette_sample_size, random_state
        Sampling for the silhouette (see :func:`silhouette`).

    Returns
    -------
    dict with ``n_samples``, ``n_clusters`` (excluding noise), ``cluster_sizes``,
    ``noise_fraction``, the external metrics when ``y`` is given (plus ``*_non_noise``
    variants when there is noise), the internal metrics when ``X`` is given, confidence
    summaries when ``proba`` is given, and ``conventions`` describing the choices made.
    """
    labels = check_labels(labels, name="labels")
    n = len(labels)
    if n == 0:
        raise InputError("Cannot evaluate a clustering of 0 samples.")
    noise = labels == NOISE
    sizes = cluster_sizes(labels)
    out: dict = {
        "n_samples": int(n),
        "n_clusters": int(sum(1 for k in sizes if k != NOISE)),
        "cluster_sizes": {str(k): v for k, v in sizes.items()},
        "noise_fraction": float(noise.mean()),
    }
    if y is not None:
        y = check_labels(y, n, name="y")
        for name, fn in EXTERNAL_METRICS.items():
            out[name] = fn(y, labels)
        if noise.any() and not noise.all():
            for name, fn in EXTERNAL_METRICS.items():
                out[f"{name}_non_noise"] = fn(y[~noise], labels[~noise])
    if X is not None:
        if len(X) != n:
            raise InputError(f"X has {len(X)} samples but there are {n} labels.")
        out["silhouette"] = silhouette(
            X, labels, sample_size=silhouette_sample_size, random_state=random_state
        )
        out["calinski_harabasz"] = calinski_harabasz(X, labels)
        out["davies_bouldin"] = davies_bouldin(X, labels)
    if proba is not None:
        out.update(confidence_summary(proba))
    out["conventions"] = {
        "acc": "Hungarian one-to-one matching of clusters to classes; noise and unmatched "
        "clusters count as errors",
        "nmi_averaging": NMI_AVERAGING,
        "ami_averaging": NMI_AVERAGING,
        "noise": "plain metrics treat noise (-1) as one cluster (errors for ACC); "
        "*_non_noise metrics drop noise points",
        "silhouette_sample_size": silhouette_sample_size,
        "silhouette_random_state": random_state,
    }
    return out
