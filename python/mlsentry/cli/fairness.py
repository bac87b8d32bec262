"""``mlsentry fairness``."""

from __future__ import annotations

import argparse
from typing import Any

from .._tables import read_table
from .common import UsageError, add_output_flags, emit_report, split_names


def _columns(table: Any) -> dict[str, Any]:
    """Column name -> numpy array, for a pandas DataFrame or a pyarrow Table."""
    import numpy as np

    if hasattr(table, "column_names"):  # pyarrow Table (Parquet)
        return {str(n): np.asarray(table.column(n).to_numpy()) for n in table.column_names}
    return {str(c): table[c].to_numpy() for c in table.columns}


def _thresholds(items: list[str]) -> dict[str, float] | None:
    if not items:
        return None
    out: dict[str, float] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep:
            raise UsageError(f"--threshold: expected NAME=VALUE, got {item!r}")
        try:
            out[name.strip()] = float(value)
        except ValueError:
            raise UsageError(f"--threshold {name}: {value!r} is not a number") from None
    return out


def cmd_fairness(args: argparse.Namespace) -> int:
    import numpy as np

    from ..fairness import evaluate  # numpy only when the command runs

    table = read_table(args.file)
    if isinstance(table, np.ndarray):
        raise UsageError(f"{args.file}: expected a CSV or Parquet table with named columns")
    cols = _columns(table)
    sensitive = split_names(args.sensitive, "--sensitive")
    if not sensitive:
        raise UsageError("--sensitive: name at least one sensitive column")
    wanted = [args.y_true, args.y_pred, *sensitive] + ([args.y_score] if args.y_score else [])
    for name in wanted:
        if name not in cols:
            raise UsageError(f"{args.file} has no column {name!r}")
    report = evaluate(
        cols[args.y_true],
        cols[args.y_pred],
        {name: cols[name] for name in sensitive},
        y_score=cols[args.y_score] if args.y_score else None,
        n_boot=args.n_boot,
        seed=args.seed,
        thresholds={} if args.no_bar else _thresholds(args.threshold),
        confidence=args.confidence,
        min_group_size=args.min_group_size,
    )
    return emit_report(report, args)


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser(
        "fairness",
        help="group metrics and disparities of a binary classifier, with bootstrap intervals",
        description="Selection rate, accuracy, TPR, FPR and precision per group of the "
        "sensitive columns (each alone and their intersection), fairlearn's disparities "
        "with percentile bootstrap intervals, and a verdict. Input: one CSV or Parquet "
        "table with the label, prediction and sensitive columns (labels 0/1, 1 the "
        "positive class). Exit status 0: every bar met (by default the four-fifths rule, "
        "demographic_parity_ratio >= 0.8); 1: a bar missed; 2: usage or input error.",
    )
    p.add_argument("file", help="CSV or Parquet table")
    p.add_argument(
        "--y-true", default="y_true", metavar="COLUMN", help="label column (default: %(default)s)"
    )
    p.add_argument(
        "--y-pred",
        default="y_pred",
        metavar="COLUMN",
        help="prediction column (default: %(default)s)",
    )
    p.add_argument(
        "--sensitive", required=True, metavar="A,B", help="sensitive column(s), comma-separated"
    )
    p.add_argument("--y-score", metavar="COLUMN", help="score column: adds AUC and Brier score")
    p.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a bar for a disparity, e.g. equalized_odds_difference=0.1 (repeatable; "
        "demographic_parity_ratio is a floor, the others ceilings); replaces the default "
        "four-fifths rule",
    )
    p.add_argument(
        "--no-bar", action="store_true", help="no bar: report only (exit 0 unless an error)"
    )
    p.add_argument(
        "--n-boot",
        type=int,
        default=1000,
        metavar="N",
        help="bootstrap resamples (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default: %(default)s)")
    p.add_argument(
        "--confidence", type=float, default=0.95, help="interval level (default: %(default)s)"
    )
    p.add_argument(
        "--min-group-size",
        type=int,
        default=30,
        metavar="N",
        help="flag groups with fewer rows (default: %(default)s)",
    )
    add_output_flags(p)
    p.set_defaults(func=cmd_fairness)
