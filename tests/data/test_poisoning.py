"""`ms.data.poisoning`: spectral scores against ART and against the paper's formula by
numpy's SVD, activation clustering against ART's PCA + KMeans partition, kNN against
scikit-learn's exact neighbours, recall on planted backdoor activations, the suspects
rule, determinism over thread counts, bad inputs, the report and the command line."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

import mlsentry as ms
from mlsentry.cli import main
from mlsentry.errors import InvalidInputError, InvalidTypeError

with warnings.catch_warnings():  # ART warns that PyTorch is missing
    warnings.simplefilter("ignore")
    from art.defences.detector.poison.activation_defence import cluster_activations
    from art.defences.detector.poison.spectral_signature_defense import (
        SpectralSignatureDefense,
    )


def paper_scores(R: np.ndarray) -> np.ndarray:
    """Tran et al. 2018, Algorithm 1: (v . (R_i - mean))^2, v the top right singular
    vector of the centred rows."""
    M = R - R.mean(axis=0)
    v = np.linalg.svd(M, full_matrices=False)[2][0]
    return (M @ v) ** 2


def anisotropic(rng, n: int, d: int, classes: int) -> tuple[np.ndarray, np.ndarray]:
    """Class clouds with spread-out variances (a well separated top singular value)."""
    scale = np.linspace(2.5, 0.5, d)
    y = np.arange(n) % classes
    X = rng.normal(size=(n, d)) * scale + 4.0 * rng.normal(size=(classes, d))[y]
    return X, y


def planted(seed: int = 0, n_per_class: int = 800, d: int = 64, classes: int = 4):
    """Backdoor activations: per class a Gaussian cloud (variances 0.5..2), 5% of its rows
    shifted by 10 along one trigger direction shared by the classes."""
    rng = np.random.default_rng(seed)
    trigger = rng.normal(size=d)
    trigger *= 10.0 / np.linalg.norm(trigger)
    X, y, poisoned = [], [], []
    for c in range(classes):
        cloud = rng.normal(size=(n_per_class, d)) * np.sqrt(rng.uniform(0.5, 2.0, d))
        cloud += 3.0 * rng.normal(size=d)
        bad = np.zeros(n_per_class, dtype=bool)
        bad[rng.choice(n_per_class, n_per_class // 20, replace=False)] = True
        cloud[bad] += trigger
        X.append(cloud)
        y.append(np.full(n_per_class, c))
        poisoned.append(bad)
    order = rng.permutation(n_per_class * classes)
    return np.vstack(X)[order], np.concatenate(y)[order], np.concatenate(poisoned)[order]


# -- spectral --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("n", "d"),
    [(1200, 64), (1500, 300), (240, 500)],
    ids=["jacobi", "subspace-iteration", "gram-rows-fewer-than-columns"],
)
def test_spectral_scores_are_the_papers_formula_and_arts(n, d):
    rng = np.random.default_rng(n + d)
    X, y = anisotropic(rng, n, d, 3)
    ours = ms.data.poisoning(X, y, "spectral").scores
    uncentred = ms.data.poisoning(X, y, "spectral", centered=False).scores
    for c in range(3):
        R = X[y == c]
        ref = paper_scores(R)
        np.testing.assert_allclose(ours[y == c], ref, rtol=1e-9, atol=1e-12 * ref.max())
        art = SpectralSignatureDefense.spectral_signature_scores(R)[:, 0]
        np.testing.assert_allclose(uncentred[y == c], art, rtol=1e-9, atol=1e-12 * art.max())


@pytest.mark.parametrize(("ratio", "rtol"), [(0.99, 1e-9), (0.9999, 1e-7)])
def test_nearly_equal_top_singular_values(ratio, rtol):
    """The top direction is determined only to about (rounding / eigengap): with
    sigma_2 / sigma_1 = 0.9999 both codes still agree to 1e-7 (and on most rows to 1e-11);
    the report gives the ratio so a reader can tell."""
    rng = np.random.default_rng(1)
    n, d = 600, 300
    A = rng.normal(size=(n, d))
    U = np.linalg.qr(A - A.mean(axis=0))[0]  # orthonormal, zero-mean columns
    V = np.linalg.qr(rng.normal(size=(d, d)))[0]
    s = np.linspace(1.0, 0.1, d)
    s[:2] = [10.0, 10.0 * ratio]
    X = np.vstack([U @ np.diag(s) @ V.T, rng.normal(size=(n, d))])
    y = np.repeat([0, 1], n)
    rep = ms.data.poisoning(X, y)
    ref = paper_scores(X[:n])
    np.testing.assert_allclose(rep.scores[:n], ref, rtol=rtol, atol=1e-12 * ref.max())
    assert rep.per_class[0]["sigma_ratio"] == pytest.approx(ratio, rel=1e-12)


def test_the_spectral_summary_reports_the_singular_values():
    rng = np.random.default_rng(5)
    X, y = anisotropic(rng, 600, 20, 2)
    rep = ms.data.poisoning(X, y)
    for c in rep.per_class:
        s = np.linalg.svd(X[y == c["class"]] - X[y == c["class"]].mean(0), compute_uv=False)
        assert c["sigma_1"] == pytest.approx(s[0], rel=1e-12)
        assert c["sigma_ratio"] == pytest.approx(s[1] / s[0], rel=1e-9)
        assert c["converged"] is True


def test_planted_backdoor_recall_spectral_and_clustering():
    X, y, poisoned = planted()
    for method in ("spectral", "activation_clustering"):
        rep = ms.data.poisoning(X, y, method, expected_fraction=0.05)
        recall = np.isin(np.flatnonzero(poisoned), rep.suspects).mean()
        assert recall >= 0.95, (method, recall)
        # the top 7.5% of each class: floor(0.075 * 800) = 60 rows per class
        assert [c["suspects"] for c in rep.per_class] == [60] * 4
        assert len(rep.suspects) == 240


def test_activation_clustering_splits_like_arts_pca_kmeans():
    X, y, poisoned = planted(seed=3, n_per_class=400, d=32, classes=3)
    rep = ms.data.poisoning(X, y, "activation_clustering", seed=1)
    clusters, _ = cluster_activations([X[y == c] for c in range(3)], reduce="PCA")
    for c, labels in enumerate(clusters):
        smaller = np.argmin(np.bincount(labels, minlength=2))
        art_suspect = labels == smaller
        ours = rep.scores[y == c] > 0  # positive exactly inside the suspect cluster
        np.testing.assert_array_equal(ours, art_suspect)
        np.testing.assert_array_equal(ours, poisoned[y == c])
        assert rep.per_class[c]["suspect_cluster_rows"] == art_suspect.sum()


def test_the_less_cohesive_cluster_can_be_the_suspect():
    rng = np.random.default_rng(6)
    wide = rng.normal(size=(140, 5)) * 2.0  # the larger, looser cluster
    tight = rng.normal(size=(60, 5)) * 0.2 + 12.0
    X = np.vstack([wide, tight, wide + 40.0, tight + 40.0])
    y = np.repeat([0, 1], 200)
    smaller = ms.data.poisoning(X, y, "activation_clustering")
    loose = ms.data.poisoning(X, y, "activation_clustering", cluster_analysis="less_cohesive")
    in_tight = np.r_[np.zeros(140, bool), np.ones(60, bool)]
    in_tight = np.r_[in_tight, in_tight]
    np.testing.assert_array_equal(smaller.scores > 0, in_tight)
    np.testing.assert_array_equal(loose.scores > 0, ~in_tight)
    c = loose.per_class[0]
    assert c["suspect_cluster_rows"] == 140
    assert c["suspect_cluster_spread"] > c["other_cluster_spread"]
    assert loose.config["cluster_analysis"] == "less_cohesive"
    with pytest.raises(InvalidInputError, match="cluster_analysis"):
        ms.data.poisoning(X, y, "activation_clustering", cluster_analysis="silhouette")


def test_activation_clustering_is_seeded():
    rng = np.random.default_rng(9)
    X, y = anisotropic(rng, 500, 12, 2)
    a = ms.data.poisoning(X, y, "activation_clustering", seed=4).scores
    b = ms.data.poisoning(X, y, "activation_clustering", seed=4).scores
    np.testing.assert_array_equal(a, b)


# -- kNN -------------------------------------------------------------------------------
def test_knn_scores_match_scikit_learn_neighbours():
    from sklearn.neighbors import NearestNeighbors

    rng = np.random.default_rng(2)
    X = rng.normal(size=(700, 6)) * [1, 2, 3, 0.5, 1, 10]
    y = rng.integers(0, 3, 700)
    rep = ms.data.poisoning(X, y, "knn", k=7)
    Z = (X - X.mean(0)) / X.std(0)
    _, idx = NearestNeighbors(n_neighbors=8).fit(Z).kneighbors(Z)
    neighbours = idx[:, 1:]  # no duplicates here: the row itself comes first
    assert (idx[:, 0] == np.arange(700)).all()
    expected = (y[neighbours] != y[:, None]).mean(axis=1)
    np.testing.assert_array_equal(rep.scores, expected)


def test_knn_finds_flipped_labels():
    rng = np.random.default_rng(4)
    centres = rng.normal(size=(4, 10)) * 8
    y = np.arange(2000) % 4
    X = centres[y] + rng.normal(size=(2000, 10))
    flipped = rng.choice(2000, 60, replace=False)
    noisy = y.copy()
    noisy[flipped] = (y[flipped] + 1) % 4
    rep = ms.data.poisoning(X, noisy, "knn")
    assert np.isin(flipped, rep.suspects).mean() >= 0.95
    assert (rep.scores[flipped] >= 0.8).all()  # a neighbour may be flipped too


# -- the suspects rule and labels -------------------------------------------------------
def test_suspects_are_the_top_rows_of_each_class_ties_by_index():
    X = np.zeros((40, 3))
    X[:, 0] = np.repeat([0.0, 1.0], 20)
    y = np.repeat(["cat", "dog"], 20)  # every row equals its class: no spread, scores 0
    rep = ms.data.poisoning(X, y, expected_fraction=0.1, multiplier=1.5)
    assert (rep.scores == 0).all()
    assert rep.suspects.tolist() == [0, 1, 2, 20, 21, 22]  # floor(0.15 * 20) = 3 each
    assert [c["class"] for c in rep.per_class] == ["cat", "dog"]


def test_suspect_counts_round_down():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(230, 4))
    y = np.r_[np.zeros(200, int), np.ones(30, int)]
    rep = ms.data.poisoning(X, y)
    assert [c["suspects"] for c in rep.per_class] == [15, 2]  # 0.075 * 200, 0.075 * 30
    top0 = np.argsort(-rep.scores[:200], kind="stable")[:15]
    assert set(rep.suspects[rep.suspects < 200]) == set(top0)
    assert (np.diff(rep.suspects) > 0).all()


def test_class_indices_one_hot_and_activations_of_any_shape():
    rng = np.random.default_rng(8)
    acts = rng.normal(size=(300, 2, 3, 4))
    y = rng.integers(0, 3, 300)
    by_index = ms.data.poisoning(acts, y, n_classes=4)
    assert [c["class"] for c in by_index.per_class] == [0, 1, 2, 3]
    assert by_index.per_class[3]["rows"] == 0
    flat = ms.data.poisoning(acts.reshape(300, -1), np.eye(3)[y])
    np.testing.assert_array_equal(by_index.scores, flat.scores)


# -- determinism -----------------------------------------------------------------------
def test_same_scores_on_any_thread_count(monkeypatch):
    X, y, _ = planted(seed=2, n_per_class=700, d=200, classes=2)
    runs = []
    for threads in ("1", "3"):
        monkeypatch.setenv("MLSENTRY_NUM_THREADS", threads)
        runs.append(
            [
                ms.data.poisoning(X, y, m).scores.tobytes()
                for m in ("spectral", "activation_clustering", "knn")
            ]
        )
    assert runs[0] == runs[1]


def test_progress_reaches_the_total():
    X, y, _ = planted(seed=4, n_per_class=100, d=8, classes=3)
    for method in ("spectral", "knn"):
        seen: list[tuple[int, int]] = []
        ms.data.poisoning(
            X, y, method, progress=lambda done, total, s=seen: s.append((done, total))
        )
        assert seen and seen[-1] == (300, 300)


# -- bad inputs ------------------------------------------------------------------------
def test_bad_inputs_raise_clear_errors():
    X = np.random.default_rng(0).normal(size=(20, 3))
    y = np.arange(20) % 2
    bad = X.copy()
    bad[4, 2] = np.nan
    with pytest.raises(InvalidInputError, match=r"row 4, column 2 is NaN"):
        ms.data.poisoning(bad, y)
    bad[4, 2] = np.inf
    with pytest.raises(InvalidInputError, match=r"row 4, column 2 is infinite"):
        ms.data.poisoning(bad, y)
    with pytest.raises(InvalidInputError, match="at least 2 classes"):
        ms.data.poisoning(X, np.zeros(20, int))
    with pytest.raises(InvalidInputError, match=r"row 1 has class 5, outside 0\.\.1"):
        ms.data.poisoning(X, np.where(y == 1, 5, 0), n_classes=2)
    with pytest.raises(InvalidInputError, match="n_classes"):
        ms.data.poisoning(X, y, n_classes=10**12)
    with pytest.raises(InvalidInputError, match="19 labels for 20 rows"):
        ms.data.poisoning(X, y[:19])
    with pytest.raises(InvalidInputError, match="no rows"):
        ms.data.poisoning(np.zeros((0, 3)), np.zeros(0, int))
    with pytest.raises(InvalidInputError, match="no columns"):
        ms.data.poisoning(np.zeros((20, 0)), y)
    with pytest.raises(InvalidInputError, match="2-D"):
        ms.data.poisoning(X[:, 0], y)
    with pytest.raises(InvalidTypeError, match="real numbers"):
        ms.data.poisoning(X.astype(str), y)
    with pytest.raises(InvalidInputError, match="method"):
        ms.data.poisoning(X, y, "svd")
    with pytest.raises(InvalidInputError, match="expected_fraction"):
        ms.data.poisoning(X, y, expected_fraction=1.5)
    with pytest.raises(InvalidInputError, match="expected_fraction"):
        ms.data.poisoning(X, y, expected_fraction=0.0)
    with pytest.raises(InvalidInputError, match="k:"):
        ms.data.poisoning(X, y, "knn", k=0)
    with pytest.raises(InvalidInputError, match="NaN"):
        ms.data.poisoning(X, np.where(y == 1, np.nan, 0.0))
    with pytest.raises(InvalidInputError, match="whole class indices"):
        ms.data.poisoning(X, y + 0.5, n_classes=3)


# -- the report ------------------------------------------------------------------------
def test_report_json_html_metrics_and_round_trip(tmp_path):
    X, y, _ = planted(seed=1, n_per_class=200, d=16, classes=2)
    rep = ms.data.poisoning(X, y, "activation_clustering", seed=3)
    assert rep.passed is None and rep.verdict == "NO VERDICT"
    data = json.loads(rep.to_json())
    assert data["schema"] == "mlsentry/poisoning/v1"
    assert data["config"]["method"] == "activation_clustering"
    assert data["config"]["nb_dims"] == 10 and data["seed"] == 3
    assert set(data["inputs"]) == {"features", "labels"}
    assert data["suspects"] == rep.suspects.tolist()
    path = tmp_path / "p.json"
    rep.save(path)
    again = ms.Report.load(path)
    assert type(again) is ms.data.PoisoningReport
    assert again.to_dict() == rep.to_dict()
    np.testing.assert_array_equal(again.scores, rep.scores)
    page = rep.to_html()
    assert "<svg" in page and "<script" not in page and "suspect" in page
    m = rep.metrics()
    assert m["mlsentry.poisoning.suspects"] == 30.0
    assert m["mlsentry.poisoning.class.0.suspects"] == 15.0
    assert "mlsentry.poisoning.passed" not in m
    assert "class 0: 15 of 200 rows suspect" in rep.summary()
    frame = rep.to_pandas()
    assert frame["rows"].tolist() == [200, 200]
    assert math.isclose(frame["score_max"][0], rep.scores[y == 0].max())


# -- the command line ------------------------------------------------------------------
def test_cli_poisoning(tmp_path, capsys):
    X, y, poisoned = planted(seed=5, n_per_class=200, d=16, classes=2)
    np.save(tmp_path / "acts.npy", X)
    np.save(tmp_path / "labels.npy", y)
    html = tmp_path / "p.html"
    argv = ["poisoning", str(tmp_path / "acts.npy"), "--labels", str(tmp_path / "labels.npy")]
    assert main([*argv, "--html", str(html), "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "NO VERDICT" in out and "class 1: 15 of 200 rows suspect" in out
    assert html.read_text().startswith("<!DOCTYPE html>")
    assert main([*argv, "--json", "--method", "knn", "--k", "5"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["config"]["k"] == 5 and report["passed"] is None
    # a table with a label column
    import pandas as pd

    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(16)]).assign(label=y)
    frame.to_csv(tmp_path / "t.csv", index=False)
    assert main(["poisoning", str(tmp_path / "t.csv"), "--label-column", "label", "--json"]) == 0
    suspects = json.loads(capsys.readouterr().out)["suspects"]
    assert np.isin(np.flatnonzero(poisoned), suspects).all()
    # usage and input errors exit 2
    assert main(["poisoning", str(tmp_path / "acts.npy")]) == 2
    assert main([*argv, "--method", "svd"]) == 2
    assert main([*argv, "--expected-fraction", "2"]) == 2
    capsys.readouterr()
