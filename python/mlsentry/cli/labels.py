"""``mlsentry label-issues``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from .. import _core
from .._tables import read_table
from .common import UsageError, add_output_flags, emit_report, split_names

if TYPE_CHECKING:
    import numpy as np


def _column_names(table: Any) -> list[str]:
    return [
        str(c) for c in (table.column_names if hasattr(table, "column_names") else table.columns)
    ]


def _column(table: Any, name: str) -> np.ndarray:
    import numpy as np

    if hasattr(table, "column_names"):  # pyarrow Table (Parquet)
        return np.asarray(table.column(name).to_numpy())
    return table[name].to_numpy()


def _from_table(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    import numpy as np

    table = read_table(args.file)
    if isinstance(table, np.ndarray):
        raise UsageError(
            f"{args.file}: a .npy file holds the labels only; give the probabilities as a "
            "second .npy file (PROBS)"
        )
    names = _column_names(table)
    if args.label not in names:
        raise UsageError(f"--label: {args.file} has no column {args.label!r}")
    probs = split_names(args.probs, "--probs")
    if probs is None:
        probs = [n for n in names if n.startswith(args.prefix) and n != args.label]
        if not probs:
            raise UsageError(
                f"{args.file} has no column starting with {args.prefix!r}: name the probability "
                "columns with --probs A,B,... or their prefix with --prefix"
            )
    missing = [n for n in probs if n not in names]
    if missing:
        raise UsageError(f"--probs: {args.file} has no column {missing[0]!r}")
    matrix = np.column_stack([_column(table, n).astype(np.float64) for n in probs])
    return _column(table, args.label), matrix


def _from_npy(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray]:
    for path in (args.file, args.pred_probs):
        if not path.lower().endswith(".npy"):
            raise UsageError(f"{path}: with two files, both are .npy (labels, then probabilities)")
    return read_table(args.file, "npy"), read_table(args.pred_probs, "npy")


def cmd_label_issues(args: argparse.Namespace) -> int:
    from ..data import label_issues  # numpy only when the command runs

    labels, probs = _from_npy(args) if args.pred_probs else _from_table(args)
    report = label_issues(
        labels, probs, method=args.method, rank_by=args.rank_by, max_share=args.max_share
    )
    return emit_report(report, args)


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser(
        "label-issues",
        help="find rows whose given label is probably wrong (confident learning)",
        description="Confident learning on out-of-sample predicted probabilities, as "
        "cleanlab's find_label_issues. Input: one CSV or Parquet table with the label "
        "column (--label) and one probability column per class (--probs, or every column "
        "starting with --prefix, in file order), or two .npy files: labels (n,) and "
        "probabilities (n, k). Exit status 0: no bar given, or at most --max-share of the "
        "rows flagged; 1: more flagged; 2: usage or input error.",
    )
    p.add_argument("file", help="CSV or Parquet table, or a .npy file of integer labels")
    p.add_argument(
        "pred_probs", nargs="?", metavar="PROBS", help=".npy file of probabilities (n, k)"
    )
    p.add_argument(
        "--label", default="label", metavar="COLUMN", help="label column (default: %(default)s)"
    )
    p.add_argument("--probs", metavar="A,B", help="probability columns, in class order")
    p.add_argument(
        "--prefix",
        default="p_",
        help="without --probs: the probability columns are those whose names start with "
        "this (default: %(default)s)",
    )
    p.add_argument(
        "--method",
        default="prune_by_noise_rate",
        choices=list(_core.LABEL_FILTERS),
        help="which rows to flag (default: %(default)s)",
    )
    p.add_argument(
        "--rank-by",
        default="self_confidence",
        choices=list(_core.LABEL_RANKINGS),
        help="label-quality score that orders the flagged rows (default: %(default)s)",
    )
    p.add_argument(
        "--max-share",
        type=float,
        default=None,
        metavar="X",
        help="fail (exit 1) when more than this share of rows is flagged (default: no bar)",
    )
    add_output_flags(p)
    p.set_defaults(func=cmd_label_issues)
