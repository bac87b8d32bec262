"""Label issues: `ms.data.label_issues` against cleanlab's `filter.find_label_issues`.

Setup (ANCHORS.md): n rows, k classes, standard-normal logits with the true class's logit
raised by 2.5, softmax; 8% of the labels flipped to another class drawn uniformly. Each
side builds the same probabilities (same seed) in its own process before timing; both
call their default filter (prune_by_noise_rate) and the masks are compared.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

from _timing import (
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

SEED = 20261207
BOOST, FLIP = 2.5, 0.08
GOAL_SPEED = 10.0  # at least 10x faster than cleanlab
GOAL_MEMORY = 0.2  # at most a fifth of cleanlab's peak memory


@dataclass(frozen=True)
class Sizes:
    shapes: tuple[tuple[int, int], ...]


FULL = Sizes(shapes=((1_000_000, 10), (100_000, 1_000)))
QUICK = Sizes(shapes=((200_000, 10), (20_000, 1_000)))
SMOKE = Sizes(shapes=((5_000, 10), (2_000, 50)))


def make_inputs(n: int, k: int):
    """Planted-noise probabilities (float64, C order) and labels, without an n x k temporary
    beyond the array itself."""
    import numpy as np

    rng = np.random.default_rng(SEED)
    true = rng.integers(0, k, n)
    p = rng.standard_normal((n, k))
    p[np.arange(n), true] += BOOST
    p -= p.max(axis=1, keepdims=True)
    np.exp(p, out=p)
    p /= p.sum(axis=1, keepdims=True)
    labels = true.copy()
    flipped = rng.random(n) < FLIP
    labels[flipped] = (labels[flipped] + rng.integers(1, k, int(flipped.sum()))) % k
    return labels.astype(np.int64), p


def _mask_extra(mask) -> dict:
    import numpy as np

    mask = np.asarray(mask, dtype=bool)
    return {
        "flagged": int(mask.sum()),
        "mask_sha256": hashlib.sha256(np.packbits(mask).tobytes()).hexdigest(),
    }


def case_ours(n: int, k: int, fingerprint: bool = True) -> Case:
    label_issues = require("mlsentry.data", "label_issues")
    labels, p = make_inputs(n, k)
    return Case(
        call=lambda: label_issues(labels, p, fingerprint=fingerprint),
        extra=lambda rep: {**_mask_extra(rep.mask), "input_bytes": int(p.nbytes)},
    )


def case_cleanlab(n: int, k: int) -> Case:
    from cleanlab.filter import find_label_issues

    labels, p = make_inputs(n, k)
    return Case(
        call=lambda: find_label_issues(labels, p),
        extra=lambda mask: {**_mask_extra(mask), "input_bytes": int(p.nbytes)},
    )


OURS = "mlsentry: `data.label_issues(labels, pred_probs)`"
OURS_BARE = "mlsentry, no input fingerprints: `data.label_issues(..., fingerprint=False)`"
PEER = "cleanlab: `filter.find_label_issues(labels, pred_probs)`"


def run(sizes: Sizes, rounds: int, *, tolerate_missing: bool, log: Callable[[str], None]):
    results = []
    for n, k in sizes.shapes:
        log(f"labels: {n:,} x {k:,} pred_probs, {rounds} round(s)")

        def iso(func: str, n: int = n, k: int = k, **kw):
            return lambda: run_isolated("bench_labels", func, {"n": n, "k": k, **kw}, warmup=1)

        res = interleave(
            [
                Candidate(OURS, iso("case_ours")),
                Candidate(OURS_BARE, iso("case_ours", fingerprint=False)),
                Candidate(PEER, iso("case_cleanlab")),
            ],
            rounds,
            tolerate_missing=tolerate_missing,
            log=log,
        )
        results.append(((n, k), res))
    return _section(results, rounds)


def _first(m: Measurement, key: str):
    vals = m.extras(key)
    return vals[0] if vals else None


def _same_mask(ours: Measurement, peer: Measurement) -> str:
    digests = set(ours.extras("mask_sha256")) | set(peer.extras("mask_sha256"))
    if not ours.extras("mask_sha256") or not peer.extras("mask_sha256"):
        return "not compared"
    return "yes" if len(digests) == 1 else "NO"


def _section(results, rounds: int) -> Section:
    rows, goals = [], []
    for (n, k), res in results:
        ours, bare, peer = res[OURS], res[OURS_BARE], res[PEER]
        same = _same_mask(ours, peer)
        for m in (ours, bare, peer):
            rows.append(
                [
                    f"{n:,} x {k:,}",
                    m.name,
                    "missing: " + m.missing if m.missing else fmt_s(m.median),
                    fmt_s(m.best),
                    fmt_x(ratio(peer.median, m.median)) if m is not peer else "",
                    fmt_mib(m.peak_rss),
                    fmt_mib(m.above_base),
                    str(_first(m, "flagged")),
                    same if m is not bare else _same_mask(bare, peer),
                ]
            )
        shape = f"{n:,} x {k:,}"
        goals.append(
            Goal(
                f"`label_issues` vs cleanlab, {shape}",
                ratio(peer.median, ours.median),
                GOAL_SPEED,
                "x",
            )
        )
        call_ratio = (
            ours.above_base / peer.above_base
            if ours.above_base is not None and peer.above_base
            else None
        )
        goals.append(
            Goal(
                f"`label_issues` memory the call needs (peak above the inputs) vs cleanlab's, "
                f"{shape}",
                call_ratio,
                GOAL_MEMORY,
                "cleanlab's",
                at_most=True,
            )
        )
        peak_ratio = (
            ours.peak_rss / peer.peak_rss if ours.peak_rss is not None and peer.peak_rss else None
        )
        goals.append(
            Goal(
                f"`label_issues` whole-process peak RSS vs cleanlab's (inputs and libraries "
                f"included, stricter), {shape}",
                peak_ratio,
                GOAL_MEMORY,
                "cleanlab's",
                at_most=True,
            )
        )
    notes = [
        f"Inputs: `np.random.default_rng({SEED})`; true classes uniform; standard-normal "
        f"logits with the true class's raised by {BOOST}; softmax (float64, C order); "
        f"{FLIP:.0%} of the labels moved to another class drawn uniformly. Built in each "
        "process before timing (the probabilities are the caller's: 80 MB at 1M x 10, "
        "800 MB at 100k x 1,000).",
        "Both sides run their defaults: cleanlab's `filter_by='prune_by_noise_rate'` with "
        "`n_jobs=None` (its multiprocessing pool over classes on the physical cores; the "
        "pool's worker processes are not in the peak RSS measured, which flatters cleanlab), "
        "ours `method='prune_by_noise_rate'` with the input fingerprints of the report "
        "(`fingerprint=True`: SHA-256 fingerprints of both inputs, recorded in the report) on "
        "the package's thread pool; the goals are measured on that default call. The row "
        "'no input fingerprints' shows the same call without them.",
        "'same mask': the SHA-256 of the packed boolean masks of both sides are equal.",
        "Memory: 'peak RSS' is the process's high-water mark while calling; 'above input' is "
        "that peak minus the resident size just before the first call (inputs built), i.e. "
        "what the call itself needs.",
        timing_note(rounds),
    ]
    header = [
        "shape",
        "candidate",
        "median s",
        "best s",
        "vs cleanlab",
        "peak RSS MiB",
        "above input MiB",
        "flagged",
        "same mask",
    ]
    intro = (
        "Confident learning (find the rows whose given label is probably wrong) on planted-"
        "noise predicted probabilities, against cleanlab 2.9."
    )
    return Section("Label issues vs cleanlab", intro, header, rows, goals, notes)
