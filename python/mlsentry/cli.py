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
    """Load a CSV, Parquet or .npy file for fingerprinting and drift."""
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
    from .integrity import DEFAULT_SHARD_SIZE, manifest

    m = manifest(
        args.path,
        algorithm=args.algorithm,
        shard_size=_shard_size(args, DEFAULT_SHARD_SIZE),
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


def _shard_size(args: argparse.Namespace, default: Optional[int]) -> Optional[int]:
    """``--files`` (one digest per file), ``--shard-size BYTES``, or ``default``."""
    if getattr(args, "files", False):
        return None
    return args.shard_size or default


def _add_shard_flags(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--shard-size",
        type=_positive_int,
        default=None,
        metavar="BYTES",
        help="hash files in shards of this size, in parallel (default: 64 MiB; with "
        "--format model-signing: files)",
    )
    group.add_argument(
        "--files",
        action="store_true",
        help="one digest per file (files mode: a large file is hashed on one core)",
    )


def cmd_verify(args: argparse.Namespace) -> int:
    from .integrity import verify

    report = verify(args.path, args.manifest, progress=_show_progress(args))
    return _emit_report(report, args)


def _passphrase(args: argparse.Namespace) -> Optional[str]:
    """A key passphrase from the environment variable named by --passphrase-env."""
    name = getattr(args, "passphrase_env", None)
    if not name:
        return None
    value = os.environ.get(name)
    if value is None:
        raise UsageError(f"--passphrase-env: the environment variable {name} is not set")
    return value


def cmd_keygen(args: argparse.Namespace) -> int:
    from .integrity import SigningKey

    key = SigningKey.generate(args.algorithm)
    pub = args.pub or (
        args.output + ".pub"
        if not args.output.endswith(".pem")
        else args.output[: -len(".pem")] + ".pub"
    )
    for path in (args.output, pub):
        if os.path.exists(path) and not args.force:
            raise UsageError(f"{path} exists; use --force to overwrite it")
    key.save(args.output, passphrase=_passphrase(args))
    key.public_key.save(pub)
    if args.json:
        print(
            json.dumps(
                {
                    "private_key": args.output,
                    "public_key": pub,
                    "algorithm": key.algorithm,
                    "key_id": key.key_id,
                }
            )
        )
    else:
        print(
            f"{key.algorithm} key {key.key_id[:16]}...: private {args.output} (mode 0600), "
            f"public {pub}"
        )
    return EXIT_PASSED


def cmd_sign(args: argparse.Namespace) -> int:
    from .integrity import DEFAULT_SHARD_SIZE, Manifest, SigningKey, manifest, sign

    key = SigningKey.load(args.key, passphrase=_passphrase(args))
    if args.format == "model-signing":
        from ._model_signing import sign_model

        # model-signing's command line verifies only the files serialization.
        shard_size = _shard_size(args, None)
        out = sign_model(args.path, key, args.output or "model.sig", shard_size=shard_size)
        print(f"signed {args.path} -> {out} (OpenSSF Model Signing bundle)")
        return EXIT_PASSED
    name = os.path.basename(os.path.normpath(args.path))
    if os.path.isfile(args.path) and args.path.endswith(".json"):
        subject: Any = _load_json_subject(args.path)
    else:
        subject = manifest(
            args.path,
            algorithm=args.algorithm,
            shard_size=_shard_size(args, DEFAULT_SHARD_SIZE),
            progress=_show_progress(args),
        )
    env = sign(subject, key, name=name)
    if args.output:
        env.save(args.output)
        what = "manifest of " + args.path if isinstance(subject, Manifest) else args.path
        print(f"signed {what} with {key.algorithm} key {key.key_id[:16]}... -> {args.output}")
    else:
        print(env.to_json(indent=2))
    return EXIT_PASSED


def _load_json_subject(path: str) -> Any:
    """A JSON file to sign: a manifest, a report (any mlsentry schema) or any object."""
    from .integrity import Manifest

    with open(path, encoding="utf-8") as fh:
        try:
            data = json.load(fh)
        except ValueError as e:
            raise UsageError(f"{path}: not JSON ({e})") from None
    if isinstance(data, dict) and data.get("schema") == "mlsentry/manifest/v1":
        return Manifest.from_json(json.dumps(data))
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a JSON object")
    return data


def cmd_verify_signature(args: argparse.Namespace) -> int:
    from .integrity import Envelope, PublicKey, verify, verify_envelope

    pub = PublicKey.load(args.pub)
    with open(args.signature, "rb") as fh:
        raw = fh.read()
    try:
        doc = json.loads(raw)
    except ValueError:
        raise UsageError(f"{args.signature}: not JSON") from None
    if isinstance(doc, dict) and "dsseEnvelope" in doc:  # an OpenSSF Model Signing bundle
        from ._model_signing import verify_model

        return _emit_report(verify_model(args.path, args.signature, pub), args)
    env = Envelope.from_json(raw)
    statement = verify_envelope(env, pub)
    if statement.get("predicateType", "").endswith("/manifest/v1"):
        return _emit_report(verify(args.path, env, pub, progress=_show_progress(args)), args)
    # A signed report or document: the signature is the whole check.
    if args.json:
        print(json.dumps(statement))
    else:
        print(
            f"signature OK ({pub.algorithm} key {pub.key_id[:16]}...): "
            f"{statement.get('predicateType')}"
        )
    return EXIT_PASSED


def cmd_log(args: argparse.Namespace) -> int:
    from .integrity import AuditLog, PublicKey, SigningKey

    log = AuditLog(args.log)
    if args.log_command == "append":
        try:
            event = json.loads(args.event)
        except ValueError as e:
            raise UsageError(f"EVENT: not JSON ({e})") from None
        entry = log.append(event)
        print(json.dumps({"index": entry.index, "leaf": entry.leaf, "time": entry.time}))
        return EXIT_PASSED
    if args.log_command == "checkpoint":
        cp = log.checkpoint(SigningKey.load(args.key, passphrase=_passphrase(args)))
        print(json.dumps({k: cp[k] for k in ("size", "root", "time")}))
        return EXIT_PASSED
    if args.log_command == "verify":
        keys = [PublicKey.load(p) for p in args.pub]
        return _emit_report(log.verify(keys), args)
    if args.log_command == "proof":
        if args.consistency is not None:
            c = log.consistency_proof(args.consistency)
            doc: dict[str, Any] = {**c.__dict__, "path": list(c.path), "verified": c.verify()}
        else:
            p = log.inclusion_proof(args.index)
            doc = {**p.__dict__, "path": list(p.path), "verified": p.verify()}
        print(json.dumps(doc, indent=2))
        return EXIT_PASSED if doc["verified"] else EXIT_FAILED
    raise UsageError("log: expected append, checkpoint, verify or proof")


def _split_names(text: Optional[str], option: str) -> Optional[list[str]]:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",")]
    if not all(names):
        raise UsageError(f"{option}: expected comma-separated column names, got {text!r}")
    return names


def _parse_tests(text: str) -> Any:
    """``auto``, one test name, or ``col=NAME,col2=NAME``."""
    if "=" not in text:
        return text.strip()
    tests: dict[str, str] = {}
    for part in text.split(","):
        column, sep, name = part.partition("=")
        if not sep or not column.strip() or not name.strip():
            raise UsageError(f"--tests: expected auto, a test name or col=NAME,...; got {part!r}")
        tests[column.strip()] = name.strip()
    return tests


def cmd_drift(args: argparse.Namespace) -> int:
    from ._drift_compare import compare

    report = compare(
        load_table(args.reference),
        load_table(args.current),
        tests=_parse_tests(args.tests),
        alpha=args.alpha,
        correction=args.correction,
        columns=_split_names(args.columns, "--columns"),
        categorical=_split_names(args.categorical, "--categorical"),
        drift_share=args.drift_share,
        progress=_show_progress(args),
    )
    return _emit_report(report, args)


def _load_model(spec: str) -> Any:
    """``module:attribute`` (``package.module:object.attr``), imported from the current
    folder too, as ``python -m`` would."""
    import importlib

    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise UsageError(f"MODEL: expected module:callable, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as e:
        raise UsageError(f"MODEL: cannot import {module_name!r} ({e})") from None
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise UsageError(f"MODEL: {module_name!r} has no attribute {attr!r}") from None
    return obj


def _features_and_labels(args: argparse.Namespace) -> tuple[Any, Any]:
    import numpy as np

    data = load_table(args.data)
    if args.labels is not None:
        labels = load_table(args.labels)
        y = np.asarray(labels.to_pandas() if hasattr(labels, "to_pandas") else labels)
        if y.ndim == 2 and y.shape[1] == 1:
            y = y[:, 0]
        X = data.to_pandas() if hasattr(data, "to_pandas") and not hasattr(data, "iloc") else data
        return np.asarray(X), y
    if args.label_column is None:
        raise UsageError("give the labels: a LABELS file or --label-column NAME")
    table = data.to_pandas() if not hasattr(data, "iloc") else data
    if not hasattr(table, "columns") or args.label_column not in table.columns:
        raise UsageError(f"--label-column: no column {args.label_column!r} in {args.data}")
    return table.drop(columns=[args.label_column]).to_numpy(), table[args.label_column].to_numpy()


def cmd_robustness(args: argparse.Namespace) -> int:
    from .robustness import Constraints, evaluate

    model = _load_model(args.model)
    X, y = _features_and_labels(args)
    constraints = None
    if args.lower is not None or args.upper is not None or args.scale_std:
        constraints = Constraints(
            lower=args.lower, upper=args.upper, scale="std" if args.scale_std else None
        )
    report = evaluate(
        model,
        X,
        y,
        attacks=_split_names(args.attacks, "--attacks") or ("noise", "square", "hsj"),
        eps=args.eps,
        norm=args.norm,
        max_queries=args.max_queries,
        constraints=constraints,
        seed=args.seed,
        threshold=args.threshold,
        batch_size=args.batch_size,
        progress=_show_progress(args),
    )
    return _emit_report(report, args)


def cmd_scan(args: argparse.Namespace) -> int:
    from .scan import scan

    report = scan(
        args.paths,
        policy=args.policy,
        digests=not args.no_digests,
        progress=_show_progress(args),
    )
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
    _add_shard_flags(p)
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

    passphrase_help = "read the key passphrase from this environment variable"
    p = sub.add_parser("keygen", help="create a signing key pair")
    p.add_argument("-o", "--output", default="mlsentry-key.pem", help="private key (PKCS#8 PEM)")
    p.add_argument("--pub", help="public key path (default: OUTPUT with .pub)")
    p.add_argument("--algorithm", default="ed25519", choices=["ed25519", "ecdsa-p256"])
    p.add_argument("--passphrase-env", metavar="VAR", help=passphrase_help)
    p.add_argument("--force", action="store_true", help="overwrite existing key files")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_keygen)

    p = sub.add_parser("sign", help="sign a folder's manifest (or a report/JSON file)")
    p.add_argument("path", help="a folder or file to sign, or a report/manifest .json")
    p.add_argument("--key", required=True, help="private key PEM")
    p.add_argument("-o", "--output", help="where to write the envelope (default: print it)")
    p.add_argument(
        "--format",
        default="dsse",
        choices=["dsse", "model-signing"],
        help="dsse: in-toto statement in a DSSE envelope; model-signing: an "
        "OpenSSF Model Signing bundle (needs an ecdsa-p256 key)",
    )
    p.add_argument("--algorithm", default="sha256", choices=["sha256", "blake3"])
    _add_shard_flags(p)
    p.add_argument("--passphrase-env", metavar="VAR", help=passphrase_help)
    _add_progress_flag(p)
    p.set_defaults(func=cmd_sign)

    p = sub.add_parser("verify-signature", help="check a signature, then the files it covers")
    p.add_argument("path", help="the signed folder or file")
    p.add_argument("signature", help="envelope JSON (mlsentry sign) or Model Signing bundle")
    p.add_argument("--pub", required=True, help="the signer's public key PEM")
    _add_output_flags(p)
    _add_progress_flag(p)
    p.set_defaults(func=cmd_verify_signature)

    p = sub.add_parser(
        "drift",
        help="compare the columns of two data files (has the data drifted?)",
        description="Per-column two-sample tests of CURRENT against REFERENCE, corrected "
        "for multiple testing. Exit status 0: no drift; 1: drift, or a column missing on "
        "one side or of another type; 2: usage or input error.",
    )
    p.add_argument("reference", help="CSV, Parquet or .npy file the model was trained on")
    p.add_argument("current", help="CSV, Parquet or .npy file to check")
    p.add_argument("--columns", metavar="A,B", help="compare only these columns")
    p.add_argument(
        "--tests",
        default="auto",
        metavar="auto|NAME|COL=NAME,...",
        help="auto (default), one test for every column it fits (ks, chi2, psi, ...), "
        "or a test per column",
    )
    p.add_argument("--alpha", type=float, default=0.05, help="test level (default: %(default)s)")
    p.add_argument(
        "--correction",
        default="bh",
        choices=["bh", "by", "holm", "bonferroni", "none"],
        help="multiple-testing correction (default: %(default)s)",
    )
    p.add_argument("--categorical", metavar="A,B", help="compare these columns as categories")
    p.add_argument(
        "--drift-share",
        type=float,
        default=None,
        metavar="X",
        help="drift when at least this share of the columns drifted (default: any column)",
    )
    _add_output_flags(p)
    _add_progress_flag(p)
    p.set_defaults(func=cmd_drift)

    p = sub.add_parser(
        "robustness",
        help="attack a model (a Python callable) on data: robust accuracy per budget",
        description="Exit 0 when the robust accuracy meets --threshold (on its lower "
        "confidence bound) at every eps, 1 when not, 2 on a usage or input error.",
    )
    p.add_argument("model", help="module:callable, or module:object with predict_proba/predict")
    p.add_argument("data", help="features: .npy, CSV or Parquet")
    p.add_argument("labels", nargs="?", help="labels file (.npy, CSV or Parquet with one column)")
    p.add_argument("--label-column", metavar="NAME", help="labels from this column of DATA")
    p.add_argument(
        "--eps", type=float, nargs="+", default=[0.1], help="budgets (default: %(default)s)"
    )
    p.add_argument("--norm", default="linf", choices=["linf", "l2"])
    p.add_argument(
        "--attacks", metavar="A,B", help="noise,square,hsj,pgd (default: noise,square,hsj)"
    )
    p.add_argument("--max-queries", type=_positive_int, default=1000, metavar="N")
    p.add_argument("--threshold", type=float, help="lowest acceptable robust accuracy")
    p.add_argument("--lower", type=float, help="lower bound of every feature")
    p.add_argument("--upper", type=float, help="upper bound of every feature")
    p.add_argument("--scale-std", action="store_true", help="eps in standard deviations")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--batch-size", type=_positive_int, default=None, metavar="N")
    _add_output_flags(p)
    _add_progress_flag(p)
    p.set_defaults(func=cmd_robustness)

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
    _add_output_flags(p)
    _add_progress_flag(p)
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("log", help="the tamper-evident audit log")
    logs = p.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    q = logs.add_parser("append", help="append one event (a JSON object)")
    q.add_argument("log")
    q.add_argument("event", help='e.g. \'{"check": "manual", "passed": true}\'')
    q = logs.add_parser("checkpoint", help="sign the current tree head")
    q.add_argument("log")
    q.add_argument("--key", required=True)
    q.add_argument("--passphrase-env", metavar="VAR", help=passphrase_help)
    q = logs.add_parser("verify", help="check every entry and checkpoint")
    q.add_argument("log")
    q.add_argument("--pub", action="append", default=[], help="checkpoint signer's key")
    _add_output_flags(q)
    q = logs.add_parser("proof", help="inclusion (--index) or consistency proof")
    q.add_argument("log")
    g = q.add_mutually_exclusive_group(required=True)
    g.add_argument("--index", type=int)
    g.add_argument("--consistency", type=int, metavar="OLD_SIZE")
    p.set_defaults(func=cmd_log)
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
