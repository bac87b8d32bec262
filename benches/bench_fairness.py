"""Fairness: `ms.fairness.evaluate` against fairlearn's `MetricFrame` with bootstrap.

Setup (issue 21): n rows, a binary label, a prediction biased by group, two sensitive
columns (sex: 2 values, race: 3 values; 6 intersection groups); five group metrics
(selection rate, accuracy, TPR, FPR, precision). Ours: `evaluate(..., n_boot=1000)`
(group tables of each column and of the intersection, five disparities, percentile
intervals of everything). fairlearn: `MetricFrame(metrics=<the five>, ...,
n_boot=B, ci_quantiles=[0.025, 0.975], random_state=0)` on the intersection.

fairlearn resamples the rows of a DataFrame and recomputes every metric per resample, so
its time grows with n_boot: its side runs with a smaller `B` (PEER_BOOT) and once without
bootstrap, and its time at 1,000 resamples is extrapolated linearly,
`t(0) + (t(B) - t(0)) * 1000 / B` (each resample does the same work).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from _timing import Candidate, Case, Goal, Section, fmt_s, fmt_x, interleave, ratio, require

SEED = 20261207
N_BOOT = 1000
GOAL_SPEED = 10.0


@dataclass(frozen=True)
class Sizes:
    n: int
    peer_boot: int


FULL = Sizes(n=1_000_000, peer_boot=3)
QUICK = Sizes(n=200_000, peer_boot=10)
SMOKE = Sizes(n=5_000, peer_boot=3)


def make_inputs(n: int):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(SEED)
    sex = rng.choice(np.array(["f", "m"]), size=n, p=[0.45, 0.55])
    race = rng.choice(np.array(["a", "b", "c"]), size=n, p=[0.6, 0.3, 0.1])
    y = rng.integers(0, 2, n)
    p = 0.3 + 0.4 * y - 0.1 * (sex == "f") - 0.05 * (race == "c")
    pred = (rng.random(n) < p).astype(np.int64)
    return y, pred, pd.DataFrame({"sex": sex, "race": race})


def case_ours(n: int) -> Case:
    evaluate = require("mlsentry.fairness", "evaluate")
    y, pred, sf = make_inputs(n)
    return Case(
        call=lambda: evaluate(y, pred, sf, n_boot=N_BOOT, seed=0),
        extra=lambda rep: {
            "dpd": rep.disparities["demographic_parity_difference"].value,
            "eod": rep.disparities["equalized_odds_difference"].value,
        },
    )


def case_ours_rows(n: int, n_boot: int) -> Case:
    """Ours on given row resamples (n_boot x n indices, built before timing)."""
    import numpy as np

    evaluate = require("mlsentry.fairness", "evaluate")
    y, pred, sf = make_inputs(n)
    idx = np.random.default_rng(1).integers(0, n, (n_boot, n))
    return Case(
        call=lambda: evaluate(y, pred, sf, resamples=idx, seed=0),
        extra=lambda rep: {"dpd": rep.disparities["demographic_parity_difference"].value},
    )


def case_fairlearn(n: int, n_boot: int) -> Case:
    import numpy as np
    from fairlearn.metrics import (
        MetricFrame,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )
    from sklearn.metrics import accuracy_score, precision_score

    y, pred, sf = make_inputs(n)
    metrics = {
        "selection_rate": selection_rate,
        "accuracy": accuracy_score,
        "tpr": true_positive_rate,
        "fpr": false_positive_rate,
        "precision": precision_score,
    }
    boot = {"n_boot": n_boot, "ci_quantiles": [0.025, 0.975], "random_state": 0} if n_boot else {}

    def call():
        return MetricFrame(metrics=metrics, y_true=y, y_pred=pred, sensitive_features=sf, **boot)

    def extra(mf):
        diff = mf.difference()
        tpr_fpr = max(float(diff["tpr"]), float(diff["fpr"]))
        return {"dpd": float(diff["selection_rate"]), "eod": float(np.float64(tpr_fpr))}

    return Case(call=call, extra=extra)


OURS = f"mlsentry: `fairness.evaluate(y, pred, sf, n_boot={N_BOOT})`"


def run(sizes: Sizes, rounds: int, *, tolerate_missing: bool, log: Callable[[str], None]):
    from _timing import run_isolated

    n, b = sizes.n, sizes.peer_boot
    peer_b = f"fairlearn: `MetricFrame(..., n_boot={b})`"
    peer_0 = "fairlearn: `MetricFrame(...)` without bootstrap"
    rows_b = f"mlsentry on {b} given row resamples: `evaluate(..., resamples=idx)`"
    log(f"fairness: {n:,} rows, ours {N_BOOT} resamples, fairlearn {b} (extrapolated)")
    res = interleave(
        [
            Candidate(OURS, lambda: run_isolated("bench_fairness", "case_ours", {"n": n})),
            Candidate(
                rows_b,
                lambda: run_isolated(
                    "bench_fairness", "case_ours_rows", {"n": n, "n_boot": b}, warmup=0
                ),
            ),
            Candidate(
                peer_b,
                lambda: run_isolated(
                    "bench_fairness", "case_fairlearn", {"n": n, "n_boot": b}, warmup=0
                ),
            ),
            Candidate(
                peer_0,
                lambda: run_isolated(
                    "bench_fairness", "case_fairlearn", {"n": n, "n_boot": 0}, warmup=0
                ),
            ),
        ],
        rounds,
        tolerate_missing=tolerate_missing,
        log=log,
    )
    ours, pb, p0, rb = res[OURS], res[peer_b], res[peer_0], res[rows_b]
    peer_1000 = None
    if pb.median is not None and p0.median is not None:
        peer_1000 = p0.median + (pb.median - p0.median) * N_BOOT / b
    same = "not compared"
    if ours.extras("dpd") and pb.extras("dpd"):
        same = (
            "yes"
            if abs(ours.extras("dpd")[0] - pb.extras("dpd")[0]) < 1e-12
            and abs(ours.extras("eod")[0] - pb.extras("eod")[0]) < 1e-12
            else "NO"
        )
    rows = [
        [f"{n:,}", ours.name, fmt_s(ours.median), fmt_s(ours.best), "", same],
        [
            f"{n:,}",
            rb.name,
            fmt_s(rb.median),
            fmt_s(rb.best),
            fmt_x(ratio(pb.median, rb.median)),
            "",
        ],
        [f"{n:,}", pb.name, fmt_s(pb.median), fmt_s(pb.best), "", same],
        [f"{n:,}", p0.name, fmt_s(p0.median), fmt_s(p0.best), "", ""],
        [
            f"{n:,}",
            f"fairlearn at n_boot={N_BOOT} (extrapolated)",
            fmt_s(peer_1000),
            "",
            fmt_x(ratio(peer_1000, ours.median)),
            "",
        ],
    ]
    goals = [
        Goal(
            f"`fairness.evaluate` with {N_BOOT} resamples vs fairlearn `MetricFrame(n_boot="
            f"{N_BOOT})` (extrapolated from {b}), {n:,} rows",
            ratio(peer_1000, ours.median),
            GOAL_SPEED,
            "x",
        )
    ]
    notes = [
        f"Inputs: `np.random.default_rng({SEED})`; sex f/m (0.45/0.55), race a/b/c "
        "(0.6/0.3/0.1), label uniform 0/1, prediction 1 with probability 0.3 + 0.4 y - 0.1 "
        "[sex = f] - 0.05 [race = c]. Built in each process before timing.",
        "Ours draws each resample's (group, label, prediction) cell counts from their "
        "multinomial law (the law of a row resample's counts), so its cost does not grow "
        "with the rows; fairlearn resamples the DataFrame rows and recomputes each metric. "
        f"fairlearn at {N_BOOT} resamples: t(0) + (t({b}) - t(0)) x {N_BOOT}/{b}.",
        f"The row-resample line runs our other path (the resamples given as {b} x n row "
        f"indices, counted in Rust) at fairlearn's {b} resamples: 'vs fairlearn' there "
        f"compares the same number of resamples.",
        "'same values': the demographic parity and equalized odds differences of both sides "
        "agree to 1e-12.",
    ]
    header = ["rows", "candidate", "median s", "best s", "vs fairlearn", "same values"]
    intro = (
        "Group metrics and disparities with 1,000 bootstrap resamples, against fairlearn "
        "0.15's MetricFrame."
    )
    return Section("Fairness vs fairlearn", intro, header, rows, goals, notes)
