"""ms.data.label_issues against cleanlab 2.9: masks, rankings, scores, joint, noise matrix;
cross_val_pred_probs against scikit-learn; bad input; the report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import warnings

import numpy as np
import pandas as pd
import pytest

import mlsentry as ms
from mlsentry.data import LABEL_FILTERS, LABEL_RANKINGS, LabelIssuesReport
from mlsentry.errors import InvalidInputError, InvalidTypeError
from mlsentry.report import Report

cleanlab = pytest.importorskip("cleanlab")
from cleanlab.count import compute_confident_joint, estimate_joint, estimate_latent  # noqa: E402
from cleanlab.filter import find_label_issues  # noqa: E402
from cleanlab.rank import get_label_quality_scores  # noqa: E402


def planted(n, k, seed, *, dtype=np.float64, imbalanced=False, flip=0.08, boost=2.5):
    """Softmax probabilities with the true class's logit raised, then a share of the
    labels flipped to a random class (the setup of the benchmarks)."""
    rng = np.random.default_rng(seed)
    weights = np.linspace(1.0, 6.0, k) if imbalanced else np.ones(k)
    true = rng.choice(k, size=n, p=weights / weights.sum())
    logits = rng.normal(size=(n, k))
    logits[np.arange(n), true] += boost
    p = np.exp(logits - logits.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    labels = true.copy()
    flipped = rng.random(n) < flip
    labels[flipped] = rng.integers(0, k, flipped.sum())
    return labels.astype(np.int64), p.astype(dtype)


def reference(labels, p, method, rank_by=None, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # cleanlab's notes on tiny classes
        return find_label_issues(
            labels, p, filter_by=method, return_indices_ranked_by=rank_by, n_jobs=1, **kwargs
        )


def assert_like_cleanlab(labels, p, method, **kwargs):
    mask = reference(labels, p, method, **kwargs)
    assert mask.sum() > 0
    for rank_by in LABEL_RANKINGS:
        rep = ms.data.label_issues(labels, p, method, rank_by, fingerprint=False, **kwargs)
        np.testing.assert_array_equal(rep.mask, mask)  # Jaccard 1.0
        np.testing.assert_array_equal(rep.ranked, reference(labels, p, method, rank_by, **kwargs))
        scores = get_label_quality_scores(labels, p, method=rank_by)
        np.testing.assert_allclose(rep.scores, scores, rtol=0, atol=1e-12)
    return rep


def assert_counts_like_cleanlab(rep, labels, p):
    cj = compute_confident_joint(labels, p)
    np.testing.assert_array_equal(rep.confident_joint, cj)
    np.testing.assert_allclose(rep.joint, estimate_joint(labels, p), rtol=0, atol=1e-9)
    noise = estimate_latent(cj, labels)[1]
    np.testing.assert_allclose(rep.noise_matrix, noise, rtol=0, atol=1e-12)
    present = cj.sum(axis=0) > 0  # a class nobody is given has an all-zero column
    np.testing.assert_allclose(rep.noise_matrix.sum(axis=0)[present], 1.0, atol=1e-12)


DATASETS = {
    "k2": dict(n=1500, k=2, seed=0),
    "k5-imbalanced": dict(n=2500, k=5, seed=1, imbalanced=True),
    "k20-imbalanced": dict(n=3000, k=20, seed=2, imbalanced=True),
    "k10-float32": dict(n=2000, k=10, seed=3, dtype=np.float32),
    "k3-noisy": dict(n=1200, k=3, seed=4, flip=0.3, boost=1.5),
}


@pytest.fixture(scope="module", params=sorted(DATASETS))
def data(request):
    return planted(**DATASETS[request.param])


@pytest.mark.parametrize("method", LABEL_FILTERS)
def test_planted_noise_matches_cleanlab(data, method):
    labels, p = data
    rep = assert_like_cleanlab(labels, p, method)
    assert_counts_like_cleanlab(rep, labels, p)


def test_planted_rows_are_found():
    labels, p = planted(4000, 4, 7)
    true = planted(4000, 4, 7, flip=0.0)[0]
    rep = ms.data.label_issues(labels, p)
    wrong = labels != true
    # Most flagged rows are truly mislabelled (the model is weak: logit +2.5), and the
    # noise estimate is near 8% * 3/4.
    assert (wrong[rep.mask]).mean() > 0.6
    assert 0.03 < rep.estimated_noise < 0.09


def test_sklearn_cross_validated_probabilities_match_cleanlab():
    from sklearn.datasets import make_classification
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    X, y = make_classification(
        n_samples=800, n_features=10, n_informative=6, n_classes=4, random_state=0
    )
    rng = np.random.default_rng(0)
    noisy = y.copy()
    flip = rng.random(y.size) < 0.1
    noisy[flip] = rng.integers(0, 4, flip.sum())

    def factory():
        return LogisticRegression(max_iter=500)

    p = ms.data.cross_val_pred_probs(factory, X, noisy, folds=5, seed=3)
    cv = StratifiedKFold(n_splits=5, shuffle=True, random_state=3)
    expected = cross_val_predict(factory(), X, noisy, cv=cv, method="predict_proba")
    np.testing.assert_allclose(p, expected, rtol=0, atol=1e-12)
    for method in LABEL_FILTERS:
        rep = assert_like_cleanlab(noisy, p, method)
    assert_counts_like_cleanlab(rep, noisy, p)
    # A DataFrame X is indexed by position.
    p_df = ms.data.cross_val_pred_probs(factory, pd.DataFrame(X), pd.Series(noisy), seed=3)
    np.testing.assert_allclose(p_df, p, rtol=0, atol=1e-12)


def test_cross_val_pred_probs_class_order_and_errors():
    from sklearn.linear_model import LogisticRegression

    X = np.r_[np.zeros((10, 1)), np.ones((10, 1)), 2 * np.ones((10, 1))]
    y = np.array(["b"] * 10 + ["c"] * 10 + ["a"] * 10)
    p = ms.data.cross_val_pred_probs(LogisticRegression, X, y, folds=2)
    # Columns follow the sorted labels: a (X = 2), b (X = 0), c (X = 1).
    assert p.shape == (30, 3)
    assert (p.argmax(axis=1) == np.r_[[1] * 10, [2] * 10, [0] * 10]).all()
    with pytest.raises(InvalidInputError, match="folds"):
        ms.data.cross_val_pred_probs(LogisticRegression, X, y, folds=1)
    with pytest.raises(InvalidInputError, match="30 labels"):
        ms.data.cross_val_pred_probs(LogisticRegression, X[:5], y)
    with pytest.raises(InvalidInputError, match="2 classes"):
        ms.data.cross_val_pred_probs(LogisticRegression, X, np.zeros(30))
    with pytest.raises(InvalidTypeError, match="callable"):
        ms.data.cross_val_pred_probs(None, X, y)


@pytest.mark.parametrize("method", ["prune_by_noise_rate", "prune_by_class", "both"])
def test_frac_noise_and_min_examples_match_cleanlab(method):
    labels, p = planted(2000, 6, 11, imbalanced=True, flip=0.2)
    assert_like_cleanlab(labels, p, method, frac_noise=0.5)
    assert_like_cleanlab(labels, p, method, min_examples_per_class=300)


def test_a_class_nobody_is_given_matches_cleanlab():
    labels, p = planted(1500, 5, 12)
    labels[labels == 3] = 1
    for dtype in (np.float64, np.float32):
        for method in LABEL_FILTERS:
            rep = assert_like_cleanlab(labels, p.astype(dtype), method)
        assert rep.per_class[3].given == 0
        assert rep.thresholds[3] == 2.0
        assert_counts_like_cleanlab(rep, labels, p.astype(dtype))


def test_inputs_in_any_layout_give_the_same_report():
    labels, p = planted(1000, 4, 5)
    base = ms.data.label_issues(labels, p)
    fortran = ms.data.label_issues(pd.Series(labels), np.asfortranarray(p))
    listed = ms.data.label_issues(labels.tolist(), p.tolist())
    floats = ms.data.label_issues(labels.astype(float), pd.DataFrame(p))
    for other in (fortran, listed, floats):
        np.testing.assert_array_equal(other.ranked, base.ranked)
        np.testing.assert_array_equal(other.scores, base.scores)
    assert base.inputs["pred_probs"].startswith(fortran.inputs["pred_probs"][:6])


def _fingerprint_threads():
    return [t for t in threading.enumerate() if t.name == "mlsentry-fingerprint"]


def test_fingerprints_beside_the_search_equal_the_fingerprints_of_the_inputs():
    labels, p = planted(3000, 6, 21)
    for probs in (p, p.astype(np.float32), np.asfortranarray(p)):
        rep = ms.data.label_issues(labels.tolist(), probs)
        assert rep.inputs == {
            "labels": ms.fingerprint(labels),
            "pred_probs": ms.fingerprint(probs),
        }
    assert ms.data.label_issues(labels, p, fingerprint=False).inputs == {}
    assert _fingerprint_threads() == []


def test_a_refused_input_leaves_no_fingerprint_thread():
    labels, p = planted(3000, 6, 22)
    p[1234, 2] = np.nan
    with pytest.raises(InvalidInputError, match="row 1234"):
        ms.data.label_issues(labels, p)
    assert _fingerprint_threads() == []


def test_same_result_whatever_the_thread_count():
    code = (
        "import numpy as np, mlsentry as ms, sys;"
        "rng = np.random.default_rng(0); p = rng.dirichlet(np.ones(6), 20000);"
        "y = rng.integers(0, 6, 20000);"
        "r = ms.data.label_issues(y, p, 'both', 'confidence_weighted_entropy');"
        "sys.stdout.write(str(hash((r.ranked.tobytes(), r.scores.tobytes(), r.joint.tobytes()))))"
    )
    outs = set()
    for threads in ("1", "3"):
        env = {**os.environ, "MLSENTRY_NUM_THREADS": threads, "PYTHONHASHSEED": "0"}
        run = subprocess.run([sys.executable, "-c", code], capture_output=True, env=env, text=True)
        assert run.returncode == 0, run.stderr
        outs.add(run.stdout)
    assert len(outs) == 1


GOOD_P = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
GOOD_Y = [0, 1, 0, 1]


@pytest.mark.parametrize(
    ("labels", "probs", "error", "match"),
    [
        (GOOD_Y, np.where(GOOD_P == 0.6, np.nan, GOOD_P), InvalidInputError, "row 2 .*finite"),
        (GOOD_Y, np.where(GOOD_P == 0.6, np.inf, GOOD_P), InvalidInputError, "finite"),
        (GOOD_Y, GOOD_P * 0.9, InvalidInputError, "sums to"),
        (GOOD_Y, np.array([[1.5, -0.5], *GOOD_P[1:]]), InvalidInputError, "between 0 and 1"),
        ([0, 0, 0, 0], GOOD_P, InvalidInputError, "at least 2 classes"),
        ([0, 1, 0, 2], GOOD_P, InvalidInputError, r"labels\[3\] = 2 is out of range"),
        ([0, 1, 0, -1], GOOD_P, InvalidInputError, "out of range"),
        (GOOD_Y[:3], GOOD_P, InvalidInputError, "3 entries but pred_probs has 4 rows"),
        ([], np.zeros((0, 2)), InvalidInputError, "empty"),
        (GOOD_Y, GOOD_P[:, :1], InvalidInputError, "at least 2 columns"),
        (GOOD_Y, GOOD_P[:, 0], InvalidInputError, "2-D"),
        (["a", "b", "a", "b"], GOOD_P, InvalidTypeError, "integer class indices"),
        ([0.5, 1, 0, 1], GOOD_P, InvalidTypeError, "integer class indices"),
        ("0101", GOOD_P, InvalidTypeError, "sequence of class indices"),
        ([[0, 1], [0, 1]], GOOD_P, InvalidInputError, "1-D"),
        (GOOD_Y, np.array([["x", "y"]] * 4), InvalidTypeError, "numbers"),
    ],
)
def test_bad_input_is_refused(labels, probs, error, match):
    with pytest.raises(error, match=match):
        ms.data.label_issues(labels, probs)


def test_bad_options_are_refused():
    with pytest.raises(InvalidInputError, match="method must be one of"):
        ms.data.label_issues(GOOD_Y, GOOD_P, method="low_self_confidence")
    with pytest.raises(InvalidInputError, match="rank_by must be one of"):
        ms.data.label_issues(GOOD_Y, GOOD_P, rank_by="entropy")
    with pytest.raises(InvalidInputError, match="max_share"):
        ms.data.label_issues(GOOD_Y, GOOD_P, max_share=1.5)
    with pytest.raises(InvalidTypeError, match="max_share"):
        ms.data.label_issues(GOOD_Y, GOOD_P, max_share="10%")
    with pytest.raises(InvalidInputError, match="frac_noise"):
        ms.data.label_issues(GOOD_Y, GOOD_P, frac_noise=0.0)
    with pytest.raises(InvalidInputError, match="min_examples_per_class"):
        ms.data.label_issues(GOOD_Y, GOOD_P, min_examples_per_class=-1)
    # Within cleanlab's 1e-6 tolerance below 0, but entropy needs true probabilities.
    tiny = np.array([[1.0000005, -5e-7], *GOOD_P[1:]])
    assert ms.data.label_issues(GOOD_Y, tiny).n_rows == 4
    with pytest.raises(InvalidInputError, match="confidence_weighted_entropy"):
        ms.data.label_issues(GOOD_Y, tiny, rank_by="confidence_weighted_entropy")


def test_report_verdict_and_round_trip(tmp_path):
    labels, p = planted(600, 3, 9)
    rep = ms.data.label_issues(labels, p)
    assert rep.passed is None and rep.verdict == "NO VERDICT"
    assert rep.schema == "mlsentry/label_issues/v1"
    assert rep.share == pytest.approx(rep.mask.mean())
    assert [c.given for c in rep.per_class] == np.bincount(labels).tolist()
    assert sum(c.flagged for c in rep.per_class) == rep.n_issues
    assert sum(c.estimated_true for c in rep.per_class) == labels.size
    assert ms.data.label_issues(labels, p, max_share=0.5).passed is True
    failed = ms.data.label_issues(labels, p, max_share=0.001)
    assert failed.passed is False and "FAILED" in failed.summary()
    assert f"row {rep.ranked[0]}" in rep.summary()
    m = failed.metrics()
    assert m["mlsentry.label_issues.passed"] == 0.0
    assert m["mlsentry.label_issues.n_issues"] == rep.n_issues

    path = tmp_path / "labels.json"
    failed.save(path)
    back = Report.load(path)
    assert isinstance(back, LabelIssuesReport)
    assert back.to_dict() == failed.to_dict()
    np.testing.assert_array_equal(back.mask, failed.mask)
    np.testing.assert_array_equal(back.scores, failed.scores)
    assert back.passed is False
    assert json.loads(failed.to_json())["n_issues"] == rep.n_issues
    frame = rep.to_pandas()
    assert frame["row"].tolist() == rep.ranked.tolist()


def test_html_shows_classes_worst_rows_and_noise_matrix(tmp_path):
    labels, p = planted(600, 3, 9)
    page = ms.data.label_issues(labels, p, max_share=0.2).to_html()
    assert "<script" not in page and "http" not in page.split("</style>")[1]
    assert "Per class" in page and "Worst rows" in page
    assert "given \\ true" in page and "rgba(" in page
    wide_labels, wide_p = planted(2000, 40, 1)
    wide = ms.data.label_issues(wide_labels, wide_p)
    html = wide.to_html()
    assert "The largest noise rates" in html
    wide.save(tmp_path / "wide.html")
    assert (tmp_path / "wide.html").read_text().startswith("<!DOCTYPE html>")


def test_assert_no_label_issues_tolerates_a_share_and_shows_the_worst_rows():
    from mlsentry import testing

    labels, p = planted(1000, 3, 21)
    rep = ms.data.label_issues(labels, p)
    assert testing.assert_no_label_issues(labels, p, max_share=rep.share).passed
    with pytest.raises(AssertionError) as failure:
        testing.assert_no_label_issues(labels, p, method="both")
    message = str(failure.value)
    assert message.startswith("assert_no_label_issues: Label issues: FAILED")
    assert "row  given  predicted  score" in message
    both = failure.value.report
    worst = both.ranked[0]
    assert f"\n{worst} " in message
    lines = message.splitlines()
    assert lines[-1] == f"... and {both.n_issues - testing.MAX_ROWS} more"
    assert len(lines) == 1 + 2 + testing.MAX_ROWS + 1  # headline, header, rows, rest
