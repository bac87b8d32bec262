"""Zip parser differentials (issue 15, class 3): every view a loader could take of a zip
(its central directory, its local headers, Python's ``zipfile``, PyTorch's miniz) is read,
and a disagreement between the views is itself an ``unknown`` finding
(``zip.views-disagree``).

Each archive is built byte by byte. Where Python's ``zipfile`` reads it, the test checks what
``zipfile`` lists and which bytes it returns, and that the scanner read those bytes: the
member that holds the payload is named in the finding. Nothing is unpickled here.
"""

from __future__ import annotations

import pickle
import struct
import zipfile
from io import BytesIO

import pytest
from scan_corpus import zip_central as central
from scan_corpus import zip_end as end
from scan_corpus import zip_local as local

import mlsentry as ms

#: ``os.system("true")`` at protocol 2, written opcode by opcode.
EVIL = b"\x80\x02cos\nsystem\nX\x04\x00\x00\x00true\x85R."
BENIGN = pickle.dumps({"weights": [1, 2, 3]}, protocol=2)


def archive(members: list[tuple[bytes, bytes]]) -> bytes:
    """Local headers, then a directory listing them all, then the end record."""
    out, cd = b"", b""
    for name, data in members:
        cd += central(name, data, len(out))
        out += local(name, data)
    return out + cd + end(len(members), len(cd), len(out))


def python_view(data: bytes) -> dict[str, bytes | str]:
    """What Python's ``zipfile`` lists, and for each name what ``read`` returns (or the
    error it raises)."""
    seen: dict[str, bytes | str] = {}
    with zipfile.ZipFile(BytesIO(data)) as z:
        for name in z.namelist():
            try:
                seen[name] = z.read(name)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError) as e:
                seen[name] = type(e).__name__
    return seen


def scanned(tmp_path, data: bytes, name: str = "model.bin"):
    p = tmp_path / name
    p.write_bytes(data)
    rep = ms.scan.scan(p, digests=False)
    disagree = [f for f in rep.findings if f.rule == "zip.views-disagree"]
    for f in disagree:
        assert f.severity == "unknown", f
    system = [f for f in rep.findings if f.global_name == "os.system"]
    return rep, disagree, system


def _members(f) -> list[str]:
    return f.member.split("!") if f.member else []


def test_local_name_differs_from_the_central_name(tmp_path):
    z = bytearray(archive([(b"weights.bin", EVIL)]))
    z[30:41] = b"data.pkl.xx"
    # Python refuses the member (the names differ); miniz and the directory take it.
    assert python_view(bytes(z)) == {"weights.bin": "BadZipFile"}
    rep, disagree, system = scanned(tmp_path, bytes(z))
    assert not rep.safe
    assert system and _members(system[0]) == ["weights.bin"]
    assert any("data.pkl.xx" in f.message for f in disagree)


@pytest.mark.parametrize(
    ("local_flags", "central_flags"), [(1, 0), (0, 1), (1, 1), (0x40, 0x40), (0x20, 0)]
)
def test_flag_bits_on_a_member_that_is_not_encrypted(tmp_path, local_flags, central_flags):
    z = local(b"data.pkl", EVIL, local_flags)
    cd = central(b"data.pkl", EVIL, 0, central_flags)
    z += cd + end(1, len(cd), len(z))
    view = python_view(z)
    if central_flags & 1:
        # Python wants a password; a reader that ignores the bit reads a plain pickle.
        assert view == {"data.pkl": "RuntimeError"}
    elif central_flags & 0x40:
        assert view == {"data.pkl": "NotImplementedError"}
    else:
        assert view == {"data.pkl": EVIL}
    rep, disagree, system = scanned(tmp_path, z)
    assert not rep.safe
    assert system and _members(system[0]) == ["data.pkl"]
    if (local_flags ^ central_flags) & 0x61:
        assert any("local flags" in f.message for f in disagree)
    else:
        assert not disagree


def test_two_members_with_one_name(tmp_path):
    for first, second in [(EVIL, BENIGN), (BENIGN, EVIL)]:
        z = archive([(b"data.pkl", first), (b"data.pkl", second)])
        with zipfile.ZipFile(BytesIO(z)) as zf:
            assert zf.namelist() == ["data.pkl", "data.pkl"]
            assert zf.read("data.pkl") == second  # the last one wins
        rep, disagree, system = scanned(tmp_path, z)
        assert not rep.safe and system
        assert any("two members named" in f.message for f in disagree)


def test_local_header_hidden_inside_another_members_data(tmp_path):
    blob = b"tensor bytes " + local(b"x/data.pkl", EVIL) + b" more tensor bytes"
    # Flag bit 3 (sizes in a data descriptor): a streaming reader finds the end of a stored
    # member by searching its data for the next signature, and takes the hidden header.
    z = local(b"blob", blob, flags=8)
    second = len(z)
    z += local(b"a.txt", b"text")
    cd = central(b"blob", blob, 0, flags=8) + central(b"a.txt", b"text", second)
    z += cd + end(2, len(cd), len(z))
    assert python_view(z) == {"blob": blob, "a.txt": b"text"}
    rep, disagree, system = scanned(tmp_path, z)
    assert not rep.safe
    assert system and _members(system[0]) == ["x/data.pkl"]
    assert any('inside the data of member "blob"' in f.message for f in disagree)


def test_a_header_inside_data_every_view_agrees_on_is_content(tmp_path):
    # The same bytes in a member whose local header and directory entry agree on its size:
    # directory readers (zipfile, miniz) take them as the member's content and a walker of
    # the local headers skips them by that size, so no loader reads the hidden header. The
    # scanner does not search such data (a checkpoint's tensors are most of its bytes).
    blob = b"tensor bytes " + local(b"x/data.pkl", EVIL) + b" more tensor bytes"
    z = archive([(b"blob", blob), (b"a.txt", b"text")])
    assert python_view(z) == {"blob": blob, "a.txt": b"text"}
    rep, disagree, system = scanned(tmp_path, z)
    assert not disagree and not system
    assert rep.safe


def test_local_headers_the_directory_does_not_list(tmp_path):
    z = local(b"a.txt", b"text")
    z += local(b"evil.pkl", EVIL)
    cd = central(b"a.txt", b"text", 0)
    z += cd + end(1, len(cd), len(z))
    assert python_view(z) == {"a.txt": b"text"}
    rep, disagree, system = scanned(tmp_path, z)
    assert not rep.safe
    assert system and _members(system[0]) == ["evil.pkl"]
    assert disagree


def test_a_pickle_at_offset_0_before_a_valid_zip(tmp_path):
    z = EVIL + archive([(b"archive/data.pkl", BENIGN)])
    # Python's zipfile reads the zip (correcting the offsets); pickle.load the pickle.
    assert python_view(z) == {"archive/data.pkl": BENIGN}
    rep, disagree, system = scanned(tmp_path, z, "model.pt")
    assert not rep.safe
    assert system and _members(system[0]) == []
    assert any("by loaders that start at byte 0" in f.message for f in disagree)
    # A prefix no loader reads (text) is not a disagreement.
    rep, disagree, system = scanned(tmp_path, b"#!/bin/sh\n" * 3 + archive([(b"a.txt", b"text")]))
    assert rep.safe and not disagree


def test_end_record_counting_fewer_members_than_its_directory(tmp_path):
    """``np.load`` of an .npz lists what ``zipfile`` lists: the directory to its size."""
    z = bytearray(archive([(b"a.npy", b"text"), (b"b.npy", EVIL)]))
    n = len(z)
    z[n - 14 : n - 10] = struct.pack("<HH", 1, 1)
    assert python_view(bytes(z)) == {"a.npy": b"text", "b.npy": EVIL}
    rep, disagree, system = scanned(tmp_path, bytes(z), "arrays.npz")
    assert not rep.safe
    assert system and _members(system[0]) == ["b.npy"]
    assert any("counts 1 members" in f.message for f in disagree)


def test_second_end_record_inside_the_archive_comment(tmp_path):
    """The archive as the spec reads it lists a.txt; its comment holds a second directory
    and end record (whose comment length runs past the file) that list data.pkl. Python
    takes the last end record."""
    z = local(b"a.txt", b"text")
    second = len(z)
    z += local(b"data.pkl", EVIL)
    cd1 = central(b"a.txt", b"text", 0)
    cd1_at = len(z)
    z += cd1
    eocd1 = len(z)
    cd2 = central(b"data.pkl", EVIL, second)
    comment = cd2 + end(1, len(cd2), eocd1 + 22, 500)
    z += end(1, len(cd1), cd1_at, len(comment)) + comment
    assert python_view(z) == {"data.pkl": EVIL}
    rep, disagree, system = scanned(tmp_path, z)
    assert not rep.safe
    assert system and _members(system[0]) == ["data.pkl"]
    assert any("another end of central directory record" in f.message for f in disagree)


def test_archives_python_writes_are_not_disagreements(tmp_path):
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("archive/data.pkl", BENIGN)
        zf.writestr("archive/data/0", bytes(range(256)) * 64 + b"PK\x03\x04" + bytes(100))
        zf.writestr("archive/version", "3\n")
        zf.writestr("inner.zip", archive([(b"data.pkl", BENIGN)]), zipfile.ZIP_STORED)
    rep, disagree, _ = scanned(tmp_path, buf.getvalue())
    assert rep.safe
    assert not disagree, [f.message for f in disagree]


def flagged(flags: int) -> bytes:
    """One member, data.pkl (a benign pickle), with ``flags`` in both its headers."""
    z = local(b"data.pkl", BENIGN, flags)
    cd = central(b"data.pkl", BENIGN, 0, flags)
    return z + cd + end(1, len(cd), len(z))


@pytest.mark.parametrize("flags", [0, 0x2, 0x4, 0x6, 0x800])
def test_flags_that_only_tune_the_reading_are_read(tmp_path, flags):
    assert python_view(flagged(flags)) == {"data.pkl": BENIGN}
    rep, _, _ = scanned(tmp_path, flagged(flags))
    assert rep.safe, [str(f) for f in rep.findings]


@pytest.mark.parametrize("bit", [5, 4, 7, 8, 9, 10, 12, 14, 15])
def test_flags_not_implemented_are_unknown(tmp_path, bit):
    """Compressed patched data (bit 5: Python's zipfile refuses it, and so does miniz) and
    the reserved bits (which Python ignores): the bytes are scanned, and not safe."""
    z = flagged(1 << bit)
    if bit == 5:
        assert python_view(z) == {"data.pkl": "NotImplementedError"}
    rep, _, _ = scanned(tmp_path, z)
    assert not rep.safe
    (f,) = [f for f in rep.findings if f.rule == "container.unsupported"]
    assert f.severity == "unknown" and f"{1 << bit:#06x}" in f.message
    assert rep.files[0].streams == 1


@pytest.mark.parametrize("bit", [6, 13])
def test_strong_encryption_is_unknown(tmp_path, bit):
    z = flagged(1 << bit)
    if bit == 6:
        assert python_view(z) == {"data.pkl": "NotImplementedError"}
    rep, _, _ = scanned(tmp_path, z)
    assert {f.rule: f.severity for f in rep.findings}.get("zip.encrypted") == "unknown"
    assert not rep.safe
