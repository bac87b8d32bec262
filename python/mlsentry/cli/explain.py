"""``mlsentry explain``."""

from __future__ import annotations

import argparse
from typing import Any

from .._tables import read_table
from .common import (
    POLICY_HELP,
    UsageError,
    add_output_flags,
    add_progress_flag,
    emit_report,
    load_model,
    positive_int,
    show_progress,
    split_names,
)


def _frame(path: str, drop: Any) -> Any:
    table = read_table(path)
    if hasattr(table, "to_pandas") and not hasattr(table, "iloc"):
        table = table.to_pandas()
    if drop:
        if not hasattr(table, "columns"):
            raise UsageError(f"--drop: {path} has no named columns")
        missing = [c for c in drop if c not in table.columns]
        if missing:
            raise UsageError(f"--drop: {path} has no column {missing[0]!r}")
        table = table.drop(columns=drop)
    return table


def cmd_explain(args: argparse.Namespace) -> int:
    from ..errors import InvalidTypeError
    from ..explain import kernel_shap, tree_shap

    model = load_model(args.model, args.policy)
    drop = split_names(args.drop, "--drop")
    data = _frame(args.data, drop)
    X = data if args.rows is None else data[: args.rows]
    background = None if args.background is None else _frame(args.background, drop)
    progress = show_progress(args)
    report = None
    if args.method in ("auto", "tree"):
        try:
            report = tree_shap(model, X, background=background, progress=progress)
        except InvalidTypeError as e:
            if args.method == "tree" or "not a supported tree model" not in str(e):
                raise
    if report is None:
        if background is None:
            background = data[: args.background_rows]
        nsamples: Any = args.nsamples
        if nsamples not in ("auto", "exact"):
            try:
                nsamples = int(nsamples)
            except ValueError:
                raise UsageError(
                    f"--nsamples: expected auto, exact or a number, got {nsamples!r}"
                ) from None
        report = kernel_shap(
            model, X, background, nsamples=nsamples, seed=args.seed, progress=progress
        )
    return emit_report(report, args)


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser(
        "explain",
        help="SHAP values of a model on a data file (Tree SHAP or Kernel SHAP)",
        description="Explain a pickled or joblib model's outputs on the rows of a CSV, "
        "Parquet or .npy file with SHAP values: exact Tree SHAP for scikit-learn, XGBoost "
        "and LightGBM tree models, Kernel SHAP for any other model. Loading a pickle runs "
        "code: the file is scanned first (as `mlsentry scan`) and refused unless every "
        "global it imports is allowed. An explanation has no verdict. Exit status 0: "
        "explained; 2: usage or input error, or a model file the scan refused.",
    )
    p.add_argument("model", help="model file (.pkl, .pickle, .joblib)")
    p.add_argument("data", help="rows to explain: CSV, Parquet or .npy")
    p.add_argument(
        "--method",
        choices=("auto", "tree", "kernel"),
        default="auto",
        help="auto: Tree SHAP when the model is a supported tree ensemble (default)",
    )
    p.add_argument(
        "--background",
        metavar="FILE",
        help="background rows: interventional Tree SHAP, or Kernel SHAP's reference "
        "(default for Kernel SHAP: the first --background-rows rows of DATA)",
    )
    p.add_argument(
        "--background-rows",
        type=positive_int,
        default=100,
        metavar="N",
        help="Kernel SHAP without --background: rows of DATA used (default: %(default)s)",
    )
    p.add_argument("--rows", type=positive_int, metavar="N", help="explain the first N rows only")
    p.add_argument("--drop", metavar="A,B", help="columns of DATA that are not features (a label)")
    p.add_argument(
        "--nsamples",
        default="auto",
        help="Kernel SHAP coalitions: auto, exact or a number (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=0, help="Kernel SHAP sampling seed")
    p.add_argument(
        "--policy",
        metavar="FILE",
        help=POLICY_HELP,
    )
    add_output_flags(p)
    add_progress_flag(p)
    p.set_defaults(func=cmd_explain)
