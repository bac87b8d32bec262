"""``mlsentry verify-env``: the installed packages against their RECORD files."""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_output_flags, emit_report


def cmd_verify_env(args: argparse.Namespace) -> int:
    from ..evidence import verify_environment, write_sarif

    report = verify_environment(args.path or None)
    if args.sarif:
        write_sarif(args.sarif, [report])
    return emit_report(report, args)


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser(
        "verify-env",
        help="check installed packages against their RECORD hashes (tampered packages)",
        description="Hash every file of every distribution installed in the running "
        "interpreter's site-packages (sysconfig purelib and platlib, or --path) and compare "
        "it with its RECORD: changed, missing and unrecorded files (in a distribution's "
        "folders, listed by no RECORD). Exit status 0: clean; 1: tampered; 2: usage or "
        "input error.",
    )
    p.add_argument(
        "--path",
        action="append",
        default=[],
        metavar="DIR",
        help="a site-packages folder to check instead (repeatable)",
    )
    p.add_argument("--sarif", metavar="FILE", help="write the problems as SARIF 2.1.0")
    add_output_flags(p)
    p.set_defaults(func=cmd_verify_env)
