"""Pickles that unpickle bytes (issue 15, class 4): a loader (``pickle.loads``,
``torch.load`` on a buffer, ``torch.storage._load_from_bytes``, ``joblib.load``, ``dill`` and
``cloudpickle`` ``loads``) called on bytes that are literal in the pickle. The outer call is
dangerous by itself (the built-in policy); the nested pickle is read too, and what it names
is reported under the path ``<loader> at offset <n>: nested pickle``.

The pickles are built opcode by opcode. What ``pickle.loads`` of the outer one would do is
checked with an unpickler whose ``find_class`` records the name and, for the loader, returns
a local function that only records the bytes it is given (nothing is imported or run); those
bytes are then loaded by an unpickler whose ``find_class`` records and raises.
"""

from __future__ import annotations

import contextlib
import io
import pickle

import pytest
import scan_corpus as corpus

import mlsentry as ms

EVIL = corpus.pickle_bytes(
    4, corpus.call(corpus.stack_global("os", "system"), corpus.short_binunicode("true"))
)
BENIGN = pickle.dumps({"weights": [1, 2, 3]}, protocol=2)


class _Stop(Exception):
    pass


def asked(data: bytes) -> list[str]:
    """The globals ``pickle.loads`` asks for; it raises at the first one."""
    names: list[str] = []

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            names.append(f"{module}.{name}")
            raise _Stop

    with contextlib.suppress(_Stop):
        Recorder(io.BytesIO(data)).load()
    return names


def handed(data: bytes, loader: str) -> list[bytes]:
    """The bytes ``pickle.loads(data)`` hands to ``loader`` (a stand-in that records them)."""
    got: list[bytes] = []

    def stand_in(arg, *rest, **kw):
        got.append(arg.getvalue() if isinstance(arg, io.BytesIO) else bytes(arg))

    class Recorder(pickle.Unpickler):
        def find_class(self, module, name):
            if f"{module}.{name}" == loader:
                return stand_in
            if f"{module}.{name}" in ("io.BytesIO", "_codecs.encode"):
                return {"io.BytesIO": io.BytesIO, "_codecs.encode": lambda s, e: s.encode(e)}[
                    f"{module}.{name}"
                ]
            raise _Stop(f"{module}.{name}")

    Recorder(io.BytesIO(data)).load()
    return got


def outer(loader: str, arg: bytes, protocol: int = 4) -> bytes:
    module, name = loader.rsplit(".", 1)
    return corpus.pickle_bytes(protocol, corpus.call(corpus.global_(module, name), arg))


def scan(tmp_path, data: bytes):
    p = tmp_path / "model.pkl"
    p.write_bytes(data)
    return ms.scan.scan(p, digests=False)


@pytest.mark.parametrize(
    "loader",
    [
        "pickle.loads",
        "_pickle.loads",
        "dill.loads",
        "cloudpickle.loads",
        "torch.storage._load_from_bytes",
        "joblib.load",
    ],
)
def test_a_literal_nested_pickle_is_read(tmp_path, loader):
    data = outer(loader, corpus.binbytes(EVIL))
    # What pickle.loads would do: ask for the loader, hand it EVIL, which asks for os.system.
    assert asked(data) == [loader]
    assert handed(data, loader) == [EVIL]
    assert asked(EVIL) == ["os.system"]
    rep = scan(tmp_path, data)
    assert not rep.safe
    system = [f for f in rep.findings if f.global_name == "os.system"]
    assert len(system) == 1 and system[0].severity == "dangerous"
    assert system[0].member == f"{loader} at offset {len(data) - 2}: nested pickle"
    assert any(f.global_name == loader and f.severity == "dangerous" for f in rep.findings)


def test_bytes_as_protocol_2_writes_them_and_bytesio(tmp_path):
    encoded = corpus.call(
        corpus.global_("_codecs", "encode"),
        corpus.binunicode(EVIL.decode("latin-1")),
        corpus.binunicode("latin1"),
    )
    data = outer("pickle.loads", encoded, protocol=2)
    assert handed(data, "pickle.loads") == [EVIL]
    rep = scan(tmp_path, data)
    assert [f.member for f in rep.findings if f.global_name == "os.system"] == [
        f"pickle.loads at offset {len(data) - 2}: nested pickle"
    ]
    wrapped = corpus.call(corpus.global_("io", "BytesIO"), corpus.binbytes(EVIL))
    data = outer("torch.load", wrapped, protocol=3)
    assert handed(data, "torch.load") == [EVIL]
    rep = scan(tmp_path, data)
    assert any(f.global_name == "os.system" for f in rep.findings)


def test_nested_twice_and_benign_nesting(tmp_path):
    data = outer("pickle.loads", corpus.binbytes(outer("pickle.loads", corpus.binbytes(EVIL))))
    rep = scan(tmp_path, data)
    (f,) = [f for f in rep.findings if f.global_name == "os.system"]
    assert f.member.count("nested pickle") == 2
    # Benign nested bytes add nothing but the outer loader.
    rep = scan(tmp_path, outer("pickle.loads", corpus.binbytes(BENIGN)))
    assert not rep.safe
    assert all(f.member is None for f in rep.findings)
