"""Side-by-side benchmarks of mlsentry against the peer tools; writes BENCHMARKS.md.

    make bench                                   # release build, then the full run below
    .venv/bin/python benches/run.py --out BENCHMARKS.md
    .venv/bin/python benches/run.py --quick      # smaller sizes, a fast check; prints only
    .venv/bin/python benches/run.py --only fingerprint
    .venv/bin/python benches/run.py --smoke      # tiny self-check of the harness itself

Every number of a report comes from the same run, and the ratios are computed from it: absolute
times on a shared machine drift, ratios measured side by side much less. A goal is reported met
or not met exactly as the issue states it. A missing function under test (not written yet) makes
the run fail; only ``--smoke`` tolerates it, to check the harness and the peers alone.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.metadata
import importlib.util
import os
import platform
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_drift
import bench_evidence
import bench_explain
import bench_fairness
import bench_fingerprint
import bench_integrity
import bench_labels
import bench_leakage
import bench_monitor
import bench_poisoning
import bench_privacy
import bench_profile
import bench_robustness
import bench_scan
import bench_signing
import bench_validate
from _timing import Goal, Section, Unavailable

REPO = Path(__file__).resolve().parent.parent
BENCHES = {
    "integrity": bench_integrity,
    "fingerprint": bench_fingerprint,
    "signing": bench_signing,
    "drift": bench_drift,
    "robustness": bench_robustness,
    "scan": bench_scan,
    "poisoning": bench_poisoning,
    "leakage": bench_leakage,
    "validate": bench_validate,
    "labels": bench_labels,
    "evidence": bench_evidence,
    "fairness": bench_fairness,
    "explain": bench_explain,
    "privacy": bench_privacy,
    "profile": bench_profile,
    "monitor": bench_monitor,
}
ROUNDS = {"full": 5, "quick": 3, "smoke": 1}


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------- machine


def _version(dist: str) -> str:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _cpuinfo() -> tuple[str, bool]:
    model, sha_ni = platform.processor() or "unknown", False
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return model, sha_ni
    for line in text.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "model name":
            model = value.strip()
        elif key.strip() == "flags":
            sha_ni = "sha_ni" in value.split()
            break
    return model, sha_ni


def _git() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=12"],
            cwd=REPO,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _mlsentry() -> str:
    try:
        import mlsentry
    except ImportError as exc:
        return f"not importable ({exc})"
    version = getattr(mlsentry, "__version__", "?")
    threads = getattr(mlsentry, "num_threads", None)
    extra = f", {threads()} worker threads" if callable(threads) else ""
    so = next(iter(Path(mlsentry.__file__).parent.glob("_core*.so")), None)
    if so is not None:
        built = datetime.fromtimestamp(so.stat().st_mtime, timezone.utc)
        extra += f", extension built {built:%Y-%m-%d %H:%M} UTC"
    return f"{version}{extra}"


def _cores() -> str:
    text = f"{os.cpu_count()} (os.cpu_count, used for the limit)"
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return text
    return text if usable == os.cpu_count() else f"{text}; {usable} usable by this process"


def machine() -> list[tuple[str, str]]:
    model, sha_ni = _cpuinfo()
    try:
        mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
        mem_s = f"{mem:.0f} GiB"
    except (ValueError, OSError, AttributeError):
        mem_s = "unknown"
    return [
        ("CPU", f"{model} (SHA-NI: {'yes' if sha_ni else 'no'})"),
        ("cores", _cores()),
        ("memory", mem_s),
        ("OS", f"{platform.system()} {platform.release()}"),
        ("Python", platform.python_version()),
        ("numpy / pandas / pyarrow", " / ".join(map(_version, ("numpy", "pandas", "pyarrow")))),
        ("model-signing", _version("model-signing")),
        ("mlsentry", _mlsentry()),
        ("commit", _git()),
    ]


# --------------------------------------------------------------------------- report


def _goal_row(g: Goal) -> list[str]:
    met = "not measured" if g.met is None else "**met**" if g.met else "**NOT MET**"
    if g.at_most:
        measured = "not measured" if g.measured is None else f"{g.measured:.2f}x {g.unit}"
        return [g.text, measured, f"<= {g.target:g}x {g.unit}", met]
    if g.measured is None:
        measured = "not measured"
    else:
        measured = f"{g.measured:.2f}x" if g.unit == "x" else f"{g.measured:.0f}%"
    target = f">= {g.target:g}x faster" if g.unit == "x" else f">= {g.target:g}% of the limit"
    return [g.text, measured, target, met]


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    out = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    out += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in rows]
    return out


def render(
    sections: list[Section],
    mode: str,
    argv: list[str],
    started: datetime,
    elapsed: float,
    load: tuple[float, float],
) -> str:
    lines = ["# mlsentry benchmarks", ""]
    if mode == "smoke":
        lines += ["**SMOKE RUN: tiny sizes to check the harness, not a benchmark.**", ""]
    elif mode == "quick":
        lines += ["**QUICK RUN: reduced sizes; the goals are defined on the full sizes.**", ""]
    lines += [
        f"Measured {started:%Y-%m-%d %H:%M} UTC in {elapsed:.0f} s. Reproduce with `make bench` "
        "(release build of the extension, then `.venv/bin/python benches/run.py --out "
        "BENCHMARKS.md`)" + ("" if mode == "full" else f"; this run: `{' '.join(argv)}`") + ".",
        "",
        "Peers and ours are measured side by side in one run, each call in its own process, "
        "interleaved; compare the ratios, not the absolute times (this is a shared machine, "
        f"1-minute load average {load[0]:.2f} at the start, {load[1]:.2f} at the end).",
        "",
        "Every package's Python modules are byte-compiled before timing, as `pip install` "
        "leaves them: the peers' by pip, mlsentry's (an editable install here) by the run "
        "itself, so that no command pays for compiling source at start-up.",
        "",
        "## Machine",
        "",
    ]
    lines += _table(["", "value"], [[k, v] for k, v in machine()])
    for s in sections:
        lines += ["", f"## {s.title}", "", s.intro, ""]
        lines += _table(s.header, s.rows)
        lines += ["", "Goals (from the issue):", ""]
        lines += _table(["goal", "measured", "target", "status"], [_goal_row(g) for g in s.goals])
        lines += [""] + [f"- {n}" for n in s.notes]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- main


def byte_compile_mlsentry() -> None:
    """Byte-compile mlsentry's modules, as pip does when it installs a wheel.

    `make bench` runs an editable install, whose modules would otherwise be compiled from
    source by every fresh process when the environment sets PYTHONDONTWRITEBYTECODE (this
    machine does); the peers, installed by pip, start from bytecode.
    """
    spec = importlib.util.find_spec("mlsentry")
    if spec is not None and spec.origin is not None:
        compileall.compile_dir(os.path.dirname(spec.origin), quiet=1)


def main(argv: Optional[list[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--out", type=Path, help="write the Markdown report here (always printed)")
    size = ap.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true", help="smaller sizes, a fast check")
    size.add_argument(
        "--smoke",
        action="store_true",
        help="tiny sizes, 1 round; tolerates missing functions under test (harness check)",
    )
    ap.add_argument("--only", choices=sorted(BENCHES), action="append", help="run only this one")
    ap.add_argument("--rounds", type=int, help="rounds per candidate (default 5 / 3 quick)")
    ap.add_argument(
        "--check-goals", action="store_true", help="exit 1 when a goal is not met (after writing)"
    )
    args = ap.parse_args(argv)
    mode = "smoke" if args.smoke else "quick" if args.quick else "full"
    rounds = args.rounds or ROUNDS[mode]
    names = args.only or list(BENCHES)

    byte_compile_mlsentry()
    started = datetime.now(timezone.utc)
    load_start = os.getloadavg()[0]
    t0 = time.perf_counter()
    sections = []
    for name in names:
        mod = BENCHES[name]
        sizes = getattr(mod, mode.upper())
        try:
            sections.append(mod.run(sizes, rounds, tolerate_missing=args.smoke, log=log))
        except Unavailable as exc:
            log(
                f"\nERROR: a function under test is missing: {exc}\n"
                "The benchmark needs it (only --smoke runs without). Build the extension "
                "(`make build`, or `make bench` which builds a release one) and try again."
            )
            return 2
    elapsed = time.perf_counter() - t0
    load = (load_start, os.getloadavg()[0])
    report = render(sections, mode, ["benches/run.py", *argv], started, elapsed, load)
    print(report)
    if args.out is not None:
        args.out.write_text(report)
        log(f"wrote {args.out}")
    if args.check_goals and any(g.met is False for s in sections for g in s.goals):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
