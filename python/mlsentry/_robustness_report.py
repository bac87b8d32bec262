"""``mlsentry.robustness.evaluate`` and its report.

``evaluate`` predicts the clean samples, attacks the correctly classified ones with each
attack at each budget, and turns the confirmed adversarial examples into the numbers a
security review asks for: robust accuracy per budget (with Wilson confidence intervals),
success rates, perturbation sizes, queries, time, and a per-class breakdown.
"""

from __future__ import annotations

import dataclasses
import html
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any, Callable, ClassVar, Optional, Union

import numpy as np

from ._audit import record_check
from .errors import InvalidInputError, InvalidTypeError, ModelError
from .report import Report, html_table
from .robustness import (
    _ALIASES,
    ATTACKS,
    AttackResult,
    Constraints,
    _as_data,
    _check_count,
    _check_eps,
    _check_norm,
    _check_seed,
    _constraints,
    _Data,
    _Model,
    _predict,
    hop_skip_jump,
    noise,
    pgd,
    square,
)

__all__ = ["AttackSummary", "RobustnessReport", "evaluate", "wilson_interval"]


def _z(confidence: float) -> float:
    """The two-sided standard normal quantile for ``confidence`` (by bisection on erf)."""
    target = confidence
    lo, hi = 0.0, 40.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if math.erf(mid / math.sqrt(2)) < target:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (Wilson 1927): ``(low, high)``.

    Examples
    --------
    >>> from mlsentry._robustness_report import wilson_interval
    >>> [round(v, 4) for v in wilson_interval(90, 100)]
    [0.8256, 0.9448]
    """
    if n == 0:
        return (0.0, 1.0)
    z = _z(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclasses.dataclass(frozen=True)
class AttackSummary:
    """One attack at one budget, over the samples the model classified correctly.

    ``success_rate`` is over those samples; the perturbation sizes (``l2``, ``linf``:
    raw norms of ``x_adv - x``; ``l0``: features changed; ``relative_l2``:
    ``||x_adv - x|| / ||x||``) are medians and means over the successful ones;
    ``queries_per_success`` counts the rows each successful sample used.
    """

    attack: str
    norm: str
    eps: Optional[float]
    attacked: int
    successes: int
    success_rate: float
    median_l2: Optional[float]
    mean_l2: Optional[float]
    median_linf: Optional[float]
    mean_linf: Optional[float]
    median_l0: Optional[float]
    mean_l0: Optional[float]
    median_relative_l2: Optional[float]
    median_distance: Optional[float]
    mean_queries_per_success: Optional[float]
    median_queries_per_success: Optional[float]
    queries: int
    calls: int
    seconds: float


def _stat(values: np.ndarray, how: Callable[[np.ndarray], Any]) -> Optional[float]:
    return float(how(values)) if values.size else None


def _summary(
    res: AttackResult, data: _Data, ok: np.ndarray, eps: Optional[float], norm: str
) -> AttackSummary:
    adv = res.adversarial.reshape(data.n, -1).astype(np.float64)
    delta = (adv - data.flat)[ok]
    x = data.flat[ok]
    l2 = np.linalg.norm(delta, axis=1)
    linf = np.abs(delta).max(axis=1) if delta.size else np.empty(0)
    l0 = (delta != 0).sum(axis=1).astype(np.float64)
    norms = np.linalg.norm(x, axis=1)
    rel = np.divide(l2, norms, out=np.full_like(l2, np.nan), where=norms > 0)
    rel = rel[np.isfinite(rel)]
    q = res.queries[ok].astype(np.float64)
    return AttackSummary(
        attack=res.attack,
        norm=norm,
        eps=eps,
        attacked=int(data.n),
        successes=int(ok.sum()),
        success_rate=float(ok.mean()) if data.n else 0.0,
        median_l2=_stat(l2, np.median),
        mean_l2=_stat(l2, np.mean),
        median_linf=_stat(linf, np.median),
        mean_linf=_stat(linf, np.mean),
        median_l0=_stat(l0, np.median),
        mean_l0=_stat(l0, np.mean),
        median_relative_l2=_stat(rel, np.median),
        median_distance=_stat(res.distance[ok], np.median),
        mean_queries_per_success=_stat(q, np.mean),
        median_queries_per_success=_stat(q, np.median),
        queries=res.rows,
        calls=res.calls,
        seconds=res.seconds,
    )


class RobustnessReport(Report):
    """What :func:`evaluate` measured.

    Attributes
    ----------
    clean_accuracy : float
        Accuracy on the clean samples; ``clean_interval`` its Wilson interval.
    eps : list of float
        The budgets, ascending.
    robust_accuracy : list of float
        Per budget: the share of samples classified correctly and not fooled by any
        attack; ``robust_interval`` the Wilson intervals.
    attacks : list of AttackSummary
        Every attack at every budget.
    per_class : list of dict
        Per class: samples, clean accuracy, robust accuracy per budget.
    threshold : float or None
        The lowest acceptable robust accuracy, checked on the lower confidence bound at
        every budget (``passed``). ``None``: the report only measures, and passes.
    queries, calls, seconds : int, int, float
        Rows sent to the model, model calls and wall time, clean predictions included.
    """

    schema: ClassVar[str] = "mlsentry/robustness-report/v1"
    title: ClassVar[str] = "Robustness evaluation"

    def __init__(
        self,
        *,
        n_samples: int,
        n_correct: int,
        eps: Sequence[float],
        robust_correct: Sequence[int],
        attacks: Sequence[AttackSummary],
        per_class: Sequence[Mapping[str, Any]],
        threshold: Optional[float],
        confidence: float,
        queries: int,
        calls: int,
        seconds: float,
        config: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, str]] = None,
        seed: Optional[int] = None,
    ) -> None:
        super().__init__(config=config, inputs=inputs, seed=seed)
        self.n_samples = n_samples
        self.n_correct = n_correct
        self.eps = list(eps)
        self.robust_correct = list(robust_correct)
        self.attacks = list(attacks)
        self.per_class = [dict(c) for c in per_class]
        self.threshold = threshold
        self.confidence = confidence
        self.queries = queries
        self.calls = calls
        self.seconds = seconds

    @property
    def clean_accuracy(self) -> float:
        return self.n_correct / self.n_samples

    @property
    def clean_interval(self) -> tuple[float, float]:
        return wilson_interval(self.n_correct, self.n_samples, self.confidence)

    @property
    def robust_accuracy(self) -> list[float]:
        return [c / self.n_samples for c in self.robust_correct]

    @property
    def robust_interval(self) -> list[tuple[float, float]]:
        return [wilson_interval(c, self.n_samples, self.confidence) for c in self.robust_correct]

    @property
    def passed(self) -> bool:
        if self.threshold is None:
            return True
        return all(lo >= self.threshold for lo, _ in self.robust_interval)

    def _payload(self) -> dict[str, Any]:
        return {
            "n_samples": self.n_samples,
            "clean_accuracy": self.clean_accuracy,
            "clean_interval": list(self.clean_interval),
            "eps": self.eps,
            "robust_accuracy": self.robust_accuracy,
            "robust_interval": [list(i) for i in self.robust_interval],
            "threshold": self.threshold,
            "confidence": self.confidence,
            "attacks": [dataclasses.asdict(a) for a in self.attacks],
            "per_class": self.per_class,
            "queries": self.queries,
            "calls": self.calls,
            "seconds": self.seconds,
        }

    def to_pandas(self) -> Any:
        """One row per attack and budget (the :class:`AttackSummary` fields)."""
        import pandas as pd

        return pd.DataFrame([dataclasses.asdict(a) for a in self.attacks])

    def summary(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        lo, hi = self.clean_interval
        lines = [
            f"{self.title}: {verdict}: clean accuracy {self.clean_accuracy:.3f} "
            f"[{lo:.3f}, {hi:.3f}] on {self.n_samples} samples"
        ]
        for eps, acc, (lo, hi) in zip(self.eps, self.robust_accuracy, self.robust_interval):
            lines.append(f"  eps {eps:g}: robust accuracy {acc:.3f} [{lo:.3f}, {hi:.3f}]")
        for a in self.attacks:
            at = "" if a.eps is None else f" eps {a.eps:g}"
            lines.append(
                f"  {a.attack}{at}: {a.successes}/{a.attacked} fooled, "
                f"{a.queries} rows in {a.calls} calls, {a.seconds:.2f} s"
            )
        if self.threshold is not None:
            lines.append(
                f"  threshold {self.threshold:g} on the lower {self.confidence:.0%} bound: "
                + ("met" if self.passed else "NOT met")
            )
        return "\n".join(lines)

    def _html_body(self) -> str:
        parts = [f"<p>{html.escape(self.summary().splitlines()[0])}.</p>", _curve_svg(self)]
        rows = [
            [f"{e:g}", f"{a:.3f}", f"[{lo:.3f}, {hi:.3f}]"]
            for e, a, (lo, hi) in zip(self.eps, self.robust_accuracy, self.robust_interval)
        ]
        parts.append(
            html_table(["eps", "robust accuracy", f"{self.confidence:.0%} interval"], rows)
        )
        fmt = lambda v: "" if v is None else f"{v:.4g}"  # noqa: E731
        parts.append("<h3>Attacks</h3>")
        parts.append(
            html_table(
                [
                    "attack",
                    "eps",
                    "fooled",
                    "median L2",
                    "median L-inf",
                    "median L0",
                    "queries/success (median)",
                    "rows",
                    "calls",
                    "seconds",
                ],
                [
                    [
                        a.attack,
                        "min-norm" if a.eps is None else f"{a.eps:g}",
                        f"{a.successes}/{a.attacked}",
                        fmt(a.median_l2),
                        fmt(a.median_linf),
                        fmt(a.median_l0),
                        fmt(a.median_queries_per_success),
                        a.queries,
                        a.calls,
                        f"{a.seconds:.2f}",
                    ]
                    for a in self.attacks
                ],
            )
        )
        parts.append("<h3>Per class</h3>")
        parts.append(
            html_table(
                ["class", "samples", "clean accuracy"] + [f"robust @ {e:g}" for e in self.eps],
                [
                    [c["class"], c["samples"], f"{c['clean_accuracy']:.3f}"]
                    + [f"{v:.3f}" for v in c["robust_accuracy"]]
                    for c in self.per_class
                ],
            )
        )
        return "".join(parts)


def _curve_svg(r: RobustnessReport) -> str:
    """Robust accuracy against eps, with its confidence band (inline SVG)."""
    if not r.eps:
        return ""
    width, height, pad = 360.0, 160.0, 30.0
    top = max(r.eps)
    xs = [pad + (width - 2 * pad) * (e / top if top else 0) for e in [0.0, *r.eps]]
    accs = [r.clean_accuracy, *r.robust_accuracy]
    band = [r.clean_interval, *r.robust_interval]

    def y(v: float) -> float:
        return height - pad - (height - 2 * pad) * v

    upper = " ".join(f"{x:.1f},{y(hi):.1f}" for x, (_, hi) in zip(xs, band))
    lower = " ".join(f"{x:.1f},{y(lo):.1f}" for x, (lo, _) in reversed(list(zip(xs, band))))
    line = " ".join(f"{x:.1f},{y(a):.1f}" for x, a in zip(xs, accs))
    parts = [
        f'<polygon points="{upper} {lower}" fill="#0969da" fill-opacity="0.15"/>',
        f'<polyline points="{line}" fill="none" stroke="#0969da" stroke-width="2"/>',
        f'<line x1="{pad}" y1="{y(0):.1f}" x2="{width - pad}" y2="{y(0):.1f}" stroke="#8c959f"/>',
        f'<line x1="{pad}" y1="{y(0):.1f}" x2="{pad}" y2="{y(1):.1f}" stroke="#8c959f"/>',
        f'<text x="{pad - 4}" y="{y(1) + 4:.1f}" font-size="10" text-anchor="end">1</text>',
        f'<text x="{pad - 4}" y="{y(0) + 4:.1f}" font-size="10" text-anchor="end">0</text>',
        f'<text x="{width - pad}" y="{height - 8}" font-size="10" text-anchor="end">'
        f"eps {top:g}</text>",
    ]
    if r.threshold is not None:
        ty = y(r.threshold)
        parts.append(
            f'<line x1="{pad}" y1="{ty:.1f}" x2="{width - pad}" y2="{ty:.1f}" '
            'stroke="#cf222e" stroke-dasharray="4 3"/>'
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'role="img"><title>robust accuracy against eps</title>{"".join(parts)}</svg>'
    )


def _attack_names(attacks: Any) -> list[str]:
    if isinstance(attacks, str):
        attacks = (attacks,)
    try:
        names = [str(a).lower() for a in attacks]
    except TypeError:
        raise InvalidTypeError(
            f"attacks: expected attack names, got {type(attacks).__name__}"
        ) from None
    out = []
    for name in names:
        name = _ALIASES.get(name, name)
        if name not in ATTACKS:
            raise InvalidInputError(
                f"attacks: unknown attack {name!r}; expected some of {', '.join(ATTACKS)} "
                '("hsj" for hop_skip_jump)'
            )
        if name not in out:
            out.append(name)
    if not out:
        raise InvalidInputError("attacks: no attack given")
    return out


def _eps_list(eps: Any) -> list[float]:
    values = [eps] if isinstance(eps, (int, float, np.number)) else list(eps)
    if not values:
        raise InvalidInputError("eps: no budget given")
    return sorted({_check_eps(e) for e in values})


def evaluate(
    model: Any,
    X: Any,
    y: Any,
    attacks: Union[str, Sequence[str]] = ("noise", "square", "hsj"),
    eps: Union[float, Sequence[float]] = 0.1,
    norm: str = "linf",
    max_queries: int = 1000,
    constraints: Optional[Constraints] = None,
    seed: int = 0,
    *,
    threshold: Optional[float] = None,
    confidence: float = 0.95,
    batch_size: Optional[int] = None,
    grad_fn: Optional[Callable[..., Any]] = None,
    progress: Any = False,
) -> RobustnessReport:
    """Evaluates how easily ``model`` is fooled on ``X``: robust accuracy per budget.

    The clean samples are predicted twice (a model that answers differently for the
    same input cannot be evaluated: :class:`~mlsentry.errors.ModelError`); the correctly
    classified ones are attacked with every attack: the eps-bounded ones (``noise``,
    ``square``, ``pgd``) at every budget, the minimum-norm ``hop_skip_jump`` once (a
    budget is met where its distance is within it). A sample counts as robust at a
    budget when it was classified correctly and no attack fooled it within that budget.

    Parameters
    ----------
    model
        A callable ``X -> scores``, an object with ``predict_proba``, or with ``predict``
        (labels only: then only ``noise`` and ``hop_skip_jump`` can run).
    X, y : array-like
        Samples (rows or images) and their labels.
    attacks : sequence of str
        Some of ``"noise"``, ``"square"``, ``"hsj"`` (``"hop_skip_jump"``), ``"pgd"``.
    eps : float or sequence of float
        The budgets (a curve when several), in ``norm``, in units of
        ``constraints.scale``.
    norm : {"linf", "l2"}
        The norm of every attack (``noise``: uniform for L-inf, Gaussian for L2).
    max_queries : int
        Rows per sample and attack at most (per budget for the eps-bounded attacks).
    constraints : Constraints, optional
        Bounds, fixed, integer and one-hot features, the unit of eps.
    seed : int
        Same seed, same report.
    threshold : float, optional
        The lowest acceptable robust accuracy: the report passes when the lower bound of
        its Wilson interval (at ``confidence``) reaches it at every budget. ``None``:
        measure only.
    confidence : float
        Of the Wilson intervals.
    batch_size : int, optional
        Largest batch given to the model.
    grad_fn : callable, optional
        ``grad_fn(X, y)`` for ``pgd`` (else gradients are estimated from scores).
    progress : bool or callable, optional
        Progress of each attack (rows sent).

    Returns
    -------
    RobustnessReport

    Raises
    ------
    ModelError
        The model raised, returned the wrong shape, NaN scores, or different answers for
        the same input (the original exception is the ``__cause__``).
    InvalidInputError, InvalidTypeError
        Bad arguments: eps not positive, X with NaN, labels the model does not have, no
        samples, unknown attack or norm.

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4)); w = np.array([1.0, -1.0, 0.5, 0.0])
    >>> y = (X @ w > 0).astype(int)
    >>> def model(x):
    ...     s = x @ w
    ...     return np.stack([-s, s], axis=1)
    >>> report = ms.robustness.evaluate(model, X, y, eps=[0.05, 0.5], max_queries=200)
    >>> report.clean_accuracy, report.robust_accuracy[0] > report.robust_accuracy[1]
    (1.0, True)
    """
    names = _attack_names(attacks)
    budgets = _eps_list(eps)
    norm = _check_norm(norm)
    max_queries = _check_count(max_queries, "max_queries", 2)
    seed = _check_seed(seed)
    if threshold is not None and not (
        isinstance(threshold, (int, float))
        and not isinstance(threshold, bool)
        and 0 <= threshold <= 1
    ):
        raise InvalidInputError(
            f"threshold: expected a robust accuracy in [0, 1], got {threshold!r}"
        )
    if not (isinstance(confidence, float) and 0 < confidence < 1):
        raise InvalidInputError(f"confidence: expected a number in (0, 1), got {confidence!r}")
    batch = 0 if batch_size is None else _check_count(batch_size, "batch_size")
    cons = _constraints(constraints)

    start = time.perf_counter()
    data = _as_data(X)
    adapter = _Model(model, data)
    labels = adapter.label_of(y, data.n)
    pred, k = _predict(adapter, data.flat, batch)
    again, _ = _predict(adapter, data.flat, batch)
    changed = int((pred != again).sum())
    if changed:
        raise ModelError(
            f"the model is not deterministic: {changed} of {data.n} predictions changed "
            "when the same input was given again; robustness results would not be "
            "reproducible (switch off dropout or sampling at inference)"
        )
    if k and (labels >= k).any():
        raise InvalidInputError(f"y: class index {int(labels.max())} but the model has {k} classes")
    calls = 2 * (math.ceil(data.n / batch) if batch else 1)
    queries = 2 * data.n
    correct = pred == labels
    idx = np.flatnonzero(correct)
    sub = _Data(np.ascontiguousarray(data.flat[idx]), data.shape, data.dtype)
    y_sub = np.asarray(y)[idx]  # the attacks map labels to classes themselves
    fooled = {e: np.zeros(data.n, dtype=bool) for e in budgets}
    summaries: list[AttackSummary] = []

    def run(name: str, e: Optional[float], attack_seed: int) -> AttackResult:
        common = dict(constraints=cons, seed=attack_seed, batch_size=batch_size, progress=progress)
        if name == "hop_skip_jump":
            return hop_skip_jump(adapter, sub, y_sub, norm=norm, max_queries=max_queries, **common)
        if name == "noise":
            kind = "uniform" if norm == "linf" else "gaussian"
            return noise(adapter, sub, y_sub, e, kind=kind, trials=max_queries - 1, **common)
        if name == "square":
            return square(adapter, sub, y_sub, e, norm=norm, max_queries=max_queries, **common)
        return pgd(
            adapter, sub, y_sub, e, norm=norm, grad_fn=grad_fn, max_queries=max_queries, **common
        )

    if idx.size:
        for a, name in enumerate(names):
            if name == "hop_skip_jump":
                res = run(name, None, seed + a)
                queries, calls = queries + res.rows, calls + res.calls
                for e in budgets:
                    ok = res.success & (res.distance <= e * (1 + 1e-9))
                    fooled[e][idx[ok]] = True
                    summaries.append(_summary(res, sub, ok, e, norm))
                continue
            for e in budgets:
                res = run(name, e, seed + a)
                queries, calls = queries + res.rows, calls + res.calls
                fooled[e][idx[res.success]] = True
                summaries.append(_summary(res, sub, res.success, e, norm))

    robust = {e: correct & ~fooled[e] for e in budgets}
    per_class = []
    for c in np.unique(labels):
        mask = labels == c
        label = adapter.classes[c].item() if adapter.classes is not None else int(c)
        per_class.append(
            {
                "class": label,
                "samples": int(mask.sum()),
                "clean_accuracy": float(correct[mask].mean()),
                "robust_accuracy": [float(robust[e][mask].mean()) for e in budgets],
            }
        )
    from ._fingerprint import fingerprint

    inputs = {"X": fingerprint(np.asarray(X)), "y": fingerprint(np.asarray(y))}
    report = RobustnessReport(
        n_samples=data.n,
        n_correct=int(correct.sum()),
        eps=budgets,
        robust_correct=[int(robust[e].sum()) for e in budgets],
        attacks=summaries,
        per_class=per_class,
        threshold=None if threshold is None else float(threshold),
        confidence=confidence,
        queries=queries,
        calls=calls,
        seconds=time.perf_counter() - start,
        config={
            "attacks": names,
            "eps": budgets,
            "norm": norm,
            "max_queries": max_queries,
            "batch_size": batch_size,
            "model": adapter.kind,
            "classes": k,
            "constraints": {
                "lower": None if cons.lower is None else np.asarray(cons.lower).tolist(),
                "upper": None if cons.upper is None else np.asarray(cons.upper).tolist(),
                "mutable": None if cons.mutable is None else np.asarray(cons.mutable).tolist(),
                "integer": None if cons.integer is None else np.asarray(cons.integer).tolist(),
                "one_hot_groups": [list(map(int, g)) for g in cons.one_hot_groups],
                "scale": cons.scale
                if isinstance(cons.scale, str) or cons.scale is None
                else np.asarray(cons.scale).tolist(),
            },
        },
        inputs=inputs,
        seed=seed,
    )
    record_check(
        "robustness.evaluate",
        report.passed,
        report.inputs,
        clean_accuracy=report.clean_accuracy,
        eps=budgets,
        robust_accuracy=report.robust_accuracy,
        threshold=report.threshold,
    )
    return report
