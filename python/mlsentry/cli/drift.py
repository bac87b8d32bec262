"""``mlsentry drift``."""

from __future__ import annotations

import argparse
from typing import Any

from .._tables import read_table
from .common import (
    UsageError,
    add_model_flags,
    add_output_flags,
    add_progress_flag,
    emit_report,
    load_model,
    positive_int,
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
        **_explanation(args),
    )
    return emit_report(report, args)


def _explanation(args: argparse.Namespace) -> dict[str, Any]:
    """``--model``: the model (loaded only if the scan allows it) and the options of the
    prediction-shift explanation ``compare`` attaches to the report."""
    if args.model is None:
        if args.explain_rows is not None:
            raise UsageError("--explain-rows: only with --model")
        return {}
    explain: dict[str, Any] = {"seed": args.seed}
    if args.explain_rows is not None:
        explain["max_rows"] = args.explain_rows
    return {"model": load_model(args.model, args.policy), "explain": explain}


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
    add_model_flags(
        p,
        "a pickled or joblib model of these columns: also explain, feature by feature, "
        "the shift of its mean prediction from REFERENCE to CURRENT (SHAP values against one "
        "background; in the report, no effect on the verdict). Scanned first, loaded only "
        "when the scan allows it",
    )
    p.add_argument(
        "--explain-rows",
        type=positive_int,
        metavar="N",
        help="with --model: rows of each side explained (a seeded sample; default 1000)",
    )
    p.add_argument(
        "--seed", type=int, default=0, help="with --model: sampling seed (default: %(default)s)"
    )
    add_output_flags(p)
    add_progress_flag(p)
    p.set_defaults(func=cmd_drift)
