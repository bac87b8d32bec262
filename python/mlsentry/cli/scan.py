"""``mlsentry scan``."""

from __future__ import annotations

import argparse
from typing import Any

from .common import (
    add_output_flags,
    add_progress_flag,
    emit_report,
    show_progress,
)


def cmd_scan(args: argparse.Namespace) -> int:
    from ..scan import scan

    report = scan(
        args.paths,
        policy=args.policy,
        digests=not args.no_digests,
        progress=show_progress(args),
    )
    if args.sarif:
        from ..evidence import write_sarif

        write_sarif(args.sarif, [report])
    return emit_report(report, args)


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser(
        "scan",
        help="find code hidden in model files (pickle, PyTorch, joblib, NumPy, Keras)",
        description="Exit 0 when every file is safe, 1 when something is dangerous or "
        "unknown, 2 on a usage or input error.",
    )
    p.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    p.add_argument("--policy", metavar="FILE", help="extend the policy (TOML or JSON)")
    p.add_argument(
        "--no-digests", action="store_true", help="do not record the files' digests (faster)"
    )
    p.add_argument("--sarif", metavar="FILE", help="write the findings as SARIF 2.1.0")
    add_output_flags(p)
    add_progress_flag(p)
    p.set_defaults(func=cmd_scan)
