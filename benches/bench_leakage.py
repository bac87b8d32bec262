"""Leakage: ``mlsentry.data.leakage`` (exact duplicates) against ``pandas.merge`` on every column.

Frames: ``train`` of N rows and ``test`` of M rows, drawn from ``np.random.default_rng(SEED)``,
ten columns: ``f0..f3`` standard normal float64, ``i0..i2`` int64 uniform in [0, 1000), ``s0``
strings from 100 words, ``s1`` from 10,000, ``s2`` from 1,000,000 (``"w<k>"``). ``test`` is
fresh rows, except that 1 % of its rows (at random positions) are copies of random train rows
(exact duplicates) and 0.5 % are copies with ``f0`` moved by 1e-4 (near duplicates, 0.0001
standard deviations away). The driver writes both to Parquet once per run; every child reads
them with ``pyarrow.parquet.read_table(path).to_pandas()`` before anything is timed (pandas 3:
strings of the ``str`` dtype).

- ``mlsentry.data.leakage(train, test, near_threshold=None, fingerprint=False)``: exact
  duplicates only, the search alone;
- ``mlsentry.data.leakage(train, test, near_threshold=None)``: the same with what the default
  call adds, the fingerprints of both inputs recorded in the report;
- ``test.reset_index().merge(train, on=<all ten columns>, how="inner")``: the pandas idiom,
  whose ``index`` column gives the set of matched test rows;
- ``mlsentry.data.leakage(train, test)``: the default, exact and near duplicates (timed and
  reported, no peer).

Check: the set of test rows found by both exact candidates is the same, and the number of rows
of the merge equals the sum of ours' ``count`` (every (test row, train row) match).
"""

from __future__ import annotations

import gc
import hashlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

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
    run_isolated,
    timing_note,
)

DATA = OUT_DIR / "data"
SEED = 20261207
GOAL_VS_MERGE = 5.0  # leakage (exact) at least 5x faster than pandas.merge on all columns
EXACT_SHARE, NEAR_SHARE, NEAR_SHIFT = 0.01, 0.005, 1e-4
COLUMNS = ["f0", "f1", "f2", "f3", "i0", "i1", "i2", "s0", "s1", "s2"]


@dataclass(frozen=True)
class Sizes:
    train: int
    test: int


FULL = Sizes(train=1_000_000, test=100_000)
QUICK = Sizes(train=200_000, test=20_000)
SMOKE = Sizes(train=5_000, test=500)


def _frame(rng: Any, n: int) -> dict[str, Any]:
    import numpy as np

    cols: dict[str, Any] = {f"f{j}": rng.standard_normal(n) for j in range(4)}
    cols |= {f"i{j}": rng.integers(0, 1000, n) for j in range(3)}
    for j, vocab in enumerate((100, 10_000, 1_000_000)):
        cols[f"s{j}"] = np.char.add("w", rng.integers(0, vocab, n).astype(str))
    return cols


def write_frames(sizes: Sizes) -> tuple[Path, Path]:
    """Write train and test to Parquet (driver side, once per run)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    DATA.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(SEED)
    train = _frame(rng, sizes.train)
    test = _frame(rng, sizes.test)
    n_exact = int(sizes.test * EXACT_SHARE)
    n_near = int(sizes.test * NEAR_SHARE)
    where = rng.choice(sizes.test, n_exact + n_near, replace=False)
    source = rng.integers(0, sizes.train, n_exact + n_near)
    for name in COLUMNS:
        test[name][where] = train[name][source]
    test["f0"][where[n_exact:]] += NEAR_SHIFT
    paths = []
    for tag, cols in (("train", train), ("test", test)):
        table = pa.table({n: pa.array(cols[n]) for n in COLUMNS})
        path = DATA / f"leakage-{sizes.train}-{sizes.test}-{tag}.parquet"
        with tempfile.NamedTemporaryFile(dir=DATA, suffix=".tmp", delete=False) as tmp:
            pass
        pq.write_table(table, tmp.name)
        os.replace(tmp.name, path)
        paths.append(path)
    return paths[0], paths[1]


def read_frames(train: str, test: str) -> tuple[Any, Any, dict]:
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    tr = pq.read_table(train).to_pandas()
    te = pq.read_table(test).to_pandas()
    gc.collect()
    pa.default_memory_pool().release_unused()
    info = {"pandas": pd.__version__, "string_dtype": str(tr["s0"].dtype)}
    return tr, te, info


def _rows_digest(rows: Any) -> str:
    import numpy as np

    return hashlib.sha256(np.sort(np.asarray(rows, dtype=np.int64)).tobytes()).hexdigest()


def case_ours(train: str, test: str, near: bool, fingerprint: bool = True) -> Case:
    leakage = require("mlsentry.data", "leakage")
    tr, te, info = read_frames(train, test)
    kwargs: dict[str, Any] = {} if near else {"near_threshold": None}
    if not fingerprint:
        kwargs["fingerprint"] = False

    def extra(rep: Any) -> dict:
        exact = rep.pairs.kind == "exact"
        return dict(
            info,
            affected=len(rep.pairs),
            n_exact=rep.n_exact,
            n_near=rep.n_near,
            matches=int(rep.pairs.count[exact].sum()),
            rows_digest=_rows_digest(rep.pairs.test_index[exact]),
        )

    return Case(call=lambda: leakage(tr, te, **kwargs), extra=extra)


def case_merge(train: str, test: str) -> Case:
    tr, te, info = read_frames(train, test)

    def extra(merged: Any) -> dict:
        rows = merged["index"].unique()
        return dict(
            info,
            affected=len(rows),
            matches=len(merged),
            rows_digest=_rows_digest(rows),
        )

    return Case(call=lambda: te.reset_index().merge(tr, on=COLUMNS, how="inner"), extra=extra)


OURS = "mlsentry: `data.leakage(train, test, near_threshold=None, fingerprint=False)` (exact)"
OURS_FP = "mlsentry: `data.leakage(train, test, near_threshold=None)` (exact, fingerprints)"
PEER = '`test.reset_index().merge(train, on=all columns, how="inner")`'
OURS_NEAR = "mlsentry: `data.leakage(train, test)` (exact and near, default)"


def run(sizes: Sizes, rounds: int, *, tolerate_missing: bool, log: Callable[[str], None]):
    log(f"leakage: writing train {sizes.train:,} rows and test {sizes.test:,} rows to {DATA}")
    tr_path, te_path = write_frames(sizes)
    paths = {"train": str(tr_path), "test": str(te_path)}

    def iso(func: str, **kw: Any) -> Callable[[], Any]:
        return lambda: run_isolated("bench_leakage", func, {**paths, **kw})

    res = interleave(
        [
            Candidate(OURS, iso("case_ours", near=False, fingerprint=False)),
            Candidate(OURS_FP, iso("case_ours", near=False)),
            Candidate(PEER, iso("case_merge")),
            Candidate(OURS_NEAR, iso("case_ours", near=True)),
        ],
        rounds,
        tolerate_missing=tolerate_missing,
        log=log,
    )
    return _section(res, sizes, rounds)


def _first(m: Measurement, key: str) -> Any:
    vals = m.extras(key)
    return vals[0] if vals else None


def _result(m: Measurement) -> str:
    if m.missing or _first(m, "affected") is None:
        return "—"
    text = f"{_first(m, 'affected'):,} test rows"
    if _first(m, "n_near") is not None:
        text += f" ({_first(m, 'n_exact'):,} exact, {_first(m, 'n_near'):,} near)"
    return text + f", {_first(m, 'matches'):,} exact (test, train) matches"


def _section(res: dict[str, Measurement], sizes: Sizes, rounds: int) -> Section:
    med = {name: m.median for name, m in res.items()}
    rows = []
    for name in (OURS, OURS_FP, PEER, OURS_NEAR):
        m = res[name]
        rows.append(
            [
                name,
                "missing: " + m.missing if m.missing else fmt_s(m.median),
                fmt_s(m.best),
                fmt_x(ratio(med[PEER], m.median)) if name != PEER else "",
                fmt_mib(m.peak_rss),
                _result(m),
            ]
        )
    goals = [
        Goal(
            "`data.leakage` (exact) vs `pandas.merge` on every column",
            ratio(med[PEER], med[OURS]),
            GOAL_VS_MERGE,
            "x",
        ),
        Goal(
            "`data.leakage` (exact) with the input fingerprints of the default call vs "
            "`pandas.merge` (stricter)",
            ratio(med[PEER], med[OURS_FP]),
            GOAL_VS_MERGE,
            "x",
        ),
    ]
    ours, peer = res[OURS], res[PEER]
    same_rows = _first(ours, "rows_digest") == _first(peer, "rows_digest")
    same_matches = _first(ours, "matches") == _first(peer, "matches")
    check = (
        "not checked"
        if _first(ours, "rows_digest") is None or _first(peer, "rows_digest") is None
        else f"same set of test rows: {'yes' if same_rows else 'NO'}; "
        f"merge rows = sum of ours' counts: {'yes' if same_matches else 'NO'}"
    )
    planted = (int(sizes.test * EXACT_SHARE), int(sizes.test * NEAR_SHARE))
    notes = [
        f"Frames: train {sizes.train:,} rows, test {sizes.test:,} rows, columns "
        f"`{', '.join(COLUMNS)}` (f: normal float64, i: int64 in [0, 1000), s: strings from "
        "100 / 10,000 / 1,000,000 words); test holds "
        f"{planted[0]:,} copies of train rows and {planted[1]:,} copies with `f0` moved by "
        f"{NEAR_SHIFT:g}; `np.random.default_rng({SEED})`, Parquet, read with "
        f"`to_pandas()` (pandas {_first(ours, 'pandas')}, "
        f"strings `{_first(ours, 'string_dtype')}`).",
        f"Check: {check}.",
        "The goal's row runs the search alone (`fingerprint=False`); the stricter row adds what "
        "the default call does besides the search, `mlsentry.fingerprint` of both inputs "
        "recorded in the report (SHA-256 of every value).",
        timing_note(rounds),
    ]
    intro = (
        "Test rows that are also in train: `mlsentry.data.leakage` against the pandas idiom, an "
        "inner merge on every column."
    )
    header = ["candidate", "median s", "best s", "vs merge", "peak RSS MiB", "result"]
    title = f"Leakage: train {sizes.train:,} rows, test {sizes.test:,} rows vs pandas.merge"
    return Section(title, intro, header, rows, goals, notes)
