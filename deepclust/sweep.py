"""Choosing the number of clusters: one method over a range of k and several seeds.

Every (k, seed) pair is one :func:`deepclust.run.run` (the same fitting and metrics as
``deepclust run``) on the same samples. Per k the sweep reports, as medians over the seeds,
the internal criteria that need no labels:

- silhouette (P. Rousseeuw, J. Comput. Appl. Math. 20, 1987; higher is better), on a seeded
  10,000-point sample of the data's features, and on the method's embedding where it has one;
- Calinski-Harabasz (Commun. Stat. 3, 1974; higher is better);
- Davies-Bouldin (IEEE TPAMI 1(2), 1979; lower is better);
- stability: the mean pairwise ARI between the seeds' partitions (SPEC section 3). By default
  every seed clusters the same samples, so it measures how far the method's own randomness
  (initialisation, restarts, batch order) moves the result at that k. With ``resample=f``
  each seed clusters its own random fraction f of the samples and the ARI is taken on the
  samples two runs share, as in A. Ben-Hur, A. Elisseeff and I. Guyon, "A stability based
  method for discovering structure in clustered data" (PSB 2002): a k whose partition
  survives perturbed data is one the data supports.

The silhouette, Calinski-Harabasz and Davies-Bouldin best k are named; no single verdict is
drawn, because the criteria disagree on real data and each has its own bias. Stability is
shown, not ranked: it is often highest at k = 2 or wherever a method happens to be
deterministic, and is read as "does the partition at this k hold", beside the others. When
the data has labels, ACC/NMI/ARI are shown as a reference, and nothing is chosen by them.
"""

from __future__ import annotations

import re
import statistics

import numpy as np

from . import metrics
from .errors import InputError

CRITERIA = {  # name: (where run's metrics keep it, True when higher is better)
    "silhouette": (("silhouette",), True),
    "silhouette_embedding": (("internal_embedding", "silhouette"), True),
    "calinski_harabasz": (("calinski_harabasz",), True),
    "davies_bouldin": (("davies_bouldin",), False),
}
"""The label-free criteria of a sweep, besides stability, and which direction is better."""

REFERENCE = ("acc", "nmi", "ari")
"""External metrics shown beside the criteria when the data has labels (never used to choose)."""


def parse_ks(text: str) -> list[int]:
    """Parse a k range: ``"2-12"``, ``"2,4,8"``, ``"2 3 4"`` or a mix (``"2-5 8 10"``); sorted, unique.

    Raises:
        InputError: not integers or ranges, or a k under 2 (a single cluster has no criteria).
    """
    ks: set[int] = set()
    for part in text.replace(",", " ").split():
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if match is None:
            raise InputError(f"--k expects numbers and ranges like 2-12 or 2,4,8; got {part!r}.")
        low, high = int(match[1]), int(match[2] or match[1])
        if high < low:
            raise InputError(f"The range {part} is empty; write the smaller k first.")
        ks.update(range(low, high + 1))
    if not ks:
        raise InputError("--k names no number of clusters.")
    if min(ks) < 2:
        raise InputError("Every k of a sweep must be at least 2: one cluster has no silhouette or stability.")
    return sorted(ks)


def sweep(method: str, dataset, ks, seeds, *, params: dict | None = None, resample: float | None = None,
          progress: bool = False) -> list[dict]:
    """Fit ``method`` for every k in ``ks`` and seed in ``seeds`` on ``dataset``; one dict per run.

    Each dict has ``k``, ``seed``, ``labels`` (int64 array), ``index`` (the rows of
    ``dataset`` the run clustered), ``metrics`` (as ``run``'s metrics.json) and ``seconds``.
    ``dataset`` is a :class:`deepclust.data.Dataset`. Every run clusters all of its samples,
    or with ``resample=f`` (0 < f < 1) a random ``round(f * n)`` of them drawn with the run's
    seed (the same rows for a seed at every k).

    Raises:
        InputError: the method chooses its own number of clusters (HDBSCAN), no k or seed,
            or ``resample`` outside (0, 1).
    """
    from tqdm import tqdm

    from .registry import make_estimator
    from .run import draw_sample, run

    params = dict(params or {})
    if not make_estimator(method, **params).uses_n_clusters:
        raise InputError(f"{method} chooses its own number of clusters, so there is no k to sweep.")
    ks, seeds = list(ks), list(seeds)
    if not ks or not seeds:
        raise InputError("A sweep needs at least one k and one seed.")
    if resample is not None and not 0 < resample < 1:
        raise InputError(f"resample is the fraction of the samples each seed clusters, "
                         f"between 0 and 1; got {resample}.")
    n = dataset.n_samples
    rows = []
    pairs = [(k, s) for k in ks for s in seeds]
    for k, seed in tqdm(pairs, disable=not progress, unit="run", desc=f"sweep {method}"):
        index = np.arange(n) if resample is None else draw_sample(n, max(2, round(resample * n)), seed)
        data = dataset if resample is None else dataset.subset(index)
        res = run(method, data, n_clusters=k, seed=seed, params=params, report=False)
        rows.append({"k": k, "seed": seed, "labels": np.asarray(res.labels, dtype=np.int64), "index": index,
                     "metrics": res.metrics, "seconds": sum(res.record["seconds"].values())})
    return rows


def shared_rows_stability(runs: list[dict]) -> float:
    """Mean pairwise ARI of the runs' partitions, each pair compared on the rows both clustered
    (``index``); with identical rows this is :func:`deepclust.metrics.stability`."""
    scores = []
    for i, a in enumerate(runs):
        for b in runs[i + 1:]:
            _, ia, ib = np.intersect1d(a["index"], b["index"], assume_unique=True, return_indices=True)
            if len(ia) < 2:
                raise InputError("Two runs of the sweep share fewer than 2 samples; use a larger resample fraction.")
            scores.append(metrics.ari(a["labels"][ia], b["labels"][ib]))
    return float(np.mean(scores))


def summarize(rows: list[dict]) -> list[dict]:
    """Per k: the median of each criterion (and reference metric) over the seeds, the stability
    (None with one seed), the smallest cluster and the median seconds, in ascending k."""
    out = []
    for k in sorted({r["k"] for r in rows}):
        runs = [r for r in rows if r["k"] == k]
        entry = {"k": k, "seeds": [r["seed"] for r in runs]}
        for name, (path, _) in CRITERIA.items():
            entry[name] = _median([_get(r["metrics"], path) for r in runs])
        entry["stability"] = shared_rows_stability(runs) if len(runs) > 1 else None
        for name in REFERENCE:
            entry[name] = _median([r["metrics"].get(name) for r in runs])
        entry["smallest_cluster"] = min(metrics.smallest_cluster(r["metrics"]["cluster_sizes"]) for r in runs)
        entry["seconds"] = statistics.median(r["seconds"] for r in runs)
        out.append(entry)
    return out


def best_k(summary: list[dict]) -> dict[str, int]:
    """The best k of each criterion of :data:`CRITERIA` (ties go to the smaller k; stability is
    not ranked, see the module docstring); criteria with no value at any k are left out."""
    picks = {}
    for name, (_, higher) in CRITERIA.items():
        scored = [(e[name], e["k"]) for e in summary if e[name] is not None]
        if scored:
            value = max(v for v, _ in scored) if higher else min(v for v, _ in scored)
            picks[name] = min(k for v, k in scored if v == value)
    return picks


def markdown(summary: list[dict]) -> str:
    """The sweep as a markdown table (4 decimals; each criterion's best k marked with *),
    followed by one line naming each criterion's best k."""
    picks = best_k(summary)
    shown = [n for n in [*CRITERIA, "stability"] if any(e[n] is not None for e in summary)]
    reference = [n for n in REFERENCE if any(e[n] is not None for e in summary)]
    head = ["k", "seeds", *shown, *[f"{n.upper()} (reference)" for n in reference], "smallest cluster", "seconds/run"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in summary:
        cells = [str(e["k"]), str(len(e["seeds"]))]
        cells += [_fmt(e[n]) + ("*" if picks.get(n) == e["k"] else "") for n in shown]
        cells += [_fmt(e[n]) for n in reference]
        cells += [f"{e['smallest_cluster']:,}", f"{e['seconds']:.1f}"]
        lines.append("| " + " | ".join(cells) + " |")
    best = ", ".join(f"{name} k={k}" for name, k in picks.items())
    return "\n".join(lines) + f"\n\nBest k by silhouette, Calinski-Harabasz and Davies-Bouldin: {best}.\n"


def _get(result: dict, path: tuple[str, ...]):
    for key in path:
        if not isinstance(result, dict) or key not in result:
            return None
        result = result[key]
    return result


def _median(values):
    values = [v for v in values if v is not None]
    return float(statistics.median(values)) if values else None


def _fmt(value) -> str:
    return "—" if value is None else f"{value:.4f}"
