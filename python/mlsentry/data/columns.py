"""Tables into the columns the schema core reads, each typed (the vocabulary of
:mod:`mlsentry.data.schema`).

Plain numpy-backed numbers go to the core as they are (float64 viewed, integers as int64)
and Arrow strings (pandas 3 ``str`` columns, pyarrow and polars string columns) as their
offsets and bytes, without copying the strings; every other column is read the way
:func:`mlsentry.drift.compare` reads it (float64 values, or category codes with their
values).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Optional

import numpy as np

from .._tables import Side, arrow_string_chunk, side_any, table_columns
from ..errors import InvalidInputError

TYPES = ("int", "float", "bool", "string", "datetime", "timedelta", "time", "null")


def type_of(side: Side) -> str:
    """The schema type of a column read by the shared table reader."""
    if side.group == "number":
        return "int" if side.integer else "float"
    if side.group == "text":
        return "string"
    return side.group


@dataclasses.dataclass
class Column:
    """One column of a table, typed and ready for the core.

    ``kind`` is how the core reads it: ``"float"`` (float64, NaN missing; ``exact`` int64
    keys when float64 rounds the integers), ``"int"`` (int64, never missing), ``"codes"``
    (int64 codes into ``uniques``, -1 missing) or ``"strings"`` (``data`` is a list of
    ``(offsets, bytes, valid)``, one per chunk of the Arrow array ``arrow``).
    """

    name: str
    n: int
    type: str
    dtype: str
    kind: str
    data: Any
    exact: Optional[np.ndarray] = None
    uniques: Optional[np.ndarray] = None
    arrow: Any = None

    def core(self) -> tuple[str, Any, Optional[np.ndarray], int]:
        """``(kind, data, exact, k)`` as ``_core.schema_infer``/``schema_validate`` take."""
        k = 0 if self.uniques is None else len(self.uniques)
        return self.kind, self.data, self.exact, k

    def is_whole(self) -> bool:
        """Every present value is a whole number (floats like 3.0)."""
        if self.kind != "float" or self.type != "float":
            return self.type == "int"
        x = self.data
        for part in (x[:1024], x):
            whole = np.isnan(part) | (np.isfinite(part) & (part == np.floor(part)))
            if not whole.all():
                return False
        return True

    def _present(self) -> Optional[np.ndarray]:
        if self.kind == "float":
            return ~np.isnan(self.data)
        if self.kind == "codes":
            return self.data >= 0
        if self.kind == "strings":
            masks = [np.ones(len(o) - 1, bool) if v is None else v for o, _, v in self.data]
            return np.concatenate(masks)
        return None  # int: all present

    def present_rows(self, limit: int) -> list[int]:
        """The first ``limit`` rows holding a value."""
        present = self._present()
        if present is None:
            return list(range(min(limit, self.n)))
        return [int(i) for i in np.flatnonzero(present)[:limit]]

    def values_at(self, rows: list[int]) -> list[Any]:
        """The values of some rows, JSON-ready (``None`` for a missing one)."""
        if not rows:
            return []
        idx = np.asarray(rows, dtype=np.int64)
        if self.kind == "strings":
            # Row by row: a few examples, where ``take`` would gather into a new array.
            return [json_value(self.arrow[int(i)].as_py()) for i in idx]
        if self.kind == "codes":
            assert self.uniques is not None
            return [None if c < 0 else json_value(self.uniques[c]) for c in self.data[idx]]
        if self.kind == "int":
            return [int(v) for v in self.data[idx]]
        return [self._float_value(int(i), float(v)) for i, v in zip(idx, self.data[idx])]

    def _float_value(self, i: int, v: float) -> Any:
        if v != v:
            return None
        t = self.type
        ns = int(self.exact[i]) if self.exact is not None else None
        if t == "int":
            return ns if ns is not None else int(v)
        if t == "bool":
            return bool(v)
        if t == "datetime":
            return str(np.datetime64(ns if ns is not None else int(v), "ns"))
        if t in ("timedelta", "time"):
            return str(np.timedelta64(ns if ns is not None else int(v), "ns"))
        return v

    def domain_values(self, prof: dict[str, Any]) -> Optional[list[Any]]:
        """The inferred domain as a schema file holds it, from the core's profile; ``None``
        when its values are not all of the column's kind (a mixed object column)."""
        t = self.type
        if self.kind == "int":
            return [int(v) for v in prof["ints"]]
        if t == "int":
            return [int(v) for v in prof["values"]]
        if t == "bool":
            return [bool(v) for v in prof["values"]]
        if self.kind == "strings":
            return sorted(b.decode("utf-8", "backslashreplace") for b in prof["strings"])
        if self.uniques is None:
            return None
        values = [json_value(u) for u in self.uniques[prof["codes"]]]
        if not all(isinstance(v, str) for v in values):
            return None
        return sorted(values)

    def domain_arg(self, domain: list[Any]) -> Any:
        """The domain as the core takes it for this column."""
        if self.kind == "int":
            return np.asarray(domain, dtype=np.int64)
        if self.kind == "float":
            return np.asarray([float(v) for v in domain], dtype=np.float64)
        if self.kind == "strings":
            return [str(v) for v in domain]
        return self._allowed_codes(domain)

    def _allowed_codes(self, domain: list[Any]) -> np.ndarray:
        """One bool per category code: its value is in ``domain``."""
        uniques = self.uniques
        assert uniques is not None
        try:
            import pandas as pd
        except ImportError:
            allowed = set(domain)
            return np.array([json_value(u) in allowed for u in uniques], dtype=bool)
        return np.asarray(pd.Index(uniques, dtype=object).isin(list(domain)), dtype=bool)


def json_value(v: Any) -> Any:
    """A value as JSON holds it (numpy scalars as Python ones, bytes decoded)."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, bytes):
        return v.decode("utf-8", "backslashreplace")
    if isinstance(v, float) and v != v:
        return None
    if v is None or isinstance(v, (str, int, float, bool)):
        return v
    return str(v)


# -- building columns ------------------------------------------------------------------
def _from_side(name: str, side: Side, what: str) -> Column:
    if side.codes is not None and side.group not in ("text", "null"):
        side = _decoded(side, what)
    t = type_of(side)
    if side.codes is not None and side.uniques is not None:
        codes = np.ascontiguousarray(side.codes, dtype=np.int64)
        return Column(name, side.n, t, side.dtype, "codes", codes, uniques=side.uniques)
    if side.values is None:  # no value at all
        return Column(name, side.n, t, side.dtype, "float", np.full(side.n, np.nan))
    exact = None if side.exact is None else side.exact.view(np.int64)
    values = np.ascontiguousarray(side.values, dtype=np.float64)
    return Column(name, side.n, t, side.dtype, "float", values, exact=exact)


def _decoded(side: Side, what: str) -> Side:
    """A categorical of numbers, booleans or dates as those values (float64)."""
    assert side.codes is not None and side.uniques is not None
    if len(side.uniques) == 0:
        return Side(side.n, "null", side.dtype)
    u = side_any(np.asarray(side.uniques, dtype=object), what)
    if u.values is None:
        return side
    codes = side.codes
    values = np.where(codes >= 0, u.values[np.maximum(codes, 0)], np.nan)
    return Side(side.n, u.group, side.dtype, values=values, integer=u.integer)


def _numpy_fast(name: str, arr: np.ndarray, dtype: str) -> Optional[Column]:
    """float32/64 and integers that int64 holds, without a detour through float64."""
    kind = arr.dtype.kind
    if kind == "f" and arr.dtype.itemsize <= 8:
        values = np.ascontiguousarray(arr, dtype=np.float64)
        return Column(name, len(arr), "float", dtype, "float", values)
    if kind == "i" or (kind == "u" and arr.dtype.itemsize < 8):
        values = np.ascontiguousarray(arr, dtype=np.int64)
        return Column(name, len(arr), "int", dtype, "int", values)
    return None


def _arrow_strings(name: str, arr: Any, dtype: str) -> Optional[Column]:
    """A pyarrow string or binary array (or chunked array) as offsets and bytes, chunk by
    chunk, without copying the strings."""
    import pyarrow as pa

    t = arr.type
    if pa.types.is_string_view(t) or pa.types.is_binary_view(t):
        arr = arr.cast(pa.large_string() if pa.types.is_string_view(t) else pa.large_binary())
        t = arr.type
    wide = pa.types.is_large_string(t) or pa.types.is_large_binary(t)
    if not (wide or pa.types.is_string(t) or pa.types.is_binary(t)):
        return None
    if not isinstance(arr, pa.ChunkedArray):
        arr = pa.chunked_array([arr], type=t)
    chunks = [arrow_string_chunk(c, wide) for c in arr.chunks if len(c)]
    if not chunks:
        chunks = [(np.zeros(1, dtype=np.int64), np.empty(0, np.uint8), None)]
    return Column(name, len(arr), "string", dtype, "strings", chunks, arrow=arr)


def _column(name: str, col: Any, what: str) -> Column:
    mod = type(col).__module__.split(".", 1)[0]
    if isinstance(col, np.ndarray):
        fast = _numpy_fast(name, col, str(col.dtype))
        if fast is not None:
            return fast
    elif mod == "pandas":
        import pandas as pd

        dtype = col.dtype
        if isinstance(dtype, np.dtype):
            fast = _numpy_fast(name, col.to_numpy(), str(dtype))
            if fast is not None:
                return fast
        elif (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow") or (
            isinstance(dtype, pd.ArrowDtype)
        ):
            import pyarrow as pa

            fast = _arrow_strings(name, pa.array(col.array), str(dtype))
            if fast is not None:
                return fast
    elif mod == "pyarrow":
        fast = _arrow_strings(name, col, str(col.type))
        if fast is not None:
            return fast
    return _from_side(name, side_any(col, what), what)


def read_columns(obj: Any, what: str) -> list[Column]:
    """The columns of a table (pandas, polars, pyarrow, dict of columns, numpy), with at
    least one column and one row, names distinct, lengths equal."""
    pairs = table_columns(obj, what)
    if not pairs:
        raise InvalidInputError(f"{what}: the table has no columns")
    seen: set[str] = set()
    out = []
    for name, col in pairs:
        if name in seen:
            raise InvalidInputError(f"{what}: column {name!r} appears twice")
        seen.add(name)
        out.append(_column(name, col, f"{what}[{name!r}]"))
    lengths = {c.n for c in out}
    if len(lengths) > 1:
        raise InvalidInputError(
            f"{what}: columns of different lengths ({', '.join(map(str, sorted(lengths)))})"
        )
    if out[0].n == 0:
        raise InvalidInputError(f"{what}: the table has no rows")
    return out
