"""``mlsentry evidence verify``: check a release's evidence bundle."""

from __future__ import annotations

import argparse
from typing import Any

from .common import add_output_flags, emit_report


def cmd_evidence(args: argparse.Namespace) -> int:
    from ..evidence import verify
    from ..integrity import PublicKey

    key = PublicKey.load(args.pub)
    log_key = PublicKey.load(args.log_pub) if args.log_pub else None
    report = verify(args.bundle, key, log_public_key=log_key)
    return emit_report(report, args)


def register(sub: Any) -> None:
    """Add this group's commands to the ``mlsentry`` parser."""
    p = sub.add_parser(
        "evidence",
        help="check a release's evidence bundle (mlsentry check --evidence)",
        description="Check the bundle's signature, the digest of every member, every "
        "report, every audit-log inclusion proof against the signed checkpoint, and list "
        "which control each check supports. Exit status 0: the bundle verifies; 1: "
        "something was changed, dropped, added or replayed (each named); 2: usage or "
        "input error.",
    )
    actions = p.add_subparsers(dest="evidence_command", metavar="ACTION", required=True)
    q = actions.add_parser("verify", help="verify a bundle")
    q.add_argument("bundle", help="the .evidence file")
    q.add_argument("--pub", required=True, help="the signer's public key PEM")
    q.add_argument(
        "--log-pub", metavar="FILE", help="the audit-log checkpoint's key (default: --pub)"
    )
    add_output_flags(q)
    q.set_defaults(func=cmd_evidence)
