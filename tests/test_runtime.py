"""Shared machinery: thread count, fork safety, Ctrl-C, progress callbacks, error tree."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

import mlsentry as ms
from mlsentry import errors


def test_num_threads_follows_env(monkeypatch):
    monkeypatch.setenv("MLSENTRY_NUM_THREADS", "3")
    assert ms.num_threads() == 3
    monkeypatch.setenv("MLSENTRY_NUM_THREADS", "0")
    assert ms.num_threads() == os.cpu_count()
    monkeypatch.delenv("MLSENTRY_NUM_THREADS")
    assert ms.num_threads() == os.cpu_count()
    monkeypatch.setenv("MLSENTRY_NUM_THREADS", "many")
    with pytest.raises(errors.InvalidInputError, match="MLSENTRY_NUM_THREADS"):
        ms.num_threads()


def test_results_do_not_depend_on_thread_count(monkeypatch, tmp_path):
    data = np.random.default_rng(1).normal(size=(300_000, 4))
    (tmp_path / "a.bin").write_bytes(os.urandom(3_000_000))
    monkeypatch.setenv("MLSENTRY_NUM_THREADS", "1")
    one = (ms.fingerprint(data), ms.integrity.manifest(tmp_path, shard_size=1 << 20).root)
    monkeypatch.setenv("MLSENTRY_NUM_THREADS", "4")
    many = (ms.fingerprint(data), ms.integrity.manifest(tmp_path, shard_size=1 << 20).root)
    assert one == many


def _child_work(q):
    q.put(ms.fingerprint(np.arange(1_000_000, dtype=np.int64)))


def test_pool_survives_fork():
    # The parent's pool has live threads; a forked child has none and must build its own.
    expected = ms.fingerprint(np.arange(1_000_000, dtype=np.int64))
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=_child_work, args=(q,))
    p.start()
    p.join(timeout=60)
    if p.is_alive():
        p.kill()
        pytest.fail("forked child hung in the parallel pool")
    assert p.exitcode == 0
    assert q.get(timeout=5) == expected


def test_ctrl_c_interrupts_long_hashing(tmp_path):
    big = tmp_path / "sparse.bin"
    with open(big, "wb") as fh:  # sparse: 8 GiB of zeros that cost no disk
        fh.truncate(8 << 30)
    code = textwrap.dedent(
        f"""
        import sys, time, mlsentry as ms
        print("start", flush=True)
        t = time.monotonic()
        try:
            ms.integrity.hash_file({str(big)!r})
        except KeyboardInterrupt:
            print("interrupted after", round(time.monotonic() - t, 2), flush=True)
            sys.exit(42)
        print("finished", flush=True)
        """
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=os.environ.copy()
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "start"
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    try:
        out, _ = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("Ctrl-C did not stop the hashing")
    assert proc.returncode == 42, out
    assert "interrupted" in out


def test_progress_callback_reports_bytes(tmp_path):
    f = tmp_path / "f.bin"
    f.write_bytes(os.urandom(64 << 20))
    seen: list[tuple[int, int]] = []
    digest = ms.integrity.hash_file(f, progress=lambda done, total: seen.append((done, total)))
    assert digest.startswith("sha256:")
    assert seen, "the callback was never called"
    assert seen[-1] == (64 << 20, 64 << 20)
    assert all(a[0] <= b[0] for a, b in zip(seen, seen[1:]))


def test_progress_callback_errors_propagate(tmp_path):
    f = tmp_path / "f.bin"
    f.write_bytes(b"x" * 1000)

    def boom(done, total):
        raise RuntimeError("callback failed")

    with pytest.raises(RuntimeError, match="callback failed"):
        ms.integrity.hash_file(f, progress=boom)


def test_progress_without_tqdm_says_so_once(tmp_path):
    """In a fresh interpreter where tqdm cannot be imported: one warning naming the extra,
    the work done all the same."""
    code = (
        "import sys, warnings\n"
        "sys.modules['tqdm'] = None\n"
        "import mlsentry as ms\n"
        "warnings.simplefilter('always')\n"
        "with warnings.catch_warnings(record=True) as seen:\n"
        f"    a = ms.integrity.hash_file({str(tmp_path / 'f')!r}, progress=True)\n"
        f"    b = ms.integrity.hash_file({str(tmp_path / 'f')!r}, progress=True)\n"
        "assert a == b\n"
        "print(len(seen), seen[0].category.__name__, seen[0].message)\n"
    )
    (tmp_path / "f").write_bytes(b"x" * 1000)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.startswith("1 MlsentryWarning progress=True draws a bar with tqdm")
    assert "pip install 'mlsentry[progress]'" in out.stdout


def test_file_errors_show_paths_as_text(tmp_path, capsys):
    from mlsentry.cli import main

    for argv in (
        ["verify", str(tmp_path), str(tmp_path / "nonexist.json")],
        ["manifest", str(tmp_path / "nonexist")],
        ["scan", str(tmp_path / "nonexist")],
    ):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "nonexist" in err and "b'" not in err, err
    with pytest.raises(errors.PathNotFoundError) as info:
        ms.integrity.hash_file(os.fsencode(tmp_path / "gone.bin"))
    assert "b'" not in str(info.value) and "gone.bin" in str(info.value)


def test_error_tree():
    for name in errors.__all__:
        cls = getattr(errors, name)
        assert issubclass(cls, (errors.MlsentryError, errors.MlsentryWarning)), name
    assert issubclass(errors.UnsignedWarning, UserWarning)
    assert issubclass(errors.MissingDependencyError, ImportError)
    assert issubclass(errors.InvalidInputError, ValueError)
    assert issubclass(errors.InvalidTypeError, TypeError)
    assert issubclass(errors.PathNotFoundError, FileNotFoundError)
    assert issubclass(errors.FilePermissionError, PermissionError)
    assert issubclass(errors.SignatureError, errors.IntegrityError)


def test_missing_path_error_names_the_file(tmp_path):
    missing = tmp_path / "nope.bin"
    with pytest.raises(errors.PathNotFoundError) as info:
        ms.integrity.hash_file(missing)
    assert info.value.filename == str(missing)
    assert "nope.bin" in str(info.value)
