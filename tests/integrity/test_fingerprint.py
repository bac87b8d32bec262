"""ms.fingerprint: the canonical, versioned content digest of arrays, tables and bytes."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import sys

import numpy as np
import pytest

import mlsentry as ms
from mlsentry.errors import InvalidInputError, InvalidTypeError

pd = pytest.importorskip("pandas")
pa = pytest.importorskip("pyarrow")

PREFIX = b"mlsentry-fingerprint/v1\x00"


def u64(n):
    return int(n).to_bytes(8, "little")


def lp(b):
    b = b.encode() if isinstance(b, str) else b
    return u64(len(b)) + b


def H(*parts):
    return hashlib.sha256(b"".join(parts)).digest()


def fp(x, **kw):
    return ms.fingerprint(x, **kw)


# --- the definition, recomputed with hashlib --------------------------------------------


def test_hand_computed_array_digest():
    a = np.array([[1, -2, 3], [4, 5, 6]], dtype=np.int64)
    data = a.astype("<i8").tobytes()
    column = H(u64(6), H(data))  # one chunk (2**20 // 8 items per chunk)
    preamble = PREFIX + lp("ndarray") + lp("int64") + u64(2) + u64(2) + u64(3)
    header = u64(0) + lp("int64") + u64(0)
    expected = "sha256:" + H(preamble, b"\x00", header, column).hex()
    assert fp(a) == expected
    assert fp(np.asfortranarray(a)) == expected
    # Without row order: sorted SHA-256 of each row's canonical bytes.
    rows = sorted(H(r.tobytes()) for r in a)
    m = H(u64(2), *rows)
    assert fp(a, row_order=False) == "sha256:" + H(preamble, b"\x01", header, m).hex()


def test_hand_computed_table_digest():
    df = pd.DataFrame({"a": np.array([1, 2], dtype=np.int64), "f": [0.5, np.nan]})
    preamble = PREFIX + lp("table") + u64(2) + u64(0) + u64(2)
    ha = b"\x04" + lp("a") + lp("int64")
    ca = H(u64(2), H(b"\x00" + np.array([1, 2], "<i8").tobytes()))  # nullable: validity byte
    hf = b"\x04" + lp("f") + lp("float64")
    fbytes = struct.pack("<d", 0.5) + (0x7FF8000000000000).to_bytes(8, "little")
    cf = H(u64(2), H(fbytes))  # float: no validity section
    expected = "sha256:" + H(preamble, b"\x00", ha, ca, hf, cf).hex()
    assert fp(df, index=False) == expected
    # With the RangeIndex as an int64 level named None.
    pre_i = PREFIX + lp("table") + u64(2) + u64(1) + u64(2)
    hi = b"\x00" + lp("int64")
    ci = H(u64(2), H(b"\x00" + np.arange(2, dtype="<i8").tobytes()))
    assert fp(df) == "sha256:" + H(pre_i, b"\x00", hi, ci, ha, ca, hf, cf).hex()


def test_hand_computed_bytes_and_strings():
    b = b"hello"
    pre = PREFIX + lp("bytes") + u64(5)
    assert fp(b) == "sha256:" + H(pre, b"\x00", lp("uint8"), H(u64(5), H(b))).hex()
    assert fp(b) != "sha256:" + hashlib.sha256(b).hexdigest()
    df = pd.DataFrame({"s": pd.Series(["ab", None], dtype=object)})
    items = u64(2) + b"ab" + u64(0)
    col = H(u64(2), H(b"\x01" + bytes([1, 0]) + items))
    pre = PREFIX + lp("table") + u64(2) + u64(0) + u64(1)
    expected = "sha256:" + H(pre, b"\x00", b"\x04" + lp("s") + lp("string"), col).hex()
    assert fp(df, index=False) == expected


def test_hand_computed_categorical_and_mixed_columns():
    table = PREFIX + lp("table") + u64(2) + u64(0) + u64(1)
    df = pd.DataFrame({"c": pd.Categorical(["x", None], categories=["x", "y"])})
    cat_items = u64(1) + b"x" + u64(1) + b"y"
    cats = H(table, b"\x00", b"\x00" + lp("string"), H(u64(2), H(b"\x00" + cat_items)))
    header = b"\x04" + lp("c") + lp("categorical") + b"\x00" + cats
    codes = H(u64(2), H(b"\x01" + bytes([1, 0]) + u64(0) + u64(0)))
    assert fp(df, index=False) == "sha256:" + H(table, b"\x00", header, codes).hex()

    values = ["a", 1, None, 2.5, b"z", True]
    df = pd.DataFrame({"m": pd.Series(values, dtype=object)})
    items = (
        b"\x04" + lp("a")
        + b"\x02" + (1).to_bytes(16, "little", signed=True)
        + b"\x00"
        + b"\x03" + struct.pack("<d", 2.5)
        + b"\x05" + lp(b"z")
        + b"\x01\x01"
    )  # fmt: skip
    pre = PREFIX + lp("table") + u64(6) + u64(0) + u64(1)
    col = H(u64(6), H(items))  # mixed: no validity section
    expected = H(pre, b"\x00", b"\x04" + lp("m") + lp("mixed"), col)
    assert fp(df, index=False) == "sha256:" + expected.hex()


def test_format():
    d = fp(np.arange(3))
    assert d.startswith("sha256:") and len(d) == 71
    int(d[7:], 16)


# --- arrays: layout does not matter, content does ---------------------------------------


ARRAYS = [
    np.arange(60, dtype=np.float64).reshape(6, 10) / 7,
    np.arange(60, dtype=np.int32).reshape(6, 10) - 30,
    (np.arange(60) % 3 == 0).reshape(6, 10),
    (np.arange(60) + 1j * np.arange(60)[::-1]).reshape(6, 10).astype(np.complex128),
    np.arange(60, dtype=np.complex64).reshape(6, 10),
    np.array([f"s{i}é" for i in range(60)]).reshape(6, 10),
    np.array([f"b{i}".encode() for i in range(60)]).reshape(6, 10),
    np.arange(60).astype("datetime64[s]").reshape(6, 10),
    np.arange(60).astype("timedelta64[ms]").reshape(6, 10),
    np.arange(60, dtype=np.float16).reshape(6, 10),
    np.arange(60, dtype=np.uint8).reshape(6, 10),
]


@pytest.mark.parametrize("a", ARRAYS, ids=lambda a: str(a.dtype))
def test_array_layouts_give_the_same_digest(a):
    d = fp(a)
    assert fp(np.asfortranarray(a)) == d
    assert fp(np.ascontiguousarray(np.asfortranarray(a).T).T) == d
    big = np.repeat(np.repeat(a, 2, axis=0), 3, axis=1)
    assert fp(big[::2, ::3]) == d  # strided view
    flipped = np.ascontiguousarray(a[::-1, ::-1])
    assert fp(flipped[::-1, ::-1]) == d  # negative strides
    swapped = a.astype(a.dtype.newbyteorder(">" if sys.byteorder == "little" else "<"))
    assert fp(swapped) == d  # non-native byte order
    packed = np.zeros(a.shape, dtype=[("pad", "u1"), ("x", a.dtype)])
    packed["x"] = a
    assert fp(packed["x"]) == d  # unaligned
    assert fp(a, row_order=False) == fp(a[::-1], row_order=False)


@pytest.mark.parametrize("a", ARRAYS, ids=lambda a: str(a.dtype))
def test_array_content_changes_the_digest(a):
    d = fp(a)
    b = a.copy()
    b.flat[37] = a.flat[0]
    assert fp(b) != d
    assert fp(a.reshape(10, 6)) != d
    assert fp(a.reshape(-1)) != d
    assert fp(a[:, :9]) != d
    assert fp(a, row_order=False) != fp(b, row_order=False)


def test_dtype_is_part_of_the_digest():
    a = np.arange(10)
    digests = {
        fp(a.astype(t)) for t in ["i1", "i2", "i4", "i8", "u1", "u2", "u4", "u8", "f4", "f8"]
    }
    assert len(digests) == 10
    assert fp(a.astype("M8[s]")) != fp(a.astype("M8[ms]")) != fp(a.astype("i8"))
    assert fp(np.array(["ab"], dtype="U2")) != fp(np.array(["ab"], dtype="U3"))


def test_nan_payloads_are_canonical_but_signed_zero_is_not():
    a = np.array([1.0, np.nan, 3.0])
    b = a.copy()
    b.view(np.uint64)[1] = 0x7FF0000000000123  # a signalling NaN with a payload
    c = a.copy()
    c.view(np.uint64)[1] = 0xFFF8000000000000  # negative NaN
    assert fp(a) == fp(b) == fp(c)
    assert fp(np.array([0.0])) != fp(np.array([-0.0]))
    f32 = np.array([np.nan], dtype=np.float32)
    g32 = f32.copy()
    g32.view(np.uint32)[0] = 0x7F800001
    assert fp(f32) == fp(g32)
    z = np.array([complex(np.nan, 1.0)])
    w = z.copy()
    w.view(np.uint64)[0] = 0x7FF0000000000001
    assert fp(z) == fp(w)


def test_bool_bytes_are_canonical():
    a = np.array([True, False, True])
    b = np.array([7, 0, 1], dtype=np.uint8).view(np.bool_)
    assert fp(a) == fp(b)


def test_empty_arrays_are_defined_and_distinct():
    shapes = [(0,), (0, 5), (5, 0), (0, 0), (1, 0, 3)]
    digests = {fp(np.zeros(s)) for s in shapes}
    assert len(digests) == len(shapes)
    assert fp(np.zeros(0)) != fp(np.zeros(0, dtype=np.int64))
    assert fp(np.float64(2.0)) == fp(np.array(2.0)) != fp(np.array([2.0]))
    assert fp(np.zeros((0, 5)), row_order=False) != fp(np.zeros((5, 0)), row_order=False)
    with pytest.raises(InvalidInputError, match="row_order"):
        fp(np.array(1.0), row_order=False)


def test_structured_arrays():
    dt = np.dtype([("a", "<i4"), ("b", ">f8"), ("s", "U3"), ("v", "<f4", (2,))])
    x = np.zeros(4, dtype=dt)
    x["a"] = [1, 2, 3, 4]
    x["b"] = [0.5, np.nan, 2.5, 3.5]
    x["s"] = ["a", "bc", "", "d"]
    x["v"] = np.arange(8).reshape(4, 2)
    aligned = np.zeros(
        4, dtype=np.dtype([("a", "<i4"), ("b", "<f8"), ("s", "U3"), ("v", "<f4", (2,))], align=True)
    )
    for name in dt.names:
        aligned[name] = x[name]
    assert fp(x) == fp(aligned)  # padding, byte order and offsets do not matter
    assert fp(x[::-1][::-1]) == fp(x)
    renamed = x.copy().view(np.dtype([("A", "<i4"), ("b", ">f8"), ("s", "U3"), ("v", "<f4", (2,))]))
    assert fp(renamed) != fp(x)
    y = x.copy()
    y["v"][2, 1] = 99
    assert fp(y) != fp(x)
    assert fp(x, row_order=False) == fp(x[[2, 0, 3, 1]], row_order=False)
    assert fp(x, row_order=False) != fp(y, row_order=False)


def test_object_arrays():
    a = np.array(["a", None, "b"], dtype=object)
    assert fp(a) == fp(a.copy())
    assert fp(a) != fp(np.array(["a", "", "b"], dtype=object))
    assert fp(np.array([1, "a", 2.5, b"x", True, None], dtype=object)) != fp(
        np.array([1, "a", 2.5, b"x", 1, None], dtype=object)
    )
    with pytest.raises(InvalidTypeError, match="dict"):
        fp(np.array([{}], dtype=object))
    if hasattr(np.dtypes, "StringDType"):
        t = np.array(["a", "bb", "é"], dtype=np.dtypes.StringDType())
        assert fp(t) == fp(t[::-1][::-1].copy()) != fp(np.array(["a", "bb", "e"], dtype=t.dtype))
        assert fp(t) != fp(np.array(["a", "bb", "é"], dtype=object))  # top tag differs
        missing = np.array(["a", None], dtype=np.dtypes.StringDType(na_object=None))
        assert fp(missing) != fp(np.array(["a", ""], dtype=np.dtypes.StringDType()))


def test_unsupported_arrays_and_types():
    if np.dtype(np.longdouble).itemsize > 8:
        with pytest.raises(InvalidTypeError, match=r"float128|longdouble"):
            fp(np.zeros(3, dtype=np.longdouble))
    with pytest.raises(InvalidTypeError, match="masked"):
        fp(np.ma.masked_array([1, 2], mask=[0, 1]))
    for bad in ([1, 2, 3], 3.5, "text", {"a": 1}, None):
        with pytest.raises(InvalidTypeError, match=type(bad).__qualname__):
            fp(bad)
    with pytest.raises(InvalidTypeError, match="index"):
        fp(np.arange(3), index="yes")
    with pytest.raises(InvalidTypeError, match="row_order"):
        fp(np.arange(3), row_order=1)


def test_large_arrays_span_many_chunks():
    rng = np.random.default_rng(1)
    a = rng.standard_normal((700, 1000))  # 5.6 MB: several 1 MiB chunks
    d = fp(a)
    assert fp(np.asfortranarray(a)) == d
    big = np.zeros((1400, 1000))
    big[::2] = a
    assert fp(big[::2]) == d
    b = a.copy()
    b[699, 999] += 1e-12
    assert fp(b) != d


def test_hand_computed_digest_of_many_chunks():
    # 4.5 chunks of 2**17 float64 (hashed several at a time side by side where the CPU
    # allows), one with a non-canonical NaN: the definition's digest, chunk by chunk.
    n = (9 << 17) // 2 + 3
    a = np.random.default_rng(3).random(n)
    a.view(np.uint64)[(2 << 17) + 5] = 0xFFF0_0000_0000_0001
    canon = a.copy()
    canon[np.isnan(canon)] = np.nan
    data = canon.tobytes()
    step = 8 << 17
    chunks = [H(data[i : i + step]) for i in range(0, len(data), step)]
    assert len(chunks) == 5
    preamble = PREFIX + lp("ndarray") + lp("float64") + u64(1) + u64(n)
    header = u64(0) + lp("float64") + u64(0)
    expected = "sha256:" + H(preamble, b"\x00", header, H(u64(n), *chunks)).hex()
    assert fp(a) == expected


def test_digest_does_not_depend_on_thread_count(monkeypatch):
    rng = np.random.default_rng(2)
    a = rng.standard_normal((400, 1000))
    df = pd.DataFrame(rng.integers(0, 5, size=(200_000, 3)), columns=list("abc"))
    df["s"] = np.where(df["a"] > 2, "x", "yy")
    monkeypatch.delenv("MLSENTRY_NUM_THREADS", raising=False)
    default = (fp(a), fp(df), fp(df, row_order=False))
    monkeypatch.setenv("MLSENTRY_NUM_THREADS", "1")
    assert ms._core.num_threads() == 1
    assert (fp(a), fp(df), fp(df, row_order=False)) == default
    monkeypatch.setenv("MLSENTRY_NUM_THREADS", "3")
    assert (fp(a), fp(df), fp(df, row_order=False)) == default


# --- bytes ------------------------------------------------------------------------------


def test_bytes_like_inputs():
    data = bytes(range(256)) * 5000  # > 1 MiB: two chunks
    d = fp(data)
    assert fp(bytearray(data)) == d == fp(memoryview(data))
    assert fp(memoryview(data)[::1]) == d
    assert fp(np.frombuffer(data, dtype=np.uint8)) != d  # an array is a different kind
    strided = memoryview(bytes(range(10)))[::2]
    assert fp(strided) == fp(bytes(range(0, 10, 2)))
    assert fp(b"") != fp(b"\x00")
    assert fp(b"ab", row_order=False) == fp(b"ba", row_order=False)


# --- pandas -----------------------------------------------------------------------------


def frame():
    return pd.DataFrame(
        {
            "i": np.array([1, 2, 3, 4], dtype=np.int64),
            "f": [0.5, np.nan, -1.0, 2.0],
            "b": [True, False, True, True],
            "s": pd.Series(["a", None, "ccc", "é"], dtype=object),
            "t": pd.to_datetime(
                ["2020-01-01", None, "2021-06-01 12:00", "1970-01-01"], format="ISO8601"
            ).as_unit("ns"),
        }
    )


def test_dataframe_changes():
    df = frame()
    d = fp(df)
    assert fp(frame()) == d
    assert fp(df.rename(columns={"i": "j"})) != d
    assert fp(df[["f", "i", "b", "s", "t"]]) != d
    assert fp(df.astype({"i": np.int32})) != d
    assert fp(df.iloc[:3]) != d
    for col, value in [
        ("i", 9),
        ("f", 0.25),
        ("b", False),
        ("s", "z"),
        ("t", pd.Timestamp("2000-01-01")),
    ]:
        e = df.copy()
        e.loc[2, col] = value
        assert fp(e) != d, col
    e = df.copy()
    e.loc[1, "s"] = ""
    assert fp(e) != d  # missing is not the empty string
    e = df.copy()
    e.loc[1, "f"] = 0.0
    assert fp(e) != d


def test_index_is_included_unless_disabled():
    df = frame()
    other = df.set_axis([10, 11, 12, 13])
    assert fp(df) != fp(other)
    assert fp(df, index=False) == fp(other, index=False)
    named = df.rename_axis("row")
    assert fp(named) != fp(df)
    mi = df.set_index(["i", "s"])
    assert fp(mi) != fp(mi, index=False)
    assert fp(mi) != fp(df.set_index(["s", "i"]))
    mi2 = mi.copy()
    mi2.index = mi2.index.set_levels(mi2.index.levels[0] + 1, level=0)
    assert fp(mi2) != fp(mi)
    assert fp(mi, index=False) == fp(mi2, index=False)
    str_index = df.set_axis(["a", "b", "c", "d"])
    assert fp(str_index) != fp(df)


def test_memory_layout_of_frames_does_not_matter():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((1000, 4))
    blocked = pd.DataFrame(a, columns=list("abcd"))
    split = pd.DataFrame({c: a[:, i].copy() for i, c in enumerate("abcd")})
    sliced = (
        pd.DataFrame(np.repeat(a, 2, axis=0), columns=list("abcd")).iloc[::2].reset_index(drop=True)
    )
    assert fp(blocked) == fp(split) == fp(sliced)


def test_byte_order_of_pandas_columns_does_not_matter():
    t = np.array(["2020-01-01", "NaT", "1969-12-31T23:59:59"], dtype="datetime64[ns]")
    native = pd.DataFrame({"i": np.array([1, -2, 3], dtype="<i8"), "f": [0.5, np.nan, 2.0], "t": t})
    swapped = pd.DataFrame(
        {
            "i": np.array([1, -2, 3], dtype=">i8"),
            "f": np.array([0.5, np.nan, 2.0], dtype=">f8"),
            "t": t.astype(">M8[ns]"),
        }
    )
    assert swapped["i"].dtype.byteorder == ">"
    assert fp(swapped) == fp(native)


def test_nullable_extension_dtypes():
    data = np.array([1, 2, 3], dtype=np.int64)
    x = pd.arrays.IntegerArray(data, np.array([False, True, False]))
    y = pd.arrays.IntegerArray(np.array([1, 99, 3]), np.array([False, True, False]))
    assert fp(pd.DataFrame({"x": x})) == fp(pd.DataFrame({"x": y}))  # value under the mask
    assert fp(pd.DataFrame({"x": x})) != fp(pd.DataFrame({"x": pd.array([1, 0, 3], dtype="Int64")}))
    # Int64 without missing values is the same column as numpy int64.
    assert fp(pd.DataFrame({"x": pd.array([1, 2, 3], dtype="Int64")})) == fp(
        pd.DataFrame({"x": data})
    )
    bools = pd.DataFrame({"x": pd.array([True, None, False], dtype="boolean")})
    assert fp(bools) != fp(pd.DataFrame({"x": pd.array([True, False, False], dtype="boolean")}))
    # Float64 with pd.NA: missing is NaN for floats.
    f = pd.DataFrame({"x": pd.array([1.5, None, 2.0], dtype="Float64")})
    assert fp(f) == fp(pd.DataFrame({"x": [1.5, np.nan, 2.0]}))


def test_string_dtypes_and_object_strings_agree():
    values = ["a", None, "bb", "é"]
    obj = pd.DataFrame({"s": pd.Series(values, dtype=object)})
    for dtype in ["string", pd.StringDtype("python"), pd.StringDtype("pyarrow"), "str"]:
        assert fp(pd.DataFrame({"s": pd.Series(values, dtype=dtype)})) == fp(obj), dtype
    nan = pd.DataFrame({"s": pd.Series(["a", np.nan, "bb", "é"], dtype=object)})
    na = pd.DataFrame({"s": pd.Series(["a", pd.NA, "bb", "é"], dtype=object)})
    assert fp(nan) == fp(obj) == fp(na)


def test_categoricals():
    c = pd.DataFrame({"c": pd.Categorical(["x", "y", None, "x"], categories=["x", "y", "z"])})
    assert fp(c) != fp(
        pd.DataFrame({"c": pd.Categorical(["x", "y", None, "x"], categories=["x", "y"])})
    )
    assert fp(c) != fp(
        pd.DataFrame({"c": pd.Categorical(["x", "y", None, "y"], categories=["x", "y", "z"])})
    )
    assert fp(c) != fp(
        pd.DataFrame({"c": pd.Categorical(["x", "y", "x", "x"], categories=["x", "y", "z"])})
    )
    ordered = pd.DataFrame(
        {"c": pd.Categorical(["x", "y", None, "x"], categories=["x", "y", "z"], ordered=True)}
    )
    assert fp(c) != fp(ordered)
    assert fp(c) != fp(pd.DataFrame({"c": pd.Series(["x", "y", None, "x"], dtype=object)}))
    table = pa.Table.from_pandas(c, preserve_index=False)
    assert pa.types.is_dictionary(table.column("c").type)
    assert fp(table) == fp(c, index=False)


def test_datetimes_timedeltas_and_time_zones():
    t = pd.to_datetime(["2020-01-01", None, "2021-01-01"]).as_unit("ns")
    naive = pd.DataFrame({"t": t})
    utc = pd.DataFrame({"t": t.tz_localize("UTC")})
    paris = pd.DataFrame({"t": t.tz_localize("UTC").tz_convert("Europe/Paris")})
    assert len({fp(naive), fp(utc), fp(paris)}) == 3
    assert fp(naive) != fp(pd.DataFrame({"t": t.as_unit("us")}))
    later = pd.DataFrame({"t": t.tz_localize("UTC") + pd.Timedelta(1, "ns")})
    assert fp(later) != fp(utc)
    td = pd.DataFrame({"d": pd.to_timedelta([1, None, 3], unit="s")})
    assert fp(td) != fp(pd.DataFrame({"d": pd.to_timedelta([1, 0, 3], unit="s")}))


def test_mixed_object_columns():
    m = pd.DataFrame(
        {"m": pd.Series([1, "a", 2.5, b"b", True, None, np.nan, pd.NA, pd.NaT], dtype=object)}
    )
    d = fp(m)
    assert fp(m.copy()) == d
    for i, other in [(0, True), (0, 1.0), (1, b"a"), (4, 1)]:
        e = m.copy()
        e.iloc[i, 0] = other
        assert fp(e) != d, (i, other)
    # every missing value is the same missing value
    assert fp(pd.DataFrame({"m": pd.Series([1, None], dtype=object)})) == fp(
        pd.DataFrame({"m": pd.Series([1, pd.NA], dtype=object)})
    )
    numpy_values = pd.Series([np.int64(1), "a", np.float32(2.5), np.bool_(True)], dtype=object)
    python_values = pd.Series([1, "a", 2.5, True], dtype=object)
    assert fp(pd.DataFrame({"m": numpy_values})) == fp(pd.DataFrame({"m": python_values}))
    from decimal import Decimal

    with pytest.raises(InvalidTypeError, match=r"column 'bad'.*Decimal"):
        fp(pd.DataFrame({"ok": [1], "bad": pd.Series([Decimal(1)], dtype=object)}))
    with pytest.raises(InvalidTypeError, match=r"column 'p'.*period"):
        fp(pd.DataFrame({"p": pd.period_range("2020", periods=2, freq="D")}))
    with pytest.raises(InvalidTypeError, match=r"column 'i'.*interval"):
        fp(pd.DataFrame({"i": pd.interval_range(0, 2)}))
    with pytest.raises(InvalidTypeError, match=r"column 's'.*Sparse"):
        fp(pd.DataFrame({"s": pd.arrays.SparseArray([0, 1])}))


def test_empty_frames_are_distinct():
    digests = {
        fp(pd.DataFrame()),
        fp(pd.DataFrame(index=range(3))),
        fp(pd.DataFrame({"a": np.zeros(0)})),
        fp(pd.DataFrame({"a": np.zeros(0), "b": np.zeros(0)})),
        fp(pd.DataFrame({"a": np.zeros(0, dtype=np.int64)})),
    }
    assert len(digests) == 5
    assert fp(pd.DataFrame(index=range(3)), index=False) != fp(pd.DataFrame(), index=False)


def test_series_is_a_one_column_frame():
    s = pd.Series([1.0, 2.0], name="x")
    assert fp(s) == fp(s.to_frame())
    assert fp(s) != fp(s.rename("y"))


def test_unordered_rows():
    df = frame()
    d = fp(df, row_order=False)
    assert fp(df.iloc[[3, 1, 0, 2]], row_order=False) == d
    assert fp(df.iloc[[3, 1, 0, 2]]) != fp(df)
    assert fp(df.iloc[[3, 1, 0, 2]].reset_index(drop=True), row_order=False) != d  # index moved
    assert fp(df.iloc[[3, 1, 0, 2]], index=False, row_order=False) == fp(
        df, index=False, row_order=False
    )
    e = df.copy()
    e.loc[0, "f"] = 0.75
    assert fp(e, row_order=False) != d
    dup = pd.DataFrame({"a": [1, 1, 2]})
    assert fp(dup, index=False, row_order=False) != fp(
        pd.DataFrame({"a": [1, 2, 2]}), index=False, row_order=False
    )
    assert fp(dup, index=False, row_order=False) != fp(
        pd.DataFrame({"a": [1, 2]}), index=False, row_order=False
    )
    # values cannot move between columns
    ab = pd.DataFrame({"a": ["x", "y"], "b": ["y", "x"]})
    ba = pd.DataFrame({"a": ["x", "x"], "b": ["y", "y"]})
    assert fp(ab, index=False, row_order=False) != fp(ba, index=False, row_order=False)
    assert fp(df, row_order=False) != fp(df)


# --- pyarrow and polars -----------------------------------------------------------------


def common_table_pandas():
    return pd.DataFrame(
        {
            "i": np.array([1, -2, 3, 4, 5], dtype=np.int64),
            "f": [0.5, np.nan, -1.0, 2.0, np.inf],
            "b": [True, False, True, True, False],
            "s": pd.Series(["a", None, "ccc", "é", ""], dtype=object),
            "t_ns": pd.to_datetime(
                ["2020-01-01", None, "2021-06-01 12:00", "1970-01-01", "1900-01-01"],
                format="ISO8601",
            ).as_unit("ns"),
            "t_us": pd.to_datetime(
                ["2020-01-01", "2020-01-02", None, "1970-01-01", "2100-01-01"]
            ).as_unit("us"),
        }
    )


def common_table_arrow():
    return pa.table(
        {
            "i": pa.array([1, -2, 3, 4, 5], pa.int64()),
            "f": pa.array([0.5, None, -1.0, 2.0, float("inf")], pa.float64()),
            "b": pa.array([True, False, True, True, False]),
            "s": pa.array(["a", None, "ccc", "é", ""], pa.string()),
            "t_ns": pa.array(
                pd.to_datetime(
                    ["2020-01-01", None, "2021-06-01 12:00", "1970-01-01", "1900-01-01"],
                    format="ISO8601",
                ).as_unit("ns"),
                pa.timestamp("ns"),
            ),
            "t_us": pa.array(
                pd.to_datetime(
                    ["2020-01-01", "2020-01-02", None, "1970-01-01", "2100-01-01"]
                ).as_unit("us"),
                pa.timestamp("us"),
            ),
        }
    )


def test_pandas_and_pyarrow_agree():
    df = common_table_pandas()
    table = common_table_arrow()
    assert fp(table) == fp(df, index=False)
    assert fp(pa.Table.from_pandas(df, preserve_index=False)) == fp(df, index=False)
    assert fp(table, row_order=False) == fp(df, index=False, row_order=False)


def test_arrow_layouts_do_not_matter():
    table = common_table_arrow()
    d = fp(table)
    assert fp(table.to_batches()[0]) == d
    chunked = pa.concat_tables([table.slice(0, 2), table.slice(2, 1), table.slice(3)])
    assert chunked.column("s").num_chunks == 3
    assert fp(chunked) == d
    big = pa.concat_tables([table, table])
    assert fp(big.slice(5, 5).combine_chunks()) == d  # offsets into buffers
    assert fp(big.slice(5, 5)) == d
    large = table.set_column(3, "s", table.column("s").cast(pa.large_string()))
    assert fp(large) == d
    view = table.set_column(3, "s", table.column("s").cast(pa.string_view()))
    assert fp(view) == d
    assert fp(table.rename_columns(["i", "f", "b", "S", "t_ns", "t_us"])) != d
    assert fp(table.select([1, 0, 2, 3, 4, 5])) != d


def test_arrow_values_and_nulls():
    t = pa.table({"x": pa.array([1, None, 3], pa.int32())})
    assert fp(t) != fp(pa.table({"x": pa.array([1, 0, 3], pa.int32())}))
    assert fp(t) == fp(pd.DataFrame({"x": pd.array([1, None, 3], dtype="Int32")}), index=False)
    assert fp(t) != fp(pa.table({"x": pa.array([1, None, 3], pa.int64())}))
    b = pa.table({"x": pa.array([True, None, False])})
    assert fp(b) == fp(
        pd.DataFrame({"x": pd.array([True, None, False], dtype="boolean")}), index=False
    )
    binary = pa.table({"x": pa.array([b"a", None, b""], pa.binary())})
    assert fp(binary) == fp(
        pd.DataFrame({"x": pd.Series([b"a", None, b""], dtype=object)}), index=False
    )
    nulls = pa.table({"x": pa.nulls(3)})
    assert fp(nulls) == fp(
        pd.DataFrame({"x": pd.Series([None, None, None], dtype=object)}), index=False
    )
    tz = pa.table({"x": pa.array([0, None], pa.timestamp("ns", tz="UTC"))})
    assert fp(tz) == fp(
        pd.DataFrame({"x": pd.to_datetime([0, None], utc=True).as_unit("ns")}), index=False
    )
    dur = pa.table({"x": pa.array([5, None], pa.duration("ms"))})
    assert fp(dur) == fp(
        pd.DataFrame({"x": pd.to_timedelta([5, None], unit="ms").as_unit("ms")}), index=False
    )
    with pytest.raises(InvalidTypeError, match=r"column 'l'.*list"):
        fp(pa.table({"l": pa.array([[1], [2]])}))
    # chunks with different dictionaries
    d1 = pa.array(["a", "b"]).dictionary_encode()
    d2 = pa.array(["b", "c"]).dictionary_encode()
    t2 = pa.Table.from_batches(
        [pa.record_batch({"c": d1}), pa.record_batch({"c": d2.cast(d1.type)})],
    )
    assert fp(t2) == fp(pa.table({"c": pa.array(["a", "b", "b", "c"]).dictionary_encode()}))


def test_polars_agrees():
    pl = pytest.importorskip("polars")
    df = common_table_pandas()
    pdf = pl.from_pandas(df)
    assert fp(pdf) == fp(df, index=False) == fp(common_table_arrow())
    assert fp(pdf["i"]) == fp(pdf.select("i"))
    assert fp(pdf, row_order=False) == fp(pdf.reverse(), row_order=False)
    assert fp(pdf) != fp(pdf.reverse())
    import datetime as dt

    more = pl.DataFrame(
        {
            "c": pl.Series(["b", "a", None, "b"], dtype=pl.Categorical),
            "e": pl.Series(["x", "y", "x", None], dtype=pl.Enum(["x", "y"])),
            "t": pl.Series([dt.datetime(2020, 1, 1), None, dt.datetime(2021, 1, 1), None]),
            "du": [dt.timedelta(1), None, dt.timedelta(0), dt.timedelta(seconds=1)],
            "bi": [b"a", None, b"", b"x"],
        }
    ).with_columns(pl.col("t").dt.replace_time_zone("UTC"))
    assert fp(more) == fp(more.to_pandas(), index=False)
    with pytest.raises(InvalidTypeError, match=r"column 'x'.*decimal"):
        fp(pl.DataFrame({"x": pl.Series([1.5], dtype=pl.Decimal(10, 2))}))


def test_import_is_light():
    libs = "('pandas', 'pyarrow', 'polars')"
    code = f"import sys, mlsentry; print(any(m in sys.modules for m in {libs}))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_progress_callback_reports_items():
    calls = []
    a = np.zeros((300, 1000))
    d = fp(a, progress=lambda done, total: calls.append((done, total)))
    assert d == fp(a)
    assert calls and calls[-1] == (300_000, 300_000)
    calls.clear()
    fp(pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), progress=lambda *c: calls.append(c))
    assert calls[-1] == (6, 6)  # index and two columns of two rows


def test_column_labels():
    a = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("x", 1), ("x", 2)]))
    b = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("x", 1), ("x", 3)]))
    assert fp(a) != fp(b)
    labels = [0, "0", 0.0, b"0", None, True]
    digests = {fp(pd.DataFrame([[1]]).set_axis([lab], axis=1)) for lab in labels}
    assert len(digests) == len(labels)
    with pytest.raises(InvalidTypeError, match="labels"):
        fp(pd.DataFrame([[1]], columns=[pd.Timestamp("2020-01-01")]))
