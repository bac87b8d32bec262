"""The multivariate drift tests: ``mmd``, ``energy`` on (n, d) samples, ``classifier_test``
and ``compare(..., multivariate=...)``.

* ``mmd`` equals a numpy transcription of the unbiased MMD^2 to 1e-9 (given and median
  bandwidth), the energy statistic a numpy transcription of Szekely-Rizzo's to 1e-9;
* the estimate converges to the closed-form population MMD^2 of N(0, I) vs N(mu, I);
* 1,000 null replications at alpha 0.05 reject 37-63 times (each test);
* each test detects a mean shift, a variance change and a correlation change with
  unchanged marginals at the stated sizes.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats
from scipy.spatial.distance import cdist

import mlsentry as ms
from mlsentry.errors import InvalidInputError, InvalidTypeError


def mmd_numpy(x, y, bandwidth):
    g = 1.0 / (2.0 * bandwidth**2)
    kxx = np.exp(-g * cdist(x, x, "sqeuclidean"))
    kyy = np.exp(-g * cdist(y, y, "sqeuclidean"))
    kxy = np.exp(-g * cdist(x, y, "sqeuclidean"))
    n, m = len(x), len(y)
    return (
        (kxx.sum() - np.trace(kxx)) / (n * (n - 1))
        + (kyy.sum() - np.trace(kyy)) / (m * (m - 1))
        - 2 * kxy.mean()
    )


def energy_numpy(x, y):
    n, m = len(x), len(y)
    e = 2 * cdist(x, y).mean() - cdist(x, x).mean() - cdist(y, y).mean()
    return n * m / (n + m) * e


def population_mmd2(mu, bandwidth):
    d = len(mu)
    l2 = bandwidth**2
    a = (l2 / (l2 + 2)) ** (d / 2)
    return 2 * a - 2 * a * np.exp(-np.dot(mu, mu) / (2 * (l2 + 2)))


def correlated(rng, n, rho):
    u, v = rng.normal(size=n), rng.normal(size=n)
    return np.column_stack([u, rho * u + np.sqrt(1 - rho**2) * v])


@pytest.mark.parametrize("bandwidth", [0.7, 2.5, "median"])
def test_mmd_equals_numpy(bandwidth):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(300, 4)), rng.normal(0.2, 1.1, size=(270, 4))
    r = ms.drift.mmd(x, y, bandwidth=bandwidth, permutations=50)
    pooled = np.vstack([x, y])
    median = np.median(cdist(pooled, pooled)[np.triu_indices(len(pooled), 1)])
    want_bw = median if bandwidth == "median" else bandwidth
    assert r.details["bandwidth"] == pytest.approx(want_bw, rel=1e-12)
    assert r.statistic == pytest.approx(mmd_numpy(x, y, want_bw), rel=1e-9, abs=1e-12)
    assert r.test == "mmd" and r.method == "permutation"
    assert r.n_reference == 300 and r.n_current == 270


def test_energy_2d_equals_numpy_and_1d_stays_scipy():
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(120, 3)), rng.normal(0.1, 1, size=(90, 3))
    r = ms.drift.energy(x, y, permutations=0)
    assert r.statistic == pytest.approx(energy_numpy(x, y), rel=1e-9)
    assert r.pvalue is None and not r.drift
    a, b = rng.normal(size=200), rng.normal(0.3, 1, size=150)
    assert ms.drift.energy(a, b).statistic == pytest.approx(stats.energy_distance(a, b), rel=1e-9)
    assert ms.drift.energy(a, b).pvalue is None


def test_statistic_alone_without_permutations():
    rng = np.random.default_rng(3)
    r = ms.drift.mmd(rng.normal(size=(50, 2)), rng.normal(size=(40, 2)), permutations=0)
    assert r.pvalue is None and r.drift is False and r.method == "statistic"


def test_mmd_converges_to_the_closed_form():
    rng = np.random.default_rng(4)
    mu = np.array([0.6, -0.3, 0.0])
    want = population_mmd2(mu, 1.5)
    errors = []
    for n in (250, 4000):
        x, y = rng.normal(size=(n, 3)), rng.normal(size=(n, 3)) + mu
        errors.append(abs(ms.drift.mmd(x, y, bandwidth=1.5, permutations=0).statistic - want))
    assert errors[1] < 0.1 * want
    assert errors[1] < errors[0] + 0.02 * want


def _null_rejections(test, n, reps=1000):
    rng = np.random.default_rng(11)
    rejected = 0
    for i in range(reps):
        x, y = rng.normal(size=(n, 2)), rng.normal(size=(n, 2))
        rejected += test(x, y, i).pvalue < 0.05
    return rejected


def test_mmd_null_calibration():
    assert (
        37
        <= _null_rejections(lambda x, y, s: ms.drift.mmd(x, y, permutations=199, seed=s), 20)
        <= 63
    )


def test_energy_null_calibration():
    got = _null_rejections(lambda x, y, s: ms.drift.energy(x, y, permutations=199, seed=s), 20)
    assert 37 <= got <= 63


def test_classifier_null_calibration():
    got = _null_rejections(lambda x, y, s: ms.drift.classifier_test(x, y, seed=s), 50)
    assert 37 <= got <= 63


CHANGES = {
    "mean": lambda rng, n: rng.normal(size=(n, 2)) + np.array([0.5, 0.0]),
    "variance": lambda rng, n: rng.normal(size=(n, 2)) * np.array([1.6, 1.0]),
    "correlation": lambda rng, n: correlated(rng, n, 0.7),
}
TESTS = {
    "mmd": lambda x, y: ms.drift.mmd(x, y, permutations=199),
    "energy": lambda x, y: ms.drift.energy(x, y, permutations=199),
    "classifier": lambda x, y: ms.drift.classifier_test(x, y),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
@pytest.mark.parametrize("test", sorted(TESTS))
def test_power(test, change):
    """400 rows a side: mean shift 0.5 sd in one feature, sd x1.6 in one feature, or
    correlation 0 -> 0.7 with standard normal marginals."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(400, 2))
    y = CHANGES[change](rng, 400)
    if change == "correlation":
        for j in range(2):  # marginals unchanged: no column test sees it
            assert stats.ks_2samp(x[:, j], y[:, j]).pvalue > 0.01
    r = TESTS[test](x, y)
    assert r.drift and r.pvalue < 0.01, r


def test_same_result_whatever_the_thread_count():
    code = (
        "import numpy as np, mlsentry as ms; rng = np.random.default_rng(0);"
        "x, y = rng.normal(size=(300, 3)), rng.normal(0.1, 1, (300, 3));"
        "r = ms.drift.mmd(x, y, permutations=300, seed=9); print(repr(r.statistic), r.pvalue)"
    )
    outs = set()
    for threads in ("1", "2"):
        env = {**os.environ, "MLSENTRY_NUM_THREADS": threads}
        outs.add(
            subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            ).stdout
        )
    assert len(outs) == 1


def test_linear_time_mmd():
    rng = np.random.default_rng(6)
    x = rng.normal(size=(5000, 3))
    shifted = ms.drift.mmd(x, rng.normal(0.5, 1, (5000, 3)), method="linear", bandwidth=1.5)
    assert shifted.method == "linear-time, normal" and shifted.drift
    assert shifted.details["pairs"] == 2500
    same = ms.drift.mmd(x, rng.normal(size=(5000, 3)), method="linear", bandwidth=1.5)
    assert same.pvalue > 0.001  # calibrated: 4.7 % of 1,000 null runs below 0.05


def test_dataframe_input_and_determinism():
    pd = pytest.importorskip("pandas")
    rng = np.random.default_rng(7)
    x, y = rng.normal(size=(80, 2)), rng.normal(size=(70, 2))
    a = ms.drift.mmd(pd.DataFrame(x, columns=["a", "b"]), y, permutations=99, seed=3)
    b = ms.drift.mmd(x, y, permutations=99, seed=3)
    assert a == b


@pytest.mark.parametrize(
    "call, err, match",
    [
        (lambda x, y: ms.drift.mmd(x, y[:, :1]), InvalidInputError, "number of features"),
        (lambda x, y: ms.drift.mmd(np.where(x > 1, np.nan, x), y), InvalidInputError, "reference"),
        (lambda x, y: ms.drift.mmd(x, np.full_like(y, np.inf)), InvalidInputError, "current"),
        (lambda x, y: ms.drift.mmd(x[:0], y), InvalidInputError, "reference: no rows"),
        (lambda x, y: ms.drift.mmd(x.reshape(5, 4, 4), y), InvalidInputError, "2-D"),
        (lambda x, y: ms.drift.mmd(x.astype(str), y), InvalidTypeError, "reference"),
        (lambda x, y: ms.drift.mmd(x, y, bandwidth=-1), InvalidInputError, "bandwidth"),
        (lambda x, y: ms.drift.mmd(x, y, bandwidth="mean"), InvalidInputError, "bandwidth"),
        (lambda x, y: ms.drift.mmd(x, y, permutations=-1), InvalidInputError, "permutations"),
        (lambda x, y: ms.drift.mmd(x, y, method="cubic"), InvalidInputError, "method"),
        (lambda x, y: ms.drift.mmd(x, y, alpha=2), InvalidInputError, "alpha"),
        (
            lambda x, y: ms.drift.mmd(np.ones((20, 2)), np.ones((20, 2))),
            InvalidInputError,
            "bandwidth",
        ),
        (lambda x, y: ms.drift.energy(x, y[:, :1]), InvalidInputError, "number of features"),
        (lambda x, y: ms.drift.classifier_test(x, y, holdout=1.0), InvalidInputError, "holdout"),
        (lambda x, y: ms.drift.classifier_test(x[:1], y), InvalidInputError, "at least 2"),
        (lambda x, y: ms.drift.mmd(x[:3], y, method="linear"), InvalidInputError, "4 rows"),
    ],
)
def test_bad_input(call, err, match):
    rng = np.random.default_rng(8)
    x, y = rng.normal(size=(20, 4)), rng.normal(size=(20, 4))
    with pytest.raises(err, match=match):
        call(x, y)


def test_compare_multivariate_sees_a_correlation_change():
    rng = np.random.default_rng(9)
    x, y = correlated(rng, 1500, 0.0), correlated(rng, 1500, 0.6)
    ref = {"a": x[:, 0], "b": x[:, 1], "plan": rng.choice(["p", "q"], 1500)}
    cur = {"a": y[:, 0], "b": y[:, 1], "plan": rng.choice(["p", "q"], 1500)}
    plain = ms.drift.compare(ref, cur)
    assert not plain.drifted and plain.multivariate is None
    rep = ms.drift.compare(ref, cur, multivariate=True)
    assert rep.drifted_columns == [] and rep.drifted and not rep.passed
    assert rep.multivariate.test == "mmd" and rep.multivariate.drift
    assert rep.config["multivariate"] == "mmd"
    assert "joint test" in rep.summary() and "Joint test" in rep.to_html()
    back = ms.report.Report.from_dict(rep.to_dict())
    assert back.to_dict() == rep.to_dict() and back.multivariate == rep.multivariate
    same = ms.drift.compare(ref, ref, multivariate="classifier")
    assert same.multivariate.test == "classifier" and not same.drifted
    with pytest.raises(InvalidInputError, match="multivariate"):
        ms.drift.compare(ref, cur, multivariate="knn")
