"""``mlsentry privacy``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .._tables import read_table
from .common import UsageError, add_output_flags, emit_report, split_names
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


def cmd_privacy(args: argparse.Namespace) -> int:
    import numpy as np

    from ..privacy import membership_report  # numpy only when the command runs

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


class _LabelAction(argparse.Action):
    def __call__(self, parser: Any, namespace: Any, values: Any, option: Any = None) -> None:
        namespace.label = values
        namespace.label_given = True


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser(
        "privacy",
        help="membership-inference ROC, TPR at low FPR and epsilon bounds from attack scores",
        description="Membership-inference results from attack scores (higher = more likely "
        "a member): one CSV or Parquet table with a membership column (--member, true/false "
        "or 1/0) and one column of scores per attack (--scores, or every other numeric "
        "column), for example the output of mlsentry.privacy.lira_scores on signals of your "
        "own training loop. Reports per attack the TPR at --at-fpr with its Clopper-Pearson "
        "interval, the AUC, the advantage and the epsilon lower bound. Exit status 0: no bar "
        "given, or every attack's TPR at --at-fpr at most --threshold; 1: above; 2: usage "
        "or input error.",
    )
    p.add_argument("file", help="CSV or Parquet table of scores")
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
        help="class column for per-class results (default: %(default)s, when present)",
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
