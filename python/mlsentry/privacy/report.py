"""The report of :func:`~mlsentry.privacy.membership_inference`: :class:`PrivacyReport`
with one :class:`MembershipAttack` per attack, and its ROC curves on log axes as inline
SVG."""

from __future__ import annotations

import dataclasses
import html
import math
from collections.abc import Mapping
from typing import Any, Optional

import numpy as np

from .. import _core
from ..errors import require
from ..report import Report, fmt_number, fmt_share, html_table, name_part
from .roc import MembershipROC

__all__ = ["MembershipAttack", "PrivacyReport"]

#: Colours of the attacks' curves in the HTML plot.
_COLOURS = (
    "#0969da",
    "#cf222e",
    "#1a7f37",
    "#8250df",
    "#bc4c00",
    "#1b7c83",
    "#bf3989",
    "#6e7781",
    "#953800",
)


@dataclasses.dataclass(frozen=True)
class MembershipAttack:
    """One membership-inference attack on the model.

    Attributes
    ----------
    name : str
    roc : MembershipROC
    at_fpr : float
        The false-positive rate the headline TPR is read at.
    tpr : float
        ``roc.tpr_at(at_fpr)``.
    tpr_interval : (float, float)
        Its Clopper-Pearson interval at the report's confidence.
    epsilon : float
        The empirical epsilon that point proves (:func:`epsilon_lower_bound`).
    per_class : list of dict
        ``label``, ``n_members``, ``n_nonmembers``, ``auc``, ``tpr`` (at ``at_fpr``) over the
        records of each class that has both members and non-members.
    exposed : list of dict
        The members with the highest scores: ``record`` (row of ``X_members``), ``label``,
        ``score``.
    queries, calls : int or None
        ``label_only``: rows sent to the model and model calls.
    """

    name: str
    roc: MembershipROC
    at_fpr: float
    tpr: float
    tpr_interval: tuple[float, float]
    epsilon: float
    per_class: list[dict[str, Any]]
    exposed: list[dict[str, Any]]
    queries: Optional[int] = None
    calls: Optional[int] = None

    @property
    def auc(self) -> float:
        return self.roc.auc

    @property
    def advantage(self) -> float:
        return self.roc.advantage

    def tpr_at(self, fpr: float) -> float:
        return self.roc.tpr_at(fpr)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "at_fpr": self.at_fpr,
            "tpr": self.tpr,
            "tpr_interval": list(self.tpr_interval),
            "auc": self.auc,
            "advantage": self.advantage,
            "epsilon": self.epsilon,
            "per_class": self.per_class,
            "exposed": self.exposed,
            "queries": self.queries,
            "calls": self.calls,
            "roc": self.roc.to_dict(),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MembershipAttack:
        return cls(
            name=d["name"],
            roc=MembershipROC.from_dict(d["roc"]),
            at_fpr=float(d["at_fpr"]),
            tpr=float(d["tpr"]),
            tpr_interval=(float(d["tpr_interval"][0]), float(d["tpr_interval"][1])),
            epsilon=float(d["epsilon"]),
            per_class=list(d["per_class"]),
            exposed=list(d["exposed"]),
            queries=d.get("queries"),
            calls=d.get("calls"),
        )


class PrivacyReport(Report):
    """Membership-inference attacks on a model, reported as TPR at a low FPR.

    Attributes
    ----------
    attacks : dict of str to MembershipAttack
        By attack name (``report.attacks["lira"].tpr``).
    at_fpr : float
        The FPR of the headline TPRs (default 0.01).
    threshold : float or None
        The bar: the report passes when every attack's TPR at ``at_fpr`` is at most this;
        None gives no verdict.
    confidence : float
        Of the intervals and the epsilon bounds.
    n_members, n_nonmembers : int
    references : dict
        With reference models: their number, the split seed, each model's seed and which
        pooled records (members first, then non-members) each trained on (``reference_in``
        as one hex string of packed bits per model).
    """

    schema = "mlsentry/privacy-report/v1"
    title = "Membership inference"

    def __init__(
        self,
        *,
        attacks: Mapping[str, MembershipAttack],
        at_fpr: float,
        threshold: Optional[float],
        confidence: float,
        n_members: int,
        n_nonmembers: int,
        references: Optional[Mapping[str, Any]] = None,
        **meta: Any,
    ) -> None:
        super().__init__(**meta)
        self.attacks = dict(attacks)
        self.at_fpr = at_fpr
        self.threshold = threshold
        self.confidence = confidence
        self.n_members = n_members
        self.n_nonmembers = n_nonmembers
        self.references = dict(references or {})

    @property
    def worst(self) -> Optional[MembershipAttack]:
        """The attack with the highest TPR at ``at_fpr`` (ties: the higher AUC)."""
        if not self.attacks:
            return None
        return max(self.attacks.values(), key=lambda a: (a.tpr, a.auc))

    @property
    def passed(self) -> Optional[bool]:
        if self.threshold is None or not self.attacks:
            return None
        return all(a.tpr <= self.threshold for a in self.attacks.values())

    def to_pandas(self) -> Any:
        """One row per attack: AUC, TPR at ``at_fpr`` and its interval, advantage, epsilon."""
        pd = require("pandas", "pandas", "PrivacyReport.to_pandas")
        rows = [
            {
                "attack": a.name,
                "auc": a.auc,
                "tpr": a.tpr,
                "tpr_low": a.tpr_interval[0],
                "tpr_high": a.tpr_interval[1],
                "advantage": a.advantage,
                "epsilon": a.epsilon,
                "queries": a.queries,
            }
            for a in self.attacks.values()
        ]
        return pd.DataFrame(rows).set_index("attack")

    def _headline(self) -> str:
        w = self.worst
        bar = "" if self.threshold is None else f" (bar {fmt_share(self.threshold)})"
        if w is None:
            return "no attack ran"
        return (
            f"strongest attack {w.name}: TPR {fmt_share(w.tpr)} at FPR {fmt_share(self.at_fpr)}"
            f"{bar}, AUC {fmt_number(w.auc)}; {self.n_members} members, "
            f"{self.n_nonmembers} non-members"
        )

    def summary(self) -> str:
        lines = [f"{self.title}: {self.verdict}: {self._headline()}"]
        for a in self.attacks.values():
            lo, hi = a.tpr_interval
            extra = "" if a.queries is None else f", {a.queries} queries"
            lines.append(
                f"  {a.name}: TPR@{fmt_share(self.at_fpr)} {fmt_share(a.tpr)} "
                f"[{fmt_share(lo)}, {fmt_share(hi)}], AUC {fmt_number(a.auc)}, "
                f"advantage {fmt_number(a.advantage)}, eps >= {fmt_number(a.epsilon)}{extra}"
            )
        return "\n".join(lines)

    def _payload(self) -> dict[str, Any]:
        return {
            "at_fpr": self.at_fpr,
            "threshold": self.threshold,
            "confidence": self.confidence,
            "n_members": self.n_members,
            "n_nonmembers": self.n_nonmembers,
            "references": self.references,
            "attacks": {k: a.to_dict() for k, a in self.attacks.items()},
        }

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> PrivacyReport:
        return cls(
            attacks={k: MembershipAttack.from_dict(v) for k, v in data["attacks"].items()},
            at_fpr=float(data["at_fpr"]),
            threshold=data["threshold"],
            confidence=float(data["confidence"]),
            n_members=int(data["n_members"]),
            n_nonmembers=int(data["n_nonmembers"]),
            references=data.get("references") or {},
            **meta,
        )

    def _metrics(self, p: str, column_metrics: int) -> dict[str, float]:
        """Per attack: ``<attack>.tpr`` (at ``at_fpr``), ``.tpr_low``, ``.tpr_high``,
        ``.auc``, ``.advantage``, ``.epsilon``; and ``max_tpr``, ``max_auc``."""
        out: dict[str, float] = {}
        for a in self.attacks.values():
            q = f"{p}.{name_part(a.name)}"
            out[f"{q}.tpr"] = a.tpr
            out[f"{q}.tpr_low"] = a.tpr_interval[0]
            out[f"{q}.tpr_high"] = a.tpr_interval[1]
            out[f"{q}.auc"] = a.auc
            out[f"{q}.advantage"] = a.advantage
            out[f"{q}.epsilon"] = a.epsilon
        if self.attacks:
            out[f"{p}.max_tpr"] = max(a.tpr for a in self.attacks.values())
            out[f"{p}.max_auc"] = max(a.auc for a in self.attacks.values())
        return out

    def _html_body(self) -> str:
        rows, classes = [], []
        for a in self.attacks.values():
            lo, hi = a.tpr_interval
            rows.append(
                [
                    a.name,
                    fmt_share(a.tpr),
                    f"{fmt_share(lo)} - {fmt_share(hi)}",
                    fmt_number(a.auc),
                    fmt_number(a.advantage),
                    fmt_number(a.epsilon),
                    "" if a.queries is None else f"{a.queries} rows, {a.calls} calls",
                ]
            )
            bad = self.threshold is not None and a.tpr > self.threshold
            classes.append("bad" if bad else "")
        conf = fmt_share(self.confidence)
        parts = [
            f'<p class="lead">{html.escape(self._headline())}</p>',
            html_table(
                [
                    "attack",
                    f"TPR at FPR {fmt_share(self.at_fpr)}",
                    f"{conf} interval",
                    "AUC",
                    "advantage",
                    "epsilon >=",
                    "queries",
                ],
                rows,
                row_classes=classes,
            ),
            "<h3>ROC curves (log axes)</h3>",
            roc_svg(self.attacks),
        ]
        for a in self.attacks.values():
            if a.per_class:
                parts.append(f"<h3>{html.escape(a.name)}: per class</h3>")
                parts.append(
                    html_table(
                        ["label", "members", "non-members", "AUC", "TPR"],
                        [
                            [
                                c["label"],
                                c["n_members"],
                                c["n_nonmembers"],
                                fmt_number(c["auc"]),
                                fmt_share(c["tpr"]),
                            ]
                            for c in a.per_class
                        ],
                    )
                )
        w = self.worst
        if w is not None and w.exposed:
            parts.append(f"<h3>Most exposed members ({html.escape(w.name)})</h3>")
            parts.append(
                html_table(
                    ["record", "label", "score"],
                    [[e["record"], e["label"], fmt_number(e["score"])] for e in w.exposed],
                )
            )
        if self.references:
            parts.append(
                f"<p>{self.references.get('n_reference', 0)} reference models, split seed "
                f"{self.references.get('split_seed')}.</p>"
            )
        return "".join(parts)


def roc_svg(attacks: Mapping[str, MembershipAttack], size: int = 360) -> str:
    """The attacks' ROC curves on log-log axes (FPR and TPR from the smallest non-zero
    rate to 1), with the chance diagonal, as one inline SVG."""
    if not attacks:
        return ""
    rocs = [a.roc for a in attacks.values()]
    low = min(1.0 / max(r.n_nonmembers, r.n_members) for r in rocs)
    lo = math.floor(math.log10(low))
    pad, w = 44, size
    span = -lo

    def x(v: np.ndarray) -> np.ndarray:
        return pad + (np.log10(np.maximum(v, 10.0**lo)) - lo) / span * (w - pad - 10)

    def y(v: np.ndarray) -> np.ndarray:
        return w - pad - (np.log10(np.maximum(v, 10.0**lo)) - lo) / span * (w - pad - 10)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{w + 170}" height="{w}" '
        f'font-size="11" font-family="sans-serif" role="img" aria-label="ROC curves">',
        f'<rect x="{pad}" y="10" width="{w - pad - 10}" height="{w - pad - 10}" fill="none" '
        'stroke="#d0d7de"/>',
    ]
    for e in range(lo, 1):
        t = np.array([10.0**e])
        xv, yv = float(x(t)[0]), float(y(t)[0])
        parts.append(
            f'<line x1="{xv:.1f}" y1="10" x2="{xv:.1f}" y2="{w - pad}" stroke="#eaeef2"/>'
            f'<line x1="{pad}" y1="{yv:.1f}" x2="{w - 10}" y2="{yv:.1f}" stroke="#eaeef2"/>'
            f'<text x="{xv:.1f}" y="{w - pad + 14}" text-anchor="middle">1e{e}</text>'
            f'<text x="{pad - 4}" y="{yv + 4:.1f}" text-anchor="end">1e{e}</text>'
        )
    diag = np.array([10.0**lo, 1.0])
    parts.append(
        f'<line x1="{x(diag)[0]:.1f}" y1="{y(diag)[0]:.1f}" x2="{x(diag)[1]:.1f}" '
        f'y2="{y(diag)[1]:.1f}" stroke="#8c959f" stroke-dasharray="4 3"/>'
        f'<text x="{(w + pad) / 2:.0f}" y="{w - 8}" text-anchor="middle">false-positive rate'
        f'</text><text x="12" y="{w / 2:.0f}" transform="rotate(-90 12 {w / 2:.0f})" '
        'text-anchor="middle">true-positive rate</text>'
    )
    for i, a in enumerate(attacks.values()):
        colour = _COLOURS[i % len(_COLOURS)]
        fpr, tpr = a.roc.fpr, a.roc.tpr
        keep = fpr > 0
        if keep.any():
            # A staircase: each FPR step keeps the best TPR reached before it.
            fx, ty = x(fpr[keep]), y(tpr[keep])
            pts = " ".join(f"{u:.1f},{v:.1f}" for u, v in zip(fx, ty))
            parts.append(
                f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="1.6"/>'
            )
        parts.append(
            f'<rect x="{w + 4}" y="{14 + 16 * i}" width="10" height="10" fill="{colour}"/>'
            f'<text x="{w + 18}" y="{23 + 16 * i}">{html.escape(a.name)} '
            f"(AUC {a.auc:.3f})</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def build_attacks(
    scores: Mapping[str, np.ndarray],
    is_member: np.ndarray,
    labels: Optional[np.ndarray],
    *,
    at_fpr: float,
    confidence: float,
    delta: float,
    exposed: int,
    queries: Optional[Mapping[str, tuple[int, int]]] = None,
) -> dict[str, MembershipAttack]:
    """Every attack of ``scores`` (name to float64 scores, higher = more likely a member)
    as a :class:`MembershipAttack`: its ROC, TPR at ``at_fpr`` with its interval, epsilon,
    per-class results (with ``labels``, class indices) and the ``exposed`` most exposed
    members, all from one call into the core. ``queries`` maps an attack to its (rows,
    calls) sent to the model."""
    names = list(scores)
    stacked = np.ascontiguousarray(np.stack([scores[a] for a in names]), dtype=np.float64)
    lab = None if labels is None else np.ascontiguousarray(labels, dtype=np.int64)
    out = _core.privacy_summaries(
        stacked,
        np.ascontiguousarray(is_member, dtype=bool),
        lab,
        at_fpr,
        confidence,
        delta,
        exposed,
    )
    return attacks_from_summaries(names, stacked, out, lab, at_fpr=at_fpr, queries=queries)


def attacks_from_summaries(
    names: list[str],
    scores: Any,
    summaries: list[dict[str, Any]],
    labels: Optional[np.ndarray],
    *,
    at_fpr: float,
    queries: Optional[Mapping[str, tuple[int, int]]] = None,
) -> dict[str, MembershipAttack]:
    """The :class:`MembershipAttack` of each of ``names`` from the core's summaries
    (``_core.privacy_summaries``) of its ``scores`` (a sequence of arrays, one per name)."""
    lab = labels
    queries = queries or {}
    attacks = {}
    for name, row, d in zip(names, scores, summaries):
        r = MembershipROC(
            d["tp"], d["fp"], d["n_members"], d["n_nonmembers"], d["auc"], d["thresholds"]
        )
        per_class = [
            {
                "label": int(label),
                "n_members": int(n1),
                "n_nonmembers": int(n0),
                "auc": float(auc),
                "tpr": float(tpr),
            }
            for (label, n1, n0), (auc, tpr) in zip(d["class_counts"], d["class_rates"])
        ]
        top = d["exposed"].tolist()
        rows, calls = queries.get(name, (None, None))
        attacks[name] = MembershipAttack(
            name=name,
            roc=r,
            at_fpr=at_fpr,
            tpr=float(d["tpr"]),
            tpr_interval=(float(d["tpr_low"]), float(d["tpr_high"])),
            epsilon=float(d["epsilon"]),
            per_class=per_class,
            exposed=[
                {
                    "record": i,
                    "label": None if lab is None else int(lab[i]),
                    "score": float(v),
                }
                for i, v in zip(top, row[top].tolist())
            ],
            queries=rows,
            calls=calls,
        )
    return attacks
