"""``mlsentry fingerprint``, ``manifest``, ``verify``, ``keygen``, ``sign``,
``verify-signature`` and ``log``: the integrity commands."""

from __future__ import annotations

import argparse
import json
import os
from typing import Any, Optional

from .._tables import read_table
from ..report import count_of
from .common import (
    EXIT_FAILED,
    EXIT_PASSED,
    PASSPHRASE_HELP,
    UsageError,
    add_output_flags,
    add_progress_flag,
    emit_report,
    passphrase,
    positive_int,
    show_progress,
)


def cmd_fingerprint(args: argparse.Namespace) -> int:
    from ..integrity import fingerprint

    digest = fingerprint(
        read_table(args.file, args.format), index=not args.no_index, row_order=not args.any_order
    )
    if args.json:
        print(json.dumps({"path": args.file, "fingerprint": digest}))
    else:
        print(digest)
    return EXIT_PASSED


def cmd_manifest(args: argparse.Namespace) -> int:
    from ..integrity import DEFAULT_SHARD_SIZE, manifest

    m = manifest(
        args.path,
        algorithm=args.algorithm,
        shard_size=_shard_size(args, DEFAULT_SHARD_SIZE),
        ignore=tuple(args.ignore),
        follow_symlinks=args.follow_symlinks,
        progress=show_progress(args),
    )
    if args.output:
        m.save(args.output)
    if args.json or not args.output:
        print(m.to_json())
    else:
        total = sum(f.size for f in m.files)
        print(f"{count_of(len(m.files), 'file')}, {total} bytes, root {m.root} -> {args.output}")
    return EXIT_PASSED


def _shard_size(args: argparse.Namespace, default: Optional[int]) -> Optional[int]:
    """``--files`` (one digest per file), ``--shard-size BYTES``, or ``default``."""
    if getattr(args, "files", False):
        return None
    return args.shard_size or default


def _add_algorithm_flag(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--algorithm",
        default="sha256",
        choices=["sha256", "blake3"],
        help="file digest (default: %(default)s; OpenSSF Model Signing uses sha256)",
    )


def _add_ignore_flag(p: argparse.ArgumentParser, what: str) -> None:
    p.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="GLOB",
        help=f"{what} (repeatable; '*.tmp' at any depth, '/model.sig' at the top, '.git' "
        "a whole folder). A manifest or signature file inside the folder it covers is "
        "always left out when it is the one being verified",
    )


def _add_shard_flags(p: argparse.ArgumentParser, note: str = "") -> None:
    group = p.add_mutually_exclusive_group()
    group.add_argument(
        "--shard-size",
        type=positive_int,
        default=None,
        metavar="BYTES",
        help=f"hash files in shards of this size, in parallel (default: 64 MiB{note})",
    )
    group.add_argument(
        "--files",
        action="store_true",
        help="one digest per file (files mode: a large file is hashed on one core)",
    )


def cmd_verify(args: argparse.Namespace) -> int:
    from ..integrity import PublicKey, verify

    public_key = PublicKey.load(args.public_key) if args.public_key else None
    report = verify(
        args.path,
        args.manifest,
        public_key,
        ignore=tuple(args.ignore),
        progress=show_progress(args),
    )
    if args.sarif:
        from ..evidence import write_sarif

        write_sarif(args.sarif, [report])
    return emit_report(report, args)


def cmd_keygen(args: argparse.Namespace) -> int:
    from ..integrity import SigningKey

    key = SigningKey.generate(args.algorithm)
    pub = args.pub or (
        args.output + ".pub"
        if not args.output.endswith(".pem")
        else args.output[: -len(".pem")] + ".pub"
    )
    for path in (args.output, pub):
        if os.path.exists(path) and not args.force:
            raise UsageError(f"{path} exists; use --force to overwrite it")
    key.save(args.output, passphrase=passphrase(args))
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
    from ..integrity import DEFAULT_SHARD_SIZE, Manifest, SigningKey, manifest, sign

    key = SigningKey.load(args.key, passphrase=passphrase(args))
    if args.format == "model-signing":
        from ..integrity import sign_model

        # model-signing's command line verifies only the files serialization.
        shard_size = _shard_size(args, None)
        out = sign_model(
            args.path,
            key,
            args.output or "model.sig",
            shard_size=shard_size,
            ignore=args.ignore or None,
        )
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
            ignore=tuple(args.ignore),
            progress=show_progress(args),
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
    from ..integrity import Manifest

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
    from ..integrity import Envelope, PublicKey, verify, verify_envelope

    pub = PublicKey.load(args.pub)
    with open(args.signature, "rb") as fh:
        raw = fh.read()
    try:
        doc = json.loads(raw)
    except ValueError:
        raise UsageError(f"{args.signature}: not JSON") from None
    if isinstance(doc, dict) and "dsseEnvelope" in doc:  # an OpenSSF Model Signing bundle
        from ..integrity import verify_model

        report = verify_model(args.path, args.signature, pub, ignore=args.ignore or None)
        return emit_report(report, args)
    env = Envelope.from_json(raw)
    statement = verify_envelope(env, pub)
    if statement.get("predicateType", "").endswith("/manifest/v1"):
        # By the envelope's path, so that an envelope kept inside the folder is left out.
        report = verify(
            args.path,
            args.signature,
            pub,
            ignore=tuple(args.ignore),
            progress=show_progress(args),
        )
        return emit_report(report, args)
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
    from ..integrity import AuditLog, PublicKey, SigningKey

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
        cp = log.checkpoint(SigningKey.load(args.key, passphrase=passphrase(args)))
        if args.output:
            with open(args.output, "w", encoding="utf-8") as fh:
                json.dump(cp, fh)
        print(json.dumps({k: cp[k] for k in ("size", "root", "time")}))
        return EXIT_PASSED
    if args.log_command == "verify":
        keys = [PublicKey.load(p) for p in args.pub]
        report = log.verify(keys, expect_size=args.expect_size, checkpoint=args.checkpoint)
        return emit_report(report, args)
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


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser("fingerprint", help="content fingerprint of a data file")
    p.add_argument("file", help="CSV, Parquet or .npy file")
    p.add_argument(
        "--format",
        default="auto",
        choices=["auto", "csv", "parquet", "npy", "bytes"],
        help="how to read FILE (default: from its suffix; bytes: the raw file)",
    )
    p.add_argument("--no-index", action="store_true", help="leave the row index out (CSV)")
    p.add_argument("--any-order", action="store_true", help="a digest that ignores row order")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=cmd_fingerprint)

    p = sub.add_parser("manifest", help="hash a file or folder into a manifest")
    p.add_argument("path", help="the file or folder to hash")
    p.add_argument("-o", "--output", help="write the manifest JSON here (default: print it)")
    _add_algorithm_flag(p)
    _add_shard_flags(p)
    _add_ignore_flag(p, "leave out of the manifest")
    p.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="follow every symbolic link (default: links leaving the folder are an error)",
    )
    p.add_argument("--json", action="store_true", help="print the manifest JSON")
    add_progress_flag(p)
    p.set_defaults(func=cmd_manifest)

    p = sub.add_parser("verify", help="check a file or folder against a manifest")
    p.add_argument("path", help="the file or folder to check")
    p.add_argument(
        "manifest",
        help="manifest JSON written by `mlsentry manifest`, or an envelope of `mlsentry sign` "
        "(with --public-key)",
    )
    p.add_argument(
        "--public-key",
        metavar="FILE",
        help="the signer's public key PEM: MANIFEST is a signed envelope, checked first",
    )
    _add_ignore_flag(p, "also leave out, on both sides, beyond the manifest's own patterns")
    p.add_argument("--sarif", metavar="FILE", help="write the changes as SARIF 2.1.0")
    add_output_flags(p)
    add_progress_flag(p)
    p.set_defaults(func=cmd_verify)

    p = sub.add_parser("keygen", help="create a signing key pair")
    p.add_argument("-o", "--output", default="mlsentry-key.pem", help="private key (PKCS#8 PEM)")
    p.add_argument("--pub", help="public key path (default: OUTPUT with .pub)")
    p.add_argument(
        "--algorithm",
        default="ed25519",
        choices=["ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521"],
        help="key type (default: %(default)s; OpenSSF Model Signing needs an ECDSA key)",
    )
    p.add_argument("--passphrase-env", metavar="VAR", help=PASSPHRASE_HELP)
    p.add_argument("--force", action="store_true", help="overwrite existing key files")
    p.add_argument("--json", action="store_true", help="print the key paths and id as JSON")
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
        "OpenSSF Model Signing bundle (needs an ECDSA key: ecdsa-p256, -p384 or -p521)",
    )
    _add_algorithm_flag(p)
    _add_shard_flags(p, "; with --format model-signing: files mode")
    _add_ignore_flag(
        p, "leave out of the signed manifest (--format model-signing: paths, not patterns)"
    )
    p.add_argument("--passphrase-env", metavar="VAR", help=PASSPHRASE_HELP)
    add_progress_flag(p)
    p.set_defaults(func=cmd_sign)

    p = sub.add_parser("verify-signature", help="check a signature, then the files it covers")
    p.add_argument("path", help="the signed folder or file")
    p.add_argument("signature", help="envelope JSON (mlsentry sign) or Model Signing bundle")
    p.add_argument("--pub", required=True, help="the signer's public key PEM")
    _add_ignore_flag(p, "also leave out, on both sides (DSSE envelopes; a bundle: paths)")
    add_output_flags(p)
    add_progress_flag(p)
    p.set_defaults(func=cmd_verify_signature)

    p = sub.add_parser("log", help="the tamper-evident audit log")
    logs = p.add_subparsers(dest="log_command", metavar="ACTION", required=True)
    log_help = "the audit log file (JSON Lines)"
    q = logs.add_parser("append", help="append one event (a JSON object)")
    q.add_argument("log", help=log_help + "; created by the first append")
    q.add_argument("event", help='e.g. \'{"check": "manual", "passed": true}\'')
    q = logs.add_parser("checkpoint", help="sign the current tree head")
    q.add_argument("log", help=log_help)
    q.add_argument("--key", required=True, help="the signer's private key PEM")
    q.add_argument("--passphrase-env", metavar="VAR", help=PASSPHRASE_HELP)
    q.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="also write the whole signed checkpoint here, to keep outside the log "
        "(log verify --checkpoint FILE then catches a log cut at its end)",
    )
    q = logs.add_parser("verify", help="check every entry and checkpoint")
    q.add_argument("log", help=log_help)
    q.add_argument(
        "--pub",
        action="append",
        default=[],
        help="checkpoint signer's public key (repeatable); at least one signature must then verify",
    )
    q.add_argument(
        "--expect-size",
        type=int,
        metavar="N",
        help="the log held at least N entries (a count kept outside the log)",
    )
    q.add_argument(
        "--checkpoint",
        metavar="FILE",
        help="a checkpoint kept outside the log (log checkpoint -o FILE): the log must "
        "still hold its entries",
    )
    add_output_flags(q)
    q = logs.add_parser("proof", help="inclusion (--index) or consistency proof")
    q.add_argument("log", help=log_help)
    g = q.add_mutually_exclusive_group(required=True)
    g.add_argument(
        "--index", type=int, metavar="I", help="prove that entry I (from 0) is in the log"
    )
    g.add_argument(
        "--consistency",
        type=int,
        metavar="OLD_SIZE",
        help="prove that the log's first OLD_SIZE entries are unchanged (a prefix of it)",
    )
    p.set_defaults(func=cmd_log)
