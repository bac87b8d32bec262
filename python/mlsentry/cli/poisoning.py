"""``mlsentry poisoning``."""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_output_flags, add_progress_flag, emit_report, positive_int, show_progress
from .robustness import _features_and_labels


def cmd_poisoning(args: argparse.Namespace) -> int:
    from .. import data

    X, y = _features_and_labels(args)
    report = data.poisoning(
        X,
        y,
        args.method,
        expected_fraction=args.expected_fraction,
        multiplier=args.multiplier,
        centered=args.centered,
        nb_dims=args.nb_dims,
        n_init=args.n_init,
        cluster_analysis=args.cluster_analysis,
        k=args.k,
        seed=args.seed,
        progress=show_progress(args),
    )
    return emit_report(report, args)


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser(
        "poisoning",
        help="poisoning and backdoor scores per class on features or activations",
        description="Scores every row for how planted it looks within its class and lists "
        "the suspects (the top expected-fraction x multiplier of each class) with a "
        "per-class summary. The scores rank rows for inspection and set no bar: no "
        "verdict, exit 0. Exit 2 on a usage or input error.",
    )
    p.add_argument("data", metavar="FEATURES", help="features or activations: .npy, CSV or Parquet")
    p.add_argument(
        "--labels", metavar="FILE", help="labels file (.npy, CSV or Parquet, one column)"
    )
    p.add_argument("--label-column", metavar="NAME", help="labels from this column of FEATURES")
    p.add_argument(
        "--method",
        default="spectral",
        choices=["spectral", "activation_clustering", "knn"],
        help="scoring method (default: %(default)s)",
    )
    p.add_argument(
        "--expected-fraction",
        type=float,
        default=0.05,
        metavar="F",
        help="share of poisoned rows expected per class (default: %(default)s)",
    )
    p.add_argument(
        "--multiplier",
        type=float,
        default=1.5,
        metavar="M",
        help="flag the top F x M of each class (default: %(default)s)",
    )
    p.add_argument(
        "--centered",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="spectral: the paper's centred score; --no-centered: ART's |v.x| (default: centred)",
    )
    p.add_argument(
        "--nb-dims",
        type=positive_int,
        default=10,
        metavar="N",
        help="activation_clustering: PCA dimensions (default: %(default)s)",
    )
    p.add_argument(
        "--n-init",
        type=positive_int,
        default=4,
        metavar="N",
        help="activation_clustering: k-means runs (default: %(default)s)",
    )
    p.add_argument(
        "--cluster-analysis",
        default="smaller",
        choices=["smaller", "less_cohesive"],
        help="activation_clustering: which cluster is suspect (default: %(default)s)",
    )
    p.add_argument(
        "--k", type=positive_int, default=10, help="knn: neighbours per row (default: %(default)s)"
    )
    p.add_argument("--seed", type=int, default=0, help="seed of k-means (default: %(default)s)")
    add_output_flags(p)
    add_progress_flag(p)
    p.set_defaults(func=cmd_poisoning)
