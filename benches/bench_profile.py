"""Profiles: `drift.compare(profile, current)` vs Evidently, `Profile.fit` vs whylogs, and the
Spark profile vs whylogs' `collect_dataset_profile_view`.

Frames: the drift frames of `bench_drift` (ANCHORS.md: `x0..x19` normal, every fourth
shifted by 0.05 in current, `c0..c4` letters from "abcdef"), written once to Parquet by the
driver and read by every child before timing.

- `compare(profile, current)`: the reference's profile is made (and saved, loaded) before
  timing; the timed call profiles the current frame and compares. Evidently's
  `DataDriftPreset` on the two frames runs in `.venv-evidently` (its own pandas < 3).
- `Profile.fit(reference)` against `whylogs.log(reference).view()` (in `.venv-whylogs`) on
  the reference frame; the file sizes compared are our profile file and whylogs'
  `view.serialize()`.
- Spark (`local[2]`): `mlsentry.spark.profile(sdf)` against whylogs'
  `collect_dataset_profile_view(sdf)` on a DataFrame of `rows` x 20 normal columns made by
  `spark.range(rows)` and `randn(seed)` columns, cached and counted before timing. Peak
  executor memory: in local mode the executor is the driver's JVM; while the timed call
  runs, a thread samples every 0.1 s the resident size (`/proc`) of the JVM and of the
  JVM plus its Python workers (where `mapInArrow`/`mapInPandas` run), and keeps the peaks.

`MLSENTRY_BENCH_PROFILE_PARTS` (comma separated, from `compare`, `fit`, `spark`; default
all) runs only some parts, e.g. `MLSENTRY_BENCH_PROFILE_PARTS=spark`.

Peer venvs: `.venv-<name>` of the repository, else the one of /work/main.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
from dataclasses import dataclass
from typing import Callable, Optional

from _timing import (
    BENCH_DIR,
    Candidate,
    Case,
    Goal,
    Section,
    Unavailable,
    fmt_mib,
    fmt_s,
    fmt_x,
    interleave,
    ratio,
    require,
    run_isolated,
    timing_note,
)
from bench_drift import peer_python, read_frames, write_frames

REPO = BENCH_DIR.parent
GOAL_COMPARE = 300.0  # compare(profile, current) at least 300x Evidently at 100,000 rows
GOAL_FIT = 5.0  # Profile.fit at least 5x whylogs.log(df).view() at 1,000,000 x 25
GOAL_SPARK = 3.0  # mlsentry.spark.profile at least 3x collect_dataset_profile_view
SPARK_COLS = 20
SPARK_SEED = 20261207
PARTS = ("compare", "fit", "spark")


@dataclass(frozen=True)
class Sizes:
    compare_rows: int
    fit_rows: int
    spark_rows: int


FULL = Sizes(compare_rows=100_000, fit_rows=1_000_000, spark_rows=10_000_000)
QUICK = Sizes(compare_rows=100_000, fit_rows=1_000_000, spark_rows=1_000_000)
SMOKE = Sizes(compare_rows=2_000, fit_rows=5_000, spark_rows=20_000)


# --------------------------------------------------------------------------- child cases


def case_compare_profile(reference: str, current: str) -> Case:
    compare = require("mlsentry.drift", "compare")
    profile_cls = require("mlsentry.drift", "Profile")
    ref, cur, info = read_frames(reference, current)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "ref.profile")
        profile_cls.fit(ref).save(path)
        prof = profile_cls.load(path)
    del ref

    def extra(rep) -> dict:
        return dict(info, drifted=[c.name for c in rep.columns if c.drift])

    return Case(call=lambda: compare(prof, cur), extra=extra)


def case_fit_ours(reference: str, current: str) -> Case:
    profile_cls = require("mlsentry.drift", "Profile")
    ref, _, info = read_frames(reference, current)
    return Case(
        call=lambda: profile_cls.fit(ref),
        extra=lambda p: dict(info, file_bytes=len(p.to_bytes())),
    )


def case_fit_whylogs(reference: str, current: str) -> Case:
    import whylogs

    ref, _, info = read_frames(reference, current)
    return Case(
        call=lambda: whylogs.log(ref).view(),
        extra=lambda v: dict(info, file_bytes=len(v.serialize())),
    )


def _spark(rows: int):
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    os.environ["PYSPARK_PYTHON"] = sys.executable
    spark = (
        SparkSession.builder.master("local[2]")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )
    spark.sparkContext.setLogLevel("ERROR")
    sdf = spark.range(rows, numPartitions=2).select(
        *[F.randn(SPARK_SEED + i).alias(f"x{i}") for i in range(SPARK_COLS)]
    )
    sdf = sdf.cache()
    sdf.count()
    return sdf


def _descendants_rss() -> tuple[int, int]:
    """Resident bytes of this process's descendant JVMs, and of all its descendants."""
    page = os.sysconf("SC_PAGE_SIZE")
    parent, rss, java = {}, {}, set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
        except OSError:
            continue
        pid = int(entry)
        comm, rest = stat[stat.index("(") + 1 : stat.rindex(")")], stat[stat.rindex(")") + 2 :]
        fields = rest.split()
        parent[pid], rss[pid] = int(fields[1]), int(fields[21]) * page
        if comm == "java":
            java.add(pid)
    me, jvm, total = os.getpid(), 0, 0
    for pid in rss:
        p, seen = parent.get(pid), 0
        while p and p != me and seen < 64:
            p, seen = parent.get(p), seen + 1
        if p == me:
            total += rss[pid]
            jvm += rss[pid] if pid in java else 0
    return jvm, total


def _executor_memory(call: Callable[[], object]):
    """``call`` wrapped to sample the peak resident size of the JVM and its workers."""
    peaks = {"jvm_peak": 0, "executor_peak": 0}

    def sample(stop: threading.Event) -> None:
        while True:
            jvm, total = _descendants_rss()
            peaks["jvm_peak"] = max(peaks["jvm_peak"], jvm)
            peaks["executor_peak"] = max(peaks["executor_peak"], total)
            if stop.wait(0.1):
                return

    def wrapped():
        stop = threading.Event()
        thread = threading.Thread(target=sample, args=(stop,), daemon=True)
        thread.start()
        try:
            return call()
        finally:
            stop.set()
            thread.join()

    return wrapped, peaks


def case_spark_ours(rows: int) -> Case:
    import warnings

    warnings.filterwarnings("ignore")
    profile = require("mlsentry.spark", "profile")
    sdf = _spark(rows)
    call, peaks = _executor_memory(lambda: profile(sdf))
    return Case(call=call, extra=lambda p: dict(peaks, file_bytes=len(p.to_bytes())))


def case_spark_whylogs(rows: int) -> Case:
    import warnings

    warnings.filterwarnings("ignore")
    from whylogs.api.pyspark.experimental import collect_dataset_profile_view

    sdf = _spark(rows)
    call, peaks = _executor_memory(lambda: collect_dataset_profile_view(sdf))
    return Case(call=call, extra=lambda v: dict(peaks, file_bytes=len(v.serialize())))


# --------------------------------------------------------------------------- driver

COMPARE = "mlsentry: `drift.compare(profile, current)`"
EVIDENTLY = "Evidently: `Report([DataDriftPreset()]).run(current, reference)`"
FIT = "mlsentry: `drift.Profile.fit(reference)`"
WHYLOGS = "whylogs: `whylogs.log(reference).view()`"
SPARK = "mlsentry: `mlsentry.spark.profile(sdf)`"
SPARK_WHYLOGS = "whylogs: `collect_dataset_profile_view(sdf)`"


def _peer(
    name: str, module: str, func: str, kwargs: dict, tolerate_missing: bool
) -> Callable[[], object]:
    python = peer_python(name)

    def go():
        if not python.exists():
            raise Unavailable(f"{python} does not exist (make bench-peers)")
        return run_isolated(module, func, kwargs, warmup=0, python=python)

    return go


def _parts() -> tuple[str, ...]:
    wanted = os.environ.get("MLSENTRY_BENCH_PROFILE_PARTS", "").replace(" ", "")
    if not wanted:
        return PARTS
    unknown = sorted(set(wanted.split(",")) - set(PARTS))
    if unknown:
        raise SystemExit(f"MLSENTRY_BENCH_PROFILE_PARTS: unknown part(s) {unknown}; use {PARTS}")
    return tuple(p for p in PARTS if p in wanted.split(","))


def run(sizes: Sizes, rounds: int, *, tolerate_missing: bool, log: Callable[[str], None]):
    results = {}
    parts = _parts()
    if "compare" in parts:
        _run_compare(sizes, rounds, tolerate_missing, log, results)
    if "fit" in parts:
        _run_fit(sizes, rounds, tolerate_missing, log, results)
    if "spark" in parts:
        _run_spark(sizes, tolerate_missing, log, results)
    return _section(sizes, results, rounds)


def _run_compare(sizes: Sizes, rounds: int, tolerate_missing: bool, log, results: dict) -> None:
    ref, cur = write_frames(sizes.compare_rows)
    args = {"reference": str(ref), "current": str(cur)}
    log(f"profile: compare(profile, current) at {sizes.compare_rows:,} rows")
    results["compare"] = interleave(
        [
            Candidate(COMPARE, lambda: run_isolated("bench_profile", "case_compare_profile", args)),
            Candidate(
                EVIDENTLY,
                _peer("evidently", "bench_drift", "case_compare_evidently", args, True),
            ),
        ],
        min(rounds, 2),
        # Evidently's venv may be absent: its row then says so instead of failing the run.
        tolerate_missing=tolerate_missing or not peer_python("evidently").exists(),
        log=log,
    )


def _run_fit(sizes: Sizes, rounds: int, tolerate_missing: bool, log, results: dict) -> None:
    ref, cur = write_frames(sizes.fit_rows)
    args = {"reference": str(ref), "current": str(cur)}
    log(f"profile: Profile.fit vs whylogs at {sizes.fit_rows:,} rows")
    results["fit"] = interleave(
        [
            Candidate(FIT, lambda: run_isolated("bench_profile", "case_fit_ours", args)),
            Candidate(WHYLOGS, _peer("whylogs", "bench_profile", "case_fit_whylogs", args, True)),
        ],
        rounds,
        tolerate_missing=tolerate_missing,
        log=log,
    )


def _run_spark(sizes: Sizes, tolerate_missing: bool, log, results: dict) -> None:
    spark_args = {"rows": sizes.spark_rows}
    log(f"profile: Spark at {sizes.spark_rows:,} x {SPARK_COLS}")
    results["spark"] = interleave(
        [
            Candidate(
                SPARK,
                lambda: run_isolated(
                    "bench_profile", "case_spark_ours", spark_args, warmup=0, max_repeats=1
                ),
            ),
            Candidate(
                SPARK_WHYLOGS,
                lambda: run_isolated(
                    "bench_profile",
                    "case_spark_whylogs",
                    spark_args,
                    warmup=0,
                    max_repeats=1,
                    python=peer_python("whylogs"),
                ),
            ),
        ],
        1,
        tolerate_missing=tolerate_missing,
        log=log,
    )


def _bytes(m) -> Optional[int]:
    vals = m.extras("file_bytes")
    return vals[0] if vals else None


def _executor_mib(m) -> str:
    jvm, total = m.extras("jvm_peak"), m.extras("executor_peak")
    if not jvm or not total:
        return ""
    return f"{fmt_mib(jvm[0])} (+ workers: {fmt_mib(total[0])})"


def _section(sizes: Sizes, results: dict, rounds: int) -> Section:
    rows, goals = [], []
    for key, (ours, peer), size in (
        ("compare", (COMPARE, EVIDENTLY), f"{sizes.compare_rows:,} x 25"),
        ("fit", (FIT, WHYLOGS), f"{sizes.fit_rows:,} x 25"),
        ("spark", (SPARK, SPARK_WHYLOGS), f"{sizes.spark_rows:,} x {SPARK_COLS}"),
    ):
        if key not in results:
            continue
        res = results[key]
        o, p = res[ours], res[peer]
        for m in (o, p):
            rows.append(
                [
                    size,
                    m.name,
                    "missing: " + m.missing if m.missing else fmt_s(m.median),
                    fmt_x(ratio(p.median, m.median)) if m is o else "",
                    fmt_mib(m.peak_rss),
                    _executor_mib(m),
                    str(_bytes(m) or ""),
                ]
            )
    if "compare" in results:
        goals.append(
            Goal(
                f"`compare(profile, current)` vs Evidently, {sizes.compare_rows:,} rows",
                ratio(results["compare"][EVIDENTLY].median, results["compare"][COMPARE].median),
                GOAL_COMPARE,
                "x",
            )
        )
    if "fit" in results:
        goals.append(
            Goal(
                f"`Profile.fit` vs `whylogs.log(df).view()`, {sizes.fit_rows:,} x 25",
                ratio(results["fit"][WHYLOGS].median, results["fit"][FIT].median),
                GOAL_FIT,
                "x",
            )
        )
        ours_b, theirs_b = _bytes(results["fit"][FIT]), _bytes(results["fit"][WHYLOGS])
        goals.append(
            Goal(
                "profile file size vs whylogs' serialized view",
                ours_b / theirs_b if ours_b and theirs_b else None,
                1.0,
                "whylogs'",
                at_most=True,
            )
        )
    if "spark" in results:
        goals.append(
            Goal(
                f"`mlsentry.spark.profile` vs `collect_dataset_profile_view`, "
                f"{sizes.spark_rows:,} x {SPARK_COLS}",
                ratio(results["spark"][SPARK_WHYLOGS].median, results["spark"][SPARK].median),
                GOAL_SPARK,
                "x",
            )
        )
    return Section(
        title="Profiles",
        intro="Reference profiles: comparing a batch with a profile, making one, and on Spark.",
        header=[
            "size",
            "candidate",
            "median",
            "faster",
            "peak RSS",
            "Spark executor peak RSS (MiB)",
            "profile bytes",
        ],
        rows=rows,
        goals=goals,
        notes=[
            timing_note(rounds),
            "Spark: one timed call per side (a session per process, local[2], the data "
            "cached and counted before timing); the peak RSS is the driver Python process's. "
            "Spark executor peak RSS: in local mode the executor is the driver's JVM; its "
            "resident size (and, in brackets, that of the JVM plus its Python workers, where "
            "mapInArrow / mapInPandas run) sampled from /proc every 0.1 s during the call; "
            "the JVM's includes the cached DataFrame, the same on both sides.",
        ],
    )
