"""Drift profiles of Spark DataFrames (extra ``spark``).

:func:`profile` computes one partial :class:`~mlsentry.drift.Profile` per partition, in
Rust on the executors (``mapInArrow``: Arrow batches in, the profile's bytes out), and
merges them on the driver. Merging is exact, so the result is byte for byte the profile
of the same rows as one pandas DataFrame, whatever the partitioning. :func:`compare`
compares a reference (a profile, a profile file or a Spark DataFrame) with a Spark
DataFrame; the report is the one :func:`mlsentry.drift.compare` gives for the two
profiles.

Time zones: executors read timestamps as UTC instants; ``toPandas()`` turns them into
wall-clock times of ``spark.sql.session.timeZone``. The two agree when that setting is
``UTC``.

Examples
--------
>>> from pyspark.sql import SparkSession              # doctest: +SKIP
>>> import mlsentry.spark as mss                       # doctest: +SKIP
>>> prof = mss.profile(spark.read.parquet("train/"))  # doctest: +SKIP
>>> prof.save("train.profile")                         # doctest: +SKIP
>>> mss.compare("train.profile", spark.read.parquet("today/")).drifted  # doctest: +SKIP
False
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Optional

from .errors import InvalidInputError, InvalidTypeError, require

require("pyspark", "spark", "mlsentry.spark")

from .drift import DriftReport, Profile  # noqa: E402
from .drift import compare as _compare  # noqa: E402

__all__ = ["compare", "profile"]

#: Rows gathered from Arrow batches before one call into the core (a partition's batches
#: are small, 10,000 rows by default; one call per batch would pay the call's cost often).
CHUNK_ROWS = 1 << 20


def _check_frame(sdf: Any, what: str) -> None:
    from pyspark.sql import DataFrame

    if not isinstance(sdf, DataFrame):
        raise InvalidTypeError(f"{what}: expected a Spark DataFrame, got {type(sdf).__name__}")


def _plan(sdf: Any, columns: Optional[Sequence[str]], categorical: Optional[Sequence[str]]):
    """The columns to profile, and those counted as categories (named in
    ``categorical``; other kinds follow the Arrow types)."""
    names = list(sdf.columns) if columns is None else [str(c) for c in columns]
    unknown = [n for n in names if n not in sdf.columns]
    if unknown:
        raise InvalidInputError(f"columns: no column named {', '.join(map(repr, unknown))}")
    cats = [str(c) for c in (categorical or ())]
    unknown = [n for n in cats if n not in names]
    if unknown:
        raise InvalidInputError(
            f"categorical: no profiled column named {', '.join(map(repr, unknown))}"
        )
    return names, cats


def _partial(names: list[str], cats: list[str]):
    """The function each partition runs: Arrow batches in, one profile's bytes out."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from mlsentry.drift import Profile

        merged = None
        chunk: list[Any] = []
        rows = 0

        def flush() -> None:
            nonlocal merged, chunk, rows
            if rows:
                part = Profile.fit(pa.Table.from_batches(chunk), columns=names, categorical=cats)
                merged = part if merged is None else merged.merge(part)
            chunk, rows = [], 0

        for batch in batches:
            if batch.num_rows:
                chunk.append(batch)
                rows += batch.num_rows
            if rows >= CHUNK_ROWS:
                flush()
        flush()
        if merged is not None:
            yield pa.RecordBatch.from_pydict({"profile": [merged.to_bytes()]})

    return run


def profile(
    sdf: Any,
    columns: Optional[Sequence[str]] = None,
    *,
    categorical: Optional[Sequence[str]] = None,
) -> Profile:
    """The :class:`~mlsentry.drift.Profile` of a Spark DataFrame.

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
    columns : list of str, optional
        Profile only these columns, in this order (default: all).
    categorical : list of str, optional
        Columns counted as categories whatever their type.

    Returns
    -------
    Profile
        Byte for byte ``Profile.fit(sdf.toPandas())`` (same columns and options; see the
        module about time zones), computed without collecting the rows.
    """
    _check_frame(sdf, "sdf")
    names, cats = _plan(sdf, columns, categorical)
    selected = sdf.select(*names)
    rows = selected.mapInArrow(_partial(names, cats), "profile binary").collect()
    parts = [Profile.from_bytes(bytes(r["profile"])) for r in rows]
    if not parts:
        # No row at all: the profile of the empty table, kinds from the schema.
        return Profile.fit(selected.limit(0).toArrow(), columns=names, categorical=cats)
    merged = parts[0]
    for p in parts[1:]:
        merged = merged.merge(p)
    return merged


def compare(reference: Any, current: Any, **compare_kwargs: Any) -> DriftReport:
    """Compares a Spark DataFrame with a reference, as :func:`mlsentry.drift.compare`.

    Parameters
    ----------
    reference : Profile, profile file path or pyspark.sql.DataFrame
        A Spark DataFrame is profiled first (:func:`profile`).
    current : pyspark.sql.DataFrame
        Profiled on the executors; only the profile reaches the driver.
    **compare_kwargs
        Passed to :func:`mlsentry.drift.compare` (``tests``, ``alpha``, ``correction``,
        ``columns``, ``drift_share``, ...). Numeric columns support ``ks`` (with its grid
        error bound) and the binned distances.
    """
    _check_frame(current, "current")
    if Profile.is_file(reference):
        reference = Profile.load(reference)
    if not isinstance(reference, Profile):
        _check_frame(reference, "reference")
        reference = profile(reference, categorical=compare_kwargs.get("categorical"))
    # Numbers the reference counted as categories are counted so in current too.
    cats = [
        c["name"]
        for c in reference.describe()
        if c["kind"] == "categorical" and c["dtype"] != "text" and c["name"] in current.columns
    ]
    return _compare(reference, profile(current, categorical=cats), **compare_kwargs)
