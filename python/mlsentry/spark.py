"""Drift profiles and fingerprints of Spark DataFrames (extra ``spark``).

:func:`profile` computes one partial :class:`~mlsentry.drift.Profile` per partition, in
Rust on the executors (``mapInArrow``: Arrow batches in, the profile's bytes out), and
merges them on the driver. Merging is exact, so the result is byte for byte the profile
of the same rows as one pandas DataFrame, whatever the partitioning. :func:`compare`
compares a reference (a profile, a profile file or a Spark DataFrame) with a Spark
DataFrame; the report is the one :func:`mlsentry.drift.compare` gives for the two
profiles. :func:`fingerprint` digests a DataFrame's rows on the executors, equal to
``mlsentry.fingerprint(sdf.toPandas(), row_order=False, index=False)``.

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

__all__ = ["compare", "fingerprint", "profile"]

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


# --- fingerprint --------------------------------------------------------------------------

#: Rows whose digests are sorted and sent to the driver as one run (32 bytes a row).
RUN_ROWS = 1 << 20


def _fingerprint_plan(sdf: Any) -> list[tuple[str, str]]:
    """(kind, name) of each column, by the pandas dtype ``toPandas()`` gives its type."""
    from pyspark.sql import types as T

    kinds = []
    for field in sdf.schema.fields:
        t = field.dataType
        if isinstance(t, (T.ByteType, T.ShortType, T.IntegerType, T.LongType)):
            kind = "int"
        elif isinstance(t, (T.FloatType, T.DoubleType)):
            kind = "float"
        elif isinstance(t, T.StringType):
            kind = "string"
        elif isinstance(t, T.BooleanType):
            kind = "bool"
        elif isinstance(t, T.BinaryType):
            kind = "binary"
        elif isinstance(t, (T.TimestampType, T.TimestampNTZType)):
            kind = "timestamp"
        else:
            raise InvalidTypeError(
                f"sdf: column {field.name!r} has Spark type {t.simpleString()}, which "
                "fingerprint does not support (toPandas() makes it a column of Python "
                "objects with no canonical encoding, or no exact one); supported: byte, "
                "short, int, long, float, double, string, boolean, binary, timestamp, "
                "timestamp_ntz. Cast it first, e.g. dates and decimals to string."
            )
        kinds.append((kind, field.name))
    return kinds


def _null_counts(sdf: Any, plan: list[tuple[str, str]]) -> tuple[dict[int, int], int]:
    """Missing values of the nullable int, bool and binary columns (how ``toPandas()``
    converts those depends on whether the whole column has some), by position, and the
    row count (-1 when not counted); one Spark job, none when no column needs it."""
    from pyspark.sql import functions as F

    fields = sdf.schema.fields
    wanted = [
        i
        for i, (kind, _) in enumerate(plan)
        if kind in ("int", "bool", "binary") and fields[i].nullable
    ]
    if not wanted:
        return {}, -1
    # Columns are named by position (see fingerprint).
    row = sdf.agg(
        F.count(F.lit(1)).alias("rows"),
        *[F.sum(F.col(f"c{i}").isNull().cast("long")).alias(f"n{i}") for i in wanted],
    ).first()
    return {i: int(row[f"n{i}"] or 0) for i in wanted}, int(row["rows"])


def _conversions(plan: list[tuple[str, str]], nulls: dict[int, int], rows: int) -> list[str]:
    """How the executors convert each column: into the pandas column ``toPandas()`` gives
    (see ``mlsentry.integrity.fingerprints._as_pandas_col``)."""
    out = []
    for i, (kind, _) in enumerate(plan):
        n_null = nulls.get(i, 0)
        if kind in ("bool", "binary") and n_null == rows > 0:
            out.append("null")  # an object column without any value
        elif kind == "int" and n_null:
            out.append("float64")  # pandas holds missing ints as NaN in float64
        elif kind == "bool" and n_null:
            out.append("mixed")  # an object column of True, False and None
        elif kind == "timestamp":
            out.append("wall_clock")  # toPandas() gives session-time-zone wall clock
        else:
            out.append("arrow")
    return out


def _tags(sdf: Any, plan: list[tuple[str, str]], nulls: dict[int, int], n_rows: int) -> list[str]:
    """The fingerprint type tag of each column of ``sdf.toPandas()``."""
    from pyspark.sql import types as T

    widths = {T.ByteType: 8, T.ShortType: 16, T.IntegerType: 32, T.FloatType: 32}
    fields = sdf.schema.fields
    tags = []
    for i, (kind, _) in enumerate(plan):
        n_null = nulls.get(i, 0)
        bits = widths.get(type(fields[i].dataType), 64)
        if kind == "int":
            tag = "float64" if n_null else f"int{bits}"
        elif kind == "float":
            tag = f"float{bits}"
        elif kind == "string":
            tag = "string"
        elif kind == "bool":
            tag = "bool" if not n_null else "null" if n_null == n_rows else "mixed"
        elif kind == "binary":
            tag = "binary" if n_rows > n_null else "null"
        else:
            tag = "datetime64[us]"
        tags.append(tag)
    return tags


def _sorted_runs(labels: list[str], conversions: list[str]):
    """The function each partition runs: Arrow batches in, runs of sorted row digests out."""

    def run(batches: Iterator[Any]) -> Iterator[Any]:
        import pyarrow as pa

        from mlsentry.integrity import _row_digest_run

        chunk: list[Any] = []
        rows = 0

        def flush() -> Any:
            run = _row_digest_run(pa.Table.from_batches(chunk), conversions, labels)
            return pa.RecordBatch.from_pydict({"digests": [run]})

        for batch in batches:
            if batch.num_rows:
                chunk.append(batch)
                rows += batch.num_rows
            if rows >= RUN_ROWS:
                yield flush()
                chunk, rows = [], 0
        if rows:
            yield flush()

    return run


def fingerprint(sdf: Any) -> str:
    """The order-free content fingerprint of a Spark DataFrame, computed on the executors.

    Equal to ``mlsentry.fingerprint(sdf.toPandas(), row_order=False, index=False)`` (the
    definition is in :mod:`mlsentry.integrity.fingerprints`), without collecting the rows:
    each partition hashes its rows in Rust from its Arrow batches (``mapInArrow``), with
    the column types ``toPandas()`` would give: a long column with a missing value is
    float64 with NaN, a boolean column with one is an object column (tag ``mixed``), a
    binary column without any value is a ``null`` column, timestamps are wall-clock
    ``datetime64[us]`` of ``spark.sql.session.timeZone``. (These are the types of
    ``toPandas()`` with or without Arrow; one exception: without Arrow, some plans of an
    *empty* DataFrame come out with float64 ints and object bools, and the fingerprint
    follows the Arrow conversion.) Whether a column has missing
    values is counted first, in one Spark job, for the nullable int, boolean and binary
    columns only.

    Each partition sorts its row digests and sends them to the driver as runs of at most
    ``RUN_ROWS`` (32 bytes a row: 320 MB for 10 million rows); the driver merges the runs
    in Rust while hashing them, without copying or sorting them again. Collecting is
    chosen over a distributed sort because SHA-256 must see the digests one after another
    anyway, so a sort in Spark would still stream every digest to the driver, after a
    shuffle of them all.

    Parameters
    ----------
    sdf : pyspark.sql.DataFrame
        Columns of type byte, short, int, long, float, double, string, boolean, binary,
        timestamp or timestamp_ntz (others are refused: ``toPandas()`` makes dates and
        decimals Python objects that have no canonical encoding).

    Returns
    -------
    str
        ``"sha256:"`` followed by 64 hexadecimal digits; the same for any partitioning
        and row order, different when a value changes or a row is added or duplicated.

    Raises
    ------
    InvalidTypeError
        ``sdf`` is not a Spark DataFrame, or has a column of an unsupported type (the
        message names it).
    """
    from .integrity import _multiset_fingerprint

    _check_frame(sdf, "sdf")
    plan = _fingerprint_plan(sdf)
    # Columns are renamed by position: names may repeat or hold dots.
    renamed = sdf.toDF(*[f"c{i}" for i in range(len(plan))])
    nulls, counted = _null_counts(renamed, plan)
    labels = [name for _, name in plan]
    runner = _sorted_runs(labels, _conversions(plan, nulls, counted))
    runs = [bytes(r["digests"]) for r in renamed.mapInArrow(runner, "digests binary").collect()]
    tags = _tags(sdf, plan, nulls, sum(len(r) for r in runs) // 32)
    return _multiset_fingerprint(labels, tags, runs)
