"""The wheels ``make wheels`` builds, as a user gets them.

``make test`` builds the manylinux2014 x86_64 wheel and the sdist as ``make wheels`` does
(with the day-to-day profile instead of fat LTO, into ``target/test-dist``) and passes
their paths in ``MLSENTRY_WHEEL`` and ``MLSENTRY_SDIST``; a failed build fails
``make test``. The wheel
is checked with ``auditwheel``, then installed into fresh venvs (``python -m venv``, pip
from PyPI with pip's cache), one per way of installing it that the README shows: ``pip
install mlsentry`` (numpy only) runs the README's numpy-only sections; ``mlsentry[mlflow]``
its MLflow section and ``mlsentry demo``; ``mlsentry[pandas]`` with pytest its drift
section (which ends in ``to_pandas()``) and pytest section; the Dockerfile's install line
(``mlsentry[pandas,kfp]``, scikit-learn, joblib) its Kubeflow section. Each README block
runs in the venv's Python, never this checkout's sources.

Run alone: ``make wheels``, then ``MLSENTRY_WHEEL=dist/<wheel> pytest tests/test_install.py``
(``-m "not install"`` leaves these tests out).
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
VERSION = re.search(r'^version = "(.+)"$', (REPO / "pyproject.toml").read_text(), re.M).group(1)
#: The name `make wheels` gives the x86_64 wheel (maturin, abi3, --compatibility manylinux2014).
WHEEL_NAME = f"mlsentry-{VERSION}-cp39-abi3-manylinux2014_x86_64.manylinux_2_17_x86_64.whl"
DOCKERFILE = REPO / "Dockerfile"
# GLOBAL mypkg.models Net, EMPTY_TUPLE, REDUCE, STOP: a class no policy knows.
CUSTOM = b"\x80\x02cmypkg.models\nNet\n)R."

install = pytest.mark.install

# Runs README blocks in one namespace, in order, in the venv's Python (started with -I: no
# PYTHONPATH, no user site, not this checkout), and says where mlsentry came from.
DRIVER = """\
import json, sys
blocks = json.load(open(sys.argv[1], encoding="utf-8"))
namespace = {}
for where, code in blocks:
    exec(compile(code, where, "exec"), namespace)
import mlsentry
print("MLSENTRY_FROM", mlsentry.__file__)
"""


def _wheel() -> Path:
    value = os.environ.get("MLSENTRY_WHEEL")
    if not value:
        pytest.skip(
            "MLSENTRY_WHEEL is not set: `make test` builds the wheels (`make wheels`) and "
            "sets it; outside make, run `make wheels` and set "
            f"MLSENTRY_WHEEL=dist/{WHEEL_NAME}"
        )
    path = Path(value)
    assert path.is_file(), f"MLSENTRY_WHEEL={value}: no such file (did `make wheels` run?)"
    return path


def _env(venv: Path | None = None, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "MLSENTRY_AUDIT_LOG", "MLSENTRY_KFP_IMAGE")
        and not k.startswith("MLFLOW_")
    }
    if venv is not None:
        env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
        env["VIRTUAL_ENV"] = str(venv)
    env.update(extra)
    return env


def _run(args, **kwargs) -> subprocess.CompletedProcess:
    kwargs.setdefault("env", _env())
    out = subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=900, **kwargs
    )
    assert out.returncode == 0, (
        f"{shlex.join(str(a) for a in args)} exited {out.returncode}\n"
        f"--- stdout\n{out.stdout[-4000:]}\n--- stderr\n{out.stderr[-4000:]}"
    )
    return out


def _venv(path: Path, *requirements: str) -> Path:
    """A fresh venv at ``path`` with ``requirements`` pip-installed; its python."""
    _run([sys.executable, "-m", "venv", path])
    python = path / "bin" / "python"
    if requirements:
        _run([python, "-m", "pip", "install", "-q", *requirements], env=_env(path))
    return python


def _installed(python: Path) -> set[str]:
    out = _run([python, "-m", "pip", "list", "--format", "json"])
    return {p["name"].lower() for p in json.loads(out.stdout)}


def _run_blocks(python: Path, blocks: list[tuple[str, str]], cwd: Path, **env: str) -> str:
    driver = cwd.parent / f"{cwd.name}-driver"
    driver.mkdir()
    (driver / "run.py").write_text(DRIVER)
    (driver / "blocks.json").write_text(json.dumps(blocks))
    venv = python.parent.parent
    out = _run(
        [python, "-I", driver / "run.py", driver / "blocks.json"], cwd=cwd, env=_env(venv, **env)
    )
    origin = re.search(r"^MLSENTRY_FROM (.+)$", out.stdout, re.M).group(1)
    assert Path(origin).is_relative_to(venv), f"mlsentry imported from {origin}, not {venv}"
    return out.stdout


def _blocks(readme_blocks, *headings: str) -> list[tuple[str, str]]:
    return [(f"README.md ## {h}", b) for h in headings for b in readme_blocks(h)]


# -- the files ---------------------------------------------------------------------------
@install
def test_wheel_is_manylinux2014_by_auditwheel():
    wheel = _wheel()
    assert wheel.name == WHEEL_NAME
    out = _run([Path(sys.executable).parent / "auditwheel", "show", wheel]).stdout
    text = " ".join(out.split())
    tags = re.findall(r'consistent with the following platform tag: "([^"]+)"', text)
    assert tags, out
    m = re.fullmatch(r"manylinux_(\d+)_(\d+)_x86_64", tags[0])
    assert m, out
    assert (int(m.group(1)), int(m.group(2))) <= (2, 17), out
    # Only the system libraries every manylinux platform has, nothing to bundle.
    assert "requires no external shared libraries" in text or "system-provided" in text, out


@install
def test_wheel_carries_license_metadata_and_one_extension():
    wheel = _wheel()
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        info = f"mlsentry-{VERSION}.dist-info"
        licenses = [n for n in names if n.startswith(f"{info}/") and n.endswith("/LICENSE")]
        assert licenses, names
        assert z.read(licenses[0]) == (REPO / "LICENSE").read_bytes()
        meta = z.read(f"{info}/METADATA").decode()
        points = z.read(f"{info}/entry_points.txt").decode()
    assert [n for n in names if n.endswith(".so")] == ["mlsentry/_core.abi3.so"]
    assert "mlsentry/py.typed" in names and "mlsentry/_core.pyi" in names
    assert not [n for n in names if "__pycache__" in n or n.startswith(("tests/", "src/"))]
    assert re.search(r"^License-File: LICENSE$", meta, re.M), meta[:2000]
    assert re.search(r"^Requires-Python: >=3\.9$", meta, re.M)
    required = [r for r in re.findall(r"^Requires-Dist: (.+)$", meta, re.M) if "extra ==" not in r]
    assert required == ["numpy>=1.22"]
    extras = set(re.findall(r"^Provides-Extra: (.+)$", meta, re.M))
    assert {"pandas", "mlflow", "kfp", "spark", "progress", "test", "bench"} <= extras
    assert re.search(r"^mlsentry ?= ?mlsentry\.cli:main$", points, re.M), points
    assert re.search(r"^mlsentry ?= ?mlsentry\.pytest_plugin$", points, re.M), points


@install
def test_sdist_holds_what_a_build_from_source_needs():
    _wheel()
    sdist = Path(os.environ.get("MLSENTRY_SDIST", REPO / "dist" / f"mlsentry-{VERSION}.tar.gz"))
    assert sdist.is_file(), f"{sdist}: no sdist (make wheels builds it)"
    top = f"mlsentry-{VERSION}"
    with tarfile.open(sdist) as t:
        names = set(t.getnames())
        pkg_info = t.extractfile(f"{top}/PKG-INFO").read().decode()
    for needed in (
        "LICENSE",
        "README.md",
        "pyproject.toml",
        "Cargo.toml",
        "Cargo.lock",
        "src/lib.rs",
        "python/mlsentry/__init__.py",
        "python/mlsentry/_core.pyi",
    ):
        assert f"{top}/{needed}" in names, needed
    assert f"Version: {VERSION}" in pkg_info


def test_dockerfile_installs_the_wheel_make_wheels_builds():
    text = DOCKERFILE.read_text()
    (copy,) = re.findall(r"^COPY (\S+) (\S+)$", text, re.M)
    source, target = copy
    assert fnmatch.fnmatch(f"dist/{WHEEL_NAME}", source)
    aarch64 = WHEEL_NAME.replace("x86_64", "aarch64")
    assert fnmatch.fnmatch(f"dist/{aarch64}", source)
    # Neither the sdist nor the machine-only wheel of `make wheel` (manylinux_2_34 here).
    assert not fnmatch.fnmatch(f"dist/mlsentry-{VERSION}.tar.gz", source)
    native = f"dist/mlsentry-{VERSION}-cp39-abi3-manylinux_2_34_x86_64.whl"
    assert not fnmatch.fnmatch(native, source)
    # The install line picks the one wheel of the image's architecture from the copy.
    (pick,) = re.findall(r"set -- (.+?\.whl);", text)
    for arch, name in (("x86_64", WHEEL_NAME), ("aarch64", aarch64)):
        pattern = pick.replace('"$(uname -m)"', arch)
        assert pattern.startswith(target)
        assert fnmatch.fnmatch(target + name, pattern)
        assert not fnmatch.fnmatch(target + (aarch64 if arch == "x86_64" else WHEEL_NAME), pattern)
    built = os.environ.get("MLSENTRY_WHEEL")
    if built:
        assert fnmatch.fnmatch(f"dist/{Path(built).name}", source)
    assert re.search(r'pip install --no-cache-dir "\$1\[pandas,kfp\]"', text)


# -- installed into fresh venvs ----------------------------------------------------------
@install
def test_numpy_only_install_runs_the_readme_numpy_sections(tmp_path, readme_blocks):
    wheel = _wheel()
    python = _venv(tmp_path / "venv", str(wheel))
    assert _installed(python) - {"pip", "setuptools"} == {"mlsentry", "numpy"}
    work = tmp_path / "work"
    (work / "model").mkdir(parents=True)
    # A model folder for the quick start and the scan: plain weights and a pickle of a
    # class no policy knows (mypkg.models.Net, which the README's policy then allows).
    np.save(work / "model" / "weights.npy", np.arange(12.0))
    (work / "model" / "head.pkl").write_bytes(CUSTOM)
    blocks = _blocks(
        readme_blocks, "Quick start", "Signing and the audit log", "Robustness", "Scan"
    )
    check = """
assert report.safe is False and ms.integrity.verify("model/", "model.manifest.json").ok
for name in ("verify.html", "robustness.html", "model.sig.json", "audit.jsonl"):
    assert __import__("os").path.isfile(name), name
for absent in ("pandas", "pyarrow", "scipy", "sklearn"):
    try:
        __import__(absent)
    except ImportError:
        pass
    else:
        raise AssertionError(absent + " is installed")
print("CHECKED")
"""
    out = _run_blocks(python, [*blocks, ("check", check)], work)
    assert "CHECKED" in out
    assert "mypkg.models.Net" in out  # the scan section prints its findings
    # The command line of the installed package: the demo on its built-in data.
    demo = _run([python.parent / "mlsentry", "demo"], cwd=work, env=_env(python.parent.parent))
    assert (work / "mlsentry-demo" / "report.html").is_file(), demo.stdout


@install
def test_mlflow_extra_runs_the_readme_mlflow_section_and_the_demo(tmp_path, readme_blocks):
    wheel = _wheel()
    # The extra, and the library of the README's model (scikit-learn), nothing else.
    python = _venv(tmp_path / "venv", f"{wheel}[mlflow]", "scikit-learn")
    installed = _installed(python)
    assert {"mlflow-skinny", "sqlalchemy", "alembic", "pandas", "matplotlib"} <= installed
    assert "mlflow" not in installed  # the skinny client only
    work = tmp_path / "work"
    work.mkdir()
    check = "\nassert model.predict(train[['a', 'b']][:5]).shape == (5,)\nprint('CHECKED')\n"
    out = _run_blocks(python, [*_blocks(readme_blocks, "MLflow"), ("check", check)], work)
    assert "CHECKED" in out
    assert (work / "mlflow.db").is_file()
    _run([python.parent / "mlsentry", "demo"], cwd=work, env=_env(python.parent.parent))
    assert (work / "mlsentry-demo" / "mlflow.db").is_file()


@install
def test_pandas_extra_runs_the_readme_drift_and_pytest_sections(tmp_path, readme_blocks):
    """The drift section ends in ``report.to_pandas()``, and the pytest section reads CSV:
    both need the ``pandas`` extra (pytest is the user's own)."""
    wheel = _wheel()
    python = _venv(tmp_path / "venv", f"{wheel}[pandas]", "pytest")
    assert {"pandas", "pyarrow"} <= _installed(python)
    drift = tmp_path / "drift"
    drift.mkdir()
    check = "\nassert report.to_pandas().shape[0] == 2\nprint('CHECKED')\n"
    out = _run_blocks(python, [*_blocks(readme_blocks, "Drift"), ("check", check)], drift)
    assert "CHECKED" in out and (drift / "drift.html").is_file()

    (block,) = readme_blocks("pytest")
    work = tmp_path / "work"
    (work / "model").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in ("reference.csv", "batch.csv"):
        age, plan = rng.normal(40, 10, 1000), rng.choice(["a", "b"], 1000)
        rows = "\n".join(f"{a!r},{p}" for a, p in zip(age, plan))
        (work / name).write_text(f"age,plan\n{rows}\n")
    w = np.array([1.0, -2.0, 0.5])
    np.save(work / "model" / "weights.npy", w)
    X = rng.normal(size=(200, 3))
    np.save(work / "holdout_X.npy", X)
    np.save(work / "holdout_y.npy", (X @ w > 0).astype(int))
    _run([python.parent / "mlsentry", "manifest", "model", "-o", "model.manifest.json"], cwd=work)
    (work / "test_release.py").write_text(block)
    out = _run(
        [
            python,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--mlsentry-reference",
            "reference.csv",
            "test_release.py",
        ],
        cwd=work,
        env=_env(python.parent.parent),
    ).stdout
    assert "4 passed" in out and "4 mlsentry checks: 4 passed, 0 failed" in out, out


@install
def test_dockerfile_install_runs_the_readme_kubeflow_section(tmp_path, readme_blocks):
    """The Dockerfile's install step, run in a venv instead of python:3.11-slim (there is
    no container engine here), then the README's pipeline compiled in that environment,
    and once more for the image by ``MLSENTRY_KFP_IMAGE``: nothing installed at run time."""
    wheel = _wheel()
    text = DOCKERFILE.read_text()
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / wheel.name).write_bytes(wheel.read_bytes())
    (run,) = re.findall(r"^RUN (set -eu;.*?[^\\])$", text, re.M | re.S)
    args = dict(re.findall(r'^ARG (\w+)="([^"]*)"$', text, re.M))
    script = run.replace("/tmp/wheels", str(wheels))
    venv = tmp_path / "venv"
    _venv(venv)
    _run(["sh", "-c", script], env=_env(venv, **args))
    assert not wheels.exists()  # the step removes the copied wheel
    assert {"mlsentry", "pandas", "pyarrow", "scikit-learn", "joblib", "kfp"} <= _installed(
        venv / "bin" / "python"
    )
    check = """
import yaml
spec = yaml.safe_load(open("release_checks.yaml"))
for name, executor in spec["deploymentSpec"]["executors"].items():
    if "importer" in executor:
        continue
    container = executor["container"]
    print("IMAGE", name, container["image"], "pip install" in " ".join(container["command"]))
"""
    blocks = [*_blocks(readme_blocks, "Kubeflow Pipelines"), ("check", check)]
    default = tmp_path / "default"
    default.mkdir()
    out = _run_blocks(venv / "bin" / "python", blocks, default)
    images = re.findall(r"^IMAGE (\S+) (\S+) (\w+)$", out, re.M)
    assert len(images) == 4 and all(i[1:] == ("python:3.11-slim", "True") for i in images), out
    image = "registry.example/mlsentry-kfp:" + VERSION
    built = tmp_path / "image"
    built.mkdir()
    out = _run_blocks(venv / "bin" / "python", blocks, built, MLSENTRY_KFP_IMAGE=image)
    images = re.findall(r"^IMAGE (\S+) (\S+) (\w+)$", out, re.M)
    assert len(images) == 4 and all(i[1:] == (image, "False") for i in images), out
