"""``mlsentry privacy``."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from .._tables import read_table
from .common import (
    ModelRefused,
    UsageError,
    add_model_flags,
    add_output_flags,
    emit_report,
    load_model,
    split_names,
)
from .labels import _column, _column_names

if TYPE_CHECKING:
    import numpy as np


def _members(values: np.ndarray, name: str) -> np.ndarray:
    import numpy as np

    if values.dtype == np.bool_:
        return values
    if values.dtype.kind in "iuf" and np.isin(values, (0, 1)).all():
        return values.astype(bool)
    text = np.char.lower(values.astype(str))
    if np.isin(text, ("true", "false", "1", "0")).all():
        return np.isin(text, ("true", "1"))
    raise UsageError(f"--member: column {name!r} must hold true/false or 1/0")


def _frame(path: str, what: str) -> Any:
    table = read_table(path)
    if hasattr(table, "to_pandas"):  # pyarrow Table (Parquet)
        table = table.to_pandas()
    if not hasattr(table, "columns"):
        raise UsageError(f"{what}: {path} is not a CSV or Parquet table")
    return table


def _retrainer(model: Any) -> Any:
    """The training function of the reference-model attacks: a fresh, unfitted copy of
    ``model`` with the same hyper-parameters (``sklearn.base.clone``), fitted on the rows
    it is given. Only scikit-learn-style estimators can be copied that way."""
    try:
        from sklearn.base import clone
    except ImportError as exc:  # pragma: no cover - scikit-learn ships with the model
        raise UsageError("--attacks: lira and rmia retrain the model with scikit-learn") from exc
    try:
        clone(model)
    except (TypeError, RuntimeError) as exc:
        raise UsageError(
            "--attacks: lira, lira_offline and rmia train reference models like the target; "
            f"the command copies scikit-learn estimators only ({type(model).__name__}: {exc}); "
            "use mlsentry.privacy.membership_inference(train_fn=...)"
        ) from exc

    def train(X: Any, y: Any) -> Any:
        return clone(model).fit(X, y)

    return train


def _attack_model(args: argparse.Namespace) -> int:
    """``--model``: scan the model file, load it only when safe, attack it."""
    from ..privacy import ATTACKS, REFERENCE_ATTACKS, membership_inference

    if not args.nonmembers:
        raise UsageError("--model: give the members as FILE and the non-members with --nonmembers")
    try:
        model = load_model(args.model, args.policy)
    except ModelRefused as refused:
        # A model we may not load fails the check: its scan report is the output.
        print(f"mlsentry: {refused}", file=sys.stderr)
        return emit_report(refused.report, args)
    members = _frame(args.file, "FILE")
    nonmembers = _frame(args.nonmembers, "--nonmembers")
    for what, table in (("FILE", members), ("--nonmembers", nonmembers)):
        if args.label not in table.columns:
            raise UsageError(f"--label: {what} has no column {args.label!r}")
    names = getattr(model, "feature_names_in_", None)
    features = (
        [str(n) for n in names]
        if names is not None
        else [c for c in members.columns if c != args.label]
    )
    for what, table in (("FILE", members), ("--nonmembers", nonmembers)):
        missing = [c for c in features if c not in table.columns]
        if missing:
            raise UsageError(f"{what} lacks the model's feature columns {missing[:10]}")
    attacks = split_names(args.attacks, "--attacks") or ["loss", "confidence", "entropy"]
    bad = [a for a in attacks if a not in ATTACKS]
    if bad:
        raise UsageError(
            f"--attacks: {bad[0]!r} is not an attack; choose from {', '.join(ATTACKS)}"
        )
    train_fn = None
    if any(a in REFERENCE_ATTACKS for a in attacks):
        train_fn = _retrainer(model)
    report = membership_inference(
        model,
        members[features] if names is not None else members[features].to_numpy(),
        members[args.label].to_numpy(),
        nonmembers[features] if names is not None else nonmembers[features].to_numpy(),
        nonmembers[args.label].to_numpy(),
        attacks=attacks,
        train_fn=train_fn,
        n_reference=args.reference_models,
        seed=args.seed,
        at_fpr=args.at_fpr,
        threshold=args.threshold,
        confidence=args.confidence,
        delta=args.delta,
    )
    return emit_report(report, args)


def cmd_privacy(args: argparse.Namespace) -> int:
    import numpy as np

    from ..privacy import membership_report  # numpy only when the command runs

    if args.model:
        return _attack_model(args)
    table = read_table(args.file)
    if isinstance(table, np.ndarray):
        raise UsageError(
            f"{args.file}: give a CSV or Parquet table with a membership column and score columns"
        )
    names = _column_names(table)
    if args.member not in names:
        raise UsageError(f"--member: {args.file} has no column {args.member!r}")
    label = args.label if args.label in names else None
    if args.label_given and label is None:
        raise UsageError(f"--label: {args.file} has no column {args.label!r}")
    wanted = split_names(args.scores, "--scores")
    if wanted is None:
        skip = {args.member, label}
        wanted = [n for n in names if n not in skip and _column(table, n).dtype.kind in "biuf"]
        if not wanted:
            raise UsageError(f"{args.file} has no numeric score column; name them with --scores")
    missing = [n for n in wanted if n not in names]
    if missing:
        raise UsageError(f"--scores: {args.file} has no column {missing[0]!r}")
    scores = {n: _column(table, n) for n in wanted}
    labels = None if label is None else _column(table, label)
    report = membership_report(
        scores,
        _members(_column(table, args.member), args.member),
        labels,
        at_fpr=args.at_fpr,
        threshold=args.threshold,
        confidence=args.confidence,
        delta=args.delta,
        config={"file": args.file},
    )
    return emit_report(report, args)


_DESCRIPTION = """
Membership-inference results from attack scores (higher = more likely a member), or from
attacks on a model (--model with the members' and --nonmembers' records, CSV or Parquet with
a label column). Scores: one CSV or Parquet table with a membership column (--member,
true/false or 1/0) and one column of scores per attack (--scores, or every other numeric
column), for example the output of mlsentry.privacy.lira_scores on signals of your own
training loop. Reports per attack the TPR at --at-fpr with its Clopper-Pearson interval, the
AUC, the advantage and the epsilon lower bound. Exit status 0: no bar given, or every
attack's TPR at --at-fpr at most --threshold; 1: above; 2: usage or input error.
"""


class _LabelAction(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        namespace.label = values
        namespace.label_given = True


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser(
        "privacy",
        help="membership-inference ROC, TPR at low FPR and epsilon bounds from attack scores",
        description=" ".join(_DESCRIPTION.split()),
    )
    p.add_argument(
        "file", help="CSV or Parquet table of scores (with --model: the members' records)"
    )
    add_model_flags(
        p,
        "a pickled or joblib classifier with predict_proba to attack; it is scanned "
        "first and loaded only when the scan calls it safe",
    )
    p.add_argument(
        "--nonmembers",
        metavar="FILE",
        help="with --model: records of the same distribution the model did not train on",
    )
    p.add_argument(
        "--attacks",
        metavar="A,B",
        help="with --model: loss, confidence, entropy, modified_entropy, label_only, and "
        "the reference-model attacks lira, lira_offline, rmia (scikit-learn models: each "
        "reference model is an unfitted copy of the model, with the same hyper-parameters, "
        "trained on a random half of members and non-members) (default: loss,confidence,entropy)",
    )
    p.add_argument(
        "--reference-models",
        type=int,
        default=4,
        metavar="N",
        help="with lira, lira_offline or rmia: how many reference models to train "
        "(default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="with --model (default: %(default)s)")
    p.add_argument(
        "--member",
        default="member",
        metavar="COLUMN",
        help="membership column (default: %(default)s)",
    )
    p.add_argument("--scores", metavar="A,B", help="score columns, one per attack")
    p.add_argument(
        "--label",
        default="label",
        action=_LabelAction,
        metavar="COLUMN",
        help="class column for per-class results; with --model, the labels (default: %(default)s)",
    )
    p.add_argument(
        "--at-fpr",
        type=float,
        default=0.01,
        metavar="A",
        help="false-positive rate the TPR is read at (default: %(default)s)",
    )
    p.add_argument(
        "--threshold",
        type=float,
        default=None,
        metavar="T",
        help="fail (exit 1) when an attack's TPR at --at-fpr exceeds this (default: no bar)",
    )
    p.add_argument(
        "--confidence",
        type=float,
        default=0.95,
        help="of the intervals and epsilon bounds (default: %(default)s)",
    )
    p.add_argument(
        "--delta",
        type=float,
        default=1e-5,
        help="delta of the epsilon bound (default: %(default)s)",
    )
    add_output_flags(p)
    p.set_defaults(func=cmd_privacy, label_given=False)
