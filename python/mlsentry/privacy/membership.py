"""Membership inference against a model: which of these records did it train on?

The model is queried in batches; the signals, scores, ROC curves and intervals are
computed in Rust. Python loops only over attacks, reference models, batches and classes.
"""

from __future__ import annotations

import inspect
import numbers
from collections.abc import Mapping, Sequence
from typing import Any, Callable, Optional

import numpy as np

from .. import _core
from .._args import check_int
from ..errors import InvalidInputError, InvalidTypeError, ModelError
from ..robustness import hop_skip_jump
from . import _model
from .report import MembershipAttack, PrivacyReport, attacks_from_summaries, build_attacks
from .roc import check_confidence, check_rate
from .scores import FIXED_VARIANCE_BELOW, lira_scores, rmia_scores

__all__ = ["ATTACKS", "REFERENCE_ATTACKS", "membership_inference", "membership_report"]

#: Attacks from the target model's answers alone.
SIGNAL_ATTACKS = ("loss", "confidence", "entropy", "modified_entropy")
#: Attacks that need reference models (``train_fn``).
REFERENCE_ATTACKS = ("lira", "lira_offline", "rmia")
#: Every attack :func:`membership_inference` runs.
ATTACKS = (*SIGNAL_ATTACKS, "label_only", *REFERENCE_ATTACKS)
#: Members listed as the most exposed, per attack.
EXPOSED = 10
#: HopSkipJump settings of ``label_only`` (override with ``label_only_params``).
LABEL_ONLY_PARAMS = {"norm": "l2", "max_iter": 10, "max_eval": 200, "init_eval": 50}


def _labels(y: Any, n: int, name: str) -> np.ndarray:
    if hasattr(y, "to_numpy") and not isinstance(y, np.ndarray):
        y = y.to_numpy()
    arr = np.asarray(y)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InvalidInputError(
            f"{name}: expected {n} labels (one per record), got shape {arr.shape}"
        )
    return arr


def _signals(probs: np.ndarray, labels: np.ndarray, who: str) -> dict[str, np.ndarray]:
    try:
        return _core.privacy_signals(probs, labels)
    except InvalidInputError as e:
        raise ModelError(f"{who}: {e}") from None


def _check_attacks(attacks: Any, with_references: bool) -> tuple[str, ...]:
    if attacks is None:
        base = (*SIGNAL_ATTACKS, "label_only")
        return base + REFERENCE_ATTACKS if with_references else base
    if isinstance(attacks, str):
        attacks = (attacks,)
    if not isinstance(attacks, Sequence) or not attacks:
        raise InvalidTypeError("attacks: expected a non-empty sequence of attack names")
    out = []
    for a in attacks:
        if a not in ATTACKS:
            raise InvalidInputError(
                f"attacks: unknown attack {a!r}; choose from {', '.join(ATTACKS)}"
            )
        if a in REFERENCE_ATTACKS and not with_references:
            raise InvalidInputError(
                f"attacks: {a!r} needs reference models: pass train_fn(X, y) -> model"
            )
        if a not in out:
            out.append(a)
    return tuple(out)


def reference_split(n_records: int, n_reference: int, seed: int) -> np.ndarray:
    """Which records each reference model trains on, ``(n_reference, n_records)`` bool:
    every record is IN exactly ``n_reference // 2`` models (the rank of a uniform draw per
    record, as in Carlini et al.'s code), so each model gets about half of the records."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5EED]))
    u = rng.uniform(size=(n_reference, n_records))
    return u.argsort(axis=0).argsort(axis=0) < n_reference // 2


def _accepts_seed(fn: Callable[..., Any]) -> bool:
    try:
        return "seed" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


def _train_references(
    train_fn: Callable[..., Any],
    X_pool: Any,
    y_pool: np.ndarray,
    labels: np.ndarray,
    keep: np.ndarray,
    seeds: list[int],
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Each reference model's logit-scaled signal and true-class probability of every
    record (a loop over reference models)."""
    pass_seed = _accepts_seed(train_fn)
    logits, confs = [], []
    for j, row in enumerate(keep):
        idx = np.flatnonzero(row)
        try:
            kwargs = {"seed": seeds[j]} if pass_seed else {}
            ref = train_fn(_model.take(X_pool, idx), y_pool[idx], **kwargs)
        except Exception as e:
            raise ModelError(
                f"train_fn raised {type(e).__name__} training reference model {j} on "
                f"{idx.size} records: {e}"
            ) from e
        if ref is None:
            raise ModelError(
                f"train_fn returned None for reference model {j}; it must return the model"
            )
        who = f"reference model {j}"
        s = _signals(_model.probabilities(ref, X_pool, batch_size, who), labels, who)
        logits.append(s["logit"])
        confs.append(s["confidence"])
    return np.asarray(logits), np.asarray(confs)


def membership_inference(
    model: Any,
    X_members: Any,
    y_members: Any,
    X_nonmembers: Any,
    y_nonmembers: Any,
    attacks: Optional[Sequence[str]] = None,
    train_fn: Optional[Callable[..., Any]] = None,
    n_reference: int = 4,
    seed: int = 0,
    *,
    at_fpr: float = 0.01,
    threshold: Optional[float] = None,
    confidence: float = 0.95,
    delta: float = 1e-5,
    fix_variance: Optional[bool] = None,
    rmia_gamma: float = 1.0,
    rmia_a: float = 0.3,
    label_only_params: Optional[dict[str, Any]] = None,
    batch_size: Optional[int] = None,
    fingerprint: bool = True,
) -> PrivacyReport:
    """Membership-inference attacks on ``model``: can an attacker tell the records it
    trained on (``X_members``) from others of the same distribution (``X_nonmembers``)?

    Each attack gives every record a score (higher = more likely a member); the report
    gives each attack's ROC, its true-positive rate at the false-positive rate ``at_fpr``
    with a Clopper-Pearson interval, the AUC, the attacker's advantage, the empirical
    epsilon that point proves, per-class results and the most exposed members.

    Attacks
    -------
    From the target's answers:

    * ``loss`` (``log p_y``; above ``p_y = 1/2`` computed as ``-log1p(o / p_y)`` from the
      other classes' sum ``o``, so a ``p_y`` that rounds to 1.0 keeps the loss its other
      classes give), ``confidence`` (``p_y``), ``entropy`` (minus the entropy),
      ``modified_entropy`` (minus Song & Mittal's Mentr);
    * ``label_only``: the L2 distance to the decision boundary found by the batched
      :func:`mlsentry.robustness.hop_skip_jump` (Choquette-Choo et al. 2021; 0 for a
      misclassified record), with its query count; needs only labels.

    With reference models, when ``train_fn(X, y) -> model`` is given (it also receives
    ``seed=`` if it takes that parameter): ``n_reference`` models are trained, each on
    about half of the pooled records (members then non-members), every record IN exactly
    ``n_reference // 2`` of them; the split, derived from ``seed``, and the models' seeds
    are recorded in ``report.references``.

    * ``lira`` (online) and ``lira_offline``: :func:`lira_scores` on the logit-scaled
      confidence; the variance is fixed (global) below 64 reference models and per-example
      from there on; ``fix_variance`` overrides.
    * ``rmia``: offline :func:`rmia_scores` on the true-class probability with ``rmia_a``
      and ``rmia_gamma``; the population is the pooled records themselves, each with the
      reference models that did not train on it.

    Parameters
    ----------
    model
        A callable ``X -> probabilities (n, k)``, an object with ``predict_proba``, or, for
        ``label_only`` alone, one with ``predict``. Probabilities must sum to 1 per row.
    X_members, y_members, X_nonmembers, y_nonmembers
        Records and labels (class indices, or the model's ``classes_``).
    attacks : sequence of str, optional
        Default: every attack that applies (the reference attacks with ``train_fn``).
    train_fn : callable, optional
    n_reference : int
        Reference models (>= 2).
    seed : int
    at_fpr : float
        The FPR of the headline TPR (default 1%).
    threshold : float, optional
        The bar: the report passes when every attack's TPR at ``at_fpr`` is at most this.
    confidence, delta
        Of the intervals and the epsilon bounds.
    rmia_gamma, rmia_a, fix_variance
        Reference-attack settings (see above).
    label_only_params : dict, optional
        Overrides of the HopSkipJump settings (``max_iter``, ``max_eval``, ``init_eval``,
        ``max_queries``, ``norm``).
    batch_size : int, optional
        Rows per model call (all at once by default).
    fingerprint : bool
        Record the inputs' fingerprints.

    Returns
    -------
    PrivacyReport

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> from sklearn.tree import DecisionTreeClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(200, 4)); y = (X[:, 0] + rng.normal(size=200) > 0).astype(int)
    >>> tree = DecisionTreeClassifier(random_state=0).fit(X[:100], y[:100])  # memorises
    >>> rep = ms.privacy.membership_inference(tree, X[:100], y[:100], X[100:], y[100:],
    ...                                       attacks=("loss",))
    >>> rep.attacks["loss"].auc > 0.6
    True
    """
    seed = check_int(seed, "seed", 0, 2**64 - 1)
    at = check_rate(at_fpr, "at_fpr")
    conf = check_confidence(confidence)
    bar = None if threshold is None else check_rate(threshold, "threshold")
    m_ref = check_int(n_reference, "n_reference", 2)
    batch = 0 if batch_size is None else check_int(batch_size, "batch_size", 1)
    if train_fn is not None and not callable(train_fn):
        raise InvalidTypeError("train_fn: expected a callable train_fn(X, y) -> model")
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not 0 <= delta < 1:
        raise InvalidInputError(f"delta: expected a number in [0, 1), got {delta!r}")
    chosen = _check_attacks(attacks, train_fn is not None)
    n1, n0 = len(X_members), len(X_nonmembers)
    if n1 == 0 or n0 == 0:
        raise InvalidInputError(f"X_members and X_nonmembers: both need records, got {n1} and {n0}")
    y1 = _labels(y_members, n1, "y_members")
    y0 = _labels(y_nonmembers, n0, "y_nonmembers")
    X_pool = _model.pool(X_members, X_nonmembers)
    y_pool = np.concatenate([y1, y0])
    labels = _model.label_indices(model, y_pool)
    n_pool = n1 + n0
    is_member = np.r_[np.ones(n1, dtype=bool), np.zeros(n0, dtype=bool)]

    # The inputs' fingerprints first: they need no model, and the core work left after the
    # model's last call is then one call.
    inputs: dict[str, str] = {}
    if fingerprint:
        from ..integrity import fingerprint as _fingerprint

        def fp(X: Any) -> str:
            return _fingerprint(X if _model.is_frame(X) else np.ascontiguousarray(X))

        inputs = {
            "X_members": fp(X_members),
            "X_nonmembers": fp(X_nonmembers),
            "y_members": fp(y1),
            "y_nonmembers": fp(y0),
        }

    scores: dict[str, np.ndarray] = {}
    queries: dict[str, tuple[int, int]] = {}
    report_attacks: dict[str, MembershipAttack] = {}
    probability_attacks = [a for a in chosen if a != "label_only"]
    target: dict[str, np.ndarray] = {}
    if probability_attacks:
        probs = _model.probabilities(model, X_pool, batch, "the model")
        signal_attacks = [a for a in chosen if a in SIGNAL_ATTACKS]
        # The signals and the signal attacks' report numbers, in one call.
        try:
            target, out = _core.privacy_signal_summaries(
                probs, labels, signal_attacks, is_member, at, conf, float(delta), EXPOSED
            )
        except InvalidInputError as e:
            raise ModelError(f"the model: {e}") from None
        report_attacks.update(
            attacks_from_summaries(
                signal_attacks, [target[a] for a in signal_attacks], out, labels, at_fpr=at
            )
        )
    if "label_only" in chosen:
        params = {**LABEL_ONLY_PARAMS, **(label_only_params or {})}
        res = hop_skip_jump(model, X_pool, y_pool, seed=seed, batch_size=batch_size, **params)
        dist = np.asarray(res.distance, dtype=np.float64)
        # A record no boundary was found for is farther than any found one.
        far = np.nanmax(dist) + 1.0 if np.isfinite(dist).any() else 1.0
        scores["label_only"] = np.where(np.isnan(dist), far, dist)
        queries["label_only"] = (int(res.rows), int(res.calls))

    references: dict[str, Any] = {}
    if any(a in REFERENCE_ATTACKS for a in chosen):
        keep = reference_split(n_pool, m_ref, seed)
        seeds = [int(s) for s in np.random.SeedSequence([seed, 0xEEF]).generate_state(m_ref)]
        ref_logit, ref_conf = _train_references(
            train_fn,
            X_pool,
            y_pool,
            labels,
            keep,
            seeds,
            batch,  # type: ignore[arg-type]
        )
        fix = m_ref < FIXED_VARIANCE_BELOW if fix_variance is None else bool(fix_variance)
        if "lira" in chosen:
            scores["lira"] = lira_scores(target["logit"], ref_logit, keep, True, fix)
        if "lira_offline" in chosen:
            scores["lira_offline"] = lira_scores(target["logit"], ref_logit, keep, False, fix)
        if "rmia" in chosen:
            scores["rmia"] = rmia_scores(
                target["confidence"],
                ref_conf,
                keep,
                target["confidence"],
                ref_conf,
                rmia_gamma,
                rmia_a,
                population_in=keep,
            )
        references = {
            "n_reference": m_ref,
            "split_seed": seed,
            "seeds": seeds,
            "fix_variance": fix,
            "reference_in": [np.packbits(row).tobytes().hex() for row in keep],
        }

    if scores:
        report_attacks.update(
            build_attacks(
                scores,
                is_member,
                labels,
                at_fpr=at,
                confidence=conf,
                delta=float(delta),
                exposed=EXPOSED,
                queries=queries,
            )
        )
    report_attacks = {a: report_attacks[a] for a in chosen}
    config = {
        "attacks": list(chosen),
        "at_fpr": at,
        "threshold": bar,
        "confidence": conf,
        "delta": float(delta),
        "n_reference": m_ref if references else 0,
        "rmia_gamma": float(rmia_gamma),
        "rmia_a": float(rmia_a),
    }
    if "label_only" in chosen:
        config["label_only"] = {**LABEL_ONLY_PARAMS, **(label_only_params or {})}
    report = PrivacyReport(
        attacks=report_attacks,
        at_fpr=at,
        threshold=bar,
        confidence=conf,
        n_members=n1,
        n_nonmembers=n0,
        references=references,
        config=config,
        inputs=inputs,
        seed=seed,
    )
    from ..integrity import record_check

    worst = max(a.tpr for a in report_attacks.values())
    record_check("privacy", report.passed, inputs, max_tpr=worst)
    return report


def membership_report(
    scores: Mapping[str, Any],
    is_member: Any,
    labels: Any = None,
    *,
    at_fpr: float = 0.01,
    threshold: Optional[float] = None,
    confidence: float = 0.95,
    delta: float = 1e-5,
    config: Optional[Mapping[str, Any]] = None,
    fingerprint: bool = True,
) -> PrivacyReport:
    """A :class:`PrivacyReport` from membership scores computed elsewhere (a user's own
    attack, or :func:`lira_scores` / :func:`rmia_scores` on signals from a GPU training
    loop): one attack per entry of ``scores``.

    Parameters
    ----------
    scores : mapping of str to array (n,)
        Attack name to scores, higher = more likely a member.
    is_member : array (n,) of bool
    labels : array (n,) of int, optional
        Class indices, for per-class results.
    at_fpr, threshold, confidence, delta
        As in :func:`membership_inference`.
    config : mapping, optional
        Recorded in the report.

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> rng = np.random.default_rng(0)
    >>> member = np.r_[np.ones(500, bool), np.zeros(500, bool)]
    >>> s = rng.normal(size=1000) + 2 * member
    >>> rep = ms.privacy.membership_report({"mine": s}, member, threshold=0.05)
    >>> rep.passed, rep.attacks["mine"].tpr > 0.2
    (False, True)
    """
    if not isinstance(scores, Mapping) or not scores:
        raise InvalidTypeError("scores: expected a non-empty mapping of attack name to scores")
    at = check_rate(at_fpr, "at_fpr")
    conf = check_confidence(confidence)
    bar = None if threshold is None else check_rate(threshold, "threshold")
    if isinstance(delta, bool) or not isinstance(delta, numbers.Real) or not 0 <= delta < 1:
        raise InvalidInputError(f"delta: expected a number in [0, 1), got {delta!r}")
    member = np.asarray(is_member.to_numpy() if hasattr(is_member, "to_numpy") else is_member)
    if member.dtype != np.bool_:
        if member.dtype.kind in "iuf" and np.isin(member, (0, 1)).all():
            member = member.astype(bool)
        else:
            raise InvalidTypeError(f"is_member: expected booleans, got dtype {member.dtype}")
    lab = None
    if labels is not None:
        lab = _labels(labels, member.size, "labels")
        if lab.dtype.kind not in "iu":
            raise InvalidTypeError(f"labels: expected class indices, got dtype {lab.dtype}")
    arrays = {}
    for name, values in scores.items():
        arr = np.asarray(values.to_numpy() if hasattr(values, "to_numpy") else values)
        if arr.ndim != 1 or arr.size != member.size:
            raise InvalidInputError(
                f"scores[{name!r}]: expected {member.size} scores (one per record), got shape "
                f"{arr.shape}"
            )
        if arr.dtype.kind not in "biuf":
            raise InvalidTypeError(f"scores[{name!r}]: expected numbers, got dtype {arr.dtype}")
        arrays[str(name)] = np.ascontiguousarray(arr, dtype=np.float64)
    attacks = build_attacks(
        arrays, member, lab, at_fpr=at, confidence=conf, delta=float(delta), exposed=EXPOSED
    )
    inputs: dict[str, str] = {}
    if fingerprint:
        from ..integrity import fingerprint as _fingerprint

        inputs = {f"scores.{k}": _fingerprint(v) for k, v in arrays.items()}
        inputs["is_member"] = _fingerprint(np.ascontiguousarray(member))
    first = next(iter(attacks.values()))
    return PrivacyReport(
        attacks=attacks,
        at_fpr=at,
        threshold=bar,
        confidence=conf,
        n_members=first.roc.n_members,
        n_nonmembers=first.roc.n_nonmembers,
        config={
            **dict(config or {}),
            "attacks": list(attacks),
            "at_fpr": at,
            "threshold": bar,
            "confidence": conf,
            "delta": float(delta),
        },
        inputs=inputs,
    )
