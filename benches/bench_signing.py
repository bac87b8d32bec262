"""Signing and the audit log: mlsentry against OpenSSF model-signing, and the log on its own.

Audit log (no peer; absolute numbers): ``AuditLog(path, durable=True|False).append(event)``
``n_appends`` times into a fresh file (events per second), and ``AuditLog(path).verify()`` of a
log of ``log_entries`` entries. That log is written once by :func:`build_log` straight in the
documented format (see ``src/core/integrity/audit.rs``), cached under ``benches/out/data``
(git-ignored) and checked with ``verify().ok`` when built.

Signing the sample folder of ``bench_integrity`` (same cache, page cache warm), each candidate in
its own process, interleaved by round:

- ``model_signing sign key`` / ``model_signing verify key`` (P-256 key; the package's command
  line, wall time with interpreter start-up), and its in-process API
  ``signing.Config().use_elliptic_key_signer(...).sign`` / ``verifying.Config()
  .use_elliptic_key_verifier(...).verify``;
- ours, OpenSSF Model Signing format with the same P-256 key: ``mlsentry sign --format
  model-signing`` / ``mlsentry verify-signature`` (command line) and ``sign_model`` /
  ``verify_model`` (in process); both verifiers check the bundle model-signing wrote;
- ours, DSSE envelope with an Ed25519 key: ``mlsentry sign`` / ``mlsentry verify-signature``
  (command line) and ``sign(manifest(folder), key)`` / ``verify(folder, envelope, public_key)``.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

import bench_integrity
from _timing import (
    OUT_DIR,
    Candidate,
    Case,
    Goal,
    Measurement,
    Section,
    Unavailable,
    fmt_mib,
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
    folder: bench_integrity.Sizes  # the sample model folder (shared with bench_integrity)
    n_appends: int  # appends per timed call, into a fresh log
    log_entries: int  # entries of the log whose verification is timed


FULL = Sizes(folder=bench_integrity.FULL, n_appends=2000, log_entries=1_000_000)
QUICK = Sizes(folder=bench_integrity.QUICK, n_appends=200, log_entries=100_000)
SMOKE = Sizes(folder=bench_integrity.SMOKE, n_appends=50, log_entries=10_000)

GOAL_VS_PEER = 3.0  # at least 3x faster than model-signing (issue 3)
AUDIT_ROUNDS = 3  # at most, for the audit-log candidates (no ratio depends on them)
WORK = OUT_DIR / "work"


# --------------------------------------------------------------------------- the audit log


def _event(i: int) -> dict:
    return {
        "check": "verify",
        "passed": True,
        "inputs": {"manifest": "sha256:" + "ab" * 32},
        "i": i,
    }


def _canonical(obj) -> str:
    """Keys sorted at every level, no white space, UTF-8 (serde_json's escaping)."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def write_log(path: Path, n: int) -> None:
    """``n`` entries in the documented format, without going through ``append``."""
    t0 = _dt.datetime(2026, 1, 1, tzinfo=_dt.timezone.utc)
    step = _dt.timedelta(microseconds=1)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        lines = []
        for i in range(n):
            event, time = _event(i), (t0 + i * step).isoformat(timespec="microseconds")
            body = _canonical({"event": event, "index": i, "time": time}).encode()
            leaf = hashlib.sha256(b"\x00" + body).hexdigest()
            entry = {"event": event, "index": i, "leaf": leaf, "time": time, "type": "entry"}
            lines.append(_canonical(entry))
            if len(lines) == 10_000:
                fh.write("\n".join(lines) + "\n")
                lines = []
        if lines:
            fh.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def build_log(n: int, log: Callable[[str], None]) -> Path:
    """The log of ``n`` entries, written once (cached) and checked with ``verify()``."""
    root = OUT_DIR / "data"
    root.mkdir(parents=True, exist_ok=True)
    path = root / f"audit-{n}.jsonl"
    stamp = root / f"audit-{n}.complete.json"
    want = {"entries": n, "size": path.stat().st_size if path.exists() else None}
    if stamp.exists() and path.exists() and json.loads(stamp.read_text()) == want:
        return path
    log(f"writing {path} ({n:,} entries, once) ...")
    write_log(path, n)
    out = subprocess.run(
        [sys.executable, "-c", _CHECK_LOG, str(path)], capture_output=True, text=True, check=False
    )
    if out.returncode == 3:
        raise Unavailable(out.stderr.strip().splitlines()[-1])
    if out.returncode != 0 or out.stdout.split() != ["True", str(n)]:
        raise RuntimeError(f"the generated log {path} does not verify:\n{out.stdout}{out.stderr}")
    stamp.write_text(json.dumps({"entries": n, "size": path.stat().st_size}))
    return path


_CHECK_LOG = """
import sys
try:
    from mlsentry.integrity import AuditLog
except ImportError as e:
    print(f"unavailable: cannot import mlsentry.integrity.AuditLog: {e}", file=sys.stderr)
    sys.exit(3)
r = AuditLog(sys.argv[1]).verify()
print(r.ok, r.entries)
if not r.ok:
    print(r.summary())
"""


def case_append(work: str, n: int, durable: bool) -> Case:
    """Each call: ``n`` appends into a new log file (the previous one removed first)."""
    AuditLog = require("mlsentry.integrity", "AuditLog")
    state = {"k": 0, "path": None}

    def call():
        if state["path"] is not None:
            os.unlink(state["path"])
        state["k"] += 1
        path = os.path.join(work, f"append-{os.getpid()}-{state['k']}.jsonl")
        state["path"] = path
        audit = AuditLog(path, durable=durable)
        for i in range(n):
            audit.append(_event(i))
        return path

    def extra(path: str) -> dict:
        report = AuditLog(path).verify()
        os.unlink(path)
        if not report.ok or report.entries != n:
            raise AssertionError(f"appended log does not verify: {report.summary()}")
        return {"entries": int(report.entries)}

    return Case(call=call, extra=extra)


def case_audit_verify(path: str, n: int) -> Case:
    AuditLog = require("mlsentry.integrity", "AuditLog")

    def extra(report) -> dict:
        if not report.ok or report.entries != n:
            raise AssertionError(f"{path}: {report.summary()}")
        return {"entries": int(report.entries)}

    return Case(call=lambda: AuditLog(path).verify(), extra=extra)


# --------------------------------------------------------------------------- signing, in process


def _check_ok(report) -> dict:
    if not report.ok:
        raise AssertionError(f"verification failed: {report.summary()}")
    return {"ok": True}


def case_ms_sign(folder: str, key: str, signature: str) -> Case:
    from model_signing import signing

    def call():
        signing.Config().use_elliptic_key_signer(private_key=key).sign(folder, signature)

    return Case(call=call)


def case_ms_verify(folder: str, pub: str, signature: str) -> Case:
    from model_signing import verifying

    def call():  # raises on any mismatch
        verifying.Config().use_elliptic_key_verifier(public_key=pub).verify(folder, signature)

    return Case(call=call)


def case_sign_model(folder: str, key: str, signature: str) -> Case:
    sign_model = require("mlsentry.integrity.model_signing", "sign_model")
    SigningKey = require("mlsentry.integrity", "SigningKey")
    k = SigningKey.load(key)
    return Case(call=lambda: sign_model(folder, k, signature))


def case_verify_model(folder: str, pub: str, signature: str) -> Case:
    verify_model = require("mlsentry.integrity.model_signing", "verify_model")
    PublicKey = require("mlsentry.integrity", "PublicKey")
    p = PublicKey.load(pub)
    return Case(call=lambda: verify_model(folder, signature, p), extra=_check_ok)


def case_dsse_sign(folder: str) -> Case:
    manifest = require("mlsentry.integrity", "manifest")
    sign = require("mlsentry.integrity", "sign")
    key = require("mlsentry.integrity", "SigningKey").generate()
    return Case(call=lambda: sign(manifest(folder), key))


def case_dsse_verify(folder: str) -> Case:
    manifest = require("mlsentry.integrity", "manifest")
    sign = require("mlsentry.integrity", "sign")
    verify = require("mlsentry.integrity", "verify")
    key = require("mlsentry.integrity", "SigningKey").generate()
    envelope = sign(manifest(folder), key)  # outside the timing
    pub = key.public_key
    return Case(call=lambda: verify(folder, envelope, pub), extra=_check_ok)


# --------------------------------------------------------------------------- the benchmark


def mlsentry_cli() -> list[str]:
    script = Path(sys.executable).parent / "mlsentry"
    return [str(script)] if script.exists() else [sys.executable, "-m", "mlsentry"]


APPEND_ON = "audit log: `append` with durability on (fsync per append, the default)"
APPEND_OFF = "audit log: `append`, `durable=False`"
LOG_VERIFY = "audit log: `verify()`"
HASHLIB = bench_integrity.HASHLIB

MS_SIGN_CLI = "model-signing: `model_signing sign key` (CLI)"
MS_VERIFY_CLI = "model-signing: `model_signing verify key` (CLI)"
MS_SIGN_API = "model-signing: `signing.Config().use_elliptic_key_signer().sign` (in process)"
MS_VERIFY_API = (
    "model-signing: `verifying.Config().use_elliptic_key_verifier().verify` (in process)"
)
OURS_SIGN_CLI = "mlsentry: `mlsentry sign --format model-signing` (CLI, P-256)"
OURS_VERIFY_CLI = "mlsentry: `mlsentry verify-signature` of model-signing's bundle (CLI)"
OURS_DSSE_SIGN_CLI = "mlsentry: `mlsentry sign` DSSE (CLI, Ed25519)"
OURS_DSSE_VERIFY_CLI = "mlsentry: `mlsentry verify-signature` DSSE (CLI, Ed25519)"
OURS_SIGN_MODEL = "mlsentry: `sign_model(folder, key, sig)` (in process, P-256)"
OURS_VERIFY_MODEL = "mlsentry: `verify_model(folder, sig, pub)` of model-signing's bundle"
OURS_DSSE_SIGN = "mlsentry: `sign(manifest(folder), key)` (in process, Ed25519)"
OURS_DSSE_VERIFY = "mlsentry: `verify(folder, envelope, pub)` (in process, Ed25519)"

# Each of ours, with the model-signing candidate doing the same thing the same way.
PEER = {
    OURS_SIGN_CLI: MS_SIGN_CLI,
    OURS_DSSE_SIGN_CLI: MS_SIGN_CLI,
    OURS_VERIFY_CLI: MS_VERIFY_CLI,
    OURS_DSSE_VERIFY_CLI: MS_VERIFY_CLI,
    OURS_SIGN_MODEL: MS_SIGN_API,
    OURS_DSSE_SIGN: MS_SIGN_API,
    OURS_VERIFY_MODEL: MS_VERIFY_API,
    OURS_DSSE_VERIFY: MS_VERIFY_API,
}


def _public_pem(key: Path, out: Path) -> Path:
    from cryptography.hazmat.primitives import serialization

    private = serialization.load_pem_private_key(key.read_bytes(), password=None)
    out.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return out


def _setup_command(argv: list[str], tolerate_missing: bool, log, what: str) -> Optional[str]:
    """An untimed command of the setup; returns why it failed (``--smoke`` only) or None."""
    try:
        run_command(argv, cwd=WORK)
        return None
    except RuntimeError as exc:
        if not tolerate_missing:
            raise
        log(f"  setup: {what} failed: {exc}")
        return str(exc).splitlines()[0]


def run(sizes: Sizes, rounds: int, *, tolerate_missing: bool, log: Callable[[str], None]):
    WORK.mkdir(parents=True, exist_ok=True)
    logs_dir = WORK / "audit"
    logs_dir.mkdir(exist_ok=True)
    folder = bench_integrity.prepare_folder(sizes.folder, log)
    total_bytes = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    f = str(folder)
    big_log = build_log(sizes.log_entries, log)
    with open(big_log, "rb", buffering=0) as fh:  # warm the page cache
        while fh.read(8 << 20):
            pass

    # Keys: one P-256 pair (both Model Signing implementations), one Ed25519 pair (DSSE).
    key = bench_integrity.make_key(WORK)
    pub = _public_pem(key, WORK / "pub.pem")
    ed_key, ed_pub = WORK / "ed25519.pem", WORK / "ed25519.pub"
    ms, ours = bench_integrity.model_signing_cli(), mlsentry_cli()
    keygen = [*ours, "keygen", "-o", str(ed_key), "--pub", str(ed_pub), "--force"]
    _setup_command(keygen, tolerate_missing, log, "mlsentry keygen")

    # Signatures to verify, made once outside the timing (never inside the folder).
    ms_sig, ours_sig, env = WORK / "ms-model.sig", WORK / "ours-model.sig", WORK / "env.json"
    run_command([*ms, "sign", "key", "--private_key", str(key), "--signature", str(ms_sig), f])
    sign_ours = [*ours, "sign", f, "--key", str(key), "--format", "model-signing"]
    sign_dsse = [*ours, "sign", f, "--key", str(ed_key), "-o", str(env)]
    interop = _setup_command([*sign_ours, "-o", str(ours_sig)], tolerate_missing, log, "sign")
    _setup_command(sign_dsse, tolerate_missing, log, "mlsentry sign (DSSE)")
    if interop is None:  # our bundle, checked once by model-signing's own verifier
        ms_check = [*ms, "verify", "key", "--signature", str(ours_sig), "--public_key", str(pub)]
        try:
            run_command([*ms_check, f], cwd=WORK)
            interop = "our bundle (`mlsentry sign --format model-signing`) **verifies** with "
            interop += "`model_signing verify key`"
        except RuntimeError as exc:
            interop = f"our bundle **DOES NOT verify** with `model_signing verify key`: {exc}"
    else:
        interop = f"our bundle not checked with model-signing (signing failed: {interop})"

    def cmd(argv: list[str]):
        return lambda: run_command(argv, cwd=WORK)

    def iso(func: str, **kw):
        # No untimed warm-up call for these: each call takes seconds at the full sizes, the
        # page cache is warm already (folder and log read once before the rounds), and a
        # warm-up would double the run time of the section.
        return lambda: run_isolated("bench_signing", func, kw, warmup=0)

    def iso_warm(func: str, **kw):
        return lambda: run_isolated("bench_signing", func, kw)

    tmp_sig = str(WORK / "timed.sig")
    k, p, s_ms = str(key), str(pub), str(ms_sig)
    timed_env = str(WORK / "timed-env.json")
    w = str(logs_dir)
    n = sizes.n_appends
    # Ours first: a missing function fails the run at once, not after minutes of peers.
    candidates = [
        Candidate(OURS_SIGN_MODEL, iso("case_sign_model", folder=f, key=k, signature=tmp_sig)),
        Candidate(OURS_VERIFY_MODEL,
                  iso("case_verify_model", folder=f, pub=str(pub), signature=str(ms_sig))),
        Candidate(OURS_DSSE_SIGN, iso("case_dsse_sign", folder=f)),
        Candidate(OURS_DSSE_VERIFY, iso("case_dsse_verify", folder=f)),
        Candidate(OURS_SIGN_CLI, cmd([*sign_ours, "-o", str(WORK / "timed-ours.sig")])),
        Candidate(OURS_VERIFY_CLI,
                  cmd([*ours, "verify-signature", f, str(ms_sig), "--pub", str(pub)])),
        Candidate(OURS_DSSE_SIGN_CLI,
                  cmd([*ours, "sign", f, "--key", str(ed_key), "-o", timed_env])),
        Candidate(OURS_DSSE_VERIFY_CLI,
                  cmd([*ours, "verify-signature", f, str(env), "--pub", str(ed_pub)])),
        Candidate(MS_SIGN_CLI, cmd([*ms, "sign", "key", "--private_key", str(key),
                                    "--signature", str(WORK / "timed-ms.sig"), f])),
        Candidate(MS_VERIFY_CLI, cmd([*ms, "verify", "key", "--signature", str(ms_sig),
                                      "--public_key", str(pub), f])),
        Candidate(MS_SIGN_API, iso("case_ms_sign", folder=f, key=k, signature=tmp_sig)),
        Candidate(MS_VERIFY_API, iso("case_ms_verify", folder=f, pub=p, signature=s_ms)),
    ]  # fmt: skip
    audit = [
        Candidate(APPEND_ON, iso_warm("case_append", work=w, n=n, durable=True)),
        Candidate(APPEND_OFF, iso_warm("case_append", work=w, n=n, durable=False)),
        Candidate(LOG_VERIFY, iso("case_audit_verify", path=str(big_log), n=sizes.log_entries)),
        # One core's SHA-256 speed, for the bound on the Model Signing format rows.
        Candidate(HASHLIB, lambda: run_isolated("bench_integrity", "case_hashlib",
                                                {"nbytes": sizes.folder.hashlib_bytes})),
    ]  # fmt: skip
    log(
        f"signing: {total_bytes / 1e9:.3f} GB folder, {n} appends, {sizes.log_entries:,}-entry "
        f"log, {rounds} rounds"
    )
    res = interleave(candidates, rounds, tolerate_missing=tolerate_missing, log=log)
    # The log on its own (no peer, no ratio), in fewer rounds: verifying the full log takes
    # seconds per call and would otherwise dominate the section's run time.
    audit_rounds = min(rounds, AUDIT_ROUNDS)
    res |= interleave(audit, audit_rounds, tolerate_missing=tolerate_missing, log=log)
    return _section(res, sizes, total_bytes, rounds, audit_rounds, interop, big_log)


def _section(
    res: dict[str, Measurement],
    sizes: Sizes,
    total_bytes: int,
    rounds: int,
    audit_rounds: int,
    interop: str,
    big_log: Path,
) -> Section:
    def cell(m: Measurement) -> str:
        return "missing: " + m.missing if m.missing else fmt_s(m.median)

    def per_s(count: int, t: Optional[float], unit: str) -> str:
        return "—" if not t else f"{count / t:,.0f} {unit}/s"

    rows = []
    for name, count, unit in (
        (APPEND_ON, sizes.n_appends, "events"),
        (APPEND_OFF, sizes.n_appends, "events"),
        (LOG_VERIFY, sizes.log_entries, "entries"),
    ):
        m = res[name]
        rows.append([name, cell(m), fmt_s(m.best), per_s(count, m.median, unit), "no peer",
                     fmt_mib(m.peak_rss)])  # fmt: skip
    order = (
        MS_SIGN_CLI, OURS_SIGN_CLI, OURS_DSSE_SIGN_CLI,
        MS_VERIFY_CLI, OURS_VERIFY_CLI, OURS_DSSE_VERIFY_CLI,
        MS_SIGN_API, OURS_SIGN_MODEL, OURS_DSSE_SIGN,
        MS_VERIFY_API, OURS_VERIFY_MODEL, OURS_DSSE_VERIFY,
    )  # fmt: skip
    for name in order:
        m = res[name]
        peer = PEER.get(name)
        speed = "(peer)" if peer is None else fmt_x(ratio(res[peer].median, m.median))
        gbs = "—" if not m.median else f"{total_bytes / m.median / 1e9:.2f} GB/s"
        rows.append([name, cell(m), fmt_s(m.best), gbs, speed, fmt_mib(m.peak_rss)])

    goals = []
    for name, label in (
        (OURS_SIGN_CLI, "sign, CLI vs CLI (Model Signing format, P-256)"),
        (OURS_VERIFY_CLI, "verify, CLI vs CLI (Model Signing bundle)"),
        (OURS_DSSE_SIGN_CLI, "sign, our DSSE CLI vs model-signing CLI"),
        (OURS_DSSE_VERIFY_CLI, "verify, our DSSE CLI vs model-signing CLI"),
        (OURS_SIGN_MODEL, "sign, `sign_model` vs model-signing API (in process)"),
        (OURS_VERIFY_MODEL, "verify, `verify_model` vs model-signing API (in process)"),
        (OURS_DSSE_SIGN, "sign, DSSE in process vs model-signing API"),
        (OURS_DSSE_VERIFY, "verify, DSSE in process vs model-signing API"),
    ):
        goals.append(
            Goal(label, ratio(res[PEER[name]].median, res[name].median), GOAL_VS_PEER, "x")
        )

    log_mib = big_log.stat().st_size / (1 << 20)
    fs = sizes.folder
    hl = res[HASHLIB].median
    one_stream = fs.big_bytes * hl / fs.hashlib_bytes if hl else None  # s for weights.bin
    bounds = ", ".join(
        f"{what} {fmt_x(ratio(res[peer].median, one_stream))}"
        for what, peer in (("CLI sign", MS_SIGN_CLI), ("CLI verify", MS_VERIFY_CLI),
                           ("API sign", MS_SIGN_API), ("API verify", MS_VERIFY_API))
    )  # fmt: skip
    notes = [
        f"Audit log: each append call writes {sizes.n_appends:,} events like "
        '`{"check": "verify", "passed": true, "inputs": {"manifest": "sha256:<64 hex>"}, '
        '"i": i}` into a new log file (in `benches/out/work`, same file system as the data), '
        "one `AuditLog.append` per event; events/s = events / median. The verified log has "
        f"{sizes.log_entries:,} such entries ({log_mib:,.0f} MiB), written once in the "
        "documented format (not timed) and checked with `verify().ok` then; `verify()` "
        "re-hashes every leaf and rebuilds the tree. No peer: absolute numbers, no goal. "
        f"The three audit-log candidates are interleaved among themselves, in {audit_rounds} "
        "round(s) after the signing rounds (timing note below otherwise applies).",
        f"Folder: the one of the integrity section (`weights.bin` "
        f"{fs.big_bytes / (1 << 20):,.0f} MiB + {fs.n_small:,} files of {fs.small_bytes:,} B), "
        f"{total_bytes / 1e9:.3f} GB; page cache warm; signatures written outside it.",
        timing_note(rounds)
        + " Exception: the folder and `verify()` candidates make no warm-up call (each call "
        "takes seconds at the full sizes; folder and log are read once before the rounds so "
        "the page cache is warm); the first call is timed. The append candidates do.",
        "CLI rows are one command each, wall clock, interpreter start-up included on both "
        "sides. x faster = the matching model-signing candidate's median over ours: CLI vs its "
        "CLI, in process vs its in-process API (`(peer)` marks model-signing's own rows). "
        "Signing includes hashing the folder, verifying includes re-hashing it. GB/s = folder "
        "bytes / median.",
        "Verify rows check the same bundle for both Model Signing implementations: the one "
        "`model_signing sign key` wrote (once, before the rounds). The DSSE rows sign / verify "
        "mlsentry's own envelope (in-toto statement of the manifest) with an Ed25519 key.",
        "Interop check (once, untimed): " + interop + ".",
        "Bound on the Model Signing format rows: that format (files serialization, the only "
        "one `model_signing verify key` accepts) hashes `weights.bin` as one SHA-256 stream, "
        "which only one core can do: "
        + ("—" if one_stream is None else f"{one_stream:.3f} s")
        + " at the speed of hashlib SHA-256 on one core in this run (median over "
        f"{fs.hashlib_bytes / (1 << 20):g} MiB in memory). Even with nothing else to do, no "
        f"implementation can be faster than model-signing by more than its time over that: "
        f"{bounds}. The DSSE rows hash in 64 MiB shards, several side by side on each core.",
    ]
    intro = (
        "Tamper-evident audit log throughput, and signing / verifying the sample model folder "
        "with mlsentry against the OpenSSF `model-signing` package doing the same."
    )
    header = ["candidate", "median s", "best s", "throughput", "x faster than model-signing",
              "peak RSS MiB"]  # fmt: skip
    title = f"Signing ({total_bytes / 1e9:.2f} GB folder) and the audit log"
    return Section(title, intro, header, rows, goals, notes)
