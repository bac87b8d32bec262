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


POLICY_HELP = "scan policy (TOML/JSON) allowing the model's classes, as for `mlsentry scan`"


class ModelRefused(UsageError):
    """A model file the scan would not let us load; ``.report`` is the scan report."""

    def __init__(self, message: str, report: Any) -> None:
        super().__init__(message)
        self.report = report


def load_model(path: str, policy: Any = None) -> Any:
    """Unpickle a model file (pickle or joblib), but only after the scanner read every
    opcode and found nothing ``policy`` does not allow: loading a pickle runs the code it
    names. Raises :class:`ModelRefused` otherwise."""
    from ..scan import scan

    report = scan(path, policy=policy, digests=False)
    if not report.safe:
        lines = [f"  {f.severity}: {f.message}" for f in report.findings[:5]]
        raise ModelRefused(
            f"{path}: refusing to load: unpickling runs code, and the scan found "
            f"{len(report.findings)} finding(s):\n" + "\n".join(lines) + "\n(allow the "
            "model's own classes with --policy FILE if you trust the file's source)",
            report,
        )
    if path.lower().endswith(".joblib"):
        try:
            import joblib
        except ImportError:
            raise UsageError(f"{path}: reading .joblib files needs joblib installed") from None
        return joblib.load(path)
    import pickle

    with open(path, "rb") as fh:
        return pickle.load(fh)  # the scan above read every opcode


def add_model_flags(p: argparse.ArgumentParser, model_help: str) -> None:
    """``--model FILE`` and the scan ``--policy FILE`` that lets it load."""
    p.add_argument("--model", metavar="FILE", help=model_help)
    p.add_argument(
        "--policy",
        metavar="FILE",
        help=POLICY_HELP,
    )


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
