"""Writes the container-scan fixtures of src/core/scan/container/tests.rs.

Run with a Python that has numpy and joblib: `python make_fixtures.py` in this folder.
Every pickle holds the text MLSENTRY_MARKER, which the tests' fake pickle reader reports.
"""

import io
import lzma
import pickle
import struct
import tarfile
import zipfile

import joblib
import numpy as np

MARK = "MLSENTRY_MARKER"
obj = {"weights": np.arange(10, dtype=np.float64), "note": MARK}

for method in ["zlib", "gzip", "bz2", "lzma", "xz"]:
    joblib.dump(obj, f"joblib_{method}.bin", compress=(method, 3))
joblib.dump(obj, "joblib_raw.bin")

# An object array saved by numpy (its data is a pickle).
with open("object.npy", "wb") as f:
    np.save(f, np.array([{"note": MARK}, 1], dtype=object), allow_pickle=True)
np.savez("object.npz", a=np.arange(3), b=np.array([MARK, None], dtype=object))
np.savez_compressed("object_compressed.npz", a=np.arange(3), b=np.array([MARK, None], dtype=object))
np.savez_compressed("plain_compressed.npz", a=np.arange(1000, dtype=np.float32))

# A plain pickle compressed by xz and by lzma-alone (not joblib).
plain = pickle.dumps({"note": MARK}, protocol=4)
with open("pickle.xz", "wb") as f:
    f.write(lzma.compress(plain, format=lzma.FORMAT_XZ))

# The legacy torch.save format (`_use_new_zipfile_serialization=False`), written the way
# torch/serialization.py `_legacy_save` writes it, without torch: pickles of the magic
# number, the protocol version and the sys info, the object (storages replaced by
# persistent ids), the sorted storage keys, then each storage as an int64 element count
# and its raw bytes. The storage type, a class in torch, is a plain string here.
MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
PROTOCOL_VERSION = 1001


class Storage:
    pass


class TorchLikePickler(pickle.Pickler):
    def persistent_id(self, o):
        if isinstance(o, Storage):
            return ("storage", "FloatStorage", "0", "cpu", 4, None)
        return None


f = io.BytesIO()
for header in [
    MAGIC_NUMBER,
    PROTOCOL_VERSION,
    dict(
        protocol_version=PROTOCOL_VERSION,
        little_endian=True,
        type_sizes=dict(short=2, int=4, long=4),
    ),
]:
    pickle.dump(header, f, protocol=2)
TorchLikePickler(f, protocol=2).dump({"state": Storage(), "note": MARK})
pickle.dump(["0"], f, protocol=2)
f.write(struct.pack("<q", 4))
f.write(np.arange(4, dtype=np.float32).tobytes())
with open("torch_legacy.pt", "wb") as out:
    out.write(f.getvalue())

# Zips as Python's zipfile writes them: Zip64 records forced, written to an unseekable
# stream (data descriptors, flag 3), with data prepended (as a self-extracting archive),
# with an archive comment; and a tar.gz.
marked = pickle.dumps({"note": MARK}, protocol=2)
with (
    zipfile.ZipFile("zip64.zip", "w", zipfile.ZIP_DEFLATED) as z,
    z.open("archive/data.pkl", "w", force_zip64=True) as f,
):
    f.write(marked)


class Unseekable(io.RawIOBase):
    def __init__(self):
        self.buf = bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.buf += b
        return len(b)


u = Unseekable()
with zipfile.ZipFile(u, "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("notes.txt", "hello")
    with z.open("weights.bin", "w") as f:
        f.write(marked)
with open("streamed.zip", "wb") as f:
    f.write(bytes(u.buf))

b = io.BytesIO()
with zipfile.ZipFile(b, "w", zipfile.ZIP_BZIP2) as z:
    z.comment = b"a comment"
    z.writestr("m.bin", marked)
with open("prepended.zip", "wb") as f:
    f.write(b"#!/bin/sh\necho self-extracting\nexit 0\n" + b.getvalue())

with zipfile.ZipFile("lzma_member.zip", "w", zipfile.ZIP_LZMA) as z:
    z.writestr("m.bin", marked)

with tarfile.open("model.tar.gz", "w:gz") as t:
    info = tarfile.TarInfo("model/pickle")
    info.size = len(marked)
    t.addfile(info, io.BytesIO(marked))

# Zstandard and LZ4 (issue 15): written by libzstd's and liblz4's own command-line tools
# (the libraries Python's zstandard and lz4 bind, which pandas and joblib use): joblib's
# raw file through zstd -19; as two frames (the second without checksum); a 1 GiB window
# (`--long=30` on a stream of unknown size), which Python's zstandard refuses by default;
# 64 MiB of zeros (a bomb); lz4 frames (default, linked blocks with block checksums and the
# content size) and the legacy format (`lz4 -l`).
import subprocess  # noqa: E402


def run(cmd: str) -> None:
    subprocess.run(["sh", "-c", cmd], check=True)


run("zstd -q -19 -c joblib_raw.bin > joblib_zstd.bin")
run(
    "(head -c 150 joblib_raw.bin | zstd -q -c; tail -c +151 joblib_raw.bin | zstd -q --no-check -c)"
    " > joblib_zstd_frames.bin"
)
run("cat joblib_raw.bin | zstd -q --long=30 -c > zstd_window_1g.bin")
run("head -c 64M /dev/zero | zstd -q -19 -c > zstd_bomb.bin")
run("lz4 -q -c joblib_raw.bin > joblib_lz4.bin")
run("lz4 -q -BD -BX --content-size -c joblib_raw.bin > joblib_lz4_linked.bin")
run("lz4 -q -l -c joblib_raw.bin > joblib_lz4_legacy.bin")
