"""The fast paths of ms.data.label_issues against cleanlab 2.9: the calibration's rounding
(Rust, with numpy's routine for the rows where equal remainders straddle the cut), the
one-read row scan on many classes (lanes plus a tail), and rows with exactly equal
probabilities (the argmax keeps the first; the given label wins within 1e-6)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mlsentry as ms
from mlsentry import _core
from mlsentry.data import LABEL_RANKINGS
from mlsentry.data.labels import _calibrate, _round_keeping_total, _round_rows_keeping_totals
from mlsentry.errors import InvalidInputError, InvalidTypeError

pytest.importorskip("cleanlab")
from cleanlab.count import calibrate_confident_joint, estimate_joint
from cleanlab.filter import find_label_issues
from cleanlab.internal.util import round_preserving_sum
from cleanlab.rank import get_label_quality_scores


def sparse_joint(k, seed, *, fill=0.02, diagonal=100):
    """A raw confident joint as many classes give it: a heavy diagonal, few small
    off-diagonal counts, mostly zeros (whose remainders all tie at 0)."""
    rng = np.random.default_rng(seed)
    raw = (rng.random((k, k)) < fill) * rng.integers(1, 4, (k, k))
    raw[np.arange(k), np.arange(k)] = rng.integers(diagonal // 2, diagonal, k)
    given = raw.sum(axis=1) + rng.integers(0, 30, k)
    return raw.astype(np.int64), given.astype(np.int64)


@pytest.mark.parametrize("k, seed", [(3, 0), (17, 1), (120, 2), (400, 3)])
def test_calibration_equals_cleanlab(k, seed):
    raw, given = sparse_joint(k, seed)
    labels = np.repeat(np.arange(k), given)
    # cleanlab's joint is a transposed confusion matrix: Fortran-ordered.
    expected = calibrate_confident_joint(np.asfortranarray(raw), labels)
    np.testing.assert_array_equal(_calibrate(raw, given), expected)


def test_rust_rounding_equals_numpy_where_it_is_sure():
    rng = np.random.default_rng(5)
    # Quarters and zeros: remainders tie often, across the cut and away from it.
    scaled = rng.integers(0, 20, (300, 25)) * 0.25 * (rng.random((300, 25)) < 0.6)
    scaled[:, 0] += rng.random(300)
    ints, unsure = _core.round_row_totals(scaled)
    assert ints.dtype == np.int64 and ints.shape == scaled.shape
    assert 0 < unsure.size < scaled.shape[0]
    sure = np.setdiff1d(np.arange(scaled.shape[0]), unsure)
    for i in sure.tolist():
        np.testing.assert_array_equal(ints[i], round_preserving_sum(scaled[i]))
    for i in unsure.tolist():
        # Same row totals; which tied entry moves is numpy's argsort's choice.
        assert ints[i].sum() == round_preserving_sum(scaled[i]).sum()
        np.testing.assert_array_equal(
            _round_keeping_total(scaled[i]), round_preserving_sum(scaled[i])
        )
    # Ties at the cut by hand: a stable order raises the last of equal remainders.
    ints, unsure = _core.round_row_totals(np.array([[0.5, 1.4, 1.1], [1.4, 1.4, 0.2]]))
    assert ints.tolist() == [[1, 1, 1], [1, 2, 0]]
    assert unsure.tolist() == [1]


@pytest.mark.parametrize("k, seed", [(5, 4), (60, 5), (300, 6)])
def test_rows_rounded_at_once_equal_cleanlab_row_by_row(k, seed):
    rng = np.random.default_rng(seed)
    raw, given = sparse_joint(k, seed, fill=0.05)
    scaled = raw / raw.sum(axis=1, keepdims=True) * given[:, None]
    # Halves and exact integers: remainders tie at 0 and at +-0.5, on both sides of a cut.
    halves = np.round(scaled * 2) / 2
    lifted = scaled + rng.integers(0, 2, scaled.shape) * 0.5
    for rows in (scaled, halves, lifted):
        rows = np.ascontiguousarray(rows)
        at_once = _round_rows_keeping_totals(rows)
        for i in range(rows.shape[0]):
            np.testing.assert_array_equal(at_once[i], round_preserving_sum(rows[i]))
    assert _round_rows_keeping_totals(np.zeros((0, 4))).shape == (0, 4)


def test_rust_rounding_refuses_bad_input():
    with pytest.raises(InvalidTypeError, match="C-contiguous"):
        _core.round_row_totals(np.asfortranarray(np.ones((3, 2))))
    with pytest.raises(InvalidInputError, match="finite"):
        _core.round_row_totals(np.array([[0.5, np.nan]]))
    ints, unsure = _core.round_row_totals(np.zeros((0, 4)))
    assert ints.shape == (0, 4) and unsure.size == 0


def planted(n, k, seed, flip=0.08, boost=2.5):
    rng = np.random.default_rng(seed)
    true = rng.integers(0, k, n)
    p = rng.standard_normal((n, k))
    p[np.arange(n), true] += boost
    p = np.exp(p - p.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    labels = true.copy()
    flipped = rng.random(n) < flip
    labels[flipped] = (labels[flipped] + rng.integers(1, k, flipped.sum())) % k
    return labels, p


def cleanlab_mask(labels, p, method, rank_by=None):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return find_label_issues(
            labels, p, filter_by=method, return_indices_ranked_by=rank_by, n_jobs=1
        )


@pytest.mark.parametrize("k", [203, 1000])
def test_many_classes_match_cleanlab(k):
    # 203: 25 lanes of 8 and a tail of 3; 1000: the benchmark's width, ties in calibration.
    labels, p = planted(4 * k, k, k)
    for method in ("prune_by_noise_rate", "both"):
        expected = cleanlab_mask(labels, p, method)
        rep = ms.data.label_issues(labels, p, method, fingerprint=False)
        assert rep.mask.sum() > 0
        np.testing.assert_array_equal(rep.mask, expected)
    np.testing.assert_array_equal(rep.ranked, cleanlab_mask(labels, p, "both", "self_confidence"))
    np.testing.assert_allclose(rep.joint, estimate_joint(labels, p), rtol=0, atol=1e-9)


def test_equal_probabilities_match_cleanlab():
    # Probabilities in twentieths: many rows hold equal largest values, where the argmax
    # keeps the first and a given label within 1e-6 of the maximum is never an issue.
    rng = np.random.default_rng(11)
    n, k = 3000, 7
    counts = rng.multinomial(20, np.ones(k) / k, n)
    p = counts / 20.0
    labels = rng.integers(0, k, n)
    tied = (p == p.max(axis=1, keepdims=True)).sum(axis=1) > 1
    assert tied.mean() > 0.2
    for method in ("predicted_neq_given", "confident_learning"):
        rep = ms.data.label_issues(labels, p, method, fingerprint=False)
        np.testing.assert_array_equal(rep.mask, cleanlab_mask(labels, p, method))
    for rank_by in LABEL_RANKINGS:
        rep = ms.data.label_issues(labels, p, "predicted_neq_given", rank_by, fingerprint=False)
        scores = get_label_quality_scores(labels, p, method=rank_by)
        np.testing.assert_allclose(rep.scores, scores, rtol=0, atol=1e-12)
