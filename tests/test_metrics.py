"""Metrics against scikit-learn (to 1e-12) and hand-computed cases."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from deepclust import metrics
from deepclust.errors import InputError

RNG = np.random.default_rng(0)
Y = RNG.integers(0, 5, 300)
P = np.where(RNG.random(300) < 0.7, Y, RNG.integers(0, 7, 300))


def test_accuracy_perfect_under_renaming():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert metrics.accuracy(y, np.array([2, 2, 0, 0, 1, 1])) == 1.0


def test_accuracy_hand_computed():
    # contingency: cluster 0 -> {a:3, b:1}, cluster 1 -> {b:2}; best matching 0->a, 1->b = 5/6
    y = np.array(["a", "a", "a", "b", "b", "b"])
    p = np.array([0, 0, 0, 0, 1, 1])
    assert metrics.accuracy(y, p) == pytest.approx(5 / 6)


def test_accuracy_more_clusters_than_classes():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    p = np.array([0, 0, 1, 1, 2, 2, 2, 3])
    # one-to-one: 0->0 (2) and 2->1 (3); clusters 1 and 3 unmatched -> 5/8
    assert metrics.accuracy(y, p) == pytest.approx(5 / 8)


def test_accuracy_fewer_clusters_than_classes():
    y = np.array([0, 0, 1, 1, 2, 2])
    p = np.array([0, 0, 0, 0, 1, 1])
    assert metrics.accuracy(y, p) == pytest.approx(4 / 6)


def test_accuracy_noise_counts_as_error():
    y = np.array([0, 0, 1, 1])
    p = np.array([0, -1, 1, 1])
    assert metrics.accuracy(y, p) == pytest.approx(3 / 4)
    assert -1 not in metrics.match_clusters(y, p)


def test_collapsed_solution_scores_majority_share_but_zero_nmi_ari():
    y = np.array([0] * 6 + [1] * 2 + [2] * 2)
    p = np.zeros(10, dtype=int)
    assert metrics.accuracy(y, p) == pytest.approx(0.6)
    assert metrics.nmi(y, p) == pytest.approx(0.0)
    assert metrics.ari(y, p) == pytest.approx(0.0)


def test_purity_hand_computed():
    y = np.array([0, 0, 0, 1, 1, 2])
    p = np.array([0, 0, 1, 1, 1, 1])
    # cluster 0 majority 2 (class 0), cluster 1 majority 2 (class 1) -> 4/6
    assert metrics.purity(y, p) == pytest.approx(4 / 6)


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (metrics.nmi, lambda a, b: skm.normalized_mutual_info_score(a, b, average_method="arithmetic")),
        (metrics.ami, lambda a, b: skm.adjusted_mutual_info_score(a, b, average_method="arithmetic")),
        (metrics.ari, skm.adjusted_rand_score),
        (metrics.fowlkes_mallows, skm.fowlkes_mallows_score),
    ],
)
def test_external_metrics_equal_sklearn(ours, theirs):
    assert abs(ours(Y, P) - theirs(Y, P)) <= 1e-12


def test_internal_metrics_equal_sklearn():
    X = RNG.normal(size=(300, 4)) + Y[:, None]
    assert abs(metrics.silhouette(X, Y, sample_size=None) - skm.silhouette_score(X, Y)) <= 1e-12
    assert abs(metrics.calinski_harabasz(X, Y) - skm.calinski_harabasz_score(X, Y)) <= 1e-12
    assert abs(metrics.davies_bouldin(X, Y) - skm.davies_bouldin_score(X, Y)) <= 1e-12


def test_silhouette_sampling_is_seeded_and_close():
    X = RNG.normal(size=(2000, 3)) + 3 * (np.arange(2000) % 3)[:, None]
    lab = np.arange(2000) % 3
    a = metrics.silhouette(X, lab, sample_size=500, random_state=1)
    b = metrics.silhouette(X, lab, sample_size=500, random_state=1)
    full = metrics.silhouette(X, lab, sample_size=None)
    assert a == b
    assert abs(a - full) < 0.05


def test_internal_metrics_none_for_one_cluster_and_skip_noise():
    X = RNG.normal(size=(20, 2))
    assert metrics.silhouette(X, np.zeros(20, int)) is None
    lab = np.array([0] * 8 + [1] * 8 + [-1] * 4)
    assert metrics.calinski_harabasz(X, lab) == pytest.approx(
        skm.calinski_harabasz_score(X[:16], lab[:16]), abs=1e-12
    )


def test_stability():
    a = np.array([0, 0, 1, 1, 2, 2])
    assert metrics.stability([a, (a + 1) % 3, a]) == pytest.approx(1.0)
    b = np.array([0, 1, 0, 1, 0, 1])
    expected = np.mean([1.0, skm.adjusted_rand_score(a, b), skm.adjusted_rand_score(a, b)])
    assert metrics.stability([a, a, b]) == pytest.approx(expected)
    with pytest.raises(InputError, match="at least 2 runs"):
        metrics.stability([a])


def test_evaluate_reports_everything_and_conventions():
    X = RNG.normal(size=(300, 3))
    proba = RNG.dirichlet(np.ones(7), size=300)
    out = metrics.evaluate(P, Y, X, proba=proba)
    for key in ("acc", "nmi", "ari", "ami", "fmi", "purity", "silhouette",
                "calinski_harabasz", "davies_bouldin", "confidence_mean", "entropy_mean"):
        assert key in out
    assert out["conventions"]["nmi_averaging"] == "arithmetic"
    assert sum(out["cluster_sizes"].values()) == 300
    assert out["noise_fraction"] == 0.0


def test_evaluate_noise_variants():
    y = np.array([0, 0, 0, 1, 1, 1])
    p = np.array([0, 0, -1, 1, 1, -1])
    out = metrics.evaluate(p, y)
    assert out["noise_fraction"] == pytest.approx(2 / 6)
    assert out["acc"] == pytest.approx(4 / 6)
    assert out["acc_non_noise"] == 1.0
    assert out["n_clusters"] == 2


def test_evaluate_rejects_mismatched_lengths():
    with pytest.raises(InputError, match="labels"):
        metrics.evaluate(np.zeros(3, int), np.zeros(4, int))


labelings = st.integers(2, 40).flatmap(
    lambda n: st.tuples(
        st.lists(st.integers(0, 4), min_size=n, max_size=n),
        st.lists(st.integers(-1, 5), min_size=n, max_size=n),
    )
)


@settings(max_examples=60, deadline=None)
@given(labelings, st.permutations(range(7)))
def test_properties_permutation_invariance_and_bounds(pair, perm):
    y, p = map(np.array, pair)
    renamed = np.array([perm[v] if v >= 0 else -1 for v in p])
    for name, fn in metrics.EXTERNAL_METRICS.items():
        v = fn(y, p)
        assert abs(v - fn(y, renamed)) < 1e-9, name
        if name in ("acc", "nmi", "fmi", "purity"):
            assert -1e-12 <= v <= 1 + 1e-12, name
    assert metrics.accuracy(y, p) <= metrics.purity(y, p) + 1e-12 or (p == -1).any()
