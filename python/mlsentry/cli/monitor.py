"""``mlsentry monitor``."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Optional

from .._tables import read_table, table_columns
from .common import (
    UsageError,
    add_model_flags,
    add_output_flags,
    emit_report,
    load_model,
    split_names,
)

if TYPE_CHECKING:
    import numpy as np


def _matrix(path: str, names: Optional[list[str]]) -> tuple[np.ndarray, list[str]]:
    """The numeric columns of a table file (those of ``names``, or every numeric one)."""
    import numpy as np

    cols = dict(table_columns(read_table(path), path))
    if names is None:
        names = [n for n, c in cols.items() if np.asarray(c).dtype.kind in "biuf"]
        if not names:
            raise UsageError(f"{path}: no numeric column")
    missing = [n for n in names if n not in cols]
    if missing:
        raise UsageError(f"{path}: no column {missing[0]!r}")
    return np.column_stack([np.asarray(cols[n], dtype=np.float64) for n in names]), names


def cmd_monitor(args: argparse.Namespace) -> int:
    from ..drift import Profile
    from ..monitor import Monitor  # numpy only when the command runs

    columns = split_names(args.columns, "--columns")
    ood = None if args.ood == "none" else args.ood
    if Profile.is_file(args.reference):
        if args.model is not None:
            raise UsageError(
                "--model: explaining the prediction shift needs reference rows, not a profile"
            )
        mon = Monitor(
            args.reference,
            ert=args.ert,
            window=args.window,
            ood=ood,
            seed=args.seed,
            columns=columns,
            prediction_column=args.prediction_column,
        )
        for path in args.stream:
            mon.update(read_table(path))
        return emit_report(mon.report(), args)
    if args.prediction_column is not None:
        raise UsageError("--prediction-column: only with a profile as REFERENCE")
    model = None if args.model is None else load_model(args.model, args.policy)
    reference, names = _matrix(args.reference, columns)
    mon = Monitor(reference, ert=args.ert, window=args.window, ood=ood, seed=args.seed)
    batch = reference[:0]
    for path in args.stream:
        batch = _matrix(path, names)[0]
        mon.update(batch)
    if model is None:
        return emit_report(mon.report(), args)
    explain = {"feature_names": names, "seed": args.seed}
    return emit_report(mon.report(model=model, current=batch, explain=explain), args)


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser(
        "monitor",
        help="replay production batches against reference data and print the alerts",
        description="Feeds the STREAM files (CSV, Parquet, .npy; in time order) to a "
        "monitor built from REFERENCE: an online MMD drift detector calibrated for --ert "
        "rows between false alarms, per-feature KS and OOD checks on windows. Numeric "
        "columns only (all of them, or --columns). REFERENCE may be a profile file (`mlsentry "
        "profile`): then each numeric column has its own online detector (see "
        "ms.monitor.Monitor), the KS checks run against the profile and there is no OOD "
        "check. Exit status 0: no alert; 1: alerts; 2: "
        "usage or input error.",
    )
    p.add_argument("reference", help="reference table (CSV, Parquet, .npy) or profile file")
    p.add_argument("stream", nargs="+", help="production batches, oldest first")
    p.add_argument("--columns", metavar="A,B", help="the numeric columns to watch")
    p.add_argument(
        "--prediction-column",
        metavar="NAME",
        help="with a profile: the column of model predictions (watched for prediction drift)",
    )
    p.add_argument(
        "--ert",
        type=float,
        default=1000,
        help="expected rows between false drift alarms (default: %(default)s)",
    )
    p.add_argument(
        "--window", type=int, default=50, help="rows of the drift window (default: %(default)s)"
    )
    p.add_argument(
        "--ood",
        default="auto",
        choices=["auto", "knn", "mahalanobis", "isolation", "none"],
        help="out-of-distribution score (default: %(default)s: knn for a table, none for a "
        "profile)",
    )
    p.add_argument("--seed", type=int, default=0, help="seed (default: %(default)s)")
    add_model_flags(
        p,
        "a pickled or joblib model of the watched columns: the report also explains, "
        "feature by feature, the shift of its mean prediction from REFERENCE to the last "
        "STREAM file (not with a profile). Scanned first, loaded only when the scan allows it",
    )
    add_output_flags(p)
    p.set_defaults(func=cmd_monitor)
