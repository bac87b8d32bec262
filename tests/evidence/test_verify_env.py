"""`mlsentry verify-env` in a throwaway venv: a tiny wheel built here and installed
offline, then one file edited, one removed and one added."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

import mlsentry as ms
from mlsentry.cli import main

FILES = {
    "tinypkg/__init__.py": b"VALUE = 1\n",
    "tinypkg/data/table.csv": b"a,b\n1,2\n",
    "tinypkg/helpers.py": b"def twice(x):\n    return 2 * x\n",
}
PYTHON_SRC = str(Path(ms.__file__).resolve().parents[1])


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def _wheel(folder: Path) -> Path:
    """tinypkg-1.0-py3-none-any.whl, written by hand (the format is a zip with a RECORD)."""
    info = "tinypkg-1.0.dist-info"
    files = dict(FILES)
    files[f"{info}/METADATA"] = b"Metadata-Version: 2.1\nName: tinypkg\nVersion: 1.0\n"
    files[f"{info}/WHEEL"] = (
        b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    )
    record = "".join(f"{p},{_record_hash(d)},{len(d)}\n" for p, d in files.items())
    files[f"{info}/RECORD"] = (record + f"{info}/RECORD,,\n").encode()
    path = folder / "tinypkg-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for name, data in files.items():
            z.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    """A venv without pip holding tinypkg, installed by this interpreter's pip, offline."""
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(root / "v")], check=True)
    python = root / "v" / "bin" / "python"
    wheel = _wheel(root)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-index",
         "--no-deps", "--no-compile", "--disable-pip-version-check", "-q", str(wheel)],
        check=True,
    )  # fmt: skip
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip
    return python, Path(site)


def _verify_env(python: Path, *args: str) -> subprocess.CompletedProcess:
    """``mlsentry verify-env`` run by the venv's interpreter (mlsentry from this checkout)."""
    env = {**os.environ, "PYTHONPATH": PYTHON_SRC}
    return subprocess.run(
        [str(python), "-m", "mlsentry", "verify-env", *args],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def test_a_clean_venv_passes_then_each_kind_of_tampering_is_found(venv, tmp_path):
    python, site = venv
    out = _verify_env(python, "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["passed"] is True and report["distributions"] == 1
    record = (site / "tinypkg-1.0.dist-info" / "RECORD").read_text().splitlines()
    assert report["files_checked"] == sum(1 for line in record if ",sha256=" in line) >= 5
    assert report["config"]["paths"] == [str(site.resolve())]

    (site / "tinypkg" / "__init__.py").write_bytes(b"VALUE = 1\nimport os  # injected\n")
    (site / "tinypkg" / "helpers.py").unlink()
    (site / "tinypkg" / "data" / "payload.bin").write_bytes(b"\x00evil")
    (site / "tinypkg" / "__pycache__").mkdir()
    (site / "tinypkg" / "__pycache__" / "__init__.cpython-311.pyc").write_bytes(b"bytecode")
    out = _verify_env(python, "--json")
    assert out.returncode == 1, out.stderr
    report = json.loads(out.stdout)
    found = sorted((p["kind"], p["path"]) for p in report["problems"])
    assert found == [
        ("changed", "tinypkg/__init__.py"),
        ("missing", "tinypkg/helpers.py"),
        ("unrecorded", "tinypkg/data/payload.bin"),
    ]  # the .pyc beside a recorded .py is Python's own
    changed = next(p for p in report["problems"] if p["kind"] == "changed")
    assert (
        changed["expected"] == "sha256:" + hashlib.sha256(FILES["tinypkg/__init__.py"]).hexdigest()
    )

    # the same from here, with --path, and the report read back
    r = ms.evidence.verify_environment(site)
    assert (len(r.changed), len(r.missing), len(r.unrecorded)) == (1, 1, 1)
    assert ms.Report.from_dict(r.to_dict()).to_dict() == r.to_dict()
    assert "tinypkg/data/payload.bin" in r.to_html()
    assert main(["verify-env", "--path", str(site), "--sarif", str(tmp_path / "e.sarif")]) == 1
    sarif = json.loads((tmp_path / "e.sarif").read_text())
    levels = sorted(res["level"] for res in sarif["runs"][0]["results"])
    assert levels == ["error", "error", "warning"]


def test_bad_paths(tmp_path, capsys):
    with pytest.raises(ms.InvalidInputError, match="is not a folder"):
        ms.evidence.verify_environment(tmp_path / "nowhere")
    with pytest.raises(ms.InvalidTypeError, match="paths: expected folder paths"):
        ms.evidence.verify_environment([3])
    assert main(["verify-env", "--path", str(tmp_path / "nowhere")]) == 2
    empty = ms.evidence.verify_environment(tmp_path)
    assert empty.passed and empty.distributions == 0
