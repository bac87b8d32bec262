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
