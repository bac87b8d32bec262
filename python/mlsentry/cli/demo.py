"""``mlsentry demo``: every check once, on sample data made on the spot (see
:mod:`mlsentry.cli.demo_steps`)."""

from __future__ import annotations

import argparse
from typing import Any

from .common import EXIT_FAILED, EXIT_PASSED


def cmd_demo(args: argparse.Namespace) -> int:
    from .demo_steps import run_demo

    report = run_demo(args.out, quiet=args.json)
    if args.json:
        print(report.to_json())
    return EXIT_PASSED if report.passed else EXIT_FAILED


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser("demo", help="run every check on built-in sample data")
    p.add_argument("--out", default="mlsentry-demo", help="output folder (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the demo report as JSON")
    p.set_defaults(func=cmd_demo)
