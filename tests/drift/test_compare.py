"""ms.drift.compare: inputs, kinds, bad data, correction, calibration, report, audit."""

from __future__ import annotations

import dataclasses
import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
import scipy.stats as st

import mlsentry
import mlsentry as ms
from mlsentry.drift import ColumnDrift, DriftReport, adjust_pvalues, compare, comparison
from mlsentry.drift.choice import (
    HIGH_CARDINALITY,
    POOLED_LABEL,
    POOLED_NEW_LABEL,
    factorize_pair,
)
from mlsentry.errors import InvalidInputError, InvalidTypeError

pl = pytest.importorskip("polars")


def _frames(seed=3, n=2000, shift=0.0, p_west=0.25):
    rng = np.random.default_rng(seed)
    ref = pd.DataFrame(
        {
            "x": rng.normal(0, 1, n),
            "y": rng.exponential(1, n),
            "city": rng.choice(["north", "south", "east", "west"], n),
        }
    )
    p = [(1 - p_west) / 3] * 3 + [p_west]
    cur = pd.DataFrame(
        {
            "x": rng.normal(shift, 1, n),
            "y": rng.exponential(1, n),
            "city": rng.choice(["north", "south", "east", "west"], n, p=p),
        }
    )
    return ref, cur


def _stats(report):
    return {c.name: (c.test, c.statistic, c.pvalue, c.status) for c in report.columns}


# -- inputs ----------------------------------------------------------------------------
def test_every_input_type_gives_the_same_result():
    ref, cur = _frames(shift=0.3)
    expected = _stats(compare(ref, cur, fingerprint=False))
    assert expected["x"][3] == "drift" and expected["y"][3] == "no drift"
    variants = [
        (pa.Table.from_pandas(ref, preserve_index=False), pa.Table.from_pandas(cur)),
        (pl.from_pandas(ref), pl.from_pandas(cur)),
        ({k: ref[k].to_numpy() for k in ref}, {k: cur[k].tolist() for k in cur}),
        (ref, pl.from_pandas(cur)),  # the two sides of different types
        (pa.Table.from_pandas(ref).to_batches()[0], cur),
    ]
    for r, c in variants:
        assert _stats(compare(r, c, fingerprint=False)) == expected


def test_numpy_arrays_name_columns_by_position_and_series_by_name():
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(500, 3)), rng.normal(size=(400, 3))
    rep = compare(a, b)
    assert [c.name for c in rep.columns] == ["0", "1", "2"]
    # A pandas frame with default integer labels matches the array's columns.
    assert _stats(compare(pd.DataFrame(a), b)) == _stats(rep)
    one = compare(a[:, 0], b[:, 0])
    assert [c.name for c in one.columns] == ["0"]
    assert one.columns[0].statistic == rep.columns[0].statistic
    named = compare(pd.Series(a[:, 0], name="v"), {"v": b[:, 0]})
    assert named.columns[0].name == "v" and named.columns[0].status == "no drift"
    structured = np.zeros(10, dtype=[("p", "f8"), ("q", "i8")])
    assert [c.name for c in compare(structured, structured).columns] == ["p", "q"]
    with pytest.raises(InvalidInputError, match="reference: expected a 1-D or 2-D"):
        compare(np.zeros((2, 2, 2)), a)
    with pytest.raises(InvalidTypeError, match="current: expected a pandas"):
        compare(a, 42)


def test_columns_selects_and_names_must_exist():
    ref, cur = _frames(shift=0.5)
    rep = compare(ref, cur, columns=["y", "city"])
    assert [c.name for c in rep.columns] == ["y", "city"]
    assert not rep.drifted
    assert compare(ref, cur, columns="x").drifted_columns == ["x"]
    with pytest.raises(InvalidInputError, match="columns: no column named 'nope'"):
        compare(ref, cur, columns=["x", "nope"])
    with pytest.raises(InvalidInputError, match="categorical: no column named 'zz'"):
        compare(ref, cur, categorical=["zz"])
    with pytest.raises(InvalidInputError, match="two columns are named 'a'"):
        compare(pd.DataFrame([[1, 2]], columns=["a", "a"]), cur)


def test_columns_on_one_side_only_are_reported_and_fail():
    ref, cur = _frames()
    ref["old"] = 1.0
    cur["new"] = "x"
    rep = compare(ref, cur)
    assert rep.only_in_reference == ["old"] and rep.only_in_current == ["new"]
    assert [c.name for c in rep.columns] == ["x", "y", "city", "old", "new"]
    assert rep["old"].status == "only in reference" and rep["old"].dtype_reference == "float64"
    assert rep["new"].dtype_current == "str"
    assert not rep.drifted and not rep.passed
    assert "only in reference" in rep.summary() and "new: only in current" in rep.summary()
    assert len(rep.to_pandas()) == 5
    # Selecting such a column reports it too.
    assert compare(ref, cur, columns=["new"]).only_in_current == ["new"]


def test_type_change_is_reported_not_compared():
    ref = {"a": np.arange(100.0), "b": np.arange(100)}
    cur = {"a": np.array([f"v{i}" for i in range(100)]), "b": np.arange(100) + 0.5}
    rep = compare(ref, cur)
    assert rep.type_changes == ["a"] and not rep.passed and not rep.drifted
    a = rep["a"]
    assert a.status == "type changed" and a.test is None and a.kind is None
    assert "numbers (float64) in reference, text (<U3) in current" in a.note
    # ints and floats are the same kind: numbers
    assert rep["b"].status in ("drift", "no drift")
    # booleans against numbers, datetimes against numbers: type changes
    rep = compare({"f": [True, False] * 10}, {"f": [1, 0] * 10})
    assert rep.type_changes == ["f"]
    t = pd.date_range("2024-01-01", periods=20)
    assert compare({"t": t}, {"t": np.arange(20.0)}).type_changes == ["t"]
    # ... unless the column is compared as categories
    rep = compare({"a": np.arange(100.0) % 5}, {"a": [f"v{i % 5}" for i in range(100)]})
    assert rep.type_changes == ["a"]
    rep = compare(
        {"a": np.arange(100.0) % 5}, {"a": [f"v{i % 5}" for i in range(100)]}, categorical="a"
    )
    assert rep["a"].kind == "categorical" and rep["a"].drift and rep["a"].new_categories == 5


# -- kinds -----------------------------------------------------------------------------
def test_kinds_ints_bools_datetimes_and_forced_categories():
    rng = np.random.default_rng(2)
    n = 3000
    ref = pd.DataFrame(
        {
            "few": rng.integers(0, 5, n),
            "many": rng.integers(0, 1000, n),
            "flag": rng.random(n) < 0.3,
            "when": pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 10**6, n), "s"),
            "took": pd.to_timedelta(rng.integers(0, 100, n), "ms"),
            "price": rng.normal(size=n).round(1),
            "whole": rng.integers(0, 4, n).astype(float),
        }
    )
    rep = compare(ref, ref.sample(frac=1, random_state=0))
    kinds = {c.name: (c.kind, c.test) for c in rep.columns}
    assert kinds == {
        "few": ("categorical", "chi2"),
        "many": ("numeric", "ks"),
        "flag": ("categorical", "chi2"),
        "when": ("numeric", "ks"),
        "took": ("numeric", "ks"),
        "price": ("numeric", "ks"),
        "whole": ("categorical", "chi2"),  # whole floats count as ints
    }
    assert rep["few"].histogram.labels[0] in {"0", "1", "2", "3", "4"}
    assert set(rep["flag"].histogram.labels) == {"True", "False"}
    assert not rep.drifted
    rep = compare(ref, ref, max_categories=0, categorical=["price"])
    assert rep["few"].kind == "numeric" and rep["price"].kind == "categorical"
    # Two categories with a small expected count: Fisher's exact test.
    rep = compare({"f": [True] * 3 + [False] * 97}, {"f": [True] * 1 + [False] * 99})
    assert rep["f"].test == "fisher"


def test_categories_are_coded_jointly_across_types():
    ref = pd.DataFrame({"c": pd.Categorical(["a", "b", "a", "c"] * 50)})
    cur = pa.table({"c": pa.array(["b", "a", "d", "a"] * 50).dictionary_encode()})
    rep = compare(ref, cur)
    c = rep["c"]
    assert c.kind == "categorical" and c.categories == 4 and c.new_categories == 1
    assert "1 category never seen in the reference (25.0% of current values)" in c.note
    assert c.drift
    assert dict(zip(c.histogram.labels, c.histogram.reference)) == {
        "a": 100,
        "b": 50,
        "c": 50,
        "d": 0,
    }
    # polars Categorical / Enum / String and pandas str against each other
    p_ref = pl.DataFrame({"c": ["a", "b", "a", "c"] * 50}, schema={"c": pl.Categorical})
    p_cur = pl.DataFrame({"c": ["a", "b", "a", "c"] * 50}, schema={"c": pl.Enum(["c", "b", "a"])})
    rep = compare(p_ref, p_cur)
    assert rep["c"].statistic == 0.0 and not rep.drifted
    rep = compare(pd.DataFrame({"c": ["a", "b", "a", "c"] * 50}), p_cur)
    assert rep["c"].statistic == 0.0
    # category of ints against plain ints
    rep = compare({"k": pd.Categorical([1, 2, 3] * 30)}, {"k": np.array([3, 2, 1] * 30)})
    assert rep["k"].kind == "categorical" and rep["k"].statistic == 0.0


def test_mixed_object_columns_keep_kinds_apart():
    values = np.array([1, "1", True, 1.0, np.int64(1), None, b"1", False, 0], dtype=object)
    ref = {"m": np.tile(values, 20)}
    rep = compare(ref, ref)
    m = rep["m"]
    # 1 == 1.0 == np.int64(1) (numbers by value); "1", b"1", True, False, 0 apart.
    assert m.categories == 6 and m.kind == "categorical"
    assert set(m.histogram.labels) == {"1", "'1'", "True", "b'1'", "False", "0"}
    assert m.missing_reference == 20 and not rep.drifted
    # "1" in reference against 1 in current is a full drift, not a match.
    ref, cur = {"m": np.array(["1", 2] * 50, dtype=object)}, {"m": np.array([1, 2] * 50)}
    rep = compare(ref, cur)
    assert rep.type_changes == ["m"]  # mixed values count as text, against numbers
    rep = compare(ref, cur, categorical=["m"])
    assert rep["m"].drift and rep["m"].new_categories == 1
    cur = {"m": np.array([1, 2] * 50, dtype=object).astype(str).astype(object)}
    cur["m"][::2] = 1
    rep = compare(ref, cur)  # "1", "2" and 2 against 1 and "2"
    assert rep["m"].categories == 4 and rep["m"].new_categories == 2
    # unhashable values: a clear error naming the column
    with pytest.raises(InvalidTypeError, match="reference column 'u'"):
        compare({"u": np.array([[1], "a"], dtype=object)}, {"u": ["a", "b"]})


def test_object_columns_of_one_kind_take_that_kind():
    n = 200
    ints = np.array(list(range(n // 2)) * 2 + [None], dtype=object)
    rep = compare({"i": ints}, {"i": np.arange(n + 1)})
    assert rep["i"].kind == "numeric" and rep["i"].missing_reference == 1
    bools = np.array([True, None, False] * 30, dtype=object)
    rep = compare({"b": bools}, {"b": np.array([True, False] * 45)})
    assert rep["b"].kind == "categorical" and rep["b"].missing_reference == 30
    assert rep["b"].missing_drift


def test_many_column_types():
    import datetime as dt
    import decimal

    n = 300
    rng = np.random.default_rng(11)
    frame = pd.DataFrame(
        {
            "boolean": pd.array([True, False, None] * 100, dtype="boolean"),
            "cat": pd.Categorical(["x", None, "y"] * 100),
            "interval": pd.arrays.IntervalArray.from_breaks(np.arange(n + 1)),
            "period": pd.period_range("2020-01", periods=n, freq="D"),
            "arrow_int": pd.array([*rng.permutation(n - 1), None], dtype="int64[pyarrow]"),
            "arrow_str": pd.array(["a", "b", None] * 100, dtype=pd.ArrowDtype(pa.string())),
            "tz": pd.date_range("2024", periods=n, freq="h", tz="Europe/Paris"),
            "f32": rng.normal(size=n).astype(np.float32),
            "big_endian": rng.normal(size=n).astype(">f8"),
            "u8": rng.integers(0, 255, n).astype(np.uint8),
        }
    )
    rep = compare(frame, frame)
    got = {c.name: (c.kind, c.missing_reference) for c in rep.columns}
    assert got == {
        "boolean": ("categorical", 100),
        "cat": ("categorical", 100),
        "interval": ("categorical", 0),
        "period": ("categorical", 0),
        "arrow_int": ("numeric", 1),
        "arrow_str": ("categorical", 100),
        "tz": ("numeric", 0),
        "f32": ("numeric", 0),
        "big_endian": ("numeric", 0),
        "u8": ("numeric", 0),
    }
    assert rep.passed and all(c.statistic == 0 for c in rep.columns)
    # ms.fingerprint refuses intervals and periods: recorded, not fatal
    assert rep.inputs == {} and "interval" in rep.config["fingerprint_skipped"]["reference"]
    table = pa.table(
        {
            "date": pa.array([dt.date(2024, 1, 1 + i % 28) for i in range(n)]),
            "duration": pa.array([dt.timedelta(seconds=i) for i in range(n)]),
            "time": pa.array([dt.time(i % 24, 0) for i in range(n)]),
            "decimal": pa.array([decimal.Decimal(i) / 8 for i in range(n)], pa.decimal128(10, 3)),
            "null": pa.nulls(n),
            "binary": pa.array([b"x", b"y"] * 150, type=pa.large_binary()),
            "view": pa.array(["p", "q", "r"] * 100, type=pa.string_view()),
        }
    )
    rep = compare(table, table)
    got = {c.name: (c.kind, c.status) for c in rep.columns}
    assert got["date"] == got["duration"] == got["time"] == ("numeric", "no drift")
    assert got["decimal"] == ("numeric", "no drift") and got["null"][1] == "empty"
    assert got["binary"] == got["view"] == ("categorical", "no drift")
    assert rep["binary"].histogram.labels == ("b'x'", "b'y'")
    assert rep["date"].histogram.unit == "datetime"
    assert "2024-01-01T00:00" in rep.to_html()
    polars = pl.DataFrame(
        {
            "when": pl.datetime_range(
                dt.datetime(2024, 1, 1), dt.datetime(2024, 1, 1, 4, 59), "1m", eager=True
            ),
            "flag": pl.Series([True, None, False] * 100),
            "enum": pl.Series(["a", "b", "c"] * 100, dtype=pl.Enum(["a", "b", "c"])),
        }
    )
    rep = compare(polars, polars.to_pandas())
    assert [c.kind for c in rep.columns] == ["numeric", "categorical", "categorical"]
    assert rep["flag"].missing_reference == 100 and rep.passed
    with pytest.raises(InvalidTypeError, match="reference column 'l': arrow type"):
        compare(pl.DataFrame({"l": [[1], [2]]}), {"l": [1, 2]})


def test_factorize_pair_codes_two_samples_jointly():
    r, c, k = factorize_pair(["b", "a", None, "b"], pd.Series(["c", "a"]))
    assert (r.tolist(), c.tolist(), k) == ([0, 1, -1, 0], [2, 1], 3)
    r, c, k = factorize_pair([1, 2, 2], [True, 1.0])
    assert (r.tolist(), c.tolist(), k) == ([0, 1, 1], [2, 0], 3)  # True is not 1
    r, c, k = factorize_pair(np.array([0.5, np.nan]), pa.array([0.5, None]))
    assert (r.tolist(), c.tolist(), k) == ([0, -1], [0, -1], 1)
    with pytest.raises(InvalidInputError, match="reference: expected a 1-D column"):
        factorize_pair(np.zeros((2, 2)), [1])


# -- bad data --------------------------------------------------------------------------
def test_nan_is_missing_and_its_rate_is_tested():
    rng = np.random.default_rng(3)
    x = rng.normal(size=5000)
    y = rng.normal(size=5000)
    y[:500] = np.nan  # 10% missing now, none before
    s_ref = pd.Series(rng.choice(["a", "b"], 5000), dtype="str")
    s_cur = pd.Series(rng.choice(["a", "b"], 5000), dtype="str")
    s_cur[:200] = None
    t = pd.Series(pd.date_range("2024", periods=5000, freq="min"))
    t_cur = t.copy()
    t_cur[:10] = pd.NaT
    rep = compare(
        {"x": x, "s": s_ref, "t": t, "na": pd.array([1, 2] * 2500, dtype="Int64")},
        {"x": y, "s": s_cur, "t": t_cur, "na": pd.array([1, None] * 2500, dtype="Int64")},
    )
    c = rep["x"]
    assert (c.missing_reference, c.missing_current, c.n_current) == (0, 500, 4500)
    assert c.missing_rate_current == 0.1 and c.missing_drift and c.status == "missing-rate drift"
    assert c.missing_pvalue < 1e-50 and c.adjusted_pvalue > 0.05
    assert rep["s"].missing_current == 200 and rep["s"].missing_drift
    assert rep["t"].missing_current == 10 and rep["t"].kind == "numeric"
    assert rep["na"].missing_current == 2500
    # Scipy's chi-squared (Yates) on the 2 x 2 table of missing / present.
    expect = st.chi2_contingency([[0, 5000], [500, 4500]]).pvalue
    assert c.missing_pvalue == pytest.approx(expect, rel=1e-9)


def test_infinities_are_values_and_counted():
    x = np.r_[np.arange(100.0), [np.inf, -np.inf]]
    y = np.r_[np.arange(100.0), [np.inf] * 30]
    rep = compare({"x": x}, {"x": y})
    c = rep["x"]
    assert (c.infinite_reference, c.infinite_current) == (2, 30)
    assert c.n_current == 130 and c.drift  # the rank test sees the infinities
    assert "infinite values: 2 reference, 30 current" in c.note
    assert sum(c.histogram.current) == 100  # not in the plot
    json.loads(rep.to_json())
    rep = compare({"x": [np.inf, np.inf]}, {"x": [np.inf, -np.inf]})
    assert rep["x"].status in ("drift", "no drift") and rep["x"].effect is None


def test_empty_columns_and_empty_sides():
    rng = np.random.default_rng(4)
    ref = {"x": rng.normal(size=50), "e": [None] * 50, "f": np.full(50, np.nan)}
    rep = compare(ref, {"x": rng.normal(size=40), "e": [None] * 40, "f": np.full(40, np.nan)})
    assert rep["e"].status == "empty" and rep["f"].status == "empty"
    assert rep.passed and rep["e"].note == "no values on either side"
    # all missing on one side only: the missing rate catches it
    rep = compare(ref, {"x": np.full(40, np.nan), "e": [None] * 40, "f": np.full(40, np.nan)})
    assert rep["x"].status == "missing-rate drift" and rep.drifted
    # a side without rows: nothing to compare, the report fails
    empty = {"x": np.array([]), "e": [], "f": np.array([])}
    rep = compare(ref, empty)
    assert rep["x"].status == "not tested" and "no values on the current side" in rep["x"].error
    assert rep.untested == ["x"] and not rep.passed and not rep.drifted
    rep = compare(pd.DataFrame({"a": [1.0, 2.0]}), pd.DataFrame({"a": pd.Series([], dtype=float)}))
    assert rep.untested == ["a"] and "no rows" in rep["a"].error


def test_constant_columns_and_single_values():
    rep = compare({"c": np.full(500, 3.5)}, {"c": np.full(500, 3.5)})
    assert rep["c"].kind == "numeric" and rep["c"].statistic == 0.0
    assert rep["c"].effect == 0.0 and not rep.drifted
    rep = compare({"c": np.full(500, 3.5)}, {"c": np.full(500, 4.5)})
    assert rep["c"].drift and rep["c"].effect == math.inf
    assert json.loads(rep.to_json())["columns"][0]["effect"] == "inf"
    # whole numbers with few values are categories: one category each side
    rep = compare({"c": np.full(500, 3.0)}, {"c": np.full(500, 4.0)})
    assert rep["c"].kind == "categorical" and rep["c"].drift
    rng = np.random.default_rng(5)
    rep = compare({"x": rng.normal(size=1000), "s": ["a"] * 1000}, {"x": [0.1], "s": ["a"]})
    assert rep["x"].n_current == 1 and rep["x"].status == "no drift"
    assert rep["s"].status == "no drift"
    rep = compare({"x": [1.0]}, {"x": [2.0]})
    assert rep["x"].pvalue == 1.0


def test_high_cardinality_pools_old_and_new_rare_categories_apart():
    n = 20_000
    ids_ref = np.array([f"id{i}" for i in range(n)], dtype=object)
    ids_cur = np.array([f"id{i}" for i in range(n // 2, n + n // 2)], dtype=object)
    rng = np.random.default_rng(6)
    common = rng.choice(["a", "b", "c"], n)
    ref = {"id": ids_ref, "mixed": np.where(rng.random(n) < 0.5, common, ids_ref)}
    cur = {"id": ids_cur, "mixed": np.where(rng.random(n) < 0.5, common, ids_cur)}
    rep = compare(ref, cur)
    # Distinct on each side: an identifier, reported and not compared, not failing.
    assert rep["id"].status == "identifier" and not rep["id"].tested
    assert rep.not_compared == ["id"] and "1 column not compared (identifier: id)" in rep.summary()
    # Half ids: about 37% of current values were never seen; pooled apart, that is drift.
    m = rep["mixed"]
    assert m.test == "chi2" and m.drift and m.categories == 5
    assert f"categories (more than {HIGH_CARDINALITY})" in m.note and "new ones" in m.note
    assert set(m.histogram.labels) == {"a", "b", "c", POOLED_LABEL, POOLED_NEW_LABEL}
    assert not rep.passed
    # An explicit test is honoured as asked, identifier or not.
    rep = compare(ref, cur, tests={"id": "jensen_shannon"})
    assert rep["id"].test == "jensen_shannon" and rep["id"].drift
    assert rep["id"].categories == n + n // 2


def _places(start: int, count: int, repeat: int) -> np.ndarray:
    """Place names, each on ``repeat`` rows (rare categories, not an identifier)."""
    return np.repeat(np.array([f"town-{i:05d}" for i in range(start, start + count)]), repeat)


@pytest.mark.parametrize("count", [2000, 300])  # above and below the high-cardinality mark
@pytest.mark.parametrize(
    ("new_from", "drift"),
    [(1.0, True), (0.5, True), (0.0, False)],
    ids=["all-new", "half-new", "identical"],
)
def test_rare_categories_keep_novelty_as_evidence(count, new_from, drift):
    reference = _places(0, count, 3)
    old = int(count * (1 - new_from))
    current = np.concatenate([_places(0, old, 3), _places(10 * count, count - old, 3)])
    rep = compare({"town": reference}, {"town": current}, fingerprint=False)
    c = rep["town"]
    assert c.status != "identifier" and c.test == "chi2" and c.drift is drift
    new_share = float(np.mean(~np.isin(current, reference)))
    assert c.new_categories == len(set(current) - set(reference))
    if new_share:
        assert f"({new_share:.1%} of current values)" in c.note
        assert "pooled before chi2" in c.note


def test_strings_that_read_as_numbers_or_dates_are_compared_as_such():
    rng = np.random.default_rng(2)
    n = 400
    days = np.datetime64("2024-01-01") + rng.integers(0, 300, n)
    ref = {
        "price": np.array([f"{v:.2f}" for v in rng.normal(10, 1, n)], dtype=object),
        "day": days.astype(str).astype(object),
        "code": np.array([f"{z:05d}" for z in rng.integers(0, 50, n)], dtype=object),
    }
    cur = {
        "price": np.array([f"{v:.2f}" for v in rng.normal(10.5, 1, n)], dtype=object),
        "day": (days + 150).astype(str).astype(object),
        "code": np.array([f"{z:05d}" for z in rng.integers(0, 50, n)], dtype=object),
    }
    rep = compare(ref, cur)
    assert rep["price"].kind == "numeric" and rep["price"].test == "ks" and rep["price"].drift
    assert "read as numbers" in rep["price"].note
    day = rep["day"]
    assert day.kind == "numeric" and day.drift and "read as dates" in day.note
    assert day.histogram.unit == "datetime"
    ks = ms.drift.ks(
        days.astype("M8[ns]").view(np.int64), (days + 150).astype("M8[ns]").view(np.int64)
    )
    assert day.statistic == pytest.approx(ks.statistic)
    # Codes with leading zeros stay categories; a forced column is not parsed.
    assert rep["code"].kind == "categorical"
    assert compare(ref, cur, categorical=["price"])["price"].kind == "categorical"


def test_identifiers_and_text_are_recognised_not_tested():
    rng = np.random.default_rng(3)
    n = 500
    words = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"])
    sentences = [" ".join(rng.choice(words, 9)) + f" #{i}" for i in range(2 * n)]
    ref = {
        "customer_id": np.arange(1000, 1000 + n),  # unique and monotone: a running id
        "code": np.array([f"C{i:05d}" for i in range(n)], dtype=object),
        "comment": np.array(sentences[:n], dtype=object),
        "amount": rng.normal(size=n),
    }
    cur = {
        "customer_id": np.arange(9000, 9000 + n),  # would be an absurd "drift" (effect 115)
        "code": np.array([f"C{i:05d}" for i in range(n, 2 * n)], dtype=object),
        "comment": np.array(sentences[n:], dtype=object),
        "amount": rng.normal(size=n),
    }
    rep = compare(ref, cur)
    assert rep["customer_id"].status == "identifier"
    assert rep["code"].status == "identifier"
    assert rep["comment"].status == "text" and "characters at the median" in rep["comment"].note
    assert rep.not_compared == ["customer_id", "code", "comment"]
    assert rep.passed and not rep.drifted and rep["amount"].tested
    assert "3 columns not compared (identifier or text: customer_id, code, comment)" in (
        rep.summary()
    )
    assert "Not compared: identifiers and free text" in rep.to_html()
    # Named in categorical (or tests), a column is compared anyway.
    forced = compare(ref, cur, categorical=["code"])
    assert forced["code"].tested and "(100.0% of current values)" in forced["code"].note
    # Unique integers that are not monotone are values (amounts, counts), not ids.
    shuffled = {"n": rng.permutation(n)}
    assert compare(shuffled, {"n": rng.permutation(n)})["n"].tested
    # Too few values to tell: compared.
    assert compare({"c": ["a", "b", "c"]}, {"c": ["d", "e", "f"]})["c"].tested


def test_exclude_and_min_effect():
    rng = np.random.default_rng(8)
    n = 200_000
    ref = {"x": rng.normal(size=n), "y": rng.normal(size=n), "skip": rng.normal(size=n)}
    cur = {"x": rng.normal(0.03, 1, n), "y": rng.normal(0.5, 1, n), "skip": rng.normal(9, 1, n)}
    rep = compare(ref, cur, exclude=["skip"])
    assert [c.name for c in rep.columns] == ["x", "y"] and rep.config["exclude"] == ["skip"]
    assert rep["x"].drift and rep["y"].drift  # 0.03 sd is significant at this size
    rep = compare(ref, cur, exclude=["skip"], min_effect=0.1)
    assert not rep["x"].drift and rep["y"].drift
    assert "below min_effect 0.1" in rep["x"].note and rep["x"].adjusted_pvalue < 0.05
    assert rep["x"].effect == pytest.approx(0.03, abs=0.01)
    assert rep.config["min_effect"] == 0.1
    with pytest.raises(InvalidInputError, match="exclude: no column named 'nope'"):
        compare(ref, cur, exclude=["nope"])
    with pytest.raises(InvalidInputError, match="min_effect"):
        compare(ref, cur, min_effect=-1)


def test_large_id_column_stays_fast_and_small():
    n = 1_000_000
    ref = pa.table({"id": pa.array(np.arange(n).astype(str))})
    cur = pa.table({"id": pa.array((np.arange(n) + n).astype(str))})
    rep = compare(ref, cur, fingerprint=False)
    assert rep["id"].status == "identifier" and not rep["id"].drift and rep.passed
    assert len(rep.to_json()) < 20_000
    # Tested as asked (as categories: the strings would read as numbers otherwise).
    rep = compare(ref, cur, fingerprint=False, tests={"id": "chi2"}, categorical=["id"])
    assert rep["id"].tested and rep["id"].new_categories == n


# -- arguments -------------------------------------------------------------------------
def test_argument_errors_name_the_argument():
    ref, cur = _frames()
    cases = [
        ({"tests": "nope"}, InvalidInputError, "tests: unknown test 'nope'"),
        ({"tests": 3}, InvalidTypeError, "tests: expected"),
        ({"tests": {"x": "bad"}}, InvalidInputError, "tests: unknown test 'bad' for column 'x'"),
        ({"tests": {"zz": "ks"}}, InvalidInputError, "tests: no column named 'zz'"),
        ({"correction": "fdr"}, InvalidInputError, "correction: expected one of"),
        ({"alpha": 1.5}, InvalidInputError, "alpha: expected a number in"),
        ({"alpha": 0}, InvalidInputError, "alpha"),
        ({"alpha": "0.05"}, InvalidTypeError, "alpha"),
        ({"alpha": True}, InvalidTypeError, "alpha"),
        ({"bins": 0}, InvalidInputError, "bins"),
        ({"bins": 2.5}, InvalidTypeError, "bins"),
        ({"max_categories": -1}, InvalidInputError, "max_categories"),
        ({"drift_share": 0}, InvalidInputError, "drift_share"),
        ({"thresholds": {"ks": 0.1}}, InvalidInputError, "thresholds: 'ks' is not a distance"),
        ({"thresholds": {"psi": -1}}, InvalidInputError, "thresholds"),
        ({"fingerprint": "yes"}, InvalidTypeError, "fingerprint"),
        ({"columns": 5}, InvalidTypeError, "columns"),
    ]
    for kwargs, exc, message in cases:
        with pytest.raises(exc, match=re.escape(message)):
            compare(ref, cur, **kwargs)
    # Errors are ValueError / TypeError too.
    with pytest.raises(ValueError):
        compare(ref, cur, correction="x")


def test_tests_argument_by_name_and_by_column():
    ref, cur = _frames(shift=0.2)
    rep = compare(ref, cur, tests="ks")
    assert {c.name: c.test for c in rep.columns} == {"x": "ks", "y": "ks", "city": "chi2"}
    rep = compare(ref, cur, tests="g_test")
    assert {c.name: c.test for c in rep.columns} == {"x": "ks", "y": "ks", "city": "g_test"}
    rep = compare(ref, cur, tests={"x": "anderson", "city": "psi"})
    assert [c.test for c in rep.columns] == ["anderson", "ks", "psi"]
    with pytest.raises(InvalidInputError, match=r"column 'city' is categorical.*Allowed tests:"):
        compare(ref, cur, tests={"city": "ks"})
    with pytest.raises(InvalidInputError, match=r"column 'x' is numeric.*ks, anderson"):
        compare(ref, cur, tests={"x": "chi2"})
    # A test that cannot run on the data: the column is not tested and the report fails.
    rep = compare(ref, cur, tests={"city": "fisher"})
    assert rep["city"].status == "not tested" and "two categories" in rep["city"].error
    assert not rep.passed


def test_distance_tests_use_thresholds():
    ref, cur = _frames(shift=0.3, p_west=0.5)
    rep = compare(ref, cur, tests="psi")
    x, city = rep["x"], rep["city"]
    assert x.pvalue is None and x.adjusted_pvalue is None and x.threshold == 0.1
    assert x.drift == (x.statistic >= 0.1)
    assert re.search(r"PSI [0-9.]+: (stable|moderate shift|major shift)", x.note)
    assert city.drift and city.threshold == 0.1
    rep = compare(ref, cur, tests="psi", thresholds={"psi": 10.0})
    assert not rep["x"].drift and rep.config["thresholds"]["psi"] == 10.0
    assert rep.config["thresholds"]["hellinger"] == 0.1
    rep = compare(ref, cur, tests={"x": "wasserstein", "y": "energy"})
    for c in (rep["x"], rep["y"]):  # thresholds apply to the normalised distance
        assert c.drift == (c.effect_size >= 0.1)
    assert rep["x"].drift and not rep["y"].drift


# -- statistics and correction ---------------------------------------------------------
def test_statistics_match_scipy():
    ref, cur = _frames(shift=0.1, p_west=0.3)
    rep = compare(ref, cur, correction="none")
    ks = st.ks_2samp(ref["x"], cur["x"])
    assert rep["x"].statistic == pytest.approx(ks.statistic, abs=1e-15)
    assert rep["x"].pvalue == pytest.approx(ks.pvalue, rel=1e-8)
    assert rep["x"].adjusted_pvalue == rep["x"].pvalue
    table = pd.crosstab(
        np.r_[np.zeros(len(ref)), np.ones(len(cur))], np.r_[ref["city"], cur["city"]]
    )
    chi = st.chi2_contingency(table.to_numpy())
    assert rep["city"].statistic == pytest.approx(chi.statistic, rel=1e-10)
    assert rep["city"].pvalue == pytest.approx(chi.pvalue, rel=1e-8)
    js = st.wasserstein_distance(ref["x"], cur["x"]) / np.std(ref["x"])
    assert rep["x"].effect == pytest.approx(js, rel=1e-9)


@pytest.mark.parametrize("method", ["bh", "by"])
def test_adjust_pvalues_matches_scipy(method):
    rng = np.random.default_rng(7)
    for m in (1, 2, 7, 50):
        p = rng.random(m) ** 3
        p[: m // 3] = p[0]  # ties
        expect = st.false_discovery_control(p, method=method)
        np.testing.assert_allclose(adjust_pvalues(p, method), expect, rtol=1e-12)


def test_adjust_pvalues_holm_bonferroni_by_hand():
    p = [0.01, 0.04, 0.03, 0.005]
    # Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1, then running maximum.
    np.testing.assert_allclose(adjust_pvalues(p, "holm"), [0.03, 0.06, 0.06, 0.02])
    np.testing.assert_allclose(adjust_pvalues(p, "bonferroni"), [0.04, 0.16, 0.12, 0.02])
    np.testing.assert_allclose(adjust_pvalues([0.5, 0.9], "bonferroni"), [1.0, 1.0])
    np.testing.assert_allclose(adjust_pvalues([0.5, 0.9], "holm"), [1.0, 1.0])
    assert adjust_pvalues(p, "none").tolist() == p
    assert adjust_pvalues([], "bh").size == 0
    with pytest.raises(InvalidInputError, match="correction"):
        adjust_pvalues(p, "sidak")


def test_report_corrects_every_pvalue_together():
    rng = np.random.default_rng(8)
    n = 400
    ref = {f"c{i}": rng.normal(size=n) for i in range(6)}
    cur = {f"c{i}": rng.normal(0.1 * i, 1, n) for i in range(6)}
    cur["c0"][:30] = np.nan
    for method in ("bh", "holm", "by", "bonferroni"):
        rep = compare(ref, cur, correction=method)
        raw = [c.pvalue for c in rep.columns] + [rep["c0"].missing_pvalue]
        adj = adjust_pvalues(raw, method)
        got = [c.adjusted_pvalue for c in rep.columns] + [rep["c0"].missing_adjusted_pvalue]
        np.testing.assert_allclose(got, adj, rtol=1e-12)
        assert [c.drift for c in rep.columns][1:] == [a < 0.05 for a in adj[1:6]]


def test_drift_share_rule():
    ref, cur = _frames(shift=0.5)  # one of three columns drifts
    assert compare(ref, cur).drifted
    assert compare(ref, cur, drift_share=0.3).drifted
    rep = compare(ref, cur, drift_share=0.5)
    assert not rep.drifted and rep.drifted_columns == ["x"] and rep.passed
    assert rep.drift_share == pytest.approx(1 / 3)
    assert "below drift_share" in rep.summary()


def _null_frame(rng, n=150):
    m = rng.normal(size=n)
    m[rng.random(n) < 0.1] = np.nan
    return {
        "normal": rng.normal(size=n),
        "skewed": rng.exponential(size=n),
        "uniform": rng.uniform(size=n),
        "heavy": rng.standard_t(3, size=n),
        "ints": rng.integers(0, 1000, n),
        "letters": rng.choice(["a", "b", "c", "d"], n),
        "rare": rng.choice(["x", "y"], n, p=[0.8, 0.2]),
        "flag": rng.random(n) < 0.3,
        "level": rng.integers(0, 5, n),
        "gappy": m,
    }


def test_calibration_false_alarm_rate():
    """Same distribution on both sides: with bh or holm a dataset alarm is as rare as
    alpha (within a binomial tolerance); without correction it is far more common."""
    reps, alpha = 300, 0.05
    alarms = {"bh": 0, "holm": 0, "none": 0}
    for seed in range(reps):
        rng = np.random.default_rng(1000 + seed)
        ref, cur = _null_frame(rng), _null_frame(rng)
        for method in alarms:
            rep = compare(ref, cur, alpha=alpha, correction=method, fingerprint=False)
            alarms[method] += rep.drifted
    tolerance = 3 * math.sqrt(alpha * (1 - alpha) / reps)
    rates = {k: v / reps for k, v in alarms.items()}
    assert rates["bh"] <= alpha + tolerance, rates
    assert rates["holm"] <= alpha + tolerance, rates
    assert rates["none"] > 0.25, rates


def test_a_real_shift_is_detected():
    rng = np.random.default_rng(10)
    ref, cur = _null_frame(rng, 2000), _null_frame(rng, 2000)
    cur["skewed"] = cur["skewed"] * 1.25
    cur["letters"] = rng.choice(["a", "b", "c", "d"], 2000, p=[0.3, 0.3, 0.2, 0.2])
    gappy = cur["gappy"].copy()
    gappy[rng.random(2000) < 0.1] = np.nan  # ~19% missing instead of 10%
    cur["gappy"] = gappy
    rep = compare(ref, cur)
    assert sorted(rep.drifted_columns) == ["gappy", "letters", "skewed"]
    assert rep["gappy"].missing_drift and rep["letters"].kind == "categorical"
    # the report lists the drifted columns first, most significant first
    assert rep.summary().splitlines()[1].strip().startswith(("skewed", "letters", "gappy"))


# -- the report ------------------------------------------------------------------------
def test_report_json_pandas_html(tmp_path):
    ref, cur = _frames(shift=0.4)
    ref["gone"] = 1.0
    ref.loc[:9, "y"] = np.nan
    cur.loc[:11, "y"] = np.nan
    rep = compare(ref, cur)
    assert isinstance(rep, mlsentry.Report) and isinstance(rep, DriftReport)
    d = json.loads(rep.to_json())
    assert d["schema"] == "mlsentry/drift-report/v1" and d["passed"] is False
    assert d["drifted"] is True and d["drifted_columns"] == ["x"]
    assert d["only_in_reference"] == ["gone"]
    assert d["config"]["correction"] == "bh" and d["config"]["tests"] == "auto"
    assert set(d["inputs"]) == {"reference", "current"}
    assert d["inputs"]["reference"] == mlsentry.fingerprint(ref)
    col = d["columns"][0]
    assert col["name"] == "x" and len(col["histogram"]["edges"]) == 21
    assert len(col["histogram"]["reference"]) == 20
    df = rep.to_pandas()
    assert list(df["name"]) == ["x", "y", "city", "gone"]
    assert "histogram" not in df.columns and df.loc[0, "drift"]
    page = rep.to_html()
    assert "<script" not in page and "http" not in page.replace("http://www.w3.org/2000/svg", "")
    assert page.count("<svg xmlns") == 3
    for svg in re.findall(r"<svg xmlns.*?</svg>", page):
        ET.fromstring(svg)  # well-formed
    # drifted first, then the others; the schema problem in its own table
    body = rep._html_body()
    assert body.index(">x</td>") < body.index(">y</td>")
    assert "Schema changes" in body and "only in reference" in body
    rep.save(tmp_path / "drift.html")
    rep.save(tmp_path / "drift.json")
    saved = json.loads((tmp_path / "drift.json").read_text())
    assert saved["columns"][1]["missing_reference"] == 10
    assert isinstance(rep.columns[0], ColumnDrift)
    with pytest.raises(dataclasses.FrozenInstanceError):
        rep.columns[0].drift = False  # type: ignore[misc]
    assert "x: drift ks" in str(rep.columns[0])
    with pytest.raises(KeyError):
        rep["nope"]


def test_fingerprints_are_optional():
    ref, cur = _frames()
    assert compare(ref, cur, fingerprint=False).inputs == {}
    rep = compare({"a": [1.0, 2.0]}, {"a": [1.0, 2.0, 3.0]})
    assert rep.inputs["reference"] == mlsentry.fingerprint(
        pd.DataFrame({"a": [1.0, 2.0]}), index=False
    )
    # A dict of columns of different lengths has no table fingerprint.
    rep = compare({"a": [1.0, 2.0], "b": [1.0]}, {"a": [1.0], "b": [2.0]})
    assert "reference" not in rep.inputs and "current" in rep.inputs


def test_every_compare_is_audited(tmp_path, monkeypatch):
    log = tmp_path / "audit.jsonl"
    monkeypatch.setenv("MLSENTRY_AUDIT_LOG", str(log))
    ref, cur = _frames(shift=0.4)
    rep = compare(ref, cur)
    compare(ref, ref)
    events = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    assert len(events) == 2
    first = events[0]
    assert first["check"] == "drift.compare" and first["passed"] is False
    assert first["drifted_columns"] == ["x"] and first["inputs"] == rep.inputs
    assert events[1]["passed"] is True
    assert mlsentry.integrity.AuditLog(log).verify().ok


def test_progress_callback():
    ref, cur = _frames()
    seen = []
    compare(ref, cur, progress=lambda done, total: seen.append((done, total)))
    # Progress is polled: short work may end before the first report.
    assert all(total == 3 for _, total in seen)


def test_public_names():
    assert mlsentry.drift.compare is comparison.compare
    assert {"compare", "DriftReport", "ColumnDrift"} <= set(mlsentry.drift.__all__)


def test_compare_documents_itself():
    # (the examples themselves run in tests/test_docs.py)
    doc = compare.__doc__ or ""
    assert "Parameters" in doc and "Returns" in doc and ">>>" in doc


def test_readme_drift_section_runs(tmp_path, monkeypatch, readme_blocks):
    monkeypatch.chdir(tmp_path)
    blocks = readme_blocks("Drift")
    namespace: dict = {}
    for block in blocks:
        exec(compile(block, "README.md", "exec"), namespace)
    assert Path("drift.html").exists()


def test_numpy_only_install(monkeypatch):
    """numpy is the only runtime dependency: numeric and string columns given as numpy
    arrays compare without pandas (the demo relies on it)."""
    import sys

    monkeypatch.setitem(sys.modules, "pandas", None)  # `import pandas` now fails
    rng = np.random.default_rng(0)
    letters = np.array(["a", "b", "c"])
    ref = {"x": rng.normal(size=500), "c": letters[rng.integers(0, 3, 500)]}
    cur = {"x": rng.normal(1.0, 1, size=500), "c": letters[rng.integers(0, 2, 500)]}
    rep = compare(ref, cur, fingerprint=False)
    assert rep.drifted_columns == ["x", "c"]
    assert rep["c"].test == "chi2" and rep["c"].categories == 3

    r, c, k = factorize_pair(np.array(["b", "a"]), np.array(["a", "z"]))
    assert k == 3 and r[1] == c[0]
