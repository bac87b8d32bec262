"""Release evidence: building and verifying the signed bundle of a release whose model is a
1 GiB folder, against OpenSSF `model_signing sign` of the folder alone.

The folder is bench_integrity's (ANCHORS.md): ``weights.bin`` of 1 GiB random bytes plus
2,000 files of 4 KiB, page cache warm. Candidates, each in its own process, interleaved by
round:

- mlsentry, in process: ``manifest(folder)`` (every file hashed, SHA-256 in 64 MiB
  shards), ``evidence.build`` of the release (a drift report made before timing, the
  manifest, the Python environment with the RECORD digest of every installed
  distribution), ``Bundle.save`` (ZIP, in-toto statement over every member in a DSSE
  envelope, Ed25519), then ``evidence.verify`` of the file written;
- ``model_signing sign key --private_key key.pem --signature model.sig FOLDER`` (P-256;
  the package's command line, wall time including interpreter start-up, as a user runs
  it);
- ``model_signing.hashing.Config().hash(FOLDER)``, its hashing alone (in process).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Callable

import bench_integrity
from _timing import (
    OUT_DIR,
    Candidate,
    Case,
    Goal,
    Measurement,
    Section,
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

FULL, QUICK, SMOKE = bench_integrity.FULL, bench_integrity.QUICK, bench_integrity.SMOKE
GOAL_VS_PEER = 3.0  # bundle build + verify at least 3x faster than model_signing sign


def case_ours(folder: str, out: str) -> Case:
    import numpy as np

    evidence = require("mlsentry.evidence", "build")
    verify = require("mlsentry.evidence", "verify")
    manifest = require("mlsentry.integrity", "manifest")
    compare = require("mlsentry.drift", "compare")
    SigningKey = require("mlsentry.integrity", "SigningKey")
    key = SigningKey.generate()
    rng = np.random.default_rng(0)
    drift = compare(
        {"x": rng.normal(size=10_000), "y": rng.normal(size=10_000)},
        {"x": rng.normal(size=10_000), "y": rng.normal(size=10_000)},
    )

    def call():
        m = manifest(folder)
        bundle = evidence([drift], manifests={"model": m}, controls="all")
        bundle.save(out, key)
        return m, verify(out, key.public_key)

    def extra(result) -> dict:
        m, report = result
        if not report.passed:
            raise AssertionError(f"the bundle does not verify: {report.problems}")
        return {"root": str(m.root), "bundle_bytes": os.path.getsize(out)}

    return Case(call=call, extra=extra)


OURS = "mlsentry: manifest + `evidence.build` + `Bundle.save` + `evidence.verify`"
SIGN = "model-signing: `model_signing sign key` (CLI, P-256), the folder alone"
MS_HASH = "model-signing: `hashing.Config().hash(folder)` (hashing alone)"


def run(sizes, rounds: int, *, tolerate_missing: bool, log: Callable[[str], None]) -> Section:
    folder = bench_integrity.prepare_folder(sizes, log)
    work = OUT_DIR / "work-evidence"
    work.mkdir(parents=True, exist_ok=True)
    key = bench_integrity.make_key(work)
    sig = work / "model.sig"
    out = work / "release.evidence"
    f = str(folder)

    def sign():
        sig.unlink(missing_ok=True)
        argv = [*bench_integrity.model_signing_cli(), "sign", "key", "--private_key", str(key)]
        sample = run_command([*argv, "--signature", str(sig), f], cwd=work)
        if not sig.exists():
            raise RuntimeError(f"model_signing exited 0 but wrote no {sig}")
        return sample

    def iso(func: str, **kw):
        return lambda: run_isolated("bench_evidence", func, kw)

    candidates = [
        Candidate(OURS, iso("case_ours", folder=f, out=str(out))),
        Candidate(SIGN, sign),
        Candidate(MS_HASH, lambda: run_isolated("bench_integrity", "case_ms_hash", {"folder": f})),
    ]
    total = sum(p.stat().st_size for p in Path(f).rglob("*") if p.is_file())
    log(f"evidence: {total / 1e9:.3f} GB model folder, {rounds} rounds")
    res = interleave(candidates, rounds, tolerate_missing=tolerate_missing, log=log)
    return _section(res, sizes, total, rounds)


def _section(res: dict[str, Measurement], sizes, total: int, rounds: int) -> Section:
    sign, ms_hash, ours = res[SIGN].median, res[MS_HASH].median, res[OURS].median
    rows = []
    for name in (OURS, SIGN, MS_HASH):
        m = res[name]
        rows.append(
            [
                name,
                "missing: " + m.missing if m.missing else fmt_s(m.median),
                fmt_s(m.best),
                fmt_x(ratio(sign, m.median)),
                fmt_x(ratio(ms_hash, m.median)),
                fmt_mib(m.peak_rss),
            ]
        )
    goals = [
        Goal(
            "bundle build + verify vs model_signing sign (CLI)",
            ratio(sign, ours),
            GOAL_VS_PEER,
            "x",
        ),
    ]
    roots = set(res[OURS].extras("root"))
    size = res[OURS].extras("bundle_bytes")
    notes = [
        f"Model folder: `weights.bin` {sizes.big_bytes / 2**20:,.0f} MiB + {sizes.n_small:,} "
        f"files of {sizes.small_bytes:,} B = {total / 1e9:.3f} GB; page cache warm.",
        "Ours is one process doing the whole release step after the checks: hash the folder "
        "into a manifest, build the bundle (a drift report, the manifest, the environment: "
        "the RECORD digest of every installed distribution, and the control mapping), sign "
        "and write it, then verify the file (signature, every member's digest, reports, "
        "manifest). model-signing signs the folder alone, and its CLI time includes its "
        "interpreter start-up.",
        "Root stable across rounds: "
        + ("yes" if len(roots) == 1 else f"NO ({sorted(roots)})")
        + ("" if not size else f"; bundle size {size[-1]:,} bytes"),
        timing_note(rounds),
    ]
    intro = (
        "The signed evidence bundle of a release whose model is a 1 GiB folder, built and "
        "verified, against OpenSSF model-signing signing the folder alone."
    )
    header = [
        "candidate",
        "median s",
        "best s",
        "x faster than model_signing sign",
        "x faster than model-signing hashing",
        "peak RSS MiB",
    ]
    return Section(
        f"Evidence: bundle of a {total / 1e9:.2f} GB model release",
        intro,
        header,
        rows,
        goals,
        notes,
    )
