"""Combine several clusterings of the same samples into one, without labels (cluster ensembles).

Deep clustering results depend on the pretraining's draw far more than on anything a user
sets: N2D's ten Fashion-MNIST seeds range over .11 ACC (benchmarks/README.md). Whoever can
afford several runs can combine them into one partition and see how far they agree. Two
methods from the cluster-ensemble literature, neither of which looks at class labels:

- ``"qmi"`` (default): the quadratic-mutual-information consensus of A. Topchy, A. K. Jain
  and W. Punch, "Combining multiple weak clusterings" (ICDM 2003) and "Clustering
  ensembles: models of consensus and weak partitions" (IEEE TPAMI 27(12), 2005). Each
  sample becomes the concatenation of the one-hot indicators of its cluster in every input
  run (a noise label gives all zeros), and k-means partitions these vectors; its objective
  is, up to constants, the summed quadratic mutual information between the consensus and
  the inputs. Samples with the same indicator pattern are one weighted point, which gives
  the same k-means objective in a fraction of the time.
- ``"medoid"``: the input run with the largest mean NMI to the other inputs, the average
  normalised mutual information criterion of A. Strehl and J. Ghosh, "Cluster ensembles - a
  knowledge reuse framework for combining multiple partitions" (JMLR 3, 2002), restricted to
  the inputs. It keeps one run's own partition (and its noise).

Beside the labels, :class:`Consensus` reports each sample's agreement (the mean over the input
runs of the share of its consensus cluster that the run puts in the sample's own cluster:
1 where every run agrees with the consensus about it), the pairwise ARI of the inputs (their
stability, SPEC section 3) and each input's ARI and NMI to the consensus.
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import metrics
from .errors import InputError
from .metrics import NOISE

METHODS = ("qmi", "medoid")
"""The consensus methods :func:`consensus` accepts (see the module docstring)."""

DENSE_LIMIT = 50_000_000
"""Above this many entries (400 MB of float64) the ``qmi`` indicator patterns are held as a
sparse matrix: runs with hundreds of clusters (HDBSCAN's, say) stay within memory. k-means
then sums in another order, so a partition can differ from the dense one by ties."""


@dataclass
class Consensus:
    """The result of :func:`consensus`.

    Attributes:
        labels: the consensus cluster of each sample (int64, ``-1`` for noise).
        agreement: per sample, in [0, 1]: the mean over the input runs of the share of the
            sample's consensus cluster that the run puts in the sample's cluster (a run that
            calls the sample noise contributes 0); NaN for a noise sample of the consensus.
        method: ``"qmi"`` or ``"medoid"``.
        n_clusters: the number of clusters the consensus was asked for (``qmi``) or has
            (``medoid``, noise excluded).
        medoid: for ``"medoid"``, the position of the chosen run among the inputs; else None.
        pairwise_ari: the inputs' ARI with each other, shape (runs, runs), 1 on the diagonal.
        ari_to_consensus, nmi_to_consensus: each input's agreement with the consensus.
    """

    labels: np.ndarray
    agreement: np.ndarray
    method: str
    n_clusters: int
    medoid: int | None
    pairwise_ari: np.ndarray
    ari_to_consensus: list[float]
    nmi_to_consensus: list[float]

    def summary(self) -> dict:
        """A JSON-ready dict of everything but the per-sample arrays, plus the inputs'
        stability (mean pairwise ARI), the consensus' cluster sizes and the mean agreement."""
        clustered = self.labels != NOISE
        return {
            "method": self.method,
            "runs": len(self.pairwise_ari),
            "n_clusters": self.n_clusters,
            "medoid": self.medoid,
            "stability": float(self.pairwise_ari[np.triu_indices(len(self.pairwise_ari), 1)].mean()),
            "pairwise_ari": self.pairwise_ari.round(6).tolist(),
            "ari_to_consensus": self.ari_to_consensus,
            "nmi_to_consensus": self.nmi_to_consensus,
            "cluster_sizes": {str(k): v for k, v in metrics.cluster_sizes(self.labels).items()},
            "agreement_mean": float(self.agreement[clustered].mean()) if clustered.any() else None,
        }


def consensus(label_runs, n_clusters: int | None = None, *, method: str = "qmi", n_init: int = 20,
              random_state: int = 0) -> Consensus:
    """Combine the clusterings ``label_runs`` of the same samples into one (module docstring).

    Args:
        label_runs: two or more label arrays of equal length, one per run (``-1`` = noise);
            cluster names need not correspond between runs.
        n_clusters: clusters of the ``qmi`` consensus; default the most common number of
            clusters among the runs (noise excluded; a tie goes to the earliest run's).
            ``medoid`` takes none (it keeps a run's own clusters).
        method: ``"qmi"`` or ``"medoid"``.
        n_init, random_state: k-means++ restarts of ``qmi`` (the lowest inertia is kept) and
            their seed.

    Raises:
        InputError: fewer than two runs, runs of different lengths, an unknown method,
            ``n_clusters`` with ``medoid``, or more clusters asked for than the runs' distinct
            cluster patterns allow.
    """
    runs = [metrics.check_labels(r, name="labels") for r in label_runs]
    if len(runs) < 2:
        raise InputError("A consensus needs the labels of at least 2 runs.")
    if any(len(r) != len(runs[0]) for r in runs):
        sizes = sorted({len(r) for r in runs})
        raise InputError(f"Every run must label the same samples, but the runs have {sizes} labels.")
    if method not in METHODS:
        raise InputError(f"Unknown consensus method {method!r}; choose one of {', '.join(METHODS)}.")
    if method == "medoid" and n_clusters is not None:
        raise InputError("The medoid consensus keeps one run's own clusters, so it takes no number of clusters.")
    ari = metrics.pairwise_ari(runs)
    medoid = None
    if method == "medoid":
        nmi = np.zeros((len(runs), len(runs)))
        for i, j in itertools.combinations(range(len(runs)), 2):
            nmi[i, j] = nmi[j, i] = metrics.nmi(runs[i], runs[j])
        medoid = int(nmi.sum(axis=1).argmax())  # the largest mean NMI to the others; the first of equals
        labels = runs[medoid]
        n_clusters = _count_clusters(labels)
    else:
        if n_clusters is None:
            n_clusters = Counter(_count_clusters(r) for r in runs).most_common(1)[0][0]
        labels = _qmi(runs, int(n_clusters), n_init, random_state)
    return Consensus(
        labels=labels,
        agreement=_agreement(labels, runs),
        method=method,
        n_clusters=int(n_clusters),
        medoid=medoid,
        pairwise_ari=ari,
        ari_to_consensus=[metrics.ari(r, labels) for r in runs],
        nmi_to_consensus=[metrics.nmi(r, labels) for r in runs],
    )


def _count_clusters(labels: np.ndarray) -> int:
    return sum(1 for k in metrics.cluster_sizes(labels) if k != NOISE)


def _one_hot_patterns(runs: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(patterns, inverse, counts)``: the distinct rows of the concatenated one-hot
    indicators (dense, or a sparse CSR matrix above :data:`DENSE_LIMIT` entries), which row
    each sample has, and how many samples have each."""
    codes = np.stack([np.unique(r, return_inverse=True)[1] for r in runs], axis=1)
    distinct, inverse, counts = np.unique(codes, axis=0, return_inverse=True, return_counts=True)
    rows, cols, offset = [], [], 0
    for j, r in enumerate(runs):
        names = np.unique(r)
        cluster = names[distinct[:, j]] != NOISE  # noise is no cluster: it shares nothing with anyone
        rows.append(np.flatnonzero(cluster))
        cols.append(offset + distinct[cluster, j])
        offset += len(names)
    rows, cols = np.concatenate(rows), np.concatenate(cols)
    shape = (len(distinct), offset)
    if shape[0] * shape[1] > DENSE_LIMIT:
        from scipy import sparse

        patterns = sparse.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=shape)
    else:
        patterns = np.zeros(shape)
        patterns[rows, cols] = 1.0
    return patterns, inverse.reshape(-1), counts


def _qmi(runs: list[np.ndarray], n_clusters: int, n_init: int, random_state: int) -> np.ndarray:
    from sklearn.cluster import KMeans

    patterns, inverse, counts = _one_hot_patterns(runs)
    all_noise = np.asarray(patterns.sum(axis=1)).reshape(-1) == 0  # noise in every run stays noise
    keep = np.flatnonzero(~all_noise)
    if n_clusters < 1 or n_clusters > len(keep):
        raise InputError(
            f"The runs split the samples into {len(keep)} distinct cluster patterns, so a consensus "
            f"of {n_clusters} clusters is not possible; ask for between 1 and {len(keep)}."
        )
    model = KMeans(n_clusters=n_clusters, init="k-means++", n_init=n_init, random_state=random_state)
    model.fit(patterns[keep], sample_weight=counts[keep])
    per_pattern = np.full(patterns.shape[0], NOISE, dtype=np.int64)
    per_pattern[keep] = model.labels_
    return per_pattern[inverse]


def _agreement(labels: np.ndarray, runs: list[np.ndarray]) -> np.ndarray:
    clustered = labels != NOISE
    out = np.full(len(labels), np.nan)
    if not clustered.any():
        return out
    c = np.unique(labels[clustered], return_inverse=True)[1]
    total = np.zeros(int(clustered.sum()))
    for r in runs:
        a = r[clustered]
        names, a_code = np.unique(a, return_inverse=True)
        table = np.zeros((c.max() + 1, len(names)))
        np.add.at(table, (c, a_code), 1.0)
        share = table[c, a_code] / table.sum(axis=1)[c]
        total += np.where(a == NOISE, 0.0, share)
    out[clustered] = total / len(runs)
    return out


def read_runs(paths) -> tuple[list[np.ndarray], np.ndarray | None]:
    """Read the clusterings to combine: ``(label runs, index)``.

    Each path is a ``deepclust run`` output folder (its ``labels.csv`` is read) or an
    assignment file in any format :func:`deepclust.score.read_assignment` reads. Runs whose
    files carry an ``index`` column are aligned on it (rows in any order); they must then all
    name the same rows, which ``index`` returns in ascending order (None when no file has one).
    """
    from .score import read_assignment

    runs, indices = [], []
    for path in map(Path, paths):
        clusters, index = read_assignment(path / "labels.csv" if path.is_dir() else path)
        if index is not None:
            order = np.argsort(index, kind="stable")
            clusters, index = clusters[order], index[order]
        runs.append(clusters)
        indices.append(index)
    named = [i for i in indices if i is not None]
    if not named:
        return runs, None
    if len(named) < len(indices) and any(not np.array_equal(i, np.arange(len(i))) for i in named):
        raise InputError("Some runs name their rows (an index column) and others do not, and the "
                         "named rows are not simply 0, 1, 2, ...; give every run an index column.")
    if any(len(i) != len(named[0]) or not np.array_equal(i, named[0]) for i in named):
        raise InputError("The runs cluster different samples (their index columns differ), as runs "
                         "of `run --sample` with different seeds do; combine runs of the same rows.")
    return runs, named[0]
