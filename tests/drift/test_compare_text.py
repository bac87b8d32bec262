"""Text columns held by Arrow (pandas ``str``, pyarrow, polars) are coded jointly by the
core (``_core.drift_factorize_text``); the report must be the one the general path makes
from the same values as Python objects."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import mlsentry as ms
from mlsentry import _core

VALUES = ["a", "b", "é", "", "日本語", "a value longer than seven bytes", "x" * 60, "a\0"]


def _texts(rng: np.random.Generator, n: int, pool: list[str], none_share: float) -> list:
    out: list = list(rng.choice(np.array(pool, dtype=object), n))
    for i in np.flatnonzero(rng.random(n) < none_share):
        out[i] = None
    return out


def _frames(seed: int = 0, n: int = 3000) -> tuple[dict, dict]:
    rng = np.random.default_rng(seed)
    many = [f"id{i}" for i in range(2500)]
    ref = {
        "mix": _texts(rng, n, VALUES[:6], 0.05),
        "many": _texts(rng, n, many[:1500], 0.0),
        "rare": _texts(rng, n, VALUES + many[:40], 0.01),
        "x": rng.normal(size=n),
    }
    cur = {
        "mix": _texts(rng, n, VALUES, 0.2),  # new categories and more missing values
        "many": _texts(rng, n, many, 0.0),
        "rare": _texts(rng, n, VALUES + many[30:90], 0.0),
        "x": rng.normal(size=n),
    }
    return ref, cur


def _columns(report: ms.drift.DriftReport) -> list[dict]:
    out = []
    for c in report.columns:
        d = dataclasses.asdict(c)
        d.pop("dtype_reference")
        d.pop("dtype_current")
        out.append(d)
    return out


def _objects(cols: dict) -> pd.DataFrame:
    return pd.DataFrame(
        {k: pd.Series(v, dtype=object if k != "x" else None) for k, v in cols.items()}
    )


def _arrow_str(cols: dict) -> pd.DataFrame:
    return pd.DataFrame(
        {k: pd.Series(v, dtype="string[pyarrow]" if k != "x" else None) for k, v in cols.items()}
    )


def test_arrow_text_equals_the_object_path(monkeypatch: pytest.MonkeyPatch) -> None:
    ref, cur = _frames()
    slow = ms.drift.compare(_objects(ref), _objects(cur), fingerprint=False)
    coded: list[str] = []
    real = _core.drift_factorize_text

    def spy(columns, *args):
        coded.extend(c[0] for c in columns)
        return real(columns, *args)

    monkeypatch.setattr(_core, "drift_factorize_text", spy)
    fast = ms.drift.compare(_arrow_str(ref), _arrow_str(cur), fingerprint=False)
    assert coded == ["mix", "many", "rare"]  # the text columns took the core's path
    assert _columns(fast) == _columns(slow)
    assert fast["mix"].dtype_reference == "string"
    assert fast["mix"].new_categories == 2 and "never seen" in fast["mix"].note
    assert "pooled" in fast["many"].note  # past 1000 categories: rare ones pooled
    # The labels keep unicode, the empty string and a NUL apart, as pandas does.
    assert set(fast["mix"].histogram.labels) >= {"é", "", "日本語", "a\0"}


@pytest.mark.parametrize("kind", ["pyarrow", "polars", "chunked"])
def test_pyarrow_and_polars_tables(kind: str) -> None:
    ref, cur = _frames(1)
    slow = ms.drift.compare(_objects(ref), _objects(cur), fingerprint=False)
    if kind == "polars":
        pl = pytest.importorskip("polars")
        r, c = pl.DataFrame(ref), pl.DataFrame(cur)
    elif kind == "pyarrow":
        r, c = pa.table(ref), pa.table(cur)
    else:
        # Several chunks, one of them a slice (an offset into its buffers).
        def chunked(cols: dict) -> pa.Table:
            out = {}
            for k, v in cols.items():
                whole = pa.array(v)
                out[k] = pa.chunked_array([whole.slice(0, 1000), whole.slice(1000)])
            return pa.table(out)

        r, c = chunked(ref), chunked(cur)
    fast = ms.drift.compare(r, c, fingerprint=False)
    assert _columns(fast) == _columns(slow)


def test_mixed_inputs_and_a_column_on_one_side() -> None:
    ref, cur = _frames(2)
    r = _arrow_str(ref).assign(only_ref=pd.Series(["u"] * 3000, dtype="str"))
    c = pa.table(cur)
    rep = ms.drift.compare(r, c, fingerprint=False)
    assert rep["only_ref"].status == "only in reference"
    slow = ms.drift.compare(
        _objects(ref).assign(only_ref=pd.Series(["u"] * 3000, dtype=object)),
        _objects(cur),
        fingerprint=False,
    )
    assert _columns(rep) == _columns(slow)


def test_categorical_dtype_against_text() -> None:
    ref, cur = _frames(3)
    r = _arrow_str(ref)
    r["mix"] = r["mix"].astype("category")
    expected_ref = _objects(ref)
    expected_ref["mix"] = expected_ref["mix"].astype("category")
    fast = ms.drift.compare(r, _arrow_str(cur), fingerprint=False)
    slow = ms.drift.compare(expected_ref, _objects(cur), fingerprint=False)
    assert _columns(fast) == _columns(slow)


def test_general_path_cases_still_apply() -> None:
    """Numbers written as text, identifiers and a side with no value are left to the
    general path, with its verdicts."""
    n = 200
    ref = pd.DataFrame(
        {
            "num": pd.Series([str(i % 7) for i in range(n)], dtype="str"),
            "key": pd.Series([f"k{i}" for i in range(n)], dtype="str"),
            "none": pd.Series([None] * n, dtype="str"),
            "cat": pd.Series(["p", "q"] * (n // 2), dtype="str"),
        }
    )
    cur = pd.DataFrame(
        {
            "num": pd.Series([str(i % 9) for i in range(n)], dtype="str"),
            "key": pd.Series([f"j{i}" for i in range(n)], dtype="str"),
            "none": pd.Series(["a"] * n, dtype="str"),
            "cat": pd.Series(["p", "q"] * (n // 2), dtype="str"),
        }
    )
    rep = ms.drift.compare(ref, cur, fingerprint=False)
    assert "read as numbers" in rep["num"].note
    assert rep["key"].status == "identifier"
    assert rep["none"].n_reference == 0
    obj = ms.drift.compare(ref.astype(object), cur.astype(object), fingerprint=False)
    assert _columns(rep) == _columns(obj)
    # Named in ``categorical``, the key is tested (as the general path does).
    forced = ms.drift.compare(ref, cur, categorical=["key"], fingerprint=False)
    assert forced["key"].tested and forced["key"].new_categories == n


def test_core_factorize_text_codes_and_errors() -> None:
    arr = pa.array(["b", None, "a", "b", ""], type=pa.large_string())
    cur = pa.array(["z", "a"], type=pa.string())
    from mlsentry._tables import arrow_text

    (_, rchunks), (_, cchunks) = arrow_text(pa.chunked_array([arr])), arrow_text(cur)
    rc, cc, values, nr, nc = _core.drift_factorize_text([("c", rchunks, cchunks)])[0]
    assert rc.tolist() == [0, -1, 1, 0, 2] and cc.tolist() == [3, 1]
    assert values == ["b", "a", "", "z"]
    assert nr.tolist() == [2, 1, 1, 0] and nc.tolist() == [0, 1, 0, 1]
    bad = (np.array([0, 9], dtype=np.int64), np.zeros(2, np.uint8), None)
    with pytest.raises(ms.errors.InvalidInputError, match=r'column "c"'):
        _core.drift_factorize_text([("c", [bad], [])])
    with pytest.raises(ms.errors.InvalidInputError, match="not UTF-8"):
        _core.drift_factorize_text(
            [("c", [(np.array([0, 1], dtype=np.int64), np.array([0xFF], np.uint8), None)], [])]
        )


@pytest.mark.parametrize("kind", ["str", "pyarrow", "polars"])
def test_profiles_of_arrow_text_equal_the_general_path(
    kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref, cur = _frames(4)
    ref["empty"] = [None] * 3000
    cur["empty"] = ["v"] * 3000
    if kind == "polars":
        pl = pytest.importorskip("polars")
        r, c = pl.DataFrame(ref), pl.DataFrame(cur)
    elif kind == "pyarrow":
        r, c = pa.table(ref), pa.table(cur)
    else:
        r, c = _arrow_str(ref), _arrow_str(cur)
    fast = ms.drift.Profile.fit(r)
    fast_report = ms.drift.compare(fast, c, fingerprint=False)
    import mlsentry.drift.comparison as comparison
    import mlsentry.drift.profile as profile

    monkeypatch.setattr(profile, "arrow_text", lambda col: None)
    monkeypatch.setattr(comparison, "arrow_text", lambda col: None)
    general = ms.drift.Profile.fit(r)
    assert fast.to_bytes() == general.to_bytes()
    assert _columns(fast_report) == _columns(ms.drift.compare(general, c, fingerprint=False))
    if kind != "str":
        # Arrow's nulls are "no values" either way; a text profile equals the objects'.
        assert fast.to_bytes() == ms.drift.Profile.fit(_objects(ref)).to_bytes()
