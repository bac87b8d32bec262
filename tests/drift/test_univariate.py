"""The univariate drift tests of ``mlsentry.drift``, held against scipy.

Statistic and p-value agree with scipy to 1e-9 relative. The one documented exception:
the asymptotic Cramér-von Mises p-value is ``1 - cdf`` in scipy, so below about 1e-6 both
carry an absolute rounding of ~1e-15 (and scipy's series stops at terms below 1e-7, so
neither resolves p-values below that); those are compared with an absolute tolerance.
"""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from scipy import spatial, special, stats

import mlsentry as ms
from mlsentry import _core
from mlsentry.errors import InvalidInputError, InvalidTypeError, MlsentryError

RTOL = 1e-9


def anderson_midrank(samples):
    """scipy's midrank Anderson-Darling k-sample test on every scipy the project allows:
    ``variant="midrank"`` where scipy has it (1.17), ``midrank=True`` before."""
    with warnings.catch_warnings():
        # scipy says when its interpolated p-value is floored or capped; ours is too.
        warnings.filterwarnings("ignore", "p-value (floored|capped)", UserWarning)
        try:
            return stats.anderson_ksamp(samples, variant="midrank")
        except TypeError:
            return stats.anderson_ksamp(samples, midrank=True)


def agree(ours, theirs, rtol=RTOL, atol=0.0):
    ours, theirs = float(ours), float(theirs)
    if math.isinf(theirs) or math.isinf(ours):
        return ours == theirs
    return abs(ours - theirs) <= atol + rtol * abs(theirs)


def sample(kind, n, rng, shift=0.0, scale=1.0):
    if kind == "normal":
        return rng.normal(shift, scale, n)
    if kind == "ties":  # heavy ties: four values
        return rng.integers(0, 4, n).astype(float) * scale + shift
    if kind == "discrete":  # rounded to one decimal
        return np.round(rng.normal(shift, scale, n), 1)
    return rng.exponential(scale, n) + shift  # skewed


# Sizes cover every method switch: exact paths of each test (tiny, <= 8, <= 20, <= 10,000),
# the boundaries themselves, unequal sizes, a side of one value, and large samples.
SIZES = [
    (1, 1),
    (1, 7),
    (2, 2),
    (3, 4),
    (5, 5),
    (8, 30),
    (9, 9),
    (20, 20),
    (21, 15),
    (37, 211),
    (999, 1003),
    (10_000, 10_000),
    (10_001, 9_000),
    (3, 20_000),
    (30_000, 40_000),
]
KINDS = ["normal", "ties", "discrete", "exponential"]
SHIFTS = [(0.0, 1.0), (0.3, 1.0), (0.0, 2.0)]


def cases():
    out = []
    for i, ((n1, n2), kind, (shift, scale)) in enumerate(itertools.product(SIZES, KINDS, SHIFTS)):
        # The largest sizes once per kind (they only check the asymptotic paths again).
        if n1 * n2 > 1e8 and (shift, scale) != (0.3, 1.0):
            continue
        out.append(
            pytest.param(n1, n2, kind, shift, scale, i, id=f"{n1}x{n2}-{kind}-{shift}-{scale}")
        )
    return out


@pytest.fixture(scope="module")
def quiet():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


def draw(n1, n2, kind, shift, scale, seed):
    rng = np.random.default_rng(seed)
    return sample(kind, n1, rng), sample(kind, n2, rng, shift, scale)


@pytest.mark.parametrize(("n1", "n2", "kind", "shift", "scale", "seed"), cases())
def test_rank_and_ecdf_tests_match_scipy(n1, n2, kind, shift, scale, seed):
    a, b = draw(n1, n2, kind, shift, scale, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy's own notes on ties and small samples
        ref = stats.ks_2samp(a, b)
        ours = ms.drift.ks(a, b)
        assert agree(ours.statistic, ref.statistic) and agree(ours.pvalue, ref.pvalue)
        assert ours.method == ("exact" if max(n1, n2) <= 10_000 else "asymptotic")

        ref = stats.mannwhitneyu(a, b)
        ours = ms.drift.mann_whitney(a, b)
        assert agree(ours.statistic, ref.statistic) and agree(ours.pvalue, ref.pvalue)

        if min(n1, n2) >= 2:
            ref = stats.cramervonmises_2samp(a, b)
            ours = ms.drift.cramer_von_mises(a, b)
            assert agree(ours.statistic, ref.statistic)
            assert agree(ours.pvalue, ref.pvalue, atol=1e-14 if ref.pvalue < 1e-6 else 0.0)

        if n1 + n2 >= 4 and np.unique(np.r_[a, b]).size > 1:
            ref = anderson_midrank([a, b])
            ours = ms.drift.anderson(a, b)
            assert agree(ours.statistic, ref.statistic) and agree(ours.pvalue, ref.pvalue)

    assert agree(ms.drift.wasserstein(a, b).statistic, stats.wasserstein_distance(a, b))
    assert agree(ms.drift.energy(a, b).statistic, stats.energy_distance(a, b))


@pytest.mark.parametrize(
    "n", [1, 2, 3, 10, 50, 139, 140, 141, 500, 20_000, 100_000, 100_001, 10**6 + 1]
)
def test_kolmogorov_distributions_match_scipy(n):
    # Every branch of the two-sided distribution (Ruben-Gambino ends, Durbin matrix,
    # Pomeranz, Pelz-Good, twice the one-sided tail) and of the one-sided one.
    xs = list(np.linspace(0.001, 0.99, 40))
    xs += [0.5 / n, 0.51 / n, 1.0 / n, 1.5 / n, 1 - 1.0 / n, 1 - 0.5 / n]
    xs += list(np.sqrt(np.array([0.5, 0.754693, 0.76, 2.0, 2.2, 4.0, 4.1, 18.0, 100.0, 369.0]) / n))
    for x in xs:
        if not 0.0 < x < 1.0:
            continue
        for ours, ref in (
            (_core.kolmogorov_sf(n, x), stats.kstwo.sf(x, n)),
            (_core.smirnov_sf(n, x), special.smirnov(n, x)),
        ):
            assert agree(ours, ref, atol=1e-15), (n, x, ours, ref)


def test_forced_methods_match_scipy():
    rng = np.random.default_rng(7)
    for n1, n2 in [(5, 7), (40, 60), (300, 200), (2000, 2000)]:
        # (exact Cramér-von Mises only on the smallest: scipy takes seconds beyond)
        a, b = rng.normal(size=n1), rng.normal(0.2, 1, size=n2)
        for ours_m, scipy_m in (("exact", "exact"), ("asymptotic", "asymp")):
            ref = stats.ks_2samp(a, b, method=scipy_m)
            ours = ms.drift.ks(a, b, method=ours_m)
            assert agree(ours.statistic, ref.statistic) and agree(ours.pvalue, ref.pvalue)
            assert ours.method == ours_m
        if max(n1, n2) <= 7:
            for m in ("exact", "asymptotic"):
                ref = stats.mannwhitneyu(a, b, method=m)
                assert agree(ms.drift.mann_whitney(a, b, method=m).pvalue, ref.pvalue)
                ref = stats.cramervonmises_2samp(a, b, method=m)
                assert agree(ms.drift.cramer_von_mises(a, b, method=m).pvalue, ref.pvalue)


def test_chi2_g_test_and_fisher_match_scipy():
    rng = np.random.default_rng(3)
    for k in range(2, 7):
        for scale in (3, 40, 5000):
            rc = rng.integers(1, scale, size=k)
            cc = rng.integers(1, scale, size=k)
            table = np.vstack([rc, cc])
            ref = stats.chi2_contingency(table)
            ours = ms.drift.chi2(rc, cc, counts=True)
            assert agree(ours.statistic, ref.statistic) and agree(ours.pvalue, ref.pvalue)
            ref = stats.chi2_contingency(table, lambda_="log-likelihood")
            ours = ms.drift.g_test(rc, cc, counts=True)
            assert agree(ours.statistic, ref.statistic) and agree(ours.pvalue, ref.pvalue)
            if k == 2:
                ref = stats.fisher_exact(table)
                ours = ms.drift.fisher(rc, cc, counts=True)
                assert agree(ours.statistic, ref.statistic) and agree(ours.pvalue, ref.pvalue)
    # Zeros in a row, tiny and lopsided tables.
    for table in ([[0, 5], [3, 2]], [[1, 0], [0, 1]], [[7, 0], [1, 9]], [[100, 2], [90, 12]]):
        rc, cc = np.array(table[0]), np.array(table[1])
        ref = stats.fisher_exact(table)
        ours = ms.drift.fisher(rc, cc, counts=True)
        assert agree(ours.pvalue, ref.pvalue)
        ref = stats.chi2_contingency(table)
        assert agree(ms.drift.chi2(rc, cc, counts=True).pvalue, ref.pvalue)


def test_frequency_distances_match_definitions():
    rng = np.random.default_rng(5)
    for k in (2, 5, 30):
        rc = rng.integers(0, 50, size=k)
        cc = rng.integers(0, 50, size=k)
        rc[0], cc[1] = 0, 0  # empty cells on each side
        p, q = rc / rc.sum(), cc / cc.sum()
        js = ms.drift.jensen_shannon(rc, cc, counts=True)
        assert agree(js.statistic, spatial.distance.jensenshannon(p, q))
        assert agree(
            ms.drift.hellinger(rc, cc, counts=True).statistic, np.sqrt(1 - np.sum(np.sqrt(p * q)))
        )
        assert agree(
            ms.drift.total_variation(rc, cc, counts=True).statistic, np.abs(p - q).sum() / 2
        )
        pe, qe = np.maximum(p, 1e-4), np.maximum(q, 1e-4)
        assert agree(
            ms.drift.psi(rc, cc, counts=True).statistic, np.sum((qe - pe) * np.log(qe / pe))
        )
        assert agree(ms.drift.kl(rc, cc, counts=True).statistic, np.sum(pe * np.log(pe / qe)))


def reference_bins(ref, cur, bins):
    """The documented binning, in numpy: quantile cut points strictly inside the
    reference range, plus one bin below its minimum and one above its maximum."""
    lo, hi = ref.min(), ref.max()
    q = np.quantile(ref, np.arange(1, bins) / bins)
    cuts = np.unique(q[(q > lo) & (q < hi)])
    edges = np.concatenate([[lo], cuts, [hi]])

    def counts(x):
        below = np.sum(x < lo)
        inner = np.diff(np.searchsorted(np.sort(x), edges, side="right"))
        first = np.sum((x >= lo) & (x <= edges[1] if edges.size > 1 else x <= lo))
        inner = np.concatenate([[first], inner[1:]]) if edges.size > 1 else np.array([first])
        above = np.sum(x > hi)
        return np.concatenate([[below], inner, [above]])

    return counts(ref), counts(cur)


@pytest.mark.parametrize("bins", [1, 4, 10, 50])
def test_binned_distances_follow_the_documented_bins(bins):
    rng = np.random.default_rng(bins)
    for ref, cur in [
        (rng.normal(size=500), rng.normal(0.4, 1.3, size=700)),
        (rng.integers(0, 5, 400).astype(float), rng.integers(0, 7, 300).astype(float)),
        (np.full(50, 2.0), rng.normal(2, 1, 60)),
    ]:
        rc, cc = reference_bins(ref, cur, bins)
        assert rc.sum() == ref.size and cc.sum() == cur.size
        for name in ("psi", "jensen_shannon", "hellinger", "kl", "total_variation"):
            f = getattr(ms.drift, name)
            binned = f(ref, cur, bins=bins)
            by_counts = f(rc, cc, counts=True)
            assert agree(binned.statistic, by_counts.statistic, atol=1e-15), name


def test_pvalues_are_uniform_without_drift():
    """Calibration: with no drift, p-values are uniform (asymptotic tests: a KS test of
    uniformity; exact tests: the rejection rate at each alpha is at most alpha)."""
    rng = np.random.default_rng(2024)
    reps = 400
    pvals = {name: [] for name in ("ks", "ks_exact", "mann_whitney", "cramer_von_mises", "chi2")}
    for _ in range(reps):
        a, b = rng.normal(size=300), rng.normal(size=250)
        pvals["ks"].append(ms.drift.ks(a, b, method="asymptotic").pvalue)
        pvals["mann_whitney"].append(ms.drift.mann_whitney(a, b).pvalue)
        pvals["cramer_von_mises"].append(ms.drift.cramer_von_mises(a, b).pvalue)
        x, y = rng.normal(size=15), rng.normal(size=12)
        pvals["ks_exact"].append(ms.drift.ks(x, y).pvalue)
        c, d = rng.integers(0, 4, 400), rng.integers(0, 4, 300)
        pvals["chi2"].append(ms.drift.chi2(c, d).pvalue)
    for name in ("ks", "mann_whitney", "cramer_von_mises", "chi2"):
        assert stats.kstest(pvals[name], "uniform").pvalue > 0.001, name
    # An exact test on discrete statistics is conservative: P(p <= alpha) <= alpha.
    p = np.array(pvals["ks_exact"])
    for alpha in (0.01, 0.05, 0.1, 0.25):
        limit = alpha + 3 * math.sqrt(alpha * (1 - alpha) / reps)
        assert np.mean(p <= alpha) <= limit, alpha
    # ... and it does reject a real shift.
    assert ms.drift.ks(rng.normal(size=15), rng.normal(2, 1, size=12)).drift


def test_drift_flags_thresholds_and_details():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=2000), rng.normal(0.5, 1, size=2000)
    r = ms.drift.ks(a, b, alpha=1e-300)
    assert not r.drift and r.threshold == 1e-300
    w = ms.drift.wasserstein(a, b)
    assert w.drift and agree(w.effect_size, w.statistic / np.std(a))
    assert not ms.drift.wasserstein(a, b, threshold=10).drift
    e = ms.drift.energy(a, b)
    assert agree(e.effect_size, e.statistic / np.sqrt(np.std(a)))
    p = ms.drift.psi(a, b)
    assert p.details["band"] in ("moderate", "major") and p.details["bins"] == 12
    d = r.to_dict()
    assert d["test"] == "ks" and d["n_reference"] == 2000 and "missing_reference" in d["details"]
    assert "DRIFT" in str(ms.drift.ks(a, b))


def test_missing_values_are_dropped_and_counted():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=100), rng.normal(size=80)
    a_nan = np.concatenate([a, [np.nan] * 7])
    r, clean = ms.drift.ks(a_nan, b), ms.drift.ks(a, b)
    assert (r.statistic, r.pvalue) == (clean.statistic, clean.pvalue)
    assert r.details["missing_reference"] == 7 and r.n_reference == 100
    with pytest.raises(InvalidInputError, match="no values left"):
        ms.drift.ks([np.nan, np.nan], b)
    with pytest.raises(InvalidInputError, match="no values left"):
        ms.drift.mann_whitney([], b)


def test_infinities_are_values_for_rank_tests_and_cut_from_distances():
    a = np.array([-np.inf, 0.1, 0.5, 0.9, 2.0])
    b = np.array([0.2, 0.4, 1.5, np.inf, np.inf])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = stats.ks_2samp(a, b)
        assert agree(ms.drift.ks(a, b).pvalue, ref.pvalue)
        assert agree(ms.drift.mann_whitney(a, b).pvalue, stats.mannwhitneyu(a, b).pvalue)
    w = ms.drift.wasserstein(a, b)
    assert agree(w.statistic, stats.wasserstein_distance(a[1:], b[:3]))
    assert (w.details["infinite_reference"], w.details["infinite_current"]) == (1, 2)
    with pytest.raises(InvalidInputError, match="finite"):
        ms.drift.energy([np.inf], [1.0])
    assert ms.drift.psi(a, b).details["bins"] >= 3  # the infinities sit in the outer bins


def test_small_constant_and_degenerate_samples():
    assert ms.drift.ks([1.0], [2.0]).pvalue == 1.0  # D = 1 but n1 = n2 = 1: p = 1
    same = ms.drift.ks(np.full(30, 3.0), np.full(20, 3.0))
    assert (same.statistic, same.pvalue) == (0.0, 1.0)
    assert ms.drift.mann_whitney(np.full(30, 3.0), np.full(20, 3.0)).pvalue == 1.0
    with pytest.raises(InvalidInputError, match="two distinct"):
        ms.drift.anderson(np.full(30, 3.0), np.full(20, 3.0))
    with pytest.raises(InvalidInputError, match="at least 2 values"):
        ms.drift.cramer_von_mises([1.0], [1.0, 2.0, 3.0])
    assert ms.drift.chi2(["a", "a"], ["a"]).pvalue == 1.0  # one category: nothing to test
    with pytest.raises(InvalidInputError, match=r"at most two categories.*chi2"):
        ms.drift.fisher(["a", "b", "c"], ["a", "b", "c"])
    # A category absent from both samples: a column of zeros in the 2 x 2 table.
    for counts in (([5, 0], [3, 0]), ([0, 5], [0, 3])):
        ours = ms.drift.fisher(*counts, counts=True)
        ref = stats.fisher_exact([counts[0], counts[1]])
        assert ours.pvalue == ref.pvalue == 1.0 and np.isnan(ours.statistic)
    assert ms.drift.fisher(["a", "a"], ["a"]).pvalue == 1.0  # one category seen


def test_input_types_and_layouts_give_the_same_result():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(9)
    base = rng.normal(size=(400, 2))
    a, b = base[:, 0].copy(), rng.normal(0.2, 1, size=300)
    expected = ms.drift.ks(a, b)
    for variant in (
        base[:, 0],  # strided view
        a[::-1][::-1],
        a.astype(np.float32).astype(np.float64),
        list(a),
        pd.Series(a),
        pd.Series(a, dtype="Float64"),
    ):
        r = ms.drift.ks(variant, b)
        assert (r.statistic, r.pvalue) == (expected.statistic, expected.pvalue)
    ints = rng.integers(0, 100, 300)
    assert ms.drift.ks(ints, ints.astype(float)).statistic == 0.0
    assert ms.drift.ks(np.array([True, False, True]), [0, 1, 1]).statistic == 0.0
    s = pd.Series([1.0, None, 3.0], dtype="Float64")
    assert ms.drift.ks(s, [1.0, 3.0]).details["missing_reference"] == 1
    pl = pytest.importorskip("polars")
    r = ms.drift.ks(pl.Series(a), pl.Series(b))
    assert (r.statistic, r.pvalue) == (expected.statistic, expected.pvalue)
    pa = pytest.importorskip("pyarrow")
    r = ms.drift.ks(pa.array(a), pa.chunked_array([b[:100], b[100:]]))
    assert (r.statistic, r.pvalue) == (expected.statistic, expected.pvalue)
    # Nulls of every arrow type and None in object arrays are missing values.
    for side in (
        pa.array([1.0, None, 3.0]),
        pa.array([1, None, 3]),
        pa.chunked_array([[1, None], [3]]),
        np.array([1, None, 3.0], dtype=object),
        pl.Series([1.0, None, 3.0]),
    ):
        r = ms.drift.ks(side, [1.0, 3.0])
        assert r.details["missing_reference"] == 1 and r.statistic == 0.0


def test_categorical_samples_are_counted_jointly():
    ref = ["a", "b", "b", None, "c", "a"]
    cur = ["b", "b", "d", "a", "a", "a"]
    r = ms.drift.chi2(ref, cur)
    # categories a, b, c, d; None dropped
    table = [[2, 2, 1, 0], [3, 2, 0, 1]]
    assert agree(r.statistic, stats.chi2_contingency(table).statistic)
    assert r.n_reference == 5 and r.n_current == 6
    # A 1 and a "1" are different categories.
    assert ms.drift.total_variation([1, 1], ["1", "1"], categorical=True).statistic == 1.0


def test_the_same_result_on_one_thread(monkeypatch):
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=300_000), rng.normal(0.01, 1, size=200_000)
    expected = [ms.drift.ks(a, b), ms.drift.wasserstein(a, b), ms.drift.psi(a, b)]
    monkeypatch.setenv("MLSENTRY_NUM_THREADS", "1")
    again = [ms.drift.ks(a, b), ms.drift.wasserstein(a, b), ms.drift.psi(a, b)]
    assert [(r.statistic, r.pvalue) for r in again] == [(r.statistic, r.pvalue) for r in expected]


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: ms.drift.ks([1, 2], [3], method="fast"), InvalidInputError, "method"),
        (lambda: ms.drift.ks([1, 2], [3], alpha=0), InvalidInputError, "alpha"),
        (lambda: ms.drift.ks([1, 2], [3], alpha="x"), InvalidTypeError, "alpha"),
        (lambda: ms.drift.ks([[1, 2]], [3]), InvalidInputError, "1-D"),
        (lambda: ms.drift.ks(["a"], [3]), InvalidTypeError, "numbers"),
        (lambda: ms.drift.psi([1.0], [2.0], bins=0), InvalidInputError, "bins"),
        (lambda: ms.drift.psi([1.0], [2.0], bins=2.5), InvalidTypeError, "bins"),
        (lambda: ms.drift.psi([1.0], [2.0], threshold=-1), InvalidInputError, "threshold"),
        (lambda: ms.drift.chi2([1, 2], [1], counts=True), InvalidInputError, "length"),
        (lambda: ms.drift.chi2([1, -2], [1, 2], counts=True), InvalidInputError, "non-negative"),
        (lambda: ms.drift.chi2([1.5, 2], [1, 2], counts=True), InvalidTypeError, "whole"),
        (lambda: ms.drift.chi2([0, 0], [1, 2], counts=True), InvalidInputError, "at least one"),
    ],
)
def test_bad_arguments_raise_clear_errors(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert isinstance(info.value, MlsentryError)


def test_huge_finite_values_give_scipys_distances():
    a = np.array([1e308, -1e308, 5e307, 3e307])
    b = np.array([1.7e308, -1.7e308, 0.0, 1e300])
    w = ms.drift.wasserstein(a, b)
    assert w.statistic == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-12)
    assert w.effect_size == pytest.approx(w.statistic / (np.std(a / 2.0**1000) * 2.0**1000))
    assert w.drift  # 0.75 reference standard deviations, read from finite numbers
    e = ms.drift.energy(a, b)
    assert e.statistic == pytest.approx(stats.energy_distance(a, b), rel=1e-12)
    # Scale-free: the same samples scaled down give the same normalised distance.
    small = ms.drift.wasserstein(a * 1e-300, b * 1e-300)
    assert small.effect_size == pytest.approx(w.effect_size, rel=1e-12)
    # In compare too (more values: floats this large are whole numbers, and a few
    # distinct whole numbers are compared as categories).
    rng = np.random.default_rng(5)
    a, b = rng.uniform(-1, 1, 200) * 1e308, rng.uniform(-1, 1, 200) * 1.7e308
    c = ms.drift.compare({"x": a}, {"x": b}, tests="wasserstein")["x"]
    assert c.kind == "numeric" and c.test == "wasserstein"
    assert c.statistic == pytest.approx(stats.wasserstein_distance(a, b), rel=1e-10)
    assert np.isfinite(c.effect) and c.drift


def test_integers_past_2_53_are_compared_exactly():
    """Nanosecond timestamps shifted by 64 ns: float64 would make both samples equal."""
    t0 = np.datetime64("2026-01-01T00:00:00", "ns").view(np.int64)
    a = t0 + np.arange(10, dtype=np.int64)
    b = a + 64
    assert (a.astype(np.float64) == b.astype(np.float64)).sum() > 0  # what rounding does
    for ours, ref in (
        (ms.drift.ks(a, b), stats.ks_2samp(a, b)),
        (ms.drift.cramer_von_mises(a, b), stats.cramervonmises_2samp(a, b)),
        (ms.drift.anderson(a, b), anderson_midrank([a, b])),
    ):
        assert agree(ours.statistic, ref.statistic) and agree(ours.pvalue, ref.pvalue)
    assert ms.drift.ks(a, b).statistic == 1.0 and ms.drift.ks(a, b).drift
    # Mann-Whitney and Wasserstein on the integers themselves (scipy rounds to float64
    # first there and reports no difference): every reference value is below every
    # current one, by exactly 64.
    assert ms.drift.mann_whitney(a, b).statistic == 0.0
    assert ms.drift.wasserstein(a, b).statistic == 64.0
    # uint64 past 2**63, a range wider than 2**53: order and ties kept exactly.
    u = np.array([2**64 - 1, 2**64 - 3, 2**63, 2**63 + 2], dtype=np.uint64)
    v = np.array([2**64 - 2, 2**63 + 1, 5, 2**64 - 1], dtype=np.uint64)
    ours, ref = ms.drift.ks(u, v), stats.ks_2samp(u.astype(object), v.astype(object))
    assert agree(ours.statistic, ref.statistic) and agree(ours.pvalue, ref.pvalue)
    # In compare: the column stays numeric (its distinct values are counted on the
    # integers) and drifts, with its histogram on the column's own scale.
    rep = ms.drift.compare({"t": a.view("M8[ns]")}, {"t": b.view("M8[ns]")})
    c = rep["t"]
    assert c.kind == "numeric" and c.test == "ks" and c.statistic == 1.0 and c.drift
    assert abs(c.histogram.edges[0] - float(t0)) < 1e3
    big = {"id": np.repeat(2**60 + np.arange(5), 20).astype(np.int64)}
    other = {"id": np.repeat(2**60 + np.arange(3, 8), 20).astype(np.int64)}
    c = ms.drift.compare(big, other)["id"]
    assert c.kind == "categorical" and set(c.histogram.labels) == {str(2**60 + k) for k in range(8)}
