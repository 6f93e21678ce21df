"""Score a cluster assignment made by any tool with deepclust's metrics.

A clustering computed elsewhere (another library, a paper's published output, an earlier
``deepclust run``) is read from a file and evaluated against a dataset exactly as ``run``
evaluates its own: the external metrics of :data:`deepclust.metrics.EXTERNAL_METRICS`
(ACC with Hungarian matching, NMI, ARI, AMI, FMI, purity) when the data has labels, and the
internal ones (silhouette on a seeded 10,000-point sample, Calinski-Harabasz,
Davies-Bouldin) on the data's features. So figures from two tools are comparable.

Assignment files: a ``.npy`` array, a text file with one cluster per line (a header line
is allowed), or a ``.csv``/``.tsv`` whose column ``cluster`` (or label/labels/y/...) holds
the clusters, as ``labels.csv`` of ``deepclust run`` does. When such a table also has an
``index`` column, its values name the rows of the data the clusters belong to (a
``run --sample N`` writes them), and only those rows are scored.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from . import metrics
from .data import load_dataset
from .data.labels import LABEL_COLUMN_NAMES, encode_labels, label_column, read_label_file, read_text_rows
from .errors import InputError

ASSIGNMENT_COLUMNS = ("cluster", "clusters", *LABEL_COLUMN_NAMES)
"""Column names searched, in order, for the clusters of a multi-column table."""


def read_assignment(path: str | os.PathLike) -> tuple[np.ndarray, np.ndarray | None]:
    """Read ``(clusters, index)`` from an assignment file (see the module docstring).

    ``clusters`` are int64 codes (whole numbers are kept, so ``-1`` stays noise; text
    names are coded in sorted order); ``index`` is the int64 row numbers of an ``index``
    column, or None when the file has none.
    """
    path = Path(path)
    if path.suffix.lower() == ".npy" or not path.exists():
        return _codes(read_label_file(path), path, "clusters"), None
    rows = read_text_rows(path)
    clusters = _codes(label_column(rows, ASSIGNMENT_COLUMNS, path.name), path, "clusters")
    has_index = len(rows[0]) > 1 and "index" in (h.strip().lower() for h in rows[0])
    index = _codes(label_column(rows, ("index",), path.name), path, "index") if has_index else None
    return clusters, index


def _codes(values, path: Path, what: str) -> np.ndarray:
    return encode_labels(values, source=f"{path.name} ({what})")[0]


def score_assignment(
    assignment,
    data,
    *,
    split: str = "all",
    labels=None,
    internal: bool = True,
    random_state: int = 0,
    prep: str | None = None,
) -> dict:
    """Evaluate a cluster assignment against a dataset; return :func:`deepclust.metrics.evaluate`'s dict.

    Args:
        assignment: the path of an assignment file (see :func:`read_assignment`) or an
            array of one cluster per row of the data.
        data: a dataset name or path, as for ``deepclust run``.
        split: the dataset split the assignment was made on (``"all"``: train then test).
        labels: for user data, the label column or label file (as ``run --labels``).
        internal: also compute the internal metrics on the data's features.
        random_state: seed of the silhouette's sample.
        prep: for a table of your own, ``"standard"`` prepares its columns as ``run --prep
            standard`` does (the internal metrics are then computed on the prepared features).

    Raises:
        InputError: the assignment does not match the data's rows, or there is nothing
            to score (no labels and ``internal=False``).
    """
    if isinstance(assignment, (str, os.PathLike)):
        clusters, index = read_assignment(assignment)
    else:
        clusters, index = encode_labels(np.asarray(assignment), source="assignment")[0], None
    ds = load_dataset(data, split=split, labels=labels, prep=prep)
    if ds.y is None and not internal:
        raise InputError(f"{ds.name} has no labels and internal metrics are off, so there is nothing to score.")
    n = ds.n_samples
    if index is None:
        if len(clusters) != n:
            raise InputError(f"The assignment has {len(clusters)} rows but {ds.name} ({split}) has {n} samples.")
    else:
        if len(index) and (index.min() < 0 or index.max() >= n):
            bad = index[(index < 0) | (index >= n)][0]
            raise InputError(f"The assignment's index names row {int(bad)}, outside the {n} samples of {ds.name}.")
        if len(np.unique(index)) != len(index):
            raise InputError("The assignment's index names a row more than once.")
        ds = ds.subset(index)
    return metrics.evaluate(clusters, ds.y, ds.X if internal else None, random_state=random_state)


def summary_line(result: dict) -> str:
    """One line: samples, clusters (smallest), noise, and every metric present, 4 decimals."""
    smallest = f" (smallest {metrics.smallest_cluster(result['cluster_sizes'])})" if result["n_clusters"] else ""
    parts = [f"{result['n_samples']} samples", f"{result['n_clusters']} clusters{smallest}"]
    if result["noise_fraction"]:
        parts.append(f"noise {result['noise_fraction']:.1%}")
    names = [*metrics.EXTERNAL_METRICS, "silhouette", "calinski_harabasz", "davies_bouldin"]
    parts += [f"{name.upper() if name in metrics.EXTERNAL_METRICS else name} {result[name]:.4f}"
              for name in names if result.get(name) is not None]
    return ", ".join(parts)
