"""What every command shares: exit statuses, the usage error, the output and progress
options, and turning a report into its output and exit status."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, Callable, Optional

from ..errors import FileChangedError, IntegrityError, ManifestError, MlsentryError

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(MlsentryError, ValueError):
    """A command-line argument that cannot be used (exit status 2)."""


def run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a parsed command; an exception becomes its message on standard error and the
    exit status it stands for."""
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


def show_progress(args: argparse.Namespace) -> bool:
    if getattr(args, "progress", None) is not None:
        return bool(args.progress)
    return sys.stderr.isatty()


def emit_report(report: Any, args: argparse.Namespace) -> int:
    """Print a report (summary or ``--json``), write ``--html``, return the exit status."""
    if getattr(args, "html", None):
        with open(args.html, "w", encoding="utf-8") as fh:
            fh.write(report.to_html())
    if getattr(args, "json", False):
        print(report.to_json())
    else:
        print(report.summary())
    # A check without a bar (passed is None) has no verdict: it does not fail the command.
    return EXIT_FAILED if report.passed is False else EXIT_PASSED


def passphrase(args: argparse.Namespace) -> Optional[str]:
    """A key passphrase from the environment variable named by --passphrase-env."""
    name = getattr(args, "passphrase_env", None)
    if not name:
        return None
    value = os.environ.get(name)
    if value is None:
        raise UsageError(f"--passphrase-env: the environment variable {name} is not set")
    return value


def split_names(text: Optional[str], option: str) -> Optional[list[str]]:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise UsageError(f"{option}: expected comma-separated column names, got {text!r}")
    return names


def add_output_flags(p: argparse.ArgumentParser, html: bool = True) -> None:
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    if html:
        p.add_argument("--html", metavar="FILE", help="write the HTML report to FILE")


def add_progress_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on standard error (default: when it is a terminal)",
    )


def positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {n}")
    return n


PASSPHRASE_HELP = "read the key passphrase from this environment variable"
