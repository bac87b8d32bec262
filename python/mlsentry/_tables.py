"""Tables read the same way everywhere: data files (the command line and the pytest
plugin), and the columns of a table in memory (dicts and sequences, NumPy, pandas, pyarrow,
polars), one column at a time as what the core reads: ``float64`` values (NaN = missing)
or integer codes with their categories (``-1`` = missing)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Optional

from .errors import InvalidInputError, InvalidTypeError, PathNotFoundError, require

if TYPE_CHECKING:  # numpy is imported where used: the command line starts without it
    import numpy as np


def read_table(path: str, fmt: str = "auto") -> Any:
    """A CSV (pandas DataFrame), Parquet (pyarrow Table), ``.npy`` (NumPy array, no pickles)
    or raw (``bytes``) file, the format from ``fmt`` or the file's suffix."""
    import numpy as np

    if not os.path.exists(path):
        raise PathNotFoundError(2, "No such file or directory", path)
    if fmt == "auto":
        ext = os.path.splitext(path)[1].lower()
        fmt = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".npy": "npy"}.get(ext, "")
        if not fmt:
            raise InvalidInputError(
                f"FILE: cannot tell the format of {path!r} from its suffix; "
                "use --format csv|parquet|npy|bytes"
            )
    if fmt == "npy":
        import numpy as np

        try:
            return np.load(path, allow_pickle=False)
        except ValueError as e:
            raise InvalidInputError(f"{path}: not a plain .npy array ({e})") from None
    if fmt == "bytes":
        with open(path, "rb") as fh:
            return fh.read()
    if fmt == "csv":
        pd = require("pandas", "pandas", "reading CSV")
        try:
            return pd.read_csv(path)
        except (ValueError, UnicodeDecodeError) as e:  # bad encoding, ragged rows, no header
            raise InvalidInputError(f"{path}: cannot be read as CSV: {_first_line(e)}") from None
    if fmt == "parquet":
        pq = require("pyarrow.parquet", "pandas", "reading Parquet")
        try:
            return pq.read_table(path)
        except (ValueError, OSError) as e:  # pyarrow's ArrowInvalid / ArrowIOError
            raise InvalidInputError(
                f"{path}: cannot be read as Parquet: {_first_line(e)}"
            ) from None
    raise InvalidInputError(f"--format: expected auto, csv, parquet, npy or bytes, got {fmt!r}")


def _first_line(e: BaseException) -> str:
    """The first line of a reader's error (pandas and pyarrow append long context)."""
    text = str(e).strip()
    return text.splitlines()[0] if text else type(e).__name__


# -- the columns of a table in memory --------------------------------------------------
def _module(obj: Any) -> str:
    return type(obj).__module__.split(".", 1)[0]


def _list_column(values: Any) -> np.ndarray:
    """A list as a 1-D array, never turning numbers into strings (``[1, "a"]``) nor
    booleans into numbers (``[True, 2]``): such lists stay object arrays."""
    import numpy as np

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


def list_array(values: Sequence[Any]) -> np.ndarray:
    """A list of values (one column) or of rows (a 2-D table) as an array."""
    import numpy as np

    if len(values) and isinstance(values[0], (list, tuple)):
        return np.asarray(values)
    return _list_column(values)


def table_columns(obj: Any, what: str) -> list[tuple[str, Any]]:
    """The ``(name, column)`` pairs of one side; a column is a pandas Series, a pyarrow
    ChunkedArray or a 1-D numpy array."""
    import numpy as np

    mod = _module(obj)
    if mod == "pandas":
        import pandas as pd

        if isinstance(obj, pd.DataFrame):
            # items() gives the columns by position (duplicate labels too), without
            # iloc's indexer checks per column.
            return [(str(c), col) for c, col in obj.items()]
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
            return table_columns(obj.to_arrow(), what)
        if isinstance(obj, pl.Series):
            return [(obj.name or "0", _chunked(obj.to_arrow()))]
    if isinstance(obj, Mapping):
        return [(str(k), dict_column(v, f"{what}[{k!r}]")) for k, v in obj.items()]
    if isinstance(obj, (list, tuple)):
        obj = list_array(obj)
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


def dict_column(v: Any, what: str) -> Any:
    import numpy as np

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
class Side:
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
    # The integers themselves (int64 or uint64; garbage where ``values`` is NaN) when
    # float64 would round them: magnitudes past 2**53, nanosecond timestamps.
    exact: Optional[np.ndarray] = None

    def is_whole(self) -> bool:
        """All present values are whole numbers (an integer dtype, or floats like 3.0)."""
        import numpy as np

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


#: Past this magnitude float64 no longer holds every integer.
EXACT_LIMIT = 2**53


def _float_side(
    values: np.ndarray,
    group: str,
    dtype: str,
    integer: bool = False,
    exact: Optional[np.ndarray] = None,
) -> Side:
    import numpy as np

    values = np.asarray(values, dtype=np.float64)
    return Side(len(values), group, dtype, values=values, integer=integer, exact=exact)


def _exact(ints: np.ndarray, present: Optional[np.ndarray] = None) -> Optional[np.ndarray]:
    """``ints`` when float64 would round some present value of them, else ``None``."""
    import numpy as np

    if ints.size == 0:
        return None
    live = ints if present is None else ints[present]
    if live.size == 0:
        return None
    big = live.max() >= EXACT_LIMIT if ints.dtype.kind == "u" else np.abs(live).max() >= EXACT_LIMIT
    if ints.dtype.kind == "i" and live.min() == np.iinfo(np.int64).min:
        big = True  # abs overflows on the smallest int64
    return ints if big else None


def int_side(ints: np.ndarray, group: str, dtype: str, nulls: Optional[np.ndarray]) -> Side:
    """Integers (int64/uint64, or nanoseconds) with NaN where ``nulls`` is set, keeping
    the integers themselves when float64 would round them."""
    import numpy as np

    values = ints.astype(np.float64)
    if nulls is not None and nulls.any():
        values[nulls] = np.nan
    present = None if nulls is None else ~nulls
    exact = _exact(ints, present)
    return _float_side(values, group, dtype, integer=group == "number", exact=exact)


def _ns_side(values: np.ndarray, group: str, dtype: str) -> Side:
    """datetime64/timedelta64 as nanoseconds; NaT is missing."""
    import numpy as np

    unit = "M8[ns]" if values.dtype.kind == "M" else "m8[ns]"
    ints = values.astype(unit).view(np.int64)
    return int_side(ints, group, dtype, np.isnat(values))


def _side_numpy(arr: np.ndarray, what: str) -> Side:
    import numpy as np

    kind = arr.dtype.kind
    dtype = str(arr.dtype)
    if kind == "f":
        return _float_side(arr, "number", dtype)
    if kind in "iu":
        ints = arr.astype(np.uint64 if kind == "u" else np.int64, copy=False)
        return int_side(ints, "number", dtype, None)
    if kind == "b":
        return _float_side(arr, "bool", dtype)
    if kind == "M":
        return _ns_side(arr, "datetime", dtype)
    if kind == "m":
        return _ns_side(arr, "timedelta", dtype)
    if kind in "US":
        codes, uniques = _factorize_plain(arr)
        return Side(len(arr), "text", dtype, codes=codes, uniques=uniques)
    if kind == "O":
        return _side_objects(arr, what)
    raise InvalidTypeError(f"{what}: numpy dtype {arr.dtype} is not supported")


def _factorize_plain(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes of a numpy string/bytes array (no missing values)."""
    import numpy as np

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
    import numpy as np
    import pandas as pd

    out = np.full(len(arr), np.nan)
    present = ~pd.isna(arr)
    out[present] = arr[present].astype(np.float64)
    return out


def _side_objects(arr: np.ndarray, what: str) -> Side:
    """An object column: its kind is that of its values (``pandas.api.types.infer_dtype``)."""

    pd = _need_pandas(what)
    inferred = pd.api.types.infer_dtype(arr, skipna=True)
    n = len(arr)
    try:
        if inferred == "empty":
            return Side(n, "null", "object")
        if inferred == "boolean":
            return _float_side(_objects_to_float(arr), "bool", "object (bool)")
        if inferred == "integer":
            return _float_side(_objects_to_float(arr), "number", "object (int)", integer=True)
        if inferred in ("floating", "mixed-integer-float", "decimal"):
            return _float_side(_objects_to_float(arr), "number", f"object ({inferred})")
        if inferred in ("datetime64", "datetime", "date"):
            values = pd.to_datetime(pd.Series(arr), utc=True).dt.tz_localize(None).to_numpy()
            return _ns_side(values, "datetime", f"object ({inferred})")
        if inferred in ("timedelta64", "timedelta"):
            values = pd.to_timedelta(pd.Series(arr)).to_numpy()
            return _ns_side(values, "timedelta", f"object ({inferred})")
    except (TypeError, ValueError, OverflowError):
        pass  # values that do not convert: compared as categories below
    codes, uniques, mixed = factorize_objects(arr, what, inferred)
    dtype = "object" if inferred in ("string", "bytes") else f"object ({inferred})"
    return Side(n, "text", dtype, codes=codes, uniques=uniques, mixed=mixed)


def factorize_objects(
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
    import numpy as np

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
    import numpy as np

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
    import numpy as np

    if isinstance(value, (bool, np.bool_)):
        return "booleans"
    if isinstance(value, (int, float, np.number)):
        return "numbers"
    return type(value).__name__


def _side_pandas(s: Any, what: str) -> Side:
    import numpy as np
    import pandas as pd

    dtype = s.dtype
    name = str(dtype)
    if isinstance(dtype, pd.CategoricalDtype):
        categories = np.asarray(dtype.categories, dtype=object)
        group = _group_of_values(dtype.categories, what)
        codes = s.cat.codes.to_numpy().astype(np.int64)
        return Side(len(s), group, name, codes=codes, uniques=categories, categorical_dtype=True)
    if isinstance(dtype, pd.ArrowDtype):
        import pyarrow as pa

        return _side_arrow(_chunked(pa.array(s.array)), what, name)
    if isinstance(dtype, pd.DatetimeTZDtype):
        return _ns_side(s.dt.tz_convert(None).to_numpy(), "datetime", name)
    if isinstance(dtype, np.dtype):
        return dataclasses.replace(_side_numpy(s.to_numpy(), what), dtype=name)
    if isinstance(dtype, pd.StringDtype):
        codes, uniques = pd.factorize(s)
        return Side(
            len(s),
            "text",
            name,
            codes=codes.astype(np.int64, copy=False),
            uniques=np.asarray(uniques, dtype=object),
        )
    if isinstance(dtype, pd.BooleanDtype):
        return _float_side(s.to_numpy(dtype=np.float64, na_value=np.nan), "bool", name)
    if pd.api.types.is_integer_dtype(dtype):
        nulls = s.isna().to_numpy()
        big = np.uint64 if str(dtype).startswith("UInt") else np.int64
        return int_side(s.to_numpy(dtype=big, na_value=0), "number", name, nulls)
    if pd.api.types.is_float_dtype(dtype):
        return _float_side(s.to_numpy(dtype=np.float64, na_value=np.nan), "number", name)
    if isinstance(dtype, pd.SparseDtype):
        return dataclasses.replace(_side_pandas(s.sparse.to_dense(), what), dtype=name)
    # Periods, intervals and other extension types: their values, as categories.
    return dataclasses.replace(_side_objects(s.astype(object).to_numpy(), what), dtype=name)


def _group_of_values(values: Any, what: str) -> str:
    """The group of the categories of a pandas categorical or an arrow dictionary."""
    import numpy as np

    side = side_any(values if isinstance(values, np.ndarray) else _plain(values), what)
    return "text" if side.group == "null" else side.group


def _plain(values: Any) -> Any:
    import pandas as pd

    if isinstance(values, pd.Index):
        return pd.Series(values)
    return values


def _arrowint_side(col: Any, group: str, name: str) -> Side:
    """An arrow integer column (or nanoseconds) as an exact integer side."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    unsigned = pa.types.is_unsigned_integer(col.type)
    target = pa.uint64() if unsigned else pa.int64()
    nulls = np.asarray(pc.is_null(col).to_numpy(zero_copy_only=False), dtype=bool)
    ints = pc.fill_null(pc.cast(col, target), 0).to_numpy()
    return int_side(np.asarray(ints), group, name, nulls)


def _arrow_float(col: Any) -> np.ndarray:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    return np.asarray(pc.cast(col, pa.float64(), safe=False).to_numpy(), dtype=np.float64)


def _side_arrow(col: Any, what: str, name: Optional[str] = None) -> Side:
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
        return _arrowint_side(col, "number", name)
    if pa.types.is_floating(t) or pa.types.is_decimal(t):
        return _float_side(_arrow_float(col), "number", name)
    if pa.types.is_timestamp(t):
        ns = pc.cast(pc.cast(col, pa.timestamp("ns", t.tz)), pa.int64())
        return _arrowint_side(ns, "datetime", name)
    if pa.types.is_date32(t):
        return _float_side(_arrow_float(col.cast(pa.int32())) * 86_400e9, "datetime", name)
    if pa.types.is_date64(t):
        return _float_side(_arrow_float(col.cast(pa.int64())) * 1e6, "datetime", name)
    if pa.types.is_duration(t):
        ns = pc.cast(pc.cast(col, pa.duration("ns")), pa.int64())
        return _arrowint_side(ns, "timedelta", name)
    if pa.types.is_time(t):
        ns = pc.cast(pc.cast(col, pa.time64("ns")), pa.int64())
        return _float_side(_arrow_float(ns), "time", name)
    if pa.types.is_null(t):
        return Side(n, "null", name)
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


def _arrow_codes(col: Any, what: str, name: str, categorical_dtype: bool = False) -> Side:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    n = len(col)
    if col.num_chunks == 0:
        return Side(n, "text", name, codes=np.empty(0, np.int64), uniques=np.empty(0, object))
    dictionary = col.chunk(0).dictionary
    indices = pa.chunked_array([c.indices for c in col.chunks])
    codes = np.asarray(pc.fill_null(pc.cast(indices, pa.int64()), -1).to_numpy(), dtype=np.int64)
    uniques = np.asarray(dictionary.to_numpy(zero_copy_only=False), dtype=object)
    vt = col.type.value_type
    group = "text" if _arrow_is_text(vt) else _group_of_values(_chunked(dictionary), what)
    return Side(n, group, name, codes=codes, uniques=uniques, categorical_dtype=categorical_dtype)


def arrow_string_chunk(arr: Any, wide: bool) -> tuple[np.ndarray, np.ndarray, Optional[np.ndarray]]:
    """One pyarrow string or binary array as ``(offsets int64, bytes uint8, valid bool or
    None)``, the bytes borrowed without a copy (``wide``: large_string / large_binary)."""
    import numpy as np
    import pyarrow.compute as pc

    n = len(arr)
    _, off_buf, data_buf = arr.buffers()
    raw = np.frombuffer(off_buf, dtype=np.int64 if wide else np.int32)
    offsets = np.ascontiguousarray(raw[arr.offset : arr.offset + n + 1], dtype=np.int64)
    data = (
        np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.empty(0, np.uint8)
    )
    valid = None
    if arr.null_count:
        valid = np.asarray(pc.is_valid(arr).to_numpy(zero_copy_only=False), dtype=bool)
    return offsets, data, valid


def arrow_text(col: Any) -> Optional[tuple[str, list[tuple[Any, ...]]]]:
    """A text column held by Arrow (pandas ``str`` / ``string[pyarrow]`` / ArrowDtype string,
    a pyarrow or polars string column) as ``(dtype, chunks)``: the dtype named as
    :func:`side_any` names it and the chunks of :func:`arrow_string_chunk`. ``None`` for
    any other column (binary, categorical, numpy objects, ...), read by ``side_any``."""
    mod = _module(col)
    if mod == "pandas":
        import pandas as pd

        dtype = col.dtype
        arrow_str = isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow"
        if not (arrow_str or isinstance(dtype, pd.ArrowDtype)):
            return None
        import pyarrow as pa

        name, arr = str(dtype), _chunked(pa.array(col.array))
    elif mod == "pyarrow":
        name, arr = str(col.type), _chunked(col)
    else:
        return None
    import pyarrow as pa

    t = arr.type
    if pa.types.is_string_view(t):
        arr = arr.cast(pa.large_string())
        t = arr.type
    if not (pa.types.is_string(t) or pa.types.is_large_string(t)):
        return None
    wide = pa.types.is_large_string(t)
    return name, [arrow_string_chunk(c, wide) for c in arr.chunks if len(c)]


def side_any(col: Any, what: str) -> Side:
    import numpy as np

    mod = _module(col)
    if mod == "pandas":
        return _side_pandas(col, what)
    if mod == "pyarrow":
        return _side_arrow(_chunked(col), what)
    return _side_numpy(np.asarray(col), what)
