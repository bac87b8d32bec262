"""Pickle soups and what CPython's unpicklers import from them, for the Rust reader's
differential test.

Random sequences of opcodes with arguments (names, escapes, memo forms, frames, extension
codes) are loaded by three loaders with a ``find_class`` that records its arguments and
returns a harmless stand-in class (so nothing real is imported or called): the C
unpickler reading a ``BytesIO`` (no ``peek``: it drops the rest of a frame an argument
runs past), the C unpickler reading a ``BufferedReader`` (with ``peek``: it reads on in
order, as ``pickle.loads`` does), and Python's ``pickle._Unpickler`` (joblib's). Each
loader loads pickle after pickle until one fails or the data ends.

Writes ``pickle/differential.json``: the soups where a loader imported something or the
loaders disagree, with what each imported. The Rust test checks that the reader names
every global a loader imports, unless it reports that it stopped reading before it.

    .venv/bin/python src/core/scan/testdata/make_differential.py
"""

from __future__ import annotations

import io
import json
import pickle
import random
import struct
from pathlib import Path

OUT = Path(__file__).resolve().parent / "pickle" / "differential.json"
SEED = 20261122
SOUPS = 40000
KEEP = 600
LOADERS = ("bytesio", "peek", "python")


def _sbu(s: str) -> bytes:
    b = s.encode()
    return b"\x8c" + bytes([len(b)]) + b


def _bu(s: str) -> bytes:
    b = s.encode()
    return b"X" + struct.pack("<I", len(b)) + b


NAMES = ["os", "system", "collections", "OrderedDict", "a.b", "x", "numpy", "builtins"]
FRAGMENTS = [
    *(bytes([c]) for c in b"(.012N\x88)]}\x8ftld\x91\x85\x86\x87aesu\x90Rbo\x81\x92\x93\x94\x98"),
    b"q\x00", b"q\x01", b"h\x00", b"h\x01", b"r\x02\x00\x00\x00", b"j\x02\x00\x00\x00",
    b"p3\n", b"g3\n", b"p03\n", b"g 3\n", b"I01\n", b"I7\n", b"L12L\n", b"F1.5\n", b"K\x05",
    b"C\x03abc", b"\x95\x06\x00\x00\x00\x00\x00\x00\x00", b"\x95\x02\x00\x00\x00\x00\x00\x00\x00",
    b"\x80\x02", b"\x80\x04",
    b"S'os'\n", b"S\"sys\\x74em\"\n", b"S'\\157s'\n", b"Vsys\\u0074em\n", b"V\\\\u006f\n",
    b"U\x02os", b"T\x06\x00\x00\x00system",
    b"cos\nsystem\n", b"ccollections\nOrderedDict\n", b"c__builtin__\neval\n", b"ia.b\nc\n",
    b"\x82\x01",
    *(_sbu(n) for n in NAMES),
    *(_bu(n) for n in NAMES),
]  # fmt: skip


class _Stub:
    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        return _Stub()

    def __setstate__(self, state):
        pass

    def append(self, x):
        pass

    def extend(self, x):
        pass

    def add(self, x):
        pass

    def __setitem__(self, k, v):
        pass


def imported(data: bytes, loader: str) -> list:
    """What ``find_class`` is asked for, loading pickle after pickle with ``loader``."""
    seen: list = []
    base = pickle._Unpickler if loader == "python" else pickle.Unpickler

    class Recording(base):
        def find_class(self, module, name):
            seen.append([module, name])
            return _Stub

    f = io.BufferedReader(io.BytesIO(data)) if loader == "peek" else io.BytesIO(data)
    more = (lambda: bool(f.peek(1))) if loader == "peek" else (lambda: f.tell() < len(data))
    try:
        while more():
            Recording(f).load()
    except Exception:
        # Any failure ends the loading, as it does for a real loader.
        pass
    return seen


def main() -> None:
    rng = random.Random(SEED)
    kept, disagree = [], []
    for _ in range(SOUPS):
        soup = b"".join(rng.choice(FRAGMENTS) for _ in range(rng.randint(1, 30)))
        if rng.random() < 0.5:
            soup = b"\x80" + bytes([rng.randint(0, 5)]) + soup
        seen = {loader: imported(soup, loader) for loader in LOADERS}
        if not any(seen.values()):
            continue
        case = {"data": soup.hex(), **seen}
        if len({json.dumps(v) for v in seen.values()}) > 1:
            disagree.append(case)
        elif len(kept) < KEEP:
            kept.append(case)
    cases = kept + disagree[:KEEP]
    OUT.write_text(json.dumps({"loaders": LOADERS, "cases": cases}, separators=(",", ":")) + "\n")
    print(f"{len(cases)} soups ({len(disagree)} where loaders disagree) in {OUT}")


if __name__ == "__main__":
    main()
