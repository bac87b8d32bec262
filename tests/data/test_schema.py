"""ms.data.Schema and ms.data.validate: inference, files, editing, every anomaly kind,
inputs, bad input, the report, and agreement with pandera on the same checks."""

from __future__ import annotations

import json
import threading

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

import mlsentry as ms
from mlsentry.data import Anomaly, ColumnSchema, Schema, SchemaError, ValidationReport, validate
from mlsentry.errors import InvalidInputError, InvalidTypeError, PathNotFoundError

pl = pytest.importorskip("polars")


def _source(n=2000, seed=0):
    """A source of batches: every column kind, a key, missing values in `score`."""
    rng = np.random.default_rng(seed)
    score = rng.normal(50, 10, n)
    score[rng.random(n) < 0.1] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(seed * 10**6, seed * 10**6 + n),
            "age": rng.integers(18, 91, n),
            "children": rng.integers(0, 4, n),
            "income": rng.gamma(9.0, 3000.0, n),
            "score": score,
            "plan": rng.choice(["basic", "plus", "pro"], n),
            "active": rng.random(n) < 0.7,
            "seen": pd.date_range("2024-01-01", periods=n, freq="min"),
        }
    )


@pytest.fixture(scope="module")
def reference():
    return _source(seed=0)


@pytest.fixture(scope="module")
def schema(reference):
    return Schema.infer(reference)


# -- inference --------------------------------------------------------------------------
def test_inference_on_a_known_frame():
    df = pd.DataFrame(
        {
            "n": [1, 5, 3, 5, 1, 2],
            "x": [0.5, -1.0, 2.0, np.nan, 0.5, 1.0],
            "c": ["a", "b", None, "a", "a", "b"],
            "key": ["k1", "k2", "k3", "k4", "k5", "k6"],
            "flag": [True, True, True, True, True, True],
            "f_unique": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            "pos": [0.0, 10.0, 2.0, 3.0, 4.0, 5.0],
        }
    )
    s = Schema.infer(df, missing_margin=0.1, range_margin=0.25)
    assert s.rows == 6 and list(s) == list(df.columns)
    n = s["n"]
    assert (n.type, n.min, n.max, n.domain, n.unique, n.max_missing) == (
        "int",
        0,
        6,
        [1, 2, 3, 5],
        False,
        0.0,
    )
    x = s["x"]
    assert x.type == "float" and x.domain is None and not x.unique
    assert x.min == pytest.approx(-1.0 - 0.75) and x.max == pytest.approx(2.0 + 0.75)
    assert x.max_missing == pytest.approx(1 / 6 + 0.1, abs=1e-6)
    c = s["c"]
    assert (c.type, c.domain, c.unique, c.min) == ("string", ["a", "b"], False, None)
    assert c.max_missing == pytest.approx(1 / 6 + 0.1, abs=1e-6)
    key = s["key"]
    assert key.unique and key.domain is None and "identifier" in key.note
    flag = s["flag"]
    assert (flag.type, flag.domain, flag.constant, flag.unique) == ("bool", [True], True, False)
    # floats are never inferred unique, whatever their values
    assert not s["f_unique"].unique
    # a non-negative reference keeps a non-negative lower bound
    assert s["pos"].min == 0.0 and s["pos"].max == pytest.approx(12.5)
    exact = Schema.infer(df, range_margin=0)
    assert (exact["x"].min, exact["x"].max, exact["n"].min, exact["n"].max) == (-1.0, 2.0, 1, 5)


def test_inference_of_the_source(schema, reference):
    assert schema["id"].unique and schema["id"].min is None
    assert schema["age"].type == "int" and schema["age"].domain is None  # 73 values > 20
    assert schema["children"].domain == [0, 1, 2, 3]
    assert schema["income"].type == "float" and not schema["income"].unique
    assert schema["plan"].domain == ["basic", "plus", "pro"]
    assert schema["active"].domain == [False, True]
    assert schema["seen"].type == "datetime" and schema["seen"].min is None
    share = reference["score"].isna().mean()
    assert schema["score"].max_missing == pytest.approx(share + 0.05, abs=1e-6)
    assert all(schema[c].max_missing == 0 for c in reference.columns if c != "score")


def test_category_cap_keeps_no_domain_and_says_so():
    values = [f"v{i}" for i in range(50)] * 2
    s = Schema.infer({"c": values}, max_categories=49)
    assert s["c"].domain is None and "more than 49" in s["c"].note
    s = Schema.infer({"c": values}, max_categories=50)
    assert len(s["c"].domain) == 50 and s["c"].note == ""
    ints = Schema.infer({"i": np.arange(30).repeat(2)}, int_categories=29)
    assert ints["i"].domain is None and ints["i"].note == ""
    assert Schema.infer({"i": np.arange(30).repeat(2)}, int_categories=30)["i"].domain == list(
        range(30)
    )


def test_an_all_missing_reference_column_accepts_any_type():
    s = Schema.infer({"a": [1, 2], "b": [None, None]})
    assert s["b"].type == "null" and s["b"].max_missing == 1.0
    assert validate({"a": [1, 2], "b": ["x", "y"]}, s).passed


# -- the file --------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".json", ".toml"])
def test_save_load_round_trip(schema, tmp_path, suffix):
    schema = Schema.from_dict(schema.to_dict())
    schema["age"].max = 120
    schema["plan"].severity["unseen_category"] = "warning"
    schema.severity["new_column"] = "error"
    p = tmp_path / f"schema{suffix}"
    schema.save(p)
    text = p.read_text()
    assert "mlsentry/schema" in text
    back = Schema.load(p)
    assert back == schema and back.to_dict() == schema.to_dict()
    assert back["age"].max == 120 and back.severity == {"new_column": "error"}
    assert back["plan"].severity == {"unseen_category": "warning"}
    assert back.fingerprint() == schema.fingerprint()


def test_files_are_readable_and_sorted(schema, tmp_path):
    schema.save(tmp_path / "s.json")
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["format"] == "mlsentry/schema" and data["version"] == 1
    assert list(data) == sorted(data) and list(data["columns"]) == sorted(data["columns"])
    schema.save(tmp_path / "s.toml")
    text = (tmp_path / "s.toml").read_text()
    assert 'format = "mlsentry/schema"' in text and "version = 1" in text
    assert '[columns.plan]\nconstant = false\ndomain = ["basic", "plus", "pro"]' in text


def test_hand_written_toml(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text(
        'format = "mlsentry/schema"\nversion = 1\n[severity]\nnew_column = "off"\n'
        '[columns.age]\ntype = "int"\nmin = 0\nmax = 120\n'
        '[columns."plan name"]\ntype = "string"\ndomain = ["a", "b"]\nmax_missing = 0.5\n'
    )
    s = Schema.load(p)
    assert s["age"].max == 120 and s["plan name"].domain == ["a", "b"]
    rep = validate({"age": [1, 130], "plan name": ["a", None], "extra": [1, 2]}, s)
    assert [(a.column, a.kind) for a in rep.anomalies] == [("age", "out_of_range")]


def _doc(columns: str = "{}", extra: str = "", version: int = 1) -> str:
    head = f'{{"format": "mlsentry/schema", "version": {version}, '
    return head + f'"columns": {columns}{extra}}}'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (_doc(version=2), "newer"),
        ('{"format": "other", "version": 1, "columns": {}}', "not an mlsentry schema"),
        (_doc(extra=', "colour": 1'), "'colour'"),
        (_doc('{"a": {"type": "int", "maxx": 1}}'), "columns.a: unknown key 'maxx'"),
        (_doc('{"a": {"type": "integer"}}'), r"columns\.a\.type"),
        (_doc('{"a": {"type": "int", "min": 5, "max": 1}}'), "above max"),
        (_doc('{"a": {"type": "string", "domain": [1]}}'), r"columns\.a\.domain"),
        (_doc('{"a": {"type": "int", "max_missing": 2}}'), "max_missing"),
        (_doc(extra=', "severity": {"x": "error"}'), "'x'"),
        (_doc('{"a": {"type": "int", "severity": {"out_of_range": "fatal"}}}'), "fatal"),
        (_doc('{"a": {"type": "bool", "min": 0}}'), r"columns\.a\.min"),
        ('{"format": "mlsentry/schema", "vers', "not a readable JSON"),
    ],
)
def test_bad_schema_files(tmp_path, text, message):
    p = tmp_path / "s.json"
    p.write_text(text)
    with pytest.raises(SchemaError, match=message) as e:
        Schema.load(p)
    assert str(p) in str(e.value)
    assert isinstance(e.value, ms.MlsentryError) and isinstance(e.value, ValueError)


def test_truncated_and_newer_toml(schema, tmp_path):
    schema.save(tmp_path / "s.toml")
    text = (tmp_path / "s.toml").read_text()
    (tmp_path / "cut.toml").write_text(text[: len(text) // 2].rsplit("=", 1)[0] + "= [")
    with pytest.raises(SchemaError, match="not a readable TOML"):
        Schema.load(tmp_path / "cut.toml")
    (tmp_path / "new.toml").write_text(text.replace("version = 1", "version = 7"))
    with pytest.raises(SchemaError, match="version 7 is newer"):
        Schema.load(tmp_path / "new.toml")


def test_schema_paths(schema, tmp_path):
    with pytest.raises(InvalidInputError, match=r"\.json or \.toml"):
        schema.save(tmp_path / "s.yaml")
    with pytest.raises(PathNotFoundError):
        Schema.load(tmp_path / "absent.json")


# -- editing ---------------------------------------------------------------------------
def test_editing(reference):
    s = Schema.infer(reference)
    s["age"].max = 60
    s["age"].severity["out_of_range"] = "warning"
    s["plan"].domain = ["basic", "plus"]
    s["income"].unique = True
    s["extra"] = ColumnSchema("int")
    del s["seen"]
    rep = validate(reference, s)
    kinds = {(a.column, a.kind): a for a in rep.anomalies}
    assert kinds["age", "out_of_range"].severity == "warning"
    assert kinds["age", "out_of_range"].count == int((reference["age"] > 60).sum())
    assert kinds["plan", "unseen_category"].count == int((reference["plan"] == "pro").sum())
    assert ("income", "duplicate_key") not in kinds  # distinct floats
    assert kinds["extra", "missing_column"].severity == "error"
    assert kinds["seen", "new_column"].severity == "warning"
    s["age"].min = "old"
    with pytest.raises(SchemaError, match=r"columns\.age\.min"):
        validate(reference, s)
    with pytest.raises(InvalidTypeError):
        s["bad"] = {"type": "int"}  # type: ignore[assignment]


# -- validation: every kind planted ------------------------------------------------------
def test_a_clean_batch_of_the_same_source_passes(schema):
    for seed in (1, 2, 3):
        rep = validate(_source(seed=seed), schema)
        assert rep.passed and rep.anomalies == [], rep.summary()


def _planted(seed=1):
    b = _source(seed=seed)
    b.loc[[10, 20, 30], "age"] = [150, -3, 400]  # out_of_range x3
    b.loc[[5, 6], "plan"] = ["gold", "gold"]  # unseen_category x2
    b["children"] = b["children"].astype("int64")
    b.loc[7, "children"] = 9  # out_of_range and unseen_category
    b.loc[[40, 41, 42], "id"] = b.loc[[1, 2, 3], "id"].to_numpy()  # duplicate_key x3
    b.loc[: b.index[-1] // 2, "score"] = np.nan  # missing_above_bound
    b["income"] = b["income"].astype(str)  # type_changed
    b = b.drop(columns=["active"])  # missing_column
    b["region"] = "eu"  # new_column
    return b


def test_every_planted_kind_is_caught(schema):
    b = _planted()
    rep = validate(b, schema)
    got = {(a.column, a.kind): a for a in rep.anomalies}
    assert set(got) == {
        ("age", "out_of_range"),
        ("plan", "unseen_category"),
        ("children", "out_of_range"),
        ("children", "unseen_category"),
        ("id", "duplicate_key"),
        ("score", "missing_above_bound"),
        ("income", "type_changed"),
        ("active", "missing_column"),
        ("region", "new_column"),
    }
    a = got["age", "out_of_range"]
    assert (a.count, a.rows, a.values, a.severity) == (3, (10, 20, 30), (150, -3, 400), "error")
    a = got["plan", "unseen_category"]
    assert (a.count, a.rows, a.values) == (2, (5, 6), ("gold", "gold"))
    assert got["children", "unseen_category"].rows == (7,)
    assert got["children", "out_of_range"].values == (9,)
    a = got["id", "duplicate_key"]
    assert (a.count, a.rows) == (3, (40, 41, 42))
    a = got["score", "missing_above_bound"]
    assert a.count == int(b["score"].isna().sum())
    assert a.rows == (0, 1, 2, 3, 4) and a.values == (None,) * 5
    a = got["income", "type_changed"]
    assert a.count == len(b) and "expected float, got string" in a.detail
    assert got["active", "missing_column"].count == len(b)
    assert got["region", "new_column"].severity == "warning"
    assert not rep.passed
    assert len(rep.errors) == 8 and len(rep.warnings) == 1


def test_examples_setting(schema):
    b = _source(seed=4)
    b.loc[:, "age"] = 500
    rep = validate(b, schema, examples=2)
    (a,) = rep.anomalies
    assert a.count == len(b) and a.rows == (0, 1)
    assert validate(b, schema, examples=0).anomalies[0].rows == ()
    with pytest.raises(InvalidInputError, match="examples"):
        validate(b, schema, examples=-1)


def test_types_accepted_and_refused(schema):
    b = _source(seed=5)
    # an int column with a missing value arrives as float64 with whole values: accepted
    b["age"] = b["age"].astype(float)
    b.loc[3, "age"] = np.nan
    b["children"] = b["children"].astype(float)
    rep = validate(b, schema)
    assert [(a.column, a.kind, a.count) for a in rep.anomalies] == [
        ("age", "missing_above_bound", 1)
    ]
    b["age"] = b["age"] + 0.5  # not whole: a type change
    b["income"] = b["income"].round().astype("int64")  # ints where floats are expected: fine
    rep = validate(b, schema)
    kinds = [(a.column, a.kind) for a in rep.anomalies]
    assert kinds == [("age", "type_changed"), ("age", "missing_above_bound")]
    assert rep.anomalies[0].count == len(b) - 1
    b = _source(seed=5)
    b["active"] = b["active"].astype(int)  # 0/1 integers are not booleans
    b["plan"] = pd.Categorical(b["plan"])  # a categorical of strings is a string column
    b["seen"] = b["seen"].astype(str)
    kinds = [(a.column, a.kind) for a in validate(b, schema).anomalies]
    assert kinds == [("active", "type_changed"), ("seen", "type_changed")]


def test_a_column_with_no_value_has_no_type_to_judge(schema):
    b = _source(seed=6)
    b["plan"] = np.nan
    rep = validate(b, schema)
    assert [(a.column, a.kind, a.count) for a in rep.anomalies] == [
        ("plan", "missing_above_bound", len(b))
    ]


def test_severities(schema):
    s = Schema.from_dict(schema.to_dict())
    b = _planted()
    s.severity.update({"new_column": "off", "missing_column": "warning"})
    s["id"].severity["duplicate_key"] = "warning"
    s["score"].severity["missing_above_bound"] = "off"
    rep = validate(b, s)
    sev = {(a.column, a.kind): a.severity for a in rep.anomalies}
    assert ("region", "new_column") not in sev and ("score", "missing_above_bound") not in sev
    assert sev["active", "missing_column"] == "warning" and sev["id", "duplicate_key"] == "warning"
    for kind in ("out_of_range", "unseen_category", "type_changed"):
        s.severity[kind] = "warning"
    rep = validate(b, s)
    assert rep.passed and rep.anomalies and not rep.errors


def test_unique_keys_and_exact_integers():
    big = np.array([2**60, 2**60 + 1, 2**60 + 2], dtype=np.int64)
    s = Schema.infer({"k": big})
    assert s["k"].unique
    assert validate({"k": big}, s).passed
    rep = validate({"k": np.array([2**60 + 1, 2**60 + 1, 5], dtype=np.int64)}, s)
    (a,) = rep.anomalies
    assert (a.kind, a.rows, a.values) == ("duplicate_key", (1,), (2**60 + 1,))
    s = Schema.infer({"k": ["a", "b", None, "c"]})
    assert s["k"].unique  # missing values are not keys
    rep = validate({"k": ["a", None, None, "a", "a"]}, s, examples=5)
    kinds = {a.kind: a for a in rep.anomalies}
    assert kinds["duplicate_key"].count == 2 and kinds["duplicate_key"].rows == (3, 4)


# -- inputs agree ----------------------------------------------------------------------
def test_pandas_polars_pyarrow_and_dict_agree(schema):
    b = _planted()
    b["plan"] = b["plan"].astype(object)
    frames = {
        "pandas": b,
        "arrow": pa.Table.from_pandas(b, preserve_index=False),
        "polars": pl.from_pandas(b),
        "dict": {c: b[c].to_numpy() for c in b.columns},
    }
    results = {}
    for name, frame in frames.items():
        rep = validate(frame, schema)
        results[name] = [(a.column, a.kind, a.count, a.rows, a.values) for a in rep.anomalies]
    assert results["arrow"] == results["pandas"]
    assert results["polars"] == results["pandas"]
    assert results["dict"] == results["pandas"]
    inferred = {name: Schema.infer(f).to_dict() for name, f in frames.items()}
    for name in ("arrow", "polars", "dict"):
        for col in ("age", "plan", "id", "score"):
            assert inferred[name]["columns"][col] == inferred["pandas"]["columns"][col], (name, col)


def test_pyarrow_string_columns_and_dictionaries(schema):
    b = _source(seed=7)
    t = pa.Table.from_pandas(b, preserve_index=False)
    i = t.column_names.index("plan")
    t = t.set_column(i, "plan", pa.compute.dictionary_encode(t.column("plan")))
    assert validate(t, schema).passed
    t = t.set_column(i, "plan", t.column("plan").cast(pa.large_string()))
    assert validate(t, schema).passed


# -- bad input -------------------------------------------------------------------------
def test_empty_tables_are_errors(schema):
    with pytest.raises(InvalidInputError, match="reference: the table has no rows"):
        Schema.infer(pd.DataFrame({"a": pd.Series([], dtype=float)}))
    with pytest.raises(InvalidInputError, match="reference: the table has no columns"):
        Schema.infer(pd.DataFrame())
    with pytest.raises(InvalidInputError, match="data: the table has no rows"):
        validate(_source().iloc[:0], schema)
    with pytest.raises(InvalidInputError, match="no columns"):
        validate({}, schema)


def test_bad_inputs(schema):
    with pytest.raises(InvalidTypeError, match="reference"):
        Schema.infer(42)
    with pytest.raises(InvalidTypeError, match="data"):
        validate("not a table", schema)
    with pytest.raises(InvalidTypeError, match="schema"):
        validate({"a": [1]}, {"a": "int"})
    with pytest.raises(InvalidInputError, match="different lengths"):
        Schema.infer({"a": [1, 2], "b": [1]})
    with pytest.raises(InvalidInputError, match="appears twice"):
        Schema.infer(pd.DataFrame([[1, 2]], columns=["a", "a"]))
    with pytest.raises(InvalidInputError, match="max_categories"):
        Schema.infer({"a": [1]}, max_categories=-1)
    with pytest.raises(InvalidTypeError, match="range_margin"):
        Schema.infer({"a": [1]}, range_margin="wide")
    with pytest.raises(InvalidInputError, match="missing_margin"):
        Schema.infer({"a": [1]}, missing_margin=2)


def _fingerprint_threads():
    return [t for t in threading.enumerate() if t.name == "mlsentry-fingerprint"]


def test_the_fingerprint_beside_the_checks_equals_the_fingerprint_of_the_batch(schema):
    batch = _planted()
    for data in (batch, pa.Table.from_pandas(batch, preserve_index=False)):
        rep = validate(data, schema)
        assert rep.inputs == {"schema": schema.fingerprint(), "data": ms.fingerprint(data)}
    assert validate(batch, schema, fingerprint=False).inputs == {"schema": schema.fingerprint()}
    ragged = {"age": [1, 2], "plan": ["a"]}
    with pytest.raises(InvalidInputError):
        validate(ragged, schema)
    with pytest.raises(InvalidTypeError, match="data"):
        validate("not a table", schema)
    assert _fingerprint_threads() == []


def test_nan_and_infinities():
    s = Schema.infer({"x": [1.0, np.inf, 2.0, -np.inf]})
    assert s["x"].min is None and s["x"].max is None
    s = Schema.infer({"x": [1.0, 2.0, np.inf]}, range_margin=0)
    assert (s["x"].min, s["x"].max) == (1.0, None)
    rep = validate({"x": [0.0, np.inf, np.nan]}, s)
    kinds = [(a.kind, a.rows) for a in rep.anomalies]
    assert kinds == [("out_of_range", (0,)), ("missing_above_bound", (2,))]


# -- the report ------------------------------------------------------------------------
def test_report_round_trip_html_and_metrics(schema, tmp_path):
    rep = validate(_planted(), schema)
    assert isinstance(rep, ValidationReport) and isinstance(rep.anomalies[0], Anomaly)
    assert rep.schema == "mlsentry/validation/v1"
    assert rep.inputs["schema"] == schema.fingerprint() and rep.inputs["data"].startswith("sha256:")
    rep.save(tmp_path / "r.json")
    back = ms.Report.load(tmp_path / "r.json")
    assert isinstance(back, ValidationReport)
    assert back.to_dict() == rep.to_dict() and back.anomalies == rep.anomalies
    page = rep.to_html()
    assert "<script" not in page and "duplicate_key" in page and "gold" in page
    m = rep.metrics()
    assert m["mlsentry.validation.passed"] == 0.0
    assert m["mlsentry.validation.n_errors"] == 8.0
    assert m["mlsentry.validation.column.age.out_of_range"] == 3.0
    assert "FAILED" in rep.summary() and "age: out_of_range (error), 3 rows" in rep.summary()
    df = rep.to_pandas()
    assert df["kind"].iloc[0] == rep.anomalies[0].kind and len(df) == len(rep.anomalies)
    clean = validate(_source(seed=2), schema)
    assert clean.verdict == "PASSED" and "no anomaly" in clean.summary()
    assert ms.Report.from_dict(clean.to_dict()).to_dict() == clean.to_dict()


def test_validate_reads_a_schema_file(schema, tmp_path):
    schema.save(tmp_path / "s.toml")
    assert validate(_source(seed=3), tmp_path / "s.toml").passed


# -- the reference: pandera ------------------------------------------------------------
def _pandera_schema(schema):
    """The pandera DataFrameSchema doing the checks of ``schema`` (dtype aside)."""
    pa_ = pytest.importorskip("pandera.pandas")
    cols = {}
    for name, c in schema.columns.items():
        checks = []
        if c.min is not None:
            checks.append(pa_.Check.ge(c.min))
        if c.max is not None:
            checks.append(pa_.Check.le(c.max))
        if c.domain is not None:
            checks.append(pa_.Check.isin(c.domain))
        cols[name] = pa_.Column(
            checks=checks,
            nullable=c.max_missing > 0,
            unique=c.unique,
            report_duplicates="exclude_first",
            required=False,
        )
    return pa_.DataFrameSchema(cols)


def test_counts_agree_with_pandera(schema):
    pandera_errors = pytest.importorskip("pandera.errors")
    b = _planted().drop(columns=["income", "region"])
    b.loc[b.index[-1] // 2 + 1 :, "score"] = 55.0
    b.loc[[100, 101], "age"] = [200, 300]
    with pytest.raises(pandera_errors.SchemaErrors) as e:
        _pandera_schema(schema).validate(b, lazy=True)
    cases = e.value.failure_cases
    theirs = {}
    for (col, check), group in cases.groupby(["column", "check"]):
        theirs[col, str(check).split("(")[0]] = len(group)
    ours = {(a.column, a.kind): a.count for a in validate(b, schema).anomalies}
    assert (
        ours["age", "out_of_range"]
        == theirs["age", "less_than_or_equal_to"] + theirs["age", "greater_than_or_equal_to"]
    )
    assert ours["plan", "unseen_category"] == theirs["plan", "isin"]
    assert ours["children", "unseen_category"] == theirs["children", "isin"]
    assert ours["id", "duplicate_key"] == theirs["id", "field_uniqueness"]
    # pandera fails a non-nullable column on any missing value; the schema allows a share.
    assert ("score", "not_nullable") not in theirs
    assert ours.get(("score", "missing_above_bound")) is not None


def test_sliced_arrow_strings_with_nulls_and_chunks():
    values = ["a", None, "b", "zz", "a", None, "b"] * 3
    s = Schema.infer({"c": pa.chunked_array([values[:10], values[10:]])})
    assert s["c"].domain == ["a", "b", "zz"]
    assert s["c"].max_missing == pytest.approx(6 / 21 + 0.05, abs=1e-6)
    arr = pa.array(values)
    rep = validate({"c": arr.slice(3, 5)}, s)  # "zz", "a", None, "b", "a"
    assert rep.passed
    s["c"].domain = ["a", "b"]
    rep = validate({"c": arr.slice(3, 5)}, s)
    (a,) = rep.anomalies
    assert (a.kind, a.rows, a.values) == ("unseen_category", (0,), ("zz",))
    pandas_str = pd.Series(values, dtype="str").iloc[3:8].reset_index(drop=True)
    assert validate({"c": pandas_str}, s).anomalies == rep.anomalies
    binary = pa.array([v.encode() if v else None for v in values[3:8]], type=pa.binary())
    assert validate({"c": binary}, s).anomalies == rep.anomalies


def test_rows_are_counted_across_arrow_chunks():
    s = Schema.infer({"k": ["a", "b", "c", "d"], "c": ["x", "y", "x", "y"]})
    assert s["k"].unique
    batch = pa.table(
        {
            "k": pa.chunked_array([["e", "f"], [], ["e", None, "g"], ["f"]]),
            "c": pa.chunked_array([["x", "y", "x"], ["q", "x"], ["y"]]),
        }
    )
    rep = validate(batch, s)
    got = {(a.column, a.kind): (a.count, a.rows, a.values) for a in rep.anomalies}
    assert got == {
        ("k", "duplicate_key"): (2, (2, 5), ("e", "f")),
        ("k", "missing_above_bound"): (1, (3,), (None,)),
        ("c", "unseen_category"): (1, (3,), ("q",)),
    }
