"""Per-column drift between two tables: :func:`compare` and its :class:`DriftReport`.

Python only normalises the inputs here, column by column and without a loop over rows:
numeric columns become ``float64`` arrays (NaN = missing) and categorical columns integer
codes factorised jointly over both sides (``-1`` = missing). One call into the Rust core
then tests every column in parallel without the GIL; the multiple-testing correction and
the dataset decision are made here on the few numbers per column it returns.
"""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Optional, Union

import numpy as np

from . import _core
from ._args import check_int
from ._audit import record_check
from ._drift_result import (
    DEFAULT_THRESHOLDS,
    DISTANCES,
    NORMALISED,
    check_alpha,
    check_threshold,
    distance_drift,
    psi_band,
)
from ._progress import ProgressArg, progress_callback
from .errors import InvalidInputError, InvalidTypeError
from .report import Report, fmt_number, fmt_pvalue, fmt_share, html_table

__all__ = ["ColumnDrift", "DriftReport", "adjust_pvalues", "compare", "factorize_pair"]

#: Multiple-testing corrections accepted by :func:`compare`.
CORRECTIONS = ("none", "bonferroni", "holm", "bh", "by")
#: Tests that need numbers, and tests that work on category counts (some work on both).
NUMERIC_TESTS = tuple(_core.DRIFT_NUMERIC_TESTS)
CATEGORICAL_TESTS = tuple(_core.DRIFT_CATEGORICAL_TESTS)
#: Above this many categories (over both sides), the automatic test pools the rare ones.
HIGH_CARDINALITY = 1000
#: Expected count below which a category is rare (the usual validity rule of chi-squared).
RARE_EXPECTED = 5.0
#: Label of the pooled rare categories.
POOLED_LABEL = "(rare categories, pooled)"

_STATUS_ONLY_REF = "only in reference"
_STATUS_ONLY_CUR = "only in current"
_STATUS_TYPE = "type changed"
_STATUS_UNTESTED = "not tested"
_STATUS_EMPTY = "empty"
_STATUS_DRIFT = "drift"
_STATUS_MISSING_DRIFT = "missing-rate drift"
_STATUS_OK = "no drift"
_SCHEMA_STATUSES = (_STATUS_ONLY_REF, _STATUS_ONLY_CUR, _STATUS_TYPE)

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


# -- argument checks -------------------------------------------------------------------
def _check_names(value: Any, name: str) -> Optional[list[str]]:
    if value is None:
        return None
    if isinstance(value, str):
        return [value]
    try:
        names = list(value)
    except TypeError:
        raise InvalidTypeError(
            f"{name}: expected a list of column names, got {type(value).__name__}"
        ) from None
    return [str(n) for n in names]


def _check_tests(tests: Any) -> Union[str, dict[str, str]]:
    allowed = ", ".join(_core.DRIFT_TEST_NAMES)
    if isinstance(tests, str):
        if tests not in _core.DRIFT_TEST_NAMES:
            raise InvalidInputError(f"tests: unknown test {tests!r}; expected one of {allowed}")
        return tests
    if isinstance(tests, Mapping):
        out: dict[str, str] = {}
        for col, name in tests.items():
            if not isinstance(name, str) or name not in _core.DRIFT_TEST_NAMES:
                raise InvalidInputError(
                    f"tests: unknown test {name!r} for column {str(col)!r}; "
                    f"expected one of {allowed}"
                )
            out[str(col)] = name
        return out
    raise InvalidTypeError(
        'tests: expected "auto", a test name or a dict {column: test name}, '
        f"got {type(tests).__name__}"
    )


def _check_thresholds(thresholds: Any) -> dict[str, float]:
    merged = dict(DEFAULT_THRESHOLDS)
    if thresholds is None:
        return merged
    if not isinstance(thresholds, Mapping):
        raise InvalidTypeError(
            f"thresholds: expected a dict {{distance: value}}, got {type(thresholds).__name__}"
        )
    for name, value in thresholds.items():
        if name not in DISTANCES:
            raise InvalidInputError(
                f"thresholds: {name!r} is not a distance; expected some of "
                + ", ".join(sorted(DISTANCES))
            )
        value = check_threshold(name, value, f"thresholds[{name!r}]")
        merged[name] = value
    return merged


def _check_share(drift_share: Any) -> Optional[float]:
    if drift_share is None:
        return None
    if isinstance(drift_share, bool) or not isinstance(drift_share, (int, float, np.number)):
        raise InvalidTypeError(
            f"drift_share: expected None or a number in (0, 1], got {type(drift_share).__name__}"
        )
    if not 0.0 < float(drift_share) <= 1.0:
        raise InvalidInputError(f"drift_share: expected a number in (0, 1], got {drift_share!r}")
    return float(drift_share)


# -- multiple testing ------------------------------------------------------------------
def adjust_pvalues(pvalues: Any, method: str = "bh") -> np.ndarray:
    """p-values adjusted for multiple testing (vectorised, in the input order).

    Parameters
    ----------
    pvalues : array_like of float
        The raw p-values of the family.
    method : {"none", "bonferroni", "holm", "bh", "by"}
        ``bonferroni``: ``min(1, m p)``; ``holm``: Holm's step-down,
        ``max_{j <= i} min(1, (m - j + 1) p_(j))``; ``bh``: Benjamini-Hochberg,
        ``min_{j >= i} min(1, m p_(j) / j)``; ``by``: Benjamini-Yekutieli, BH times
        ``sum_{i <= m} 1/i``. ``bh`` and ``by`` equal
        ``scipy.stats.false_discovery_control``.

    Returns
    -------
    numpy.ndarray
        The adjusted p-values; a hypothesis is rejected at level ``alpha`` when its
        adjusted p-value is below ``alpha``.

    Examples
    --------
    >>> from mlsentry._drift_compare import adjust_pvalues
    >>> adjust_pvalues([0.01, 0.04, 0.03], "holm").round(3).tolist()
    [0.03, 0.06, 0.06]
    >>> adjust_pvalues([0.01, 0.04, 0.03], "bh").round(3).tolist()
    [0.03, 0.04, 0.04]
    """
    if method not in CORRECTIONS:
        raise InvalidInputError(
            f"correction: expected one of {', '.join(CORRECTIONS)}, got {method!r}"
        )
    p = np.asarray(pvalues, dtype=np.float64).reshape(-1)
    m = p.size
    if m == 0 or method == "none":
        return p.copy()
    if method == "bonferroni":
        return np.minimum(p * m, 1.0)
    order = np.argsort(p, kind="stable")
    ranked = p[order]
    if method == "holm":
        adj = np.maximum.accumulate(ranked * (m - np.arange(m)))
    else:
        adj = ranked * m / np.arange(1, m + 1)
        if method == "by":
            adj = adj * np.sum(1.0 / np.arange(1, m + 1))
        adj = np.minimum.accumulate(adj[::-1])[::-1]
    out = np.empty(m)
    out[order] = np.minimum(adj, 1.0)
    return out


# -- tables into columns ---------------------------------------------------------------
def _module(obj: Any) -> str:
    return type(obj).__module__.split(".", 1)[0]


def _list_column(values: Any) -> np.ndarray:
    """A list as a 1-D array, never turning numbers into strings (``[1, "a"]``) nor
    booleans into numbers (``[True, 2]``): such lists stay object arrays."""
    arr = np.asarray(values)
    if arr.dtype.kind in "iufUSO":
        objects = np.empty(len(values), dtype=object)
        objects[:] = list(values)
        if arr.dtype.kind in "USO":
            return objects
        is_bool = np.isin(np.frompyfunc(type, 1, 1)(objects), [bool, np.bool_])
        if is_bool.any():
            return objects
    return arr


def _list_array(values: Sequence[Any]) -> np.ndarray:
    """A list of values (one column) or of rows (a 2-D table) as an array."""
    if len(values) and isinstance(values[0], (list, tuple)):
        return np.asarray(values)
    return _list_column(values)


def _table_columns(obj: Any, what: str) -> list[tuple[str, Any]]:
    """The ``(name, column)`` pairs of one side; a column is a pandas Series, a pyarrow
    ChunkedArray or a 1-D numpy array."""
    mod = _module(obj)
    if mod == "pandas":
        import pandas as pd

        if isinstance(obj, pd.DataFrame):
            return [(str(c), obj.iloc[:, i]) for i, c in enumerate(obj.columns)]
        if isinstance(obj, pd.Series):
            return [("0" if obj.name is None else str(obj.name), obj)]
    if mod == "pyarrow":
        import pyarrow as pa

        if isinstance(obj, (pa.Table, pa.RecordBatch)):
            return [(str(n), _chunked(obj.column(i))) for i, n in enumerate(obj.column_names)]
        if isinstance(obj, (pa.Array, pa.ChunkedArray)):
            return [("0", _chunked(obj))]
    if mod == "polars":
        import polars as pl

        if isinstance(obj, pl.DataFrame):
            return _table_columns(obj.to_arrow(), what)
        if isinstance(obj, pl.Series):
            return [(obj.name or "0", _chunked(obj.to_arrow()))]
    if isinstance(obj, Mapping):
        return [(str(k), _dict_column(v, f"{what}[{k!r}]")) for k, v in obj.items()]
    if isinstance(obj, (list, tuple)):
        obj = _list_array(obj)
    if isinstance(obj, np.ndarray):
        if obj.dtype.names is not None and obj.ndim == 1:
            return [(str(f), obj[f]) for f in obj.dtype.names]
        if obj.ndim == 1:
            return [("0", obj)]
        if obj.ndim == 2:
            return [(str(j), obj[:, j]) for j in range(obj.shape[1])]
        raise InvalidInputError(
            f"{what}: expected a 1-D or 2-D array (rows x columns), got shape {obj.shape}"
        )
    raise InvalidTypeError(
        f"{what}: expected a pandas or polars DataFrame, a pyarrow Table, a numpy array, "
        f"a dict of columns or a list, got {type(obj).__name__}"
    )


def _chunked(col: Any) -> Any:
    import pyarrow as pa

    return col if isinstance(col, pa.ChunkedArray) else pa.chunked_array([col])


def _dict_column(v: Any, what: str) -> Any:
    mod = _module(v)
    if mod == "pandas":
        import pandas as pd

        if isinstance(v, pd.Series):
            return v
        if isinstance(v, pd.Index):
            return pd.Series(v)
    if mod == "pyarrow":
        return _chunked(v)
    if mod == "polars":
        return _chunked(v.to_arrow())
    arr = _list_column(v) if isinstance(v, (list, tuple)) else np.asarray(v)
    if arr.ndim != 1:
        raise InvalidInputError(f"{what}: expected a 1-D column, got shape {arr.shape}")
    return arr


# -- one side of one column ------------------------------------------------------------
@dataclasses.dataclass
class _Side:
    """One side of a column, normalised: numbers as float64 or categories as codes."""

    n: int
    group: str  # "number", "bool", "datetime", "timedelta", "time", "text" or "null"
    dtype: str
    values: Optional[np.ndarray] = None  # float64, NaN = missing
    codes: Optional[np.ndarray] = None  # int64 in 0..len(uniques), -1 = missing
    uniques: Optional[np.ndarray] = None  # object array: the value of each code
    categorical_dtype: bool = False  # pandas category / arrow dictionary
    integer: bool = False  # an integer dtype
    mixed: bool = False  # an object column holding several kinds of values

    def is_whole(self) -> bool:
        """All present values are whole numbers (an integer dtype, or floats like 3.0)."""
        if self.integer:
            return True
        if self.values is None or self.group != "number":
            return False
        x = self.values
        for part in (x[:1024], x):
            whole = np.isnan(part) | (np.isfinite(part) & (part == np.floor(part)))
            if not whole.all():
                return False
        return True


def _float_side(values: np.ndarray, group: str, dtype: str, integer: bool = False) -> _Side:
    values = np.asarray(values, dtype=np.float64)
    return _Side(len(values), group, dtype, values=values, integer=integer)


def _ns(values: np.ndarray) -> np.ndarray:
    """datetime64/timedelta64 as float nanoseconds; NaT becomes NaN."""
    unit = "M8[ns]" if values.dtype.kind == "M" else "m8[ns]"
    ints = values.astype(unit).view(np.int64)
    out = ints.astype(np.float64)
    out[np.isnat(values)] = np.nan
    return out


def _side_numpy(arr: np.ndarray, what: str) -> _Side:
    kind = arr.dtype.kind
    dtype = str(arr.dtype)
    if kind == "f":
        return _float_side(arr, "number", dtype)
    if kind in "iu":
        return _float_side(arr, "number", dtype, integer=True)
    if kind == "b":
        return _float_side(arr, "bool", dtype)
    if kind == "M":
        return _float_side(_ns(arr), "datetime", dtype)
    if kind == "m":
        return _float_side(_ns(arr), "timedelta", dtype)
    if kind in "US":
        codes, uniques = _factorize_plain(arr)
        return _Side(len(arr), "text", dtype, codes=codes, uniques=uniques)
    if kind == "O":
        return _side_objects(arr, what)
    raise InvalidTypeError(f"{what}: numpy dtype {arr.dtype} is not supported")


def _factorize_plain(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of a numpy string/bytes array (no missing values)."""
    try:
        import pandas as pd
    except ImportError:
        uniques, codes = np.unique(arr, return_inverse=True)
        return codes.astype(np.int64).reshape(-1), uniques.astype(object)
    codes, uniques = pd.factorize(arr)
    return codes.astype(np.int64, copy=False), np.asarray(uniques, dtype=object)


def _need_pandas(what: str) -> Any:
    try:
        import pandas as pd
    except ImportError:
        raise InvalidTypeError(
            f"{what}: an object column needs pandas to be compared; "
            "pip install 'mlsentry[pandas]' or pass numbers or numpy strings"
        ) from None
    return pd


def _objects_to_float(arr: np.ndarray) -> np.ndarray:
    import pandas as pd

    out = np.full(len(arr), np.nan)
    present = ~pd.isna(arr)
    out[present] = arr[present].astype(np.float64)
    return out


def _side_objects(arr: np.ndarray, what: str) -> _Side:
    """An object column: its kind is that of its values (``pandas.api.types.infer_dtype``)."""
    pd = _need_pandas(what)
    inferred = pd.api.types.infer_dtype(arr, skipna=True)
    n = len(arr)
    try:
        if inferred == "empty":
            return _Side(n, "null", "object")
        if inferred == "boolean":
            return _float_side(_objects_to_float(arr), "bool", "object (bool)")
        if inferred == "integer":
            return _float_side(_objects_to_float(arr), "number", "object (int)", integer=True)
        if inferred in ("floating", "mixed-integer-float", "decimal"):
            return _float_side(_objects_to_float(arr), "number", f"object ({inferred})")
        if inferred in ("datetime64", "datetime", "date"):
            values = pd.to_datetime(pd.Series(arr), utc=True).dt.tz_localize(None).to_numpy()
            return _float_side(_ns(values), "datetime", f"object ({inferred})")
        if inferred in ("timedelta64", "timedelta"):
            values = pd.to_timedelta(pd.Series(arr)).to_numpy()
            return _float_side(_ns(values), "timedelta", f"object ({inferred})")
    except (TypeError, ValueError, OverflowError):
        pass  # values that do not convert: compared as categories below
    codes, uniques, mixed = _factorize_objects(arr, what, inferred)
    dtype = "object" if inferred in ("string", "bytes") else f"object ({inferred})"
    return _Side(n, "text", dtype, codes=codes, uniques=uniques, mixed=mixed)


def _factorize_objects(
    arr: np.ndarray, what: str, inferred: Optional[str] = None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Codes of an object array where equal values of different kinds stay apart.

    ``pandas.factorize`` merges values that Python finds equal, and Python finds
    ``True == 1 == 1.0``. Numbers are meant to merge by value (``1``, ``1.0`` and
    ``numpy.int64(1)`` are one category), booleans are not numbers, so codes are
    refactorised on (code, is-bool) when both kinds occur. Strings and bytes never equal
    numbers in Python, so ``"1"`` and ``1`` are apart already. Missing values (None, NaN,
    ``pd.NA``, ``NaT``) get code -1. Returns the codes, the value of each code and
    whether the values were of several kinds. Without pandas (numpy is the only runtime
    dependency), values of one kind are coded with numpy (see ``_factorize_one_kind``).
    """
    try:
        import pandas as pd
    except ImportError:
        return _factorize_one_kind(arr, what)

    if inferred is None:
        inferred = pd.api.types.infer_dtype(arr, skipna=True)
    try:
        codes, uniques = pd.factorize(arr)
    except TypeError as e:
        raise InvalidTypeError(
            f"{what}: values must be hashable (str, bytes, numbers, bool), got {e}"
        ) from None
    codes = codes.astype(np.int64, copy=False)
    uniques = np.asarray(uniques, dtype=object)
    mixed = inferred.startswith("mixed")
    if mixed:
        types = np.frompyfunc(type, 1, 1)(arr)
        is_bool = np.isin(types, [bool, np.bool_])
        if is_bool.any() and not is_bool[codes >= 0].all():
            key = np.where(codes < 0, -1, codes * 2 + is_bool)
            codes, _ = pd.factorize(key, use_na_sentinel=False)
            codes = codes.astype(np.int64, copy=False)
            missing_code = codes[key < 0][:1]
            if missing_code.size:  # -1 is a value for factorize here: put it back
                m = int(missing_code[0])
                codes = np.where(codes == m, -1, codes - (codes > m))
            first = np.full(int(codes.max()) + 1, len(arr), dtype=np.int64)
            np.minimum.at(first, codes[codes >= 0], np.flatnonzero(codes >= 0))
            uniques = arr[first]
    return codes, uniques, mixed


def _factorize_one_kind(arr: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Codes of an object array with numpy alone: None and NaN are missing, and the other
    values must be of one kind (all strings, all bytes, all booleans or all numbers),
    which numpy can sort; mixing kinds needs pandas. Used on the distinct values of the
    two sides (object columns themselves need pandas), so its per-value steps are few."""
    is_missing = np.frompyfunc(lambda v: v is None or (isinstance(v, float) and v != v), 1, 1)
    missing = is_missing(arr).astype(bool)
    present = arr[~missing]
    kinds = set(np.frompyfunc(_kind, 1, 1)(present).tolist())
    if len(kinds) > 1:
        raise InvalidTypeError(
            f"{what}: values of several kinds ({', '.join(sorted(kinds))}) need pandas to be "
            "compared; pip install 'mlsentry[pandas]'"
        )
    codes = np.full(len(arr), -1, dtype=np.int64)
    if not present.size:
        return codes, np.empty(0, dtype=object), False
    uniques, inverse = np.unique(present, return_inverse=True)
    codes[~missing] = inverse.reshape(-1)
    return codes, uniques.astype(object), False


def _kind(value: Any) -> str:
    if isinstance(value, (bool, np.bool_)):
        return "booleans"
    if isinstance(value, (int, float, np.number)):
        return "numbers"
    return type(value).__name__


def _side_pandas(s: Any, what: str) -> _Side:
    import pandas as pd

    dtype = s.dtype
    name = str(dtype)
    if isinstance(dtype, pd.CategoricalDtype):
        categories = np.asarray(dtype.categories, dtype=object)
        group = _group_of_values(dtype.categories, what)
        codes = s.cat.codes.to_numpy().astype(np.int64)
        return _Side(len(s), group, name, codes=codes, uniques=categories, categorical_dtype=True)
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        return _side_arrow(_chunked(pa.array(s.array)), what, name)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _float_side(_ns(s.dt.tz_convert(None).to_numpy()), "datetime", name)
    if isinstance(dtype, np.dtype):
        return dataclasses.replace(_side_numpy(s.to_numpy(), what), dtype=name)
    if isinstance(dtype, pd.StringDtype):
        codes, uniques = pd.factorize(s)
        return _Side(
            len(s),
            "text",
            name,
            codes=codes.astype(np.int64, copy=False),
            uniques=np.asarray(uniques, dtype=object),
        )
    if isinstance(dtype, pd.BooleanDtype):
        return _float_side(s.to_numpy(dtype=np.float64, na_value=np.nan), "bool", name)
    if pd.api.types.is_integer_dtype(dtype):
        values = s.to_numpy(dtype=np.float64, na_value=np.nan)
        return _float_side(values, "number", name, integer=True)
    if pd.api.types.is_float_dtype(dtype):
        return _float_side(s.to_numpy(dtype=np.float64, na_value=np.nan), "number", name)
    if isinstance(dtype, pd.SparseDtype):
        return dataclasses.replace(_side_pandas(s.sparse.to_dense(), what), dtype=name)
    # Periods, intervals and other extension types: their values, as categories.
    return dataclasses.replace(_side_objects(s.astype(object).to_numpy(), what), dtype=name)


def _group_of_values(values: Any, what: str) -> str:
    """The group of the categories of a pandas categorical or an arrow dictionary."""
    side = _side_any(values if isinstance(values, np.ndarray) else _plain(values), what)
    return "text" if side.group == "null" else side.group


def _plain(values: Any) -> Any:
    import pandas as pd

    if isinstance(values, pd.Index):
        return pd.Series(values)
    return values


def _arrow_float(col: Any) -> np.ndarray:
    import pyarrow as pa
    import pyarrow.compute as pc

    return np.asarray(pc.cast(col, pa.float64(), safe=False).to_numpy(), dtype=np.float64)


def _side_arrow(col: Any, what: str, name: Optional[str] = None) -> _Side:
    import pyarrow as pa
    import pyarrow.compute as pc

    t = col.type
    name = name or str(t)
    n = len(col)
    if pa.types.is_dictionary(t):
        return _arrow_codes(col.unify_dictionaries(), what, name, categorical_dtype=True)
    if pa.types.is_string_view(t) or pa.types.is_binary_view(t):
        target = pa.large_string() if pa.types.is_string_view(t) else pa.large_binary()
        col = pc.cast(col, target)
        t = col.type
    if _arrow_is_text(t):
        encoded = pc.dictionary_encode(col)
        encoded = _chunked(encoded).unify_dictionaries()
        return _arrow_codes(encoded, what, name)
    if pa.types.is_boolean(t):
        return _float_side(_arrow_float(col), "bool", name)
    if pa.types.is_integer(t):
        return _float_side(_arrow_float(col), "number", name, integer=True)
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return _float_side(_arrow_float(col), "number", name)
    if pa.types.is_timestamp(t):
        ns = pc.cast(pc.cast(col, pa.timestamp("ns", t.tz)), pa.int64())
        return _float_side(_arrow_float(ns), "datetime", name)
    if pa.types.is_date32(t):
        return _float_side(_arrow_float(col.cast(pa.int32())) * 86_400e9, "datetime", name)
    if pa.types.is_date64(t):
        return _float_side(_arrow_float(col.cast(pa.int64())) * 1e6, "datetime", name)
    if pa.types.is_duration(t):
        ns = pc.cast(pc.cast(col, pa.duration("ns")), pa.int64())
        return _float_side(_arrow_float(ns), "timedelta", name)
    if pa.types.is_time(t):
        ns = pc.cast(pc.cast(col, pa.time64("ns")), pa.int64())
        return _float_side(_arrow_float(ns), "time", name)
    if pa.types.is_null(t):
        return _Side(n, "null", name)
    raise InvalidTypeError(f"{what}: arrow type {t} is not supported")


def _arrow_is_text(t: Any) -> bool:
    import pyarrow as pa

    return bool(
        pa.types.is_string(t)
        or pa.types.is_large_string(t)
        or pa.types.is_string_view(t)
        or pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_binary_view(t)
        or pa.types.is_fixed_size_binary(t)
    )


def _arrow_codes(col: Any, what: str, name: str, categorical_dtype: bool = False) -> _Side:
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(col)
    if col.num_chunks == 0:
        return _Side(n, "text", name, codes=np.empty(0, np.int64), uniques=np.empty(0, object))
    dictionary = col.chunk(0).dictionary
    indices = pa.chunked_array([c.indices for c in col.chunks])
    codes = np.asarray(pc.fill_null(pc.cast(indices, pa.int64()), -1).to_numpy(), dtype=np.int64)
    uniques = np.asarray(dictionary.to_numpy(zero_copy_only=False), dtype=object)
    vt = col.type.value_type
    group = "text" if _arrow_is_text(vt) else _group_of_values(_chunked(dictionary), what)
    return _Side(n, group, name, codes=codes, uniques=uniques, categorical_dtype=categorical_dtype)


def _side_any(col: Any, what: str) -> _Side:
    mod = _module(col)
    if mod == "pandas":
        return _side_pandas(col, what)
    if mod == "pyarrow":
        return _side_arrow(_chunked(col), what)
    return _side_numpy(np.asarray(col), what)


# -- both sides of one column ----------------------------------------------------------
@dataclasses.dataclass
class _Prepared:
    """A column ready for the core: kind, arrays, test, and what the report needs."""

    name: str
    kind: str
    reference: np.ndarray
    current: np.ndarray
    k: int
    test: str
    ref: _Side
    cur: _Side
    labels: Optional[list[str]] = None
    note: str = ""
    new_categories: int = 0
    group: str = "number"


def _null_values(side: _Side, kind: str) -> np.ndarray:
    if kind == "numeric":
        return np.full(side.n, np.nan)
    return np.full(side.n, -1, dtype=np.int64)


def _type_change(ref: _Side, cur: _Side) -> Optional[str]:
    if ref.group == cur.group or "null" in (ref.group, cur.group):
        return None
    return (
        f"{_GROUP_WORDS[ref.group]} ({ref.dtype}) in reference, "
        f"{_GROUP_WORDS[cur.group]} ({cur.dtype}) in current"
    )


def _few_distinct(sides: Sequence[_Side], limit: int) -> bool:
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


def _categorical(ref: _Side, cur: _Side) -> tuple[np.ndarray, np.ndarray, list[str], bool]:
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
        joint, uniques, mixed_u = _factorize_objects(pooled, "categories")
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
    >>> from mlsentry._drift_compare import factorize_pair
    >>> r, c, k = factorize_pair(["a", "b", None], ["b", "c"])
    >>> r.tolist(), c.tolist(), k
    ([0, 1, -1], [1, 2], 3)
    """
    ref = _side_any(_dict_column(reference, "reference"), "reference")
    cur = _side_any(_dict_column(current, "current"), "current")
    rc, cc, labels, _ = _categorical(ref, cur)
    return rc, cc, len(labels)


def _pool_rare(p: _Prepared) -> None:
    """High cardinality under ``auto``: categories whose expected count on the smaller
    side is below 5 are merged into one before chi-squared."""
    k = p.k
    cr = np.bincount(p.reference[p.reference >= 0], minlength=k)
    cc = np.bincount(p.current[p.current >= 0], minlength=k)
    nr, nc = int(cr.sum()), int(cc.sum())
    if nr == 0 or nc == 0:
        return
    expected = (cr + cc) * (min(nr, nc) / (nr + nc))
    rare = expected < RARE_EXPECTED
    if not rare.any():
        return
    keep = ~rare
    m = int(keep.sum())
    lut = np.where(keep, np.cumsum(keep) - 1, m)
    p.reference = _remap(p.reference, lut)
    p.current = _remap(p.current, lut)
    if p.labels is not None:
        p.labels = [lab for lab, kp in zip(p.labels, keep) if kp] + [POOLED_LABEL]
    p.k = m + 1
    p.note = _join_notes(
        p.note,
        f"{k} categories (more than {HIGH_CARDINALITY}): the {int(rare.sum())} rare ones "
        f"(expected count below {RARE_EXPECTED:g}) pooled into one before chi2",
    )


def _join_notes(*notes: str) -> str:
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


def _prepare(
    name: str,
    ref: _Side,
    cur: _Side,
    *,
    forced_categorical: bool,
    max_categories: int,
    tests: Union[str, dict[str, str]],
) -> _Prepared:
    groups = {ref.group, cur.group} - {"null"}
    group = next(iter(groups), "null")
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
        return _Prepared(name, kind, r, c, 0, test, ref, cur, group=group)
    rc, cc, labels, _ = _categorical(ref, cur)
    for side in (ref, cur):  # the joint codes replace them: free their memory now
        side.codes = side.values = side.uniques = None
    p = _Prepared(name, kind, rc, cc, len(labels), test, ref, cur, labels=labels, group=group)
    _count_new_categories(p)
    if p.k > HIGH_CARDINALITY and test == "auto":
        _pool_rare(p)
    return p


def _count_new_categories(p: _Prepared) -> None:
    """Categories of the current side that the reference never had, and their share."""
    cur_codes = p.current[p.current >= 0]
    if not p.k or not cur_codes.size:
        return
    in_ref = np.bincount(p.reference[p.reference >= 0], minlength=p.k) > 0
    in_cur = np.bincount(cur_codes, minlength=p.k) > 0
    n_new = int((in_cur & ~in_ref).sum())
    if n_new:
        share = float((~in_ref[cur_codes]).mean())
        p.new_categories = n_new
        p.note = _join_notes(
            p.note,
            f"{n_new} categor{'y' if n_new == 1 else 'ies'} never seen in the reference "
            f"({share:.1%} of current values)",
        )


# -- results ---------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Histogram:
    """What the report draws for a column: numeric bins (``edges`` has one more entry than
    the counts) or the most frequent categories (``labels``), counts per side."""

    edges: tuple[float, ...] = ()
    labels: tuple[str, ...] = ()
    reference: tuple[int, ...] = ()
    current: tuple[int, ...] = ()
    #: What the edges measure: "number", or nanoseconds of a "datetime", "timedelta", "time".
    unit: str = "number"

    def edge_text(self, value: float) -> str:
        """An edge as a person reads it (dates as dates, durations in seconds)."""
        if self.unit == "datetime" and math.isfinite(value):
            return str(np.datetime_as_string(np.datetime64(int(value), "ns"), unit="m"))
        if self.unit in ("timedelta", "time"):
            return f"{value / 1e9:.4g}s"
        return f"{value:.4g}"


@dataclasses.dataclass(frozen=True)
class ColumnDrift:
    """The comparison of one column.

    Attributes
    ----------
    name : str
        The column name (``str`` of the label).
    status : str
        ``"drift"`` (the values drifted), ``"missing-rate drift"`` (only the share of
        missing values changed), ``"no drift"``, ``"empty"`` (no value on either side:
        nothing to compare), ``"not tested"`` (the test could not run: see ``error``),
        ``"only in reference"``, ``"only in current"`` or ``"type changed"``.
    kind : str or None
        ``"numeric"`` or ``"categorical"``; ``None`` for a column not compared.
    test : str or None
        The test that ran (``"auto"`` resolved: ``"ks"``, ``"chi2"``, ``"fisher"``).
    statistic, pvalue : float or None
        The test's statistic and raw p-value (``None`` for distances).
    adjusted_pvalue : float or None
        The p-value after the multiple-testing correction.
    method : str or None
        How the test computed its p-value (``"exact"``, ``"asymptotic"``, ...).
    effect_size : float or None
        The test's own effect size (KS: D; chi-squared: Cramér's V; wasserstein and
        energy: the normalised distance, which their threshold applies to).
    effect : float or None
        One yardstick for every column: the normalised Wasserstein distance (numeric) or
        the Jensen-Shannon distance (categorical). Ranks columns in the report.
    threshold : float or None
        ``alpha`` for tests with a p-value, else the distance threshold.
    drift : bool
        The values drifted or the missing rate did (after correction).
    missing_drift : bool
        The missing rate drifted (adjusted missing p-value below ``alpha``).
    missing_rate_reference, missing_rate_current : float or None
        Share of missing values on each side (``None`` for a side with no rows).
    missing_pvalue, missing_adjusted_pvalue : float or None
        The two-proportion test on the missing rates (chi-squared, Fisher's exact test for
        small counts), run when either side has missing values.
    n_reference, n_current : int
        Values compared on each side (missing ones excluded).
    missing_reference, missing_current : int
        Missing values on each side.
    infinite_reference, infinite_current : int
        Infinite values (numeric): kept by the rank tests, left out of the plot.
    categories : int
        Categories present on either side (categorical).
    new_categories : int
        Categories of the current side never seen in the reference.
    dtype_reference, dtype_current : str or None
        The input types.
    note : str
        How the column was read or tested, when worth saying.
    error : str or None
        Why the test could not run.
    histogram : Histogram
        The data of the report's plot.
    """

    name: str
    status: str
    kind: Optional[str] = None
    test: Optional[str] = None
    statistic: Optional[float] = None
    pvalue: Optional[float] = None
    adjusted_pvalue: Optional[float] = None
    method: Optional[str] = None
    effect_size: Optional[float] = None
    effect: Optional[float] = None
    threshold: Optional[float] = None
    drift: bool = False
    missing_drift: bool = False
    missing_rate_reference: Optional[float] = None
    missing_rate_current: Optional[float] = None
    missing_pvalue: Optional[float] = None
    missing_adjusted_pvalue: Optional[float] = None
    n_reference: int = 0
    n_current: int = 0
    missing_reference: int = 0
    missing_current: int = 0
    infinite_reference: int = 0
    infinite_current: int = 0
    categories: int = 0
    new_categories: int = 0
    dtype_reference: Optional[str] = None
    dtype_current: Optional[str] = None
    note: str = ""
    error: Optional[str] = None
    histogram: Histogram = dataclasses.field(default_factory=Histogram, repr=False)

    @property
    def tested(self) -> bool:
        """The column was compared (its verdict counts in the drift share)."""
        return self.status in (_STATUS_DRIFT, _STATUS_MISSING_DRIFT, _STATUS_OK)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready fields; infinities as ``"inf"``/``"-inf"``, NaN as ``None``."""
        d = {f.name: _json_number(getattr(self, f.name)) for f in dataclasses.fields(self)}
        h = self.histogram
        d["histogram"] = {
            "edges": [_json_number(e) for e in h.edges],
            "labels": list(h.labels),
            "reference": list(h.reference),
            "current": list(h.current),
            "unit": h.unit,
        }
        return d

    def __str__(self) -> str:
        parts = [f"{self.name}: {self.status}"]
        if self.test:
            parts.append(f"{self.test}")
        if self.adjusted_pvalue is not None:
            parts.append(f"adjusted p={self.adjusted_pvalue:.3g}")
        elif self.statistic is not None:
            parts.append(f"statistic={self.statistic:.3g}")
        if self.note or self.error:
            parts.append(f"({self.error or self.note})")
        return " ".join(parts)


def _json_number(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def _severity(c: ColumnDrift) -> tuple[int, float, float]:
    ps = [p for p in (c.adjusted_pvalue, c.missing_adjusted_pvalue) if p is not None]
    effect = c.effect if c.effect is not None and not math.isnan(c.effect) else 0.0
    return (0 if c.drift else 1, min(ps, default=1.0), -effect)


class DriftReport(Report):
    """What :func:`compare` found, column by column.

    Attributes
    ----------
    drifted : bool
        The dataset drifted: any column drifted (values or missing rate, after the
        correction), or with ``drift_share`` set, the share of drifted columns reached it.
    passed : bool
        Not drifted, and no schema problem (a column only on one side, a type change) and
        no column left untested.
    columns : list of ColumnDrift
        Every column, in input order (reference columns, then those only in current).
    drift_share : float
        Drifted columns / compared columns.
    """

    schema: ClassVar[str] = "mlsentry/drift-report/v1"
    title: ClassVar[str] = "Drift comparison"

    def __init__(
        self,
        *,
        columns: Sequence[ColumnDrift],
        drifted: bool,
        config: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(config=config, inputs=inputs)
        self.columns = list(columns)
        self.drifted = bool(drifted)

    def __getitem__(self, name: str) -> ColumnDrift:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    def _names(self, *statuses: str) -> list[str]:
        return [c.name for c in self.columns if c.status in statuses]

    @property
    def drifted_columns(self) -> list[str]:
        """Columns whose values or missing rate drifted."""
        return [c.name for c in self.columns if c.drift]

    @property
    def only_in_reference(self) -> list[str]:
        """Columns of the reference that current lacks."""
        return self._names(_STATUS_ONLY_REF)

    @property
    def only_in_current(self) -> list[str]:
        """Columns of current that the reference lacks."""
        return self._names(_STATUS_ONLY_CUR)

    @property
    def type_changes(self) -> list[str]:
        """Columns whose kind differs between the sides."""
        return self._names(_STATUS_TYPE)

    @property
    def untested(self) -> list[str]:
        """Columns whose test could not run (see their ``error``)."""
        return self._names(_STATUS_UNTESTED)

    @property
    def schema_problems(self) -> list[str]:
        """Columns on one side only, or whose type changed."""
        return self._names(*_SCHEMA_STATUSES)

    @property
    def drift_share(self) -> float:
        """Drifted columns / compared columns (0 when none was compared)."""
        tested = [c for c in self.columns if c.tested]
        return sum(c.drift for c in tested) / len(tested) if tested else 0.0

    @property
    def passed(self) -> bool:
        return not (self.drifted or self.schema_problems or self.untested)

    def _payload(self) -> dict[str, Any]:
        return {
            "drifted": self.drifted,
            "drift_share": self.drift_share,
            "n_columns": len(self.columns),
            "drifted_columns": self.drifted_columns,
            "only_in_reference": self.only_in_reference,
            "only_in_current": self.only_in_current,
            "type_changes": self.type_changes,
            "untested": self.untested,
            "columns": [c.to_dict() for c in self.columns],
        }

    def to_pandas(self) -> Any:
        """One row per column (every :class:`ColumnDrift` field but the histogram)."""
        import pandas as pd

        names = [f.name for f in dataclasses.fields(ColumnDrift) if f.name != "histogram"]
        return pd.DataFrame([[getattr(c, n) for n in names] for c in self.columns], columns=names)

    def _headline(self) -> str:
        tested = [c for c in self.columns if c.tested]
        n_drift = sum(c.drift for c in tested)
        corr = self.config.get("correction", "bh")
        alpha = self.config.get("alpha", 0.05)
        if self.drifted:
            head = f"DRIFT in {n_drift} of {len(tested)} columns"
        elif n_drift:
            head = f"{n_drift} of {len(tested)} columns drifted, below drift_share"
        else:
            head = f"no drift in {len(tested)} columns"
        head += f" (correction {corr}, alpha {alpha:g})"
        problems = []
        for label, names in (
            ("only in reference", self.only_in_reference),
            ("only in current", self.only_in_current),
            ("type changed", self.type_changes),
            ("not tested", self.untested),
        ):
            if names:
                problems.append(f"{len(names)} {label}")
        if problems:
            head += "; " + ", ".join(problems)
        return head

    def summary(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        lines = [f"{self.title}: {verdict}: {self._headline()}"]
        for c in sorted(self.columns, key=_severity):
            if c.drift or c.status in (_STATUS_UNTESTED, *_SCHEMA_STATUSES):
                lines.append("  " + _summary_line(c))
        return "\n".join(lines)

    def _html_body(self) -> str:
        tested = sorted(
            (c for c in self.columns if c.status not in _SCHEMA_STATUSES), key=_severity
        )
        parts = [f"<p>{html.escape(self._headline())}.</p>"]
        problems = [c for c in self.columns if c.status in _SCHEMA_STATUSES]
        if problems:
            parts.append("<h3>Schema changes</h3>")
            parts.append(
                html_table(
                    ["column", "problem", "reference type", "current type", "note"],
                    [
                        [c.name, c.status, c.dtype_reference or "", c.dtype_current or "", c.note]
                        for c in problems
                    ],
                    row_classes=["bad"] * len(problems),
                )
            )
        if tested:
            parts.append(
                f"<h3>Columns</h3><p>{_swatch(_REF_COLOUR)} reference "
                f"{_swatch(_CUR_COLOUR)} current (share of each side's values)</p>"
            )
            parts.append(_columns_table(tested))
        return "".join(parts)


def _summary_line(c: ColumnDrift) -> str:
    if c.status in _SCHEMA_STATUSES:
        return f"{c.name}: {c.status}" + (f" ({c.note})" if c.note else "")
    if c.status == _STATUS_UNTESTED:
        return f"{c.name}: not tested ({c.error})"
    bits = [f"{c.name}: {c.status}", f"[{c.kind}, {c.test}]"]
    if c.adjusted_pvalue is not None:
        bits.append(f"adjusted p={fmt_pvalue(c.adjusted_pvalue)}")
    elif c.statistic is not None:
        bits.append(
            f"{c.test}={fmt_number(c.effect_size if c.test in NORMALISED else c.statistic)}"
        )
    if c.effect is not None:
        bits.append(f"effect={fmt_number(c.effect)}")
    if c.missing_drift:
        bits.append(
            f"missing {fmt_share(c.missing_rate_reference)} -> {fmt_share(c.missing_rate_current)} "
            f"(adjusted p={fmt_pvalue(c.missing_adjusted_pvalue)})"
        )
    return " ".join(bits)


_REF_COLOUR = "#0969da"
_CUR_COLOUR = "#e36209"


def _swatch(colour: str) -> str:
    return (
        f'<svg width="10" height="10" aria-hidden="true"><rect width="10" height="10" '
        f'fill="{colour}" fill-opacity="0.55"/></svg>'
    )


def _columns_table(cols: Sequence[ColumnDrift]) -> str:
    head = [
        "column",
        "kind",
        "test",
        "statistic",
        "p",
        "adjusted p",
        "effect",
        "missing (ref \u2192 cur)",
        "verdict",
        "distributions",
        "note",
    ]
    rows = ["<table><tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for c in cols:
        missing = ""
        if c.missing_reference or c.missing_current:
            missing = (
                f"{fmt_share(c.missing_rate_reference)} \u2192 {fmt_share(c.missing_rate_current)}"
            )
            if c.missing_adjusted_pvalue is not None:
                missing += f" (adj. p {fmt_pvalue(c.missing_adjusted_pvalue)})"
        stat = c.effect_size if c.test in NORMALISED else c.statistic
        verdict = c.status
        if c.test == "psi" and c.statistic is not None:
            verdict += f" ({_psi_band(c.statistic)})"
        cls = ' class="bad"' if c.drift or c.status == _STATUS_UNTESTED else ""
        cells = [
            f"<td>{html.escape(c.name)}</td>",
            f"<td>{html.escape(c.kind or '')}</td>",
            f"<td>{html.escape(c.test or '')}</td>",
            f'<td class="num">{fmt_number(stat)}</td>',
            f'<td class="num">{fmt_pvalue(c.pvalue)}</td>',
            f'<td class="num">{fmt_pvalue(c.adjusted_pvalue)}</td>',
            f'<td class="num">{fmt_number(c.effect)}</td>',
            f"<td>{html.escape(missing)}</td>",
            f"<td>{html.escape(verdict)}</td>",
            f"<td>{_svg(c)}</td>",
            f"<td>{html.escape(c.error or c.note)}</td>",
        ]
        rows.append(f"<tr{cls}>" + "".join(cells) + "</tr>")
    rows.append("</table>")
    return "".join(rows)


def _psi_band(value: float) -> str:
    band = psi_band(value)
    return band if band == "stable" else f"{band} shift"


def _svg(c: ColumnDrift) -> str:
    """A small inline SVG: overlaid histograms (numeric) or paired bars (categorical),
    each side as shares of its own values, with the range or the category names below."""
    h = c.histogram
    ref = np.asarray(h.reference, dtype=np.float64)
    cur = np.asarray(h.current, dtype=np.float64)
    if ref.size == 0:
        return ""
    ref = ref / max(c.n_reference, 1)
    cur = cur / max(c.n_current, 1)
    top = float(max(ref.max(), cur.max())) or 1.0
    width, height, k = 180.0, 40.0, ref.size
    slot = width / k
    parts = []

    def bar(x: float, w: float, share: float, colour: str, tip: str) -> None:
        bh = height * share / top
        if bh > 0:
            parts.append(
                f'<rect x="{x:.1f}" y="{height - bh:.1f}" width="{max(w, 0.5):.1f}" '
                f'height="{bh:.1f}" fill="{colour}" fill-opacity="0.55">'
                f"<title>{html.escape(tip)}</title></rect>"
            )

    def text(x: float, anchor: str, words: str) -> None:
        parts.append(
            f'<text x="{x:.1f}" y="{height + 11}" font-size="9" fill="#57606a" '
            f'text-anchor="{anchor}">{html.escape(words)}</text>'
        )

    for i in range(k):
        if h.labels:
            tip = f"{h.labels[i]}: reference {ref[i]:.1%}, current {cur[i]:.1%}"
            bar(i * slot + slot * 0.08, slot * 0.42, ref[i], _REF_COLOUR, tip)
            bar(i * slot + slot * 0.5, slot * 0.42, cur[i], _CUR_COLOUR, tip)
            fits = int(slot / 5.5)
            if fits >= 2:
                label = h.labels[i]
                text(
                    i * slot + slot / 2,
                    "middle",
                    label if len(label) <= fits else label[: fits - 1] + "\u2026",
                )
        else:
            lo, hi = h.edges[i], h.edges[i + 1]
            span = f"[{h.edge_text(lo)}, {h.edge_text(hi)}]"
            tip = f"{span}: reference {ref[i]:.1%}, current {cur[i]:.1%}"
            bar(i * slot, slot, ref[i], _REF_COLOUR, tip)
            bar(i * slot, slot, cur[i], _CUR_COLOUR, tip)
    if h.edges:
        text(0, "start", h.edge_text(h.edges[0]))
        text(width, "end", h.edge_text(h.edges[-1]))
    total = height + 14
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{total:.0f}" '
        f'viewBox="0 0 {width:.0f} {total:.0f}" role="img">'
        f"<title>{html.escape(c.name)}: reference vs current</title>"
        f'<line x1="0" y1="{height}" x2="{width}" y2="{height}" stroke="#8c959f"/>'
        + "".join(parts)
        + "</svg>"
    )


# -- compare ---------------------------------------------------------------------------
def _fingerprint_side(obj: Any) -> tuple[Optional[str], Optional[str]]:
    """The fingerprint of one input, or why there is none (a dict whose columns differ in
    length, a type the fingerprint refuses, no pandas for a dict)."""
    from ._fingerprint import fingerprint

    try:
        if isinstance(obj, Mapping):
            try:
                import pandas as pd
            except ImportError:
                return None, "a dict of columns is fingerprinted as a pandas DataFrame"
            return fingerprint(pd.DataFrame(dict(obj)), index=False), None
        if isinstance(obj, (list, tuple)):
            obj = _list_array(obj)
        return fingerprint(obj), None
    except (ValueError, TypeError) as e:
        return None, str(e)


def _number(v: Any) -> Optional[float]:
    return None if v is None else float(v)


def _rate(missing: int, present: int) -> Optional[float]:
    total = missing + present
    return missing / total if total else None


def compare(
    reference: Any,
    current: Any,
    tests: Union[str, Mapping[str, str]] = "auto",
    alpha: float = 0.05,
    correction: str = "bh",
    *,
    columns: Optional[Sequence[str]] = None,
    categorical: Optional[Sequence[str]] = None,
    bins: int = 10,
    max_categories: int = 20,
    drift_share: Optional[float] = None,
    thresholds: Optional[Mapping[str, float]] = None,
    fingerprint: bool = True,
    progress: ProgressArg = False,
) -> DriftReport:
    """Compares every column of ``current`` with the same column of ``reference``.

    Each column gets a two-sample test (numeric: Kolmogorov-Smirnov by default;
    categorical: chi-squared, or Fisher's exact test for two categories with an expected
    count below 5), an effect size on one scale for all columns, and a test of its missing
    rate. All p-values of the report are corrected together for multiple testing, then the
    dataset verdict is made. The tests run in Rust, one column per core, without the GIL.

    Parameters
    ----------
    reference, current : table
        A pandas DataFrame or Series, a polars DataFrame or Series, a pyarrow Table,
        RecordBatch or array, a numpy array (2-D: columns named ``"0"``, ``"1"``, ...;
        1-D: one column ``"0"``; structured: its field names), a list, or a dict of 1-D
        columns (arrays, lists, Series). The two sides may be of different types; columns
        are matched by name (``str`` of the label).
    tests : str or dict
        ``"auto"``; one test name, used for every column of a kind it applies to (the
        others stay ``"auto"``); or ``{column: test}``, where a test that does not apply
        to the column's kind raises. Numeric tests: ``ks``, ``anderson``,
        ``cramer_von_mises``, ``mann_whitney``, ``wasserstein``, ``energy`` and the binned
        distances ``psi``, ``jensen_shannon``, ``hellinger``, ``kl``,
        ``total_variation``. Categorical tests: ``chi2``, ``g_test``, ``fisher`` (two
        categories) and the same five distances on category frequencies.
    alpha : float
        Level of the tests, applied to adjusted p-values.
    correction : {"bh", "by", "holm", "bonferroni", "none"}
        Multiple-testing correction over every p-value of the report: each column's test
        and each missing-rate test. ``bh`` (Benjamini-Hochberg) and ``holm`` keep the
        chance of a false dataset alarm at or below ``alpha`` when nothing drifted;
        ``none`` does not (with 10 columns, about 40 % at ``alpha=0.05``).
    columns : list of str, optional
        Compare only these columns (names on neither side raise).
    categorical : list of str, optional
        Columns to compare as categories whatever their type.
    bins : int
        Quantile bins of the reference for the binned distances on numeric columns.
    max_categories : int
        A column of whole numbers (an integer type, or floats such as ``3.0``) with at
        most this many distinct values over both sides is categorical.
    drift_share : float, optional
        ``None``: the dataset drifted when any column drifted. A share in (0, 1]: when
        the share of compared columns that drifted reaches it (Evidently's rule).
    thresholds : dict, optional
        Drift thresholds of the distances, by name, over
        ``mlsentry._drift_result.DEFAULT_THRESHOLDS`` (0.1 each; ``wasserstein`` and
        ``energy`` apply to the normalised distance). A distance test has no p-value: its
        column drifts when the distance reaches the threshold (PSI is also read in the
        usual bands: below 0.1 stable, 0.1-0.25 moderate, 0.25 and above major).
    fingerprint : bool
        Record :func:`mlsentry.fingerprint` of both inputs in ``report.inputs`` (a dict
        is fingerprinted as the pandas DataFrame it makes, without index). It reads every
        value once more: for 1M rows x 25 columns (20 float, 5 string) about 0.2 s a side
        on 2 cores, some 15 % of the call. An input the fingerprint refuses (pandas
        periods or intervals, a dict of columns of different lengths) is left out and
        ``config["fingerprint_skipped"]`` says why.
    progress : bool or callable, optional
        ``True`` shows a tqdm bar; a callable receives ``(columns_done, columns_total)``.

    Returns
    -------
    DriftReport
        ``drifted``, ``passed``, ``columns`` (one :class:`ColumnDrift` each),
        ``to_pandas()``, ``summary()``, JSON and HTML.

    Raises
    ------
    InvalidTypeError
        An input or argument of the wrong type (the message names it).
    InvalidInputError
        A bad value: unknown test or correction, ``alpha`` outside (0, 1), a column in
        ``columns``/``categorical``/``tests`` found on neither side, a test that does not
        apply to its column.

    Notes
    -----
    **Kinds.** A column is numeric when both sides hold numbers: floats, ints (as
    float64: beyond 2**53 they are rounded), decimals, datetimes, durations and times of
    day (as nanoseconds, in float64; NaT is missing). It is
    categorical when either side holds strings, bytes, booleans or a pandas category /
    arrow dictionary / polars Categorical or Enum, when it is named in ``categorical``,
    or when it holds whole numbers with at most ``max_categories`` distinct values.
    Categories are coded jointly over both sides, so a category seen on one side only
    counts; categories seen only in current are counted in ``new_categories``.
    Object columns take the kind of their values; when they mix kinds, values are equal
    when Python finds them equal and they are of the same kind: numbers by value (``1``,
    ``1.0`` and ``numpy.int64(1)`` are one category), booleans apart from numbers (``True``
    is not ``1``), strings apart from numbers (``"1"`` is not ``1``); the report labels
    such values with ``repr``.

    **Missing values and infinities.** NaN, None, ``pd.NA`` and NaT are missing: left
    out of the tests, counted, and their rate is tested when either side has some.
    Infinities are values: the rank tests use them, they are counted
    (``infinite_reference``/``infinite_current``) and left out of the plot and of the
    Wasserstein effect.

    **High cardinality.** With more than 1000 categories over both sides (an ID column),
    the automatic test pools the rare categories (expected count on the smaller side below
    5, where chi-squared is not valid) into one before chi-squared, and the column's
    ``note`` says so. An ID column whose values are all new thus does not drift, but its
    note gives the share of current values never seen in the reference.

    **Schema problems.** A column on one side only (status ``"only in reference"`` /
    ``"only in current"``) and a column whose kind differs between the sides (numbers in
    one, text in the other: ``"type changed"``) are reported, not compared, and make the
    report fail (``passed`` is False) though the dataset need not have ``drifted``. So
    does a column whose test could not run (``"not tested"``, e.g. a side with no rows).
    A column with no value on either side is ``"empty"`` and does not count.

    **Decision.** A column drifts when its adjusted p-value is below ``alpha`` (tests)
    or its distance reaches the threshold (distances), or when its missing-rate test's
    adjusted p-value is below ``alpha``.

    Every call appends one event to the audit log named by ``MLSENTRY_AUDIT_LOG``.

    Examples
    --------
    >>> import numpy as np
    >>> import mlsentry as ms
    >>> rng = np.random.default_rng(0)
    >>> ref = {"age": rng.normal(40, 10, 2000), "plan": rng.choice(["a", "b"], 2000)}
    >>> cur = {"age": rng.normal(45, 10, 2000), "plan": rng.choice(["a", "b"], 2000)}
    >>> report = ms.drift.compare(ref, cur)
    >>> report.drifted, report.drifted_columns
    (True, ['age'])
    >>> report["plan"].test, report["plan"].drift
    ('chi2', False)
    """
    tests = _check_tests(tests)
    alpha = check_alpha(alpha)
    if correction not in CORRECTIONS:
        raise InvalidInputError(
            f"correction: expected one of {', '.join(CORRECTIONS)}, got {correction!r}"
        )
    bins = check_int(bins, "bins", 1)
    max_categories = check_int(max_categories, "max_categories", 0)
    drift_share = _check_share(drift_share)
    limits = _check_thresholds(thresholds)
    wanted = _check_names(columns, "columns")
    forced = set(_check_names(categorical, "categorical") or ())
    if not isinstance(fingerprint, (bool, np.bool_)):
        raise InvalidTypeError(f"fingerprint: expected a bool, got {type(fingerprint).__name__}")

    ref_cols = _named(_table_columns(reference, "reference"), "reference")
    cur_cols = _named(_table_columns(current, "current"), "current")
    known = list(ref_cols) + [n for n in cur_cols if n not in ref_cols]
    for arg, names in (
        ("columns", wanted or ()),
        ("categorical", forced),
        ("tests", tests if isinstance(tests, dict) else ()),
    ):
        unknown = [n for n in names if n not in ref_cols and n not in cur_cols]
        if unknown:
            raise InvalidInputError(
                f"{arg}: no column named {', '.join(map(repr, unknown))} on either side"
            )
    names = wanted if wanted is not None else known

    results: dict[str, ColumnDrift] = {}
    prepared: list[_Prepared] = []
    for name in names:
        if name not in cur_cols:
            side = _side_any(ref_cols[name], f"reference column {name!r}")
            results[name] = ColumnDrift(name, _STATUS_ONLY_REF, dtype_reference=side.dtype)
            continue
        if name not in ref_cols:
            side = _side_any(cur_cols[name], f"current column {name!r}")
            results[name] = ColumnDrift(name, _STATUS_ONLY_CUR, dtype_current=side.dtype)
            continue
        ref = _side_any(ref_cols[name], f"reference column {name!r}")
        cur = _side_any(cur_cols[name], f"current column {name!r}")
        change = _type_change(ref, cur)
        if change is not None and name not in forced:
            results[name] = ColumnDrift(
                name,
                _STATUS_TYPE,
                dtype_reference=ref.dtype,
                dtype_current=cur.dtype,
                note=change,
            )
            continue
        prepared.append(
            _prepare(
                name,
                ref,
                cur,
                forced_categorical=name in forced,
                max_categories=max_categories,
                tests=tests,
            )
        )

    with progress_callback(progress, "drift", unit="col") as cb:
        outputs = _core.drift_compare(
            [(p.name, p.kind, p.reference, p.current, p.k, p.test, bins) for p in prepared],
            cb,
        )
    results.update(_decide(prepared, outputs, alpha, correction, limits))
    cols = [results[n] for n in names]
    tested = [c for c in cols if c.tested]
    n_drift = sum(c.drift for c in tested)
    if drift_share is None:
        drifted = n_drift > 0
    else:
        drifted = bool(tested) and n_drift / len(tested) >= drift_share

    inputs: dict[str, str] = {}
    unfingerprinted: dict[str, str] = {}
    if fingerprint:
        for side_name, obj in (("reference", reference), ("current", current)):
            fp, why = _fingerprint_side(obj)
            if fp is not None:
                inputs[side_name] = fp
            else:
                unfingerprinted[side_name] = why or "unknown"
    report = DriftReport(
        columns=cols,
        drifted=drifted,
        config={
            "tests": tests,
            "alpha": alpha,
            "correction": correction,
            "columns": wanted,
            "categorical": sorted(forced),
            "bins": bins,
            "max_categories": max_categories,
            "drift_share": drift_share,
            "thresholds": limits,
            "high_cardinality": HIGH_CARDINALITY,
            "fingerprint": bool(fingerprint),
            **({"fingerprint_skipped": unfingerprinted} if unfingerprinted else {}),
        },
        inputs=inputs,
    )
    record_check(
        "drift.compare",
        report.passed,
        report.inputs,
        drifted=report.drifted,
        columns=len(cols),
        drifted_columns=report.drifted_columns,
        schema_problems=report.schema_problems,
        untested=report.untested,
    )
    return report


def _named(pairs: list[tuple[str, Any]], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, col in pairs:
        if name in out:
            raise InvalidInputError(f"{what}: two columns are named {name!r}")
        out[name] = col
    return out


def _decide(
    prepared: Sequence[_Prepared],
    outputs: Sequence[dict[str, Any]],
    alpha: float,
    correction: str,
    limits: Mapping[str, float],
) -> dict[str, ColumnDrift]:
    """The corrected p-values and the verdict of every compared column."""
    # One family: every test p-value and every missing-rate p-value of the report.
    family: list[float] = []
    slots: list[tuple[int, str]] = []
    for i, o in enumerate(outputs):
        empty = o["n_reference"] == 0 and o["n_current"] == 0
        outcome = o["outcome"]
        p_test = None if outcome is None or o["test"] in DISTANCES else outcome["pvalue"]
        if p_test is not None and not math.isnan(p_test):
            family.append(p_test)
            slots.append((i, "test"))
        mt = o["missing_test"]
        if mt is not None and not empty and not math.isnan(mt["pvalue"]):
            family.append(mt["pvalue"])
            slots.append((i, "missing"))
    adjusted = adjust_pvalues(family, correction)
    adj: dict[tuple[int, str], float] = {s: float(a) for s, a in zip(slots, adjusted)}

    out: dict[str, ColumnDrift] = {}
    for i, (p, o) in enumerate(zip(prepared, outputs)):
        out[p.name] = _column_result(
            p, o, adj.get((i, "test")), adj.get((i, "missing")), alpha, limits
        )
    return out


def _column_result(
    p: _Prepared,
    o: dict[str, Any],
    adj_p: Optional[float],
    adj_missing: Optional[float],
    alpha: float,
    limits: Mapping[str, float],
) -> ColumnDrift:
    test = o["test"]
    outcome = o["outcome"]
    effect = o["effect"]
    nr, nc = o["n_reference"], o["n_current"]
    mr, mc = o["missing_reference"], o["missing_current"]
    note = p.note
    error = o["error"]
    statistic = pvalue = effect_size = threshold = None
    method = None
    value_drift = False
    if outcome is not None:
        statistic = outcome["statistic"]
        method = outcome["method"]
        effect_size = outcome["effect_size"]
        if test in DISTANCES:
            threshold = limits[test]
            _, value_drift = distance_drift(test, statistic, effect_size, threshold)
            if test == "psi":
                note = _join_notes(note, f"PSI {statistic:.3g}: {_psi_band(statistic)}")
        else:
            pvalue = outcome["pvalue"]
            threshold = alpha
            value_drift = adj_p is not None and adj_p < alpha
    missing_drift = adj_missing is not None and adj_missing < alpha
    mt = o["missing_test"]
    if error is not None:
        status = _STATUS_UNTESTED
    elif nr == 0 and nc == 0:
        status = _STATUS_EMPTY
        note = _join_notes(note, "no values on either side")
    elif outcome is None:
        side = "reference" if nr == 0 else "current"
        why = "all missing" if (mr if nr == 0 else mc) else "no rows"
        if missing_drift:
            status = _STATUS_MISSING_DRIFT
            note = _join_notes(note, f"no values on the {side} side ({why})")
        else:
            status = _STATUS_UNTESTED
            error = f"no values on the {side} side ({why})"
    elif value_drift:
        status = _STATUS_DRIFT
    elif missing_drift:
        status = _STATUS_MISSING_DRIFT
    else:
        status = _STATUS_OK
    if p.kind == "numeric" and (o["infinite_reference"] or o["infinite_current"]):
        note = _join_notes(
            note,
            f"infinite values: {o['infinite_reference']} reference, "
            f"{o['infinite_current']} current (in the test, not in the plot)",
        )
    edges = tuple(float(e) for e in o["hist_edges"])
    labels: tuple[str, ...] = ()
    if p.kind == "categorical" and p.labels is not None:
        labels = tuple(p.labels[int(code)] for code in o["hist_codes"])
    effect_value = None
    if effect is not None:
        effect_value = effect["effect_size"] if p.kind == "numeric" else effect["statistic"]
    return ColumnDrift(
        name=p.name,
        status=status,
        kind=p.kind,
        test=test,
        statistic=_number(statistic),
        pvalue=_number(pvalue),
        adjusted_pvalue=adj_p,
        method=method,
        effect_size=_number(effect_size),
        effect=_number(effect_value),
        threshold=threshold,
        drift=bool(value_drift or missing_drift),
        missing_drift=bool(missing_drift),
        missing_rate_reference=_rate(mr, nr),
        missing_rate_current=_rate(mc, nc),
        missing_pvalue=None if mt is None else _number(mt["pvalue"]),
        missing_adjusted_pvalue=adj_missing,
        n_reference=int(nr),
        n_current=int(nc),
        missing_reference=int(mr),
        missing_current=int(mc),
        infinite_reference=int(o["infinite_reference"]),
        infinite_current=int(o["infinite_current"]),
        categories=int(o["categories"]),
        new_categories=p.new_categories,
        dtype_reference=p.ref.dtype,
        dtype_current=p.cur.dtype,
        note=note,
        error=error,
        histogram=Histogram(
            edges=edges,
            labels=labels,
            reference=tuple(int(v) for v in o["hist_reference"]),
            current=tuple(int(v) for v in o["hist_current"]),
            unit=p.group if p.group in ("datetime", "timedelta", "time") else "number",
        ),
    )
