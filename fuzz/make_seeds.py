"""Writes the seed corpus of the fuzz targets, the same bytes on every run
(fuzz/seeds/<target>/; the sniffer starts from the seeds of scan_file): small valid inputs
of every format each reader knows, so that libFuzzer starts from real structure. Nothing
here is ever unpickled: the pickles are written by `pickle.dumps` of plain data or
assembled from opcodes.

    python fuzz/make_seeds.py
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import pickle
import shutil
import struct
import sys
import tarfile
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEEDS = HERE / "seeds"
FIXTURES = HERE.parent / "tests" / "rust" / "scan_fixtures"
# Files torch itself wrote: v3 tensors over untyped storages and every typed storage (a zip),
# and a legacy file's raw storages after its key list.
TORCH_FILES = HERE.parent / "tests" / "scan" / "torch_files"
REAL_TORCH = ("tensors_all_dtypes.pt", "linear_state_dict_legacy.pt")
# The scanner corpus's own samples of a chat template and a SavedModel.
sys.path.insert(0, str(HERE.parent / "tests" / "scan"))
from scan_corpus import CHATML, SAVED_MODEL_PYFUNC  # noqa: E402

DATA = {"weights": [0.5, -1.25, 3.0], "name": "layer", "shape": (2, 3), "ok": True, "n": None}
# GLOBAL os system, REDUCE: what a malicious pickle looks like (never loaded here).
EVIL_TEXT = b"cos\nsystem\n(S'echo'\ntR."
EVIL_STACK = (
    b"\x80\x04\x95\x1e\x00\x00\x00\x00\x00\x00\x00\x8c\x02os\x94\x8c\x06system\x94\x93\x94"
    b"\x8c\x04echo\x94\x85\x94R\x94."
)


def pickles() -> dict[str, bytes]:
    out = {f"dict_p{p}.pkl": pickle.dumps(DATA, protocol=p) for p in range(6)}
    out["list_memo_p2.pkl"] = pickle.dumps([DATA, DATA, [1, 2, 3]], protocol=2)
    out["bytes_tuple_p4.pkl"] = pickle.dumps([b"raw", (1, 2), bytearray(b"x")], protocol=4)
    out["evil_text.pkl"] = EVIL_TEXT
    out["evil_stack.pkl"] = EVIL_STACK
    out["two_pickles.pkl"] = pickle.dumps(1, protocol=2) + pickle.dumps("x", protocol=0)
    return out


def zips() -> dict[str, bytes]:
    def make(members: dict[str, bytes], method: int = zipfile.ZIP_STORED) -> bytes:
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", method) as z:
            for name, data in members.items():
                z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data, method)
        return buf.getvalue()

    torch = {
        "archive/data.pkl": pickle.dumps({"w": 1}, protocol=2),
        "archive/version": b"3\n",
        "archive/data/0": struct.pack("<4f", 1, 2, 3, 4),
    }
    return {
        "torch_like.zip": make(torch),
        "deflated.zip": make({"a/data.pkl": pickle.dumps(DATA, protocol=4)}, zipfile.ZIP_DEFLATED),
        "evil_member.zip": make({"archive/data.pkl": EVIL_STACK}),
        "nested.zip": make({"inner.zip": make({"x.pkl": EVIL_TEXT})}),
        "keras.zip": make({"config.json": json.dumps({"class_name": "Sequential"}).encode()}),
    }


def tars() -> dict[str, bytes]:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        for name, data in {"model/weights.pkl": pickle.dumps(DATA), "a" * 120: EVIL_TEXT}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
    return {"model.tar": buf.getvalue()}


def streams() -> dict[str, bytes]:
    p = pickle.dumps(DATA, protocol=4)
    header = json.dumps({"w": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    return {
        "pickle.gz": gzip.compress(p, mtime=0),
        "pickle.bz2": bz2.compress(p),
        "pickle.xz": lzma.compress(p),
        "pickle.zlib": zlib.compress(EVIL_TEXT),
        "model.safetensors": struct.pack("<Q", len(header)) + header + bytes(8),
        "config.json": json.dumps({"class_name": "Lambda", "config": {}}).encode(),
    }


EVIL_TEMPLATE = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"


def hub_formats() -> dict[str, dict[str, bytes]]:
    """GGUF, ONNX and HDF5 files written by their own packages (the test extra has them),
    the SavedModel above and chat templates; empty where a package is missing."""
    out: dict[str, dict[str, bytes]] = {
        "savedmodel": {"saved_model.pb": SAVED_MODEL_PYFUNC},
        "jinja": {"chatml.jinja": CHATML.encode(), "evil.jinja": EVIL_TEMPLATE.encode()},
        "gguf": {},
        "onnx": {},
        "hdf5": {},
    }
    tmp = HERE / "work" / "seed-tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    try:
        import gguf
        import numpy as np

        for name, template in (("chatml.gguf", CHATML), ("evil.gguf", EVIL_TEMPLATE)):
            w = gguf.GGUFWriter(str(tmp / name), "llama")
            w.add_chat_template(template)
            w.add_tensor("w", np.arange(8, dtype=np.float32))
            w.write_header_to_file()
            w.write_kv_data_to_file()
            w.write_tensors_to_file()
            w.close()
            out["gguf"][name] = (tmp / name).read_bytes()
    except ImportError:
        pass
    try:
        from onnx import TensorProto, helper

        weight = helper.make_tensor("w", TensorProto.FLOAT, [2], [1.0, 2.0])
        weight.data_location = TensorProto.EXTERNAL
        entry = weight.external_data.add()
        entry.key, entry.value = "location", "../outside.bin"
        graph = helper.make_graph(
            [
                helper.make_node("Add", ["x", "w"], ["y"]),
                helper.make_node("Op", ["y"], ["z"], domain="custom"),
            ],
            "g",
            [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
            [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2])],
            [weight],
        )
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
        out["onnx"]["model.onnx"] = model.SerializeToString()
    except ImportError:
        pass
    try:
        import h5py

        for libver in ("earliest", "latest"):
            path = tmp / f"model_{libver}.h5"
            with h5py.File(path, "w", libver=libver) as f:
                f.attrs["model_config"] = json.dumps({"class_name": "Sequential", "config": {}})
                f.create_dataset("w", data=[1.0, 2.0])
            out["hdf5"][path.name] = path.read_bytes()
    except ImportError:
        pass
    shutil.rmtree(tmp, ignore_errors=True)
    return out


def write(target: str, files: dict[str, bytes]) -> None:
    folder = SEEDS / target
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)


def main() -> None:
    shutil.rmtree(SEEDS, ignore_errors=True)
    fixtures = {
        p.name: p.read_bytes() for p in sorted(FIXTURES.iterdir()) if p.name != "make_fixtures.py"
    }
    real_torch = {name: (TORCH_FILES / name).read_bytes() for name in REAL_TORCH}
    hub = hub_formats()
    everything = {**pickles(), **zips(), **tars(), **streams(), **fixtures, **real_torch}
    for files in hub.values():
        everything.update(files)
    write("scan_file", everything)
    write("pickle", pickles())
    zip_files = {k: v for k, v in fixtures.items() if k.endswith(".zip")}
    write("zip", {**zips(), **zip_files, "tensors_all_dtypes.pt": real_torch[REAL_TORCH[0]]})
    write("tar", tars())
    for target, files in hub.items():
        write(target, files)


if __name__ == "__main__":
    main()
