"""``mlsentry drift``."""

from __future__ import annotations

import argparse
from typing import Any

from .._tables import read_table
from .common import (
    UsageError,
    add_output_flags,
    add_progress_flag,
    emit_report,
    show_progress,
    split_names,
)


def _parse_tests(text: str) -> Any:
    """``auto``, one test name, or ``col=NAME,col2=NAME``."""
    if "=" not in text:
        return text.strip()
    tests: dict[str, str] = {}
    for part in text.split(","):
        column, sep, name = part.partition("=")
        if not sep or not column.strip() or not name.strip():
            raise UsageError(f"--tests: expected auto, a test name or col=NAME,...; got {part!r}")
        tests[column.strip()] = name.strip()
    return tests


def _side(path: str) -> Any:
    """A profile file as its path (``compare`` reads it), else the table."""
    from ..drift import Profile

    return path if Profile.is_file(path) else read_table(path)


def cmd_drift(args: argparse.Namespace) -> int:
    from ..drift import compare

    report = compare(
        _side(args.reference),
        _side(args.current),
        tests=_parse_tests(args.tests),
        alpha=args.alpha,
        correction=args.correction,
        columns=split_names(args.columns, "--columns"),
        exclude=split_names(args.exclude, "--exclude"),
        min_effect=args.min_effect,
        categorical=split_names(args.categorical, "--categorical"),
        drift_share=args.drift_share,
        progress=show_progress(args),
    )
    return emit_report(report, args)


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser(
        "drift",
        help="compare the columns of two data files (has the data drifted?)",
        description="Per-column two-sample tests of CURRENT against REFERENCE, corrected "
        "for multiple testing. Exit status 0: no drift; 1: drift, or a column missing on "
        "one side or of another type; 2: usage or input error.",
    )
    p.add_argument(
        "reference",
        help="CSV, Parquet or .npy file the model was trained on, or its profile "
        "(`mlsentry profile`)",
    )
    p.add_argument("current", help="CSV, Parquet or .npy file to check (or a profile)")
    p.add_argument("--columns", metavar="A,B", help="compare only these columns")
    p.add_argument("--exclude", metavar="A,B", help="leave these columns out")
    p.add_argument(
        "--min-effect",
        type=float,
        metavar="E",
        help="a column drifts only when its effect reaches E as well (Wasserstein / "
        "reference std for numbers, Jensen-Shannon distance for categories)",
    )
    p.add_argument(
        "--tests",
        default="auto",
        metavar="auto|NAME|COL=NAME,...",
        help="auto (default), one test for every column it fits (ks, chi2, psi, ...), "
        "or a test per column",
    )
    p.add_argument("--alpha", type=float, default=0.05, help="test level (default: %(default)s)")
    p.add_argument(
        "--correction",
        default="bh",
        choices=["bh", "by", "holm", "bonferroni", "none"],
        help="multiple-testing correction (default: %(default)s)",
    )
    p.add_argument("--categorical", metavar="A,B", help="compare these columns as categories")
    p.add_argument(
        "--drift-share",
        type=float,
        default=None,
        metavar="X",
        help="drift when at least this share of the columns drifted (default: any column)",
    )
    add_output_flags(p)
    add_progress_flag(p)
    p.set_defaults(func=cmd_drift)
