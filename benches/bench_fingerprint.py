"""Fingerprint of a float64 DataFrame: mlsentry against pandas' hash_pandas_object + SHA-256.

The frame: N rows x 25 float64 columns ``x0..x24`` of ``np.random.default_rng(0)``
standard normals, built from one 2-D array (so pandas holds it as one consolidated block), with
the default RangeIndex. Each candidate runs in its own process that builds the frame, then one
untimed warm-up call, then the timed call; candidates interleaved by round.

- ``hashlib.sha256(pd.util.hash_pandas_object(df).values).hexdigest()``: pandas' per-row 64-bit
  hashes (``index=True`` by default, so the index is hashed too, as ours does by default), then
  SHA-256 over them. This is the peer the goal is measured against.
- the same with ``index=False`` (information: the peer's cheapest form);
- ``mlsentry.fingerprint(df)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from _timing import (
    Candidate,
    Case,
    Goal,
    Measurement,
    MiB,
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

GOAL_VS_PEER = 2.0  # at least 2x faster than hash_pandas_object + SHA-256


@dataclass(frozen=True)
class Sizes:
    rows: int
    cols: int = 25


FULL = Sizes(rows=1_000_000)
QUICK = Sizes(rows=100_000)
SMOKE = Sizes(rows=10_000)


def make_frame(rows: int, cols: int):
    import numpy as np
    import pandas as pd

    data = np.random.default_rng(0).standard_normal((rows, cols))
    return pd.DataFrame(data, columns=[f"x{i}" for i in range(cols)])


# --------------------------------------------------------------------------- child cases


def case_pandas(rows: int, cols: int, index: bool = True) -> Case:
    import hashlib

    import pandas as pd

    df = make_frame(rows, cols)
    if index:  # exactly the expression of the issue: index=True is pandas' default
        return Case(
            call=lambda: hashlib.sha256(pd.util.hash_pandas_object(df).values).hexdigest(),
            extra=lambda d: {"digest": d},
        )
    return Case(
        call=lambda: hashlib.sha256(pd.util.hash_pandas_object(df, index=False).values).hexdigest(),
        extra=lambda d: {"digest": d},
    )


def case_ours(rows: int, cols: int) -> Case:
    fingerprint = require("mlsentry", "fingerprint")
    df = make_frame(rows, cols)

    def extra(d) -> dict:
        if not (isinstance(d, str) and re.fullmatch(r"sha256:[0-9a-f]{64}", d)):
            raise AssertionError(f"fingerprint returned {d!r}, expected 'sha256:<64 hex>'")
        return {"digest": d}

    return Case(call=lambda: fingerprint(df), extra=extra)


# --------------------------------------------------------------------------- the benchmark

PEER = "pandas: `sha256(hash_pandas_object(df).values)` (index=True, default)"
PEER_NOINDEX = "pandas: `sha256(hash_pandas_object(df, index=False).values)`"
OURS = "mlsentry: `fingerprint(df)`"


def run(sizes: Sizes, rounds: int, *, tolerate_missing: bool, log: Callable[[str], None]):
    kw = {"rows": sizes.rows, "cols": sizes.cols}

    def iso(func: str, **extra):
        return lambda: run_isolated("bench_fingerprint", func, {**kw, **extra})

    # Ours first: a missing function fails the run at once, not after minutes of peers.
    candidates = [
        Candidate(OURS, iso("case_ours")),
        Candidate(PEER, iso("case_pandas")),
        Candidate(PEER_NOINDEX, iso("case_pandas", index=False)),
    ]
    log(f"fingerprint: {sizes.rows:,} x {sizes.cols} float64, {rounds} rounds")
    res = interleave(candidates, rounds, tolerate_missing=tolerate_missing, log=log)
    return _section(res, sizes, rounds)


def _section(res: dict[str, Measurement], sizes: Sizes, rounds: int) -> Section:
    peer, peer_ni, ours = res[PEER].median, res[PEER_NOINDEX].median, res[OURS].median

    rows = []
    for name in (PEER, PEER_NOINDEX, OURS):
        m = res[name]
        t = m.median
        rows.append(
            [
                name,
                "missing: " + m.missing if m.missing else fmt_s(t),
                fmt_s(m.best),
                fmt_x(ratio(peer, t)),
                fmt_x(ratio(peer_ni, t)),
                fmt_mib(m.peak_rss),
                fmt_mib(m.above_base),
            ]
        )
    goals = [
        Goal(
            "`fingerprint(df)` vs hash_pandas_object + SHA-256",
            ratio(peer, ours),
            GOAL_VS_PEER,
            "x",
        ),
        Goal(
            "`fingerprint(df)` vs the same with index=False (stricter)",
            ratio(peer_ni, ours),
            GOAL_VS_PEER,
            "x",
        ),
    ]
    data_mib = sizes.rows * sizes.cols * 8 / MiB
    digests = set(res[OURS].extras("digest"))
    notes = [
        f"Frame: {sizes.rows:,} rows x {sizes.cols} float64 columns ({data_mib:,.0f} MiB), "
        "`np.random.default_rng(0).standard_normal`, default RangeIndex, one consolidated "
        "block.",
        "`hash_pandas_object` hashes the index by default (index=True); so does "
        "`fingerprint` (index included unless index=False), so the first row is the like-for-like "
        "peer; the index=False row shows the peer without the index.",
        timing_note(rounds) + " The frame is built in each process before timing.",
        "Speed-ups are the peer's median over the candidate's.",
        "Peak RSS is the whole process; 'above input' is the peak while calling minus the "
        "resident size just before the first call (frame already built).",
    ]
    if digests:
        notes.append(
            "Check: `fingerprint(df)` gave the same digest in every process: "
            + ("yes" if len(digests) == 1 else f"NO ({len(digests)} different)")
            + "."
        )
    intro = (
        "Content fingerprint of a float64 DataFrame, against pandas' own row hashing followed "
        "by SHA-256."
    )
    header = [
        "candidate",
        "median s",
        "best s",
        "vs pandas (index=True)",
        "vs pandas (index=False)",
        "peak RSS MiB",
        "above input MiB",
    ]
    title = f"Fingerprint: {sizes.rows:,} x {sizes.cols} float64 DataFrame"
    return Section(title, intro, header, rows, goals, notes)
