"""Tables read the same way everywhere: data files (the command line and the pytest plugin)
and in-memory tables split into named columns (every capability that takes tables).
numpy, pandas and pyarrow are imported on use: the command line starts without them."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import InvalidInputError, InvalidTypeError, PathNotFoundError, require


def read_table(path: str, fmt: str = "auto") -> Any:
    """A CSV (pandas DataFrame), Parquet (pyarrow Table), ``.npy`` (NumPy array, no pickles)
    or raw (``bytes``) file, the format from ``fmt`` or the file's suffix."""
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


# -- in-memory tables ----------------------------------------------------------------
def module_name(obj: Any) -> str:
    """The top package of an object's type: ``pandas``, ``pyarrow``, ``numpy``..."""
    return type(obj).__module__.split(".", 1)[0]


def list_column(values: Any) -> Any:
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


def list_array(values: Sequence[Any]) -> Any:
    """A list of values (one column) or of rows (a 2-D table) as an array."""
    import numpy as np

    if len(values) and isinstance(values[0], (list, tuple)):
        return np.asarray(values)
    return list_column(values)


def table_columns(obj: Any, what: str) -> list[tuple[str, Any]]:
    """The ``(name, column)`` pairs of a table (pandas, pyarrow, polars, dict of columns,
    list, 1-D, 2-D or structured numpy array); a column is a pandas Series, a pyarrow
    ChunkedArray or a 1-D numpy array. A 2-D array's columns are named ``"0"``, ``"1"``..."""
    import numpy as np

    mod = module_name(obj)
    if mod == "pandas":
        import pandas as pd

        if isinstance(obj, pd.DataFrame):
            return [(str(c), obj.iloc[:, i]) for i, c in enumerate(obj.columns)]
        if isinstance(obj, pd.Series):
            return [("0" if obj.name is None else str(obj.name), obj)]
    if mod == "pyarrow":
        import pyarrow as pa

        if isinstance(obj, (pa.Table, pa.RecordBatch)):
            return [(str(n), chunked(obj.column(i))) for i, n in enumerate(obj.column_names)]
        if isinstance(obj, (pa.Array, pa.ChunkedArray)):
            return [("0", chunked(obj))]
    if mod == "polars":
        import polars as pl

        if isinstance(obj, pl.DataFrame):
            return table_columns(obj.to_arrow(), what)
        if isinstance(obj, pl.Series):
            return [(obj.name or "0", chunked(obj.to_arrow()))]
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


def chunked(col: Any) -> Any:
    """A pyarrow Array or ChunkedArray as a ChunkedArray."""
    import pyarrow as pa

    return col if isinstance(col, pa.ChunkedArray) else pa.chunked_array([col])


def dict_column(v: Any, what: str) -> Any:
    """One column of a dict of columns (or a single column) as a table column."""
    import numpy as np

    mod = module_name(v)
    if mod == "pandas":
        import pandas as pd

        if isinstance(v, pd.Series):
            return v
        if isinstance(v, pd.Index):
            return pd.Series(v)
    if mod == "pyarrow":
        return chunked(v)
    if mod == "polars":
        return chunked(v.to_arrow())
    arr = list_column(v) if isinstance(v, (list, tuple)) else np.asarray(v)
    if arr.ndim != 1:
        raise InvalidInputError(f"{what}: expected a 1-D column, got shape {arr.shape}")
    return arr
