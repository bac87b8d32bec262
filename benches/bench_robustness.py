"""Robustness: mlsentry's black-box attacks against IBM ART's, same model, data and budget.

HopSkipJump (L2, decision-based). The setup of ``shared/ANCHORS.md``:
``make_classification(n_samples=4000, n_features=20, n_informative=10, random_state=0)``,
standardised (``StandardScaler().fit_transform`` over the 4,000 rows), float32;
``MLPClassifier((64, 64), max_iter=300, random_state=0)`` fit on the first 3,000 rows; the
attacked rows are 3000..3099. ART: ``BlackBoxClassifier(predict_proba, input_shape=(20,),
nb_classes=2, clip_values=(-5, 5))`` and ``HopSkipJump(norm=2, max_iter=20, max_eval=1000,
init_eval=100)`` (``targeted=False``, the default), ``generate(x, y)``; ours:
``mlsentry.robustness.hop_skip_jump(model, x, y, norm="l2", max_iter=20, max_eval=1000,
init_eval=100, constraints=Constraints(lower=-5, upper=5), seed=0)``.

Square (L-inf, score-based) on images: ``sklearn.datasets.load_digits`` (1,797 images of 8x8
pixels, scaled to [0, 1], float32, shaped ``(n, 8, 8, 1)``); ``MLPClassifier((64,),
max_iter=300, random_state=0)`` fit on the first 1,500 images (as rows of 64 pixels); the
attacked images are 1500..1599. Its ``predict_proba`` reshapes the images to rows. ART:
``BlackBoxClassifierNeuralNetwork(predict, input_shape=(8, 8, 1), nb_classes=10,
clip_values=(0, 1), channels_first=False)`` (SquareAttack needs a neural-network estimator)
and ``SquareAttack(norm=np.inf, eps=EPS, max_iter=Q, p_init=P_INIT, nb_restarts=1)``; ours:
``mlsentry.robustness.square(model, x, y, eps=EPS, norm="linf", max_queries=Q, p_init=P_INIT,
constraints=Constraints(lower=0, upper=1), seed=0)``.

Rows the model already gets wrong are attacked by neither side (both get the same rows: those of
the range the model classifies correctly). They are not attacks: ART's untargeted HopSkipJump
walks away from the model's prediction (for a misclassified row of two classes, towards its true
class) and its SquareAttack leaves them as they are, counted as fooled; ours returns such a row
as its own adversarial at distance 0 after one query. Keeping them out makes the counts, times
and medians those of the same job.

Model calls and rows are counted by one wrapper around ``predict_proba`` (the callable each side
is given); ours' own ``result.calls`` / ``result.rows`` are checked against it. Success is
checked after the timed call by asking the model again (uncounted): a sample counts as fooled
when its returned example is predicted otherwise than its label and lies within the bounds (and,
for Square, within eps of the input).

The driver trains the two models once (cached under ``benches/out/data`` by scikit-learn
version) and pickles them with their data; every child loads the same pickle before anything is
timed. ART 1.20.1 is pure Python and lives in ``.venv`` (``make bench-peers``).
"""

from __future__ import annotations

import os
import pickle
import statistics
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

from _timing import (
    OUT_DIR,
    Candidate,
    Case,
    Goal,
    Measurement,
    Section,
    Unavailable,
    fmt_s,
    fmt_x,
    interleave,
    ratio,
    require,
    run_isolated,
    timing_note,
)

DATA = OUT_DIR / "data"
SEED = 0

# Goals of issue 5 (never weakened).
GOAL_HSJ_CALLS = 20.0  # at least 20x fewer model calls than ART
GOAL_HSJ_TIME = 5.0  # at least 5x less wall time
GOAL_SQUARE_TIME = 3.0  # at least 3x faster
# and: median L2 no larger than ART's, no more rows queried, Square success rate at least ART's.

# HopSkipJump (ANCHORS.md)
HSJ_START, HSJ_MAX_EVAL, HSJ_INIT_EVAL, HSJ_CLIP = 3000, 1000, 100, (-5.0, 5.0)
# Square
SQ_START, SQ_TRAIN, EPS, P_INIT = 1500, 1500, 0.1, 0.8
ART_HSJ_BATCH = 64  # HopSkipJump's default batch_size: ART's predict calls hold at most 64 rows
ART_SQ_BATCH = 128  # SquareAttack's default batch_size


@dataclass(frozen=True)
class Sizes:
    hsj_rows: int  # rows HSJ_START.. (those the model gets right are attacked)
    hsj_max_iter: int
    sq_rows: int  # images SQ_START..
    sq_queries: int  # ART's max_iter = ours' max_queries


FULL = Sizes(hsj_rows=100, hsj_max_iter=20, sq_rows=100, sq_queries=1000)
QUICK = Sizes(hsj_rows=30, hsj_max_iter=20, sq_rows=50, sq_queries=300)
SMOKE = Sizes(hsj_rows=5, hsj_max_iter=2, sq_rows=10, sq_queries=20)


# --------------------------------------------------------------------------- data and models


def _quiet() -> None:
    warnings.filterwarnings("ignore")  # ART warns that PyTorch is missing; sklearn convergence


def _bundle_path(task: str) -> Path:
    import sklearn

    return DATA / f"robustness-{task}-sklearn{sklearn.__version__}.pkl"


def _train(task: str) -> dict:
    import numpy as np
    from sklearn.neural_network import MLPClassifier

    if task == "tabular":
        from sklearn.datasets import make_classification
        from sklearn.preprocessing import StandardScaler

        X, y = make_classification(n_samples=4000, n_features=20, n_informative=10, random_state=0)
        X = StandardScaler().fit_transform(X).astype(np.float32)
        model = MLPClassifier((64, 64), max_iter=300, random_state=0).fit(X[:3000], y[:3000])
    else:
        from sklearn.datasets import load_digits

        digits = load_digits()
        X = (digits.data / 16.0).astype(np.float32).reshape(-1, 8, 8, 1)
        y = digits.target
        model = MLPClassifier((64,), max_iter=300, random_state=0)
        model.fit(X[:SQ_TRAIN].reshape(SQ_TRAIN, -1), y[:SQ_TRAIN])
    return {"X": X, "y": y.astype(np.int64), "model": model}


def prepare(log: Callable[[str], None]) -> dict[str, str]:
    """Train both models once (cached by scikit-learn version); driver side."""
    try:
        import sklearn  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(
            "robustness benchmark needs scikit-learn in .venv: run `make bench-peers`"
        ) from exc
    DATA.mkdir(parents=True, exist_ok=True)
    paths = {}
    for task in ("tabular", "digits"):
        path = _bundle_path(task)
        if not path.exists():
            log(f"robustness: training the {task} model (once, cached in {path})")
            _quiet()
            bundle = _train(task)
            with tempfile.NamedTemporaryFile(dir=DATA, suffix=".tmp", delete=False) as tmp:
                pickle.dump(bundle, tmp, protocol=5)
            os.replace(tmp.name, path)  # atomic: a concurrent run never reads half a file
        paths[task] = str(path)
    return paths


class Counter:
    """The model as both sides get it: ``predict_proba`` of rows, counting calls and rows."""

    def __init__(self, model: Any, image: bool) -> None:
        self.model, self.image = model, image
        self.calls = self.rows = 0
        self.seconds = 0.0  # wall time inside the model

    def reset(self) -> None:
        self.calls = self.rows = 0
        self.seconds = 0.0

    def __call__(self, x):
        self.calls += 1
        self.rows += len(x)
        t0 = time.perf_counter()
        out = self.model.predict_proba(x.reshape(len(x), -1) if self.image else x)
        self.seconds += time.perf_counter() - t0
        return out

    def counts(self) -> dict:
        return {"calls": self.calls, "rows": self.rows, "model_seconds": self.seconds}


def load(path: str, start: int, rows: int):
    """The attacked samples (those of ``start .. start+rows`` the model gets right)."""
    _quiet()
    with open(path, "rb") as fh:
        bundle = pickle.load(fh)
    X, y, model = (
        bundle["X"][start : start + rows],
        bundle["y"][start : start + rows],
        bundle["model"],
    )
    right = model.predict(X.reshape(len(X), -1)) == y
    return (
        X[right].copy(),
        y[right].copy(),
        model,
        {"range_rows": len(X), "attacked": int(right.sum())},
    )


def _versions() -> dict:
    import numpy as np
    import scipy
    import sklearn

    return {"numpy": np.__version__, "scipy": scipy.__version__, "sklearn": sklearn.__version__}


def _outcome(X, y, adv, model, norm: str, lo: float, hi: float, eps: Optional[float] = None):
    """Fooled samples and their distances, checked by asking the model again (uncounted)."""
    import numpy as np

    adv = np.asarray(adv)
    n = len(X)
    delta = (adv.astype(np.float64) - X.astype(np.float64)).reshape(n, -1)
    dist = np.linalg.norm(delta, axis=1) if norm == "l2" else np.abs(delta).max(axis=1)
    flat = adv.reshape(n, -1)
    fooled = model.predict(flat) != y
    ok = fooled & (flat >= lo).all(axis=1) & (flat <= hi).all(axis=1)
    if eps is not None:
        ok &= dist <= eps * (1 + 1e-6)
    good = dist[ok]
    return (
        ok,
        dist,
        {
            "success": int(ok.sum()),
            "fooled_out_of_bounds": int((fooled & ~ok).sum()),
            "median_dist": float(np.median(good)) if good.size else None,
            "mean_dist": float(good.mean()) if good.size else None,
            "max_dist": float(good.max()) if good.size else None,
        },
    )


# --------------------------------------------------------------------------- child cases


def _ours_extra(X, y, model, info: dict, norm: str, lo: float, hi: float, eps=None):
    import numpy as np

    import mlsentry

    def extra(out) -> dict:
        res, counts = out
        ok, dist, stats = _outcome(X, y, res.adversarial, model, norm, lo, hi, eps)
        theirs = np.asarray(res.distance)
        reported = np.asarray(res.success, dtype=bool)
        both = ok & reported
        q = np.asarray(res.queries)
        return dict(
            info,
            **stats,
            **_versions(),
            mlsentry=getattr(mlsentry, "__version__", "?"),
            **counts,
            reported_calls=int(res.calls),
            reported_rows=int(res.rows),
            reported_success=int(reported.sum()),
            success_disagree=int((ok != reported).sum()),
            distance_max_abs_diff=float(np.abs(theirs[both] - dist[both]).max())
            if both.any()
            else None,
            queries_median=float(np.median(q)),
            queries_max=int(q.max()),
            queries_sum=int(q.sum()),
            reported_seconds=float(res.seconds),
        )

    return extra


def _art_extra(X, y, model, info: dict, norm: str, lo, hi, eps=None):
    import art

    def extra(out) -> dict:
        adv, counts = out
        _, _, stats = _outcome(X, y, adv, model, norm, lo, hi, eps)
        return dict(info, **stats, **_versions(), art=art.__version__, **counts)

    return extra


def case_hsj_ours(path: str, rows: int, max_iter: int) -> Case:
    hop_skip_jump = require("mlsentry.robustness", "hop_skip_jump")
    Constraints = require("mlsentry.robustness", "Constraints")
    X, y, model, info = load(path, HSJ_START, rows)
    counter = Counter(model, image=False)
    lo, hi = HSJ_CLIP

    def call():
        counter.reset()
        res = hop_skip_jump(
            counter,
            X,
            y,
            norm="l2",
            max_iter=max_iter,
            max_eval=HSJ_MAX_EVAL,
            init_eval=HSJ_INIT_EVAL,
            constraints=Constraints(lower=lo, upper=hi),
            seed=SEED,
        )
        return res, counter.counts()

    return Case(call=call, extra=_ours_extra(X, y, model, info, "l2", lo, hi))


def case_hsj_art(path: str, rows: int, max_iter: int) -> Case:
    import numpy as np
    from art.attacks.evasion import HopSkipJump
    from art.estimators.classification import BlackBoxClassifier

    X, y, model, info = load(path, HSJ_START, rows)
    counter = Counter(model, image=False)
    lo, hi = HSJ_CLIP

    def call():
        counter.reset()
        # ART draws its gradient-estimate noise from numpy's global generator (seeded here)
        # and its starting points from an unseeded RandomState (not reproducible).
        np.random.seed(SEED)
        classifier = BlackBoxClassifier(
            counter, input_shape=(20,), nb_classes=2, clip_values=(lo, hi)
        )
        attack = HopSkipJump(
            classifier,
            norm=2,
            max_iter=max_iter,
            max_eval=HSJ_MAX_EVAL,
            init_eval=HSJ_INIT_EVAL,
            targeted=False,
            verbose=False,
        )
        adv = attack.generate(X, y)
        return adv, counter.counts()

    return Case(call=call, extra=_art_extra(X, y, model, info, "l2", lo, hi))


def case_square_ours(path: str, rows: int, queries: int) -> Case:
    square = require("mlsentry.robustness", "square")
    Constraints = require("mlsentry.robustness", "Constraints")
    X, y, model, info = load(path, SQ_START, rows)
    counter = Counter(model, image=True)

    def call():
        counter.reset()
        res = square(
            counter,
            X,
            y,
            eps=EPS,
            norm="linf",
            max_queries=queries,
            p_init=P_INIT,
            constraints=Constraints(lower=0, upper=1),
            seed=SEED,
        )
        return res, counter.counts()

    return Case(call=call, extra=_ours_extra(X, y, model, info, "linf", 0.0, 1.0, EPS))


def case_square_art(path: str, rows: int, queries: int) -> Case:
    import numpy as np
    from art.attacks.evasion import SquareAttack
    from art.estimators.classification import BlackBoxClassifierNeuralNetwork

    X, y, model, info = load(path, SQ_START, rows)
    counter = Counter(model, image=True)

    def call():
        counter.reset()
        np.random.seed(SEED)  # ART draws from numpy's global generator
        classifier = BlackBoxClassifierNeuralNetwork(
            counter,
            input_shape=X.shape[1:],
            nb_classes=10,
            clip_values=(0.0, 1.0),
            channels_first=False,
        )
        attack = SquareAttack(
            classifier,
            norm=np.inf,
            max_iter=queries,
            eps=EPS,
            p_init=P_INIT,
            nb_restarts=1,
            verbose=False,
        )
        adv = attack.generate(X, y)
        return adv, counter.counts()

    return Case(call=call, extra=_art_extra(X, y, model, info, "linf", 0.0, 1.0, EPS))


# --------------------------------------------------------------------------- the benchmark

OURS_HSJ = "mlsentry `hop_skip_jump` (L2)"
ART_HSJ = "ART `HopSkipJump` (L2)"
OURS_SQ = f"mlsentry `square` (L-inf, eps {EPS:g})"
ART_SQ = f"ART `SquareAttack` (L-inf, eps {EPS:g})"
PEER_OF = {OURS_HSJ: ART_HSJ, OURS_SQ: ART_SQ}
ART_WARMUP = 0  # one ART attack takes seconds; its second call is no faster


def _art_available() -> Optional[str]:
    import importlib.util

    if importlib.util.find_spec("art") is None:
        return "adversarial-robustness-toolbox is not installed in .venv (make bench-peers)"
    return None


def run(sizes: Sizes, rounds: int, *, tolerate_missing: bool, log: Callable[[str], None]):
    missing_art = _art_available()
    if missing_art and not tolerate_missing:
        raise RuntimeError(missing_art)
    paths = prepare(log)

    def ours(func: str, **kw):
        return lambda: run_isolated("bench_robustness", func, kw)

    def art(func: str, **kw):
        def go():
            if missing_art:
                raise Unavailable(missing_art)
            return run_isolated("bench_robustness", func, kw, warmup=ART_WARMUP)

        return go

    hsj = {"path": paths["tabular"], "rows": sizes.hsj_rows, "max_iter": sizes.hsj_max_iter}
    sq = {"path": paths["digits"], "rows": sizes.sq_rows, "queries": sizes.sq_queries}
    log(
        f"robustness: HopSkipJump on rows {HSJ_START}..{HSJ_START + sizes.hsj_rows - 1} "
        f"(max_iter {sizes.hsj_max_iter}) and Square on digits {SQ_START}.."
        f"{SQ_START + sizes.sq_rows - 1} ({sizes.sq_queries} queries), {rounds} round(s)"
    )
    # Ours first: a missing function fails the run at once, not after the peers.
    res = interleave(
        [
            Candidate(OURS_HSJ, ours("case_hsj_ours", **hsj)),
            Candidate(ART_HSJ, art("case_hsj_art", **hsj)),
            Candidate(OURS_SQ, ours("case_square_ours", **sq)),
            Candidate(ART_SQ, art("case_square_art", **sq)),
        ],
        rounds,
        tolerate_missing=tolerate_missing,
        log=log,
    )
    return _section(res, sizes, rounds)


def _med(m: Measurement, key: str) -> Optional[float]:
    vals = [v for v in m.extras(key) if v is not None]
    return statistics.median(vals) if vals else None


def _first(m: Measurement, key: str) -> Any:
    vals = m.extras(key)
    return vals[0] if vals else None


def _spread(m: Measurement, key: str, fmt: str = "{:,}") -> str:
    """The median over rounds, with the range when the rounds differ."""
    vals = [v for v in m.extras(key) if v is not None]
    if not vals:
        return "—"
    med = fmt.format(statistics.median(vals))
    lo, hi = min(vals), max(vals)
    return med if lo == hi else f"{med} ({fmt.format(lo)} to {fmt.format(hi)})"


def _div(a: Optional[float], b: Optional[float]) -> Optional[float]:
    return a / b if a is not None and b else None


def _rate_ratio(art: Optional[float], ours: Optional[float]) -> Optional[float]:
    """ART's success rate over ours (both 0: equal, 1.0)."""
    if art is None or ours is None:
        return None
    if ours == 0:
        return 1.0 if art == 0 else float("inf")
    return art / ours


def _section(res: dict[str, Measurement], sizes: Sizes, rounds: int) -> Section:
    med_t = {name: m.median for name, m in res.items()}
    rows = []
    for name in (OURS_HSJ, ART_HSJ, OURS_SQ, ART_SQ):
        m = res[name]
        peer = PEER_OF.get(name)
        calls_vs = rows_vs = ""
        if peer:
            calls_vs = fmt_x(_div(_med(res[peer], "calls"), _med(m, "calls")))
            rows_vs = fmt_x(_div(_med(res[peer], "rows"), _med(m, "rows")))
        attacked = _first(m, "attacked")
        succ = _med(m, "success")
        is_hsj = name in (OURS_HSJ, ART_HSJ)
        dist = _spread(m, "median_dist", "{:.4f}") if is_hsj else _spread(m, "max_dist", "{:.4f}")
        rows.append(
            [
                name,
                "missing: " + m.missing if m.missing else fmt_s(m.median),
                fmt_s(m.best),
                fmt_x(ratio(med_t[peer], m.median)) if peer else "",
                fmt_s(_med(m, "model_seconds")),
                _spread(m, "calls", "{:,.0f}"),
                calls_vs,
                _spread(m, "rows", "{:,.0f}"),
                rows_vs,
                "—" if attacked is None else f"{attacked} of {_first(m, 'range_rows')}",
                "—"
                if succ is None or not attacked
                else f"{_spread(m, 'success', '{:.0f}')} ({100 * succ / attacked:.1f}%)",
                dist,
            ]
        )

    ours_h, art_h, ours_s, art_s = (res[k] for k in (OURS_HSJ, ART_HSJ, OURS_SQ, ART_SQ))
    ours_rate = _div(_med(ours_s, "success"), _first(ours_s, "attacked"))
    art_rate = _div(_med(art_s, "success"), _first(art_s, "attacked"))
    calls_frac = _div(_med(ours_h, "calls"), _med(art_h, "calls"))
    fewer = f" (measured: {1 / calls_frac:.1f}x fewer)" if calls_frac else ""
    goals = [
        Goal(
            "HopSkipJump: median L2 of the successful samples no larger than ART's",
            _div(_med(ours_h, "median_dist"), _med(art_h, "median_dist")),
            1.0,
            "ART's median L2",
            at_most=True,
        ),
        Goal(
            "HopSkipJump: no more rows queried than ART",
            _div(_med(ours_h, "rows"), _med(art_h, "rows")),
            1.0,
            "ART's rows",
            at_most=True,
        ),
        Goal(
            f"HopSkipJump: at least {GOAL_HSJ_CALLS:g}x fewer model calls than ART, i.e. "
            f"ours / ART's at most {1 / GOAL_HSJ_CALLS:g}{fewer}",
            calls_frac,
            1 / GOAL_HSJ_CALLS,
            "ART's model calls",
            at_most=True,
        ),
        Goal(
            f"HopSkipJump: at least {GOAL_HSJ_TIME:g}x less wall time than ART",
            ratio(med_t[ART_HSJ], med_t[OURS_HSJ]),
            GOAL_HSJ_TIME,
            "x",
        ),
        Goal(
            "Square: success rate at least ART's (measured: ART's rate as a multiple of ours)",
            _rate_ratio(art_rate, ours_rate),
            1.0,
            "ours' success rate",
            at_most=True,
        ),
        Goal(
            f"Square: at least {GOAL_SQUARE_TIME:g}x faster than ART (wall time)",
            ratio(med_t[ART_SQ], med_t[OURS_SQ]),
            GOAL_SQUARE_TIME,
            "x",
        ),
    ]
    notes = _notes(res, sizes, rounds)
    intro = (
        "Black-box attacks on the same scikit-learn models, data and budgets as IBM ART's: "
        "HopSkipJump (decision-based, minimum L2) on a tabular MLP, the Square Attack "
        "(score-based, L-inf) on an image MLP. Ours batches every round of an attack across all "
        "samples into one model call; ART attacks one sample at a time (HopSkipJump) or calls "
        "the model three times per iteration (Square)."
    )
    header = [
        "candidate",
        "median s",
        "best s",
        "time vs ART",
        "in the model s",
        "model calls",
        "calls vs ART",
        "rows queried",
        "rows vs ART",
        "samples attacked",
        "successful",
        "median L2 (HSJ) / max L-inf (Square) of successes",
    ]
    title = (
        f"Robustness: HopSkipJump on {sizes.hsj_rows} tabular rows, Square on {sizes.sq_rows} "
        "images, vs IBM ART"
    )
    return Section(title, intro, header, rows, goals, notes)


def _model_share_note(res: dict[str, Measurement]) -> str:
    parts = []
    for ours, peer, what in ((OURS_HSJ, ART_HSJ, "HopSkipJump"), (OURS_SQ, ART_SQ, "Square")):
        o, p = res[ours], res[peer]
        om, pm = _med(o, "model_seconds"), _med(p, "model_seconds")
        oc, pc = _med(o, "calls"), _med(p, "calls")
        if None in (om, pm, oc, pc, o.median, p.median) or not oc or not pc:
            continue
        parts.append(
            f"{what}: ours spends {om:.3f} s in the model ({1e3 * om / oc:.3f} ms per call) and "
            f"{max(0.0, o.median - om):.3f} s outside it; ART {pm:.3f} s in the model "
            f"({1e3 * pm / pc:.3f} ms per call) and {max(0.0, p.median - pm):.3f} s outside it."
        )
    if not parts:
        return "Time in the model: not measured."
    return (
        "Where the time goes (median s minus 'in the model s'): "
        + " ".join(parts)
        + " This small MLP's `predict_proba` costs about the same per call for a few dozen rows "
        "as for a few, so where ART already batches across samples (SquareAttack: three calls "
        "per iteration for all samples) the ratio of calls (about 3x) bounds the speed-up that "
        "one call per round can reach. Ours' large HopSkipJump batches (thousands of rows) make "
        "the model's OpenBLAS use both cores, which slows them down when other processes "
        "compete for the machine (spread of the times: " + _spread_note(res) + ")."
    )


def _spread_note(res: dict[str, Measurement]) -> str:
    return "; ".join(
        f"{name.split(' (')[0]} {min(m.seconds):.3f} to {max(m.seconds):.3f} s"
        for name, m in res.items()
        if m.seconds
    )


def _versions_note(res: dict[str, Measurement]) -> str:
    ours, art = res[OURS_HSJ], res[ART_HSJ]
    src = ours if ours.samples else art
    parts = [
        f"scikit-learn {_first(src, 'sklearn') or '?'}",
        f"numpy {_first(src, 'numpy') or '?'}",
        f"scipy {_first(src, 'scipy') or '?'}",
        f"adversarial-robustness-toolbox {_first(art, 'art') or 'not measured'} (in `.venv`)",
        f"mlsentry {_first(ours, 'mlsentry') or 'not measured'}",
    ]
    return "Versions: " + ", ".join(parts) + "."


def _check_note(m: Measurement) -> str:
    if not m.samples:
        return f"{m.name}: not measured."
    calls, rows = m.extras("calls"), m.extras("rows")
    rc, rr = m.extras("reported_calls"), m.extras("reported_rows")
    same = calls == rc and rows == rr
    text = f"{m.name}: `result.calls` / `result.rows` " + (
        "equal the counter's"
        if same
        else f"DIFFER from the counter's (reported {rc} / {rr}, counted {calls} / {rows})"
    )
    text += (
        f"; rows per sample (`result.queries`): median {_first(m, 'queries_median'):,.0f}, "
        f"max {_first(m, 'queries_max'):,}"
    )
    if _first(m, "queries_sum") != _first(m, "rows"):
        text += f" (sum {_first(m, 'queries_sum'):,} vs rows {_first(m, 'rows'):,})"
    disagree = _first(m, "success_disagree")
    text += (
        "; `result.success` agrees with a fresh check of every sample"
        if not disagree
        else f"; `result.success` DISAGREES with a fresh check on {disagree} sample(s)"
    )
    diff = _first(m, "distance_max_abs_diff")
    if diff is not None:
        text += (
            "; `result.distance` vs the distance recomputed from `adversarial`: "
            f"max |diff| {diff:.1e}"
        )
    oob = _first(m, "fooled_out_of_bounds")
    if oob:
        text += f"; {oob} fooled sample(s) outside the bounds or budget (not counted)"
    return text + "."


def _notes(res: dict[str, Measurement], sizes: Sizes, rounds: int) -> list[str]:
    Q = sizes.sq_queries
    art_h, art_s = res[ART_HSJ], res[ART_SQ]
    hsj_batch_note = (
        f"ART's `BlackBoxClassifier.predict` splits every request into batches of the attack's "
        f"`batch_size` (HopSkipJump's default {ART_HSJ_BATCH}; SquareAttack's {ART_SQ_BATCH}), one "
        "model call each; its HopSkipJump predicts the inputs once first and the returned "
        "examples once at the end (a success-rate log line): those calls count too, as they are "
        "part of `generate`."
    )
    art_oob = [
        f"{m.name}: {_first(m, 'fooled_out_of_bounds')} fooled sample(s) outside the bounds"
        for m in (art_h, art_s)
        if _first(m, "fooled_out_of_bounds")
    ]
    return [
        f"HopSkipJump data: rows {HSJ_START}..{HSJ_START + sizes.hsj_rows - 1} of the "
        "`make_classification` set of ANCHORS.md (MLP fit on the first 3,000); the "
        f"{_first(res[OURS_HSJ], 'attacked') or _first(art_h, 'attacked')} of them that the model "
        "classifies correctly are attacked by both sides (module docstring: rows already "
        "misclassified are no attack; ANCHORS' ART figures are for all 100 rows). "
        f"max_iter {sizes.hsj_max_iter}, max_eval {HSJ_MAX_EVAL}, init_eval {HSJ_INIT_EVAL}, "
        f"init_size 100 and gamma 1 (both sides' defaults), bounds {HSJ_CLIP} (ART's "
        "`clip_values`, ours' `Constraints(lower, upper)`).",
        f"Square data: `load_digits` images {SQ_START}..{SQ_START + sizes.sq_rows - 1} (pixels / "
        f"16, shape (n, 8, 8, 1)), MLP fit on the first {SQ_TRAIN}; the ones the model gets right "
        f"are attacked. eps {EPS:g} (L-inf, pixels in [0, 1]), p_init {P_INIT:g} on both sides "
        "(ART's default and the authors' setting for MNIST; ours' default is 0.05, theirs for "
        "ImageNet), one restart. "
        f"Budget: ART `max_iter={Q}`, ours `max_queries={Q}`. ART evaluates the vertical-stripe "
        f"start and then one new candidate per sample in each of its {Q} iterations ({Q + 1} "
        "points), but asks the model three times per iteration: the predictions of every "
        "sample (fooled ones included), the loss of the current points again, and the loss of "
        "the candidates, so up to 3 rows per sample and iteration. Ours' `max_queries` counts "
        "rows per sample, everything included: the clean row and the stripe start (one round, "
        f"2 rows), one candidate per iteration, and one confirmation row: {Q - 3} iterations "
        f"after the start ({Q - 2} points), at most {Q} rows per sample in all.",
        hsj_batch_note,
        "Counting: one wrapper around `predict_proba` (the callable each side is given) counts "
        "model calls and rows and times the calls (column 'in the model s': the wall time "
        "inside `predict_proba` during a process's last timed call, median over the rounds; the "
        "rest of 'median s' is the attack's own work around the model); success and distances "
        "are recomputed after the timed call from the returned examples with an uncounted "
        "`model.predict` (fooled, within the bounds, and for Square within eps). The median L2 "
        "is over each side's successful samples (returned example minus input, float64).",
        "Randomness: ours is seeded (`seed=0`), the same in every round. ART draws its "
        "HopSkipJump starting points from an unseeded `np.random.RandomState()`, so its "
        "counts and distances vary from round to round (cells show the median over rounds and "
        "the range); its noise and SquareAttack's squares come from numpy's global generator, "
        f"seeded with `np.random.seed({SEED})` before each call. Goals use the medians over the "
        "rounds.",
        _model_share_note(res),
        _check_note(res[OURS_HSJ]),
        _check_note(res[OURS_SQ]),
        *art_oob,
        timing_note(rounds)
        + f" ART runs {ART_WARMUP} warm-up calls (one attack takes seconds); its time includes "
        "building the `BlackBoxClassifier` and the attack object (microseconds). Ratios are "
        "ART's median over ours; ours uses the machine's worker threads, ART one thread (both "
        "share the model, whose `predict_proba` may use BLAS threads).",
        _versions_note(res),
    ]
