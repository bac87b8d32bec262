"""``mlsentry leakage``."""

from __future__ import annotations

import argparse
from typing import Any

from .._tables import read_table
from .common import add_output_flags, add_progress_flag, emit_report, show_progress, split_names

#: ``mlsentry.data.duplicates.DEFAULT_NEAR_THRESHOLD``, written out so that the command line
#: starts without importing numpy (a test checks they agree).
DEFAULT_NEAR_THRESHOLD = 0.01


def cmd_leakage(args: argparse.Namespace) -> int:
    from .. import data

    columns: Any = split_names(args.columns, "--columns")
    if args.columns == "shared":
        columns = "shared"
    report = data.leakage(
        read_table(args.train),
        None if args.test is None else read_table(args.test),
        near_threshold=None if args.exact_only else args.near_threshold,
        columns=columns,
        max_share=args.max_share,
        progress=show_progress(args),
    )
    return emit_report(report, args)


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser(
        "leakage",
        help="find test rows that are also in the training data (exact and near duplicates)",
        description="Rows of TEST that are in TRAIN, exactly or nearly (numeric columns within "
        "--near-threshold train standard deviations, the other columns equal); with TRAIN "
        "alone, its rows that repeat an earlier row. Exit status 0: at most --max-share of "
        "the rows affected (or no --max-share: no verdict); 1: more; 2: usage or input error.",
    )
    p.add_argument("train", help="CSV, Parquet or .npy file of the training data")
    p.add_argument("test", nargs="?", help="CSV, Parquet or .npy file of the test data")
    p.add_argument(
        "--near-threshold",
        type=float,
        default=DEFAULT_NEAR_THRESHOLD,
        metavar="T",
        help="near duplicates: every numeric column within T train standard deviations "
        "(default: %(default)s)",
    )
    p.add_argument("--exact-only", action="store_true", help="look for exact duplicates only")
    p.add_argument(
        "--max-share",
        type=float,
        default=None,
        metavar="X",
        help="fail when more than this share of the test rows is affected (0: any)",
    )
    p.add_argument(
        "--columns",
        metavar="A,B|shared",
        help="compare only these columns, or 'shared': the columns both files have",
    )
    add_output_flags(p)
    add_progress_flag(p)
    p.set_defaults(func=cmd_leakage)
