"""Scan: mlsentry's model-file scanner against picklescan, modelscan and fickling.

Detection. Every sample of ``tests/scan/scan_corpus.py`` (malicious files, each one that must be
flagged, and benign ones that must pass; a sample is a file or a folder) goes through each
tool, each call its own process, the way the tool's users run it:

- picklescan 1.0.5: ``picklescan --path PATH``. Exit 0: safe; 1: dangerous globals found
  (unsafe); 2: a scan error (it exits 2 also on an infected file it could not finish): no
  verdict.
- modelscan 0.8.8: ``modelscan -p PATH -r json -o REPORT`` (no settings file: defaults).
  Exit 0: safe; 1: issues found (unsafe); 2: scan errors; 3: "no supported files" (it
  skipped everything); 4: usage error. 2-4 are no verdict.
- fickling 0.1.12, as a scanner of model files: the logic of its own repository scanner
  (``fickling --huggingface``) applied to each local file (a folder: each file in it): zips
  go to ``fickling.scan_zip_archive``, pickles (fickling's ``check_pickle``) and files with
  a raw pickle extension to ``fickling.scan_file`` (both ``graceful=True``), other files are
  skipped as it skips them; any result with ``is_safe`` false makes the verdict unsafe. Run
  as ``python benches/bench_scan.py fickling PATH`` in the scanners' venv; exit 0 safe, 1
  unsafe. (Its own classifier, ``fickling.polyglot.find_file_properties``, imports torch,
  which fickling's base install lacks; the driver re-states the two tests it needs.)
- fickling CLI: ``fickling --check-safety FILE`` (its README's command line for CI). Exit 0
  safe, 1 unsafe, 2 parse error (no verdict). It takes one file and reads it as stacked raw
  pickles; a folder sample runs it on each file (the worst outcome counts).
- mlsentry: ``mlsentry scan PATH --json``. Exit 0: safe; 1: unsafe or unknown; 2: usage or
  input error (no verdict).

Per tool: caught (a malicious sample called unsafe), missed (called safe), false alarm (a
benign sample called unsafe), crashed (an error exit, a crash or a time-out: no verdict) and
skipped (modelscan's "no supported files": no verdict either).

Time. A PyTorch-format zip of ANCHORS's layout (``archive/data.pkl`` plus eight 64 MiB
tensor members, 513 MB) and a folder of 2,000 small benign files (pickles of a dict with a
numpy array, ``.npy`` arrays, JSON), each scanned by each tool's command (its interpreter's
start-up included), interleaved rounds; the ratios are the peer's median over ours.

picklescan, modelscan and fickling live in ``.venv-scanners`` (``make bench-peers``).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from _timing import (
    _LAUNCHER,
    BENCH_DIR,
    OUT_DIR,
    Candidate,
    Goal,
    Measurement,
    MiB,
    Sample,
    Section,
    Unavailable,
    fmt_mib,
    fmt_s,
    fmt_x,
    interleave,
    ratio,
    require,
    timing_note,
)

REPO = BENCH_DIR.parent
SCANNERS = REPO / ".venv-scanners" / "bin"
OURS_BIN = Path(sys.executable).parent / "mlsentry"
WORK = OUT_DIR / "scan"
TIMEOUT = 300.0  # seconds per detection call
SEED = 20261122

VERSIONS = {"picklescan": "1.0.5", "modelscan": "0.8.8", "fickling": "0.1.12"}


@dataclass(frozen=True)
class Sizes:
    tensor_mib: int  # size of each of the eight tensor members of the zip
    n_files: int  # files of the folder
    per_category: Optional[int]  # detection on at most this many samples per category


FULL = Sizes(tensor_mib=64, n_files=2000, per_category=None)
QUICK = Sizes(tensor_mib=8, n_files=300, per_category=None)
SMOKE = Sizes(tensor_mib=1, n_files=30, per_category=2)
N_TENSORS = 8


# --------------------------------------------------------------------------- the tools


@dataclass(frozen=True)
class Tool:
    name: str  # column name
    how: str  # the command, for the report
    verdicts: dict  # exit status -> "safe" / "unsafe"
    no_verdict: dict  # exit status -> why it is not a verdict
    skipped_codes: tuple = ()  # exit statuses meaning "scanned nothing"


PICKLESCAN = Tool(
    "picklescan",
    "`picklescan --path PATH`",
    {0: "safe", 1: "unsafe"},
    {2: "scan error"},
)
MODELSCAN = Tool(
    "modelscan",
    "`modelscan -p PATH -r json -o REPORT`",
    {0: "safe", 1: "unsafe"},
    {2: "scan errors", 3: "no supported files", 4: "usage error"},
    skipped_codes=(3,),
)
FICKLING = Tool(
    "fickling",
    "fickling's repository-scan logic on each file (`scan_zip_archive` / `scan_file`)",
    {0: "safe", 1: "unsafe"},
    {},
)
FICKLING_CLI = Tool(
    "fickling CLI",
    "`fickling --check-safety FILE`",
    {0: "safe", 1: "unsafe"},
    {2: "parse error"},
)
OURS = Tool(
    "mlsentry",
    "`mlsentry scan PATH --json`",
    {0: "safe", 1: "unsafe"},
    {2: "usage or input error"},
)
# Timed only: the same scan without recording each file's SHA-256 (the report then holds
# no digests of its inputs); its verdicts are those of OURS.
OURS_NO_DIGESTS = Tool(
    "mlsentry --no-digests",
    "`mlsentry scan PATH --no-digests` (timed only)",
    {0: "safe", 1: "unsafe"},
    {2: "usage or input error"},
)
PEERS = (PICKLESCAN, MODELSCAN, FICKLING, FICKLING_CLI)


def _scanner(name: str) -> str:
    return str(SCANNERS / name)


def detection_argv(tool: Tool, path: Path, tmp: Path) -> list[str]:
    if tool is PICKLESCAN:
        return [_scanner("picklescan"), "--path", str(path)]
    if tool is MODELSCAN:
        return [_scanner("modelscan"), "-p", str(path), "-r", "json", "-o", str(tmp / "r.json")]
    if tool is FICKLING:
        return [_scanner("python"), str(Path(__file__).resolve()), "fickling", str(path)]
    if tool is FICKLING_CLI:
        return [_scanner("fickling"), "--check-safety", str(path)]
    return [str(OURS_BIN), "scan", str(path), "--json"]


def timing_argv(tool: Tool, path: Path) -> list[str]:
    if tool is PICKLESCAN:
        return [_scanner("picklescan"), "--path", str(path)]
    if tool is MODELSCAN:
        return [_scanner("modelscan"), "-p", str(path)]
    if tool is FICKLING:
        return [_scanner("python"), str(Path(__file__).resolve()), "fickling", str(path)]
    if tool is OURS_NO_DIGESTS:
        return [str(OURS_BIN), "scan", str(path), "--no-digests"]
    return [str(OURS_BIN), "scan", str(path)]


# --------------------------------------------------------------------------- fickling driver


def _fickling_is_pickle(f: Path) -> bool:
    """``fickling.polyglot.check_pickle(file, min_length=2)``: fickling's own pickle test.
    (Re-stated because ``fickling.polyglot`` imports torch, which its base install lacks.)"""
    from fickling.fickle import Pickled, StackedPickle

    with open(f, "rb") as fh:
        try:
            return len(Pickled.load(fh)) > 2
        except Exception:
            fh.seek(0)
            try:
                return any(len(p) > 2 for p in StackedPickle.load(fh).pickled)
            except Exception:
                return False


def fickling_main(path: str) -> int:
    """fickling's own repository scan (``fickling.cli._scan_huggingface``) on local files.

    Per file: a zip (torch's test: ``PK\\x03\\x04`` at offset 0; or ``zipfile.is_zipfile``; or
    a ``.pt``/``.pth`` name) goes to ``fickling.scan_zip_archive``; a pickle (fickling's
    ``check_pickle``) or a ``.bin``/``.pkl``/``.pickle`` name to ``fickling.scan_file``, both
    ``graceful=True``; anything else is skipped, as there. Runs in the scanners' venv; prints
    one JSON line per file; exit 0 when every scanned file is safe, 1 otherwise."""
    import zipfile

    import fickling
    from fickling.cli import HF_RAW_PICKLE_EXTENSIONS, HF_ZIP_PICKLE_EXTENSIONS

    root = Path(path)
    files = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
    safe = True
    for f in files:
        ext = f.suffix.lower()
        with open(f, "rb") as fh:
            torch_zip = fh.read(4) == b"PK\x03\x04"
        if torch_zip or zipfile.is_zipfile(f) or ext in HF_ZIP_PICKLE_EXTENSIONS:
            results = list(fickling.scan_zip_archive(str(f), graceful=True).values())
        elif ext in HF_RAW_PICKLE_EXTENSIONS or _fickling_is_pickle(f):
            results = [fickling.scan_file(str(f), graceful=True)]
        else:
            print(json.dumps({"file": f.name, "skipped": True}))
            continue
        unsafe = [r for r in results if not r.is_safe]
        safe = safe and not unsafe
        print(
            json.dumps(
                {
                    "file": f.name,
                    "members": len(results),
                    "severity": max((r.severity.name for r in unsafe), default="LIKELY_SAFE"),
                    "errors": sum(len(r.errors) for r in results),
                }
            )
        )
    return 0 if safe else 1


# --------------------------------------------------------------------------- detection


@dataclass
class Outcome:
    """One tool on one sample."""

    tool: str
    sample: str  # path relative to the corpus
    expected: str
    code: Optional[int]  # exit status (None: time-out)
    verdict: Optional[str]  # "safe", "unsafe" or None (no verdict)
    kind: str  # caught, missed, ok, false alarm, crashed, skipped
    detail: str = ""
    seconds: float = 0.0


def _detail(tool: Tool, out: str, err: str, tmp: Path) -> str:
    """A few words on what the tool said (for the per-sample table and the JSON dump)."""
    try:
        if tool is PICKLESCAN:
            found = sorted(set(re.findall(r"import '([^']*)' FOUND", out)))
            errors = [ln for ln in out.splitlines() if "ERROR" in ln or "Unhandled" in ln]
            return "; ".join([*found[:2], *(["error while parsing"] if errors else [])])
        if tool is MODELSCAN:
            report = tmp / "r.json"
            if not report.exists():
                return (out.strip().splitlines() or [""])[-1][:80]
            data = json.loads(report.read_text())
            issues = data.get("issues") or []
            errors = data.get("errors") or []
            ops = sorted({f"{i.get('module')}.{i.get('operator')}" for i in issues})
            parts = ops[:2]
            if errors:
                parts.append(f"{len(errors)} error(s): {errors[0].get('description', '')[:60]}")
            skipped = (data.get("summary") or {}).get("skipped", {}).get("total_skipped", 0)
            if skipped:
                parts.append(f"{skipped} skipped")
            return "; ".join(parts)
        if tool is FICKLING:
            rows = [json.loads(ln) for ln in out.splitlines() if ln.startswith("{")]
            bad = [r["severity"] for r in rows if r.get("severity") not in (None, "LIKELY_SAFE")]
            skipped = sum(1 for r in rows if r.get("skipped"))
            return "; ".join([*sorted(set(bad))[:2], *([f"{skipped} skipped"] if skipped else [])])
        if tool is FICKLING_CLI:
            return (err.strip().splitlines() or [""])[0][:80]
        data = json.loads(out)
        findings = data.get("findings", []) if isinstance(data, dict) else []
        worst = [f for f in findings if f.get("severity") != "info"]
        names = sorted({str(f.get("global_name") or f.get("rule")) for f in worst})
        return "; ".join(names[:2])
    except (ValueError, OSError, AttributeError, TypeError):
        return ""


def _classify(tool: Tool, code: Optional[int], expected: str) -> tuple[Optional[str], str]:
    verdict = tool.verdicts.get(code) if code is not None else None
    if verdict is None:
        return None, "skipped" if code in tool.skipped_codes else "crashed"
    if expected == "unsafe":
        return verdict, "caught" if verdict == "unsafe" else "missed"
    return verdict, "false alarm" if verdict == "unsafe" else "ok"


def _run_one(tool: Tool, path: Path) -> tuple[Optional[int], str, str, Path, float]:
    import time

    tmp = Path(tempfile.mkdtemp(prefix="mlsentry-scan-"))
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(
            detection_argv(tool, path, tmp),
            cwd=tmp,  # fickling writes safety_results.json, modelscan reads a settings file
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        code, out, err = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired:
        code, out, err = None, "", f"time-out after {TIMEOUT:.0f} s"
    return code, out, err, tmp, time.perf_counter() - t0


def detect(tool: Tool, sample, corpus: Path) -> Outcome:
    """Run ``tool`` on one sample (each file of a folder for the fickling CLI)."""
    paths = [sample.path]
    if tool is FICKLING_CLI and sample.path.is_dir():
        paths = sorted(p for p in sample.path.rglob("*") if p.is_file())
    codes, details, seconds = [], [], 0.0
    crash: Optional[tuple[Optional[int], str]] = None
    for path in paths:
        code, out, err, tmp, secs = _run_one(tool, path)
        try:
            if code != 0 and "Traceback (most recent call last)" in err:
                last = err.strip().splitlines()[-1]
                crash = crash or (code, last.split(":")[0][:60])
                code = None if code == 1 else code
            codes.append(code)
            details.append(_detail(tool, out, err, tmp) if code is not None else err)
            seconds += secs
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    # The worst outcome of the files: unsafe, then no verdict, then safe.
    code = next((c for c in codes if c == 1), None)
    if code is None:
        code = next((c for c in codes if c != 0), 0)
    verdict, kind = _classify(tool, code, sample.expected)
    if crash is not None:  # a Python traceback exits 1 too: that is no verdict
        verdict, kind = None, "crashed"
        details.insert(0, f"exit {crash[0]}: uncaught {crash[1]}")
    elif code is not None and kind in ("crashed", "skipped"):
        why = tool.no_verdict.get(code, "crash")
        details.insert(0, f"exit {code}: {why}")
    detail = "; ".join(d for d in details if d)[:120]
    rel = str(sample.path.relative_to(corpus))
    return Outcome(tool.name, rel, sample.expected, code, verdict, kind, detail, seconds)


def _select(samples: list, per_category: Optional[int]) -> list:
    if per_category is None:
        return samples
    seen: Counter = Counter()
    out = []
    for s in samples:
        if seen[(s.expected, s.category)] < per_category:
            seen[(s.expected, s.category)] += 1
            out.append(s)
    return out


def run_detection(tools: list[Tool], samples: list, corpus: Path, log) -> list[Outcome]:
    jobs = [(t, s) for s in samples for t in tools]
    with ThreadPoolExecutor(max_workers=max(1, min(2, os.cpu_count() or 1))) as pool:
        outcomes = list(pool.map(lambda job: detect(job[0], job[1], corpus), jobs))
    for tool in tools:
        mine = [o for o in outcomes if o.tool == tool.name]
        counts = Counter(o.kind for o in mine)
        log(f"  {tool.name}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    return outcomes


# --------------------------------------------------------------------------- timing inputs


def write_big_zip(tensor_mib: int) -> Path:
    """``archive/data.pkl`` plus eight tensor members of ``tensor_mib`` MiB (float32)."""
    import numpy as np
    from scan_corpus import TensorSpec, write_pytorch_zip

    n = tensor_mib * MiB // 4
    path = WORK / f"model-{N_TENSORS}x{tensor_mib}MiB.pt"
    tensors = [TensorSpec(f"layers.{i}.weight", "float32", (n,), str(i)) for i in range(N_TENSORS)]
    values = np.arange(n, dtype="<f4").tobytes()  # any values: members are stored as they are
    tmp = path.with_suffix(".tmp")
    write_pytorch_zip(tmp, tensors, {t.key: values for t in tensors})
    os.replace(tmp, path)
    return path


def write_small_folder(n_files: int) -> Path:
    """``n_files`` small benign files: a pickle of a dict with a numpy array, an ``.npy``
    array and a JSON file in turn (``f0000.pkl``, ``f0001.npy``, ``f0002.json``, ...)."""
    import pickle

    import numpy as np

    folder = WORK / f"folder-{n_files}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(SEED)
    for i in range(n_files):
        arr = rng.standard_normal(64).astype(np.float32)
        if i % 3 == 0:
            obj = {"id": i, "name": f"shard-{i}", "weights": arr, "scale": 0.5}
            (folder / f"f{i:04d}.pkl").write_bytes(pickle.dumps(obj, protocol=4))
        elif i % 3 == 1:
            np.save(folder / f"f{i:04d}.npy", arr)
        else:
            doc = {"id": i, "values": [round(float(v), 6) for v in arr[:16]]}
            (folder / f"f{i:04d}.json").write_text(json.dumps(doc))
    return folder


def time_command(argv: list[str]) -> Sample:
    """Wall time and peak RSS of one command (as ``_timing.run_command``), keeping its exit
    status instead of failing on a non-zero one: a scanner's verdict is its exit status."""
    with tempfile.TemporaryDirectory(prefix="mlsentry-bench-") as tmp:
        result = Path(tmp) / "result.json"
        proc = subprocess.run(
            [sys.executable, "-S", "-c", _LAUNCHER, str(result), *argv],
            cwd=tmp,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0 or not result.exists():
            raise RuntimeError(f"launcher failed: {' '.join(argv)}\n{proc.stderr[-2000:]}")
        data = json.loads(result.read_text())
    code = os.waitstatus_to_exitcode(data["status"])
    peak = data["maxrss"] if sys.platform == "darwin" else data["maxrss"] * 1024
    return Sample(seconds=[data["seconds"]], peak_rss=peak, extra={"exit": code})


# --------------------------------------------------------------------------- the benchmark


def _timer(tool: Tool, path: Path) -> Callable[[], Sample]:
    return lambda: time_command(timing_argv(tool, path))


def _peers_ready() -> Optional[str]:
    missing = [
        n for n in ("picklescan", "modelscan", "fickling", "python") if not (SCANNERS / n).exists()
    ]
    if missing:
        return f"{SCANNERS} lacks {', '.join(missing)} (run `make bench-peers`)"
    return None


def peer_versions() -> dict[str, str]:
    """Versions installed in the scanners' venv (checked against ``VERSIONS``)."""
    code = (
        "import importlib.metadata as m, json; print(json.dumps({d: m.version(d) for d in "
        "('picklescan', 'modelscan', 'fickling', 'numpy')}))"
    )
    try:
        out = subprocess.run(
            [_scanner("python"), "-c", code], capture_output=True, text=True, check=True
        )
        return json.loads(out.stdout)
    except (OSError, subprocess.CalledProcessError, ValueError):
        return {}


def _ours_available(tolerate_missing: bool, log) -> Optional[str]:
    """None when ours can run, else why not (raises Unavailable unless tolerated)."""
    try:
        scan = require("mlsentry.scan", "scan")
        if not OURS_BIN.exists():
            raise Unavailable(f"{OURS_BIN} does not exist")
        with tempfile.TemporaryDirectory() as tmp:
            probe = Path(tmp) / "probe.pkl"
            probe.write_bytes(b"\x80\x04K\x01.")  # the pickle of 1
            try:
                scan(probe)
            except NotImplementedError as exc:
                raise Unavailable(f"mlsentry.scan.scan raised NotImplementedError({exc})") from exc
            except AttributeError as exc:
                obj = getattr(exc, "obj", None)
                if not getattr(obj, "__name__", "").startswith("mlsentry"):
                    raise
                raise Unavailable(f"{exc} (stale extension? run `make build`)") from exc
    except Unavailable as exc:
        if not tolerate_missing:
            raise
        log(f"scan: ours MISSING ({exc})")
        return str(exc)
    return None


def run(sizes: Sizes, rounds: int, *, tolerate_missing: bool, log: Callable[[str], None]):
    sys.path.insert(0, str(REPO / "tests" / "scan"))
    import scan_corpus

    missing_peers = _peers_ready()
    if missing_peers and not tolerate_missing:
        raise RuntimeError(missing_peers)
    ours_missing = _ours_available(tolerate_missing, log)

    versions = {} if missing_peers else peer_versions()
    wrong = {k: versions.get(k) for k, v in VERSIONS.items() if versions.get(k) != v}
    if wrong and not missing_peers:
        message = f"{SCANNERS.parent} has {wrong}, expected {VERSIONS} (make bench-peers)"
        if not tolerate_missing:
            raise RuntimeError(message)
        log("scan: WARNING " + message)
    tools = [] if missing_peers else list(PEERS)
    if ours_missing is None:
        tools.insert(0, OURS)

    corpus = WORK / "corpus"
    shutil.rmtree(corpus, ignore_errors=True)
    samples = scan_corpus.write_corpus(corpus)
    gaps = scan_corpus.missing_generators()
    if gaps and not tolerate_missing:
        raise RuntimeError(f"the benign corpus needs {', '.join(gaps)} in .venv (make bench-peers)")
    chosen = _select(samples, sizes.per_category)
    log(f"scan: detection, {len(chosen)} samples x {len(tools)} tools")
    outcomes = run_detection(tools, chosen, corpus, log)
    (WORK / "detection.json").write_text(
        json.dumps([o.__dict__ for o in outcomes], indent=1, default=str)
    )

    log(f"scan: writing a zip of {N_TENSORS} x {sizes.tensor_mib} MiB and {sizes.n_files} files")
    big = write_big_zip(sizes.tensor_mib)
    folder = write_small_folder(sizes.n_files)
    timed = [t for t in tools if t is not FICKLING_CLI]
    if OURS in timed:
        timed.insert(1, OURS_NO_DIGESTS)
    res: dict[str, dict[str, Measurement]] = {}
    for label, path in (("zip", big), ("folder", folder)):
        log(f"scan: time, {label} ({path.name}), {rounds} round(s)")
        res[label] = interleave(
            [Candidate(t.name, _timer(t, path)) for t in timed],
            rounds,
            tolerate_missing=tolerate_missing,
            log=log,
        )  # fmt: skip
    return _section(
        outcomes, chosen, tools, res, big, folder, sizes, rounds, ours_missing, missing_peers,
        versions,
    )  # fmt: skip


# --------------------------------------------------------------------------- report

KINDS = ("caught", "missed", "false alarm", "crashed", "skipped")


def _counts(outcomes: list[Outcome], tool: str) -> Counter:
    return Counter(o.kind for o in outcomes if o.tool == tool)


def _exit_cell(m: Optional[Measurement]) -> str:
    if m is None or m.missing or not m.samples:
        return "—"
    codes = sorted({s.extra.get("exit") for s in m.samples}, key=str)
    return ", ".join(str(c) for c in codes)


def _cell(o: Optional[Outcome]) -> str:
    if o is None:
        return "—"
    mark = {"missed": "**missed**", "false alarm": "**false alarm**"}.get(o.kind, o.kind)
    if o.kind in ("crashed", "skipped") and o.detail:
        words = "; ".join(o.detail.split("; ")[:2])
        mark += f" ({words[:90]})"
    return mark


def _section(
    outcomes, samples, tools, res, big, folder, sizes, rounds, ours_missing, peers_gap, versions
):
    n_bad = sum(1 for s in samples if s.expected == "unsafe")
    n_good = len(samples) - n_bad
    all_tools = [OURS, *PEERS]
    rows = []
    for tool in [OURS, OURS_NO_DIGESTS, *PEERS]:
        present = tool in tools or (tool is OURS_NO_DIGESTS and OURS in tools)
        c = _counts(outcomes, tool.name)
        zip_m = res["zip"].get(tool.name)
        dir_m = res["folder"].get(tool.name)
        ours_zip, ours_dir = res["zip"].get(OURS.name), res["folder"].get(OURS.name)

        def vs(m, ours, tool=tool):
            if tool is OURS or m is None or ours is None:
                return ""
            return fmt_x(ratio(m.median, ours.median))

        if not present:
            why = ours_missing if tool in (OURS, OURS_NO_DIGESTS) else peers_gap
            rows.append([f"{tool.name}: {tool.how}", f"missing: {why}", *[""] * 10])
            continue
        detection = (
            ["as above", "", "", "", ""]
            if tool is OURS_NO_DIGESTS
            else [str(c.get(k, 0)) for k in KINDS]
        )
        rows.append(
            [
                f"{tool.name}: {tool.how}",
                *detection,
                fmt_s(zip_m.median) if zip_m else "not timed",
                vs(zip_m, ours_zip),
                _exit_cell(zip_m),
                fmt_s(dir_m.median) if dir_m else "not timed",
                vs(dir_m, ours_dir),
                _exit_cell(dir_m),
            ]
        )
    header = [
        "tool (as run)",
        f"caught (of {n_bad})",
        "missed",
        f"false alarms (of {n_good})",
        "crashed",
        "skipped",
        f"{_mb(big)} zip: median s",
        "vs ours",
        "exit",
        f"{sizes.n_files:,} files: median s",
        "vs ours",
        "exit",
    ]

    ours_c = _counts(outcomes, OURS.name) if ours_missing is None else None
    goals = [
        Goal("ours: missed 0 (every malicious sample flagged)", _get(ours_c, "missed"), 0,
             "malicious samples let through", at_most=True),
        Goal("ours: false alarms 0 (every benign sample passes)", _get(ours_c, "false alarm"),
             0, "benign samples flagged", at_most=True),
        Goal("ours: crashed 0 (a verdict on every sample)",
             None if ours_c is None else float(ours_c.get("crashed", 0) + ours_c.get("skipped", 0)),
             0, "samples without a verdict", at_most=True),
    ]  # fmt: skip

    cats = Counter((s.expected, s.category) for s in samples)
    notes = [
        "Corpus (`tests/scan/scan_corpus.py`, written by code; malicious pickles assembled "
        "opcode by opcode, every payload harmless if loaded): "
        + ", ".join(f"{n} {e} {c}" for (e, c), n in sorted(cats.items(), reverse=True))
        + ". A sample is a file or a folder (the folder tricks).",
        "How each verdict is read: "
        + " ".join(f"{t.name}: {t.how}; " + _codes(t) for t in all_tools)
        + " The fickling CLI runs on each file of a folder sample; the worst exit counts.",
        "The peers' environment (`.venv-scanners`, `make bench-peers`): "
        + (", ".join(f"{k} {v}" for k, v in versions.items()) or "not installed")
        + ". numpy is held below 2.3: modelscan 0.8.8 calls `numpy.lib.format._check_version`,"
        " gone since numpy 2.3, and with the numpy pip picks today it fails on every `.npy`. "
        "fickling 0.1.12 needs `typing-extensions` on Python < 3.12 and does not declare it. "
        "modelscan runs without its `tensorflow`/`h5py` extras, as `pip install modelscan` "
        "installs it: its Keras scanners then report a missing dependency and the file is not "
        "scanned (with the extra, TensorFlow is imported on every run). fickling runs without "
        "its `torch` extra (needed only by `fickling.polyglot`). picklescan runs in its "
        "default mode (not `--strict`).",
        "Counting: caught = a malicious sample called unsafe; missed = called safe; false "
        "alarm = a benign sample called unsafe; crashed = an error exit, a crash or a "
        f"time-out ({TIMEOUT:.0f} s), no verdict; skipped = modelscan's exit 3 'no supported "
        "files' (it scanned nothing), no verdict either.",
        f"Time inputs: `{big.name}`, a PyTorch-format zip as `torch.save` lays it out "
        f"(`archive/data.pkl` plus {N_TENSORS} stored float32 members of {sizes.tensor_mib} "
        f"MiB, {_mb(big)}), and `{folder.name}/`: {sizes.n_files:,} files, a pickle of a "
        "dict with a 64-float array, an `.npy` of 64 float32 and a JSON file in turn. Page "
        "cache warm (just written). Each timed call is the tool's command above (for timing "
        "modelscan prints its console report, `modelscan -p PATH`; ours `mlsentry scan PATH`, "
        "which also records each file's SHA-256 in the report, and `--no-digests`, which does "
        "not), "
        "interpreter start-up included; 'exit' is its exit status on that input. "
        "The fickling CLI is not timed: it takes one file per process.",
        timing_note(rounds) + " Commands have no warm-up call; every call is a fresh process.",
        "Best time (s) and peak RSS (MiB) of each timed command, zip / folder: "
        + "; ".join(
            f"{t.name} {fmt_s(_m(res['zip'], t, 'best'))} / {fmt_s(_m(res['folder'], t, 'best'))}"
            f" s, {fmt_mib(_m(res['zip'], t, 'peak_rss'))} / "
            f"{fmt_mib(_m(res['folder'], t, 'peak_rss'))} MiB"
            for t in (OURS, OURS_NO_DIGESTS, *PEERS)
            if t.name in res["zip"]
        )
        + ".",
        "Caught per category of the malicious corpus: "
        + "; ".join(_by_category(outcomes, samples, t) for t in all_tools if t in tools)
        + ".",
        "ANCHORS.md quotes picklescan 0.27 s, modelscan 1.50 s and fickling 0.37 s for a zip of "
        "this layout measured on another day; the table's times are this run's, side by side.",
        "Per-sample outcomes (raw exit statuses and details in `benches/out/scan/"
        "detection.json`):\n\n" + _per_sample_table(outcomes, samples, all_tools, tools),
    ]
    intro = (
        "Will loading this file run someone's code? Each tool scans every sample of the "
        "malicious and benign corpora (detection), then a large PyTorch zip and a folder of "
        "small files (time). Versions: "
        + ", ".join(f"{k} {v}" for k, v in VERSIONS.items())
        + " (`.venv-scanners`)."
    )
    title = f"Scan: {n_bad} malicious and {n_good} benign samples; {_mb(big)} zip, " + (
        f"{sizes.n_files:,} files"
    )
    return Section(title, intro, header, rows, goals, notes)


def _get(c: Optional[Counter], key: str) -> Optional[float]:
    return None if c is None else float(c.get(key, 0))


def _m(res: dict[str, Measurement], tool: Tool, attr: str):
    m = res.get(tool.name)
    return None if m is None else getattr(m, attr)


def _mb(path: Path) -> str:
    return f"{path.stat().st_size / MiB:,.0f} MiB"


def _codes(tool: Tool) -> str:
    parts = [f"{c} = {v}" for c, v in tool.verdicts.items()]
    parts += [f"{c} = {v} (no verdict)" for c, v in tool.no_verdict.items()]
    return "exit " + ", ".join(parts) + ", anything else = crash."


def _by_category(outcomes: list[Outcome], samples: list, tool: Tool) -> str:
    corpus = WORK / "corpus"
    kinds = {o.sample: o.kind for o in outcomes if o.tool == tool.name}
    parts = []
    for cat in sorted({s.category for s in samples if s.expected == "unsafe"}):
        mine = [s for s in samples if s.expected == "unsafe" and s.category == cat]
        hit = sum(kinds.get(str(s.path.relative_to(corpus))) == "caught" for s in mine)
        parts.append(f"{cat} {hit}/{len(mine)}")
    return f"{tool.name} " + ", ".join(parts)


def _per_sample_table(outcomes, samples, all_tools, tools) -> str:
    by = {(o.tool, o.sample): o for o in outcomes}
    corpus = WORK / "corpus"
    cols = [t for t in all_tools if t in tools]
    lines = [
        "| sample | expected | trick / content | " + " | ".join(t.name for t in cols) + " |",
        "|---|---|---|" + "---|" * len(cols),
    ]
    for s in samples:
        rel = str(s.path.relative_to(corpus))
        cells = [_cell(by.get((t.name, rel))) for t in cols]
        row = [f"`{rel}`", s.expected, s.trick, *cells]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "fickling":
        sys.exit(fickling_main(sys.argv[2]))
    print("usage: bench_scan.py fickling PATH   (the fickling scan, run in .venv-scanners)")
    sys.exit(2)
