"""Mergeable reference profiles: :class:`Profile`, and :func:`compare` with a profile on
either side.

A profile keeps, per column, what a drift comparison needs and nothing that grows with
the rows: counts on a fixed grid for numbers, category counts, missing counts. The work
is in the Rust core (``core::drift::profile``, whose module documentation states the
grid, the category cap and why merging is exact); this module normalises the tables and
builds the :class:`DriftReport`.

Rank error
----------
The grid has 1024 buckets per power of two (each bucket's width is at most 2**-10 of
its values' magnitude, about 0.1 %). An empirical CDF is known exactly at the bucket
edges, so a Kolmogorov-Smirnov statistic from profiles lies in ``[D - e, D + e]`` where
``e`` is at most the largest share of one side's values in one bucket holding values of
both sides (for a standard normal sample, about 0.0004 near one standard deviation; for a
sample of mean 10 and standard deviation 1, about 0.004). ``e`` is reported
(``details``), the p-value is given as the interval ``ColumnDrift.pvalue_interval =
(p(D + e), p(D - e))``, and a column drifts only when the whole interval is below
``alpha`` after the correction.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Callable, Mapping, Sequence
from types import SimpleNamespace
from typing import Any, Optional, Union

import numpy as np

from .. import _core
from .._progress import ProgressArg, progress_callback
from .._tables import Side, arrow_text, side_any, table_columns
from ..errors import InvalidInputError, InvalidTypeError, PathNotFoundError
from .choice import HIGH_CARDINALITY, _float_uniques, _resolve_test, join_notes
from .report import (
    STATUS_ONLY_CUR,
    STATUS_ONLY_REF,
    STATUS_TYPE,
    ColumnDrift,
    DriftReport,
)
from .tables import check_names, named_columns

PathLike = Union[str, "os.PathLike[str]"]

#: The tests a profile supports on numeric columns (the others need the values).
PROFILE_NUMERIC_TESTS = (
    "auto",
    "ks",
    "psi",
    "jensen_shannon",
    "hellinger",
    "kl",
    "total_variation",
)


#: Kinds of values a profile counts on the grid (as float64; times as nanoseconds).
NUMERIC_GROUPS = ("number", "datetime", "timedelta", "time")


def _label(value: Any, mixed: bool) -> str:
    """A category's name in a profile: ``str`` of the value (``repr`` for bytes and for
    columns mixing kinds, so that ``1`` and ``"1"`` stay apart). Never shortened: two
    categories must not share a name."""
    if isinstance(value, np.generic):
        value = value.item()
    if mixed or isinstance(value, bytes):
        return repr(value)
    return str(value)


def _column_input(name: str, side: Side, categorical: bool) -> tuple[Any, ...]:
    """The tuple ``_core.profile_fit`` takes for one column."""
    # The kind of values, not the dtype, is recorded: an int32 Spark column, the int64 or
    # float64 pandas makes of it and an arrow int32 are the same column of numbers.
    numeric = side.group in NUMERIC_GROUPS
    if numeric and not categorical and side.values is not None:
        return (name, side.group, "numeric", np.ascontiguousarray(side.values), None)
    if side.codes is not None and side.uniques is not None:
        labels = [_label(v, side.mixed) for v in side.uniques]
        return (name, side.group, "categorical", side.codes, labels)
    if side.values is not None:
        codes, objs = _float_uniques(side.values, side.group)
        return (name, side.group, "categorical", codes, [_label(v, False) for v in objs])
    # No value at all: every row missing.
    return (name, side.group, "categorical", np.full(side.n, -1, dtype=np.int64), [])


def _text_inputs(names: Sequence[str], by_name: Mapping[str, Any]) -> dict[str, tuple[Any, ...]]:
    """The ``profile_fit`` inputs of the columns held as Arrow text, coded by the core in
    one call (the codes and labels ``_column_input`` makes from the pandas side)."""
    found = {}
    for n in names:
        t = arrow_text(by_name[n])
        if t is not None:
            found[n] = t[1]
    if not found:
        return {}
    coded = _core.drift_factorize_text([(n, chunks, []) for n, chunks in found.items()])
    # A column without any value is left to ``side_any`` (which names its kind).
    return {
        n: (n, "text", "categorical", codes, values)
        for n, (codes, _, values, counts, _) in zip(found, coded)
        if counts.sum()
    }


def _fit_inner(
    data: Any,
    what: str,
    columns: Optional[Sequence[str]],
    categorical: Optional[Sequence[str]],
    numeric: Sequence[str] = (),
    progress: ProgressArg = False,
) -> Any:
    if isinstance(data, Profile):
        raise InvalidTypeError(f"{what}: expected a table, got a Profile")
    by_name = named_columns(table_columns(data, what), what)
    wanted = list(by_name) if columns is None else list(columns)
    missing = [n for n in wanted if n not in by_name]
    if missing:
        raise InvalidInputError(f"{what}: no column named {', '.join(map(repr, missing))}")
    forced = set(categorical or ())
    text = _text_inputs([n for n in wanted if n not in numeric], by_name)
    inputs = []
    for n in wanted:
        if n in text:
            inputs.append(text[n])
            continue
        side = side_any(by_name[n], f"{what} column {n!r}")
        inp = _column_input(n, side, n in forced)
        if n in numeric and inp[2] != "numeric":
            if side.group == "null":
                inp = (n, "null", "numeric", np.full(side.n, np.nan), None)
            else:
                raise InvalidInputError(
                    f"{what}: column {n!r} holds {side.group} values ({side.dtype}); the "
                    "profile has numbers there"
                )
        inputs.append(inp)
    with progress_callback(progress, "profile", unit="col") as cb:
        return _core.profile_fit(inputs, cb)


class Profile:
    """A mergeable profile of a table: what :func:`~mlsentry.drift.compare` needs of a
    reference, in counts that add exactly.

    Per column: numbers are counted on a fixed grid of 1024 buckets per power of two
    (relative width 0.1 %, one bucket per infinity) with the exact smallest and largest
    finite value; datetimes and durations as nanoseconds; anything else (text, booleans,
    categoricals, a column named in ``categorical``) as exact category counts, past
    10,000 categories a hash-chosen subset of them counted one by one and the rest
    together; missing values counted. Mean and standard deviation are read from the grid.

    ``merge(fit(A), fit(B))`` saves the same bytes as the profile of the rows of both
    tables, for any split, order and grouping of the rows (every number stored is a
    count, a minimum or a maximum), so partial profiles made anywhere (Spark partitions,
    daily batches, workers) combine into the profile of the whole.

    The file (``save``/``load``) is one JSON header line (``"format":
    "mlsentry/profile"``, ``"version"``, the size and SHA-256 digest of the counts) and the
    packed counts, DEFLATE-compressed; a file from a newer major version, a truncated or an
    edited file raise :class:`~mlsentry.errors.InvalidInputError` (a
    :class:`~mlsentry.MlsentryError`) saying which.

    Examples
    --------
    >>> import numpy as np
    >>> import mlsentry as ms
    >>> rng = np.random.default_rng(0)
    >>> ref = {"age": rng.normal(40, 10, 5000), "plan": rng.choice(["a", "b"], 5000)}
    >>> prof = ms.drift.Profile.fit(ref)
    >>> prof.columns
    ['age', 'plan']
    >>> cur = {"age": rng.normal(45, 10, 2000), "plan": rng.choice(["a", "b"], 2000)}
    >>> ms.drift.compare(prof, cur).drifted_columns
    ['age']
    """

    __slots__ = ("_inner",)

    def __init__(self, inner: Any) -> None:
        if not isinstance(inner, _core.DriftProfile):
            raise InvalidTypeError(
                "Profile: build one with Profile.fit(table), Profile.load(path) or "
                "Profile.from_bytes(data)"
            )
        self._inner = inner

    @classmethod
    def fit(
        cls,
        reference: Any,
        *,
        columns: Optional[Sequence[str]] = None,
        categorical: Optional[Sequence[str]] = None,
        progress: ProgressArg = False,
    ) -> Profile:
        """The profile of a table (any input :func:`~mlsentry.drift.compare` takes).

        Parameters
        ----------
        reference : table
            pandas, polars, pyarrow, a dict of columns, a numpy array.
        columns : list of str, optional
            Profile only these columns, in this order.
        categorical : list of str, optional
            Columns to count as categories whatever their type.
        progress : bool or callable, optional
            ``True`` shows a tqdm bar; a callable receives ``(done, total)`` columns.
        """
        cols = check_names(columns, "columns")
        cats = check_names(categorical, "categorical")
        return cls(_fit_inner(reference, "reference", cols, cats, progress=progress))

    def _fit_like(self, batch: Any, what: str) -> Any:
        info = self._inner.columns()
        names = [c["name"] for c in info]
        cats = [c["name"] for c in info if c["kind"] == "categorical"]
        nums = [c["name"] for c in info if c["kind"] == "numeric"]
        return _fit_inner(batch, what, names, cats, nums)

    def update(self, batch: Any) -> None:
        """Adds the rows of ``batch`` (a table with this profile's columns) in place."""
        self._inner = self._inner.merge(self._fit_like(batch, "batch"))

    def merge(self, other: Profile) -> Profile:
        """A new profile of both tables (same columns in the same order)."""
        if not isinstance(other, Profile):
            raise InvalidTypeError(f"other: expected a Profile, got {type(other).__name__}")
        return Profile(self._inner.merge(other._inner))

    @property
    def columns(self) -> list[str]:
        """Column names, in table order."""
        return [c["name"] for c in self._inner.columns()]

    def describe(self) -> list[dict[str, Any]]:
        """Per column: name, dtype, kind, count (present values), missing, and ``min``,
        ``max``, ``mean``, ``std`` (from the grid), ``buckets`` for numbers or
        ``categories``, ``other``, ``level`` for categories."""
        return [dict(c) for c in self._inner.columns()]

    def category_counts(self, column: str) -> dict[str, int]:
        """The exact count of each category kept in ``column``."""
        return dict(self._inner.category_counts(str(column)))

    def to_bytes(self) -> bytes:
        """The file's content."""
        return bytes(self._inner.to_bytes())

    @classmethod
    def from_bytes(cls, data: bytes) -> Profile:
        """Reads what :meth:`to_bytes` wrote (see the class for what is refused)."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidTypeError(f"data: expected bytes, got {type(data).__name__}")
        return cls(_core.DriftProfile.from_bytes(bytes(data)))

    def save(self, path: PathLike) -> None:
        """Writes the profile file."""
        with open(os.fspath(path), "wb") as fh:
            fh.write(self.to_bytes())

    @classmethod
    def load(cls, path: PathLike) -> Profile:
        """Reads a profile file; the message of a refusal names the file."""
        p = os.fspath(path)
        if not os.path.exists(p):
            raise PathNotFoundError(2, "No such file or directory", p)
        with open(p, "rb") as fh:
            data = fh.read()
        try:
            return cls.from_bytes(data)
        except InvalidInputError as e:
            raise InvalidInputError(f"{p}: {e}") from None

    @staticmethod
    def is_file(path: Any) -> bool:
        """``path`` names a profile file (read from its first bytes; False for anything
        that is not a readable file)."""
        return is_profile_path(path)

    @property
    def fingerprint(self) -> str:
        """``sha256:`` of the file's bytes (what reports record for a profile input)."""
        return "sha256:" + hashlib.sha256(self.to_bytes()).hexdigest()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Profile) and self.to_bytes() == other.to_bytes()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        info = self._inner.columns()
        rows = max((c["count"] + c["missing"] for c in info), default=0)
        return f"<Profile: {len(info)} columns, {rows} rows>"


def is_profile_path(obj: Any) -> bool:
    """A path to a profile file (by its first bytes)."""
    if not isinstance(obj, (str, os.PathLike)):
        return False
    try:
        with open(os.fspath(obj), "rb") as fh:
            head = fh.read(40)
    except (OSError, TypeError, ValueError):
        return False
    return head.startswith(b'{"format":"mlsentry/profile"')


def is_profile_side(obj: Any) -> bool:
    """A :class:`Profile` or the path of a profile file."""
    return isinstance(obj, Profile) or is_profile_path(obj)


def _side_profile(obj: Any, like: Optional[list[dict[str, Any]]], what: str) -> Profile:
    """The profile of one side; ``like`` is the other side's ``describe()`` when that
    side is a profile."""
    if isinstance(obj, Profile):
        return obj
    if is_profile_path(obj):
        return Profile.load(obj)
    if like is None:
        return Profile(_fit_inner(obj, what, None, None))
    # The table's own columns; numbers that the profile counted as categories (named in
    # ``categorical`` when it was fitted) are counted so here too. Other differences of
    # kind are type changes.
    forced = {
        c["name"] for c in like if c["kind"] == "categorical" and c["dtype"] in NUMERIC_GROUPS
    }
    names = [n for n, _ in table_columns(obj, what)]
    return Profile(_fit_inner(obj, what, None, [n for n in names if n in forced]))


def compare_profiles(
    reference: Any,
    current: Any,
    *,
    tests: Union[str, dict[str, str]],
    alpha: float,
    correction: str,
    wanted: Optional[list[str]],
    excluded: set[str],
    forced: set[str],
    min_effect: Optional[float],
    bins: int,
    drift_share: Optional[float],
    limits: Mapping[str, float],
    config: dict[str, Any],
    progress: ProgressArg,
    decide: Callable[..., dict[str, ColumnDrift]],
    finish: Callable[..., DriftReport],
    fingerprint_side: Callable[[Any], tuple[Optional[str], Optional[str]]],
) -> DriftReport:
    """:func:`compare` when a side is a profile: the table side (if any) is profiled,
    then both profiles are compared column by column in the core. ``decide``,
    ``finish`` and ``fingerprint_side`` are the comparison's own steps (the correction
    and verdicts, the report, the input fingerprints), shared with tables."""

    ref_given = is_profile_side(reference)
    ref = _side_profile(reference, None, "reference") if ref_given else None
    ref_described = None if ref is None else ref.describe()
    cur = _side_profile(current, ref_described, "current")
    cur_described = cur.describe()
    if ref is None:
        ref = _side_profile(reference, cur_described, "reference")
        ref_described = ref.describe()
    ref_info = {c["name"]: c for c in ref_described or ()}
    cur_info = {c["name"]: c for c in cur_described}
    known = list(ref_info) + [n for n in cur_info if n not in ref_info]
    for arg, names in (
        ("columns", wanted or ()),
        ("exclude", excluded),
        ("categorical", forced),
        ("tests", tests if isinstance(tests, dict) else ()),
    ):
        unknown = [n for n in names if n not in known]
        if unknown:
            raise InvalidInputError(
                f"{arg}: no column named {', '.join(map(repr, unknown))} on either side"
            )
    names = [n for n in (wanted if wanted is not None else known) if n not in excluded]
    results: dict[str, ColumnDrift] = {}
    prepared: list[Any] = []
    for name in names:
        r, c = ref_info.get(name), cur_info.get(name)
        if c is None:
            results[name] = ColumnDrift(name, STATUS_ONLY_REF, dtype_reference=r and r["dtype"])
            continue
        if r is None:
            results[name] = ColumnDrift(name, STATUS_ONLY_CUR, dtype_current=c["dtype"])
            continue
        if r["kind"] != c["kind"]:
            results[name] = ColumnDrift(
                name,
                STATUS_TYPE,
                dtype_reference=r["dtype"],
                dtype_current=c["dtype"],
                note=f"{r['kind']} ({r['dtype']}) in reference, {c['kind']} ({c['dtype']}) "
                "in current",
            )
            continue
        kind = r["kind"]
        test = _resolve_test(name, kind, tests)
        if kind == "numeric" and test not in PROFILE_NUMERIC_TESTS:
            raise InvalidInputError(
                f"tests: {test!r} needs the values of column {name!r}; from a profile a "
                f"numeric column supports {', '.join(PROFILE_NUMERIC_TESTS)}"
            )
        prepared.append(
            SimpleNamespace(
                name=name,
                kind=kind,
                test=test,
                note="",
                labels=None,
                new_categories=0,
                group="number",
                ref=SimpleNamespace(dtype=r["dtype"]),
                cur=SimpleNamespace(dtype=c["dtype"]),
                original_edges=lambda edges: tuple(float(e) for e in edges),
            )
        )
    with progress_callback(progress, "drift", unit="col") as cb:
        outputs = ref._inner.compare(cur._inner, [(p.name, p.test, bins) for p in prepared], cb)
    intervals: dict[str, tuple[float, float]] = {}
    for p, o in zip(prepared, outputs):
        p.labels = list(o["labels"])
        p.new_categories = int(o["new_categories"])
        p.note = o["note"]
        details = (o["outcome"] or {}).get("details", {})
        if "pvalue_high" in details:
            # The family takes the conservative end: drift only when the whole interval
            # is below alpha.
            low, high = float(details["pvalue_low"]), float(details["pvalue_high"])
            intervals[p.name] = (low, high, float(o["outcome"]["pvalue"]))
            o["outcome"] = dict(o["outcome"], pvalue=high)
    decided = decide(prepared, outputs, alpha, correction, limits, min_effect)
    for p, o in zip(prepared, outputs):
        col = decided[p.name]
        if p.name in intervals:
            low, high, mid = intervals[p.name]
            d = o["outcome"]["details"]
            note = col.note
            if low < alpha <= high:
                note = join_notes(
                    note,
                    f"undecided by the grid: p in [{low:.3g}, {high:.3g}] around alpha "
                    f"(KS statistic {col.statistic:.4g} +/- {d['error_bound']:.2g})",
                )
            col = dataclasses.replace(
                col,
                pvalue=mid,
                pvalue_interval=(low, high),
                note=note,
            )
        results[p.name] = col
    inputs: dict[str, str] = {}
    skipped: dict[str, str] = {}
    if config.get("fingerprint", True):
        for side_name, obj, prof in (("reference", reference, ref), ("current", current, cur)):
            fp, why = (prof.fingerprint, None) if is_profile_side(obj) else fingerprint_side(obj)
            if fp is not None:
                inputs[side_name] = fp
            else:
                skipped[side_name] = why or "unknown"
    if skipped:
        config = dict(config, fingerprint_skipped=skipped)
    config = dict(config, high_cardinality=HIGH_CARDINALITY, profile=True)
    return finish([results[n] for n in names], drift_share, config, inputs)
