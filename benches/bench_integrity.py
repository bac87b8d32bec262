"""Manifest of a model folder: mlsentry against OpenSSF model-signing and the SHA-256 limit.

The folder (see ../shared/ANCHORS.md): ``weights.bin`` of random bytes plus ``small/f{i}.json``
files of 4 KiB, generated once into ``benches/out/data`` (git-ignored) and read once before the
run so that the page cache is warm. Candidates, each in its own process, interleaved by round:

- ``model_signing sign key --private_key key.pem --signature model.sig FOLDER`` (P-256 key, the
  package's command line; wall time including interpreter start-up, as a user runs it);
- ``model_signing.hashing.Config().hash(FOLDER)``, its hashing alone (in process);
- ``model_signing.hashing.Config().use_shard_serialization(shard_size=S).hash(FOLDER)``, the
  peer's own sharded mode with our default shard size S = 64 MiB (information, and the root
  ours must equal);
- ``hashlib.sha256`` over an in-memory buffer on one core: its throughput times the core count,
  applied to the folder's bytes, is the two-core SHA-256 limit for hashing one stream at a time
  per core, as OpenSSL and model-signing do (mlsentry interleaves up to three streams per core,
  which passes it when a folder has several shards or files);
- ``mlsentry.integrity.manifest(FOLDER)`` (the default: SHA-256 in 64 MiB shards, so the large
  file is hashed on every core), ``shard_size=None`` (files mode: one SHA-256 stream per file,
  so the 1 GiB file runs on one core) and ``algorithm="blake3"``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from _timing import (
    OUT_DIR,
    Candidate,
    Case,
    Goal,
    Measurement,
    MiB,
    Section,
    fmt_mib,
    fmt_pct,
    fmt_s,
    fmt_x,
    interleave,
    ratio,
    require,
    run_command,
    run_isolated,
    timing_note,
)


@dataclass(frozen=True)
class Sizes:
    big_bytes: int
    n_small: int
    small_bytes: int
    hashlib_bytes: int  # in-memory buffer for the single-core SHA-256 throughput


FULL = Sizes(big_bytes=1024 * MiB, n_small=2000, small_bytes=4096, hashlib_bytes=256 * MiB)
QUICK = Sizes(big_bytes=64 * MiB, n_small=200, small_bytes=4096, hashlib_bytes=64 * MiB)
SMOKE = Sizes(big_bytes=8 * MiB, n_small=20, small_bytes=4096, hashlib_bytes=8 * MiB)
#: Our default shard size (``mlsentry.integrity.DEFAULT_SHARD_SIZE``), given to the peer's
#: sharded mode so that the two roots can be compared.
SHARD = 64 * MiB

GOAL_VS_PEER = 3.0  # at least 3x faster than model-signing
GOAL_PCT_LIMIT = 70.0  # at least 70% of the two-core SHA-256 limit


# --------------------------------------------------------------------------- the folder


def _small_json(i: int, size: int) -> bytes:
    head = b'{"index": %d, "pad": "' % i
    tail = b'"}\n'
    return head + b"x" * (size - len(head) - len(tail)) + tail


def prepare_folder(sizes: Sizes, log: Callable[[str], None]) -> Path:
    """Generate the folder once (cached under benches/out/data), then warm the page cache."""
    tag = f"{sizes.big_bytes // MiB}MiB-{sizes.n_small}x{sizes.small_bytes}B"
    root = OUT_DIR / "data" / f"integrity-{tag}"
    model = root / "model"
    stamp = root / "complete.json"
    want = {"big_bytes": sizes.big_bytes, "n_small": sizes.n_small, "small": sizes.small_bytes}
    if not (stamp.exists() and json.loads(stamp.read_text()) == want and _intact(model, sizes)):
        import numpy as np

        log(f"generating {model} (once) ...")
        shutil.rmtree(root, ignore_errors=True)
        (model / "small").mkdir(parents=True)
        rng = np.random.default_rng(2026)
        with open(model / "weights.bin", "wb") as fh:
            left = sizes.big_bytes
            while left:
                n = min(left, 64 * MiB)
                fh.write(rng.bytes(n))
                left -= n
        for i in range(sizes.n_small):
            (model / "small" / f"f{i}.json").write_bytes(_small_json(i, sizes.small_bytes))
        stamp.write_text(json.dumps(want))
    # Warm the page cache: read every byte once.
    for path in _files(model):
        with open(path, "rb", buffering=0) as fh:
            while fh.read(8 * MiB):
                pass
    return model


def _files(model: Path) -> list[Path]:
    return [model / "weights.bin", *sorted((model / "small").iterdir())]


def _intact(model: Path, sizes: Sizes) -> bool:
    try:
        if (model / "weights.bin").stat().st_size != sizes.big_bytes:
            return False
        small = list((model / "small").iterdir())
        entries = list(model.iterdir())
    except OSError:
        return False
    return (
        len(entries) == 2
        and len(small) == sizes.n_small
        and all(p.stat().st_size == sizes.small_bytes for p in small)
    )


def make_key(work: Path) -> Path:
    """A fresh P-256 private key (PEM, PKCS#8, unencrypted) for ``model_signing sign key``."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    path = work / "key.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return path


def model_signing_cli() -> list[str]:
    """The package's console script next to this interpreter, else ``python -m model_signing``."""
    script = Path(sys.executable).parent / "model_signing"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "model_signing"]


def _signed_root(sig: Path) -> Optional[str]:
    """The root digest in the signature bundle's in-toto statement (subject sha256)."""
    try:
        bundle = json.loads(sig.read_text())
        statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
        return statement["subject"][0]["digest"]["sha256"]
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


# --------------------------------------------------------------------------- child cases


def _ms_root(manifest) -> dict:
    """model-signing's root: SHA-256 over the raw digests in its canonical order."""
    h = hashlib.sha256()
    n = 0
    for desc in manifest.resource_descriptors():
        h.update(desc.digest.digest_value)
        n += 1
    return {"root": "sha256:" + h.hexdigest(), "entries": n}


def case_ms_hash(folder: str, shard_size: Optional[int] = None) -> Case:
    from model_signing import hashing

    def call():
        config = hashing.Config()
        if shard_size is not None:
            config = config.use_shard_serialization(shard_size=shard_size)
        return config.hash(folder)

    return Case(call=call, extra=_ms_root)


def case_hashlib(nbytes: int) -> Case:
    buf = os.urandom(nbytes)
    return Case(call=lambda: hashlib.sha256(buf).digest())


def case_ours(folder: str, algorithm: str = "sha256", files_mode: bool = False) -> Case:
    manifest = require("mlsentry.integrity", "manifest")
    if require("mlsentry.integrity", "DEFAULT_SHARD_SIZE") != SHARD:
        raise AssertionError("the benchmark's SHARD is not mlsentry's default shard size")
    kwargs: dict = {}
    if algorithm != "sha256":
        kwargs["algorithm"] = algorithm
    if files_mode:
        kwargs["shard_size"] = None

    def extra(m) -> dict:
        root = str(m.root)
        prefix = algorithm + ":"
        if not root.startswith(prefix):
            raise AssertionError(f"manifest root {root!r} does not start with {prefix!r}")
        return {"root": root, "entries": len(m.files)}

    return Case(call=lambda: manifest(folder, **kwargs), extra=extra)


# --------------------------------------------------------------------------- the benchmark

SIGN = "model-signing: `model_signing sign key` (CLI, P-256)"
STARTUP = "(model-signing CLI start-up alone: `model_signing --version`)"
MS_HASH = "model-signing: `hashing.Config().hash(folder)`"
MS_SHARD = "model-signing: `hashing.Config().use_shard_serialization(shard_size=S).hash(folder)`"
HASHLIB = "hashlib SHA-256, 1 core, in-memory buffer"
OURS = "mlsentry: `manifest(folder)` (default: 64 MiB shards)"
OURS_FILES = "mlsentry: `manifest(folder, shard_size=None)` (files mode)"
OURS_BLAKE3 = 'mlsentry: `manifest(folder, algorithm="blake3")`'


def run(sizes: Sizes, rounds: int, *, tolerate_missing: bool, log: Callable[[str], None]):
    folder = prepare_folder(sizes, log)
    work = OUT_DIR / "work"
    work.mkdir(parents=True, exist_ok=True)
    key = make_key(work)
    sig = work / "model.sig"  # outside the folder, so it is never part of what is signed
    total_bytes = sum(p.stat().st_size for p in _files(folder))
    n_files = 1 + sizes.n_small
    cores = os.cpu_count() or 1
    f = str(folder)

    def sign():
        sig.unlink(missing_ok=True)
        argv = [*model_signing_cli(), "sign", "key", "--private_key", str(key)]
        sample = run_command([*argv, "--signature", str(sig), f], cwd=work)
        if not sig.exists():
            raise RuntimeError(f"model_signing exited 0 but wrote no {sig}")
        root = _signed_root(sig)
        if root is not None:
            sample.extra["root"] = "sha256:" + root
        return sample

    def iso(func: str, repeats: int = 1, **kw):
        return lambda: run_isolated("bench_integrity", func, kw, repeats=repeats)

    # Ours first: a missing function fails the run at once, not after minutes of peers.
    candidates = [
        Candidate(OURS, iso("case_ours", folder=f)),
        Candidate(OURS_FILES, iso("case_ours", folder=f, files_mode=True)),
        Candidate(OURS_BLAKE3, iso("case_ours", folder=f, algorithm="blake3")),
        Candidate(SIGN, sign),
        Candidate(STARTUP, lambda: run_command([*model_signing_cli(), "--version"], cwd=work)),
        Candidate(MS_HASH, iso("case_ms_hash", folder=f)),
        Candidate(MS_SHARD, iso("case_ms_hash", folder=f, shard_size=SHARD)),
        Candidate(HASHLIB, iso("case_hashlib", repeats=3, nbytes=sizes.hashlib_bytes)),
    ]
    log(f"integrity: {total_bytes / 1e9:.3f} GB in {n_files} files, {rounds} rounds, {cores} cores")
    res = interleave(candidates, rounds, tolerate_missing=tolerate_missing, log=log)
    return _section(res, sizes, total_bytes, n_files, cores, rounds)


def _section(
    res: dict[str, Measurement], sizes: Sizes, total_bytes: int, n_files: int, cores: int, rounds
) -> Section:
    sign, ms_hash, hl = res[SIGN].median, res[MS_HASH].median, res[HASHLIB].median
    thr = sizes.hashlib_bytes / hl if hl else None  # bytes/s on one core
    limit = total_bytes / (thr * cores) if thr else None

    def pct(t: Optional[float]) -> Optional[float]:
        return 100.0 * limit / t if limit and t else None

    rows = []
    for name in (SIGN, STARTUP, MS_HASH, MS_SHARD, OURS, OURS_FILES, OURS_BLAKE3):
        m = res[name]
        t = m.median
        is_sha = name != OURS_BLAKE3
        if name == STARTUP:
            rows.append([name, fmt_s(t), fmt_s(m.best), "", "", "", fmt_mib(m.peak_rss)])
            continue
        rows.append(
            [
                name,
                "missing: " + m.missing if m.missing else fmt_s(t),
                fmt_s(m.best),
                fmt_x(ratio(sign, t)),
                fmt_x(ratio(ms_hash, t)),
                fmt_pct(pct(t)) + ("" if is_sha else " (not SHA-256)"),
                fmt_mib(m.peak_rss),
            ]
        )
    rows.append(
        [
            f"two-core SHA-256 limit ({cores} x hashlib 1-core throughput)",
            fmt_s(limit),
            "—",
            fmt_x(ratio(sign, limit)),
            fmt_x(ratio(ms_hash, limit)),
            "100%",
            "—",
        ]
    )

    t = res[OURS].median
    label = "`manifest(folder)`"
    goals = [
        Goal(f"{label} vs model-signing sign (CLI)", ratio(sign, t), GOAL_VS_PEER, "x"),
        Goal(
            f"{label} vs model-signing hashing alone (stricter)",
            ratio(ms_hash, t),
            GOAL_VS_PEER,
            "x",
        ),
        Goal(f"{label} vs two-core SHA-256 limit", pct(t), GOAL_PCT_LIMIT, "%"),
    ]

    notes = [
        f"Folder: `weights.bin` {sizes.big_bytes / MiB:,.0f} MiB of random bytes + "
        f"{sizes.n_small:,} files of {sizes.small_bytes:,} B in `small/` = "
        f"{total_bytes / 1e9:.3f} GB in {n_files:,} files; page cache warm. "
        f"S = shard size = {SHARD / MiB:g} MiB (ours by default).",
        "Files mode hashes each file as one SHA-256 stream, which no number of cores can "
        "split: the 1 GiB file alone takes as long as one core needs for it, so files mode "
        "cannot pass 50% of the two-core limit on this folder; the default shards it.",
        timing_note(rounds),
        "The CLI time is one command, wall clock, interpreter start-up and signing included, as "
        "a user sees it; the start-up row shows how much of it is start-up alone.",
        "Single-core hashlib SHA-256: "
        + ("—" if thr is None else f"{thr / 1e9:.2f} GB/s")
        + f" (median over {sizes.hashlib_bytes / MiB:g} MiB in memory); the limit is "
        f"folder bytes / ({cores} x that) = {fmt_s(limit)} s. It ignores reading the files "
        "(memory copies from the page cache), so it bounds any hasher that runs one SHA-256 "
        "stream per core. mlsentry runs up to three streams side by side on each core "
        "(`sha256x`: the rounds of independent shards interleaved, about 1.6x one stream's "
        "speed), so with several shards it can pass 100%.",
        "Speed-ups are model-signing's median over ours; % of limit is limit / ours. Peak RSS is "
        "the whole process (interpreter included); the CLI row is the signing process.",
    ]
    notes.append(_digest_note(res))
    intro = (
        "Manifest (digest of every file plus one root digest) of a model folder, against the "
        "OpenSSF `model-signing` package signing / hashing the same folder, and against the "
        "two-core SHA-256 limit measured in the same run."
    )
    header = [
        "candidate",
        "median s",
        "best s",
        "x faster than model-signing sign",
        "x faster than model-signing hashing",
        "% of 2-core SHA-256 limit",
        "peak RSS MiB",
    ]
    title = f"Integrity: manifest of a {total_bytes / 1e9:.2f} GB model folder"
    return Section(title, intro, header, rows, goals, notes)


def _digest_note(res: dict[str, Measurement]) -> str:
    def roots(name: str) -> set:
        return set(res[name].extras("root"))

    peer, ours, sign = roots(MS_HASH), roots(OURS_FILES), roots(SIGN)
    peer_shards, ours_default = roots(MS_SHARD), roots(OURS)
    parts = []
    if peer and ours:
        same = peer == ours and len(ours) == 1
        parts.append(
            "files-mode root digest of `manifest(folder)` "
            + ("**equals**" if same else "**DIFFERS from**")
            + " model-signing's for this folder"
            + ("" if same else f" (ours {sorted(ours)}, theirs {sorted(peer)})")
        )
    if sign and peer:
        parts.append(
            "model-signing's signed root equals its hashing root: "
            + ("yes" if sign == peer else "NO")
        )
    if peer_shards and ours_default:
        same = peer_shards == ours_default and len(ours_default) == 1
        parts.append(
            "root of `manifest(folder)` (64 MiB shards) "
            + ("**equals**" if same else "**DIFFERS from**")
            + " model-signing's shard-serialization root with the same shard size"
        )
    for name, what in ((OURS, "default (shards)"), (OURS_BLAKE3, "BLAKE3")):
        r = roots(name)
        if r:
            parts.append(f"{what} root stable across rounds: {'yes' if len(r) == 1 else 'NO'}")
    return ("Check: " + "; ".join(parts) + ".") if parts else "Check: no digests to compare."
