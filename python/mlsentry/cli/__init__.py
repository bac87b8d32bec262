"""The ``mlsentry`` command line.

Exit status, for every command: 0 the check passed, 1 the check failed (tampering found,
drift found, unsafe file), 2 usage or input error (bad arguments, unreadable input),
130 interrupted with Ctrl-C. ``--json`` prints the report as JSON on standard output;
``--html FILE`` writes the HTML report.
"""

import argparse
from collections.abc import Sequence
from typing import Callable, Optional

from .._version import __version__
from . import (
    check,
    demo,
    drift,
    evidence,
    explain,
    fairness,
    integrity,
    labels,
    leakage,
    monitor,
    poisoning,
    privacy,
    profile,
    robustness,
    scan,
    validate,
    verify_env,
)
from .common import EXIT_ERROR, UsageError, run_command

__all__ = ["UsageError", "build_parser", "main"]

# The command groups, in the order `mlsentry --help` lists them.
_GROUPS = (
    demo,
    integrity,
    drift,
    profile,
    robustness,
    scan,
    validate,
    labels,
    leakage,
    poisoning,
    privacy,
    fairness,
    explain,
    monitor,
    check,
    evidence,
    verify_env,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlsentry",
        description="Security and trust checks for machine-learning pipelines.",
        epilog="Exit status: 0 check passed, 1 check failed, 2 usage or input error.",
    )
    parser.add_argument("--version", action="version", version=f"mlsentry {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for group in _GROUPS:
        group.register(sub)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:  # argparse: --help/--version exit 0, usage errors exit 2
        return int(e.code or 0) if isinstance(e.code, int) else EXIT_ERROR
    func: Callable[[argparse.Namespace], int] = args.func
    return run_command(func, args)
