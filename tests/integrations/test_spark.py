"""mlsentry.spark on a local Spark (2 cores): profiles equal to pandas ones byte for byte,
compare, bad input."""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd
import pytest

pyspark = pytest.importorskip("pyspark")

import mlsentry.spark as mss  # noqa: E402
from mlsentry.drift import Profile, compare  # noqa: E402
from mlsentry.errors import InvalidInputError, InvalidTypeError  # noqa: E402

# pyspark 4.3 warns that its pandas 3 support is incomplete, and its toPandas() passes
# pandas 3 a deprecated keyword; the paths used here work.
pytestmark = [
    pytest.mark.filterwarnings("ignore:PySpark does not yet fully support pandas:FutureWarning"),
    pytest.mark.filterwarnings("ignore:The copy keyword is deprecated"),
]


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    # The Python workers run this interpreter (its venv has mlsentry and pyarrow).
    saved = os.environ.get("PYSPARK_PYTHON")
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (
        SparkSession.builder.master("local[2]")
        .appName("mlsentry-tests")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        .getOrCreate()
    )
    yield session
    session.stop()
    if saved is None:
        os.environ.pop("PYSPARK_PYTHON", None)
    else:
        os.environ["PYSPARK_PYTHON"] = saved


def _frame(n=4000, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1, n)
    x[::97] = np.nan
    x[5::389] = np.inf
    city = rng.choice(["north", "south", "east", "west"], n).astype(object)
    city[3::53] = None
    return pd.DataFrame(
        {
            "x": x,
            "k": rng.integers(-5000, 5000, n),
            "city": city,
            "flag": rng.random(n) < 0.3,
            "when": pd.Timestamp("2026-01-01")
            + pd.to_timedelta(rng.integers(0, 10**6, n), "s").astype("timedelta64[us]"),
        }
    )


def test_spark_profile_equals_the_pandas_profile(spark):
    pdf = _frame()
    sdf = spark.createDataFrame(pdf).repartition(5)
    got = mss.profile(sdf)
    assert got.to_bytes() == Profile.fit(sdf.toPandas()).to_bytes()
    assert got == Profile.fit(pdf)
    assert mss.profile(sdf, ["city", "x"]) == Profile.fit(pdf, columns=["city", "x"])
    assert mss.profile(sdf, categorical=["k"]) == Profile.fit(pdf, categorical=["k"])


def test_spark_compare_equals_the_frame_comparison_of_profiles(spark, tmp_path):
    ref, cur = _frame(seed=1), _frame(3000, seed=2, shift=0.3)
    sref, scur = spark.createDataFrame(ref), spark.createDataFrame(cur).repartition(3)
    got = mss.compare(sref, scur)
    want = compare(Profile.fit(ref), cur)
    assert [c.to_dict() for c in got.columns] == [c.to_dict() for c in want.columns]
    assert got.drifted_columns == ["x"]
    path = tmp_path / "ref.profile"
    Profile.fit(ref).save(path)
    assert mss.compare(str(path), scur).drifted_columns == ["x"]
    assert not mss.compare(Profile.fit(ref), spark.createDataFrame(_frame(seed=3))).drifted


def test_empty_frame_and_bad_input(spark):
    pdf = _frame(50)
    empty = spark.createDataFrame(pdf).limit(0)
    prof = mss.profile(empty)
    assert prof.columns == list(pdf.columns)
    assert all(c["count"] == 0 for c in prof.describe())
    with pytest.raises(InvalidTypeError, match="sdf: expected a Spark DataFrame"):
        mss.profile(pdf)
    with pytest.raises(InvalidTypeError, match="current"):
        mss.compare(prof, pdf)
    with pytest.raises(InvalidInputError, match="columns: no column named 'zz'"):
        mss.profile(empty, ["zz"])
    with pytest.raises(InvalidInputError, match="categorical"):
        mss.profile(empty, ["x"], categorical=["k"])


def _typed_rows(n=600, seed=4):
    """Rows of every supported type, with NaN, -0.0, unicode, empty strings and missing
    values in every column, and the Spark schema they have."""
    import datetime as dt

    from pyspark.sql import types as T

    rng = np.random.default_rng(seed)
    words = ["", "a", "é", "日本", "naïve 🙂", "x y"]
    t0 = dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.timezone.utc)
    rows = []
    for i in range(n):
        miss = i % 7 == 3
        f = float(rng.normal())
        f = [f, float("nan"), -0.0, 0.0, None][i % 5]
        rows.append(
            (
                int(rng.integers(-(2**62), 2**62)),
                None if miss else 2**53 + i,
                int(rng.integers(-100, 100)),
                None if i % 11 == 0 else int(rng.integers(-(2**31), 2**31)),
                float(np.float32(rng.normal())) if i % 13 else float("nan"),
                f,
                None if i % 9 == 1 else words[i % len(words)],
                bool(i % 3),
                None if miss else bool(i % 2),
                None if i % 5 == 2 else t0 + dt.timedelta(minutes=37 * i),
                dt.datetime(2026, 1, 1) + dt.timedelta(seconds=i),
                None if i % 4 == 0 else bytes([i % 256, 0, 7]),
            )
        )
    schema = T.StructType(
        [
            T.StructField("k", T.LongType(), False),
            T.StructField("k_null", T.LongType()),
            T.StructField("b", T.ByteType()),
            T.StructField("i_null", T.IntegerType()),
            T.StructField("f32", T.FloatType()),
            T.StructField("x", T.DoubleType()),
            T.StructField("s", T.StringType()),
            T.StructField("flag", T.BooleanType()),
            T.StructField("flag_null", T.BooleanType()),
            T.StructField("when", T.TimestampType()),
            T.StructField("local", T.TimestampNTZType()),
            T.StructField("blob", T.BinaryType()),
        ]
    )
    return rows, schema


def _pandas_fp(sdf):
    import mlsentry as ms

    return ms.fingerprint(sdf.toPandas(), row_order=False, index=False)


def test_spark_fingerprint_equals_the_pandas_fingerprint(spark):
    rows, schema = _typed_rows()
    sdf = spark.createDataFrame(rows, schema).repartition(3)
    got = mss.fingerprint(sdf)
    assert got == _pandas_fp(sdf)
    # The pandas frame really has the types the fingerprint has to follow.
    pdf = sdf.toPandas()
    assert str(pdf["k_null"].dtype) == "float64" and pdf["flag_null"].dtype == object
    # Any partitioning and row order.
    assert mss.fingerprint(sdf.repartition(7, "s")) == got
    assert mss.fingerprint(sdf.orderBy(sdf["x"].desc()).coalesce(1)) == got
    # Wall-clock times of the session's time zone, as toPandas() gives them.
    spark.conf.set("spark.sql.session.timeZone", "Europe/Paris")
    try:
        paris = mss.fingerprint(sdf)
        assert paris == _pandas_fp(sdf) and paris != got
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    # A changed value or a duplicated row changes it.
    changed = rows[:]
    changed[5] = (changed[5][0] + 1, *changed[5][1:])
    assert mss.fingerprint(spark.createDataFrame(changed, schema)) != got
    assert mss.fingerprint(spark.createDataFrame([*rows, rows[9]], schema)) != got


def test_spark_fingerprint_of_missing_and_empty_columns(spark):
    from pyspark.sql import functions as F

    rows, schema = _typed_rows(40)
    sdf = spark.createDataFrame(rows, schema)
    # Columns with no value at all, a name with a dot and a repeated name.
    nulls = sdf.select(
        *[F.lit(None).cast(f.dataType).alias(f.name) for f in schema.fields if f.nullable],
        F.col("k").alias("a.b"),
        F.col("s").alias("a.b"),
    ).repartition(2)
    assert mss.fingerprint(nulls) == _pandas_fp(nulls)
    empty = sdf.limit(0)
    assert mss.fingerprint(empty) == _pandas_fp(empty)
    # toPandas() without Arrow gives the same dtypes.
    spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "false")
    try:
        assert mss.fingerprint(nulls) == _pandas_fp(nulls)
        assert mss.fingerprint(empty) == _pandas_fp(empty)
    finally:
        spark.conf.set("spark.sql.execution.arrow.pyspark.enabled", "true")


def test_spark_fingerprint_refuses_types_it_cannot_match(spark):
    import datetime as dt

    sdf = spark.createDataFrame([(1, dt.date(2026, 1, 1))], "n long, day date")
    with pytest.raises(InvalidTypeError, match="column 'day' has Spark type date"):
        mss.fingerprint(sdf)
    with pytest.raises(InvalidTypeError, match="sdf: expected a Spark DataFrame"):
        mss.fingerprint(pd.DataFrame({"n": [1]}))
