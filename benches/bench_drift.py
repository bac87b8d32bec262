"""Drift: mlsentry against Evidently (per-column report) and scipy (two univariate tests).

Per-column report. Two frames of N rows, ``reference`` and ``current``, independent draws of
one ``np.random.default_rng(SEED)``: columns ``x0..x19`` standard normal float64, the ones of
every fourth column (``x0, x4, x8, x12, x16``) shifted by +0.05 in ``current``, and ``c0..c4``
letters drawn uniformly from "abcdef" (string columns). The driver writes them once per run to
Parquet under ``benches/out/data`` (plain Arrow float64 and string columns, no pandas metadata);
every child reads them with ``pyarrow.parquet.read_table(path).to_pandas()`` before anything is
timed, so both sides get the same values, each as its own pandas makes of them:

- ``mlsentry.drift.compare(reference, current)`` in ``.venv`` (pandas 3: string columns of the
  ``str`` dtype);
- Evidently's ``Report([DataDriftPreset()]).run(current, reference)`` in ``.venv-evidently``
  (``make bench-peers``; evidently 0.7.23 needs pandas < 3: string columns of ``object`` dtype).
  ``run`` computes eagerly (its time grows with N, reading the snapshot afterwards costs
  nothing); the snapshot's values are read after the timed call as a check.

Univariate tests, in ``.venv``: ``a`` and ``b`` of ``n`` standard normals each (``b`` shifted by
+0.01), drawn in each child from ``np.random.default_rng(SEED + 1)``: ``mlsentry.drift.ks`` /
``wasserstein`` against ``scipy.stats.ks_2samp`` / ``wasserstein_distance``, statistics compared.
"""

from __future__ import annotations

import gc
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from _timing import (
    BENCH_DIR,
    OUT_DIR,
    Candidate,
    Case,
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
    run_isolated,
    timing_note,
)

REPO = BENCH_DIR.parent


def peer_python(name: str) -> Path:
    """`.venv-<name>` of this repository, else /work/main's (a worktree shares its peers)."""
    for root in (REPO, Path("/work/main")):
        py = root / f".venv-{name}" / "bin" / "python"
        if py.exists():
            return py
    return REPO / f".venv-{name}" / "bin" / "python"


EVIDENTLY_PY = peer_python("evidently")
DATA = OUT_DIR / "data"
SEED = 20261122

GOAL_VS_EVIDENTLY = 100.0  # drift.compare at least 100x faster than Evidently's preset
GOAL_MEMORY = 2.0  # drift.compare's peak memory at most 2x the input size
GOAL_VS_SCIPY = 10.0  # drift.ks / drift.wasserstein at least 10x faster than scipy

N_NUM, N_CAT, SHIFT_EVERY, SHIFT, LETTERS = 20, 5, 4, 0.05, "abcdef"
SHIFT_1D = 0.01


@dataclass(frozen=True)
class Sizes:
    # (rows of each frame, at most this many rounds of the per-column report at that size:
    # Evidently takes seconds at 10,000 rows and minutes at 1,000,000)
    frames: tuple[tuple[int, int], ...]
    samples: int  # length of each 1-D sample (a and b)

    @property
    def rows(self) -> int:
        """The largest frames (the memory goals are measured there)."""
        return max(r for r, _ in self.frames)


FULL = Sizes(frames=((10_000, 5), (100_000, 3), (1_000_000, 1)), samples=1_000_000)
QUICK = Sizes(frames=((10_000, 3), (100_000, 3)), samples=1_000_000)
SMOKE = Sizes(frames=((2_000, 1),), samples=10_000)


# --------------------------------------------------------------------------- inputs


def write_frames(rows: int) -> tuple[Path, Path]:
    """Write the reference and current frames to Parquet (driver side, once per run)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    letters = np.array(list(LETTERS))
    paths = []
    for tag, shift in (("reference", 0.0), ("current", SHIFT)):
        x = rng.standard_normal((N_NUM, rows))
        x[::SHIFT_EVERY] += shift
        c = rng.integers(0, len(letters), (N_CAT, rows))
        cols = {f"x{i}": pa.array(x[i]) for i in range(N_NUM)}
        cols |= {f"c{j}": pa.array(letters[c[j]], type=pa.string()) for j in range(N_CAT)}
        path = DATA / f"drift-{rows}-{tag}.parquet"
        with tempfile.NamedTemporaryFile(dir=DATA, suffix=".tmp", delete=False) as tmp:
            pass
        pq.write_table(pa.table(cols), tmp.name)
        os.replace(tmp.name, path)  # atomic: a concurrent run never reads half a file
        paths.append(path)
    return paths[0], paths[1]


def read_frames(reference: str, current: str):
    """Both frames as this interpreter's pandas makes them, and facts about them."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    ref = pq.read_table(reference).to_pandas()
    cur = pq.read_table(current).to_pandas()
    gc.collect()
    pa.default_memory_pool().release_unused()  # Arrow buffers of the read, not the frames
    input_bytes = int(ref.memory_usage(deep=True).sum() + cur.memory_usage(deep=True).sum())
    info = {
        "input_bytes": input_bytes,
        "pandas": pd.__version__,
        "string_dtype": str(ref["c0"].dtype),
        "float_dtype": str(ref["x0"].dtype),
    }
    return ref, cur, info


def frames_digest(ref, cur) -> str:
    """SHA-256 of the values of both frames (same in both interpreters when the data is)."""
    import numpy as np

    h = hashlib.sha256()
    for df in (ref, cur):
        for name in df.columns:
            col = df[name]
            h.update(name.encode())
            if name.startswith("x"):
                h.update(np.ascontiguousarray(col.to_numpy(dtype=np.float64)).tobytes())
            else:
                h.update("\0".join(col.astype(object).tolist()).encode())
    return h.hexdigest()


def make_samples(n: int):
    import numpy as np

    rng = np.random.default_rng(SEED + 1)
    a = rng.standard_normal(n)
    b = rng.standard_normal(n) + SHIFT_1D
    return a, b


# --------------------------------------------------------------------------- child cases


def _scipy_pvalue(test: str, ref, cur) -> Optional[float]:
    """scipy's p-value of the same test on one column (None for a test it is not checked for)."""
    import numpy as np
    from scipy import stats

    if test == "ks":
        return float(stats.ks_2samp(ref.to_numpy(), cur.to_numpy()).pvalue)
    if test == "chi2":
        cats = sorted(set(ref.unique()) | set(cur.unique()))
        table = np.array(
            [s.value_counts().reindex(cats, fill_value=0).to_numpy() for s in (ref, cur)]
        )
        return float(stats.chi2_contingency(table, correction=False).pvalue)
    return None


def case_compare_ours(reference: str, current: str) -> Case:
    compare = require("mlsentry.drift", "compare")
    ref, cur, info = read_frames(reference, current)

    def extra(rep) -> dict:
        # Untimed: what the report says, and scipy's p-value of the same test on each column.
        pvalues, worst = {}, 0.0
        for c in rep.columns:
            theirs = _scipy_pvalue(c.test, ref[c.name], cur[c.name])
            pvalues[c.name] = [c.pvalue, theirs]
            if theirs is not None and c.pvalue is not None:
                worst = max(worst, _rel_diff(c.pvalue, theirs) or 0.0)
        return dict(
            info,
            n_columns=len(rep.columns),
            drifted=[c.name for c in rep.columns if c.drift],
            verdict=bool(rep.drifted),
            tests=sorted({str(c.test) for c in rep.columns}),
            pvalues=pvalues,
            scipy_max_rel_diff=worst,
            digest=frames_digest(ref, cur),
        )

    return Case(call=lambda: compare(ref, cur), extra=extra)


def case_compare_evidently(reference: str, current: str) -> Case:
    import evidently
    from evidently import Report
    from evidently.presets import DataDriftPreset

    ref, cur, info = read_frames(reference, current)

    def extra(snapshot) -> dict:
        metrics = snapshot.dict()["metrics"]
        count = next(m for m in metrics if "DriftedColumnsCount" in m["config"]["type"])
        drifts = [m for m in metrics if m["config"]["type"].endswith("ValueDrift")]
        if len(drifts) != N_NUM + N_CAT:
            raise AssertionError(f"Evidently checked {len(drifts)} columns, expected 25")
        return dict(
            info,
            evidently=evidently.__version__,
            n_columns=len(drifts),
            n_drifted=int(count["value"]["count"]),
            methods=sorted({m["config"]["method"] for m in drifts}),
            x0_value=float(drifts[0]["value"]),
            digest=frames_digest(ref, cur),
        )

    # Exactly the expression of the issue; a new Report each call, as a user would.
    return Case(call=lambda: Report([DataDriftPreset()]).run(cur, ref), extra=extra)


def _stat_extra(res) -> dict:
    pvalue = getattr(res, "pvalue", None)
    return {"statistic": float(res.statistic), "pvalue": None if pvalue is None else float(pvalue)}


def case_1d_ours(test: str, n: int) -> Case:
    fn = require("mlsentry.drift", test)
    a, b = make_samples(n)
    return Case(call=lambda: fn(a, b), extra=_stat_extra)


def case_1d_scipy(test: str, n: int) -> Case:
    from scipy import stats

    a, b = make_samples(n)
    if test == "ks":
        return Case(call=lambda: stats.ks_2samp(a, b), extra=_stat_extra)
    return Case(
        call=lambda: stats.wasserstein_distance(a, b),
        extra=lambda d: {"statistic": float(d), "pvalue": None},
    )


# --------------------------------------------------------------------------- the benchmark

OURS = "mlsentry: `drift.compare(reference, current)`"
PEER = "Evidently: `Report([DataDriftPreset()]).run(current, reference)`"
OURS_KS = "mlsentry: `drift.ks(a, b)`"
SCIPY_KS = "scipy: `stats.ks_2samp(a, b)`"
OURS_W = "mlsentry: `drift.wasserstein(a, b)`"
SCIPY_W = "scipy: `stats.wasserstein_distance(a, b)`"
PEER_OF = {OURS: PEER, OURS_KS: SCIPY_KS, OURS_W: SCIPY_W}
EVIDENTLY_WARMUP = 0  # its calls take seconds to minutes; a second call is no faster


def run(sizes: Sizes, rounds: int, *, tolerate_missing: bool, log: Callable[[str], None]):
    if not EVIDENTLY_PY.exists() and not tolerate_missing:
        raise RuntimeError(
            f"{EVIDENTLY_PY} does not exist: run `make bench-peers` (Evidently needs pandas < 3, "
            "so it has its own venv)"
        )

    def evidently(paths: dict) -> Callable[[], Sample]:
        def go() -> Sample:
            if not EVIDENTLY_PY.exists():
                raise Unavailable(f"{EVIDENTLY_PY} does not exist (make bench-peers)")
            return run_isolated(
                "bench_drift",
                "case_compare_evidently",
                paths,
                warmup=EVIDENTLY_WARMUP,
                python=EVIDENTLY_PY,
            )

        return go

    def iso(func: str, **kw):
        return lambda: run_isolated("bench_drift", func, kw)

    by_size: dict[int, dict[str, Measurement]] = {}
    report_rounds: dict[int, int] = {}
    # Smallest first: a missing function fails the run at once, not after minutes of peers.
    for rows, peer_rounds in sorted(sizes.frames):
        log(f"drift: writing two frames of {rows:,} rows to {DATA}")
        ref_path, cur_path = write_frames(rows)
        paths = {"reference": str(ref_path), "current": str(cur_path)}
        report_rounds[rows] = min(rounds, peer_rounds)
        log(
            f"drift: per-column report, {rows:,} rows x {N_NUM + N_CAT} columns, "
            f"{report_rounds[rows]} round(s)"
        )
        by_size[rows] = interleave(
            [
                Candidate(OURS, iso("case_compare_ours", **paths)),
                Candidate(PEER, evidently(paths)),
            ],
            report_rounds[rows],
            tolerate_missing=tolerate_missing,
            log=log,
        )
    res: dict[str, Measurement] = dict(by_size[sizes.rows])
    n = sizes.samples
    log(f"drift: ks and wasserstein, {n:,} vs {n:,} float64, {rounds} rounds")
    res |= interleave(
        [
            Candidate(OURS_KS, iso("case_1d_ours", test="ks", n=n)),
            Candidate(OURS_W, iso("case_1d_ours", test="wasserstein", n=n)),
            Candidate(SCIPY_KS, iso("case_1d_scipy", test="ks", n=n)),
            Candidate(SCIPY_W, iso("case_1d_scipy", test="wasserstein", n=n)),
        ],
        rounds,
        tolerate_missing=tolerate_missing,
        log=log,
    )
    return _section(res, by_size, sizes, rounds, report_rounds)


def _first(m: Measurement, key: str) -> Any:
    vals = m.extras(key)
    return vals[0] if vals else None


def _result_cell(m: Measurement) -> str:
    if m.missing:
        return "—"
    if m.name in (OURS, PEER):
        total = _first(m, "n_columns")
        drifted = _first(m, "drifted")
        n_drifted = len(drifted) if drifted is not None else _first(m, "n_drifted")
        if total is None or n_drifted is None:
            return "—"
        cell = f"{n_drifted} of {total} columns drifted"
        if drifted:
            cell += " (" + ", ".join(drifted) + ")"
        return cell
    stat, p = _first(m, "statistic"), _first(m, "pvalue")
    if stat is None:
        return "—"
    return f"{stat:.10g}" + ("" if p is None else f", p = {p:.6g}")


def _rel_diff(x: Optional[float], y: Optional[float]) -> Optional[float]:
    if x is None or y is None:
        return None
    scale = max(abs(x), abs(y))
    return 0.0 if scale == 0 else abs(x - y) / scale


def _row(name: str, m: Measurement, peer: Optional[Measurement], label: str = "") -> list[str]:
    return [
        name + label,
        "missing: " + m.missing if m.missing else fmt_s(m.median),
        fmt_s(m.best),
        fmt_x(ratio(peer.median, m.median)) if peer is not None else "",
        fmt_mib(m.peak_rss),
        fmt_mib(m.above_base),
        fmt_mib(_first(m, "input_bytes")),
        _result_cell(m),
    ]


def _section(
    res: dict[str, Measurement],
    by_size: dict[int, dict[str, Measurement]],
    sizes: Sizes,
    rounds: int,
    report_rounds: dict[int, int],
) -> Section:
    med = {name: m.median for name, m in res.items()}
    rows = []
    for n_rows, measured in sorted(by_size.items()):
        label = f", {n_rows:,} rows"
        rows.append(_row(OURS, measured[OURS], measured[PEER], label))
        rows.append(_row(PEER, measured[PEER], None, label))
    for name in (OURS_KS, SCIPY_KS, OURS_W, SCIPY_W):
        peer = PEER_OF.get(name)
        rows.append(_row(name, res[name], res[peer] if peer else None))

    ours = res[OURS]
    input_bytes = _first(ours, "input_bytes")
    above = ours.above_base
    mem_data = mem_process = None
    if input_bytes and above is not None and ours.peak_rss is not None:
        mem_data = (input_bytes + above) / input_bytes
        mem_process = ours.peak_rss / input_bytes
    goals = [
        Goal(
            f"`drift.compare` vs Evidently `DataDriftPreset`, {n_rows:,} rows x "
            f"{N_NUM + N_CAT} columns",
            ratio(measured[PEER].median, measured[OURS].median),
            GOAL_VS_EVIDENTLY,
            "x",
        )
        for n_rows, measured in sorted(by_size.items())
    ]
    goals += [
        Goal(
            f"`drift.compare` peak memory at {sizes.rows:,} rows: the input frames + the "
            "call's peak above them",
            mem_data,
            GOAL_MEMORY,
            "the input size",
            at_most=True,
        ),
        Goal(
            f"`drift.compare` peak memory at {sizes.rows:,} rows: whole-process peak RSS, "
            "interpreter and libraries included (stricter)",
            mem_process,
            GOAL_MEMORY,
            "the input size",
            at_most=True,
        ),
        Goal(
            "`drift.ks` vs scipy `ks_2samp`", ratio(med[SCIPY_KS], med[OURS_KS]), GOAL_VS_SCIPY, "x"
        ),
        Goal(
            "`drift.wasserstein` vs scipy `wasserstein_distance`",
            ratio(med[SCIPY_W], med[OURS_W]),
            GOAL_VS_SCIPY,
            "x",
        ),
    ]

    peer = res[PEER]
    frame_mib = sizes.rows * (N_NUM * 8) / MiB
    sizes_text = " / ".join(f"{r:,}" for r in sorted(by_size))
    notes = [
        f"Frames: `reference` and `current`, {sizes_text} rows each: `x0..x{N_NUM - 1}` "
        f"standard normal float64 ({frame_mib:,.0f} MiB per frame at {sizes.rows:,} rows), "
        f"`x0, x4, x8, x12, x16` shifted by +{SHIFT} in `current`; `c0..c{N_CAT - 1}` letters "
        f'drawn uniformly from "{LETTERS}". Independent draws of `np.random.default_rng({SEED})`, '
        "written once to Parquet; each process reads them before anything is timed.",
        _pandas_note(ours, peer),
        "Per-column reports: the memory and check notes below are those of the largest frames. "
        "Input size = `reference.memory_usage(deep=True).sum() + "
        "current.memory_usage(deep=True).sum()` as pandas reports it in the measuring process "
        "(column 'input MiB'; it differs between the two sides because pandas 2 holds the "
        "strings as Python objects).",
        "Memory: 'peak RSS' is the whole process's high-water mark while calling (interpreter, "
        "libraries and the frames included); 'above input' is that peak minus the resident size "
        "just before the first call (frames already built), i.e. what the call itself needs. "
        "The first memory goal is (input size + above input) / input size; the stricter one is "
        "peak RSS / input size."
        + (
            f" Measured for ours: input {input_bytes / MiB:,.0f} MiB, above input "
            f"{above / MiB:,.0f} MiB ({above / input_bytes:.2f}x the input), peak RSS "
            f"{ours.peak_rss / MiB:,.0f} MiB."
            if mem_data is not None and above is not None and input_bytes and ours.peak_rss
            else ""
        ),
        timing_note(rounds)
        + " The per-column report ran "
        + ", ".join(f"{report_rounds[r]} round(s) at {r:,} rows" for r in sorted(report_rounds))
        + " (one Evidently call takes minutes at 1,000,000 rows)."
        + f" Evidently runs {EVIDENTLY_WARMUP} warm-up calls (its second call is no faster: "
        "about 4 s at 10,000 rows either way) and one timed call per process.",
        "Speed-ups are the peer's median over ours, both from this run. Ours uses the worker "
        "threads of the machine (rayon); Evidently and scipy run in one thread.",
        f"Univariate: `a`, `b` = {sizes.samples:,} standard normals each from "
        f"`np.random.default_rng({SEED + 1})`, `b` shifted by +{SHIFT_1D}; drawn in each "
        "process before timing. " + _agreement_note(res),
        _report_check_note(ours, peer),
    ]
    intro = (
        "Per-column drift report of two data frames against Evidently's data-drift preset, and "
        "two univariate tests against scipy. Ours and Evidently run different tests by default "
        "(see the last note), so the speed-up compares the work each tool does for "
        '"has this frame drifted?".'
    )
    header = [
        "candidate",
        "median s",
        "best s",
        "vs peer",
        "peak RSS MiB",
        "above input MiB",
        "input MiB",
        "result",
    ]
    title = f"Drift: {sizes_text}-row frames vs Evidently; {sizes.samples:,}-sample tests vs scipy"
    return Section(title, intro, header, rows, goals, notes)


def _pandas_note(ours: Measurement, peer: Measurement) -> str:
    def side(m: Measurement, who: str) -> str:
        if _first(m, "pandas") is None:
            return f"{who}: not measured"
        return (
            f"{who} runs with pandas {_first(m, 'pandas')} (string columns "
            f"`{_first(m, 'string_dtype')}`, numbers `{_first(m, 'float_dtype')}`)"
        )

    version = _first(peer, "evidently") or ""
    evidently = f"Evidently {version} (`.venv-evidently`, `make bench-peers`)"
    return side(ours, "Ours (`.venv`)") + "; " + side(peer, evidently) + "."


def _agreement_note(res: dict[str, Measurement]) -> str:
    parts = []
    for ours, peer, what in ((OURS_KS, SCIPY_KS, "KS"), (OURS_W, SCIPY_W, "Wasserstein")):
        d = _rel_diff(_first(res[ours], "statistic"), _first(res[peer], "statistic"))
        if d is None:
            parts.append(f"{what}: not compared (a side is missing).")
            continue
        text = f"{what} statistic: relative difference to scipy {d:.1e}"
        dp = _rel_diff(_first(res[ours], "pvalue"), _first(res[peer], "pvalue"))
        if dp is not None:
            text += f", p-value {dp:.1e}"
        parts.append(text + ".")
    return "Agreement (column 'result'): " + " ".join(parts)


def _p(x: Optional[float]) -> str:
    return "—" if x is None else f"{x:.3g}"


def _report_check_note(ours: Measurement, peer: Measurement) -> str:
    digests = set(ours.extras("digest")) | set(peer.extras("digest"))
    same = (
        "not checked"
        if not digests or not ours.extras("digest") or not peer.extras("digest")
        else "yes"
        if len(digests) == 1
        else f"NO ({len(digests)} different digests)"
    )
    text = f"Check: both sides read identical values (SHA-256 of every column): {same}."
    methods = _first(peer, "methods")
    if methods:
        text += (
            f" Evidently's preset chose {' and '.join(methods)} (threshold 0.1) and found "
            f"{_first(peer, 'n_drifted')} of {_first(peer, 'n_columns')} columns drifted "
            f"(x0: {_first(peer, 'x0_value'):.4f}): a shift of 0.05 standard deviations is below "
            "its threshold."
        )
    tests = _first(ours, "tests")
    pvalues, worst = _first(ours, "pvalues"), _first(ours, "scipy_max_rel_diff")
    if pvalues and worst is not None:
        text += (
            " Ours' per-column p-values against scipy's same test on the same column "
            f"(`ks_2samp`, `chi2_contingency`): largest relative difference {worst:.1e}."
        )
        shifted = {f"x{i}" for i in range(0, N_NUM, SHIFT_EVERY)}
        extra = [n for n in _first(ours, "drifted") or [] if n not in shifted]
        if extra:
            text += (
                " Flagged although not shifted (chance in this draw of the data; scipy's p-value "
                "in brackets): "
                + ", ".join(f"{n} p = {_p(pvalues[n][0])} ({_p(pvalues[n][1])})" for n in extra)
                + "."
            )
    if tests:
        text += (
            f' Ours (`tests="auto"`) ran {", ".join(tests)} on the columns '
            "(defaults: alpha 0.05, Benjamini-Hochberg correction)."
        )
    return text
