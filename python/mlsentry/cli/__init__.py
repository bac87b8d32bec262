"""The ``mlsentry`` command line.

Exit status, for every command: 0 the check passed, 1 the check failed (tampering found,
drift found, unsafe file), 2 usage or input error (bad arguments, unreadable input),
130 interrupted with Ctrl-C. ``--json`` prints the report as JSON on standard output;
``--html FILE`` writes the HTML report.
"""

import argparse
import sys
from collections.abc import Sequence
from typing import Callable, Optional

from .._version import __version__
from ..errors import FileChangedError, IntegrityError, ManifestError, MlsentryError
from . import (
    demo,
    drift,
    integrity,
    labels,
    leakage,
    monitor,
    poisoning,
    robustness,
    scan,
    validate,
)
from .common import EXIT_ERROR, EXIT_FAILED, EXIT_INTERRUPTED, UsageError

__all__ = ["UsageError", "build_parser", "main"]

# The command groups, in the order `mlsentry --help` lists them.
_GROUPS = (demo, integrity, drift, robustness, scan, validate, labels, leakage, poisoning, monitor)


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
    try:
        return func(args)
    except KeyboardInterrupt:
        print("mlsentry: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except (ManifestError, FileChangedError) as e:
        # A manifest that is not one, or a file that moved under us: nothing was checked.
        print(f"mlsentry: error: {e}", file=sys.stderr)
        return EXIT_ERROR
    except IntegrityError as e:
        print(f"mlsentry: {e}", file=sys.stderr)
        return EXIT_FAILED
    except (MlsentryError, OSError) as e:
        print(f"mlsentry: error: {e}", file=sys.stderr)
        return EXIT_ERROR
