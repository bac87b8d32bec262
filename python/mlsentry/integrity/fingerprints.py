r"""Content fingerprints of arrays and tables (see :func:`fingerprint`).

Definition, version 1
=====================

A fingerprint is ``"sha256:" + hex(D)`` where ``D`` is a SHA-256 digest built from the
*content* of the data: its kind, logical types, shape or row count, names and values. It does
not depend on memory layout (C/Fortran order, strides, slices, negative strides), byte order,
chunking (arrow chunks, pandas blocks) or the number of threads. Everything below is exact,
so the digest can be recomputed with ``hashlib`` alone.

Notation: ``u8(x)`` one byte; ``u64(x)`` 8-byte little-endian unsigned; ``lp(b)`` is
``u64(len(b)) || b`` (str are UTF-8 encoded first); ``H`` is SHA-256; ``||`` concatenation.

**Frame.** Every input is normalised into a *frame*: a preamble and columns. A column is a
sequence of *items* (a table cell, an array element) with a header, a logical type tag and
``items_per_row`` (1 for tables). With ``row_order=True``::

    D = H(PREAMBLE || u8(0) || header_1 || C_1 || ... || header_k || C_k)

with ``C_i`` the column digest below. With ``row_order=False``::

    D = H(PREAMBLE || u8(0x01) || header_1 || ... || header_k || M)

where ``M`` is the row multiset digest below. ``PREAMBLE = b"mlsentry-fingerprint/v1\x00" ||
lp(kind) || meta`` with ``kind`` and ``meta``:

* ``"bytes"`` (bytes, bytearray, memoryview): ``meta = u64(len)``; one column, header
  ``lp("uint8")``, items are the bytes. Hence ``fingerprint(b)`` is not ``sha256(b)``: it
  is domain separated.
* ``"ndarray"``: ``meta = lp(tag) || u64(ndim) || u64(d) for d in shape`` (``tag`` is
  ``"struct"`` for a structured dtype, ``"object"`` for an object array). A plain array is
  one column holding its elements in C order. A structured array has one column per leaf
  field (nested fields depth first, in dtype order), holding ``a[path]``. Each column header
  is ``u64(len(path)) || lp(name) for name in path || lp(tag) || u64(len(sub)) || u64(d) for
  d in sub`` where ``sub`` is the subarray shape of the field (empty path and sub for a
  plain array). ``items_per_row`` is the number of items in ``a[0]`` (per field).
* ``"table"`` (pandas DataFrame and Series, pyarrow Table and RecordBatch, polars
  DataFrame): ``meta = u64(n_rows) || u64(n_index_levels) || u64(n_columns)``; the columns
  are the index levels (pandas only, unless ``index=False``) then the data columns in order.
  Each header is ``name(label) || lp(tag) || extra`` (``extra`` is empty except for
  categoricals). A Series is the one-column table ``s.to_frame()``.

``name(v)`` encodes a column or index label: ``None`` → ``u8(0)``; bool →
``u8(1) || u8(v)``; int → ``u8(2) ||`` 16-byte little-endian two's complement; float →
``u8(3) ||`` IEEE-754 binary64 little-endian (NaN → ``u8(0)``); str → ``u8(4) || lp(utf8)``;
bytes → ``u8(5) || lp(v)``; tuple (MultiIndex labels) → ``u8(6) || u64(len) ||`` the
encoded elements. Other label types are refused.

**Items.** A *fixed-width* item is the little-endian bytes of its value: integers,
datetimes and timedeltas (int64 ticks) as stored; ``bool`` as one byte 0 or 1; floats and
complex numbers (real then imaginary part) as IEEE-754 with every NaN replaced by the
canonical quiet NaN (``0x7e00``, ``0x7fc00000``, ``0x7ff8000000000000``; ``-0.0`` stays
distinct from ``0.0``); numpy ``S<n>``/``V<n>`` as their ``n`` bytes, ``U<n>`` as ``n``
UTF-32LE code units. A missing fixed-width item is all zero bytes, except in float and
complex columns where it is the canonical NaN (there, missing and NaN are the same value).
A *variable* item (types ``string`` and ``binary``) is ``u64(len) || bytes`` (UTF-8 for
strings; missing → ``u64(0)``). An item of a ``mixed`` column is a type byte then its
payload: missing ``u8(0)``; bool ``u8(1) || u8(v)``; int ``u8(2) ||`` 16 bytes as above; float
``u8(3) ||`` 8 bytes (NaN is missing); str ``u8(4) || lp(utf8)``; bytes ``u8(5) || lp(v)``.

*Nullable* columns (every table column except float, complex, ``mixed`` and ``null``
ones, and ``string``/``binary`` columns of arrays) also record which items are missing.

**Column digest** (``row_order=True``): the items are cut into chunks of ``chunk_items``
items: ``65536`` in tables, ``max(1, 2**20 // item_size)`` in arrays (``item_size`` = the
numpy item size of the column, 1 for bytes and object arrays). Then::

    C = H(u64(n_items) || H(chunk_0) || H(chunk_1) || ...)
    chunk = [u8(0) | u8(1) || validity] || items          (validity part: nullable only)

where ``u8(1) || validity`` (one byte per item, 1 = present, 0 = missing) is used when the
chunk has a missing item and ``u8(0)`` otherwise.

**Row multiset digest** (``row_order=False``): row ``r`` is items ``[r*ipr, (r+1)*ipr)`` of
every column (``ipr = items_per_row``); its digest is ``H`` of, for each column in order and
each of its items in the row, ``u8(present)`` (nullable columns only) then the item. Then
``M = H(u64(n_rows) || row digests sorted bytewise)``: permuting rows keeps ``M``, any changed
value or duplicated row changes it. Arrays need ``ndim >= 1`` (rows are ``a[i]``).

**Type tags.** Arrays: numpy names without byte order (``bool``, ``int8``...``uint64``,
``float16/32/64``, ``complex64/128``, ``datetime64[ns]``, ``timedelta64[s]``...), ``S<n>``,
``U<n>``, ``V<n>``; object arrays as object columns below; numpy ``StringDType`` arrays
have the top tag ``"string"`` and one ``string`` column. ``longdouble`` is refused (its
padding bytes are not canonical). Tables use one vocabulary for every library:

=======================  =========================================================
tag                      pandas / pyarrow / polars sources
=======================  =========================================================
``bool``                 numpy bool, ``boolean``; arrow ``bool``
``int8`` ... ``uint64``  numpy ints, ``Int8`` ... ``UInt64``; arrow ints
``float16/32/64``        numpy floats, ``Float32/64``; arrow ``halffloat/float/double``
``complex64/128``        numpy complex
``datetime64[u]``        numpy ``datetime64[u]`` (NaT missing); arrow ``timestamp[u]``
``datetime64[u, tz]``    ``DatetimeTZDtype`` (UTC ticks); arrow ``timestamp[u, tz=tz]``
``timedelta64[u]``       numpy ``timedelta64[u]``; arrow ``duration[u]``
``date32[day]`` ...      arrow ``date32``, ``date64`` (``date64[ms]``), ``time32/64``
``string``               object column of str, ``string``/``str`` dtypes; arrow
                         ``string``, ``large_string``, ``string_view``
``binary``               object column of bytes; arrow ``binary``, ``large_binary``
``fixed_size_binary[n]`` arrow ``fixed_size_binary``
``categorical``          pandas ``category``; arrow ``dictionary`` (polars Categorical)
``mixed``                object column with values of several types (see items)
``null``                 object column with only missing values; arrow ``null``
=======================  =========================================================

A ``categorical`` column's ``extra`` is ``u8(ordered) || F`` where ``F`` is the 32-byte
digest ``D`` of the one-column table (label ``None``, no index) of its categories, and its
items are the codes as ``int64`` (missing: -1 → missing item). Object columns may hold str,
bytes, int, float, bool (numpy bool, integer and float64/32/16 scalars count as the Python
values they stand for) and missing values (``None``, NaN, ``pd.NA``, ``pd.NaT``); the tag
is ``string``/``binary`` when all present values are str/bytes, ``null`` when none is
present, ``mixed`` otherwise. Other pandas dtypes (period, interval, sparse) and arrow types
(decimal, nested) are refused.

Cross-library equivalence: a pandas DataFrame fingerprinted with ``index=False``, the
pyarrow Table and the polars DataFrame holding the same columns give the same digest for
the types above: e.g. int64, float64 (missing = NaN = arrow null), bool, string with
missing values, datetime64 in the same unit and time zone, and categoricals with the same
categories in the same order. Not equivalent: pandas numpy ints cannot hold missing values
(pandas turns such columns into float64), the datetime unit is part of the type
(``[ns]`` ≠ ``[us]``), an object column of bools is ``mixed``, not ``bool``, and what
pandas makes of some arrow types differs from them (``to_pandas()`` turns ``date32`` into
``datetime64[ms]``, and nullable ints or bools into float64 or object columns). Polars
categoricals list their categories in order of appearance, pandas sorts them: they agree
when the categories are the same list (e.g. after ``polars_df.to_pandas()``).
"""

from __future__ import annotations

import math
import struct
import sys
from typing import Any

import numpy as np

from .. import _core
from .._progress import ProgressArg, progress_callback
from ..errors import InvalidInputError, InvalidTypeError

__all__ = ["fingerprint"]

PREFIX = b"mlsentry-fingerprint/v1\x00"
TABLE_CHUNK_ITEMS = 65536
ARRAY_CHUNK_BYTES = 1 << 20

_UINT = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}
_FLOAT_TAGS = ("float", "complex")


def _u64(n: int) -> bytes:
    return int(n).to_bytes(8, "little")


def _lp(b: bytes | str) -> bytes:
    if isinstance(b, str):
        b = b.encode("utf-8")
    return _u64(len(b)) + b


def _name(v: Any) -> bytes:
    """The canonical encoding of a column or index label."""
    if v is None:
        return b"\x00"
    if isinstance(v, (bool, np.bool_)):
        return b"\x01" + bytes([bool(v)])
    if isinstance(v, (int, np.integer)):
        return b"\x02" + int(v).to_bytes(16, "little", signed=True)
    if isinstance(v, (float, np.floating)):
        if math.isnan(v):
            return b"\x00"
        return b"\x03" + struct.pack("<d", float(v))
    if isinstance(v, str):
        return b"\x04" + _lp(v)
    if isinstance(v, bytes):
        return b"\x05" + _lp(v)
    if isinstance(v, tuple):
        return b"\x06" + _u64(len(v)) + b"".join(_name(x) for x in v)
    raise InvalidTypeError(
        f"fingerprint: column and index labels must be str, int, float, bool, bytes, None "
        f"or tuples of those, got {type(v).__name__} {v!r}"
    )


class _Col:
    """A column of a frame: tag, header extra, pieces and how its items are canonical."""

    def __init__(
        self,
        tag: str,
        pieces: list[tuple],
        canon: str = "raw",
        unit: int = 1,
        big_endian: bool = False,
        nullable: bool | None = None,
        extra: bytes = b"",
        item_size: int = 1,
    ) -> None:
        self.tag = tag
        self.pieces = pieces
        self.canon = canon
        self.unit = unit
        self.big_endian = big_endian
        if nullable is None:
            nullable = not tag.startswith(_FLOAT_TAGS) and tag not in ("mixed", "null")
        self.nullable = nullable
        self.extra = extra
        self.item_size = item_size

    def spec(self, header: bytes, items_per_row: int, chunk_items: int) -> tuple:
        return (
            header,
            self.pieces,
            self.canon,
            self.unit,
            self.big_endian,
            self.nullable,
            items_per_row,
            chunk_items,
        )


def _big_endian(dt: np.dtype) -> bool:
    return dt.byteorder == ">" or (dt.byteorder == "=" and sys.byteorder == "big")


def _words(a: np.ndarray) -> np.ndarray:
    """A zero-copy view of ``a`` as unsigned words (one per item when aligned and 1/2/4/8
    bytes wide, else the item's bytes along a new last axis)."""
    n = a.dtype.itemsize
    if a.flags.aligned and n in _UINT:
        return a.view(_UINT[n])
    return a[..., None].view(np.uint8)


def _numpy_fixed(a: np.ndarray, what: str) -> tuple[str, str, int]:
    """(tag, canon, unit) of a fixed-width numpy dtype, or an error naming ``what``."""
    dt = a.dtype
    kind, size = dt.kind, dt.itemsize
    if kind == "b":
        return "bool", "bool", 1
    if kind in "iu":
        return dt.name, "raw", size
    if kind == "f" and size in (2, 4, 8):
        return dt.name, "float", size
    if kind == "c" and size in (8, 16):
        return dt.name, "float", size // 2
    if kind in "mM":
        return dt.name, "raw", 8
    if kind == "S" and size:
        return f"S{size}", "raw", 1
    if kind == "U" and size:
        return f"U{size // 4}", "raw", 4
    if kind == "V" and dt.names is None and size:
        return f"V{size}", "raw", 1
    raise InvalidTypeError(
        f"fingerprint: {what} has dtype {dt}, which has no canonical encoding "
        "(supported: bool, ints, float16/32/64, complex64/128, datetime64, timedelta64, "
        "S, U, V and structured dtypes, object arrays of str/bytes/numbers)"
    )


def _fixed_col(
    a: np.ndarray, what: str, validity: np.ndarray | None = None, tag: str | None = None
) -> _Col:
    t, canon, unit = _numpy_fixed(a, what)
    if validity is not None:
        validity = np.ascontiguousarray(validity, dtype=np.bool_).view(np.uint8)
    return _Col(
        tag or t,
        [("fixed", _words(a), a.dtype.itemsize, validity)],
        canon,
        unit,
        _big_endian(a.dtype),
        item_size=a.dtype.itemsize,
    )


def _objects_col(
    values: np.ndarray, what: str, nulls: tuple = (), expect: str | None = None
) -> _Col:
    values = np.ravel(np.asarray(values, dtype=object))
    obj = _core.fingerprint_objects(values, nulls, what, expect)
    return _Col(
        obj.tag, [("objects", obj)] if len(obj) else [], nullable=obj.tag in ("string", "binary")
    )


# --- numpy ------------------------------------------------------------------------------


def _ndarray_leaves(a: np.ndarray, path: tuple[str, ...], ndim: int, out: list) -> None:
    if a.dtype.names is not None:
        for name in a.dtype.names:
            _ndarray_leaves(a[name], (*path, name), ndim, out)
        return
    what = "the array" if not path else f"field {'.'.join(path)!r}"
    if a.dtype.kind in "OT":
        # numpy's variable-width StringDType ("T") goes through Python str objects.
        expect = "string" if a.dtype.kind == "T" else None
        values = a.astype(object) if expect else a
        col = _objects_col(values, what, expect=expect)
        col.nullable = col.tag in ("string", "binary")
        col.item_size = 1
    else:
        col = _fixed_col(a, what)
        col.nullable = False
    out.append((path, a.shape[ndim:], col))


def _ndarray(a: np.ndarray, row_order: bool, cb: Any = None) -> str:
    if isinstance(a, np.ma.MaskedArray):
        raise InvalidTypeError(
            "fingerprint: masked arrays are not supported (their masked values are "
            "arbitrary); pass a.filled(...) or a pandas object with missing values"
        )
    if not row_order and a.ndim == 0:
        raise InvalidInputError(
            "fingerprint: row_order=False needs an array with at least one dimension"
        )
    top = "struct" if a.dtype.names is not None else _numpy_fixed_or_object_tag(a)
    preamble = (
        PREFIX + _lp("ndarray") + _lp(top) + _u64(a.ndim) + b"".join(_u64(d) for d in a.shape)
    )
    leaves: list = []
    _ndarray_leaves(a, (), a.ndim, leaves)
    n_rows = a.shape[0] if a.ndim else 1
    specs = []
    for path, sub, col in leaves:
        header = (
            _u64(len(path))
            + b"".join(_lp(p) for p in path)
            + _lp(col.tag)
            + _u64(len(sub))
            + b"".join(_u64(d) for d in sub)
        )
        per_row = int(np.prod(a.shape[1:], dtype=np.int64)) * int(np.prod(sub, dtype=np.int64))
        chunk = max(1, ARRAY_CHUNK_BYTES // col.item_size)
        specs.append(col.spec(header, per_row, chunk))
    return _core.fingerprint_frame(preamble, specs, n_rows, row_order, cb)


def _numpy_fixed_or_object_tag(a: np.ndarray) -> str:
    if a.dtype.kind == "O":
        return "object"
    if a.dtype.kind == "T":
        return "string"
    return _numpy_fixed(a, "the array")[0]


# --- pyarrow ------------------------------------------------------------------------------


def _arrow_validity(arr: Any) -> np.ndarray | None:
    if arr.null_count == 0:
        return None
    buf = arr.buffers()[0]
    if buf is None:  # a null-type array or a union: every item missing
        return np.zeros(len(arr), dtype=np.uint8)
    bits = np.frombuffer(buf, dtype=np.uint8)
    return np.unpackbits(bits, bitorder="little", count=arr.offset + len(arr))[arr.offset :]


def _arrow_tag(typ: Any, what: str) -> str:
    import pyarrow as pa

    t = pa.types
    if t.is_boolean(typ):
        return "bool"
    if t.is_integer(typ):
        return str(typ)
    if t.is_floating(typ):
        return f"float{typ.bit_width}"
    if t.is_timestamp(typ):
        return f"datetime64[{typ.unit}, {typ.tz}]" if typ.tz else f"datetime64[{typ.unit}]"
    if t.is_duration(typ):
        return f"timedelta64[{typ.unit}]"
    if t.is_date32(typ):
        return "date32[day]"
    if t.is_date64(typ):
        return "date64[ms]"
    if t.is_time32(typ) or t.is_time64(typ):
        return f"time{typ.bit_width}[{typ.unit}]"
    if t.is_string(typ) or t.is_large_string(typ) or t.is_string_view(typ):
        return "string"
    if t.is_binary(typ) or t.is_large_binary(typ) or t.is_binary_view(typ):
        return "binary"
    if t.is_fixed_size_binary(typ):
        return f"fixed_size_binary[{typ.byte_width}]"
    if t.is_null(typ):
        return "null"
    raise InvalidTypeError(f"fingerprint: {what} has arrow type {typ}, which is not supported")


def _arrow_col(col: Any, what: str) -> _Col:
    import pyarrow as pa

    chunks = list(col.chunks) if isinstance(col, pa.ChunkedArray) else [col]
    typ = col.type
    if pa.types.is_dictionary(typ):
        return _arrow_categorical(col, what)
    tag = _arrow_tag(typ, what)
    if pa.types.is_string_view(typ) or pa.types.is_binary_view(typ):
        target = pa.large_string() if tag == "string" else pa.large_binary()
        chunks = [c.cast(target) for c in chunks]
    pieces: list[tuple] = []
    canon, unit = "raw", 1
    for c in chunks:
        n, off = len(c), c.offset
        valid = _arrow_validity(c)
        bufs = c.buffers()
        if tag == "null":
            pieces.append(("null", n))
        elif tag == "bool":
            data = bufs[1]
            bits = (
                np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
            )
            values = (
                np.unpackbits(bits, bitorder="little", count=off + n)[off:]
                if n
                else np.zeros(0, np.uint8)
            )
            pieces.append(("fixed", values, 1, valid))
            canon = "bool"
        elif tag in ("string", "binary"):
            large = pa.types.is_large_string(c.type) or pa.types.is_large_binary(c.type)
            odt = np.dtype("<i8" if large else "<i4")
            offsets = (
                np.frombuffer(bufs[1], dtype=odt, count=off + n + 1)[off:]
                if bufs[1]
                else np.zeros(1, odt)
            )
            data = (
                np.frombuffer(bufs[2], dtype=np.uint8)
                if bufs[2] is not None
                else np.zeros(0, np.uint8)
            )
            pieces.append(("var", offsets, data, valid))
        elif tag.startswith("fixed_size_binary"):
            w = typ.byte_width
            raw = (
                np.frombuffer(bufs[1], dtype=np.uint8, count=(off + n) * w)
                if n
                else np.zeros(0, np.uint8)
            )
            pieces.append(("fixed", raw.reshape(-1, w)[off:], w, valid))
        else:
            w = typ.bit_width // 8
            dt = np.dtype(f"<u{w}")
            values = np.frombuffer(bufs[1], dtype=dt, count=off + n)[off:] if n else np.zeros(0, dt)
            pieces.append(("fixed", _words(values), w, valid))
            unit = w
            canon = "float" if tag.startswith("float") else "raw"
    return _Col(tag, pieces, canon, unit, False)


def _arrow_categorical(col: Any, what: str) -> _Col:
    import pyarrow as pa

    if isinstance(col, pa.ChunkedArray):
        col = pa.table({"c": col}).unify_dictionaries().column(0)
        chunks = list(col.chunks)
    else:
        chunks = [col]
    dictionary = chunks[0].dictionary if chunks else pa.array([], type=col.type.value_type)
    categories = _table_digest(
        [], [(None, _arrow_col(dictionary, f"the categories of {what}"))], len(dictionary), True
    )
    pieces = []
    for c in chunks:
        idx = c.indices
        codes = idx.fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
        pieces.append(("fixed", codes.view(np.uint64), 8, _arrow_validity(idx)))
    extra = bytes([bool(col.type.ordered)]) + categories
    return _Col("categorical", pieces, "raw", 8, False, extra=extra)


# --- pandas -------------------------------------------------------------------------------


def _pandas_col(values: Any, what: str) -> _Col:
    """A pandas Series or Index as a column."""
    import pandas as pd

    dtype = values.dtype
    nulls = (pd.NA, pd.NaT)
    if isinstance(dtype, np.dtype):
        a = values.to_numpy(copy=False)
        if dtype.kind == "O":
            return _objects_col(a, what, nulls)
        if dtype.kind in "mM":
            nat = np.isnat(a)
            ticks = a.view(np.dtype(np.int64).newbyteorder(dtype.byteorder))
            return _fixed_col(ticks, what, ~nat if nat.any() else None, tag=dtype.name)
        return _fixed_col(a, what)
    if isinstance(dtype, (pd.PeriodDtype, pd.IntervalDtype, pd.SparseDtype)):
        raise InvalidTypeError(
            f"fingerprint: {what} has pandas dtype {dtype}, which is not supported "
            "(convert it, e.g. to its string or integer representation)"
        )
    arr = values.array
    if isinstance(dtype, pd.CategoricalDtype):
        cats = _table_digest(
            [],
            [(None, _pandas_col(arr.categories, f"the categories of {what}"))],
            len(arr.categories),
            True,
        )
        codes = np.asarray(arr.codes).astype(np.int64)
        missing = codes < 0
        valid = ~missing if missing.any() else None
        col = _fixed_col(codes, what, valid, tag="categorical")
        col.extra = bytes([bool(dtype.ordered)]) + cats
        return col
    if isinstance(dtype, pd.DatetimeTZDtype):
        ticks = np.asarray(arr.asi8)
        missing = ticks == np.iinfo(np.int64).min
        unit = getattr(dtype, "unit", "ns")
        return _fixed_col(
            ticks, what, ~missing if missing.any() else None, tag=f"datetime64[{unit}, {dtype.tz}]"
        )
    if hasattr(arr, "_data") and hasattr(arr, "_mask") and isinstance(arr._data, np.ndarray):
        data, mask = arr._data, np.asarray(arr._mask)
        return _fixed_col(data, what, ~mask if mask.any() else None)
    if isinstance(dtype, pd.StringDtype) and dtype.storage == "python":
        return _objects_col(arr.to_numpy(dtype=object), what, nulls, expect="string")
    if hasattr(arr, "__arrow_array__"):
        return _arrow_col(arr.__arrow_array__(), what)
    raise InvalidTypeError(f"fingerprint: {what} has pandas dtype {dtype}, which is not supported")


def _pandas_frame(obj: Any, index: bool) -> tuple[list, list, int]:
    import pandas as pd

    if isinstance(obj, pd.Series):
        obj = obj.to_frame()
    idx: list = []
    if index:
        ix = obj.index
        for i in range(ix.nlevels):
            level = ix.get_level_values(i)
            idx.append((ix.names[i], _pandas_col(level, f"index level {i} ({ix.names[i]!r})")))
    cols = [
        (label, _pandas_col(obj.iloc[:, i], f"column {label!r}"))
        for i, label in enumerate(obj.columns)
    ]
    return idx, cols, len(obj)


# --- frames -------------------------------------------------------------------------------


def _table_preamble(index_cols: list, cols: list, n_rows: int) -> bytes:
    return PREFIX + _lp("table") + _u64(n_rows) + _u64(len(index_cols)) + _u64(len(cols))


def _table_specs(index_cols: list, cols: list) -> list:
    return [
        c.spec(_name(label) + _lp(c.tag) + c.extra, 1, TABLE_CHUNK_ITEMS)
        for label, c in [*index_cols, *cols]
    ]


def _table(index_cols: list, cols: list, n_rows: int, row_order: bool, cb: Any = None) -> str:
    preamble = _table_preamble(index_cols, cols, n_rows)
    return _core.fingerprint_frame(preamble, _table_specs(index_cols, cols), n_rows, row_order, cb)


def _table_digest(index_cols: list, cols: list, n_rows: int, row_order: bool) -> bytes:
    return bytes.fromhex(_table(index_cols, cols, n_rows, row_order).split(":", 1)[1])


def _arrow_table(table: Any, row_order: bool, cb: Any = None) -> str:
    cols = [
        (name, _arrow_col(table.column(i), f"column {name!r}"))
        for i, name in enumerate(table.column_names)
    ]
    return _table([], cols, table.num_rows, row_order, cb)


# --- a table digested in parts (for mlsentry.spark) -------------------------------------


def _as_pandas_col(col: Any, conversion: str, what: str) -> _Col:
    """An Arrow column as the column of the pandas frame a converter makes of it:
    ``"arrow"`` as it is, ``"float64"`` integers as float64 (missing: NaN), ``"mixed"`` an
    object column of its values and None (tag ``mixed`` whatever this part holds),
    ``"null"`` an object column without any value, ``"wall_clock"`` time-zone-aware
    timestamps as the naive wall-clock times of their zone."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if conversion == "null":
        return _Col("null", [("null", len(col))])
    if conversion == "float64":
        return _arrow_col(pc.cast(col, pa.float64(), safe=False), what)
    if conversion == "mixed":
        values = col.to_numpy(zero_copy_only=False).astype(object)
        return _objects_col(values, what, expect="mixed")
    if conversion == "wall_clock" and col.type.tz is not None:
        return _arrow_col(pc.local_timestamp(col), what)
    if conversion not in ("arrow", "wall_clock"):
        raise InvalidInputError(f"fingerprint: unknown column conversion {conversion!r}")
    return _arrow_col(col, what)


def _row_digest_run(table: Any, conversions: list[str], labels: list[Any]) -> bytes:
    """The sorted row digests (32 bytes each) of an Arrow table's rows, its columns
    converted as :func:`_as_pandas_col` says: one run for :func:`_multiset_fingerprint`."""
    cols = [
        (label, _as_pandas_col(table.column(i), conv, f"column {label!r}"))
        for i, (conv, label) in enumerate(zip(conversions, labels))
    ]
    return _core.fingerprint_sorted_rows(_table_specs([], cols), table.num_rows)


def _multiset_fingerprint(labels: list[Any], tags: list[str], runs: list[bytes]) -> str:
    """``fingerprint(frame, row_order=False, index=False)`` of a table given as its column
    labels, type tags and runs of sorted row digests of all its rows (any split)."""
    n_rows = sum(len(r) for r in runs) // 32
    preamble = PREFIX + _lp("table") + _u64(n_rows) + _u64(0) + _u64(len(labels))
    headers = [_name(label) + _lp(tag) for label, tag in zip(labels, tags)]
    return _core.fingerprint_merge_rows(preamble, headers, runs)


def _bytes(obj: Any, row_order: bool, cb: Any = None) -> str:
    mv = memoryview(obj)
    data = np.frombuffer(mv.cast("B") if mv.c_contiguous else mv.tobytes(), dtype=np.uint8)
    preamble = PREFIX + _lp("bytes") + _u64(data.size)
    spec = _Col("uint8", [("fixed", data, 1, None)], nullable=False).spec(
        _lp("uint8"), 1, ARRAY_CHUNK_BYTES
    )
    return _core.fingerprint_frame(preamble, [spec], data.size, row_order, cb)


def fingerprint(
    obj: object, *, index: bool = True, row_order: bool = True, progress: ProgressArg = False
) -> str:
    """The canonical content digest of an array, a table or bytes.

    Two objects have the same fingerprint exactly when they hold the same values with the
    same types, shape and names, whatever their memory layout, byte order or chunking. The
    definition (version 1) is in the module documentation of ``mlsentry.integrity.fingerprints``.

    Parameters
    ----------
    obj : array, DataFrame, Series, Table, RecordBatch or bytes-like
        A numpy array, a pandas DataFrame or Series, a pyarrow Table or RecordBatch, a
        polars DataFrame or Series, or bytes, bytearray or memoryview.
        The data. numpy arrays of any fixed-width dtype (bool, ints, floats, complex,
        datetime64/timedelta64, ``S``/``U``/``V``, structured) or of objects (str, bytes,
        int, float, bool, None); table columns of numeric, bool, string, binary,
        categorical, datetime (tz-aware too), timedelta and nullable dtypes, with missing
        values.
    index : bool, default True
        Include the pandas index (every level of a MultiIndex) and its names. Use
        ``index=False`` to compare a pandas DataFrame with the same table read by pyarrow
        or polars. Ignored for other inputs.
    row_order : bool, default True
        If False, the digest ignores the order of rows (the first axis of an array): it
        hashes the sorted per-row SHA-256 digests, so duplicated rows still count.
    progress : bool or callable, optional
        ``True`` shows a tqdm bar (when tqdm is installed); a callable is called as
        ``progress(done, total)`` with counts of items (cells, elements or bytes).

    Returns
    -------
    str
        ``"sha256:"`` followed by 64 hexadecimal digits.

    Raises
    ------
    InvalidTypeError
        ``obj`` is not a supported type, or holds a dtype or value with no canonical
        encoding (the message names the column).
    InvalidInputError
        ``row_order=False`` for a 0-dimensional array.

    Examples
    --------
    >>> import numpy as np
    >>> import mlsentry as ms
    >>> a = np.arange(6, dtype=np.int64).reshape(2, 3)
    >>> ms.fingerprint(a) == ms.fingerprint(np.asfortranarray(a))
    True
    >>> ms.fingerprint(a) == ms.fingerprint(a.astype(np.int32))
    False
    >>> ms.fingerprint(a[::-1], row_order=False) == ms.fingerprint(a, row_order=False)
    True
    >>> ms.fingerprint(b"hello")
    'sha256:...'
    """
    for arg, value in (("index", index), ("row_order", row_order)):
        if not isinstance(value, (bool, np.bool_)):
            raise InvalidTypeError(f"fingerprint: {arg} must be a bool, got {type(value).__name__}")
    row_order = bool(row_order)
    with progress_callback(progress, "fingerprint", unit="it") as cb:
        digest = _dispatch(obj, bool(index), row_order, cb)
    if digest is not None:
        return digest
    cls = type(obj)
    raise InvalidTypeError(
        "fingerprint: obj must be a numpy array, a pandas DataFrame or Series, a pyarrow "
        "Table or RecordBatch, a polars DataFrame or Series, or bytes/bytearray/memoryview; "
        f"got {cls.__module__}.{cls.__qualname__}"
    )


def _dispatch(obj: Any, index: bool, row_order: bool, cb: Any) -> str | None:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return _bytes(obj, row_order, cb)
    if isinstance(obj, np.generic):
        obj = np.asarray(obj)
    if isinstance(obj, np.ndarray):
        return _ndarray(obj, row_order, cb)
    module = (type(obj).__module__ or "").split(".")[0]
    if module == "pandas":
        import pandas as pd

        if isinstance(obj, (pd.DataFrame, pd.Series)):
            idx, cols, n = _pandas_frame(obj, index)
            return _table(idx, cols, n, row_order, cb)
    elif module == "pyarrow":
        import pyarrow as pa

        if isinstance(obj, pa.RecordBatch):
            obj = pa.Table.from_batches([obj])
        if isinstance(obj, pa.Table):
            return _arrow_table(obj, row_order, cb)
    elif module == "polars":
        import polars as pl

        if isinstance(obj, pl.Series):
            obj = obj.to_frame()
        if isinstance(obj, pl.DataFrame):
            return _arrow_table(obj.to_arrow(), row_order, cb)
    return None
