"""One column of a table as the leakage core reads it (see ``src/py/data/leakage.rs``):
numbers as float64 / int64 / uint64, other fixed-width kinds as tagged int64 (booleans,
datetimes and durations in nanoseconds, times of day), strings and binary as arrow
offsets and data, borrowed without a copy where the library allows it."""

from __future__ import annotations

from typing import Any, Optional

import numpy as np

from .. import _core
from ..errors import InvalidInputError, InvalidTypeError

_KIND = dict(_core.LEAKAGE_KINDS)


def _module(obj: Any) -> str:
    return type(obj).__module__.split(".", 1)[0]


def _u8(mask: Optional[np.ndarray]) -> Optional[np.ndarray]:
    """A validity mask (True = present) as contiguous uint8, or None when all present."""
    if mask is None or mask.all():
        return None
    return np.ascontiguousarray(mask, dtype=np.bool_).view(np.uint8)


def _numpy(a: np.ndarray, what: str) -> tuple:
    kind = a.dtype.kind
    if kind == "f" and a.dtype.itemsize <= 8:
        return ("float", np.ascontiguousarray(a, dtype=np.float64))
    if kind == "i":
        return ("int", np.ascontiguousarray(a, dtype=np.int64), None)
    if kind == "u":
        return ("uint", np.ascontiguousarray(a, dtype=np.uint64), None)
    if kind == "b":
        return ("tagged", _KIND["bool"], a.astype(np.int64), None)
    if kind in "mM":
        unit = "M8[ns]" if kind == "M" else "m8[ns]"
        ticks = np.ascontiguousarray(a.astype(unit).view(np.int64))
        tag = "datetime" if kind == "M" else "timedelta"
        return ("tagged", _KIND[tag], ticks, _u8(~np.isnat(a)))
    if kind in "US":
        return _numpy_text(a)
    if kind in "OT":
        return _arrow(_objects_to_arrow(a, what), what)
    raise InvalidTypeError(
        f"{what}: numpy dtype {a.dtype} is not supported (numbers, bool, datetime64, "
        "timedelta64, strings, bytes)"
    )


def _numpy_text(a: np.ndarray) -> tuple:
    """A numpy ``str`` or ``bytes`` column as UTF-8 (or raw) bytes and offsets, without
    pyarrow: numpy pads each value to the dtype's width, so the bytes of row ``r`` are the
    first ``len(r)`` of its slot (numpy never stores trailing NUL characters)."""
    raw = np.char.encode(a, "utf-8") if a.dtype.kind == "U" else a
    lengths = np.char.str_len(raw).astype(np.int64)
    width = raw.dtype.itemsize
    slots = np.ascontiguousarray(raw).view(np.uint8).reshape(len(raw), width)
    data = np.ascontiguousarray(slots[np.arange(width) < lengths[:, None]])
    offsets = np.concatenate([np.zeros(1, np.int64), np.cumsum(lengths)])
    return ("text", _KIND["str" if a.dtype.kind == "U" else "bytes"], offsets, data, None)


def _objects_to_arrow(values: Any, what: str) -> Any:
    import pyarrow as pa

    try:
        return pa.array(values, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError):
        raise InvalidTypeError(
            f"{what}: the column holds values of several kinds (e.g. strings and numbers) "
            "or values arrow cannot convert; convert it to one type first"
        ) from None


def _validity(col: Any) -> Optional[np.ndarray]:
    import pyarrow.compute as pc

    if col.null_count == 0:
        return None
    return _u8(np.asarray(pc.is_valid(col).to_numpy(zero_copy_only=False), dtype=bool))


def _filled(col: Any, target: Any, fill: Any, dtype: Any) -> np.ndarray:
    import pyarrow.compute as pc

    values = pc.fill_null(pc.cast(col, target), fill).to_numpy(zero_copy_only=False)
    return np.ascontiguousarray(values, dtype=dtype)


def _arrow(col: Any, what: str) -> tuple:
    import pyarrow as pa
    import pyarrow.compute as pc

    if isinstance(col, pa.Array):
        col = pa.chunked_array([col], type=col.type)
    t = col.type
    types = pa.types
    if types.is_dictionary(t):
        decoded = [c.dictionary_decode() for c in col.chunks]
        return _arrow(pa.chunked_array(decoded, type=t.value_type), what)
    if types.is_null(t):
        return ("null", len(col))
    if types.is_integer(t):
        if types.is_uint64(t):
            return ("uint", _filled(col, pa.uint64(), 0, np.uint64), _validity(col))
        return ("int", _filled(col, pa.int64(), 0, np.int64), _validity(col))
    if types.is_floating(t) or types.is_decimal(t):
        return ("float", _filled(col, pa.float64(), np.nan, np.float64))
    if types.is_boolean(t):
        return ("tagged", _KIND["bool"], _filled(col, pa.int64(), 0, np.int64), _validity(col))
    tagged = (
        (types.is_timestamp, lambda: pa.timestamp("ns", t.tz), "datetime"),
        (types.is_date, lambda: pa.timestamp("ns"), "datetime"),
        (types.is_duration, lambda: pa.duration("ns"), "timedelta"),
        (types.is_time, lambda: pa.time64("ns"), "time"),
    )
    for test, unit, kind in tagged:
        if test(t):
            try:
                ns = pc.cast(col, unit())
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as e:
                raise InvalidInputError(f"{what}: cannot convert to nanoseconds ({e})") from None
            return ("tagged", _KIND[kind], _filled(ns, pa.int64(), 0, np.int64), _validity(col))
    text = (
        types.is_string(t)
        or types.is_large_string(t)
        or types.is_string_view(t)
        or types.is_binary(t)
        or types.is_large_binary(t)
        or types.is_binary_view(t)
        or types.is_fixed_size_binary(t)
    )
    if text:
        is_str = types.is_string(t) or types.is_large_string(t) or types.is_string_view(t)
        large = pa.large_string() if is_str else pa.large_binary()
        if types.is_fixed_size_binary(t):
            col = pc.cast(pc.cast(col, pa.binary()), large)
        elif col.type != large:
            col = pc.cast(col, large)
        arr = col.combine_chunks() if col.num_chunks != 1 else col.chunk(0)
        n, off = len(arr), arr.offset
        bufs = arr.buffers()
        offsets = (
            np.frombuffer(bufs[1], dtype=np.int64, count=off + n + 1)[off:]
            if bufs[1] is not None
            else np.zeros(n + 1, np.int64)
        )
        data = (
            np.frombuffer(bufs[2], dtype=np.uint8) if bufs[2] is not None else np.zeros(0, np.uint8)
        )
        code = _KIND["str" if is_str else "bytes"]
        return ("text", code, offsets, data, _validity(arr))
    raise InvalidTypeError(f"{what}: arrow type {t} is not supported")


def _pandas(s: Any, what: str) -> tuple:
    dtype = s.dtype
    if isinstance(dtype, np.dtype):
        a = s.to_numpy()
        if dtype.kind == "O":
            return _arrow(_objects_to_arrow(a, what), what)
        return _numpy(a, what)
    arr = s.array
    if hasattr(arr, "__arrow_array__"):
        import pyarrow as pa

        try:
            return _arrow(arr.__arrow_array__(), what)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, TypeError):
            pass
    return _arrow(_objects_to_arrow(s.astype(object).to_numpy(), what), what)


def cells(col: Any, what: str) -> tuple:
    """The core's tuple for one column: a pandas Series, a pyarrow (Chunked)Array or a
    1-D numpy array (what ``mlsentry._tables.table_columns`` gives)."""
    mod = _module(col)
    if mod == "pandas":
        return _pandas(col, what)
    if mod == "pyarrow":
        return _arrow(col, what)
    a = np.asarray(col)
    if a.ndim != 1:
        raise InvalidInputError(f"{what}: expected a 1-D column, got shape {a.shape}")
    return _numpy(a, what)
