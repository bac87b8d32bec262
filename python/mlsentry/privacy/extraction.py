"""Model extraction risk: how well does a copy trained on the model's answers to N queries
agree with it?"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any, Optional

import numpy as np

from .. import _core
from .._args import check_int
from ..errors import InvalidInputError, InvalidTypeError, require
from ..report import Report, fmt_share, html_table
from . import _model
from .roc import check_rate

__all__ = ["SURROGATES", "ExtractionReport", "extraction"]

#: Surrogate models :func:`extraction` fits (in Rust, no scikit-learn): softmax regression,
#: and a one-hidden-layer network (tanh units, Adam) for models no linear copy matches.
SURROGATES = ("logistic", "mlp")


class ExtractionReport(Report):
    """Agreement between a model and surrogates trained on its answers, per query budget.

    Attributes
    ----------
    budgets : list of int
        Queries (rows with the model's probabilities) each surrogate was trained on.
    agreement : list of float
        Share of held-out pool rows where the surrogate's top class equals the model's.
    probability_agreement : list of float
        ``1 - mean total-variation distance`` between the two probability vectors on the
        held-out rows (1 = the same probabilities).
    n_eval : int
        Held-out rows.
    threshold : float or None
        The bar: the report passes when the agreement at every budget is at most this (the
        model is hard to copy); None gives no verdict.
    """

    schema = "mlsentry/extraction-report/v1"
    title = "Model extraction"

    def __init__(
        self,
        *,
        budgets: Sequence[int],
        agreement: Sequence[float],
        probability_agreement: Sequence[float],
        n_eval: int,
        surrogate: str,
        threshold: Optional[float],
        **meta: Any,
    ) -> None:
        super().__init__(**meta)
        self.budgets = [int(b) for b in budgets]
        self.agreement = [float(a) for a in agreement]
        self.probability_agreement = [float(a) for a in probability_agreement]
        self.n_eval = int(n_eval)
        self.surrogate = surrogate
        self.threshold = threshold

    @property
    def passed(self) -> Optional[bool]:
        if self.threshold is None:
            return None
        return max(self.agreement) <= self.threshold

    def summary(self) -> str:
        bar = "" if self.threshold is None else f" (bar {fmt_share(self.threshold)})"
        lines = [
            f"{self.title}: {self.verdict}: a {self.surrogate} surrogate agrees with the model "
            f"on up to {fmt_share(max(self.agreement))} of {self.n_eval} held-out rows{bar}"
        ]
        for b, a, p in zip(self.budgets, self.agreement, self.probability_agreement):
            lines.append(f"  {b} queries: labels {fmt_share(a)}, probabilities {fmt_share(p)}")
        return "\n".join(lines)

    def to_pandas(self) -> Any:
        pd = require("pandas", "pandas", "ExtractionReport.to_pandas")
        return pd.DataFrame(
            {"agreement": self.agreement, "probability_agreement": self.probability_agreement},
            index=pd.Index(self.budgets, name="budget"),
        )

    def _payload(self) -> dict[str, Any]:
        return {
            "budgets": self.budgets,
            "agreement": self.agreement,
            "probability_agreement": self.probability_agreement,
            "n_eval": self.n_eval,
            "surrogate": self.surrogate,
            "threshold": self.threshold,
        }

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> ExtractionReport:
        return cls(
            budgets=data["budgets"],
            agreement=data["agreement"],
            probability_agreement=data["probability_agreement"],
            n_eval=data["n_eval"],
            surrogate=data["surrogate"],
            threshold=data["threshold"],
            **meta,
        )

    def _metrics(self, p: str, column_metrics: int) -> dict[str, float]:
        """``agreement.budget_N`` and ``probability_agreement.budget_N`` per budget, and
        ``max_agreement``."""
        out = {f"{p}.max_agreement": max(self.agreement)}
        for b, a, q in zip(self.budgets, self.agreement, self.probability_agreement):
            out[f"{p}.agreement.budget_{b}"] = a
            out[f"{p}.probability_agreement.budget_{b}"] = q
        return out

    def _html_body(self) -> str:
        rows = [
            [b, fmt_share(a), fmt_share(q)]
            for b, a, q in zip(self.budgets, self.agreement, self.probability_agreement)
        ]
        return (
            f'<p class="lead">{html.escape(self.summary().splitlines()[0])}</p>'
            + html_table(["queries", "label agreement", "probability agreement"], rows)
            + f"<p>Held-out rows: {self.n_eval}; surrogate: {html.escape(self.surrogate)} "
            f"(fitted in Rust on the model's probabilities).</p>"
        )


def extraction(
    model: Any,
    X_pool: Any,
    budgets: Sequence[int] = (100, 1000, 10000),
    seed: int = 0,
    *,
    surrogate: str = "logistic",
    eval_share: float = 0.2,
    threshold: Optional[float] = None,
    l2: float = 1e-4,
    iterations: int = 500,
    hidden: int = 32,
    batch_size: Optional[int] = None,
    fingerprint: bool = True,
) -> ExtractionReport:
    """How well can the model be copied from its answers to N queries?

    The pool is shuffled with ``seed``; ``eval_share`` of it is held out and the model is
    asked for its probabilities of every row once. For each budget N, a surrogate is
    fitted to the first N query rows and the model's probabilities of them (in Rust:
    softmax regression on standardised features, cross-entropy against the soft labels,
    Nesterov's accelerated gradient for ``iterations`` steps, L2 penalty ``l2``), and
    compared with the model on the held-out rows: label agreement (same top class) and
    probability agreement (1 - mean total-variation distance). A budget above the query
    rows available is lowered to them (the report records what was used).

    Parameters
    ----------
    model
        A callable ``X -> probabilities (n, k)`` or an object with ``predict_proba``.
    X_pool : array (n, d) or DataFrame
        Rows an attacker could query (numbers).
    budgets : sequence of int
    seed : int
    surrogate : str
        ``"logistic"`` or ``"mlp"``.
    eval_share : float
        Held-out share of the pool, in (0, 1).
    threshold : float, optional
        The bar: passes when the label agreement at every budget is at most this.

    Returns
    -------
    ExtractionReport

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(2000, 5))
    >>> def model(x):  # a linear model: a softmax surrogate copies it
    ...     z = x @ np.array([1.0, -1.0, 0.5, 0.0, 2.0])
    ...     return np.stack([1 / (1 + np.exp(z)), 1 / (1 + np.exp(-z))], axis=1)
    >>> rep = ms.privacy.extraction(model, X, budgets=(20, 1000))
    >>> rep.agreement[1] > 0.97
    True
    """
    if surrogate not in SURROGATES:
        raise InvalidInputError(
            f"surrogate: expected one of {', '.join(SURROGATES)}, got {surrogate!r}"
        )
    seed = check_int(seed, "seed", 0, 2**64 - 1)
    share = check_rate(eval_share, "eval_share", open_low=True)
    if share >= 1.0:
        raise InvalidInputError(f"eval_share: expected a number in (0, 1), got {eval_share!r}")
    bar = None if threshold is None else check_rate(threshold, "threshold")
    iters = check_int(iterations, "iterations", 1)
    hidden_units = check_int(hidden, "hidden", 1, 4096)
    batch = 0 if batch_size is None else check_int(batch_size, "batch_size", 1)
    if isinstance(budgets, (int, np.integer)):
        budgets = (int(budgets),)
    if isinstance(budgets, str) or not isinstance(budgets, Sequence) or not budgets:
        raise InvalidTypeError("budgets: expected a non-empty sequence of query counts")
    wanted = [check_int(b, "budgets", 1) for b in budgets]
    if _model.is_frame(X_pool):
        try:
            X = X_pool.to_numpy(dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise InvalidTypeError(f"X_pool: the columns must be numbers ({e})") from None
    else:
        X = np.asarray(X_pool)
        if X.dtype.kind not in "biuf":
            raise InvalidTypeError(f"X_pool: expected numbers, got dtype {X.dtype}")
        X = X.astype(np.float64, copy=False)
    if X.ndim != 2:
        raise InvalidInputError(f"X_pool: expected rows of features (n, d), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise InvalidInputError("X_pool: NaN or infinite values")
    n = X.shape[0]
    n_eval = round(n * share)
    if n_eval < 1 or n - n_eval < 2:
        raise InvalidInputError(f"X_pool: {n} rows are too few to query and hold out")
    order = np.random.default_rng(np.random.SeedSequence([seed, 0xE87])).permutation(n)
    X = np.ascontiguousarray(X[order])
    queried = X_pool.iloc[order] if _model.is_frame(X_pool) else X
    probs = _model.probabilities(model, queried, batch, "the model")
    _core.privacy_signals(probs, np.argmax(probs, axis=1).astype(np.int64))  # checks probs
    X_eval, p_eval = X[:n_eval], probs[:n_eval]
    X_query, p_query = X[n_eval:], probs[n_eval:]
    used = sorted({min(b, X_query.shape[0]) for b in wanted})
    top = np.argmax(p_eval, axis=1)
    agreement, prob_agreement = [], []
    for b in used:  # a loop over budgets
        q = _core.privacy_surrogate(
            np.ascontiguousarray(X_query[:b]),
            np.ascontiguousarray(p_query[:b]),
            X_eval,
            float(l2),
            iters,
            surrogate,
            hidden_units,
            seed % 2**64,
        )
        if q.shape[1] != p_eval.shape[1]:
            raise InvalidInputError("the model's number of classes changed between queries")
        agreement.append(float(np.mean(np.argmax(q, axis=1) == top)))
        prob_agreement.append(float(1.0 - 0.5 * np.abs(q - p_eval).sum(axis=1).mean()))
    inputs = {}
    if fingerprint:
        from ..integrity import fingerprint as _fingerprint

        kept = X_pool if _model.is_frame(X_pool) else np.ascontiguousarray(X_pool)
        inputs = {"X_pool": _fingerprint(kept)}
    report = ExtractionReport(
        budgets=used,
        agreement=agreement,
        probability_agreement=prob_agreement,
        n_eval=n_eval,
        surrogate=surrogate,
        threshold=bar,
        config={
            "budgets": wanted,
            "surrogate": surrogate,
            "eval_share": share,
            "l2": float(l2),
            "iterations": iters,
            "hidden": hidden_units if surrogate == "mlp" else None,
            "threshold": bar,
        },
        inputs=inputs,
        seed=seed,
    )
    from ..integrity import record_check

    record_check("extraction", report.passed, inputs, max_agreement=max(agreement))
    return report
