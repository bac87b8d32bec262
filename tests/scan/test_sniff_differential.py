"""Format sniffing never hides a pickle (issue 15, class 1): a differential test of the
scanner against CPython's unpicklers.

Byte strings are generated (opcode soups, real pickles of every protocol behind and with
every weak magic number, magic numbers inside a pickle's bytes or string argument, text
pickles whose memo keys are written as ``int()`` reads them, long harmless prefixes before
the import, some of them inside zip/gzip/zlib/bz2/tar wrappers) and each is loaded by the C
unpickler (``pickle.Unpickler``) and the Python one (``pickle._Unpickler``, joblib's), pickle
after pickle, with a ``find_class`` that records what it is asked for and raises: nothing is
ever imported or run. Then all of them are scanned in one folder. For every string from
which a loader asked for a global whose module ``__import__`` can resolve (dotted
identifiers; anything else raises ModuleNotFoundError before any code runs):

* the scanner read it with the pickle reader (at least one stream) and did not call it
  "not a model";
* if the policy does not allow that global (a reference pickle naming it alone is not
  safe), the report is not safe and names the global, unless the reader reports that it
  stopped reading before it (invalid, truncated, past a limit), which is not safe either.

The generators are scan_corpus's payloads and opcode helpers and the opcode fragments of
``src/core/scan/testdata/make_differential.py`` (the Rust reader's own differential test).
"""

from __future__ import annotations

import _compat_pickle
import bz2
import importlib.util
import io
import pickle
import pickletools
import random
import re
import struct
import sys
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import mlsentry as ms

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
for _where in (HERE, HERE.parent):
    if (_where / "scan_corpus.py").is_file():
        sys.path.insert(0, str(_where))
        break
import scan_corpus as corpus  # noqa: E402


def _make_differential():
    path = ROOT / "src" / "core" / "scan" / "testdata" / "make_differential.py"
    spec = importlib.util.spec_from_file_location("make_differential", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


SOUP = _make_differential()
SEED = 20261207
SOUPS = 4000
STOPPED = {"pickle.invalid", "pickle.truncated", "pickle.limit"}


# ------------------------------------------------------------------------------ the oracle


class _Asked(Exception):
    pass


def _asked(data: bytes, base: type) -> list[tuple[str, str]]:
    """What ``find_class`` of ``base`` is asked for, loading pickle after pickle from
    ``data``; it raises at once, so nothing is imported."""
    seen: list[tuple[str, str]] = []

    class Recording(base):  # type: ignore[misc, valid-type]
        def find_class(self, module, name):
            seen.append((module, name))
            raise _Asked(module, name)

    f = io.BytesIO(data)
    try:
        while f.tell() < len(data):
            Recording(f).load()
    except Exception:
        # Any failure ends the loading, as it does for a real loader.
        pass
    return seen


def importable(module: str) -> bool:
    """Whether ``__import__`` could resolve ``module`` at all (dotted identifiers)."""
    return all(part.isidentifier() for part in module.split("."))


def asked(data: bytes) -> set[tuple[str, str]]:
    """Globals with an importable module that either unpickler asks for."""
    found = set(_asked(data, pickle.Unpickler)) | set(_asked(data, pickle._Unpickler))
    return {(m, n) for m, n in found if importable(m)}


def spellings(module: str, name: str) -> set[str]:
    """The names a report may give a global: as written, and as fix_imports maps it."""
    out = {f"{module}.{name}"}
    if (module, name) in _compat_pickle.NAME_MAPPING:
        out.add(".".join(_compat_pickle.NAME_MAPPING[(module, name)]))
    out.add(f"{_compat_pickle.IMPORT_MAPPING.get(module, module)}.{name}")
    return out


def reference(module: str, name: str) -> bytes:
    """A pickle that names the global alone (for the policy's verdict on it)."""
    if "\n" not in module + name:
        return b"\x80\x02c" + module.encode() + b"\n" + name.encode() + b"\n."
    return b"\x80\x04" + corpus.binunicode(module) + corpus.binunicode(name) + b"\x93."


# ------------------------------------------------------------------------------ generators


@dataclass
class Case:
    what: str
    data: bytes  # the file
    inner: bytes | None = None  # the bytes a loader unpickles, when a wrapper holds them
    oracle: set = field(default_factory=set)

    @property
    def loaded(self) -> bytes:
        return self.data if self.inner is None else self.inner


def _body(p: bytes) -> bytes:
    """A pickle without its PROTO (and FRAME) and STOP: opcodes to run after others."""
    if p[:1] == b"\x80":
        p = p[2:]
    if p[:1] == b"\x95":
        p = p[9:]
    assert p.endswith(b".")
    return p[:-1]


def payloads() -> list[tuple[str, bytes]]:
    """Malicious pickles of scan_corpus: os.system in every protocol's form, and the
    opcode and callable tricks."""
    out = [(f"os.system p{p}", corpus._os_system_true(p)) for p in range(6)]
    tricks = corpus._opcode_tricks() + corpus._callable_tricks()
    out += [(name, data) for name, _, data in tricks if data.endswith(b".")][:24]
    return out


def benign() -> list[tuple[str, bytes]]:
    """Real pickles of plain data, every protocol."""
    data = corpus._plain_data()
    return [(f"plain p{p}", pickle.dumps(data, protocol=p)) for p in range(6)]


# Magic numbers the sniffer knows, with where they sit: prefixes at byte 0 (most are no
# valid start of a pickle, the zlib headers are), and signatures further in.
PREFIX_MAGICS = {
    "zlib (S": b"(S'x'\n0",
    "zlib (FROZENSET": b"(\x910",
    **{f"zlib X{b}": b"X" + bytes([b, 0, 0, 0]) + b"x" * b + b"0" for b in (9, 71, 133, 195)},
    "safetensors length": b"X\x04\x00\x00\x00abc{0",
    "gzip": b"\x1f\x8b\x08",
    "bzip2": b"BZh9",
    "xz": b"\xfd7zXZ\x00",
    "lzma": b"\x5d\x00\x00\x80\x00",
    "zstd": b"\x28\xb5\x2f\xfd",
    "lz4": b"\x04\x22\x4d\x18",
    "npy": b"\x93NUMPY",
    "zip": b"PK\x03\x04",
    "joblib ZF": b"ZF0x",
    "json": b"{",
    "hdf5": b"\x89HDF\r\n\x1a\n",
}
INNER_MAGICS = [
    ("tar", 257, b"ustar\x00"),
    ("tar gnu", 257, b"ustar  \x00"),
    *((f"hdf5@{o}", o, b"\x89HDF\r\n\x1a\n") for o in (512, 1024, 2048)),
    ("safetensors {", 8, b"{"),
    *((name, o, m) for name, m in PREFIX_MAGICS.items() for o in (8, 40) if "zlib" not in name),
]


def _holding(start: int, offset: int, magic: bytes, opcode: bytes) -> bytes | None:
    """One argument opcode at ``start`` whose bytes put ``magic`` at file offset
    ``offset``; None where it cannot."""
    head = {b"B": 5, b"C": 2, b"X": 5, b"T": 5, b"\x8c": 2}[opcode]
    pre = offset - start - head
    if pre < 0:
        return None
    arg = b"y" * pre + magic + b"z" * 7
    if opcode in (b"X", b"\x8c", b"T") and not magic.isascii():
        return None  # decoded as text: not a string a loader reads
    if opcode in (b"C", b"\x8c") and len(arg) > 255:
        return None
    size = struct.pack("<I", len(arg)) if head == 5 else bytes([len(arg)])
    return opcode + size + arg


def cases_with_magics() -> list[Case]:
    out = []
    everything = payloads() + benign()
    for what, p in everything:
        for mname, magic in PREFIX_MAGICS.items():
            # The magic first, the pickle after it (as one pickle, and as a second one).
            out.append(Case(f"{mname} + {what}", magic + _body(p) + b"."))
            out.append(Case(f"{mname} + second pickle {what}", magic + p))
    for what, p in payloads()[:10] + benign()[:3]:
        for mname, offset, magic in INNER_MAGICS:
            for opcode, protocol in ((b"B", 3), (b"C", 3), (b"X", 1), (b"T", 1), (b"\x8c", 4)):
                for with_proto in (True, False):
                    head = corpus.proto(protocol) if with_proto else b""
                    arg = _holding(len(head), offset, magic, opcode)
                    if arg is None:
                        continue
                    d = head + arg + b"0" + _body(p) + b"."
                    assert d[offset : offset + len(magic)] == magic
                    out.append(Case(f"{mname} in {opcode!r} of {what}", d))
                    # The argument in a pickle of its own, the payload a second pickle.
                    out.append(Case(f"{mname} in {opcode!r}, then {what}", head + arg + b"." + p))
    return out


_MEMO_FORMS = [
    (b"1_0", b"10"),
    (b"10", b"1_0"),
    (b"+3", b"3"),
    (b"-0", b"0"),
    (b" 7 ", b"0_7"),
    (b"1_2_3", b"123"),
    (b"00_5", b"5"),
]


def _underscored(p0: bytes, rng: random.Random) -> bytes:
    """A protocol 0 pickle with its PUT/GET keys rewritten as int() also reads them."""
    out, last = [], 0
    for op, arg, pos in pickletools.genops(p0):
        if op.name in ("PUT", "GET"):
            line_end = p0.index(b"\n", pos)
            digits = str(arg)
            form = rng.choice(
                [
                    "_".join(digits) if len(digits) > 1 else digits,
                    f"+{digits}",
                    f"0_{digits}",
                    f" {digits}",
                ]
            )
            out.append(p0[last : pos + 1] + form.encode())
            last = line_end
    out.append(p0[last:])
    return b"".join(out)


def cases_with_memo_keys(rng: random.Random) -> list[Case]:
    out = []
    for put, get in _MEMO_FORMS:
        for call in (b"(S'id'\ntR.", b"(Vtrue\ntR.", b")R."):
            text = b"cos\nsystem\np" + put + b"\n0g" + get + b"\n" + call
            out.append(Case(f"memo {put!r}/{get!r}", text))
            out.append(Case(f"(S + memo {put!r}/{get!r}", b"(S'x'\n0" + text))
            # The key's memo entry used for the module name of a later GLOBAL-free call.
            alone = b"Vos\np" + put + b"\n0Vsystem\np99\n0g" + get + b"\ng99\n\x93" + call
            out.append(Case(f"stack-global memo {put!r}/{get!r}", alone))
    for what, p in benign()[:2]:
        rewritten = _underscored(p, rng)
        assert pickle.loads(rewritten) == pickle.loads(p)
        for tail_what, tail in payloads()[:6]:
            body = rewritten[:-1] + b"0" + _body(tail) + b"."
            out.append(Case(f"underscored {what} then {tail_what}", body))
            out.append(Case(f"underscored {what}, second pickle {tail_what}", rewritten + tail))
    return out


def cases_with_long_prefixes() -> list[Case]:
    out = []
    for what, p in payloads()[:6]:
        body = _body(p) + b"."
        # More than the sniffing prefix of a compressed member (64 KiB) of harmless
        # opcodes, with and without PROTO; more MARKs than the sniffing walk tracks.
        ints = b"(" + b"I1\n" * 30_000 + b"l0"
        bins = b"]q\x00(" + b"K\x01" * 40_000 + b"e0"
        for pname, prefix in (("INT list", ints), ("BININT1 list", bins)):
            out.append(Case(f"{pname} before {what}", prefix + body))
            out.append(Case(f"PROTO 2, {pname} before {what}", b"\x80\x02" + prefix + body))
    marks = b"(" * ((1 << 20) + 8)
    out.append(Case("2^20 MARKs before os.system", marks + _body(corpus._os_system_true(0)) + b"."))
    return out


def _xxh32(data: bytes, seed: int = 0) -> int:
    """XXH32 (the LZ4 frame format's header checksum)."""
    p1, p2, p3, p4, p5 = 2654435761, 2246822519, 3266489917, 668265263, 374761393
    mask = 0xFFFFFFFF

    def rotl(x: int, r: int) -> int:
        return ((x << r) | (x >> (32 - r))) & mask

    def rnd(acc: int, lane: int) -> int:
        return (rotl((acc + lane * p2) & mask, 13) * p1) & mask

    n, i = len(data), 0
    if n >= 16:
        v = [(seed + p1 + p2) & mask, (seed + p2) & mask, seed & mask, (seed - p1) & mask]
        while i + 16 <= n:
            for k in range(4):
                v[k] = rnd(v[k], struct.unpack_from("<I", data, i + 4 * k)[0])
            i += 16
        h = (rotl(v[0], 1) + rotl(v[1], 7) + rotl(v[2], 12) + rotl(v[3], 18)) & mask
    else:
        h = (seed + p5) & mask
    h = (h + n) & mask
    while i + 4 <= n:
        h = (rotl((h + struct.unpack_from("<I", data, i)[0] * p3) & mask, 17) * p4) & mask
        i += 4
    while i < n:
        h = (rotl((h + data[i] * p5) & mask, 11) * p1) & mask
        i += 1
    h ^= h >> 15
    h = (h * p2) & mask
    h ^= h >> 13
    h = (h * p3) & mask
    return h ^ (h >> 16)


def zstd_raw(data: bytes) -> bytes:
    """A Zstandard frame of raw (stored) blocks, as the format defines them: no
    compressor needed, every decoder reads it."""
    out = bytearray(b"\x28\xb5\x2f\xfd\x00\x38")  # no content size, 128 KiB window
    chunks = [data[i : i + (128 << 10)] for i in range(0, len(data), 128 << 10)] or [b""]
    for k, chunk in enumerate(chunks):
        last = k == len(chunks) - 1
        out += (len(chunk) << 3 | int(last)).to_bytes(3, "little") + chunk
    return bytes(out)


def lz4_raw(data: bytes) -> bytes:
    """An LZ4 frame of uncompressed blocks (independent, 4 MiB at most, no checksums)."""
    flg, bd = 0x60, 0x70
    out = bytearray(b"\x04\x22\x4d\x18" + bytes([flg, bd, (_xxh32(bytes([flg, bd])) >> 8) & 0xFF]))
    for i in range(0, len(data), 4 << 20):
        chunk = data[i : i + (4 << 20)]
        out += struct.pack("<I", len(chunk) | 0x80000000) + chunk
    return bytes(out + b"\x00\x00\x00\x00")


def wrapped(cases: list[Case]) -> list[Case]:
    """The same bytes inside the wrappers loaders open first: zip members (stored and
    deflated, a name without .pkl), gzip, zlib (joblib), bz2, tar, zstd and lz4 frames
    (pandas and joblib write both), and as the data.pkl of a PyTorch zip (torch.load
    unpickles it whatever its bytes look like)."""
    out = []
    for i, c in enumerate(cases):
        how = i % 9
        if how == 0:
            d = corpus.zip_bytes([("weights.bin", c.data)], zipfile.ZIP_DEFLATED)
        elif how == 1:
            d = corpus.zip_bytes([("model/blob", c.data)])
        elif how == 2:
            d = corpus.gzip_bytes(c.data)
        elif how == 3:
            d = zlib.compress(c.data, 3)
        elif how == 4:
            d = bz2.compress(c.data, 1)
        elif how == 5:
            d = zstd_raw(c.data)
        elif how == 6:
            d = lz4_raw(c.data)
        elif how == 7:
            torch = [("model/data.pkl", c.data), ("model/version", b"3\n"), ("model/data/0", b"")]
            d = corpus.zip_bytes(torch)
        else:
            d = corpus._tar_bytes([("payload", c.data)])
        out.append(Case(f"wrapped({how}) {c.what}", d, inner=c.data))
    return out


def soups(rng: random.Random) -> list[Case]:
    extra = [
        b"p1_0\n", b"g1_0\n", b"p+2\n", b"g-0\n", b"p 3_3\n", b"g3_3\n", b"g2\n",
        b"(S'id'\n", b"ios\nsystem\n", b"cos\nsystem\n", b"Pid\n", b"cio\nopen\n",
        b"C\x06ustar\x00", b"C\x08\x89HDF\r\n\x1a\n", b"(\x91", b"\x82\x01",
        # The C unpickler reads number lines as C strings, up to a NUL.
        b"I\x00junk\n", b"I12\x00x\n", b"L7\x00\n", b"F1.5\x00\n", b"p0\x00z\n", b"g0\x00\n",
    ]  # fmt: skip
    fragments = SOUP.FRAGMENTS + extra
    heads = [b"", b"", b"\x80\x02", b"\x80\x04", *PREFIX_MAGICS.values()]
    out = []
    for i in range(SOUPS):
        soup = b"".join(rng.choice(fragments) for _ in range(rng.randint(1, 30)))
        out.append(Case(f"soup {i}", rng.choice(heads) + soup))
    return out


def all_cases() -> list[Case]:
    rng = random.Random(SEED)
    base = cases_with_magics() + cases_with_memo_keys(rng) + cases_with_long_prefixes()
    chosen = rng.sample(base, 450)
    return base + wrapped(chosen) + soups(rng)


# ------------------------------------------------------------------------------ the test


def _scan_folder(folder: Path, blobs: list[bytes]) -> ms.scan.ScanReport:
    folder.mkdir()
    for i, b in enumerate(blobs):
        (folder / f"{i:06d}.bin").write_bytes(b)
    return ms.scan.scan(folder, digests=False)


def _by_file(rep) -> tuple[dict, dict]:
    findings: dict[int, list] = {}
    for f in rep.findings:
        findings.setdefault(int(Path(f.file).stem), []).append(f)
    files = {int(Path(f.path).stem): f for f in rep.files}
    return findings, files


def bypasses(cases: list[Case], tmp: Path) -> tuple[list[str], dict]:
    """Every case where the scanner disagrees with the oracle, and counts."""
    for c in cases:
        c.oracle = asked(c.loaded)
    importing = [c for c in cases if c.oracle]
    # The policy's verdict on each global asked for, from a pickle naming it alone.
    names = sorted({g for c in importing for g in c.oracle})
    ref_findings, _ = _by_file(_scan_folder(tmp / "reference", [reference(*g) for g in names]))
    allowed = {
        g for i, g in enumerate(names) if all(f.severity == "info" for f in ref_findings.get(i, []))
    }
    rep = _scan_folder(tmp / "cases", [c.data for c in importing])
    findings, files = _by_file(rep)
    problems = []
    for i, c in enumerate(importing):
        fs = findings.get(i, [])
        summary = files[i]
        shown = f"{c.what} ({summary.format}): {c.data[:80]!r}... asked {sorted(c.oracle)}"
        bad = [g for g in c.oracle if g not in allowed]
        if bad and all(f.severity == "info" for f in fs):
            problems.append(f"safe: {shown}")
            continue
        if summary.streams == 0 or any(f.rule == "container.not-model" for f in fs):
            problems.append(f"not read as a pickle: {shown}")
            continue
        if not bad:
            continue
        named = {f.global_name for f in fs if f.global_name}
        stopped = any(f.rule in STOPPED for f in fs)
        missing = [g for g in bad if not (spellings(*g) & named)]
        if missing and not stopped:
            problems.append(f"not named {missing}: {shown}")
    counts = {
        "cases": len(cases),
        "importing": len(importing),
        "not allowed": sum(any(g not in allowed for g in c.oracle) for c in importing),
    }
    return problems, counts


def test_no_pickle_hides_behind_a_format(tmp_path):
    cases = all_cases()
    problems, counts = bypasses(cases, tmp_path)
    assert not problems, f"{len(problems)} bypasses of {counts}:\n" + "\n".join(problems[:40])
    # The generators reach what they are for: thousands of strings, most kinds import.
    assert counts["cases"] >= 8000 and counts["importing"] >= 2500, counts
    assert counts["not allowed"] >= 2000, counts
    kinds = {re.sub(r"[ (].*", "", c.what) for c in cases if c.oracle}
    assert {"soup", "memo", "underscored", "wrapped", "zlib", "tar", "hdf5@512"} <= kinds, kinds


def test_the_oracle_never_imports():
    # find_class raises before importing: a module that does not exist is asked for, and
    # nothing new appears in sys.modules.
    before = set(sys.modules)
    assert asked(b"cmlsentry_no_such_module\nx\n.") == {("mlsentry_no_such_module", "x")}
    assert asked(b"(S'id'\nios\nsystem\n.") == {("os", "system")}
    assert asked(b"cos\r\nsystem\r\n.") == set()
    assert set(sys.modules) == before


@pytest.mark.parametrize(
    "data",
    [
        b"(S'id'\nios\nsystem\n.",
        b"cos\nsystem\np1_0\n0g1_0\n(S'id'\ntR.",
        b"(lp0\nI1\na.cos\nsystem\n(S'id'\ntR.",
    ],
)
def test_the_issue_samples(tmp_path, data):
    path = tmp_path / "sample.bin"
    path.write_bytes(data)
    rep = ms.scan.scan(path, digests=False)
    assert not rep.safe
    assert any(f.global_name == "os.system" and f.severity == "dangerous" for f in rep.findings)
