"""The ``mlsentry`` command line.

Exit status, for every command: 0 the check passed, 1 the check failed (tampering found,
drift found, unsafe file), 2 usage or input error (bad arguments, unreadable input),
130 interrupted with Ctrl-C. ``--json`` prints the report as JSON on standard output;
``--html FILE`` writes the HTML report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, Callable, Optional

from .errors import FileChangedError, IntegrityError, ManifestError, MlsentryError

EXIT_PASSED, EXIT_FAILED, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 130


class UsageError(MlsentryError, ValueError):
    """A command-line argument that cannot be used (exit status 2)."""


def _show_progress(args: argparse.Namespace) -> bool:
    if getattr(args, "progress", None) is not None:
        return bool(args.progress)
    return sys.stderr.isatty()


def _emit_report(report: Any, args: argparse.Namespace) -> int:
    """Print a report (summary or ``--json``), write ``--html``, return the exit status."""
    if getattr(args, "html", None):
        with open(args.html, "w", encoding="utf-8") as fh:
            fh.write(report.to_html())
    if getattr(args, "json", False):
        print(report.to_json())
    else:
        print(report.summary())
    return EXIT_PASSED if report.passed else EXIT_FAILED


# -- data files ------------------------------------------------------------------------
def load_table(path: str, fmt: str = "auto") -> Any:
    """Load a CSV, Parquet or .npy file for fingerprinting (and later, drift)."""
    if not os.path.exists(path):
        from .errors import PathNotFoundError

        raise PathNotFoundError(2, "No such file or directory", path)
    if fmt == "auto":
        ext = os.path.splitext(path)[1].lower()
        fmt = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".npy": "npy"}.get(ext, "")
        if not fmt:
            raise UsageError(
                f"FILE: cannot tell the format of {path!r} from its suffix; "
                "use --format csv|parquet|npy|bytes"
            )
    if fmt == "npy":
        import numpy as np

        try:
            return np.load(path, allow_pickle=False)
        except ValueError as e:
            raise UsageError(f"{path}: not a plain .npy array ({e})") from None
    if fmt == "bytes":
        with open(path, "rb") as fh:
            return fh.read()
    if fmt == "csv":
        try:
            import pandas as pd
        except ImportError:
            raise UsageError("reading CSV needs pandas: pip install 'mlsentry[pandas]'") from None
        return pd.read_csv(path)
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise UsageError(
                "reading Parquet needs pyarrow: pip install 'mlsentry[pandas]'"
            ) from None
        return pq.read_table(path)
    raise UsageError(f"--format: expected auto, csv, parquet, npy or bytes, got {fmt!r}")


# -- commands --------------------------------------------------------------------------
def cmd_fingerprint(args: argparse.Namespace) -> int:
    from . import fingerprint

    digest = fingerprint(
        load_table(args.file, args.format), index=not args.no_index, row_order=not args.any_order
    )
    if args.json:
        print(json.dumps({"path": args.file, "fingerprint": digest}))
    else:
        print(digest)
    return EXIT_PASSED


def cmd_manifest(args: argparse.Namespace) -> int:
    from .integrity import manifest

    m = manifest(
        args.path,
        algorithm=args.algorithm,
        shard_size=args.shard_size,
        ignore=tuple(args.ignore),
        follow_symlinks=args.follow_symlinks,
        progress=_show_progress(args),
    )
    if args.output:
        m.save(args.output)
    if args.json or not args.output:
        print(m.to_json())
    else:
        total = sum(f.size for f in m.files)
        print(f"{len(m.files)} files, {total} bytes, root {m.root} -> {args.output}")
    return EXIT_PASSED


def cmd_verify(args: argparse.Namespace) -> int:
    from .integrity import verify

    report = verify(args.path, args.manifest, progress=_show_progress(args))
    return _emit_report(report, args)


def cmd_demo(args: argparse.Namespace) -> int:
    from ._demo import run_demo

    report = run_demo(args.out, quiet=args.json)
    if args.json:
        print(report.to_json())
    return EXIT_PASSED if report.passed else EXIT_FAILED


# -- parser ----------------------------------------------------------------------------
def _add_output_flags(p: argparse.ArgumentParser, html: bool = True) -> None:
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    if html:
        p.add_argument("--html", metavar="FILE", help="write the HTML report to FILE")


def _add_progress_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--progress",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="progress bar on standard error (default: when it is a terminal)",
    )


def _positive_int(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if n <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {n}")
    return n


def build_parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = argparse.ArgumentParser(
        prog="mlsentry",
        description="Security and trust checks for machine-learning pipelines.",
        epilog="Exit status: 0 check passed, 1 check failed, 2 usage or input error.",
    )
    parser.add_argument("--version", action="version", version=f"mlsentry {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("demo", help="run every check on built-in sample data")
    p.add_argument("--out", default="mlsentry-demo", help="output folder (default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the demo report as JSON")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("fingerprint", help="content fingerprint of a data file")
    p.add_argument("file", help="CSV, Parquet or .npy file")
    p.add_argument("--format", default="auto", choices=["auto", "csv", "parquet", "npy", "bytes"])
    p.add_argument("--no-index", action="store_true", help="leave the row index out (CSV)")
    p.add_argument("--any-order", action="store_true", help="a digest that ignores row order")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_fingerprint)

    p = sub.add_parser("manifest", help="hash a file or folder into a manifest")
    p.add_argument("path")
    p.add_argument("-o", "--output", help="write the manifest JSON here (default: print it)")
    p.add_argument("--algorithm", default="sha256", choices=["sha256", "blake3"])
    p.add_argument("--shard-size", type=_positive_int, default=None, metavar="BYTES")
    p.add_argument("--ignore", action="append", default=[], metavar="GLOB")
    p.add_argument("--follow-symlinks", action="store_true")
    p.add_argument("--json", action="store_true", help="print the manifest JSON")
    _add_progress_flag(p)
    p.set_defaults(func=cmd_manifest)

    p = sub.add_parser("verify", help="check a file or folder against a manifest")
    p.add_argument("path")
    p.add_argument("manifest", help="manifest JSON written by `mlsentry manifest`")
    _add_output_flags(p)
    _add_progress_flag(p)
    p.set_defaults(func=cmd_verify)
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
