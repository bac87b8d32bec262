"""``mlsentry robustness``."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any

from .._tables import read_table
from .common import (
    UsageError,
    add_output_flags,
    add_progress_flag,
    emit_report,
    positive_int,
    show_progress,
    split_names,
)


def _load_model(spec: str) -> Any:
    """``module:attribute`` (``package.module:object.attr``), imported from the current
    folder too, as ``python -m`` would."""
    import importlib

    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"MODEL: expected module:callable, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise UsageError(f"MODEL: cannot import {module_name!r} ({e})") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"MODEL: {module_name!r} has no attribute {attr!r}") from None
    return obj


def _features_and_labels(args: argparse.Namespace) -> tuple[Any, Any]:
    import numpy as np

    data = read_table(args.data)
    if args.labels is not None:
        labels = read_table(args.labels)
        y = np.asarray(labels.to_pandas() if hasattr(labels, "to_pandas") else labels)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        X = data.to_pandas() if hasattr(data, "to_pandas") and not hasattr(data, "iloc") else data
        return np.asarray(X), y
    if args.label_column is None:
        raise UsageError("give the labels: a LABELS file or --label-column NAME")
    table = data.to_pandas() if not hasattr(data, "iloc") else data
    if not hasattr(table, "columns") or args.label_column not in table.columns:
        raise UsageError(f"--label-column: no column {args.label_column!r} in {args.data}")
    return table.drop(columns=[args.label_column]).to_numpy(), table[args.label_column].to_numpy()


def cmd_robustness(args: argparse.Namespace) -> int:
    from ..robustness import Constraints, evaluate

    model = _load_model(args.model)
    X, y = _features_and_labels(args)
    constraints = None
    if args.lower is not None or args.upper is not None or args.scale_std:
        constraints = Constraints(
            lower=args.lower, upper=args.upper, scale="std" if args.scale_std else None
        )
    report = evaluate(
        model,
        X,
        y,
        attacks=split_names(args.attacks, "--attacks") or ("noise", "square", "hsj"),
        eps=args.eps,
        norm=args.norm,
        max_queries=args.max_queries,
        constraints=constraints,
        seed=args.seed,
        threshold=args.threshold,
        batch_size=args.batch_size,
        progress=show_progress(args),
    )
    return emit_report(report, args)


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser(
        "robustness",
        help="attack a model (a Python callable) on data: robust accuracy per budget",
        description="With --threshold: exit 0 when the robust accuracy meets it (on its lower "
        "confidence bound) at every eps, 1 when not. Without one the accuracy is measured, "
        "not judged: no verdict, exit 0. Exit 2 on a usage or input error.",
    )
    p.add_argument("model", help="module:callable, or module:object with predict_proba/predict")
    p.add_argument("data", help="features: .npy, CSV or Parquet")
    p.add_argument("labels", nargs="?", help="labels file (.npy, CSV or Parquet with one column)")
    p.add_argument("--label-column", metavar="NAME", help="labels from this column of DATA")
    p.add_argument(
        "--eps", type=float, nargs="+", default=[0.1], help="budgets (default: %(default)s)"
    )
    p.add_argument(
        "--norm",
        default="linf",
        choices=["linf", "l2"],
        help="how a perturbation's size is measured against eps (default: %(default)s)",
    )
    p.add_argument(
        "--attacks", metavar="A,B", help="noise,square,hsj,pgd (default: noise,square,hsj)"
    )
    p.add_argument(
        "--max-queries",
        type=positive_int,
        default=1000,
        metavar="N",
        help="model rows each attack may spend per sample (default: %(default)s)",
    )
    p.add_argument("--threshold", type=float, help="lowest acceptable robust accuracy")
    p.add_argument("--lower", type=float, help="lower bound of every feature")
    p.add_argument("--upper", type=float, help="upper bound of every feature")
    p.add_argument("--scale-std", action="store_true", help="eps in standard deviations")
    p.add_argument(
        "--seed", type=int, default=0, help="seed of the random attacks (default: %(default)s)"
    )
    p.add_argument(
        "--batch-size",
        type=positive_int,
        default=None,
        metavar="N",
        help="at most N rows per model call (default: all rows of a round in one call)",
    )
    add_output_flags(p)
    add_progress_flag(p)
    p.set_defaults(func=cmd_robustness)
