"""Scoring of ms.privacy against closed forms, scipy, scikit-learn and direct numpy
transcriptions of the published LiRA and RMIA formulas."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

import mlsentry as ms
from mlsentry.errors import InvalidInputError, InvalidTypeError


# ---------------------------------------------------------------------------------- roc
def test_gaussian_scores_reproduce_the_closed_form():
    # Members N(d, 1), non-members N(0, 1): TPR at FPR a is 1 - Phi(Phi^-1(1 - a) - d).
    n, d = 1_000_000, 2.0
    rng = np.random.default_rng(1)
    scores = np.r_[rng.normal(d, 1, n), rng.normal(0, 1, n)]
    member = np.r_[np.ones(n, bool), np.zeros(n, bool)]
    r = ms.privacy.roc(scores, member)
    for a, quoted in ((0.001, 0.1378), (0.01, 0.3721)):
        t = stats.norm.isf(a)
        exact = stats.norm.sf(t - d)
        assert exact == pytest.approx(quoted, abs=1e-4)
        # Sampling sd of the empirical TPR at an empirical threshold (delta method): the
        # members' binomial noise plus the threshold's FPR noise times the ROC slope.
        slope = stats.norm.pdf(t - d) / stats.norm.pdf(t)
        sd = np.sqrt(exact * (1 - exact) / n + slope**2 * a * (1 - a) / n)
        assert abs(r.tpr_at(a) - exact) < 4 * sd
        lo, hi = r.tpr_interval(a)
        assert lo <= r.tpr_at(a) <= hi
    auc = stats.norm.cdf(d / np.sqrt(2))
    assert abs(r.auc - auc) < 4 * 0.0003


def test_auc_and_tpr_match_scikit_learn_with_ties():
    from sklearn.metrics import roc_auc_score, roc_curve

    rng = np.random.default_rng(2)
    scores = rng.integers(0, 20, size=3000).astype(float)  # many ties
    member = rng.random(3000) < 0.3 + scores / 60
    r = ms.privacy.roc(scores, member)
    assert r.auc == pytest.approx(roc_auc_score(member, scores), abs=1e-12)
    fpr, tpr, _ = roc_curve(member, scores, drop_intermediate=False)
    np.testing.assert_allclose(r.fpr, fpr, atol=1e-15)
    np.testing.assert_allclose(r.tpr, tpr, atol=1e-15)
    for a in (0.0, 0.001, 0.01, 0.05, 0.1, 0.5, 1.0):
        assert r.tpr_at(a) == tpr[fpr <= a].max()
    assert r.advantage == pytest.approx(np.max(tpr - fpr), abs=1e-15)


def test_roc_counts_ties_half_and_reads_the_documented_point():
    r = ms.privacy.roc([3.0, 2.0, 2.0, 1.0], [True, True, False, False])
    assert r.auc == 3.5 / 4
    assert r.tpr_at(0.0) == 0.5 and r.tpr_at(0.49) == 0.5 and r.tpr_at(0.5) == 1.0
    assert r.threshold_at(0.0) == 3.0


def test_roc_bad_inputs():
    with pytest.raises(InvalidInputError, match="is_member"):
        ms.privacy.roc([1.0, 2.0], [True, True])
    with pytest.raises(InvalidInputError, match="scores has 1"):
        ms.privacy.roc([1.0], [True, False])
    with pytest.raises(InvalidInputError, match="NaN"):
        ms.privacy.roc([np.nan, 2.0], [True, False])
    with pytest.raises(InvalidTypeError, match="is_member"):
        ms.privacy.roc([1.0, 2.0], ["a", "b"])
    with pytest.raises(InvalidTypeError, match="scores"):
        ms.privacy.roc(["x", "y"], [True, False])
    r = ms.privacy.roc([1.0, 2.0], [True, False])
    with pytest.raises(InvalidInputError, match="fpr"):
        r.tpr_at(1.5)
    with pytest.raises(InvalidInputError, match="confidence"):
        r.tpr_interval(0.1, confidence=1.0)


# ------------------------------------------------------------------- intervals, epsilon
@pytest.mark.parametrize("n", [1, 7, 100, 2500])
@pytest.mark.parametrize("confidence", [0.9, 0.95, 0.999])
def test_clopper_pearson_matches_scipy(n, confidence):
    for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
        if k < 0:
            continue
        ci = stats.binomtest(k, n).proportion_ci(confidence, method="exact")
        lo, hi = ms.privacy.clopper_pearson(k, n, confidence)
        # binomtest finds its ends with brentq (about 1e-9 relative); scipy's beta
        # quantiles are the tighter reference.
        assert lo == pytest.approx(ci.low, rel=1e-7, abs=1e-15)
        assert hi == pytest.approx(ci.high, rel=1e-7, abs=1e-15)
        alpha = 1 - confidence
        want_lo = 0.0 if k == 0 else stats.beta.ppf(alpha / 2, k, n - k + 1)
        want_hi = 1.0 if k == n else stats.beta.ppf(1 - alpha / 2, k + 1, n - k)
        assert lo == pytest.approx(want_lo, rel=1e-10, abs=1e-15)
        assert hi == pytest.approx(want_hi, rel=1e-10, abs=1e-15)


def test_intervals_shrink_as_samples_grow():
    widths = []
    for n in (100, 1_000, 10_000):
        rng = np.random.default_rng(3)
        s = np.r_[rng.normal(1, 1, n), rng.normal(0, 1, n)]
        m = np.r_[np.ones(n, bool), np.zeros(n, bool)]
        lo, hi = ms.privacy.roc(s, m).tpr_interval(0.1)
        widths.append(hi - lo)
    assert widths[0] > widths[1] > widths[2]


def _epsilon_by_hand(tpr, fpr, n1, n0, delta, confidence):
    level = (1 + confidence) / 2
    fp, fn = round(fpr * n0), round((1 - tpr) * n1)
    fpr_hi = 1.0 if fp == n0 else stats.beta.ppf(level, fp + 1, n0 - fp)
    fnr_hi = 1.0 if fn == n1 else stats.beta.ppf(level, fn + 1, n1 - fn)
    with np.errstate(divide="ignore", invalid="ignore"):
        eps = max(np.log((1 - delta - fpr_hi) / fnr_hi), np.log((1 - delta - fnr_hi) / fpr_hi))
    return max(float(np.nan_to_num(eps, nan=0.0)), 0.0)


@pytest.mark.parametrize(
    "tpr,fpr", [(0.5, 0.01), (0.9, 0.001), (1.0, 0.0), (0.3, 0.3), (0.02, 0.9), (0.0, 1.0)]
)
def test_epsilon_lower_bound_follows_the_formula(tpr, fpr):
    got = ms.privacy.epsilon_lower_bound(tpr, fpr, 1000, 1000, delta=1e-5, confidence=0.95)
    assert got == pytest.approx(_epsilon_by_hand(tpr, fpr, 1000, 1000, 1e-5, 0.95), rel=1e-8)
    assert got >= 0.0


def test_epsilon_lower_bound_bad_inputs():
    with pytest.raises(InvalidInputError, match="whole number"):
        ms.privacy.epsilon_lower_bound(0.5001, 0.01, 1000, 1000)
    with pytest.raises(InvalidInputError, match="delta"):
        ms.privacy.epsilon_lower_bound(0.5, 0.01, 1000, 1000, delta=1.0)
    with pytest.raises(InvalidInputError, match="n_members"):
        ms.privacy.epsilon_lower_bound(0.5, 0.01, 0, 1000)
    with pytest.raises(InvalidInputError, match="tpr"):
        ms.privacy.epsilon_lower_bound(1.5, 0.01, 10, 10)


# ---------------------------------------------------------------------------- LiRA
def _lira_numpy(target, refs, keep, online, fix_variance):
    """Carlini et al.'s scoring, transcribed: medians, ddof-0 deviations (+1e-30), global
    deviations of all IN and all OUT signals when fixed; online = log-likelihood ratio,
    offline = the one-sided test's z (Phi of it is 1 - P(Z > s))."""
    out = []
    sd_in_all = np.std(refs[keep]) if keep.any() else 0.0
    sd_out_all = np.std(refs[~keep])
    for i in range(target.size):
        ins, outs = refs[keep[:, i], i], refs[~keep[:, i], i]
        mu_out = np.median(outs)
        sd_out = (sd_out_all if fix_variance else np.std(outs)) + 1e-30
        if online:
            mu_in = np.median(ins)
            sd_in = (sd_in_all if fix_variance else np.std(ins)) + 1e-30
            out.append(
                stats.norm.logpdf(target[i], mu_in, sd_in)
                - stats.norm.logpdf(target[i], mu_out, sd_out)
            )
        else:
            out.append((target[i] - mu_out) / sd_out)
    return np.array(out)


@pytest.mark.parametrize("online", [True, False])
@pytest.mark.parametrize("fix_variance", [True, False])
def test_lira_equals_the_published_formula(online, fix_variance):
    rng = np.random.default_rng(4)
    m, n = 16, 300
    keep = rng.uniform(size=(m, n)).argsort(0) < m // 2  # every record IN 8 models
    refs = rng.normal(size=(m, n)) + 2.0 * keep + rng.normal(size=n)
    target = rng.normal(size=n) + rng.random(n) * 2
    got = ms.privacy.lira_scores(target, refs, keep, online=online, fix_variance=fix_variance)
    want = _lira_numpy(target, refs, keep, online, fix_variance)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_lira_chooses_fixed_variance_below_64_references():
    rng = np.random.default_rng(5)
    keep = rng.uniform(size=(8, 50)).argsort(0) < 4
    refs, target = rng.normal(size=(8, 50)), rng.normal(size=50)
    auto = ms.privacy.lira_scores(target, refs, keep, fix_variance=None)
    np.testing.assert_array_equal(auto, ms.privacy.lira_scores(target, refs, keep, True, True))


def test_lira_bad_inputs():
    keep = np.array([[True], [True]])
    with pytest.raises(InvalidInputError, match="record 0 has 2 IN and 0 OUT"):
        ms.privacy.lira_scores([1.0], [[1.0], [2.0]], keep)
    with pytest.raises(InvalidInputError, match="reference_signals"):
        ms.privacy.lira_scores([1.0, 2.0], [[1.0], [2.0]], keep)
    with pytest.raises(InvalidInputError, match="target_signal"):
        ms.privacy.lira_scores([np.nan], [[1.0], [2.0]], [[True], [False]])
    with pytest.raises(InvalidTypeError, match="reference_in"):
        ms.privacy.lira_scores([1.0], [[1.0], [2.0]], [[0.5], [0.2]])


# ---------------------------------------------------------------------------- RMIA
def _rmia_numpy(target, refs, keep, pop_target, pop_refs, pop_keep, gamma, a):
    """Zarifzadeh et al.'s offline RMIA, transcribed with the full pairwise matrix."""
    out_mean = np.where(~keep, refs, 0).sum(0) / (~keep).sum(0)
    px = (1 + a) / 2 * out_mean + (1 - a) / 2
    pop_out = np.where(~pop_keep, pop_refs, 0).sum(0) / (~pop_keep).sum(0)
    pz = (1 + a) / 2 * pop_out + (1 - a) / 2
    lr = (target / px)[:, None] / (pop_target / pz)[None, :]
    return (lr >= gamma).mean(axis=1)


@pytest.mark.parametrize("gamma,a", [(1.0, 0.3), (2.0, 0.3), (1.0, 1.0), (0.5, 0.0)])
def test_rmia_equals_the_published_formula(gamma, a):
    rng = np.random.default_rng(6)
    m, n, z = 8, 400, 300
    keep = rng.uniform(size=(m, n)).argsort(0) < m // 2
    refs = np.clip(rng.beta(5, 2, size=(m, n)) + 0.1 * keep, 0, 1)
    target = rng.beta(5, 2, size=n)
    pop_refs, pop_target = rng.beta(5, 2, size=(m, z)), rng.beta(5, 2, size=z)
    pop_keep = np.zeros((m, z), bool)
    got = ms.privacy.rmia_scores(target, refs, keep, pop_target, pop_refs, gamma, a)
    want = _rmia_numpy(target, refs, keep, pop_target, pop_refs, pop_keep, gamma, a)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)
    # With a population that references trained on, only their OUT models count.
    pop_keep = rng.uniform(size=(m, z)).argsort(0) < m // 2
    got = ms.privacy.rmia_scores(
        target, refs, keep, pop_target, pop_refs, gamma, a, population_in=pop_keep
    )
    want = _rmia_numpy(target, refs, keep, pop_target, pop_refs, pop_keep, gamma, a)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12)


def test_rmia_bad_inputs():
    refs, keep, pop = [[0.5], [0.4]], [[False], [False]], [[0.5, 0.4], [0.5, 0.4]]
    with pytest.raises(InvalidInputError, match="gamma"):
        ms.privacy.rmia_scores([0.9], refs, keep, [0.5, 0.4], pop, gamma=0.0)
    with pytest.raises(InvalidInputError, match="a: expected"):
        ms.privacy.rmia_scores([0.9], refs, keep, [0.5, 0.4], pop, a=1.5)
    with pytest.raises(InvalidInputError, match="target_probs"):
        ms.privacy.rmia_scores([1.9], refs, keep, [0.5, 0.4], pop)
    with pytest.raises(InvalidInputError, match="population_reference"):
        ms.privacy.rmia_scores([0.9], refs, keep, [0.5, 0.4], [[0.5], [0.4]])
    with pytest.raises(InvalidInputError, match="no OUT reference"):
        ms.privacy.rmia_scores([0.9], refs, [[True], [True]], [0.5, 0.4], pop)
