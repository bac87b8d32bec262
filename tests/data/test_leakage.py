"""``mlsentry.data.leakage``: planted exact and near duplicates are found, and nothing else;
exact matches agree with ``pandas.merge`` / ``DataFrame.duplicated``; near matches agree with
a brute-force search; bad input raises clear errors; report, CLI and pytest helper."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import mlsentry as ms
from mlsentry.cli import main
from mlsentry.errors import InvalidInputError, InvalidTypeError
from mlsentry.testing import assert_no_leakage

T = 0.01  # the default near_threshold


def _frame(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "x": rng.standard_normal(n),
            "y": rng.uniform(0, 100, n),
            "n": rng.integers(0, 1_000_000, n),
            "city": rng.choice(["Oslo", "Rome", "Lima", "Kyiv", "Åre"], n),
            "ok": rng.random(n) < 0.5,
            "day": pd.to_datetime("2026-01-01") + pd.to_timedelta(rng.integers(0, 500, n), "D"),
        }
    )


def _planted(seed: int = 0):
    """Train and test frames, and what was planted in test: {test row: (train row, kind)}."""
    rng = np.random.default_rng(seed)
    train = _frame(rng, 3000)
    train.loc[rng.choice(3000, 300, replace=False), "city"] = None  # missing strings
    train.loc[rng.choice(3000, 300, replace=False), "y"] = np.nan  # missing numbers
    test = _frame(rng, 600)
    where = rng.choice(600, 160, replace=False)
    source = rng.choice(3000, 160, replace=False)
    exact, near, above, other = (where[i : i + 40] for i in range(0, 160, 40))
    src = dict(zip(where, source))
    for q in where:
        test.iloc[q] = train.iloc[src[q]]
    sd = train.std(ddof=0, numeric_only=True)
    # Near: moved by at most half the threshold, in x and in n (n by a whole number).
    test.loc[near, "x"] += 0.5 * T * sd["x"] * rng.choice([-1, 1], len(near))
    test.loc[near, "n"] += (0.4 * T * sd["n"]).round().astype(int)
    # Just above the threshold in one column: not near.
    test.loc[above, "x"] += 1.5 * T * sd["x"]
    # Numbers equal, another column different: not near.
    test.loc[other, "ok"] = ~test.loc[other, "ok"].astype(bool)
    test["n"] = test["n"].astype(np.int64)
    planted = {int(q): (int(src[q]), "exact") for q in exact}
    for q in near:
        # A near row copied from a row with a missing y is never near (documented).
        if not np.isnan(train["y"].iloc[src[q]]):
            planted[int(q)] = (int(src[q]), "near")
    return train, test, planted


def _equal_rows(df: pd.DataFrame, row: pd.Series) -> np.ndarray:
    """Rows of ``df`` equal to ``row`` (missing equals missing)."""
    mask = np.ones(len(df), dtype=bool)
    for c in df.columns:
        v = row[c]
        mask &= ((df[c] == v) | (df[c].isna() & pd.isna(v))).to_numpy()
    return mask


def _found(report) -> dict[int, tuple[int, str]]:
    return {p.test_index: (p.train_index, p.kind) for p in report.pairs}


def test_finds_every_planted_duplicate_and_nothing_else():
    train, test, planted = _planted()
    shuffled = test[["ok", "day", "city", "n", "y", "x"]]  # column order does not matter
    report = ms.data.leakage(train, shuffled)
    assert _found(report) == planted
    assert report.n_exact == 40 and report.n_near == len(planted) - 40 > 20
    assert report.share == pytest.approx(len(planted) / 600)
    assert report.columns == ["city", "day", "n", "ok", "x", "y"]
    assert report.near_columns == ["n", "x", "y"]
    near = report.pairs.distance[report.pairs.kind == "near"]
    assert np.all((near > 0) & (near <= T))
    exact_only = ms.data.leakage(train, test, near_threshold=None)
    assert _found(exact_only) == {q: v for q, v in planted.items() if v[1] == "exact"}


def test_exact_matches_agree_with_pandas_merge():
    rng = np.random.default_rng(1)
    train = pd.DataFrame(
        {
            "a": rng.integers(0, 3, 2000),
            "b": rng.choice(["u", "v", None], 2000),
            "c": rng.choice([0.5, np.nan, -0.0], 2000),
        }
    )
    test = pd.DataFrame(
        {
            "a": rng.integers(0, 4, 500).astype(float),  # 1.0 equals 1
            "b": rng.choice(["u", "v", "w", None], 500),
            "c": rng.choice([0.5, np.nan, 0.0, 2.0], 500),  # 0.0 equals -0.0, NaN equals NaN
        }
    )
    report = ms.data.leakage(train, test, near_threshold=None)
    merged = test.reset_index().merge(train, on=["a", "b", "c"], how="inner")
    assert sorted(report.pairs.test_index) == sorted(merged["index"].unique())
    assert report.pairs.count.sum() == len(merged)
    for p in report.pairs:
        same = np.flatnonzero(_equal_rows(train, test.iloc[p.test_index]))
        assert p.train_index == same[0] and p.count == len(same)


def test_one_table_duplicates_agree_with_pandas_duplicated():
    rng = np.random.default_rng(2)
    df = pd.DataFrame(
        {"a": rng.integers(0, 4, 1000), "s": rng.choice(["p", "q", None], 1000)}
    ).astype({"a": np.int64})
    report = ms.data.leakage(df, near_threshold=None)
    assert report.one_table and report.n_test == report.n_train == 1000
    assert sorted(report.pairs.test_index) == list(np.flatnonzero(df.duplicated(keep="first")))
    for p in report.pairs:
        same = np.flatnonzero(_equal_rows(df.iloc[: p.test_index], df.iloc[p.test_index]))
        assert p.train_index == same[0] and p.count == len(same)


def test_one_table_near_pairs_later_rows_with_earlier_ones():
    df = pd.DataFrame({"x": [0.0, 1.0, 2.0, 1.0, 0.000_01, 5.0], "k": list("abcbax")})
    report = ms.data.leakage(df)
    assert [(p.test_index, p.train_index, p.kind) for p in report.pairs] == [
        (3, 1, "exact"),
        (4, 0, "near"),
    ]
    assert "earlier row" in report.summary()


def _brute_force(train: np.ndarray, test: np.ndarray, t: float) -> dict[int, tuple]:
    mean, sd = train.mean(axis=0), train.std(axis=0)
    zt, zq = (train - mean) / sd, (test - mean) / sd
    out = {}
    for q in range(len(test)):
        equal = np.flatnonzero((train == test[q]).all(axis=1))
        if equal.size:
            out[q] = (int(equal[0]), "exact", equal.size)
            continue
        dist = np.abs(zt - zq[q]).max(axis=1)
        if dist.min() <= t:
            out[q] = (int(np.argmin(dist)), "near", int((dist <= t).sum()))
    return out


def test_near_matches_brute_force():
    rng = np.random.default_rng(3)
    # Coarse values (20 levels, 0.17 standard deviations apart) plus a little noise, so
    # that most test rows have several near train rows and distances never tie.
    data = np.round(rng.uniform(0, 1, (1300, 3)) * 20) / 20 + rng.uniform(0, 1e-3, (1300, 3))
    train, test = data[:1000], data[1000:].copy()
    test[:20] = train[rng.choice(1000, 20, replace=False)]
    t = 0.2
    expected = _brute_force(train, test, t)
    kinds = [v[1] for v in expected.values()]
    assert kinds.count("exact") == 20 and 100 < kinds.count("near") < 280
    report = ms.data.leakage(train, test, near_threshold=t)
    found = {p.test_index: (p.train_index, p.kind, p.count) for p in report.pairs}
    assert found == expected


def test_libraries_agree():
    import polars as pl

    train, test, planted = _planted(4)
    expected = _found(ms.data.leakage(train, test))
    assert expected == planted
    arrow = ms.data.leakage(pa.Table.from_pandas(train), pa.Table.from_pandas(test))
    polars = ms.data.leakage(pl.from_pandas(train), pl.from_pandas(test))
    as_dict = ms.data.leakage(
        {c: train[c].to_numpy() for c in train}, {c: test[c].to_numpy() for c in test}
    )
    objects = ms.data.leakage(train.astype({"city": object}), test.astype({"city": "category"}))
    for other in (arrow, polars, as_dict, objects):
        assert _found(other) == expected


def test_value_rules():
    train = {
        "num": [1, 2**60 + 1, 0, 3],
        "flag": [True, False, True, False],
        "text": ["é", "b", None, "c"],
    }
    test = {
        "num": [1.0, float(2**60 + 1), -0.0, 3],  # 2**60 + 1 is not a float64
        "flag": [True, False, True, True],
        "text": ["é", "b", np.nan, "c"],
    }
    report = ms.data.leakage(train, test, near_threshold=None)
    assert _found(report) == {0: (0, "exact"), 2: (2, "exact")}
    # Booleans are not numbers: True is not 1.
    ones = ms.data.leakage({"v": np.array([1, 0])}, {"v": np.array([True, False])})
    assert len(ones.pairs) == 0
    # Strings and bytes never equal each other.
    assert len(ms.data.leakage({"v": ["a"]}, {"v": [b"a"]}).pairs) == 0


def test_missing_numbers_and_constant_columns():
    train = {"x": [0.0, 1.0, 2.0, np.nan], "c": [5.0, 5.0, 5.0, 5.0]}
    test = {"x": [0.001, np.nan, 2.001, 3.0], "c": [5.0, 5.0, 5.001, 5.0]}
    report = ms.data.leakage(train, test)
    # Row 1 (x missing) is exactly train row 3; row 2 differs in the constant column.
    assert _found(report) == {0: (0, "near"), 1: (3, "exact")}
    assert report.near_columns == ["x"]


def test_columns_option():
    train = pd.DataFrame({"a": [1, 2], "b": ["x", "y"], "extra": [0, 0]})
    test = pd.DataFrame({"a": [2, 5], "b": ["y", "z"]})
    with pytest.raises(InvalidInputError, match=r"only in train: \['extra'\]"):
        ms.data.leakage(train, test)
    for columns in ("shared", ["a", "b"], ("b", "a")):
        report = ms.data.leakage(train, test, columns=columns)
        assert _found(report) == {0: (1, "exact")} and report.columns == ["a", "b"]
    assert len(ms.data.leakage(train, test, columns=["a"]).pairs) == 1
    with pytest.raises(InvalidInputError, match="has no column 'extra'"):
        ms.data.leakage(train, test, columns=["extra"])
    with pytest.raises(InvalidTypeError, match="columns"):
        ms.data.leakage(train, test, columns=3)


@pytest.mark.parametrize(
    ("train", "test", "error", "match"),
    [
        (pd.DataFrame({"a": []}), pd.DataFrame({"a": [1]}), InvalidInputError, "train: .*no rows"),
        (pd.DataFrame({"a": [1]}), pd.DataFrame({"a": []}), InvalidInputError, "test: .*no rows"),
        (pd.DataFrame(), pd.DataFrame({"a": [1]}), InvalidInputError, "no columns"),
        ({"a": [1, 2], "b": [1]}, None, InvalidInputError, "differ in length"),
        (np.arange(3), None, InvalidInputError, "1-D array"),
        ("table", None, InvalidTypeError, "expected a pandas"),
        ({"a": [1, "x"]}, None, InvalidTypeError, "several kinds"),
        ({"a": np.zeros(2, complex)}, None, InvalidTypeError, "complex"),
    ],
)
def test_bad_input(train, test, error, match):
    with pytest.raises(error, match=match):
        ms.data.leakage(train, test)


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"near_threshold": -0.1}, InvalidInputError),
        ({"near_threshold": float("nan")}, InvalidInputError),
        ({"near_threshold": "0.1"}, InvalidTypeError),
        ({"max_share": 1.5}, InvalidInputError),
        ({"max_share": True}, InvalidTypeError),
        ({"fingerprint": "yes"}, InvalidTypeError),
    ],
)
def test_bad_options(kwargs, error):
    with pytest.raises(error):
        ms.data.leakage({"a": [1.0]}, {"a": [1.0]}, **kwargs)


def test_numpy_2d_and_zero_threshold():
    train = np.array([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]])
    test = np.array([[2.0, 3.0], [4.0, 5.000_01]])
    assert _found(ms.data.leakage(train, test)) == {0: (1, "exact"), 1: (2, "near")}
    assert _found(ms.data.leakage(train, test, near_threshold=0)) == {0: (1, "exact")}


def test_report_round_trip_html_metrics(tmp_path):
    train, test, planted = _planted(5)
    report = ms.data.leakage(train, test, max_share=0.5)
    assert report.passed is True and report.verdict == "PASSED"
    assert set(report.inputs) == {"train", "test"}
    path = tmp_path / "leakage.json"
    report.save(path)
    again = ms.Report.load(path)
    assert isinstance(again, ms.data.LeakageReport)
    assert again.to_dict() == report.to_dict()
    assert _found(again) == planted
    page = report.to_html()
    assert "exact duplicates" in page and "<script" not in page
    first = report.pairs[0]
    assert f"test row {first.test_index} and train row {first.train_index}" in page
    m = report.metrics()
    assert m["mlsentry.leakage.passed"] == 1.0
    assert m["mlsentry.leakage.n_exact"] == report.n_exact
    assert m["mlsentry.leakage.share"] == pytest.approx(report.share)
    table = report.to_pandas()
    assert list(table.columns) == ["test_index", "train_index", "kind", "distance", "count"]
    assert len(table) == len(report.pairs)
    assert ms.data.leakage(train, test).passed is None
    assert ms.data.leakage(train, test, max_share=0.0).passed is False
    assert len(report.pairs[:3]) == 3


def test_progress_callback():
    calls = []
    ms.data.leakage({"a": [1.0, 2.0]}, {"a": [2.0]}, progress=lambda d, t: calls.append((d, t)))
    assert calls and calls[-1][0] == calls[-1][1]


@pytest.fixture
def csv_files(tmp_path):
    train, test, _ = _planted(6)
    paths = {}
    for name, df in (("train", train), ("test", test), ("fresh", test.iloc[:0])):
        paths[name] = str(tmp_path / f"{name}.csv")
        df.to_csv(paths[name], index=False)
    clean = test.drop(columns="ok").assign(x=test["x"] + 1000)
    paths["clean"] = str(tmp_path / "clean.csv")
    clean.to_csv(paths["clean"], index=False)
    return paths


def test_cli(csv_files, tmp_path, capsys):
    f = csv_files
    assert main(["leakage", f["train"], f["test"]]) == 0  # no bar: no verdict
    assert "NO VERDICT" in capsys.readouterr().out
    html = tmp_path / "l.html"
    assert (
        main(["leakage", f["train"], f["test"], "--max-share", "0", "--json", "--html", str(html)])
        == 1
    )
    out = json.loads(capsys.readouterr().out)
    assert out["schema"] == "mlsentry/leakage/v1" and out["passed"] is False
    assert "exact duplicates" in html.read_text()
    assert main(["leakage", f["train"], f["test"], "--exact-only", "--max-share", "0.1"]) == 0
    assert "nearly" in capsys.readouterr().out
    assert main(["leakage", f["train"], f["clean"], "--columns", "shared", "--max-share", "0"]) == 0
    assert main(["leakage", f["train"], f["clean"]]) == 2  # different columns
    assert "only in train" in capsys.readouterr().err
    assert main(["leakage", f["train"], f["fresh"]]) == 2  # no rows
    assert main(["leakage", f["train"], str(tmp_path / "missing.csv")]) == 2
    assert main(["leakage", f["train"], "--max-share", "0", "--json"]) == 0  # one table
    assert json.loads(capsys.readouterr().out)["one_table"] is True
    assert main(["leakage", f["train"], f["test"], "--near-threshold", "-1"]) == 2


def test_cli_default_threshold_matches_the_api():
    from mlsentry.cli.leakage import DEFAULT_NEAR_THRESHOLD
    from mlsentry.data.duplicates import DEFAULT_NEAR_THRESHOLD as API_DEFAULT

    assert DEFAULT_NEAR_THRESHOLD == API_DEFAULT == T


def test_assert_no_leakage():
    train, test, planted = _planted(7)
    clean = test.drop(index=list(planted)).reset_index(drop=True)
    report = assert_no_leakage(train, clean)
    assert report.share == 0.0 and report.passed
    with pytest.raises(AssertionError) as failure:
        assert_no_leakage(train, test)
    message = str(failure.value)
    assert "FAILED" in message and "test row" in message and "exact" in message
    assert failure.value.report.n_exact == 40
    assert assert_no_leakage(train, test, max_share=0.5).passed
    with pytest.raises(AssertionError, match="repeat an earlier row"):
        assert_no_leakage(pd.concat([train, train.iloc[:3]]))


def test_numpy_text_columns_need_no_pyarrow(monkeypatch):
    """numpy str and bytes columns are read without pyarrow (the demo runs on numpy
    alone), byte for byte as arrow reads them."""
    import sys

    from mlsentry.data._leakage_cells import _arrow, _numpy_text

    words = np.array(["é", "", "abc", "abc", "zß" * 3, "x\x00y"])
    raw = np.array([b"x", b"", b"yy", b"yy", b"\x00z", b""])
    for column in (words, raw):
        ours, theirs = _numpy_text(column), _arrow(pa.array(column.tolist()), "c")
        assert ours[:2] == theirs[:2]
        np.testing.assert_array_equal(ours[2], theirs[2] - theirs[2][0])
        np.testing.assert_array_equal(ours[3], theirs[3][theirs[2][0] : theirs[2][-1]])
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    pairs = ms.data.leakage({"w": words, "b": raw}).pairs
    assert list(zip(pairs.test_index, pairs.train_index)) == [(3, 2)]
