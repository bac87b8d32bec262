"""ms.drift.compare's fast paths: the fingerprints computed beside the tests (same values,
no thread left behind, errors reach the caller), and the one sort per numeric column that
every statistic reuses, checked against scipy on samples of every shape (skewed, ties,
infinities, signed zeros, tiny and overflowing ranges)."""

from __future__ import annotations

import threading

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st

import mlsentry
from mlsentry.drift import compare, comparison
from mlsentry.errors import InvalidInputError


def _fingerprint_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "mlsentry-fingerprint"]


def test_fingerprints_beside_the_tests_equal_the_fingerprint_of_each_side():
    rng = np.random.default_rng(5)
    ref = pd.DataFrame({"x": rng.normal(size=3000), "c": rng.choice(["a", "b"], 3000)})
    cur = pd.DataFrame({"x": rng.normal(size=2500), "c": rng.choice(["a", "b"], 2500)})
    rep = compare(ref, cur)
    assert rep.inputs == {
        "reference": mlsentry.fingerprint(ref),
        "current": mlsentry.fingerprint(cur),
    }
    assert _fingerprint_threads() == []


def test_an_error_after_the_fingerprints_started_leaves_no_thread():
    ref = pd.DataFrame({"x": np.arange(100.0)})
    with pytest.raises(InvalidInputError, match="columns"):
        compare(ref, ref, columns=["nope"])
    assert _fingerprint_threads() == []


def test_an_unexpected_fingerprint_error_reaches_the_caller(monkeypatch):
    def boom(obj):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(comparison, "_fingerprint_side", boom)
    ref = pd.DataFrame({"x": np.arange(100.0)})
    with pytest.raises(RuntimeError, match="disk on fire"):
        compare(ref, ref)
    assert _fingerprint_threads() == []
    assert compare(ref, ref, fingerprint=False).inputs == {}


def test_a_profile_and_a_frame_fingerprint_the_frame_beside_the_comparison():
    rng = np.random.default_rng(6)
    ref = pd.DataFrame({"x": rng.normal(size=3000), "c": rng.choice(["a", "b"], 3000)})
    cur = pd.DataFrame({"x": rng.normal(size=2000), "c": rng.choice(["a", "b"], 2000)})
    prof = mlsentry.drift.Profile.fit(ref)
    rep = compare(prof, cur)
    assert rep.inputs == {"reference": prof.fingerprint, "current": mlsentry.fingerprint(cur)}
    rep = compare(cur, prof)
    assert rep.inputs == {"reference": mlsentry.fingerprint(cur), "current": prof.fingerprint}
    assert compare(prof, cur, fingerprint=False).inputs == {}
    assert _fingerprint_threads() == []


def _shapes(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(11)
    spiky = rng.normal(size=n)
    spiky[::7] = np.inf
    spiky[1::11] = -np.inf
    spiky[2::13] = -0.0
    spiky[3::17] = 0.0
    spiky[4::19] = np.nan
    return {
        "normal": rng.normal(size=n),
        "lognormal": rng.lognormal(0, 4, size=n),  # most values in a few buckets
        "ties": np.round(rng.normal(size=n) * 3),
        "spiky": spiky,
        "tiny": rng.normal(size=n) * 1e-300,
        "wide": rng.choice([-1e308, 1.7e308, 0.0], size=n),  # range overflows: radix sort
    }


@pytest.mark.parametrize("n", [3000, 40_000])
def test_numeric_columns_of_every_shape_match_scipy(n):
    a, b = _shapes(n), _shapes(n + 17)
    b = {k: v[::-1].copy() * (1.01 if k != "wide" else 1.0) for k, v in b.items()}
    rep = compare(pd.DataFrame(a), pd.DataFrame(b), fingerprint=False, max_categories=0)
    for col in rep.columns:
        x, y = a[col.name], b[col.name]
        x, y = x[~np.isnan(x)], y[~np.isnan(y)]
        if col.kind != "numeric":
            continue
        ks = st.ks_2samp(x, y)
        assert col.statistic == pytest.approx(ks.statistic, rel=1e-12, abs=0), col.name
        assert col.pvalue == pytest.approx(ks.pvalue, rel=1e-6, abs=1e-300), col.name
        if col.name in ("normal", "lognormal", "ties"):
            w = st.wasserstein_distance(x, y)
            assert col.effect * np.std(x) == pytest.approx(w, rel=1e-9), col.name
    assert {c.name for c in rep.columns if c.kind == "numeric"} >= {"normal", "lognormal"}
