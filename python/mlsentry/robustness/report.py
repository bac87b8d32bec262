"""The report of :func:`~mlsentry.robustness.evaluate`: :class:`RobustnessReport`, one
:class:`AttackSummary` per attack and budget, and Wilson intervals."""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Mapping, Sequence
from typing import Any, Callable, ClassVar, Optional

import numpy as np

from ..errors import require
from ..report import Report, eps_name, html_table, name_part
from .attacks import AttackResult
from .model import Data


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
    >>> from mlsentry.robustness import wilson_interval
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


def summarise_attack(
    res: AttackResult, data: Data, ok: np.ndarray, eps: Optional[float], norm: str
) -> AttackSummary:
    adv = res.features
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

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> RobustnessReport:
        n = int(data["n_samples"])
        return cls(
            n_samples=n,
            n_correct=round(data["clean_accuracy"] * n),
            eps=list(data["eps"]),
            robust_correct=[round(a * n) for a in data["robust_accuracy"]],
            attacks=[AttackSummary(**a) for a in data["attacks"]],
            per_class=data["per_class"],
            threshold=data["threshold"],
            confidence=float(data["confidence"]),
            queries=int(data["queries"]),
            calls=int(data["calls"]),
            seconds=float(data["seconds"]),
            **meta,
        )

    @property
    def passed(self) -> Optional[bool]:
        """Whether the lower confidence bound of the robust accuracy meets ``threshold`` at
        every budget; ``None`` (no verdict) when no threshold was set."""
        if self.threshold is None:
            return None
        return all(lo >= self.threshold for lo, _ in self.robust_interval)

    def _threshold_line(self) -> str:
        """What the threshold decided, naming the budgets that missed it."""
        if self.threshold is None:
            return "no threshold set: robust accuracy is measured, not judged"
        bar = f"threshold {self.threshold:g} on the lower {self.confidence:.0%} bound"
        missed = [
            f"eps {e:g} (lower bound {lo:.3f})"
            for e, (lo, _) in zip(self.eps, self.robust_interval)
            if lo < self.threshold
        ]
        return f"{bar}: " + (
            "met at every eps" if not missed else "NOT met at " + ", ".join(missed)
        )

    def _metrics(self, p: str, column_metrics: int) -> dict[str, float]:
        """``clean_accuracy``, ``n_samples``, ``robust_accuracy.eps_<e>`` and its lower
        confidence bound ``robust_accuracy_lower.eps_<e>`` per budget,
        ``attack.<attack>.success_rate.eps_<e>``, ``queries`` and ``seconds``."""
        out = {
            f"{p}.clean_accuracy": float(self.clean_accuracy),
            f"{p}.n_samples": float(self.n_samples),
        }
        for e, acc, (low, _) in zip(self.eps, self.robust_accuracy, self.robust_interval):
            out[f"{p}.robust_accuracy.{eps_name(e)}"] = float(acc)
            out[f"{p}.robust_accuracy_lower.{eps_name(e)}"] = float(low)
        for a in self.attacks:
            if a.eps is not None:
                name = f"{p}.attack.{name_part(a.attack)}.success_rate.{eps_name(a.eps)}"
                out[name] = float(a.success_rate)
        out[f"{p}.queries"] = float(self.queries)
        out[f"{p}.seconds"] = float(self.seconds)
        return out

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
        pd = require("pandas", "pandas", f"{type(self).__name__}.to_pandas()")

        return pd.DataFrame([dataclasses.asdict(a) for a in self.attacks])

    def summary(self) -> str:
        verdict = self.verdict
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
        lines.append("  " + self._threshold_line())
        return "\n".join(lines)

    def _html_body(self) -> str:
        parts = [
            f"<p>{html.escape(self.summary().splitlines()[0])}.</p>",
            f"<p><b>{html.escape(_sentence(self._threshold_line()))}.</b></p>",
            _curve_svg(self),
        ]
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


def _sentence(text: str) -> str:
    """``text`` with its first letter in upper case (``str.capitalize`` would lower the rest)."""
    return text[:1].upper() + text[1:]


def eps_unit(r: RobustnessReport) -> str:
    """What one unit of eps is, from the report's norm and constraints."""
    config = r.config or {}
    norm = {"linf": "L∞", "l2": "L2"}.get(config.get("norm", ""), config.get("norm", ""))
    scale = (config.get("constraints") or {}).get("scale")
    if scale == "std":
        unit = "standard deviations of each feature"
    elif scale is None:
        unit = "the features' own units"
    else:
        unit = "the given per-feature scale"
    return f"{norm} norm, in {unit}" if norm else unit


def _curve_svg(r: RobustnessReport) -> str:
    """Robust accuracy against eps with its confidence band, every budget on the axis,
    the threshold labelled (inline SVG, readable without the page's CSS)."""
    if not r.eps:
        return ""
    width, height = 640.0, 320.0
    left, right, top_pad, bottom = 64.0, 24.0, 24.0, 64.0
    top = max(r.eps)
    plot_w, plot_h = width - left - right, height - top_pad - bottom

    def x(e: float) -> float:
        return left + plot_w * (e / top if top else 0.0)

    def y(v: float) -> float:
        return top_pad + plot_h * (1.0 - v)

    xs = [x(e) for e in [0.0, *r.eps]]
    accs = [r.clean_accuracy, *r.robust_accuracy]
    band = [r.clean_interval, *r.robust_interval]
    upper = " ".join(f"{px:.1f},{y(hi):.1f}" for px, (_, hi) in zip(xs, band))
    lower = " ".join(f"{px:.1f},{y(lo):.1f}" for px, (lo, _) in reversed(list(zip(xs, band))))
    line = " ".join(f"{px:.1f},{y(a):.1f}" for px, a in zip(xs, accs))
    font = 'font-family="system-ui,sans-serif" font-size="12" fill="#1b1f24"'
    parts = [f'<rect width="{width:.0f}" height="{height:.0f}" fill="#ffffff"/>']
    for v in (0.0, 0.25, 0.5, 0.75, 1.0):  # horizontal grid and y ticks
        parts.append(
            f'<line x1="{left}" y1="{y(v):.1f}" x2="{width - right}" y2="{y(v):.1f}" '
            f'stroke="#d0d7de" stroke-width="1"/>'
            f'<text x="{left - 8}" y="{y(v) + 4:.1f}" text-anchor="end" {font}>{v:g}</text>'
        )
    parts.append(
        f'<polygon points="{upper} {lower}" fill="#0969da" fill-opacity="0.15"/>'
        f'<polyline points="{line}" fill="none" stroke="#0969da" stroke-width="2.5"/>'
    )
    for e, px, a in zip([0.0, *r.eps], xs, accs):  # a point and a tick per budget
        parts.append(
            f'<circle cx="{px:.1f}" cy="{y(a):.1f}" r="3.5" fill="#0969da"/>'
            f'<line x1="{px:.1f}" y1="{y(0):.1f}" x2="{px:.1f}" y2="{y(0) + 5:.1f}" '
            f'stroke="#57606a"/>'
            f'<text x="{px:.1f}" y="{y(0) + 18:.1f}" text-anchor="middle" {font}>{e:g}</text>'
        )
    parts.append(
        f'<line x1="{left}" y1="{y(0):.1f}" x2="{width - right}" y2="{y(0):.1f}" '
        f'stroke="#57606a"/>'
        f'<line x1="{left}" y1="{y(0):.1f}" x2="{left}" y2="{y(1):.1f}" stroke="#57606a"/>'
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 16:.1f}" text-anchor="middle" '
        f"{font}>eps, the attack budget ({html.escape(eps_unit(r))})</text>"
        f'<text transform="translate(16 {top_pad + plot_h / 2:.1f}) rotate(-90)" '
        f'text-anchor="middle" {font}>robust accuracy (band: {r.confidence:.0%} interval)'
        f"</text>"
    )
    if r.threshold is not None:
        ty = y(r.threshold)
        parts.append(
            f'<line x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" '
            'stroke="#cf222e" stroke-width="1.5" stroke-dasharray="6 4"/>'
            f'<text x="{left + 6:.1f}" y="{ty - 6:.1f}" text-anchor="start" '
            f'font-family="system-ui,sans-serif" font-size="12" fill="#cf222e">'
            f"threshold {r.threshold:g} (on the lower bound)</text>"
        )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img">'
        f"<title>robust accuracy against eps</title>{''.join(parts)}</svg>"
    )
