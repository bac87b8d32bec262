"""Univariate two-sample tests and distances, each returning a :class:`TestResult`
(see the package documentation, :mod:`mlsentry.drift`, for the table of tests)."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import _core
from .._args import check_int
from ..errors import InvalidInputError, InvalidTypeError
from .choice import exact_pair, factorize_pair
from .result import (
    DEFAULT_THRESHOLDS,
    DISTANCES,
    TestResult,
    as_sample,
    check_alpha,
    check_threshold,
    distance_drift,
    psi_band,
)
from .tables import int_side


def _result(
    test: str,
    raw: dict[str, Any],
    *,
    alpha: Optional[float] = None,
    threshold: Optional[float] = None,
) -> TestResult:
    details = dict(raw["details"])
    for key in ("missing_reference", "missing_current"):
        if key in raw:
            details[key] = raw[key]
    statistic, pvalue, effect = raw["statistic"], raw["pvalue"], raw["effect_size"]
    if test in DISTANCES:
        limit = DEFAULT_THRESHOLDS[test] if threshold is None else threshold
        _, drift = distance_drift(test, statistic, effect, limit)
        if test == "psi":
            details["band"] = psi_band(statistic)
    else:
        limit = 0.05 if alpha is None else alpha
        drift = bool(pvalue is not None and pvalue < limit)
    return TestResult(
        test=raw.get("test", test),
        statistic=statistic,
        pvalue=pvalue,
        method=raw["method"],
        threshold=limit,
        drift=drift,
        effect_size=effect,
        n_reference=int(raw["n_reference"]),
        n_current=int(raw["n_current"]),
        details=details,
    )


def _numeric(
    test: str,
    reference: Any,
    current: Any,
    *,
    method: str = "auto",
    bins: int = 10,
    alpha: Optional[float] = None,
    threshold: Optional[float] = None,
) -> TestResult:
    exact = _exact_samples(reference, current, ranks_allowed=test in RANK_TESTS)
    r, c = exact or (as_sample(reference, "reference"), as_sample(current, "current"))
    raw = _core.drift_numeric_test(test, r, c, bins, method)
    return _result(test, raw, alpha=alpha, threshold=threshold)


#: Tests that depend only on the order of the values (and their ties).
RANK_TESTS = frozenset({"ks", "anderson", "cramer_von_mises", "mann_whitney"})


def _exact_samples(
    reference: Any, current: Any, *, ranks_allowed: bool
) -> Optional[tuple[np.ndarray, np.ndarray]]:
    """Integer samples that float64 would round (past 2**53), made exact: shifted by their
    joint minimum (every test), or, when their range passes 2**53, replaced by their
    positions among the joint distinct values (order and ties: the rank tests only).
    ``None`` for other input."""
    if not all(isinstance(x, np.ndarray) and x.ndim == 1 for x in (reference, current)):
        return None
    if reference.dtype.kind not in "iu" or current.dtype.kind not in "iu":
        return None
    sides = [
        int_side(x.astype(np.uint64 if x.dtype.kind == "u" else np.int64), "number", "", None)
        for x in (reference, current)
    ]
    if all(s.exact is None for s in sides):
        return None
    _, rank_values, _ = exact_pair(*sides)
    if rank_values is not None and not ranks_allowed:
        return None
    return sides[0].values, sides[1].values


def _counts(x: Any, name: str) -> np.ndarray:
    arr = np.asarray(x)
    if arr.ndim != 1:
        raise InvalidInputError(f"{name}: expected a 1-D vector of counts, got shape {arr.shape}")
    if arr.dtype.kind not in "iu" and not (
        arr.dtype.kind == "f" and np.all(np.isfinite(arr)) and np.all(arr == np.round(arr))
    ):
        raise InvalidTypeError(f"{name}: expected whole-number counts, got dtype {arr.dtype}")
    if np.any(arr < 0):
        raise InvalidInputError(f"{name}: counts must be non-negative")
    return arr.astype(np.uint64)


def _category_counts(reference: Any, current: Any) -> tuple[np.ndarray, np.ndarray]:
    """Counts of each category on both sides (joint factorisation; missing dropped)."""
    codes_r, codes_c, k = factorize_pair(reference, current)
    rc = np.bincount(codes_r[codes_r >= 0], minlength=k).astype(np.uint64)
    cc = np.bincount(codes_c[codes_c >= 0], minlength=k).astype(np.uint64)
    return rc, cc


def _categorical(
    test: str,
    reference: Any,
    current: Any,
    *,
    counts: bool,
    alpha: Optional[float] = None,
    threshold: Optional[float] = None,
) -> TestResult:
    if counts:
        rc, cc = _counts(reference, "reference"), _counts(current, "current")
        if rc.shape != cc.shape:
            raise InvalidInputError(
                f"reference and current counts differ in length ({rc.size} vs {cc.size})"
            )
    else:
        rc, cc = _category_counts(reference, current)
    used = (rc + cc) > 0
    raw = _core.drift_count_test(test, rc[used], cc[used])
    result = _result(test, raw, alpha=alpha, threshold=threshold)
    return result


def _binned_or_counts(
    test: str,
    reference: Any,
    current: Any,
    *,
    bins: int,
    categorical: Optional[bool],
    counts: bool,
    threshold: Optional[float],
) -> TestResult:
    threshold = check_threshold(test, threshold)
    if counts or categorical or (categorical is None and not _is_numeric(reference, current)):
        return _categorical(test, reference, current, counts=counts, threshold=threshold)
    return _numeric(
        test, reference, current, bins=check_int(bins, "bins", 1, 1_000_000), threshold=threshold
    )


def _is_numeric(*samples: Any) -> bool:
    """Whether every sample holds numbers (bool counts as categories)."""
    for s in samples:
        dtype = getattr(s, "dtype", None)
        if dtype is None:
            try:
                dtype = np.asarray(s).dtype
            except Exception:
                return False
        kind = getattr(dtype, "kind", None)
        if kind is None or kind not in "iuf":
            # pandas/pyarrow extension dtypes: numeric when numpy-convertible
            try:
                kind = np.dtype(getattr(dtype, "numpy_dtype", dtype)).kind
            except TypeError:
                return False
            if kind not in "iuf":
                return False
    return True


# --------------------------------------------------------------------------- tests


def ks(reference: Any, current: Any, *, method: str = "auto", alpha: float = 0.05) -> TestResult:
    """Two-sample Kolmogorov-Smirnov test (two-sided), as ``scipy.stats.ks_2samp``.

    Parameters
    ----------
    reference, current : array-like of numbers
        The two samples (numpy, lists, pandas/polars Series, pyarrow arrays). NaN is
        missing and dropped.
    method : {"auto", "exact", "asymptotic"}
        ``"auto"`` (scipy's rule): exact when both samples have at most 10,000 values,
        asymptotic otherwise. Exact counts lattice paths; asymptotic uses the one-sample
        distribution at ``n = round(n1 n2 / (n1 + n2))``.
    alpha : float
        Drift when ``pvalue < alpha``.

    Returns
    -------
    TestResult
        ``statistic`` is ``D = max |F_reference - F_current|`` (also the effect size).

    Examples
    --------
    >>> import mlsentry as ms
    >>> r = ms.drift.ks([1, 2, 3, 4], [5, 6, 7, 8])
    >>> r.statistic, round(r.pvalue, 6)
    (1.0, 0.028571)
    """
    return _numeric("ks", reference, current, method=method, alpha=check_alpha(alpha))


def anderson(reference: Any, current: Any, *, alpha: float = 0.05) -> TestResult:
    """Two-sample Anderson-Darling test, as ``scipy.stats.anderson_ksamp`` (midrank).

    The statistic is the standardised k-sample statistic of Scholz & Stephens (1987). Its
    p-value is interpolated from their table of critical values and, as in scipy, capped
    at 0.25 and floored at 0.001 (``details["capped"]`` / ``details["floored"]``). Needs
    at least 4 values in all and two distinct ones.

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> r = ms.drift.anderson(np.arange(50.0), np.arange(50.0) + 25)
    >>> r.drift, r.pvalue
    (True, 0.001)
    """
    return _numeric("anderson", reference, current, alpha=check_alpha(alpha))


def cramer_von_mises(
    reference: Any, current: Any, *, method: str = "auto", alpha: float = 0.05
) -> TestResult:
    """Two-sample Cramér-von Mises test, as ``scipy.stats.cramervonmises_2samp``.

    ``method="auto"`` is exact when both samples have at most 20 values (scipy's rule),
    asymptotic otherwise. Needs at least 2 values on each side.

    Examples
    --------
    >>> import mlsentry as ms
    >>> r = ms.drift.cramer_von_mises([1, 2, 3, 4, 5], [6, 7, 8, 9, 10])
    >>> round(r.statistic, 4), round(r.pvalue, 6)
    (0.85, 0.007937)
    """
    return _numeric("cramer_von_mises", reference, current, method=method, alpha=check_alpha(alpha))


def mann_whitney(
    reference: Any, current: Any, *, method: str = "auto", alpha: float = 0.05
) -> TestResult:
    """Mann-Whitney U test (two-sided, continuity correction), as ``scipy.stats.mannwhitneyu``.

    The statistic is ``U`` of the reference sample. ``method="auto"`` is exact when a
    sample has at most 8 values and there are no ties (scipy's rule), otherwise the normal
    approximation with the tie correction. The effect size is the rank-biserial
    correlation ``|1 - 2U / (n1 n2)|``; ``details["auc"]`` is ``U / (n1 n2)``.

    Examples
    --------
    >>> import mlsentry as ms
    >>> r = ms.drift.mann_whitney([1, 2, 3], [4, 5, 6])
    >>> r.statistic, r.pvalue
    (0.0, 0.1)
    """
    return _numeric("mann_whitney", reference, current, method=method, alpha=check_alpha(alpha))


def wasserstein(reference: Any, current: Any, *, threshold: Optional[float] = None) -> TestResult:
    """Wasserstein-1 (earth mover's) distance, as ``scipy.stats.wasserstein_distance``.

    ``statistic`` is the distance in the data's units; ``effect_size`` (and
    ``details["normalized"]``) divides it by the reference's standard deviation, and drift
    is ``effect_size >= threshold`` (default 0.1). Infinities are left out and counted.

    Examples
    --------
    >>> import mlsentry as ms
    >>> ms.drift.wasserstein([0.0, 1.0, 2.0], [0.5, 1.5, 2.5]).statistic
    0.5
    """
    return _numeric(
        "wasserstein", reference, current, threshold=check_threshold("wasserstein", threshold)
    )


def energy(
    reference: Any,
    current: Any,
    *,
    threshold: Optional[float] = None,
    permutations: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> TestResult:
    """Energy distance, as ``scipy.stats.energy_distance``, on 1-D samples; the
    multivariate energy test with a permutation p-value on (n, d) samples.

    1-D: ``effect_size`` divides the distance by the square root of the reference's
    standard deviation (the distance grows as the square root of the scale); drift is
    ``effect_size >= threshold`` (default 0.1). Infinities are left out and counted.
    ``permutations``, ``seed`` and ``alpha`` are not used.

    2-D (a matrix or a DataFrame, even of one column): see
    :func:`mlsentry.drift.multivariate.energy_test`; ``statistic`` is the energy
    statistic, drift is ``pvalue < alpha`` and ``threshold`` is not used.

    Examples
    --------
    >>> import mlsentry as ms
    >>> round(ms.drift.energy([0.0], [1.0]).statistic, 6)
    1.414214
    """
    if np.ndim(reference) == 2 or np.ndim(current) == 2:
        from .multivariate import energy_test

        return energy_test(reference, current, permutations=permutations, seed=seed, alpha=alpha)
    return _numeric("energy", reference, current, threshold=check_threshold("energy", threshold))


def _frequency_distance(name: str, what: str, example: str) -> Any:
    """One public distance of binned numbers or category frequencies (they share their
    arguments and rules; only the formula, in the core, differs)."""

    def distance(
        reference: Any,
        current: Any,
        *,
        bins: int = 10,
        categorical: Optional[bool] = None,
        counts: bool = False,
        threshold: Optional[float] = None,
    ) -> TestResult:
        return _binned_or_counts(
            name,
            reference,
            current,
            bins=bins,
            categorical=categorical,
            counts=counts,
            threshold=threshold,
        )

    distance.__name__ = distance.__qualname__ = name
    distance.__doc__ = f"""{what}

    Numbers are binned on reference quantiles (``bins`` bins plus one below and one above
    the reference range; see the module notes); categories (strings, booleans,
    categoricals, or ``categorical=True``) are compared by frequency. With
    ``counts=True``, ``reference`` and ``current`` are count vectors aligned by
    category. Drift is ``statistic >= threshold`` (default
    ``DEFAULT_THRESHOLDS[{name!r}]``, 0.1).

    Returns
    -------
    TestResult

    Examples
    --------
    >>> import mlsentry as ms
    >>> {example}
    """
    return distance


psi = _frequency_distance(
    "psi",
    "Population stability index ``sum (q - p) ln(q / p)`` of the reference (``p``) and\n"
    "    current (``q``) frequencies, floored at 1e-4. ``details['band']`` reads it as\n"
    "    usual: below 0.1 stable, 0.1 to 0.25 moderate, from 0.25 major.",
    "ms.drift.psi(['a', 'a', 'b'], ['a', 'b', 'b']).details['band']\n    'major'",
)
jensen_shannon = _frequency_distance(
    "jensen_shannon",
    "Jensen-Shannon distance (square root of the divergence, natural logarithm), as\n"
    "    ``scipy.spatial.distance.jensenshannon``.",
    "ms.drift.jensen_shannon(['a'], ['a']).statistic\n    0.0",
)
hellinger = _frequency_distance(
    "hellinger",
    "Hellinger distance ``sqrt(1 - sum sqrt(p q))``, between 0 and 1.",
    "ms.drift.hellinger(['a'], ['b']).statistic\n    1.0",
)
kl = _frequency_distance(
    "kl",
    "Kullback-Leibler divergence ``KL(reference || current) = sum p ln(p / q)``,\n"
    "    frequencies floored at 1e-4.",
    "ms.drift.kl(['a', 'b'], ['a', 'b']).statistic\n    0.0",
)
total_variation = _frequency_distance(
    "total_variation",
    "Total variation distance ``sum |p - q| / 2``, between 0 and 1.",
    "ms.drift.total_variation(['a', 'a'], ['a', 'b']).statistic\n    0.5",
)


def chi2(reference: Any, current: Any, *, counts: bool = False, alpha: float = 0.05) -> TestResult:
    """Chi-squared test of homogeneity on the 2 x k table of category counts.

    As ``scipy.stats.chi2_contingency`` on ``[reference_counts, current_counts]``, with
    Yates' correction when there are two categories. Categories seen only on one side are
    counted (they are evidence of drift); categories seen on neither side are dropped.
    ``effect_size`` is Cramér's V. With ``counts=True`` the inputs are count vectors
    aligned by category.

    Examples
    --------
    >>> import mlsentry as ms
    >>> r = ms.drift.chi2([10, 20], [30, 40], counts=True)
    >>> round(r.statistic, 6), round(r.pvalue, 6)
    (0.446429, 0.504036)
    """
    return _categorical("chi2", reference, current, counts=counts, alpha=check_alpha(alpha))


def g_test(
    reference: Any, current: Any, *, counts: bool = False, alpha: float = 0.05
) -> TestResult:
    """G-test (log-likelihood ratio) on the 2 x k table of category counts.

    As ``scipy.stats.chi2_contingency(table, lambda_="log-likelihood")``.

    Examples
    --------
    >>> import mlsentry as ms
    >>> ms.drift.g_test(["a", "b", "b"], ["a", "b", "b"]).pvalue
    1.0
    """
    return _categorical("g_test", reference, current, counts=counts, alpha=check_alpha(alpha))


def fisher(
    reference: Any, current: Any, *, counts: bool = False, alpha: float = 0.05
) -> TestResult:
    """Fisher's exact test for a column with two categories, as ``scipy.stats.fisher_exact``.

    Two-sided, on ``[[ref_a, ref_b], [cur_a, cur_b]]`` (categories in order of first
    appearance); the statistic is the odds ratio.

    Examples
    --------
    >>> import mlsentry as ms
    >>> round(ms.drift.fisher([3, 1], [1, 3], counts=True).pvalue, 6)
    0.485714
    """
    return _categorical("fisher", reference, current, counts=counts, alpha=check_alpha(alpha))
