"""The tamper-evident audit log (see :class:`AuditLog`) and the one function every check
uses to record itself in it (:func:`record_check`)."""

from __future__ import annotations

import datetime as _dt
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union

from .. import _core
from ..errors import IntegrityError, InvalidInputError, InvalidTypeError
from ..report import Report, html_table
from .signing import PublicKey, SigningKey

__all__ = [
    "AUDIT_LOG_ENV",
    "AuditLog",
    "AuditVerifyReport",
    "ConsistencyProof",
    "InclusionProof",
    "LogEntry",
    "record_check",
]

AUDIT_LOG_ENV = "MLSENTRY_AUDIT_LOG"
PathArg = Union[str, "os.PathLike[str]"]


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="microseconds")


@dataclass(frozen=True)
class LogEntry:
    """One appended event: its position, leaf hash, time and content."""

    index: int
    leaf: str
    time: str
    event: dict[str, Any]
    torn_bytes_removed: int = 0


@dataclass(frozen=True)
class InclusionProof:
    """RFC 6962 audit path showing entry ``index`` in the tree of ``size`` entries."""

    index: int
    size: int
    leaf: str
    root: str
    path: tuple[str, ...]

    def verify(self) -> bool:
        return _core.merkle_verify_inclusion(
            self.leaf, self.index, self.size, list(self.path), self.root
        )


@dataclass(frozen=True)
class ConsistencyProof:
    """RFC 6962 proof that the first ``old_size`` entries are a prefix of ``size``."""

    old_size: int
    size: int
    old_root: str
    root: str
    path: tuple[str, ...]

    def verify(self) -> bool:
        return _core.merkle_verify_consistency(
            self.old_size, self.size, self.old_root, self.root, list(self.path)
        )


@dataclass(frozen=True)
class Problem:
    line: int
    index: Optional[int]
    what: str


class AuditVerifyReport(Report):
    """What :meth:`AuditLog.verify` found."""

    schema = "mlsentry/audit-verify-report/v1"
    title = "Audit log verification"

    def __init__(self, path: str, result: Mapping[str, Any], **meta: Any) -> None:
        super().__init__(config={"path": path}, **meta)
        self.path = path
        self.entries: int = result["entries"]
        self.checkpoints: int = result["checkpoints"]
        self.checkpoints_signed_ok: int = result["checkpoints_signed_ok"]
        self.torn_bytes: int = result["torn_bytes"]
        self.root: str = result["root"]
        self.problems = [Problem(*p) for p in result["problems"]]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def passed(self) -> bool:
        return self.ok

    def _metrics(self, p: str, column_metrics: int) -> dict[str, float]:
        """``ok``, ``entries``, ``n_problems``."""
        return {
            f"{p}.ok": float(self.ok),
            f"{p}.entries": float(self.entries),
            f"{p}.n_problems": float(len(self.problems)),
        }

    def _payload(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "entries": self.entries,
            "checkpoints": self.checkpoints,
            "checkpoints_signed_ok": self.checkpoints_signed_ok,
            "torn_bytes": self.torn_bytes,
            "root": self.root,
            "problems": [p.__dict__ for p in self.problems],
        }

    def summary(self) -> str:
        head = (
            f"audit log {self.path}: {_count(self.entries, 'entry')}, "
            f"{_count(self.checkpoints, 'checkpoint')} "
            f"({self.checkpoints_signed_ok} signatures checked), root {self.root[:16]}..."
        )
        if self.ok:
            return head + "\nOK: every entry and checkpoint verifies"
        lines = [head, f"NOT OK: {len(self.problems)} problem(s)"]
        lines += [f"  line {p.line}: {p.what}" for p in self.problems[:50]]
        return "\n".join(lines)

    def _html_body(self) -> str:
        rows = [[p.line, "" if p.index is None else p.index, p.what] for p in self.problems]
        table = html_table(["line", "entry", "problem"], rows) if rows else "<p>No problems.</p>"
        counts = f"{_count(self.entries, 'entry')}, {_count(self.checkpoints, 'checkpoint')}"
        return f"<p>{counts}.</p>{table}"


def _count(n: int, noun: str) -> str:
    plural = noun[:-1] + "ies" if noun.endswith("y") else noun + "s"
    return f"{n} {noun if n == 1 else plural}"


class AuditLog:
    """An append-only, tamper-evident log of events (JSON Lines under an RFC 6962 tree).

    Parameters
    ----------
    path : str or path-like
        The log file (created on the first append).
    durable : bool
        ``fsync`` each append before returning (default ``True``).

    Examples
    --------
    >>> log = AuditLog("audit.jsonl")
    >>> log.append({"check": "verify", "passed": True}).index
    0
    >>> log.append({"check": "scan", "passed": False}).index
    1
    >>> log.verify().ok
    True
    >>> log.inclusion_proof(1).verify()
    True
    """

    def __init__(self, path: PathArg, *, durable: bool = True) -> None:
        self.path = os.fspath(path)
        self.durable = durable

    def append(self, event: Mapping[str, Any]) -> LogEntry:
        """Append one event (a JSON-serialisable dict); returns the entry written."""
        if not isinstance(event, Mapping):
            raise InvalidTypeError(f"event: expected a dict, got {type(event).__name__}")
        try:
            text = json.dumps(dict(event), allow_nan=False, default=str)
        except ValueError as e:
            raise InvalidInputError(f"event: not JSON-serialisable ({e})") from None
        time = _now()
        index, leaf, line, torn = _core.audit_append(self.path, text, time, self.durable)
        return LogEntry(index, leaf, time, json.loads(line)["event"], torn)

    def checkpoint(self, key: SigningKey) -> dict[str, Any]:
        """Sign the current tree head (size, root, time) and append it to the log."""
        if not isinstance(key, SigningKey):
            raise InvalidTypeError(f"key: expected a SigningKey, got {type(key).__name__}")
        line = _core.audit_checkpoint(self.path, key._native, _now(), self.durable)
        return json.loads(line)  # type: ignore[no-any-return]

    def verify(
        self,
        public_keys: Union[PublicKey, Sequence[PublicKey], None] = None,
        *,
        strict: bool = False,
    ) -> AuditVerifyReport:
        """Check every entry and checkpoint; name each edited, deleted, reordered or
        inserted entry. With ``public_keys``, checkpoint signatures must verify with one
        of them. ``strict=True`` raises :class:`IntegrityError` when anything is wrong."""
        keys = [public_keys] if isinstance(public_keys, PublicKey) else list(public_keys or [])
        result = _core.audit_verify(self.path, [k._native for k in keys])
        report = AuditVerifyReport(self.path, result)
        if strict and not report.ok:
            raise IntegrityError(report.summary())
        return report

    def entries(self) -> list[dict[str, Any]]:
        """Every line of the log, parsed (entries and checkpoints)."""
        with open(self.path, encoding="utf-8") as fh:
            return [json.loads(line) for line in fh if line.endswith("\n")]

    def __len__(self) -> int:
        return int(self.verify().entries)

    def inclusion_proof(self, index: int) -> InclusionProof:
        """Proof that entry ``index`` is in the current tree."""
        leaf, size, root, path = _core.audit_inclusion_proof(self.path, index)
        return InclusionProof(index, size, leaf, root, tuple(path))

    def consistency_proof(self, old_size: int) -> ConsistencyProof:
        """Proof that the log of ``old_size`` entries is a prefix of the current log."""
        old_root, root, size, path = _core.audit_consistency_proof(self.path, old_size)
        return ConsistencyProof(old_size, size, old_root, root, tuple(path))


def record_check(
    check: str,
    passed: bool,
    inputs: Optional[Mapping[str, str]] = None,
    **details: Any,
) -> Optional[LogEntry]:
    """Append one event for a finished check to the log named by ``MLSENTRY_AUDIT_LOG``.

    Every check of the package (verify, drift compare, scan, robustness evaluate) calls
    this once; it does nothing when the variable is unset.
    """
    path = os.environ.get(AUDIT_LOG_ENV)
    if not path:
        return None
    event = {"check": check, "passed": bool(passed), "inputs": dict(inputs or {}), **details}
    return AuditLog(path).append(event)
