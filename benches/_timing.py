"""Timing, isolation and peak-memory helpers shared by every benchmark (written once).

Every measured call runs in a fresh child process (``run_isolated``) or is itself a command
(``run_command``), so that each one gets a clean heap, its own peak RSS, and no state left over
from the candidate measured before it. The driver interleaves the candidates round by round
(``interleave``), so that the slow drift of a shared machine hits every candidate alike; the
ratios in the report are computed from the medians of that one run.
"""

from __future__ import annotations

import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import traceback
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

BENCH_DIR = Path(__file__).resolve().parent
OUT_DIR = BENCH_DIR / "out"

# Exit status of a child whose function under test does not exist (yet).
_EXIT_UNAVAILABLE = 3
_CHILD_BOOT = "import sys; sys.path.insert(0, {bench_dir!r}); import _timing; _timing._child_main()"


class Unavailable(Exception):
    """The function under test does not exist yet. Tolerated only by ``run.py --smoke``."""


def require(module: str, attr: str) -> Any:
    """Import ``module.attr`` or raise :class:`Unavailable` naming what is missing."""
    import importlib

    try:
        mod = importlib.import_module(module)
    except ImportError as exc:
        raise Unavailable(f"cannot import {module}: {exc}") from exc
    try:
        return getattr(mod, attr)
    except AttributeError as exc:
        raise Unavailable(f"{module}.{attr} does not exist") from exc


@dataclass
class Case:
    """What a child process measures: ``call()`` is timed; ``extra(result)`` is not."""

    call: Callable[[], Any]
    extra: Optional[Callable[[Any], dict]] = None


@dataclass
class Sample:
    """One child process (or command): its timed calls and its memory."""

    seconds: list[float]
    peak_rss: Optional[int] = None  # bytes, high-water mark while the calls ran
    base_rss: Optional[int] = None  # bytes, resident just before the calls (inputs ready)
    extra: dict = field(default_factory=dict)


@dataclass
class Measurement:
    """All the samples of one candidate in one run."""

    name: str
    samples: list[Sample] = field(default_factory=list)
    missing: Optional[str] = None  # why the candidate could not run (``--smoke`` only)

    @property
    def seconds(self) -> list[float]:
        return [s for sample in self.samples for s in sample.seconds]

    @property
    def median(self) -> Optional[float]:
        return statistics.median(self.seconds) if self.seconds else None

    @property
    def best(self) -> Optional[float]:
        return min(self.seconds) if self.seconds else None

    @property
    def peak_rss(self) -> Optional[int]:
        peaks = [s.peak_rss for s in self.samples if s.peak_rss is not None]
        return max(peaks) if peaks else None

    @property
    def above_base(self) -> Optional[int]:
        """Largest peak above the resident size just before the calls (the inputs)."""
        vals = [
            max(0, s.peak_rss - s.base_rss)
            for s in self.samples
            if s.peak_rss is not None and s.base_rss is not None
        ]
        return max(vals) if vals else None

    def extras(self, key: str) -> list[Any]:
        return [s.extra[key] for s in self.samples if key in s.extra]


# --------------------------------------------------------------------------- memory


def _proc_status_kib(key: str) -> Optional[int]:
    try:
        with open("/proc/self/status") as fh:
            for line in fh:
                if line.startswith(key + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset this process's high-water mark (Linux: write 5 to clear_refs)."""
    try:
        with open("/proc/self/clear_refs", "w") as fh:
            fh.write("5")
        return True
    except OSError:
        return False


def _maxrss_bytes(usage: resource.struct_rusage) -> int:
    # Linux reports KiB, macOS bytes.
    return usage.ru_maxrss if sys.platform == "darwin" else usage.ru_maxrss * 1024


# --------------------------------------------------------------------------- children


def run_isolated(
    module: str,
    func: str,
    kwargs: dict,
    *,
    warmup: int = 1,
    repeats: int = 1,
    min_seconds: float = 0.5,
    max_repeats: int = 10,
    python: Optional[Path] = None,
) -> Sample:
    """Run ``benches/<module>.py:<func>(**kwargs) -> Case`` in a fresh interpreter
    (``python``, default this one: a peer that needs other packages has its own venv).

    The child builds its inputs, runs ``warmup`` untimed calls, then at least ``repeats`` timed
    ones, more (up to ``max_repeats``) while their total is under ``min_seconds``, and
    reports the wall time of each, its peak RSS while calling, and ``Case.extra`` of the last
    result. Raises :class:`Unavailable` when the function under test is missing, and
    ``RuntimeError`` (with the child's stderr) on any other failure.
    """
    with tempfile.TemporaryDirectory(prefix="mlsentry-bench-") as tmp:
        result_path = Path(tmp) / "result.json"
        spec = {
            "module": module,
            "func": func,
            "kwargs": kwargs,
            "warmup": warmup,
            "repeats": repeats,
            "min_seconds": min_seconds,
            "max_repeats": max_repeats,
            "result": str(result_path),
        }
        proc = subprocess.run(
            [str(python or sys.executable), "-c", _CHILD_BOOT.format(bench_dir=str(BENCH_DIR))],
            input=json.dumps(spec),
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode == _EXIT_UNAVAILABLE:
            last = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else func
            raise Unavailable(last.removeprefix("unavailable: "))
        if proc.returncode != 0 or not result_path.exists():
            raise RuntimeError(
                f"{python or sys.executable} {module}.{func}({kwargs}) failed with exit status "
                f"{proc.returncode}:\n"
                f"{proc.stderr[-4000:]}"
            )
        data = json.loads(result_path.read_text())
    return Sample(
        seconds=data["seconds"],
        peak_rss=data["peak_rss"],
        base_rss=data["base_rss"],
        extra=data["extra"],
    )


def _child_main() -> None:
    """Entry point of a child started by :func:`run_isolated` (spec on stdin)."""
    import importlib

    spec = json.loads(sys.stdin.read())
    try:
        case = getattr(importlib.import_module(spec["module"]), spec["func"])(**spec["kwargs"])
        exact = _reset_peak_rss()
        if exact:
            base_kib = _proc_status_kib("VmRSS")
            base = base_kib * 1024 if base_kib is not None else None
        else:
            base = _maxrss_bytes(resource.getrusage(resource.RUSAGE_SELF))
        result = None
        for _ in range(spec["warmup"]):
            result = case.call()
        seconds = []
        while len(seconds) < spec["repeats"] or (
            sum(seconds) < spec["min_seconds"] and len(seconds) < spec["max_repeats"]
        ):
            t0 = time.perf_counter()
            result = case.call()
            seconds.append(time.perf_counter() - t0)
        if exact and (hwm := _proc_status_kib("VmHWM")) is not None:
            peak = hwm * 1024
        else:
            peak = _maxrss_bytes(resource.getrusage(resource.RUSAGE_SELF))
        extra = case.extra(result) if case.extra is not None else {}
    except Unavailable as exc:
        print(f"unavailable: {exc}", file=sys.stderr)
        sys.exit(_EXIT_UNAVAILABLE)
    except AttributeError as exc:
        # A Python layer calling into a stale extension (``mlsentry._core`` built before the
        # function landed) is a missing function too, not a benchmark failure.
        obj = getattr(exc, "obj", None)
        if not (isinstance(obj, types.ModuleType) and obj.__name__.startswith("mlsentry")):
            raise
        print(f"unavailable: {exc} (stale extension? run `make build`)", file=sys.stderr)
        sys.exit(_EXIT_UNAVAILABLE)
    except NotImplementedError as exc:
        traceback.print_exc()
        print(f"unavailable: the function under test raised NotImplementedError({exc})",
              file=sys.stderr)  # fmt: skip
        sys.exit(_EXIT_UNAVAILABLE)
    Path(spec["result"]).write_text(
        json.dumps({"seconds": seconds, "peak_rss": peak, "base_rss": base, "extra": extra})
    )


# Started with ``python -S``: forks and execs the command, reaps it with wait4 and writes
# {"seconds", "maxrss", "status"} to argv[1]. A small launcher because Linux carries the
# parent's RSS high-water mark over into the child's ru_maxrss at exec: launched straight from
# the driver, the command would report the driver's peak instead of its own.
_LAUNCHER = """
import json, os, sys, time
out, argv = sys.argv[1], sys.argv[2:]
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.execvp(argv[0], argv)
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
seconds = time.perf_counter() - t0
with open(out, "w") as fh:
    json.dump({"seconds": seconds, "maxrss": usage.ru_maxrss, "status": status}, fh)
"""


def run_command(argv: list[str], *, cwd: Optional[Path] = None) -> Sample:
    """Time a command (wall clock, its interpreter start-up included) and take its peak RSS."""
    with tempfile.TemporaryDirectory(prefix="mlsentry-bench-") as tmp:
        result = Path(tmp) / "result.json"
        proc = subprocess.run(
            [sys.executable, "-S", "-c", _LAUNCHER, str(result), *argv],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=False,
        )
        data = json.loads(result.read_text()) if result.exists() else None
    code = None if data is None else os.waitstatus_to_exitcode(data["status"])
    if proc.returncode != 0 or code != 0 or data is None:
        raise RuntimeError(
            f"command failed (exit status {code}): {' '.join(argv)}\n"
            f"{proc.stdout[-2000:]}\n{proc.stderr[-4000:]}"
        )
    peak = data["maxrss"] if sys.platform == "darwin" else data["maxrss"] * 1024
    return Sample(
        seconds=[data["seconds"]], peak_rss=peak, extra={"stdout": proc.stdout.strip()[-200:]}
    )


# --------------------------------------------------------------------------- driver


@dataclass
class Candidate:
    name: str
    run: Callable[[], Sample]


def interleave(
    candidates: list[Candidate],
    rounds: int,
    *,
    tolerate_missing: bool,
    log: Callable[[str], None],
) -> dict[str, Measurement]:
    """Run every candidate once per round, rotating the order from round to round."""
    results = {c.name: Measurement(c.name) for c in candidates}
    for r in range(rounds):
        shift = r % len(candidates) if candidates else 0
        for cand in candidates[shift:] + candidates[:shift]:
            meas = results[cand.name]
            if meas.missing is not None:
                continue
            try:
                sample = cand.run()
            except Unavailable as exc:
                if not tolerate_missing:
                    raise
                meas.missing = str(exc)
                log(f"  round {r + 1}/{rounds}  {cand.name}: MISSING ({exc})")
                continue
            meas.samples.append(sample)
            times = ", ".join(f"{s:.3f}" for s in sample.seconds)
            log(f"  round {r + 1}/{rounds}  {cand.name}: {times} s")
    return results


# --------------------------------------------------------------------------- reporting data


def timing_note(rounds: int) -> str:
    """How the times were taken, for the notes of every section."""
    return (
        f"Times: median (and best) of all timed calls over {rounds} round(s). Each round runs "
        "every candidate once, in its own fresh process, in an order rotated from round to "
        "round; an in-process candidate makes one untimed warm-up call, then timed calls (at "
        "least one, more while their total is under 0.5 s, at most 10)."
    )


@dataclass
class Goal:
    """One goal of the issue, checked against the numbers of this run (never weakened)."""

    text: str
    measured: Optional[float]
    target: float
    unit: str  # "x" (times faster), "%" (of a limit), or what an at-most ratio is of
    at_most: bool = False  # a limit: met when measured <= target (e.g. memory per input)

    @property
    def met(self) -> Optional[bool]:
        if self.measured is None:
            return None
        return self.measured <= self.target if self.at_most else self.measured >= self.target


@dataclass
class Section:
    """One benchmark's part of BENCHMARKS.md: a table, its goals, and notes."""

    title: str
    intro: str
    header: list[str]
    rows: list[list[str]]
    goals: list[Goal]
    notes: list[str]


# --------------------------------------------------------------------------- formatting

MiB = 1 << 20


def fmt_s(x: Optional[float]) -> str:
    return "—" if x is None else f"{x:.3f}"


def fmt_mib(x: Optional[int]) -> str:
    return "—" if x is None else f"{x / MiB:,.0f}"


def fmt_x(x: Optional[float]) -> str:
    return "—" if x is None else f"{x:.2f}x"


def fmt_pct(x: Optional[float]) -> str:
    return "—" if x is None else f"{x:.0f}%"


def ratio(peer: Optional[float], ours: Optional[float]) -> Optional[float]:
    """How many times faster ``ours`` is than ``peer`` (None when either is missing)."""
    return peer / ours if peer and ours else None
