"""``mlsentry.robustness.evaluate``: predicts the clean samples, attacks the correctly
classified ones with each attack at each budget, and turns the confirmed adversarial
examples into the numbers a security review asks for: robust accuracy per budget (with
Wilson confidence intervals), success rates, perturbation sizes, queries, time, and a
per-class breakdown."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from typing import Any, Callable, Optional, Union

import numpy as np

from ..errors import InvalidInputError, InvalidTypeError, ModelError
from ..integrity import record_check
from .attacks import (
    ALIASES,
    ATTACKS,
    AttackResult,
    check_count,
    check_eps,
    check_norm,
    check_seed,
    hop_skip_jump,
    noise,
    pgd,
    square,
)
from .constraints import Constraints, check_constraints
from .model import Model, as_data, predict
from .report import AttackSummary, RobustnessReport, summarise_attack


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
        name = ALIASES.get(name, name)
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
    return sorted({check_eps(e) for e in values})


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
    norm = check_norm(norm)
    max_queries = check_count(max_queries, "max_queries", 2)
    seed = check_seed(seed)
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
    batch = 0 if batch_size is None else check_count(batch_size, "batch_size")
    cons = check_constraints(constraints)

    start = time.perf_counter()
    data = cons._prepare(as_data(X))
    adapter = Model(model, data)
    labels = adapter.label_of(y, data.n)
    pred, k = predict(adapter, data.flat, batch)
    again, _ = predict(adapter, data.flat, batch)
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
    sub = data.rows(idx)
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
                    summaries.append(summarise_attack(res, sub, ok, e, norm))
                continue
            for e in budgets:
                res = run(name, e, seed + a)
                queries, calls = queries + res.rows, calls + res.calls
                fooled[e][idx[res.success]] = True
                summaries.append(summarise_attack(res, sub, res.success, e, norm))

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
    from ..integrity import fingerprint

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
