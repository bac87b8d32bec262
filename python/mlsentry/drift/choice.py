"""Both sides of one column, made ready for the core: numeric or categorical, the joint
category codes, rare categories pooled, and the test the column gets (the automatic
choice, or the one asked for)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any, Optional, Union

import numpy as np

from .. import _core
from .._tables import dict_column
from ..errors import InvalidInputError
from .tables import Side, _parsed, factorize_objects, side_any

#: Tests that need numbers, and tests that work on category counts (some work on both).
NUMERIC_TESTS = tuple(_core.DRIFT_NUMERIC_TESTS)
CATEGORICAL_TESTS = tuple(_core.DRIFT_CATEGORICAL_TESTS)
#: Above this many categories (over both sides), the automatic test pools the rare ones.
HIGH_CARDINALITY = 1000
#: Expected count below which a category is rare (the usual validity rule of chi-squared).
RARE_EXPECTED = 5.0
#: Label of the pooled rare categories.
POOLED_LABEL = "(rare categories, pooled)"
#: Label of the pooled rare categories that the reference never had.
POOLED_NEW_LABEL = "(rare categories new in current, pooled)"
#: Identifier or text columns need at least this many present values on each side.
MIN_IDENTIFIER_VALUES = 20
#: Median length (characters) from which distinct strings are free text, not codes.
TEXT_LENGTH = 40


# The groups whose mixing is a type change ("null" mixes with anything).
_GROUP_WORDS = {
    "number": "numbers",
    "bool": "booleans",
    "datetime": "datetimes",
    "timedelta": "durations",
    "time": "times of day",
    "text": "text",
    "null": "no values",
}


@dataclasses.dataclass
class Prepared:
    """A column ready for the core: kind, arrays, test, and what the report needs."""

    name: str
    kind: str
    reference: np.ndarray
    current: np.ndarray
    k: int
    test: str
    ref: Side
    cur: Side
    labels: Optional[list[str]] = None
    note: str = ""
    new_categories: int = 0
    group: str = "number"
    # Exact integers (see exact_pair): what was subtracted, or the sorted distinct
    # values whose positions were compared; the histogram's edges are mapped back.
    offset: int = 0
    rank_values: Optional[np.ndarray] = None
    # Categorical: rows of each code on each side, when already counted (else None).
    counts: Optional[tuple[np.ndarray, np.ndarray]] = None

    def original_edges(self, edges: Sequence[float]) -> tuple[float, ...]:
        """Histogram edges on the column's own scale."""
        e = np.asarray(edges, dtype=np.float64)
        if self.rank_values is not None:
            positions = np.arange(len(self.rank_values), dtype=np.float64)
            e = np.interp(e, positions, self.rank_values.astype(np.float64))
        return tuple(float(v) + self.offset for v in e)


def _null_values(side: Side, kind: str) -> np.ndarray:
    if kind == "numeric":
        return np.full(side.n, np.nan)
    return np.full(side.n, -1, dtype=np.int64)


def type_change(ref: Side, cur: Side) -> Optional[str]:
    if ref.group == cur.group or "null" in (ref.group, cur.group):
        return None
    return (
        f"{_GROUP_WORDS[ref.group]} ({ref.dtype}) in reference, "
        f"{_GROUP_WORDS[cur.group]} ({cur.dtype}) in current"
    )


def _few_distinct(sides: Sequence[Side], limit: int) -> bool:
    """At most ``limit`` distinct present values over the float sides (cheap sample
    first: most continuous columns stop there)."""
    for size in (4096, None):
        parts = [s.values[:size] for s in sides if s.values is not None]
        parts = [p[~np.isnan(p)] for p in parts]
        if np.unique(np.concatenate(parts)).size > limit:
            return False
    return True


def _label(value: Any, group: str, mixed: bool) -> str:
    if mixed:
        text = repr(value.item() if isinstance(value, np.generic) else value)
    elif group == "bool":
        text = str(bool(value))
    elif isinstance(value, bytes):
        text = repr(value)
    else:
        text = str(value)
    return text if len(text) <= 40 else text[:39] + "\u2026"


def _float_uniques(x: np.ndarray, group: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes of a float side and its values as Python objects (for a join by value)."""
    present = ~np.isnan(x)
    u, inv = np.unique(x[present], return_inverse=True)
    codes = np.full(len(x), -1, dtype=np.int64)
    codes[present] = inv.reshape(-1)
    if group == "bool":
        objs = np.array([bool(v) for v in u], dtype=object)
    elif group == "number":
        objs = np.array([int(v) if v.is_integer() else float(v) for v in u], dtype=object)
    elif group == "datetime":
        objs = u.astype(np.int64).view("M8[ns]").astype(object)
    elif group == "timedelta":
        objs = u.astype(np.int64).view("m8[ns]").astype(object)
    else:
        objs = u.astype(object)
    return codes, objs


def _remap(codes: np.ndarray, mapping: np.ndarray) -> np.ndarray:
    """``mapping[codes]`` with -1 kept, as int32 when the codes fit (half the memory of
    int64 on a million-row column; the core reads both). An identity mapping only
    narrows the type."""
    dtype = np.int32 if mapping.size < 2**31 - 1 else np.int64
    if mapping.size and np.array_equal(mapping, np.arange(mapping.size)):
        return codes.astype(dtype, copy=False)
    return np.append(mapping, -1).astype(dtype)[codes]


def _categorical(ref: Side, cur: Side) -> tuple[np.ndarray, np.ndarray, list[str], bool]:
    """Joint codes of both sides and a label per code."""
    group = cur.group if ref.group == "null" else ref.group
    if ref.codes is None and cur.codes is None:
        # Numbers, booleans, datetimes: joint sorted values, then a binary search.
        parts = [s.values[~np.isnan(s.values)] for s in (ref, cur) if s.values is not None]
        u = np.unique(np.concatenate(parts)) if parts else np.empty(0)
        out = []
        for s in (ref, cur):
            if s.values is None:
                out.append(np.full(s.n, -1, dtype=np.int64))
                continue
            codes = np.searchsorted(u, s.values).astype(np.int64)
            codes[np.isnan(s.values)] = -1
            out.append(codes)
        _, objs = _float_uniques(u, group)
        return out[0], out[1], [_label(v, group, False) for v in objs], False
    sides = []
    for s in (ref, cur):
        if s.codes is not None:
            sides.append((s.codes, s.uniques))
        elif s.values is not None:
            sides.append(_float_uniques(s.values, s.group))
        else:
            sides.append((np.full(s.n, -1, dtype=np.int64), np.empty(0, dtype=object)))
    (rc, ru), (cc, cu) = sides
    pooled = np.concatenate([ru, cu])
    mixed = ref.mixed or cur.mixed
    if pooled.size:
        joint, uniques, mixed_u = factorize_objects(pooled, "categories")
        mixed = mixed or mixed_u
    else:
        joint, uniques = np.empty(0, dtype=np.int64), pooled
    rc = _remap(rc, joint[: len(ru)])
    cc = _remap(cc, joint[len(ru) :])
    return rc, cc, [_label(v, group, mixed) for v in uniques], mixed


def factorize_pair(reference: Any, current: Any) -> tuple[np.ndarray, np.ndarray, int]:
    """Joint category codes of two 1-D samples, by the rules of :func:`compare`.

    Parameters
    ----------
    reference, current : 1-D sample
        A list, numpy array, pandas or polars Series or pyarrow array (the sides may
        differ in type). Strings, booleans, numbers, categoricals and object columns are
        coded as ``compare`` codes its categorical columns: jointly, numbers by value,
        booleans apart from numbers, strings apart from numbers.

    Returns
    -------
    tuple
        ``(codes_reference, codes_current, k)``: int32 codes (int64 beyond 2**31
        categories) in ``0..k``, ``-1`` for a missing value (None, NaN, ``pd.NA``, NaT).

    Examples
    --------
    >>> from mlsentry.drift.choice import factorize_pair
    >>> r, c, k = factorize_pair(["a", "b", None], ["b", "c"])
    >>> r.tolist(), c.tolist(), k
    ([0, 1, -1], [1, 2], 3)
    """
    ref = side_any(dict_column(reference, "reference"), "reference")
    cur = side_any(dict_column(current, "current"), "current")
    rc, cc, labels, _ = _categorical(ref, cur)
    return rc, cc, len(labels)


def _pool_rare(p: Prepared) -> None:
    """High cardinality under ``auto``: categories whose expected count on the smaller
    side is below 5 are merged before chi-squared, those the reference has into one bin and
    those new in current into another, so that novelty is not pooled away."""
    k = p.k
    cr, cc = code_counts(p)
    nr, nc = int(cr.sum()), int(cc.sum())
    if nr == 0 or nc == 0:
        return
    expected = (cr + cc) * (min(nr, nc) / (nr + nc))
    rare = expected < RARE_EXPECTED
    if not rare.any():
        return
    keep = ~rare
    new = rare & (cr == 0)
    old = rare & ~new
    m = int(keep.sum())
    pooled = [(old, POOLED_LABEL), (new, POOLED_NEW_LABEL)]
    pooled = [(mask, label) for mask, label in pooled if mask.any()]
    lut = np.cumsum(keep) - 1
    for slot, (mask, _) in enumerate(pooled):
        lut = np.where(mask, m + slot, lut)
    p.reference = _remap(p.reference, lut)
    p.current = _remap(p.current, lut)
    p.counts = None
    if p.labels is not None:
        p.labels = [lab for lab, kp in zip(p.labels, keep) if kp] + [lab for _, lab in pooled]
    p.k = m + len(pooled)
    p.note = join_notes(
        p.note,
        (
            f"{k} categories (more than {HIGH_CARDINALITY})"
            if k > HIGH_CARDINALITY
            else f"{k} categories, most of them rare"
        )
        + f": the {int(rare.sum())} rare ones (expected count below {RARE_EXPECTED:g}) pooled "
        f"before chi2, {int(old.sum())} seen in the reference apart from {int(new.sum())} "
        "new ones",
    )


def column_role(ref: Side, cur: Side) -> Optional[tuple[str, str]]:
    """``("identifier" | "text", why)`` for a column whose values are all distinct on each
    side, or ``None`` for a column to compare (see :func:`~mlsentry.drift.compare`)."""
    if ref.group != cur.group or ref.group not in ("text", "number"):
        return None
    if ref.group == "number":
        if not (ref.integer and cur.integer) or ref.values is None or cur.values is None:
            return None
        for side in (ref, cur):
            x = side.values[~np.isnan(side.values)]
            if x.size < MIN_IDENTIFIER_VALUES:
                return None
            steps = np.diff(x)
            if not (np.all(steps > 0) or np.all(steps < 0)):
                return None
        return "identifier", "integers distinct and strictly monotone on each side (an id)"
    lengths = []
    for side in (ref, cur):
        if side.codes is None or side.uniques is None or side.categorical_dtype:
            return None
        present = int((side.codes >= 0).sum())
        if present < MIN_IDENTIFIER_VALUES or present != len(side.uniques):
            return None
        sample = side.uniques[:1000]
        if not all(isinstance(u, str) for u in sample[:100]):
            return None  # periods, intervals, bytes, mixed objects: values, not keys
        lengths.append(np.char.str_len(sample.astype(str)))
    median = float(np.median(np.concatenate(lengths)))
    if median >= TEXT_LENGTH:
        return "text", f"distinct strings on each side, {median:.0f} characters at the median"
    return "identifier", "values distinct on each side (an id or key)"


def join_notes(*notes: str) -> str:
    return "; ".join(n for n in notes if n)


def _resolve_test(name: str, kind: str, tests: Union[str, dict[str, str]]) -> str:
    allowed = NUMERIC_TESTS if kind == "numeric" else CATEGORICAL_TESTS
    if isinstance(tests, str):
        return tests if tests in allowed else "auto"
    test = tests.get(name, "auto")
    if test not in allowed:
        raise InvalidInputError(
            f"tests: column {name!r} is {kind}; {test!r} does not apply to it. "
            f"Allowed tests: {', '.join(allowed)}"
        )
    return test


def exact_pair(ref: Side, cur: Side) -> tuple[int, Optional[np.ndarray], str]:
    """Integers that float64 would round (past 2**53: nanosecond timestamps, 64-bit ids)
    made exact for the tests, in place: the joint minimum is subtracted in integer
    arithmetic, exact whenever the column's range is below 2**53 (104 days of
    nanoseconds). A wider range stays in float64 when that keeps every distinct value
    apart (dates a second or a day apart); otherwise each value is replaced by its
    position among the joint distinct values, which keeps every order and tie, all the
    rank and ECDF tests see.
    Returns ``(offset, rank_values, note)``."""
    sides = [s for s in (ref, cur) if s.values is not None]
    if not any(s.exact is not None for s in sides):
        return 0, None, ""
    ints, masks = [], []
    for s in sides:
        present = ~np.isnan(s.values)
        masks.append(present)
        if s.exact is not None:
            ints.append(s.exact[present])
        else:
            ints.append(s.values[present].astype(np.int64))
    if any(a.dtype.kind == "u" for a in ints) and any(
        a.dtype.kind == "i" and a.size and a.min() < 0 for a in ints
    ):
        return 0, None, ""  # negative and past 2**63: no common integer type; floats
    kind = np.uint64 if any(a.dtype.kind == "u" for a in ints) else np.int64
    ints = [a.astype(kind) for a in ints]
    present_all = [a for a in ints if a.size]
    if not present_all:
        return 0, None, ""
    lo = min(int(a.min()) for a in present_all)
    hi = max(int(a.max()) for a in present_all)
    if hi - lo < 2**53:
        for s, a, present in zip(sides, ints, masks):
            values = np.full(s.n, np.nan)
            values[present] = (a - kind(lo)).astype(np.float64)
            s.values = values
        return lo, None, ""
    uniques, positions = np.unique(np.concatenate(ints), return_inverse=True)
    if np.unique(uniques.astype(np.float64)).size == uniques.size:
        return 0, None, ""  # float64 keeps every value apart (dates a day apart): as is
    start = 0
    for s, a, present in zip(sides, ints, masks):
        values = np.full(s.n, np.nan)
        values[present] = positions[start : start + a.size].astype(np.float64)
        start += a.size
        s.values = values
    note = (
        "integers more than 2**53 apart: the tests compared their order exactly (positions "
        "among the distinct values); the effect is in those positions"
    )
    return 0, uniques, note


def prepare(
    name: str,
    ref: Side,
    cur: Side,
    *,
    forced_categorical: bool,
    max_categories: int,
    tests: Union[str, dict[str, str]],
) -> Prepared:
    groups = {ref.group, cur.group} - {"null"}
    group = next(iter(groups), "null")
    offset, rank_values, exact_note = 0, None, ""
    if ref.group == cur.group and ref.group in ("number", "datetime", "timedelta"):
        offset, rank_values, exact_note = exact_pair(ref, cur)
    categorical = (
        forced_categorical
        or ref.categorical_dtype
        or cur.categorical_dtype
        or group in ("text", "bool", "null")
        or (
            group == "number"
            and all(s.is_whole() for s in (ref, cur) if s.group != "null")
            and _few_distinct([ref, cur], max_categories)
        )
    )
    kind = "categorical" if categorical else "numeric"
    test = _resolve_test(name, kind, tests)
    if kind == "numeric":
        r = ref.values if ref.values is not None else _null_values(ref, kind)
        c = cur.values if cur.values is not None else _null_values(cur, kind)
        p = Prepared(name, kind, r, c, 0, test, ref, cur, group=group, note=exact_note)
        p.offset, p.rank_values = offset, rank_values
        return p
    rc, cc, labels, _ = _categorical(ref, cur)
    if group == "number" and (offset or rank_values is not None):
        # The labels were made from the shifted integers: the column's own values.
        if rank_values is not None:
            labels = [str(int(rank_values[int(lab)])) for lab in labels]
        else:
            labels = [str(int(lab) + offset) for lab in labels]
    for side in (ref, cur):  # the joint codes replace them: free their memory now
        side.codes = side.values = side.uniques = None
    p = Prepared(name, kind, rc, cc, len(labels), test, ref, cur, labels=labels, group=group)
    _count_new_categories(p)
    if test == "auto" and (p.k > HIGH_CARDINALITY or _mostly_rare(p)):
        _pool_rare(p)
    return p


def _mostly_rare(p: Prepared) -> bool:
    """Cochran's rule broken: more than a fifth of the 2 x k cells expect fewer than 5
    values, where chi-squared's p-value is not to be trusted (a column of mostly unique
    values, say, new ones all in current)."""
    if p.k < 3:
        return False
    cr, cc = code_counts(p)
    nr, nc = int(cr.sum()), int(cc.sum())
    if nr == 0 or nc == 0:
        return False
    total = (cr + cc).astype(np.float64)
    low = (total * nr / (nr + nc) < RARE_EXPECTED).sum() + (
        total * nc / (nr + nc) < RARE_EXPECTED
    ).sum()
    return bool(low > 0.2 * 2 * p.k)


def code_counts(p: Prepared) -> tuple[np.ndarray, np.ndarray]:
    """Rows of each code on each side of a categorical column (counted once, kept)."""
    if p.counts is None:
        p.counts = (
            np.bincount(p.reference[p.reference >= 0], minlength=p.k),
            np.bincount(p.current[p.current >= 0], minlength=p.k),
        )
    return p.counts


def _count_new_categories(p: Prepared) -> None:
    """Categories of the current side that the reference never had, and their share."""
    if not p.k:
        return
    cr, cc = code_counts(p)
    n_cur = int(cc.sum())
    if not n_cur:
        return
    new = (cr == 0) & (cc > 0)
    n_new = int(new.sum())
    if n_new:
        share = int(cc[new].sum()) / n_cur
        p.new_categories = n_new
        p.note = join_notes(
            p.note,
            f"{n_new} categor{'y' if n_new == 1 else 'ies'} never seen in the reference "
            f"({share:.1%} of current values)",
        )


def prepare_text(
    name: str,
    joint: tuple[Any, ...],
    dtypes: tuple[str, str],
    *,
    forced_categorical: bool,
    asked: bool,
    tests: Union[str, dict[str, str]],
) -> Optional[Prepared]:
    """A text column whose sides the core coded jointly (``_core.drift_factorize_text``:
    codes in order of first appearance, reference rows first, as pandas codes each side
    and then their union), prepared as :func:`prepare` prepares it from the sides.
    ``None`` when the column needs the general path: a side without values, values that
    all read as numbers or dates, or values distinct on each side (an identifier)."""
    rc, cc, values, counts_r, counts_c = joint
    nr, nc = int(counts_r.sum()), int(counts_c.sum())
    if nr == 0 or nc == 0:
        return None
    uniques = np.asarray(values, dtype=object)
    if not forced_categorical and (
        _parsed(uniques, "f8") is not None or _parsed(uniques, "M8[ns]") is not None
    ):
        return None
    distinct = nr == int((counts_r > 0).sum()) and nc == int((counts_c > 0).sum())
    if not asked and min(nr, nc) >= MIN_IDENTIFIER_VALUES and distinct:
        return None
    test = _resolve_test(name, "categorical", tests)
    ref = Side(len(rc), "text", dtypes[0])
    cur = Side(len(cc), "text", dtypes[1])
    labels = [_label(v, "text", False) for v in values]
    p = Prepared(name, "categorical", rc, cc, len(labels), test, ref, cur, labels=labels)
    p.group = "text"
    p.counts = (counts_r, counts_c)
    _count_new_categories(p)
    if test == "auto" and (p.k > HIGH_CARDINALITY or _mostly_rare(p)):
        _pool_rare(p)
    return p
