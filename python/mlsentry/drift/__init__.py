"""Drift: has the data moved away from what the model was trained on?

Two-sample tests and distances between a ``reference`` sample (training or validation
data) and a ``current`` one (production data), computed in Rust without the GIL. Each
returns a :class:`TestResult`; :func:`compare` runs the right test on every column of two
tables and corrects for testing many columns at once.

Tests with a p-value (drift when ``pvalue < alpha``), each matching the scipy function of
the same test, statistic and p-value, including its switch between exact and asymptotic
p-values:

==================== ===================================== ==================================
function             scipy                                  p-value
==================== ===================================== ==================================
:func:`ks`           ``ks_2samp``                           exact up to 10,000 values a side
:func:`anderson`     ``anderson_ksamp(variant="midrank")``  interpolated, within [0.001, 0.25]
:func:`cramer_von_mises` ``cramervonmises_2samp``           exact up to 20 values a side
:func:`mann_whitney` ``mannwhitneyu``                       exact for <= 8 values, no ties
:func:`chi2`         ``chi2_contingency`` (2 x k table)     asymptotic, Yates at 1 dof
:func:`g_test`       ``chi2_contingency(lambda_="log-likelihood")``
:func:`fisher`       ``fisher_exact`` (two categories)      exact
==================== ===================================== ==================================

Distances (drift when the value reaches ``threshold``, defaults in
:data:`DEFAULT_THRESHOLDS`): :func:`wasserstein` and :func:`energy` (scipy's
``wasserstein_distance`` and ``energy_distance``; the threshold applies to the value
divided by the reference's standard deviation, or its square root for energy, so it does
not depend on units), and :func:`psi`, :func:`jensen_shannon`, :func:`hellinger`,
:func:`kl`, :func:`total_variation` on binned numbers or on category frequencies.

Missing values and infinities
-----------------------------
NaN (and None, ``pd.NA``) is a missing value: dropped from the test and counted in
``details`` (``missing_reference``, ``missing_current``); :func:`compare` also tests the
missing rates. Infinities are values: the rank and ECDF tests (ks, anderson,
cramer_von_mises, mann_whitney) order them as the most extreme values and the binned
distances put them in the outer bins; wasserstein and energy need finite numbers and leave
infinities out, counting them in ``details`` (``infinite_reference``,
``infinite_current``).

Bins of the binned distances
----------------------------
``bins`` bins cut at the reference quantiles ``i / bins`` (cut points strictly inside the
reference range, duplicates merged, so tied data gets fewer bins), plus one bin below the
reference minimum and one above its maximum, which are empty in the reference: a current
value outside the reference range always counts. Frequencies below ``1e-4`` are raised to
``1e-4`` in ``psi`` and ``kl`` so that empty bins stay finite. ``jensen_shannon`` is the
distance (square root of the divergence, natural logarithm) as scipy's
``spatial.distance.jensenshannon``; ``kl`` is ``KL(reference || current)``.

>>> import numpy as np, mlsentry as ms
>>> rng = np.random.default_rng(0)
>>> ref, cur = rng.normal(size=2000), rng.normal(0.3, 1, size=2000)
>>> ms.drift.ks(ref, cur).drift
True
>>> ms.drift.ks(ref, rng.normal(size=2000)).drift
False
"""

from .comparison import compare
from .corrections import adjust_pvalues
from .multivariate import classifier_test, mmd
from .profile import Profile
from .report import ColumnDrift, DriftReport
from .result import DEFAULT_THRESHOLDS, PSI_BANDS, TestResult
from .univariate import (
    anderson,
    chi2,
    cramer_von_mises,
    energy,
    fisher,
    g_test,
    hellinger,
    jensen_shannon,
    kl,
    ks,
    mann_whitney,
    psi,
    total_variation,
    wasserstein,
)

__all__ = [
    "ColumnDrift",
    "DEFAULT_THRESHOLDS",
    "DriftReport",
    "PSI_BANDS",
    "Profile",
    "TestResult",
    "adjust_pvalues",
    "anderson",
    "chi2",
    "classifier_test",
    "compare",
    "cramer_von_mises",
    "energy",
    "fisher",
    "g_test",
    "hellinger",
    "jensen_shannon",
    "kl",
    "ks",
    "mann_whitney",
    "mmd",
    "psi",
    "total_variation",
    "wasserstein",
]


def __dir__() -> list[str]:
    return sorted(__all__)
