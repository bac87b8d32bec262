"""Monitoring and multivariate drift: `ms.drift.mmd` against frouros' MMD (and Evidently's
MMD test where its venv exists), and the OOD `knn` detector against PyOD's `KNN`.

Setups (issue 20):
- MMD: 10,000 x 10 standard normal per side (current shifted by 0.05 in every feature),
  1,000 permutations, the same RBF bandwidth on both sides (the median heuristic of the
  pooled sample, computed once in the parent). frouros recomputes the kernel matrices for
  every permutation, so it is timed on `PEER_PERMUTATIONS` permutations and its time for
  1,000 is extrapolated linearly (stated in the table); its statistic is compared with ours.
- OOD: 100,000 x 20 training rows, 10,000 query rows; ours `OODDetector.fit(method="knn",
  k=5)` then `score(queries)`; PyOD `KNN(n_neighbors=5, method="largest").fit(fit_rows)`
  then `decision_function(queries)` on the same standardised fit rows (ours holds out 20 %
  for calibration, so PyOD gets exactly the rows we fit on).
- Online thresholds: `Monitor(reference 10,000 x 10, ert=1000, window=50)` construction
  (simulation of 5,000 streams), ours only (alibi-detect, the reference, is BSL and needs
  numpy < 2 and torch; not installed).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

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

SEED = 20261207
PERMUTATIONS = 1000
PEER_PERMUTATIONS = 3
GOAL_MMD = 20.0
GOAL_KNN = 5.0
REPO = BENCH_DIR.parent


def peer_python(name: str) -> Path:
    """`.venv-<name>` of this checkout, else the one of /work/main."""
    own = REPO / f".venv-{name}" / "bin" / "python"
    return own if own.exists() else Path("/work/main") / f".venv-{name}" / "bin" / "python"


@dataclass(frozen=True)
class Sizes:
    mmd_rows: int
    ood_train: int
    ood_queries: int
    features: int = 10
    ood_features: int = 20


FULL = Sizes(mmd_rows=10_000, ood_train=100_000, ood_queries=10_000)
QUICK = Sizes(mmd_rows=3_000, ood_train=30_000, ood_queries=3_000)
SMOKE = Sizes(mmd_rows=300, ood_train=2_000, ood_queries=200)


def mmd_inputs(n: int, d: int):
    import numpy as np

    rng = np.random.default_rng(SEED)
    return rng.normal(size=(n, d)), rng.normal(size=(n, d)) + 0.05


def bandwidth(n: int, d: int) -> float:
    """The median heuristic on the pooled sample (over 2,000 rows), as ours computes it."""
    import numpy as np
    from scipy.spatial.distance import pdist

    x, y = mmd_inputs(n, d)
    z = np.vstack([x, y])
    idx = np.random.default_rng(0).choice(len(z), min(len(z), 2000), replace=False)
    return float(np.median(pdist(z[np.sort(idx)])))


def case_mmd_ours(n: int, d: int, sigma: float) -> Case:
    mmd = require("mlsentry.drift", "mmd")
    x, y = mmd_inputs(n, d)
    return Case(
        call=lambda: mmd(x, y, bandwidth=sigma, permutations=PERMUTATIONS),
        extra=lambda r: {"statistic": r.statistic, "pvalue": r.pvalue, "permutations": 1000},
    )


def case_mmd_frouros(n: int, d: int, sigma: float) -> Case:
    from functools import partial

    from frouros.callbacks import PermutationTestDistanceBased
    from frouros.detectors.data_drift import MMD
    from frouros.utils.kernels import rbf_kernel

    x, y = mmd_inputs(n, d)

    def call():
        det = MMD(
            kernel=partial(rbf_kernel, sigma=sigma),
            callbacks=[
                PermutationTestDistanceBased(num_permutations=PEER_PERMUTATIONS, random_state=0)
            ],
        )
        det.fit(X=x)
        return det.compare(X=y)

    def extra(out):
        result, _logs = out
        return {"statistic": float(result.distance), "permutations": PEER_PERMUTATIONS}

    return Case(call=call, extra=extra)


def ood_inputs(n: int, q: int, d: int):
    import numpy as np

    rng = np.random.default_rng(SEED + 1)
    return rng.normal(size=(n, d)), rng.normal(size=(q, d)) * 1.2


def case_knn_ours(n: int, q: int, d: int) -> Case:
    ood = require("mlsentry.monitor", "OODDetector")
    x, queries = ood_inputs(n, q, d)

    def call():
        det = ood.fit(x, method="knn", k=5)
        return det.score(queries)

    return Case(call=call, extra=lambda s: {"checksum": float(s.sum()), "first": s[:200].tolist()})


def case_knn_pyod(n: int, q: int, d: int) -> Case:
    import numpy as np
    from pyod.models.knn import KNN

    x, queries = ood_inputs(n, q, d)
    # The rows OODDetector.fit(x, seed=0) fits on: it holds out a seeded 20 % to calibrate.
    order = np.random.default_rng(0).permutation(n)
    fit_rows = x[np.sort(order[round(n * 0.2) :])]
    mu, sd = fit_rows.mean(axis=0), fit_rows.std(axis=0)
    a, b = (fit_rows - mu) / sd, (queries - mu) / sd

    def call():
        return KNN(n_neighbors=5, method="largest").fit(a).decision_function(b)

    return Case(call=call, extra=lambda s: {"checksum": float(s.sum()), "first": s[:200].tolist()})


def case_online_config(n: int, d: int) -> Case:
    mon = require("mlsentry.monitor", "Monitor")
    x, _ = mmd_inputs(n, d)
    return Case(call=lambda: mon(x, ert=1000, window=50, ood=None), extra=lambda m: {})


OURS_MMD = "mlsentry: `drift.mmd(x, y, bandwidth=l, permutations=1000)`"
FROUROS = (
    "frouros 0.9: `MMD(rbf_kernel(sigma=l))` + `PermutationTestDistanceBased`, timed on "
    f"{PEER_PERMUTATIONS} permutations, x{PERMUTATIONS // PEER_PERMUTATIONS} for 1,000"
)
OURS_KNN = "mlsentry: `OODDetector.fit(X, 'knn')` + `score(Q)`"
PYOD = "PyOD 3.6: `KNN(n_neighbors=5, method='largest').fit(X).decision_function(Q)`"
OURS_CFG = "mlsentry: `Monitor(X, ert=1000, window=50)` (threshold simulation)"


def run(sizes: Sizes, rounds: int, *, tolerate_missing: bool, log: Callable[[str], None]):
    import numpy as np

    n, d = sizes.mmd_rows, sizes.features
    sigma = bandwidth(n, d)
    log(f"monitor: mmd {n:,} x {d} per side, bandwidth {sigma:.4f}")
    frouros_py = peer_python("frouros")

    def frouros() -> object:
        if not frouros_py.exists():
            raise Unavailable(f"{frouros_py} does not exist")
        return run_isolated(
            "bench_monitor",
            "case_mmd_frouros",
            {"n": n, "d": d, "sigma": sigma},
            warmup=0,
            python=frouros_py,
            min_seconds=0,
        )

    mmd = interleave(
        [
            Candidate(
                OURS_MMD,
                lambda: run_isolated(
                    "bench_monitor",
                    "case_mmd_ours",
                    {"n": n, "d": d, "sigma": sigma},
                    warmup=0,
                    min_seconds=0,
                ),
            ),
            Candidate(FROUROS, frouros),
        ],
        rounds,
        tolerate_missing=tolerate_missing,
        log=log,
    )
    kw = {"n": sizes.ood_train, "q": sizes.ood_queries, "d": sizes.ood_features}
    log(f"monitor: knn {sizes.ood_train:,} x {sizes.ood_features}, {sizes.ood_queries:,} queries")
    knn = interleave(
        [
            Candidate(
                OURS_KNN,
                lambda: run_isolated("bench_monitor", "case_knn_ours", kw, warmup=0, min_seconds=0),
            ),
            Candidate(
                PYOD,
                lambda: run_isolated("bench_monitor", "case_knn_pyod", kw, warmup=0, min_seconds=0),
            ),
        ],
        rounds,
        tolerate_missing=tolerate_missing,
        log=log,
    )
    cfg = interleave(
        [
            Candidate(
                OURS_CFG,
                lambda: run_isolated(
                    "bench_monitor", "case_online_config", {"n": n, "d": d}, warmup=0, min_seconds=0
                ),
            )
        ],
        rounds,
        tolerate_missing=tolerate_missing,
        log=log,
    )
    ours, peer = mmd[OURS_MMD], mmd[FROUROS]
    scale = PERMUTATIONS / PEER_PERMUTATIONS
    peer_1000 = None if peer.median is None else peer.median * scale
    s_ours = ours.extras("statistic")[:1]
    s_peer = peer.extras("statistic")[:1]
    same_mmd = f"{abs(s_ours[0] - s_peer[0]):.1e}" if s_ours and s_peer else "not compared"
    ko, kp = knn[OURS_KNN], knn[PYOD]
    fo, fp = ko.extras("first")[:1], kp.extras("first")[:1]
    same_knn = (
        f"{float(np.max(np.abs(np.array(fo[0]) - np.array(fp[0])))):.1e}"
        if fo and fp
        else "not compared"
    )
    rows = [
        [
            f"mmd {n:,} x {d} a side",
            OURS_MMD,
            fmt_s(ours.median),
            fmt_x(ratio(peer_1000, ours.median)),
            fmt_mib(ours.peak_rss),
            same_mmd,
        ],
        [
            f"mmd {n:,} x {d} a side",
            FROUROS,
            fmt_s(peer_1000),
            "",
            fmt_mib(peer.peak_rss),
            same_mmd,
        ],
        [
            f"knn {sizes.ood_train:,} x 20",
            OURS_KNN,
            fmt_s(ko.median),
            fmt_x(ratio(kp.median, ko.median)),
            fmt_mib(ko.peak_rss),
            same_knn,
        ],
        [
            f"knn {sizes.ood_train:,} x 20",
            PYOD,
            fmt_s(kp.median),
            "",
            fmt_mib(kp.peak_rss),
            same_knn,
        ],
        [
            f"online {n:,} x {d}",
            OURS_CFG,
            fmt_s(cfg[OURS_CFG].median),
            "",
            fmt_mib(cfg[OURS_CFG].peak_rss),
            "",
        ],
    ]
    goals = [
        Goal(
            f"`mmd` vs frouros, {n:,} x {d} a side, 1,000 permutations",
            ratio(peer_1000, ours.median),
            GOAL_MMD,
            "x",
        ),
        Goal(
            f"OOD `knn` fit + score vs PyOD KNN, {sizes.ood_train:,} x 20",
            ratio(kp.median, ko.median),
            GOAL_KNN,
            "x",
        ),
    ]
    notes = [
        "Evidently's MMD test: not measured (no `.venv-evidently` here or in /work/main).",
        "'same': the largest absolute difference of the MMD^2 statistics, or of the first 200 "
        "kNN scores.",
        f"frouros builds the full kernel matrices for every permutation; its time for 1,000 "
        f"permutations is {PERMUTATIONS // PEER_PERMUTATIONS}x its time for "
        f"{PEER_PERMUTATIONS} (fit included once, so this slightly overstates it).",
        timing_note(rounds),
    ]
    header = ["case", "candidate", "median s", "vs peer", "peak RSS MiB", "same (abs diff)"]
    return Section(
        "Monitoring and multivariate drift",
        "MMD permutation test and OOD kNN scores against frouros and PyOD.",
        header,
        rows,
        goals,
        notes,
    )
