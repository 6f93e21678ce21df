"""Cluster ensembles: `deepclust.consensus` and the `deepclust consensus` command."""

import json

import numpy as np
import pytest
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from test_cli import assert_one_sentence_error, cli

from deepclust import metrics
from deepclust.consensus import consensus, read_runs

# three runs over 9 samples: the first two find {0,1,2} {3,4,5} {6,7,8}; the third moves
# samples 2 and 5 and names its clusters differently
A = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2])
B = np.array([5, 5, 5, 7, 7, 7, 9, 9, 9])
C = np.array([2, 2, 1, 1, 1, 0, 0, 0, 0])


def test_identical_partitions_under_other_names_give_that_partition():
    result = consensus([A, B, (A + 1) % 3])
    assert metrics.ari(A, result.labels) == 1.0
    np.testing.assert_array_equal(result.agreement, np.ones(9))
    np.testing.assert_array_equal(result.pairwise_ari, np.ones((3, 3)))
    assert result.summary()["stability"] == 1.0 and result.n_clusters == 3


def test_qmi_follows_the_majority_and_agreement_is_the_runs_mean_share():
    result = consensus([A, B, C])
    assert metrics.ari(A, result.labels) == 1.0  # two runs of three outvote the third
    # sample 2: its consensus cluster {0,1,2}; A and B put all 3 with it, C only itself (1 of 3)
    assert result.agreement[2] == pytest.approx((1 + 1 + 1 / 3) / 3)
    # sample 0: C puts 0 and 1 (2 of 3) in its cluster
    assert result.agreement[0] == pytest.approx((1 + 1 + 2 / 3) / 3)
    assert result.ari_to_consensus[:2] == [1.0, 1.0] and result.ari_to_consensus[2] < 1.0
    assert result.pairwise_ari[0, 2] == pytest.approx(metrics.ari(A, C))


def test_sparse_patterns_give_the_same_majority(monkeypatch):
    """Above DENSE_LIMIT entries the indicators are a sparse matrix (runs with many clusters)."""
    import deepclust.consensus as module

    monkeypatch.setattr(module, "DENSE_LIMIT", 0)
    patterns, inverse, counts = module._one_hot_patterns([A, B, C])
    assert patterns.format == "csr" and patterns.shape == (5, 9) and counts.sum() == 9
    assert metrics.ari(A, consensus([A, B, C]).labels) == 1.0
    noisy = consensus([np.array([-1, 0, 0, 1, 1]), np.array([-1, 2, 2, 3, 3])])
    np.testing.assert_array_equal(noisy.labels == -1, [True, False, False, False, False])


def test_medoid_keeps_the_run_with_the_largest_mean_nmi_to_the_others():
    outlier = np.array([0, 1, 2, 0, 1, 2, 0, 1, 2])
    runs = [outlier, C, A]
    result = consensus(runs, method="medoid")
    mean_nmi = [np.mean([metrics.nmi(a, b) for b in runs if b is not a]) for a in runs]
    assert result.medoid == int(np.argmax(mean_nmi))
    np.testing.assert_array_equal(result.labels, runs[result.medoid])
    assert result.n_clusters == 3 and result.ari_to_consensus[result.medoid] == 1.0
    assert consensus([A, B], method="medoid").medoid == 0  # equal means: the first run


def test_medoid_picks_the_central_run():
    near = A.copy()
    near[8] = 1  # one sample moved
    far = C
    result = consensus([far, near, A], method="medoid")
    assert result.medoid == 2  # A: NMI to `near` is the highest pair, and to `far` higher than near's
    np.testing.assert_array_equal(result.labels, A)


def test_noise_in_every_run_stays_noise_and_counts_as_no_cluster():
    a = np.array([-1, 0, 0, 0, 1, 1, 1, -1])
    b = np.array([-1, 1, 1, 1, 0, 0, 0, 0])
    result = consensus([a, b])
    assert result.labels[0] == -1 and np.isnan(result.agreement[0])
    assert len(set(result.labels[1:].tolist())) == 2
    assert result.labels[1] == result.labels[2] == result.labels[3] != result.labels[4]
    # sample 7: noise in a (0), in b's cluster {4,...,7} with the consensus cluster's all members
    members = result.labels == result.labels[7]
    share_b = np.mean(b[members] == b[7])
    assert result.agreement[7] == pytest.approx((0 + share_b) / 2)


def test_number_of_clusters_defaults_to_the_most_common_and_can_be_set():
    two = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1])
    assert consensus([A, B, two]).n_clusters == 3
    assert consensus([two, A]).n_clusters == 2  # a tie goes to the first run's
    result = consensus([A, B, C], n_clusters=2)
    assert result.n_clusters == 2 and len(set(result.labels.tolist())) == 2


@pytest.mark.parametrize(
    "runs, kwargs, message",
    [
        ([A], {}, "at least 2 runs"),
        ([A, A[:5]], {}, "same samples"),
        ([A, B], {"method": "vote"}, "Unknown consensus method"),
        ([A, B], {"n_clusters": 4}, "3 distinct cluster patterns"),
        ([A, B], {"method": "medoid", "n_clusters": 3}, "takes no number of clusters"),
    ],
)
def test_errors(runs, kwargs, message):
    with pytest.raises(Exception, match=message):
        consensus(runs, **kwargs)


def test_digits_consensus_of_five_kmeans_runs_is_at_least_their_median():
    """Five single-restart k-means runs on digits, combined without labels (floors measured:
    members' ACC .706-.791, median .782; qmi .796, medoid .791)."""
    X, y = load_digits(return_X_y=True)
    runs = [KMeans(10, n_init=1, random_state=s).fit_predict(X) for s in range(5)]
    members = sorted(metrics.accuracy(y, r) for r in runs)
    qmi = consensus(runs)
    medoid = consensus(runs, method="medoid")
    assert metrics.accuracy(y, qmi.labels) >= members[2] and metrics.accuracy(y, qmi.labels) > 0.79
    assert metrics.accuracy(y, medoid.labels) == pytest.approx(metrics.accuracy(y, runs[medoid.medoid]))
    assert metrics.accuracy(y, medoid.labels) > members[0] + 0.05  # not the weak run (.706)
    assert 0.85 < np.nanmean(qmi.agreement) < 0.95


def test_read_runs_aligns_index_columns_and_refuses_different_rows(tmp_path):
    (tmp_path / "r1").mkdir()
    (tmp_path / "r1" / "labels.csv").write_text("index,cluster,confidence\n0,1,\n1,1,\n2,0,\n")
    (tmp_path / "r2.csv").write_text("index,cluster\n2,5\n0,3\n1,3\n")  # the same rows, shuffled
    runs, index = read_runs([tmp_path / "r1", tmp_path / "r2.csv"])
    np.testing.assert_array_equal(index, [0, 1, 2])
    np.testing.assert_array_equal(runs[1], [3, 3, 5])
    (tmp_path / "r3.csv").write_text("index,cluster\n0,1\n1,1\n3,0\n")
    with pytest.raises(Exception, match="cluster different samples"):
        read_runs([tmp_path / "r1", tmp_path / "r3.csv"])
    (tmp_path / "plain.txt").write_text("1\n1\n0\n")  # no index: rows 0, 1, 2 in order
    runs, index = read_runs([tmp_path / "r1", tmp_path / "plain.txt"])
    np.testing.assert_array_equal(index, [0, 1, 2])


def test_cli_writes_labels_and_summary_and_scores_on_digits(capsys, tmp_path):
    X, y = load_digits(return_X_y=True)
    paths = []
    for s in range(3):
        path = tmp_path / f"run{s}.npy"
        np.save(path, KMeans(10, n_init=1, random_state=s).fit_predict(X))
        paths.append(str(path))
    out = tmp_path / "cons"
    code, stdout, err = cli(capsys, "consensus", *paths, "--out", out, "--data", "digits")
    assert code == 0, err
    assert "Combined 3 runs" in stdout and "ACC" in stdout
    summary = json.loads((out / "consensus.json").read_text())
    labels = np.loadtxt(out / "labels.csv", delimiter=",", skiprows=1)
    np.testing.assert_array_equal(labels[:, 0], np.arange(len(y)))
    assert summary["runs"] == 3 and summary["method"] == "qmi" and summary["inputs"] == paths
    assert summary["metrics"]["acc"] == pytest.approx(metrics.accuracy(y, labels[:, 1].astype(int)))
    assert summary["metrics"]["acc"] > 0.75
    assert np.all((labels[:, 2] > 0) & (labels[:, 2] <= 1))
    code, _, err = cli(capsys, "consensus", *paths, "--out", out)
    assert_one_sentence_error(code, err, "already holds a consensus")
    code, stdout, _ = cli(capsys, "consensus", *paths, "--out", out, "--method", "medoid", "--force")
    assert code == 0 and "by medoid (run " in stdout
    code, _, err = cli(capsys, "consensus", paths[0], tmp_path / "short.txt", "--out", tmp_path / "x")
    assert_one_sentence_error(code, err, "does not exist")
