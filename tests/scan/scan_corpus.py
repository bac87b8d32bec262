"""The scanner's corpora: malicious model files it must flag, benign ones it must pass.

``write_corpus(folder)`` writes every sample under ``folder/unsafe/...`` and
``folder/safe/...`` and returns them as :class:`Sample` (path, expected verdict, the trick or
content in words, a category). A sample is a file or, for the tricks that are about folders,
a folder. Used by ``tests/scan/test_scan.py`` and by ``benches/bench_scan.py`` (the detection
table against picklescan, modelscan and fickling).

How the malicious files are made. Every malicious pickle is assembled opcode by opcode (the
opcodes of :mod:`pickletools`); nothing malicious is ever pickled from a live object, and
nothing here loads any file. Every payload is harmless should something ever load it: it runs
``true``, evaluates or executes a string constant, imports a module, builds a function that
returns a string, or calls a dangerous function with arguments that make it raise before it
does anything (no arguments, a path that does not exist). A scanner must flag them all the
same: what counts is what a loader would import and call, not what these arguments do.

The tricks come from the issue and from published bypasses of picklescan, modelscan and
fickling: imports through ``importlib``/``pkgutil``/``__import__``, ``marshal`` code objects,
dotted names walking to ``os`` through another module (``find_class`` with protocol 4 follows
dots), names built from memoized strings, extension codes, pickles inside zip members without
a ``.pkl`` name or with a broken CRC, nested archives, compressed pickles (gzip, bz2, every
joblib compressor), object arrays of ``.npy``/``.npz`` files in folders and under misleading
names, Keras ``Lambda`` layers, legacy PyTorch files (stacked pickles and tar), pickle/zip
polyglots, misleading extensions, and files that are truncated or broken after the payload.

The benign corpus is real output of the libraries (``pickle``, numpy, pandas, scikit-learn,
joblib) plus PyTorch-format files written by hand exactly as ``torch.save`` lays them out
(without torch). Samples that need scikit-learn/joblib are written only when those import;
:func:`missing_generators` names what was left out.

Deterministic for a given interpreter and library versions (fixed zip/tar/gzip timestamps,
fixed seeds), and fast (about a second, most of it importing scikit-learn and pandas).
"""

from __future__ import annotations

import bz2
import codecs
import collections
import datetime
import decimal
import gzip
import importlib.util
import io
import json
import lzma
import marshal
import pickle
import re
import struct
import tarfile
import zipfile
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

UNSAFE = "unsafe"
SAFE = "safe"
SEED = 20261122
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # fixed member timestamps: the same bytes on every run


@dataclass(frozen=True)
class Sample:
    """One file (or folder) of a corpus and the verdict a scanner must give."""

    path: Path
    expected: str  # "unsafe" or "safe"
    trick: str  # what the file is, in words (the trick for a malicious one)
    category: str = ""  # group of the table: "opcodes", "callables", "containers", "numpy", ...


# --------------------------------------------------------------------------- pickle opcodes
# Raw opcodes, named as pickletools names them.

MARK = b"("
STOP = b"."
POP = b"0"
TUPLE = b"t"
EMPTY_TUPLE = b")"
EMPTY_DICT = b"}"
EMPTY_LIST = b"]"
APPEND = b"a"
SETITEMS = b"u"
REDUCE = b"R"
BUILD = b"b"
OBJ = b"o"
NEWOBJ = b"\x81"
NEWOBJ_EX = b"\x92"
STACK_GLOBAL = b"\x93"
MEMOIZE = b"\x94"
BINPERSID = b"Q"
NEWTRUE = b"\x88"
NEWFALSE = b"\x89"
NONE = b"N"


def proto(n: int) -> bytes:
    """PROTO n (protocols 0 and 1 have no PROTO opcode: return nothing for them)."""
    return b"\x80" + bytes([n]) if n >= 2 else b""


def binunicode(s: str) -> bytes:
    """BINUNICODE (protocol 1+)."""
    data = s.encode("utf-8")
    return b"X" + struct.pack("<I", len(data)) + data


def short_binunicode(s: str) -> bytes:
    """SHORT_BINUNICODE (protocol 4+)."""
    data = s.encode("utf-8")
    if len(data) > 255:
        return binunicode(s)
    return b"\x8c" + bytes([len(data)]) + data


def unicode0(s: str) -> bytes:
    """UNICODE (protocol 0 text form, raw-unicode-escaped, newline-terminated)."""
    return b"V" + s.encode("raw-unicode-escape") + b"\n"


def binbytes(b: bytes) -> bytes:
    """SHORT_BINBYTES / BINBYTES (protocol 3+)."""
    if len(b) < 256:
        return b"C" + bytes([len(b)]) + b
    return b"B" + struct.pack("<I", len(b)) + b


def integer(n: int) -> bytes:
    """BININT1 / BININT2 / BININT / LONG1, the smallest that holds ``n``."""
    if 0 <= n < 256:
        return b"K" + bytes([n])
    if 0 <= n < 65536:
        return b"M" + struct.pack("<H", n)
    if -(2**31) <= n < 2**31:
        return b"J" + struct.pack("<i", n)
    raw = n.to_bytes((n.bit_length() + 8) // 8, "little", signed=True)
    return b"\x8a" + bytes([len(raw)]) + raw


def binput(i: int) -> bytes:
    return b"q" + bytes([i])


def binget(i: int) -> bytes:
    return b"h" + bytes([i])


def global_(module: str, name: str) -> bytes:
    """GLOBAL: ``c<module>\\n<name>\\n``."""
    return b"c" + module.encode() + b"\n" + name.encode() + b"\n"


def stack_global(module: str, name: str) -> bytes:
    """Module and name strings, then STACK_GLOBAL (protocol 4+)."""
    return short_binunicode(module) + short_binunicode(name) + STACK_GLOBAL


def tup(*items: bytes) -> bytes:
    return MARK + b"".join(items) + TUPLE


def call(func: bytes, *args: bytes) -> bytes:
    """``func(*args)``: the callable, a tuple of the arguments, REDUCE."""
    return func + tup(*args) + REDUCE


def pickle_bytes(protocol: int, body: bytes) -> bytes:
    """A whole pickle: PROTO (for protocol 2+), the body, STOP."""
    return proto(protocol) + body + STOP


def _os_system_true(protocol: int = 2) -> bytes:
    """``os.system("true")``, the canonical payload, in the form each protocol writes."""
    if protocol >= 4:
        return pickle_bytes(protocol, call(stack_global("os", "system"), short_binunicode("true")))
    if protocol >= 1:
        return pickle_bytes(protocol, call(global_("os", "system"), binunicode("true")))
    return global_("os", "system") + MARK + unicode0("true") + TUPLE + REDUCE + STOP


def _harmless_code():
    """A code object that only returns a string (for the marshal and Keras payloads)."""
    return compile("'mlsentry-corpus: harmless'", "<mlsentry-corpus>", "eval")


def _harmless_lambda_code():
    """The code object of ``lambda x: x`` (what Keras marshals for a Lambda layer)."""
    return compile("lambda x: x", "<mlsentry-corpus>", "eval").co_consts[0]


# --------------------------------------------------------------------------- malicious pickles

NOWHERE = "/nonexistent/mlsentry-corpus"  # a path that does not exist: calls on it raise


def _opcode_tricks() -> list[tuple[str, str, bytes]]:
    """(file name, trick, pickle bytes): ways to name and call a global."""
    system_args = short_binunicode("true")
    memo_copy = (
        proto(4)
        # memo[0] = "collections", memo[1] = "os"
        + short_binunicode("collections")
        + binput(0)
        + POP
        + short_binunicode("os")
        + binput(1)
        + POP
        # memo[0] = memo[1]: a scanner that records "the argument of the opcode before PUT"
        # stores the index 1 here, not the string "os"
        + binget(1)
        + binput(0)
        + POP
        + binget(0)
        + short_binunicode("system")
        + STACK_GLOBAL
        + tup(system_args)
        + REDUCE
        + STOP
    )
    return [
        ("global_reduce.pkl", "os.system via GLOBAL + REDUCE (protocol 2)", _os_system_true(2)),
        (
            "stack_global.pkl",
            "os.system via STACK_GLOBAL + REDUCE (protocol 4)",
            _os_system_true(4),
        ),
        (
            "protocol0_text.pkl",
            "os.system in the protocol 0 text form (GLOBAL, UNICODE, PUT)",
            b"cos\nsystem\np0\n(Vtrue\np1\ntp2\nRp3\n.",
        ),
        (
            "inst.pkl",
            "os.system via INST (protocol 0: MARK args INST module name)",
            MARK + unicode0("true") + b"ios\nsystem\n" + STOP,
        ),
        (
            "obj.pkl",
            "os.system via OBJ (protocol 1: MARK callable args OBJ)",
            MARK + global_("os", "system") + binunicode("true") + OBJ + STOP,
        ),
        (
            "newobj.pkl",
            "os.system via NEWOBJ (protocol 2)",
            pickle_bytes(2, global_("os", "system") + tup(binunicode("true")) + NEWOBJ),
        ),
        (
            "newobj_ex.pkl",
            "os.system via NEWOBJ_EX (protocol 4)",
            pickle_bytes(
                4, stack_global("os", "system") + tup(system_args) + EMPTY_DICT + NEWOBJ_EX
            ),
        ),
        (
            "memo_strings.pkl",
            "module and name strings memoized (BINPUT) and fetched back (BINGET) "
            "before STACK_GLOBAL",
            pickle_bytes(
                4,
                short_binunicode("os")
                + binput(0)
                + short_binunicode("system")
                + binput(1)
                + POP
                + POP
                + short_binunicode("padding")
                + POP
                + binget(0)
                + binget(1)
                + STACK_GLOBAL
                + tup(system_args)
                + REDUCE,
            ),
        ),
        (
            "memo_copy.pkl",
            "module name copied from one memo slot to another (BINGET 1, BINPUT 0) before "
            "STACK_GLOBAL: scanners that track the memo by the previous opcode's argument "
            "read '1' for the module",
            memo_copy,
        ),
        (
            "memoize_strings.pkl",
            "module and name strings stored with MEMOIZE and read back with BINGET",
            pickle_bytes(
                4,
                short_binunicode("os")
                + MEMOIZE
                + POP
                + short_binunicode("system")
                + MEMOIZE
                + POP
                + binget(0)
                + binget(1)
                + STACK_GLOBAL
                + tup(system_args)
                + REDUCE,
            ),
        ),
        (
            "ext1.pkl",
            "global named by a copyreg extension code (EXT1 1): unresolvable without the "
            "loader's registry",
            pickle_bytes(2, b"\x82\x01" + tup(binunicode("true")) + REDUCE),
        ),
        (
            "dotted_numpy_os.pkl",
            "dotted name walking to os through numpy: numpy / testing._private.utils.os.system "
            "(protocol 4 find_class follows dots)",
            pickle_bytes(
                4,
                call(stack_global("numpy", "testing._private.utils.os.system"), system_args),
            ),
        ),
        (
            "dotted_torch_os.pkl",
            "dotted name walking to os through torch: torch.serialization / os.system",
            pickle_bytes(
                4, call(global_("torch.serialization", "os.system"), short_binunicode("true"))
            ),
        ),
        (
            "dotted_logging_os.pkl",
            "dotted name walking to os through the standard library: logging / os.system",
            pickle_bytes(4, call(stack_global("logging", "os.system"), system_args)),
        ),
        (
            "dotted_collections_sys.pkl",
            "dotted name reaching sys through a harmless-looking module: collections / "
            "_sys.modules, then SETITEMS writes into it (module hijacking; here a marker "
            "entry set to None)",
            pickle_bytes(
                4,
                stack_global("collections", "_sys.modules")
                + MARK
                + short_binunicode("mlsentry_corpus_marker")
                + NONE
                + SETITEMS,
            ),
        ),
        (
            "appended_second_pickle.pkl",
            "a benign pickle followed by a second, malicious pickle in the same file",
            pickle.dumps({"weights": [0.5, 1.5]}, protocol=4) + _os_system_true(4),
        ),
        (
            "truncated.pkl",
            "malicious pickle cut short after REDUCE (no STOP): the call runs before the "
            "loader hits the end of the file",
            proto(2) + call(global_("os", "system"), binunicode("true")),
        ),
        (
            "broken_after_payload.pkl",
            "malicious pickle followed by an invalid opcode: the call runs before the loader "
            "fails (picklescan exits 2 on such files)",
            proto(2) + call(global_("os", "system"), binunicode("true")) + b"\xff\xfe" + STOP,
        ),
    ]


def _callable_tricks() -> list[tuple[str, str, bytes]]:
    """(file name, trick, pickle bytes): dangerous callables, each behind a harmless call."""
    true = short_binunicode("true")
    nowhere = short_binunicode(NOWHERE)
    code = marshal.dumps(_harmless_code())
    nested = _os_system_true(4)

    def p4(body: bytes) -> bytes:
        return pickle_bytes(4, body)

    return [
        (
            "builtins_eval.pkl",
            "builtins.eval of a string constant",
            p4(call(stack_global("builtins", "eval"), short_binunicode("'harmless'"))),
        ),
        (
            "builtin_exec_protocol2.pkl",
            "__builtin__.exec (protocol 2 name, mapped to builtins by fix_imports)",
            pickle_bytes(2, call(global_("__builtin__", "exec"), binunicode("pass"))),
        ),
        (
            "getattr_import.pkl",
            "builtins.getattr(builtins.__import__('os'), 'system')('true')",
            p4(
                call(
                    call(
                        stack_global("builtins", "getattr"),
                        call(stack_global("builtins", "__import__"), short_binunicode("os")),
                        short_binunicode("system"),
                    ),
                    true,
                )
            ),
        ),
        (
            "builtins_import.pkl",
            "builtins.__import__('os') alone (an import primitive most blocklists omit)",
            p4(call(stack_global("builtins", "__import__"), short_binunicode("os"))),
        ),
        (
            "importlib_import_module.pkl",
            "importlib.import_module('os')",
            p4(call(stack_global("importlib", "import_module"), short_binunicode("os"))),
        ),
        (
            "importlib_methodcaller.pkl",
            "operator.methodcaller('system', 'true')(importlib.import_module('os'))",
            p4(
                call(
                    call(
                        stack_global("operator", "methodcaller"), short_binunicode("system"), true
                    ),
                    call(stack_global("importlib", "import_module"), short_binunicode("os")),
                )
            ),
        ),
        (
            "pkgutil_resolve_name.pkl",
            "pkgutil.resolve_name('os:system')('true')",
            p4(
                call(
                    call(stack_global("pkgutil", "resolve_name"), short_binunicode("os:system")),
                    true,
                )
            ),
        ),
        (
            "marshal_function.pkl",
            "types.FunctionType(marshal.loads(<code object>), {})(): a code object built "
            "from bytes, then called",
            pickle_bytes(
                3,
                call(
                    stack_global("types", "FunctionType"),
                    call(stack_global("marshal", "loads"), binbytes(code)),
                    EMPTY_DICT,
                )
                + EMPTY_TUPLE
                + REDUCE,
            ),
        ),
        (
            "subprocess_popen.pkl",
            "subprocess.Popen(['true'])",
            p4(call(stack_global("subprocess", "Popen"), EMPTY_LIST + true + APPEND)),
        ),
        (
            "posixsubprocess_fork_exec.pkl",
            "_posixsubprocess.fork_exec (the C function under subprocess; called without "
            "arguments)",
            p4(stack_global("_posixsubprocess", "fork_exec") + EMPTY_TUPLE + REDUCE),
        ),
        (
            "runpy_run_code.pkl",
            "runpy._run_code('pass', {})",
            p4(call(stack_global("runpy", "_run_code"), short_binunicode("pass"), EMPTY_DICT)),
        ),
        (
            "webbrowser_open.pkl",
            "webbrowser.open (called without arguments)",
            p4(stack_global("webbrowser", "open") + EMPTY_TUPLE + REDUCE),
        ),
        (
            "socket_create_connection.pkl",
            "socket.create_connection(()) (an empty address: raises before connecting)",
            p4(call(stack_global("socket", "create_connection"), EMPTY_TUPLE)),
        ),
        (
            "shutil_rmtree.pkl",
            "shutil.rmtree (called without arguments)",
            p4(stack_global("shutil", "rmtree") + EMPTY_TUPLE + REDUCE),
        ),
        (
            "torch_load_nested.pkl",
            "torch.load of another file (a pickle that loads a pickle)",
            p4(call(stack_global("torch", "load"), nowhere)),
        ),
        (
            "numpy_load_allow_pickle.pkl",
            "numpy.load(path, None, True): mmap_mode None, allow_pickle True",
            p4(call(stack_global("numpy", "load"), nowhere, NONE, NEWTRUE)),
        ),
        (
            "operator_attrgetter.pkl",
            "operator.attrgetter('system')(builtins.__import__('os'))('true')",
            p4(
                call(
                    call(
                        call(stack_global("operator", "attrgetter"), short_binunicode("system")),
                        call(stack_global("builtins", "__import__"), short_binunicode("os")),
                    ),
                    true,
                )
            ),
        ),
        (
            "functools_partial.pkl",
            "functools.partial(os.system, 'true')()",
            p4(
                call(stack_global("functools", "partial"), stack_global("os", "system"), true)
                + EMPTY_TUPLE
                + REDUCE
            ),
        ),
        (
            "pickle_loads_nested.pkl",
            "pickle.loads of embedded bytes holding another malicious pickle",
            pickle_bytes(3, call(stack_global("pickle", "loads"), binbytes(nested))),
        ),
        (
            "timeit_timeit.pkl",
            "timeit.timeit('pass'): runs a statement string",
            p4(
                call(
                    stack_global("timeit", "timeit"),
                    short_binunicode("pass"),
                    short_binunicode("pass"),
                )
            ),
        ),
        (
            "pydoc_locate.pkl",
            "pydoc.locate('os.system')('true'): resolves any dotted name",
            p4(call(call(stack_global("pydoc", "locate"), short_binunicode("os.system")), true)),
        ),
        (
            "io_open.pkl",
            "io.open (file access under another name than builtins.open; called without arguments)",
            p4(stack_global("io", "open") + EMPTY_TUPLE + REDUCE),
        ),
        (
            "builtins_setattr.pkl",
            "builtins.setattr on an imported module (monkey-patching; target does not exist "
            "so the call raises)",
            p4(
                call(
                    stack_global("builtins", "setattr"),
                    call(stack_global("builtins", "__import__"), short_binunicode("os")),
                    short_binunicode("_mlsentry_corpus_marker"),
                    NONE,
                )
            ),
        ),
    ]


# --------------------------------------------------------------------------- file writers


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def zip_bytes(members: Iterable[tuple[str, bytes]], compression: int = zipfile.ZIP_STORED) -> bytes:
    """A zip archive of ``(name, data)`` members with fixed timestamps."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_ZIP_TIME)
            info.compress_type = compression
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)


def npy_header(descr: str, shape: tuple[int, ...], fortran: bool = False) -> bytes:
    """The ``.npy`` v1.0 magic and header (the dict padded to a multiple of 64 bytes)."""
    header = f"{{'descr': {descr!r}, 'fortran_order': {fortran}, 'shape': {shape!r}, }}"
    total = 10 + len(header) + 1
    header += " " * ((64 - total % 64) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1")


def npy_object_array(pickled: bytes) -> bytes:
    """An ``.npy`` file of an object array: the header, then the array's pickle."""
    return npy_header("|O", (1,)) + pickled


# Joblib's compressed files are the pickle stream written through one compressor, recognised
# by the compressor's magic (joblib/compressor.py): zlib (default of ``compress=3``), gzip,
# bz2, xz and lzma (LZMA "alone" format), and the "ZF" files of joblib < 0.9.3, still read by
# ``joblib.load``. These functions write the same bytes as joblib's compressor classes.
JOBLIB_COMPRESSORS = ("zlib", "gzip", "bz2", "xz", "lzma")
_JOBLIB_ZF_LEN = len(f"{2**64:#x}")


def joblib_compress(data: bytes, method: str, level: int = 3) -> bytes:
    """``data`` framed as ``joblib.dump(..., compress=(method, level))`` frames its pickle."""
    if method == "zlib":
        return zlib.compress(data, level)
    if method == "gzip":
        return gzip.compress(data, compresslevel=level, mtime=0)
    if method == "bz2":
        return bz2.compress(data, level)
    if method == "xz":
        return lzma.compress(data, format=lzma.FORMAT_XZ, preset=level)
    if method == "lzma":
        return lzma.compress(data, format=lzma.FORMAT_ALONE, preset=level)
    if method == "zf":  # joblib < 0.9.3
        return b"ZF" + f"{len(data):#x}".ljust(_JOBLIB_ZF_LEN).encode() + zlib.compress(data, 1)
    raise ValueError(f"method: expected one of {JOBLIB_COMPRESSORS} or 'zf', got {method!r}")


# --------------------------------------------------------------------------- PyTorch layout

_STORAGE_TYPES = {
    "float32": ("FloatStorage", 4),
    "float64": ("DoubleStorage", 8),
    "float16": ("HalfStorage", 2),
    "int64": ("LongStorage", 8),
    "int32": ("IntStorage", 4),
    "int8": ("CharStorage", 1),
    "uint8": ("ByteStorage", 1),
    "bool": ("BoolStorage", 1),
    "complex64": ("ComplexFloatStorage", 8),
    "complex128": ("ComplexDoubleStorage", 16),
}


@dataclass(frozen=True)
class TensorSpec:
    """One tensor of a hand-written PyTorch file: name, dtype name, shape, storage key."""

    name: str
    dtype: str
    shape: tuple[int, ...]
    key: str

    @property
    def numel(self) -> int:
        n = 1
        for d in self.shape:
            n *= d
        return n

    @property
    def nbytes(self) -> int:
        return self.numel * _STORAGE_TYPES[self.dtype][1]

    @property
    def stride(self) -> tuple[int, ...]:
        out, acc = [], 1
        for d in reversed(self.shape):
            out.append(acc)
            acc *= d
        return tuple(reversed(out))


def _ints(values: Iterable[int]) -> bytes:
    return tup(*(integer(v) for v in values))


def _ordered_dict() -> bytes:
    return global_("collections", "OrderedDict") + EMPTY_TUPLE + REDUCE


def _rebuild_tensor(t: TensorSpec, legacy: bool = False) -> bytes:
    """``torch._utils._rebuild_tensor_v2(<persistent storage>, 0, size, stride, False,
    OrderedDict())`` as ``torch.save`` writes it (protocol 2, GLOBAL, BINPERSID)."""
    storage_type = _STORAGE_TYPES[t.dtype][0]
    pid = [binunicode("storage"), global_("torch", storage_type), binunicode(t.key)]
    pid += [binunicode("cpu"), integer(t.numel)]
    if legacy:  # the legacy format adds the view metadata
        pid.append(NONE)
    return call(
        global_("torch._utils", "_rebuild_tensor_v2"),
        tup(*pid) + BINPERSID,
        integer(0),
        _ints(t.shape),
        _ints(t.stride),
        NEWFALSE,
        _ordered_dict(),
    )


def torch_data_pkl(
    tensors: Iterable[TensorSpec], extra_items: bytes = b"", legacy: bool = False
) -> bytes:
    """The pickle of a state dict (an OrderedDict of tensors) as ``torch.save`` writes it.
    ``extra_items`` (key and value opcodes) are added to the dict: the place for a payload."""
    items = b"".join(binunicode(t.name) + _rebuild_tensor(t, legacy) for t in tensors)
    return pickle_bytes(2, _ordered_dict() + MARK + items + extra_items + SETITEMS)


def _tensor_bytes(t: TensorSpec) -> bytes:
    import numpy as np

    rng = np.random.default_rng(SEED + len(t.name))
    if t.dtype == "bool":
        arr = rng.integers(0, 2, t.numel).astype(bool)
    elif t.dtype.startswith("float"):
        arr = rng.standard_normal(t.numel).astype(t.dtype)
    else:
        arr = rng.integers(0, 100, t.numel).astype(t.dtype)
    return arr.astype(arr.dtype.newbyteorder("<")).tobytes()


def write_pytorch_zip(
    path: Path,
    tensors: list[TensorSpec],
    data: Mapping[str, bytes] | None = None,
    *,
    data_pkl: bytes | None = None,
    prefix: str = "archive",
) -> Path:
    """A PyTorch-format zip as ``torch.save`` writes it (``<prefix>/data.pkl``,
    ``<prefix>/data/<key>`` raw little-endian storages, ``byteorder``, ``version``), members
    stored uncompressed. ``data`` gives a storage's bytes (default: seeded random values);
    ``data_pkl`` replaces the pickle. Members are streamed, so large files are fine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:

        def put(name: str, payload: bytes) -> None:
            info = zipfile.ZipInfo(f"{prefix}/{name}", date_time=_ZIP_TIME)
            with zf.open(info, "w", force_zip64=len(payload) > (1 << 31)) as fh:
                fh.write(payload)

        put("data.pkl", data_pkl if data_pkl is not None else torch_data_pkl(tensors))
        put("byteorder", b"little")
        for t in tensors:
            put(f"data/{t.key}", data[t.key] if data and t.key in data else _tensor_bytes(t))
        put("version", b"3\n")
        put(".data/serialization_id", b"1234567890123456789012345678901234567890")
    return path


_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
_LEGACY_SYS_INFO = {
    "protocol_version": 1001,
    "little_endian": True,
    "type_sizes": {"short": 2, "int": 4, "long": 4},
}


def legacy_torch_bytes(tensors: list[TensorSpec], object_pickle: bytes | None = None) -> bytes:
    """The legacy (pre-1.6, non-zip) ``torch.save`` layout: four stacked pickles (magic
    number, protocol version, sys info, the object), the storage keys, then each storage as
    its element count (int64) and raw bytes. ``object_pickle`` replaces the object's pickle."""
    out = [
        pickle.dumps(_TORCH_MAGIC, protocol=2),
        pickle.dumps(1001, protocol=2),
        pickle.dumps(_LEGACY_SYS_INFO, protocol=2),
        object_pickle if object_pickle is not None else torch_data_pkl(tensors, legacy=True),
        pickle.dumps([t.key for t in tensors], protocol=2),
    ]
    for t in tensors:
        out.append(struct.pack("<q", t.numel) + _tensor_bytes(t))
    return b"".join(out)


def _tar_bytes(members: Iterable[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _small_tensors() -> list[TensorSpec]:
    return [
        TensorSpec("layer.weight", "float32", (4, 3), "0"),
        TensorSpec("layer.bias", "float32", (4,), "1"),
        TensorSpec("steps", "int64", (1,), "2"),
    ]


# --------------------------------------------------------------------------- Keras layout


def _keras_archive(layers: list[dict]) -> bytes:
    config = {
        "module": "keras",
        "class_name": "Sequential",
        "config": {
            "name": "sequential",
            "trainable": True,
            "dtype": "float32",
            "layers": [
                {
                    "module": "keras.layers",
                    "class_name": "InputLayer",
                    "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "input"},
                    "registered_name": None,
                },
                *layers,
            ],
        },
        "registered_name": None,
        "build_config": {"input_shape": [None, 4]},
    }
    metadata = {"keras_version": "3.6.0", "date_saved": "2024-01-01@00:00:00"}
    # Only the HDF5 signature: no scanner here reads the weights file's content.
    weights = b"\x89HDF\r\n\x1a\n" + bytes(504)
    return zip_bytes(
        [
            ("metadata.json", json.dumps(metadata).encode()),
            ("config.json", json.dumps(config, indent=1).encode()),
            ("model.weights.h5", weights),
        ],
        zipfile.ZIP_DEFLATED,
    )


def _dense(name: str, units: int) -> dict:
    return {
        "module": "keras.layers",
        "class_name": "Dense",
        "config": {"name": name, "units": units, "activation": "relu", "use_bias": True},
        "registered_name": None,
    }


def _lambda_layer() -> dict:
    # Keras 3 ``Lambda.get_config``: ``python_utils.func_dump`` of the lambda, i.e. its code
    # object marshalled and base64-encoded (codecs' base64, with its line breaks).
    code = codecs.encode(marshal.dumps(_harmless_lambda_code()), "base64").decode("ascii")
    function = {
        "class_name": "__lambda__",
        "config": {"code": code, "defaults": None, "closure": None},
    }
    return {
        "module": "keras.layers",
        "class_name": "Lambda",
        "config": {
            "name": "lambda",
            "function": function,
            "output_shape": None,
            "arguments": {},
        },
        "registered_name": None,
    }


# --------------------------------------------------------------------------- the corpora


def _container_tricks(root: Path) -> list[Sample]:
    """Malicious payloads hidden in the files and folders they are found in."""
    cat = "containers"
    p2, p4 = _os_system_true(2), _os_system_true(4)
    p0 = _os_system_true(0)
    tensors = _small_tensors()
    payload_item = binunicode("extra") + call(global_("os", "system"), binunicode("true"))
    bad_pkl = torch_data_pkl(tensors, extra_items=payload_item)
    out: list[Sample] = []

    def add(rel: str, data: bytes, trick: str) -> None:
        out.append(Sample(_write(root / rel, data), UNSAFE, trick, cat))

    def torch_zip(path: Path, data_pkl: bytes) -> bytes:
        write_pytorch_zip(path, tensors, data_pkl=data_pkl)
        return path.read_bytes()

    tmp = root / "_tmp.zip"
    torch_bad = torch_zip(tmp, bad_pkl)
    tmp.unlink()

    add(
        "weights.bin",
        torch_bad,
        "PyTorch-format zip named weights.bin; os.system inside archive/data.pkl among tensors",
    )
    add("model.pt", torch_bad, "PyTorch-format zip model.pt; os.system inside archive/data.pkl")
    add(
        "member_without_pkl_name.zip",
        zip_bytes([("model/config.json", b"{}"), ("model/weights", p4)]),
        "zip member without a .pkl name (model/weights, protocol 4)",
    )
    add(
        "member_protocol0.zip",
        zip_bytes([("model/config.json", b"{}"), ("model/state", p0)]),
        "zip member without a .pkl name in protocol 0 (no PROTO magic to recognise it by)",
    )
    # Bad CRC: the stored checksum of data.pkl no longer matches (torch's reader ignores it).
    crc_bad = bytearray(torch_bad)
    with zipfile.ZipFile(io.BytesIO(torch_bad)) as zf:
        info = zf.getinfo("archive/data.pkl")
    crc = struct.pack("<I", info.CRC)
    wrong = struct.pack("<I", info.CRC ^ 0xFFFFFFFF)
    assert crc_bad.count(crc) == 2, "CRC of data.pkl expected in the local and central headers"
    crc_bad = bytearray(bytes(crc_bad).replace(crc, wrong))
    add("bad_crc.pt", bytes(crc_bad), "PyTorch-format zip whose data.pkl has a wrong CRC-32")
    add(
        "nested.zip",
        zip_bytes([("README.md", b"model bundle\n"), ("checkpoints/model.pt", torch_bad)]),
        "zip inside a zip: a PyTorch zip stored in a bundle",
    )
    add(
        "nested_deflated.zip",
        zip_bytes(
            [("inner.zip", zip_bytes([("data.pkl", p2)], zipfile.ZIP_DEFLATED))],
            zipfile.ZIP_DEFLATED,
        ),
        "deflated zip inside a deflated zip, the pickle in the inner one",
    )
    add(
        "polyglot.pkl",
        p2 + zip_bytes([("archive/data.pkl", pickle.dumps({"ok": 1}, protocol=2))]),
        "pickle/zip polyglot: a malicious pickle at the start, a benign zip after it "
        "(zip readers find the end record; pickle.load reads the start)",
    )
    add("model.txt", gzip_bytes(p2), "gzip'd pickle named model.txt")
    add("model.pkl.bz2", bz2.compress(p2), "bz2-compressed pickle")
    add("model.pkl.xz", lzma.compress(p2), "xz-compressed pickle")
    for method in JOBLIB_COMPRESSORS:
        add(
            f"joblib_{method}.joblib",
            joblib_compress(p4, method),
            f"joblib file compressed with {method} (joblib.dump compress=('{method}', 3) framing)",
        )
    add(
        "joblib_zf_legacy.joblib",
        joblib_compress(p2, "zf"),
        "joblib < 0.9.3 'ZF' compressed file (still read by joblib.load)",
    )
    add("object_array.npy", npy_object_array(p4), ".npy object array whose pickle is malicious")
    _write(root / "object_array_folder" / "embeddings.npy", npy_object_array(p4))
    _write(root / "object_array_folder" / "config.json", b'{"dim": 8}\n')
    out.append(
        Sample(
            root / "object_array_folder",
            UNSAFE,
            "folder holding an .npy object array whose pickle is malicious",
            cat,
        )
    )
    _write(root / "misnamed_npy_folder" / "vectors.json", npy_object_array(p4))
    _write(root / "misnamed_npy_folder" / "README.md", b"embeddings\n")
    out.append(
        Sample(
            root / "misnamed_npy_folder",
            UNSAFE,
            "folder holding an .npy object array named vectors.json",
            cat,
        )
    )
    _write(root / "hf_model" / "config.json", b'{"model_type": "bert"}\n')
    _write(root / "hf_model" / "pytorch_model.bin", torch_bad)
    _write(root / "hf_model" / "tokenizer.json", b'{"version": "1.0"}\n')
    out.append(
        Sample(
            root / "hf_model",
            UNSAFE,
            "model folder (Hugging Face layout) whose pytorch_model.bin is malicious",
            cat,
        )
    )
    _write(root / "upper_case_folder" / "MODEL.PKL", p4)
    _write(root / "upper_case_folder" / "config.json", b"{}\n")
    out.append(
        Sample(
            root / "upper_case_folder",
            UNSAFE,
            "folder holding a malicious pickle named MODEL.PKL (upper-case extension)",
            cat,
        )
    )
    add(
        "arrays.npz",
        zip_bytes(
            [
                ("weights.npy", npy_header("<f4", (2,)) + bytes(8)),
                ("meta.npy", npy_object_array(p4)),
            ]
        ),
        ".npz whose member meta.npy is an object array with a malicious pickle",
    )
    add(
        "lambda.keras",
        _keras_archive([_dense("dense", 8), _lambda_layer()]),
        "Keras .keras archive whose config.json has a Lambda layer (marshalled code)",
    )
    legacy_obj = torch_data_pkl(tensors, extra_items=payload_item, legacy=True)
    add(
        "legacy.pt",
        legacy_torch_bytes(tensors, object_pickle=legacy_obj),
        "legacy PyTorch file (magic, protocol, sys info, object pickles stacked): "
        "os.system in the object pickle",
    )
    add(
        "legacy_tar.pt",
        _tar_bytes(
            [
                ("sys_info", pickle.dumps(_LEGACY_SYS_INFO, protocol=2)),
                ("pickle", p2),
                ("storages", pickle.dumps(0, protocol=2)),
                ("tensors", pickle.dumps(0, protocol=2)),
            ]
        ),
        "PyTorch 0.1 tar format: malicious 'pickle' member",
    )
    add("model.safetensors", p4, "pickle named model.safetensors (misleading extension)")
    add("weights.h5", p2, "pickle named weights.h5 (misleading extension)")
    return out


def _pickle_samples(root: Path, cat: str, tricks: list[tuple[str, str, bytes]]) -> list[Sample]:
    return [Sample(_write(root / name, data), UNSAFE, trick, cat) for name, trick, data in tricks]


def _plain_data() -> dict:
    shared = [1, 2, 3]
    return {
        "ints": [0, 1, -1, 255, 65536, 2**31, -(2**31) - 1, 2**70, -(2**70)],
        "floats": [0.0, -1.5, 1e300, float("inf"), float("-inf")],
        "text": "na\u00efve \u00fcnic\u00f8de",
        "bytes": b"\x00\x01\xff",
        "bytearray": bytearray(b"ab"),
        "tuple": (1, "a", None, True, False),
        "set": {1, 2, 3},
        "frozenset": frozenset({4, 5}),
        "ordered": collections.OrderedDict([("a", 1), ("b", 2)]),
        "nested": {"list": [[1, 2], {"k": (3, 4)}], "empty": ((), [], {})},
        "complex": 1 + 2j,
        "datetime": datetime.datetime(2024, 1, 2, 3, 4, 5, 6),
        "aware": datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc),
        "date": datetime.date(2024, 2, 29),
        "time": datetime.time(12, 30),
        "timedelta": datetime.timedelta(days=1, seconds=2),
        "decimal": decimal.Decimal("3.14159"),
        "range": range(0, 10, 2),
        "slice": slice(1, 5, 2),
        "shared_twice": [shared, shared],
        "none": None,
    }


def _numpy_arrays() -> dict:
    import numpy as np

    rng = np.random.default_rng(SEED)
    arrays: dict = {
        str(dt): rng.integers(0, 100, 6).astype(dt)
        for dt in (
            "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
            "float16", "float32", "float64", "complex64", "complex128", "bool",
        )
    }  # fmt: skip
    arrays["big_endian"] = np.arange(4, dtype=">i4")
    arrays["datetime64"] = np.array(["2024-01-01", "2024-06-30"], dtype="datetime64[D]")
    arrays["datetime64_ns"] = np.array([0, 10**18], dtype="datetime64[ns]")
    arrays["timedelta64"] = np.array([1, 2, 3], dtype="timedelta64[s]")
    arrays["unicode"] = np.array(["a", "bcd"], dtype="<U4")
    arrays["bytes"] = np.array([b"x", b"yz"], dtype="S2")
    arrays["structured"] = np.array(
        [(1.5, 2, "ab"), (3.0, 4, "cd")], dtype=[("x", "<f4"), ("n", "<i8"), ("name", "<U2")]
    )
    arrays["fortran_2d"] = np.asfortranarray(rng.standard_normal((3, 4)))
    arrays["zero_d"] = np.array(7.0)
    arrays["empty"] = np.zeros((0, 3))
    arrays["scalar_f8"] = np.float64(2.5)
    arrays["scalar_i8"] = np.int64(3)
    arrays["dtype"] = np.dtype("float32")
    return arrays


def _npz_bytes(arrays: Mapping, compression: int) -> bytes:
    import numpy as np

    members = []
    for name, arr in arrays.items():
        buf = io.BytesIO()
        np.lib.format.write_array(buf, np.asanyarray(arr), allow_pickle=False)
        members.append((f"{name}.npy", buf.getvalue()))
    return zip_bytes(members, compression)


def _npy_bytes(arr, allow_pickle: bool = False) -> bytes:
    import numpy as np

    buf = io.BytesIO()
    np.lib.format.write_array(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def _benign_python(root: Path) -> list[Sample]:
    data = _plain_data()
    out = [
        Sample(
            _write(root / f"plain_protocol{p}.pkl", pickle.dumps(data, protocol=p)),
            SAFE,
            f"dict of plain Python values (ints, floats, str, bytes, tuple, set, frozenset, "
            f"OrderedDict, datetime, Decimal, complex, range, slice), protocol {p}",
            "python",
        )
        for p in range(6)
    ]
    out.append(
        Sample(
            _write(root / "stacked.pkl", pickle.dumps([1, 2], 4) + pickle.dumps({"b": 2}, 2)),
            SAFE,
            "two benign pickles one after the other",
            "python",
        )
    )
    out.append(
        Sample(
            _write(root / "data.pkl.gz", gzip_bytes(pickle.dumps(data, protocol=4))),
            SAFE,
            "gzip'd pickle of plain Python values",
            "python",
        )
    )
    return out


def _benign_numpy(root: Path) -> list[Sample]:
    import numpy as np

    arrays = _numpy_arrays()
    cat = "numpy"
    out = [
        Sample(
            _write(root / f"arrays_protocol{p}.pkl", pickle.dumps(arrays, protocol=p)),
            SAFE,
            f"pickle (protocol {p}) of numpy arrays of many dtypes (ints, floats, complex, "
            "bool, datetime64, timedelta64, str, bytes, structured, big-endian, Fortran, 0-d, "
            "scalars, dtype)",
            cat,
        )
        for p in (2, 4, 5)
    ]
    for name in ("float32", "int64", "bool", "complex128", "datetime64", "structured", "unicode"):
        out.append(
            Sample(
                _write(root / f"{name}.npy", _npy_bytes(arrays[name])),
                SAFE,
                f".npy of a {name} array",
                cat,
            )
        )
    out.append(
        Sample(
            _write(root / "objects.npy", _npy_bytes(np.array([1, "two", None], object), True)),
            SAFE,
            ".npy object array of plain values (ints, str, None): pickled, but benign",
            cat,
        )
    )
    numeric = {k: arrays[k] for k in ("float32", "int64", "datetime64", "structured")}
    out.append(
        Sample(
            _write(root / "arrays.npz", _npz_bytes(numeric, zipfile.ZIP_STORED)),
            SAFE,
            ".npz (np.savez layout) of numeric arrays",
            cat,
        )
    )
    out.append(
        Sample(
            _write(root / "arrays_compressed.npz", _npz_bytes(numeric, zipfile.ZIP_DEFLATED)),
            SAFE,
            ".npz (np.savez_compressed layout) of numeric arrays",
            cat,
        )
    )
    return out


def _benign_pandas(root: Path) -> list[Sample]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(SEED)
    n = 20
    df = pd.DataFrame(
        {
            "i": np.arange(n),
            "x": rng.standard_normal(n),
            "s": [f"row{i}" for i in range(n)],
            "c": pd.Categorical(rng.choice(["a", "b", "c"], n)),
            "t": pd.date_range("2024-01-01", periods=n, freq="D"),
            "b": rng.integers(0, 2, n).astype(bool),
        }
    )
    cat = "pandas"
    out = [
        Sample(
            _write(root / f"frame_protocol{p}.pkl", pickle.dumps(df, protocol=p)),
            SAFE,
            f"pandas DataFrame (int, float, str, categorical, datetime, bool), protocol {p}",
            cat,
        )
        for p in (4, 5)
    ]
    series = pd.Series(rng.standard_normal(5), index=pd.date_range("2024-01-01", periods=5))
    out.append(
        Sample(
            _write(root / "series.pkl", pickle.dumps(series, protocol=5)),
            SAFE,
            "pandas Series with a DatetimeIndex",
            cat,
        )
    )
    out.append(
        Sample(
            _write(
                root / "categorical.pkl",
                pickle.dumps(pd.Categorical(["lo", "hi", "lo"], ordered=True), protocol=4),
            ),
            SAFE,
            "pandas Categorical (ordered)",
            cat,
        )
    )
    out.append(
        Sample(
            _write(root / "frame.pkl.gz", gzip_bytes(pickle.dumps(df, protocol=5))),
            SAFE,
            "gzip'd DataFrame pickle (what DataFrame.to_pickle('frame.pkl.gz') writes)",
            cat,
        )
    )
    return out


def _benign_sklearn(root: Path) -> list[Sample]:
    import joblib
    from sklearn.datasets import make_classification
    from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = make_classification(n_samples=120, n_features=6, random_state=0)
    models = {
        "logistic": LogisticRegression(max_iter=200),
        "random_forest": RandomForestClassifier(n_estimators=5, max_depth=3, random_state=0),
        "pipeline": make_pipeline(StandardScaler(), LogisticRegression(max_iter=200)),
        "gradient_boosting": GradientBoostingClassifier(n_estimators=5, random_state=0),
    }
    cat = "sklearn"
    out = []
    for name, model in models.items():
        model.fit(X, y)
        what = type(model).__name__ if name != "pipeline" else "Pipeline(StandardScaler, LR)"
        out.append(
            Sample(
                _write(root / f"{name}.pkl", pickle.dumps(model, protocol=4)),
                SAFE,
                f"fitted scikit-learn {what}, pickle protocol 4",
                cat,
            )
        )
        path = root / f"{name}.joblib"
        path.parent.mkdir(parents=True, exist_ok=True)
        joblib.dump(model, path)
        out.append(Sample(path, SAFE, f"fitted scikit-learn {what}, joblib.dump (raw)", cat))
    for method in JOBLIB_COMPRESSORS:
        path = root / f"random_forest_{method}.joblib"
        joblib.dump(models["random_forest"], path, compress=(method, 3))
        out.append(
            Sample(path, SAFE, f"fitted RandomForest, joblib.dump compress=('{method}', 3)", cat)
        )
    return out


def _benign_pytorch(root: Path) -> list[Sample]:
    cat = "pytorch"
    tensors = _small_tensors()
    mixed = [
        TensorSpec("embed.weight", "float16", (5, 2), "0"),
        TensorSpec("mask", "bool", (5,), "1"),
        TensorSpec("ids", "int32", (3,), "2"),
        TensorSpec("scale", "float64", (1,), "3"),
    ]
    out = [
        Sample(
            write_pytorch_zip(root / "pytorch_model.bin", tensors),
            SAFE,
            "PyTorch-format zip of a state dict (float32, int64 tensors)",
            cat,
        ),
        Sample(
            write_pytorch_zip(root / "mixed_dtypes.pt", mixed),
            SAFE,
            "PyTorch-format zip of float16, bool, int32, float64 tensors",
            cat,
        ),
        Sample(
            _write(root / "legacy.pt", legacy_torch_bytes(tensors)),
            SAFE,
            "legacy (non-zip) PyTorch file of a state dict",
            cat,
        ),
    ]
    # A checkpoint: plain values around the state dict.
    ckpt = pickle_bytes(
        2,
        EMPTY_DICT
        + MARK
        + binunicode("epoch")
        + integer(3)
        + binunicode("model")
        + torch_data_pkl(tensors)[2:-1]
        + binunicode("lr")
        + b"G"
        + struct.pack(">d", 0.001)
        + SETITEMS,
    )
    out.append(
        Sample(
            write_pytorch_zip(root / "checkpoint.pt", tensors, data_pkl=ckpt),
            SAFE,
            "PyTorch-format zip of a checkpoint dict (epoch, state dict, learning rate)",
            cat,
        )
    )
    return out


TORCH_FILES = Path(__file__).resolve().parent / "torch_files"
# Not benign samples: a user-defined class cannot be vetted by any allow-list, and a
# TorchScript archive carries a program that loading runs (neither is malicious either).
NOT_IN_CORPUS = {"custom_module.pt", "torchscript.pt"}


def _real_pytorch(root: Path) -> list[Sample]:
    """Checkpoints written by torch itself (tests/scan/torch_files/make_torch_files.py)."""
    cat = "pytorch (written by torch)"
    verdicts = json.loads((TORCH_FILES / "torch_results.json").read_text())
    out = []
    for name, torch_says in sorted(verdicts["weights_only"].items()):
        if name in NOT_IN_CORPUS:
            continue
        data = (TORCH_FILES / name).read_bytes()
        if torch_says == "loads":
            verdict = "loads it"
        else:
            named = re.search(r"GLOBAL (\S+)", torch_says)
            verdict = "refuses " + (named.group(1) if named else torch_says.split(": ")[-1][:40])
        what = f"`{name}` by torch {verdicts['torch']}; its weights_only loader {verdict}"
        out.append(Sample(_write(root / name, data), SAFE, what, cat))
    return out


def _benign_other(root: Path) -> list[Sample]:
    cat = "other formats"
    header = {
        "__metadata__": {"format": "pt"},
        "weight": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        "bias": {"dtype": "F32", "shape": [2], "data_offsets": [16, 24]},
    }
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    safetensors = struct.pack("<Q", len(head)) + head + struct.pack("<6f", 1, 2, 3, 4, 5, 6)
    out = [
        Sample(_write(root / "model.safetensors", safetensors), SAFE, "safetensors file", cat),
        Sample(
            _write(root / "dense.keras", _keras_archive([_dense("d1", 8), _dense("d2", 2)])),
            SAFE,
            "Keras .keras archive of Dense layers",
            cat,
        ),
        Sample(
            _write(root / "config.json", json.dumps({"hidden": 8, "layers": [1, 2]}).encode()),
            SAFE,
            "JSON file",
            cat,
        ),
        Sample(_write(root / "README.md", b"# A model\n\nPlain text.\n"), SAFE, "text file", cat),
        Sample(_write(root / "data.csv", b"a,b\n1,2\n3,4\n"), SAFE, "CSV file", cat),
    ]
    folder = root / "model_folder"
    _write(folder / "config.json", b'{"model_type": "bert"}\n')
    write_pytorch_zip(folder / "pytorch_model.bin", _small_tensors())
    _write(folder / "tokenizer.json", b'{"version": "1.0"}\n')
    _write(folder / "model.safetensors", safetensors)
    out.append(
        Sample(folder, SAFE, "model folder (config, PyTorch zip, tokenizer, safetensors)", cat)
    )
    return out


# --------------------------------------------------------------------------- issue 15
# The bypass classes of issue 15 and the formats beyond pickle that a model hub serves.


def _hidden_pickles() -> list[tuple[str, str, bytes]]:
    """Pickles that another format's magic number used to hide (the sniffing class)."""
    # `(S` is a valid two-byte zlib header: 19 bytes of protocol 0 that call os.system.
    tiny = b"(S'true'\nios\nsystem\n."
    # A bytes argument padded so that a tar "ustar" magic sits at byte 257 and an HDF5
    # signature at byte 512, before the call.
    pad = bytearray(600)
    pad[257 - 7 : 257 - 7 + 6] = b"ustar\x00"
    pad[512 - 7 : 512 - 7 + 8] = b"\x89HDF\r\n\x1a\n"
    magic_inside = proto(2) + binbytes(bytes(pad)) + POP + _os_system_true(2)[2:]
    # Memo keys written as CPython's int() reads them: `1_0` is memo 10.
    underscore = b"cos\nsystem\np1_0\n0g1_0\n(S'true'\ntR."
    return [
        ("zlib-header-pickle.bin", "19-byte protocol-0 pickle whose `(S` is a zlib header", tiny),
        ("tar-hdf5-magic.pkl", "pickle with tar and HDF5 magic numbers inside a bytes argument",
         magic_inside),
        ("underscore-memo.pkl", "memo key `1_0` (int() accepts underscores) before the call",
         underscore),
    ]  # fmt: skip


def _unreadable() -> list[tuple[str, str, bytes]]:
    """Containers the scanner cannot open: never safe."""
    p2 = _os_system_true(2)
    plain = zip_bytes([("archive/data.pkl", p2)])
    # General-purpose flag bit 0 (encrypted) on the member, in both headers.
    local = plain.index(b"PK\x03\x04")
    central = plain.index(b"PK\x01\x02")
    enc = bytearray(plain)
    enc[local + 6] |= 1
    enc[central + 8] |= 1
    rar = b"Rar!\x1a\x07\x01\x00" + bytes(64)
    return [
        ("encrypted-member.zip", "zip whose pickle member is marked encrypted", bytes(enc)),
        ("model.rar", "RAR archive (cannot be read)", rar),
    ]


SAVED_MODEL_PYFUNC = (  # a SavedModel with Const, PyFunc and ReadFile nodes, a saver
    b'\x08\x01\x12\x80\x01\n\x07"\x05serve\x12T\n\x0f\n\x01x\x12\x05Const\x1a\x03x:0'
    b"\n\x10\n\x01y\x12\x06PyFunc\x1a\x03x:0\n\x12\n\x01r\x12\x08ReadFile\x1a\x03x:0\x12\x16"
    b'\n\x14\n\x03\n\x01f\x1a\r\n\x01z\x12\x03Add\x1a\x03x:0"\x03\x08\xbf\x08\x1a\x1f\n'
    b"\x0csave/Const:0\x12\x0fsave/Identity:0"
)
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
)


def _gguf_bytes(path: Path, template: str) -> bytes:
    import gguf
    import numpy as np

    w = gguf.GGUFWriter(str(path), "llama")
    w.add_chat_template(template)
    w.add_tensor("w", np.arange(8, dtype=np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path.read_bytes()


def _onnx_bytes(location: str | None, domain: str = "") -> bytes:
    from onnx import TensorProto, helper

    weight = helper.make_tensor("w", TensorProto.FLOAT, [2], [1.0, 2.0])
    if location is not None:
        weight.ClearField("float_data")
        weight.data_location = TensorProto.EXTERNAL
        entry = weight.external_data.add()
        entry.key, entry.value = "location", location
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"], domain=domain)],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])],
        [weight],
    )
    opsets = [helper.make_opsetid("", 17)] + ([helper.make_opsetid(domain, 1)] if domain else [])
    return helper.make_model(graph, opset_imports=opsets).SerializeToString()


def _h5_bytes(path: Path, config: dict) -> bytes:
    import h5py

    with h5py.File(path, "w") as f:
        f.attrs["model_config"] = json.dumps(config)
        f.create_dataset("w", data=[1.0, 2.0])
    return path.read_bytes()


def _hub_formats(root: Path) -> tuple[list[Sample], list[Sample]]:
    """Malicious and benign files of the formats read beyond pickle (GGUF, ONNX, HDF5
    and Keras, TensorFlow SavedModel); those whose writer is not installed are left out
    (see :func:`missing_generators`)."""
    cat = "hub formats"
    bad: list[Sample] = []
    good: list[Sample] = []

    def add(into: list[Sample], rel: str, data: bytes, what: str) -> None:
        expected = UNSAFE if into is bad else SAFE
        into.append(Sample(_write(root / expected / rel, data), expected, what, cat))

    add(bad, "saved_model_pyfunc/saved_model.pb", SAVED_MODEL_PYFUNC,
        "TensorFlow SavedModel with a PyFunc op (runs Python) and ReadFile")  # fmt: skip
    wrapper = {"class_name": "TimeDistributed", "config": {"layer": _lambda_layer()}}
    nested = {"class_name": "Functional", "config": {"layers": [wrapper]}}
    add(bad, "nested-lambda.keras", _keras_archive([nested]),
        "Keras archive: a Lambda inside a wrapper inside a nested model")  # fmt: skip
    get_file = {
        "module": "keras.utils",
        "class_name": "function",
        "config": "get_file",
        "registered_name": "function",
    }
    fetch = {"class_name": "Lambda", "config": {"function": get_file}}
    add(bad, "get-file.keras", _keras_archive([fetch]),
        "Keras archive: a layer calling keras.utils.get_file (downloads)")  # fmt: skip
    if importlib.util.find_spec("gguf") is not None:
        evil = "{{ cycler.__init__.__globals__.os.popen('true').read() }}"
        add(bad, "evil-template.gguf", _gguf_bytes(root / "_t.gguf", evil),
            "GGUF whose chat template reaches os.popen through __globals__")  # fmt: skip
        add(good, "chatml.gguf", _gguf_bytes(root / "_t.gguf", CHATML), "GGUF, ChatML template")
        (root / "_t.gguf").unlink()
    if importlib.util.find_spec("onnx") is not None:
        add(bad, "outside.onnx", _onnx_bytes("../../etc/passwd"),
            "ONNX tensor whose external data lies outside the model folder")  # fmt: skip
        add(bad, "custom-op.onnx", _onnx_bytes(None, domain="evil.custom"),
            "ONNX node of a custom operator domain (a library must be loaded)")  # fmt: skip
        add(good, "model.onnx", _onnx_bytes(None), "ONNX model of standard operators")
    if importlib.util.find_spec("h5py") is not None:
        legacy = {"class_name": "Sequential", "config": {"layers": [_lambda_layer()]}}
        add(bad, "lambda.h5", _h5_bytes(root / "_t.h5", legacy),
            "legacy Keras .h5 whose model_config (an HDF5 attribute) holds a Lambda")  # fmt: skip
        plain = {"class_name": "Sequential", "config": {"layers": [_dense("d", 2)]}}
        add(good, "dense.h5", _h5_bytes(root / "_t.h5", plain), "legacy Keras .h5 of Dense layers")
        (root / "_t.h5").unlink()
    return bad, good


def zip_local(name: bytes, data: bytes, flags: int = 0) -> bytes:
    """A stored zip member's local header and data, written by hand."""
    crc = zlib.crc32(data)
    head = struct.pack(
        "<4sHHHHHIIIHH", b"PK\x03\x04", 20, flags, 0, 0, 0, crc, len(data), len(data), len(name), 0
    )
    return head + name + data


def zip_central(name: bytes, data: bytes, offset: int, flags: int = 0) -> bytes:
    crc = zlib.crc32(data)
    fields = (
        b"PK\x01\x02",
        20,
        20,
        flags,
        0,
        0,
        0,
        crc,
        len(data),
        len(data),
        len(name),
        0,
        0,
        0,
        0,
        0,
        offset,
    )
    return struct.pack("<4sHHHHHHIIIHHHHHII", *fields) + name


def zip_end(count: int, cd_size: int, cd_offset: int, comment_len: int = 0) -> bytes:
    return struct.pack(
        "<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, cd_size, cd_offset, comment_len
    )


def _zip_view_tricks(root: Path) -> list[Sample]:
    """Zips that readers see differently (issue 15, class 3): the payload is where one of
    the views (central directory, local headers, Python's zipfile, miniz) finds it."""
    cat = "zip-views"
    p2 = _os_system_true(2)
    benign = pickle.dumps({"ok": 1}, protocol=2)
    out: list[Sample] = []

    def add(rel: str, data: bytes, trick: str) -> None:
        out.append(Sample(_write(root / rel, data), UNSAFE, trick, cat))

    # An end record that counts 1 member of a directory of 2 (Python reads both).
    z = zip_local(b"a.npy", benign)
    second = len(z)
    z += zip_local(b"b.npy", p2)
    cd = zip_central(b"a.npy", benign, 0) + zip_central(b"b.npy", p2, second)
    z += cd + zip_end(1, len(cd), second + len(zip_local(b"b.npy", p2)))
    add(
        "count_short.npz",
        z,
        "zip end record counting 1 of its 2 directory entries; the payload is the second",
    )
    # A local header no directory lists, inside the data of a member whose sizes are in a
    # data descriptor (a streaming reader searches that data for the next signature).
    blob = b"tensor bytes " + zip_local(b"x/data.pkl", p2) + b" more"
    z = zip_local(b"blob", blob, flags=8)
    cd = zip_central(b"blob", blob, 0, flags=8)
    z += cd + zip_end(1, len(cd), len(z))
    add(
        "hidden_local.zip",
        z,
        "zip member's local header hidden inside the data of a member with a data descriptor",
    )
    # A second end record in the comment, which Python's zipfile takes.
    z = zip_local(b"a.txt", b"text")
    at = len(z)
    z += zip_local(b"data.pkl", p2)
    cd1 = zip_central(b"a.txt", b"text", 0)
    cd1_at = len(z)
    z += cd1
    cd2 = zip_central(b"data.pkl", p2, at)
    comment = cd2 + zip_end(1, len(cd2), len(z) + 22, 500)
    z += zip_end(1, len(cd1), cd1_at, len(comment)) + comment
    add(
        "end_in_comment.zip",
        z,
        "second zip end record in the archive comment (Python's zipfile reads it)",
    )
    # The encryption bit on a plain member.
    z = zip_local(b"data.pkl", p2, 1)
    cd = zip_central(b"data.pkl", p2, 0, 1)
    z += cd + zip_end(1, len(cd), len(z))
    add("flag_bit.zip", z, "zip member flagged encrypted whose bytes are a plain pickle")
    return out


def _structure_tricks(root: Path) -> list[Sample]:
    """Nested pickles and PyTorch structure (issue 15, classes 4 and 6)."""
    out: list[Sample] = []
    p4 = _os_system_true(4)

    def add(rel: str, data: bytes, trick: str, cat: str) -> None:
        out.append(Sample(_write(root / rel, data), UNSAFE, trick, cat))

    for module, name in [("pickle", "loads"), ("torch.storage", "_load_from_bytes")]:
        data = pickle_bytes(4, call(stack_global(module, name), binbytes(p4)))
        add(
            f"nested_{name}.pkl",
            data,
            f"{module}.{name} of a literal pickle that calls os.system",
            "nested",
        )
    t = TensorSpec("w", "float32", (4,), "0")
    pid = tup(
        binunicode("storage"),
        global_("torch", "FloatStorage"),
        binunicode("0"),
        binunicode("cpu"),
        integer(2),
    )
    small = call(
        global_("torch._utils", "_rebuild_tensor_v2"),
        pid + BINPERSID,
        integer(0),
        _ints(t.shape),
        _ints(t.stride),
        NEWFALSE,
        _ordered_dict(),
    )
    bad = pickle_bytes(2, _ordered_dict() + MARK + binunicode("w") + small + SETITEMS)
    tmp = root / "_tmp.zip"
    write_pytorch_zip(tmp, [t], {"0": bytes(8)}, data_pkl=bad)
    add(
        "tensor_past_storage.pt",
        tmp.read_bytes(),
        "tensor of 4 elements over a storage of 2",
        "torch-structure",
    )
    write_pytorch_zip(
        tmp, [t], data_pkl=pickle_bytes(2, _rebuild_tensor(t) + integer(0) + integer(1) + b"s")
    )
    add(
        "tensor_setitem.pt",
        tmp.read_bytes(),
        "SETITEM into a rebuilt tensor (GHSA-63cw-57p8-fm3p)",
        "torch-structure",
    )
    write_pytorch_zip(tmp, [t], {"0": bytes(t.nbytes - 4)})
    add(
        "storage_member_short.pt",
        tmp.read_bytes(),
        "storage member data/0 of 12 bytes where its persistent id gives 4 float32 (16 bytes)",
        "torch-structure",
    )
    untyped = tup(
        binunicode("storage"),
        global_("torch.storage", "UntypedStorage"),
        binunicode("0"),
        binunicode("cpu"),
        integer(10),
    )
    v3 = call(
        global_("torch._utils", "_rebuild_tensor_v3"),
        untyped + BINPERSID,
        integer(0),
        _ints((3,)),
        _ints((1,)),
        NEWFALSE,
        _ordered_dict(),
        global_("torch", "float32"),
    )
    v3_pkl = pickle_bytes(2, _ordered_dict() + MARK + binunicode("w") + v3 + SETITEMS)
    write_pytorch_zip(tmp, [t], {"0": bytes(10)}, data_pkl=v3_pkl)
    add(
        "tensor_v3_past_storage.pt",
        tmp.read_bytes(),
        "_rebuild_tensor_v3 of 3 float32 (12 bytes) over an untyped storage of 10 bytes",
        "torch-structure",
    )
    tmp.unlink()
    legacy = legacy_torch_bytes([t])
    add(
        "legacy_storage_truncated.pt",
        legacy[:-1],
        "legacy PyTorch file cut one byte short in its raw storage",
        "torch-structure",
    )
    return out


def missing_generators() -> list[str]:
    """Optional libraries whose benign samples :func:`write_corpus` leaves out here."""
    optional = ("sklearn", "joblib", "gguf", "onnx", "h5py")
    return [m for m in optional if importlib.util.find_spec(m) is None]


def write_corpus(folder: Path) -> list[Sample]:
    """Write both corpora under ``folder`` (created if needed; files are overwritten) and
    return every sample, malicious ones first."""
    folder = Path(folder)
    unsafe, safe = folder / UNSAFE, folder / SAFE
    samples: list[Sample] = []
    samples += _pickle_samples(unsafe / "opcodes", "opcodes", _opcode_tricks())
    samples += _pickle_samples(unsafe / "callables", "callables", _callable_tricks())
    samples += _container_tricks(unsafe / "containers")
    samples += _pickle_samples(unsafe / "hidden", "hidden pickles", _hidden_pickles())
    samples += _pickle_samples(unsafe / "unreadable", "unreadable", _unreadable())
    hub_bad, hub_good = _hub_formats(folder / "hub")
    samples += hub_bad
    samples += _zip_view_tricks(unsafe / "zip-views")
    samples += _structure_tricks(unsafe / "structure")
    samples += _benign_python(safe / "python")
    samples += _benign_numpy(safe / "numpy")
    samples += _benign_pandas(safe / "pandas")
    if not {"sklearn", "joblib"} & set(missing_generators()):
        samples += _benign_sklearn(safe / "sklearn")
    samples += _benign_pytorch(safe / "pytorch")
    samples += _real_pytorch(safe / "pytorch-real")
    samples += _benign_other(safe / "other")
    samples += hub_good
    return samples
