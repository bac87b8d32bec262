"""ms.drift.Profile: merge laws, the file, compare with a profile on either side, the KS
error bound and the whylogs #684 setup, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats as st

import mlsentry as ms
from mlsentry import MlsentryError
from mlsentry.drift import DriftReport, Profile, compare
from mlsentry.errors import InvalidInputError, InvalidTypeError, PathNotFoundError
from mlsentry.report import Report


def _table(n=3000, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    x[::101] = np.nan
    x[5::211] = np.inf
    x[7::307] = -0.0
    city = rng.choice(["north", "south", "east", "west"], n).astype(object)
    city[3::53] = None
    return pd.DataFrame(
        {
            "x": x,
            "y": rng.exponential(1, n) * 1e6,
            "k": rng.integers(-3000, 3000, n),
            "city": city,
            "when": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), "s"),
            "flag": rng.random(n) < 0.3,
        }
    )


def _same_columns(a: DriftReport, b: DriftReport) -> None:
    assert [c.to_dict() for c in a.columns] == [c.to_dict() for c in b.columns]
    assert (a.drifted, a.passed) == (b.drifted, b.passed)


# -- merge laws ----------------------------------------------------------------------------
def test_merge_is_byte_identical_for_any_split_order_and_grouping():
    df = _table()
    whole = Profile.fit(df).to_bytes()
    rng = np.random.default_rng(1)
    for _ in range(15):
        rows = rng.permutation(len(df))
        cuts = np.sort(rng.integers(0, len(df), rng.integers(1, 6)))
        parts = [Profile.fit(df.iloc[p]) for p in np.split(rows, cuts)]
        while len(parts) > 1:
            a = parts.pop(int(rng.integers(len(parts))))
            b = parts.pop(int(rng.integers(len(parts))))
            parts.append(a.merge(b) if rng.random() < 0.5 else b.merge(a))
        assert parts[0].to_bytes() == whole


def test_update_in_place_equals_fit_of_all_rows():
    df = _table()
    p = Profile.fit(df.iloc[:1000])
    p.update(df.iloc[1000:2500])
    p.update(df.iloc[2500:])
    assert p == Profile.fit(df)
    # A batch whose numeric column arrives all missing (object None) still merges.
    empty = df.iloc[:3].copy()
    empty["x"] = pd.Series([None] * 3, dtype=object)
    p.update(empty)
    assert p.describe()[0]["missing"] == Profile.fit(df).describe()[0]["missing"] + 3


def test_counts_and_moments():
    df = _table()
    info = {c["name"]: c for c in Profile.fit(df).describe()}
    x = df["x"].to_numpy()
    finite = x[np.isfinite(x)]
    assert info["x"]["missing"] == np.isnan(x).sum()
    assert info["x"]["count"] == (~np.isnan(x)).sum()
    assert (info["x"]["min"], info["x"]["max"]) == (finite.min(), finite.max())
    # Moments from the grid: within its relative accuracy (2**-10) of the exact ones.
    y = df["y"].to_numpy()
    assert info["y"]["mean"] == pytest.approx(y.mean(), rel=2**-10)
    assert info["y"]["std"] == pytest.approx(y.std(), rel=2**-9)
    counts = Profile.fit(df).category_counts("city")
    assert counts == df["city"].value_counts().to_dict()
    assert info["city"]["missing"] == df["city"].isna().sum()
    assert Profile.fit(df).category_counts("flag") == {
        "True": int(df["flag"].sum()),
        "False": int((~df["flag"]).sum()),
    }


# -- the file ------------------------------------------------------------------------------
def test_file_round_trip_and_size(tmp_path):
    x = np.random.default_rng(2).normal(size=500_000)
    p = Profile.fit({"x": x})
    path = tmp_path / "ref.profile"
    p.save(path)
    data = path.read_bytes()
    assert data.startswith(b'{"format":"mlsentry/profile","version":"1.0",')
    assert len(data) < x.nbytes / 4
    assert Profile.load(path) == p
    assert Profile.load(path).fingerprint == p.fingerprint


def test_damaged_files_raise_saying_which(tmp_path):
    data = Profile.fit(_table(500)).to_bytes()
    cases = {
        "truncated": data[:-7],
        "edited or corrupted": data[:-1] + bytes([data[-1] ^ 1]),
        "newer": data.replace(b'"version":"1.0"', b'"version":"2.0"', 1),
        "edited: 3 bytes": data + b"abc",
        "not an mlsentry profile": b"PAR1 not a profile\n",
    }
    for why, bad in cases.items():
        path = tmp_path / "bad.profile"
        path.write_bytes(bad)
        with pytest.raises(MlsentryError, match=why):
            Profile.load(path)
        with pytest.raises(InvalidInputError, match=r"bad\.profile"):
            Profile.load(path)
    with pytest.raises(PathNotFoundError):
        Profile.load(tmp_path / "none.profile")
    with pytest.raises(InvalidTypeError, match="data"):
        Profile.from_bytes("text")


# -- compare -------------------------------------------------------------------------------
def test_profile_and_table_give_the_same_report():
    ref, cur = _table(seed=3), _table(2000, seed=4, shift=0.2)
    prof = Profile.fit(ref)
    a = compare(prof, cur)
    b = compare(prof, Profile.fit(cur))
    c = compare(ref, Profile.fit(cur))
    _same_columns(a, b)
    _same_columns(a, c)
    assert a["x"].drift and not a["city"].drift
    assert a.inputs["reference"] == prof.fingerprint
    assert a.inputs["current"] == ms.fingerprint(cur) == compare(ref, cur).inputs["current"]
    assert a.config["profile"] is True


def test_binned_tests_equal_the_frame_when_the_bins_coincide():
    # Integers: a frame's quantile cut q and the grid's cut (after q's bucket) split the
    # values the same way, so the counts and the numbers are the frame's exactly.
    rng = np.random.default_rng(5)
    ref = {"k": rng.integers(-40, 60, 4000).astype(float)}
    cur = {"k": rng.integers(-30, 70, 3000).astype(float)}
    for test in ("psi", "jensen_shannon", "hellinger", "kl", "total_variation"):
        for bins in (3, 10):
            frame = compare(ref, cur, tests=test, bins=bins)["k"]
            prof = compare(Profile.fit(ref), cur, tests=test, bins=bins)["k"]
            assert (prof.statistic, prof.drift) == (frame.statistic, frame.drift), test


def test_category_tests_equal_the_frame():
    ref, cur = _table(seed=6), _table(2500, seed=7)
    cur.loc[: len(cur) // 3, "city"] = "north"
    for test in ("auto", "chi2", "g_test", "psi", "jensen_shannon", "hellinger"):
        frame = compare(ref, cur, tests={"city": test})["city"]
        prof = compare(Profile.fit(ref), cur, tests={"city": test})["city"]
        assert prof.test == frame.test
        assert prof.statistic == pytest.approx(frame.statistic, rel=1e-12), test
        if frame.pvalue is None:
            assert prof.pvalue is None
        else:
            assert prof.pvalue == pytest.approx(frame.pvalue, rel=1e-9, abs=1e-300), test
        assert prof.missing_pvalue == pytest.approx(frame.missing_pvalue, rel=1e-12)
        assert prof.drift == frame.drift


def test_ks_interval_holds_the_frame_statistic_and_pvalue():
    rng = np.random.default_rng(8)
    for shift in (0.0, 0.03, 0.1):
        ref = {"x": rng.normal(10, 1, 20_000)}
        cur = {"x": rng.normal(10 + shift, 1, 15_000)}
        exact = st.ks_2samp(ref["x"], cur["x"], method="asymp")
        col = compare(Profile.fit(ref), cur)["x"]
        low, high = col.pvalue_interval
        assert low <= exact.pvalue <= high
        assert abs(col.statistic - exact.statistic) < 0.01
        assert low <= col.pvalue <= high
        if high < 0.05:
            assert col.drift
        if low >= 0.05:
            assert not col.drift


def test_whylogs_684_setup_gives_no_false_alarm():
    # whylogs #684: 50k vs 561k rows from one distribution, re-sketched 100 times, gave
    # KS p-values from 2.7e-7 to 0.74. The grid is deterministic: re-sketching is
    # re-splitting the rows into partitions and merging, and every verdict is the same.
    rng = np.random.default_rng(684)
    ref = rng.normal(0, 1, 50_000)
    cur = rng.normal(0, 1, 561_000)
    exact = st.ks_2samp(ref, cur, method="asymp").pvalue
    assert exact > 0.05
    # 100 partial profiles, merged in 100 random orders and groupings.
    parts = [Profile.fit({"x": part}) for part in np.array_split(cur, 100)]
    whole = Profile.fit({"x": cur})
    ref_prof = Profile.fit({"x": ref})
    verdicts = set()
    for _ in range(100):
        pool = [parts[j] for j in rng.permutation(100)]
        while len(pool) > 1:
            a = pool.pop(int(rng.integers(len(pool))))
            b = pool.pop(int(rng.integers(len(pool))))
            pool.append(a.merge(b))
        assert pool[0] == whole
        col = compare(ref_prof, pool[0])["x"]
        verdicts.add((col.drift, col.pvalue_interval))
    (drift, (low, high)), *others = verdicts
    assert not others and not drift
    assert low <= exact <= high and low > 0.05
    # The rank error is small against the test's critical value at these sizes.
    critical = 1.358 * math.sqrt(1 / 50_000 + 1 / 561_000)
    col = compare(ref_prof, whole)["x"]
    assert col.statistic < critical
    assert col.pvalue_interval[1] - col.pvalue_interval[0] < 0.5


def test_profile_path_as_reference(tmp_path):
    ref, cur = _table(seed=9), _table(seed=10, shift=0.5)
    path = tmp_path / "ref.profile"
    Profile.fit(ref).save(path)
    _same_columns(compare(str(path), cur), compare(Profile.fit(ref), cur))
    assert compare(path, cur)["x"].drift


def test_schema_problems_with_profiles():
    ref = _table(500, seed=11)
    cur = ref.drop(columns=["y"]).assign(extra=1.0, city=np.arange(500.0))
    rep = compare(Profile.fit(ref), cur)
    assert rep["y"].status == "only in reference"
    assert rep["extra"].status == "only in current"
    assert rep["city"].status == "type changed"
    assert not rep.passed
    # Numbers counted as categories when the profile was made stay categories.
    prof = Profile.fit(ref.assign(k=ref["k"] % 3), categorical=["k"])
    rep = compare(prof, ref.assign(k=ref["k"] % 3))
    assert rep["k"].kind == "categorical" and rep["k"].status == "no drift"


def test_report_round_trips_with_the_interval(tmp_path):
    rep = compare(Profile.fit(_table(seed=12)), _table(seed=13))
    path = tmp_path / "r.json"
    rep.save(path)
    back = Report.load(path)
    assert back["x"].pvalue_interval == rep["x"].pvalue_interval
    assert back.to_dict()["columns"] == rep.to_dict()["columns"]
    assert "<svg" in rep.to_html()


# -- bad input -------------------------------------------------------------------------------
def test_bad_input_is_named():
    ref = _table(300)
    prof = Profile.fit(ref)
    with pytest.raises(InvalidInputError, match="tests: 'anderson' needs the values"):
        compare(prof, ref, tests="anderson")
    with pytest.raises(InvalidTypeError, match="other"):
        prof.merge(ref)
    with pytest.raises(InvalidInputError, match="different columns"):
        prof.merge(Profile.fit(ref[["x", "y"]]))
    with pytest.raises(InvalidInputError, match="column 'x'"):
        prof.update(ref.assign(x="text"))
    with pytest.raises(InvalidInputError, match="batch: no column named 'y'"):
        prof.update(ref.drop(columns=["y"]))
    with pytest.raises(InvalidInputError, match="columns: no column named 'nope'"):
        compare(prof, ref, columns=["nope"])
    with pytest.raises(InvalidTypeError, match="Profile"):
        Profile(b"bytes")
    with pytest.raises(InvalidTypeError, match="a Profile"):
        Profile.fit(prof)
    with pytest.raises(InvalidTypeError, match="columns"):
        Profile.fit(ref, columns=3)
    with pytest.raises(InvalidInputError, match="reference: no column named 'q'"):
        Profile.fit(ref, columns=["q"])


def test_a_multivariate_test_against_a_profile_is_refused():
    # A profile keeps per-column counts, not rows: a dataset-level test cannot run on it.
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"a": rng.normal(size=300), "b": rng.normal(size=300)})
    prof = Profile.fit(frame)
    for reference, current in ((prof, frame), (frame, prof)):
        with pytest.raises(InvalidInputError, match="multivariate"):
            compare(reference, current, multivariate=True)
    # Frames on both sides: the test runs and the report carries it.
    rep = compare(frame, frame.iloc[::-1].reset_index(drop=True), multivariate=True)
    assert rep.multivariate is not None and not rep.drifted
