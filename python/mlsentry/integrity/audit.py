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
from .._args import check_int
from ..errors import IntegrityError, InvalidTypeError
from ..report import Report, count_of, html_table
from .signing import PublicKey, SigningKey, plain_json

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
        meta.setdefault("config", {"path": path})
        super().__init__(**meta)
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

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> AuditVerifyReport:
        result = {
            key: data[key]
            for key in ("entries", "checkpoints", "checkpoints_signed_ok", "torn_bytes", "root")
        }
        result["problems"] = [(p["line"], p["index"], p["what"]) for p in data["problems"]]
        return cls(str(meta["config"].get("path", "")), result, **meta)

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
            f"audit log {self.path}: {count_of(self.entries, 'entry')}, "
            f"{count_of(self.checkpoints, 'checkpoint')} "
            f"({self.checkpoints_signed_ok} signatures checked), root {self.root[:16]}..."
        )
        if self.ok:
            return head + "\nOK: every entry and checkpoint verifies"
        lines = [head, f"NOT OK: {len(self.problems)} problem(s)"]
        lines += [f"  {_where(p)}: {p.what}" for p in self.problems[:50]]
        return "\n".join(lines)

    def _html_body(self) -> str:
        rows = [[_where(p), "" if p.index is None else p.index, p.what] for p in self.problems]
        table = html_table(["where", "entry", "problem"], rows) if rows else "<p>No problems.</p>"
        counts = f"{count_of(self.entries, 'entry')}, {count_of(self.checkpoints, 'checkpoint')}"
        return f"<p>{counts}.</p>{table}"


def _where(p: Problem) -> str:
    """``line 7``, or ``log`` for a problem of the whole log (line 0: a signature that is
    missing, entries cut from its end)."""
    return f"line {p.line}" if p.line else "log"


def _checkpoint_text(checkpoint: Any) -> Optional[str]:
    """A checkpoint kept outside the log, as the JSON text the core reads."""
    if checkpoint is None:
        return None
    if isinstance(checkpoint, Mapping):
        return json.dumps(dict(checkpoint))
    if not isinstance(checkpoint, (str, bytes, os.PathLike)):
        raise InvalidTypeError(
            "checkpoint: expected the dict AuditLog.checkpoint returned, or the path of a "
            f"JSON file holding it, got {type(checkpoint).__name__}"
        )
    with open(checkpoint, encoding="utf-8") as fh:
        return fh.read()


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
        text = json.dumps(plain_json(event, "event", exact_ints=True), allow_nan=False)
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
        expect_size: Optional[int] = None,
        checkpoint: Union[Mapping[str, Any], PathArg, None] = None,
    ) -> AuditVerifyReport:
        """Check every entry and checkpoint; name each edited, deleted, reordered or
        inserted entry.

        Parameters
        ----------
        public_keys : PublicKey or list of them, optional
            Checkpoint signatures must verify with one of them, and at least one
            signature must be checked: a log without a signed checkpoint does not verify
            with a key.
        strict : bool
            Raise :class:`IntegrityError` when anything is wrong.
        expect_size : int, optional
            The log held at least this many entries (a size recorded elsewhere).
        checkpoint : dict or path, optional
            A checkpoint as :meth:`checkpoint` returned it (or a JSON file holding it),
            kept outside the log: the log's first ``size`` entries must still hash to its
            root, and with ``public_keys`` its signature must verify.

        Notes
        -----
        Cutting entries off the end of a log, checkpoints included, leaves a log that
        verifies on its own. Only a record kept where whoever can write the log cannot
        (an MLflow run, the evidence bundle of a release, a CI variable) catches that:
        keep the dict :meth:`checkpoint` returns, or the entry count, there, and pass it
        here.

        Examples
        --------
        >>> from mlsentry.integrity import SigningKey
        >>> key = SigningKey.generate()
        >>> log = AuditLog("kept.jsonl")
        >>> _ = log.append({"check": "scan", "passed": True})
        >>> kept = log.checkpoint(key)             # store this outside the log
        >>> log.verify(key.public_key, checkpoint=kept).ok
        True
        >>> open("kept.jsonl", "w").close()        # the log emptied (cut)
        >>> log.verify(key.public_key, checkpoint=kept).ok
        False
        """
        keys = [public_keys] if isinstance(public_keys, PublicKey) else list(public_keys or [])
        for k in keys:
            if not isinstance(k, PublicKey):
                raise InvalidTypeError(
                    f"public_keys: expected PublicKey objects, got {type(k).__name__}"
                )
        if expect_size is not None:
            expect_size = check_int(expect_size, "expect_size", 0)
        kept = _checkpoint_text(checkpoint)
        result = _core.audit_verify(self.path, [k._native for k in keys], expect_size, kept)
        config: dict[str, Any] = {"path": self.path, "public_keys": [k.key_id for k in keys]}
        if expect_size is not None:
            config["expect_size"] = expect_size
        if kept is not None:
            config["checkpoint"] = json.loads(kept)
        report = AuditVerifyReport(self.path, result, config=config)
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
        index = check_int(index, "index", 0)
        leaf, size, root, path = _core.audit_inclusion_proof(self.path, index)
        return InclusionProof(index, size, leaf, root, tuple(path))

    def consistency_proof(self, old_size: int) -> ConsistencyProof:
        """Proof that the log of ``old_size`` entries is a prefix of the current log."""
        old_size = check_int(old_size, "old_size", 0)
        old_root, root, size, path = _core.audit_consistency_proof(self.path, old_size)
        return ConsistencyProof(old_size, size, old_root, root, tuple(path))


def record_check(
    check: str,
    passed: Optional[bool],
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
    verdict = None if passed is None else bool(passed)  # None: the check had no bar
    event = {"check": check, "passed": verdict, "inputs": dict(inputs or {}), **details}
    return AuditLog(path).append(event)
