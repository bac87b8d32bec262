"""Checking an evidence bundle: :func:`verify` and the :class:`EvidenceReport` it returns."""

from __future__ import annotations

import hashlib
import html
import json
import os
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any, ClassVar, Optional, Union

from .. import _core
from ..errors import InvalidInputError, InvalidTypeError, MlsentryError, SignatureError
from ..integrity import Manifest, PublicKey, verify_envelope
from ..report import Report, count_of, html_table
from .bundle import BUNDLE_SCHEMA, PREDICATE_TYPE, STATEMENT_MEMBER, _parse_time, with_bundle_rows
from .controls import parse_controls

PathArg = Union[str, "os.PathLike[str]"]
CHECKPOINT_TYPE = "application/vnd.mlsentry.audit-checkpoint+json"


@dataclass(frozen=True)
class Problem:
    """What does not verify, and in which member (``""`` for the bundle as a whole)."""

    member: str
    what: str

    def __str__(self) -> str:
        return f"{self.member}: {self.what}" if self.member else self.what


class _Checker:
    def __init__(self, z: zipfile.ZipFile) -> None:
        self.z = z
        self.problems: list[Problem] = []
        self.names = set(z.namelist())

    def fail(self, member: str, what: str) -> None:
        self.problems.append(Problem(member, what))

    def read(self, member: str) -> Optional[bytes]:
        if member not in self.names:
            self.fail(member, "missing from the bundle")
            return None
        return self.z.read(member)

    def json(self, member: str) -> Any:
        data = self.read(member)
        if data is None:
            return None
        try:
            return json.loads(data)
        except ValueError as e:
            self.fail(member, f"not JSON ({e})")
            return None


def _statement(c: _Checker, public_key: PublicKey) -> Optional[dict[str, Any]]:
    raw = c.read(STATEMENT_MEMBER)
    if raw is None:
        return None
    try:
        statement = verify_envelope(raw, public_key)
    except SignatureError as e:
        c.fail(
            STATEMENT_MEMBER,
            f"the signature does not verify with key {public_key.key_id[:16]}... ({e})",
        )
        return None
    if statement.get("predicateType") != PREDICATE_TYPE:
        c.fail(STATEMENT_MEMBER, f"not an evidence statement ({statement.get('predicateType')})")
        return None
    return statement


def _digests(c: _Checker, statement: Mapping[str, Any]) -> None:
    """Every member listed with its digest, nothing unlisted."""
    listed: dict[str, str] = {}
    for s in statement.get("subject", []):
        listed[str(s.get("name"))] = str((s.get("digest") or {}).get("sha256", ""))
    for name, digest in sorted(listed.items()):
        if name not in c.names:
            c.fail(name, "missing from the bundle (the statement lists it)")
            continue
        actual = hashlib.sha256(c.z.read(name)).hexdigest()
        if actual != digest:
            c.fail(name, f"changed: its SHA-256 is {actual}, the statement says {digest}")
    for name in sorted(c.names - set(listed) - {STATEMENT_MEMBER}):
        c.fail(name, "not covered by the signed statement (added after signing)")


def _reports(c: _Checker, index: Mapping[str, Any]) -> list[dict[str, Any]]:
    out = []
    for check in index.get("checks", []):
        member = check.get("report", "")
        data = c.json(member)
        if data is None:
            continue
        try:
            report = Report.from_dict(data)
        except InvalidInputError as e:
            c.fail(member, f"not a readable report ({e})")
            continue
        if report.passed != check.get("passed") or report.inputs != check.get("inputs"):
            c.fail(
                member, f"the index says {check.get('verdict')} for other inputs than the report"
            )
        if check.get("html") not in c.names:
            c.fail(str(check.get("html")), "missing from the bundle")
        out.append({**check, "verdict": report.verdict, "report_created": report.created})
    return out


def _manifests(c: _Checker, index: Mapping[str, Any]) -> None:
    for m in index.get("manifests", []):
        raw = c.read(m.get("member", ""))
        if raw is None:
            continue
        try:
            manifest = Manifest.from_json(raw.decode())
        except (MlsentryError, ValueError) as e:
            c.fail(m["member"], f"not a valid manifest ({e})")
            continue
        if manifest.root != m.get("root"):
            c.fail(m["member"], f"its root {manifest.root} is not the index's {m.get('root')}")


def _audit(
    c: _Checker, index: Mapping[str, Any], checks: list[dict[str, Any]], key: PublicKey
) -> int:
    """Entries, proofs and checkpoint; returns how many entries were proved."""
    audit = index.get("audit") or {}
    wanted = [i for i in audit.get("entries", [])]
    if not wanted:
        for check in checks:
            if check.get("audit_index") is not None:
                c.fail(
                    "index.json",
                    f"check {check['name']!r} names an audit entry, the bundle has none",
                )
        return 0
    checkpoint = c.json("audit/checkpoint.json")
    proofs = c.json("audit/proofs.json")
    raw = c.read("audit/entries.jsonl")
    if checkpoint is None or proofs is None or raw is None:
        return 0
    try:
        signed = verify_envelope(checkpoint["envelope"], key, expected_type=CHECKPOINT_TYPE)
    except (SignatureError, KeyError, TypeError) as e:
        c.fail("audit/checkpoint.json", f"the checkpoint signature does not verify ({e})")
        return 0
    head = {k: checkpoint.get(k) for k in ("size", "root", "time")}
    if {k: signed.get(k) for k in ("size", "root", "time")} != head:
        c.fail("audit/checkpoint.json", "the signed tree head differs from the checkpoint")
        return 0
    events: dict[int, dict[str, Any]] = {}
    for n, line in enumerate(raw.decode("utf-8", "replace").splitlines(), start=1):
        try:
            index_no, leaf = _core.audit_entry_leaf(line)
        except MlsentryError as e:
            c.fail("audit/entries.jsonl", f"line {n}: {e}")
            continue
        entry = json.loads(line)
        if leaf != entry.get("leaf"):
            c.fail("audit/entries.jsonl", f"entry {index_no} was edited: its leaf hash differs")
        proof = next((p for p in proofs if p.get("index") == index_no), None)
        if proof is None:
            c.fail("audit/proofs.json", f"no inclusion proof for entry {index_no}")
            continue
        ok = (
            proof.get("leaf") == leaf
            and proof.get("size") == head["size"]
            and proof.get("root") == head["root"]
            and _core.merkle_verify_inclusion(
                leaf, index_no, head["size"], list(proof["path"]), head["root"]
            )
        )
        if not ok:
            c.fail("audit/proofs.json", f"entry {index_no} is not proved in the signed checkpoint")
            continue
        events[index_no] = entry
    if sorted(events) != sorted(wanted):
        missing = sorted(set(wanted) - set(events))
        if missing:
            c.fail("audit/entries.jsonl", f"entries {missing} of the index are not proved")
    for check in checks:
        i = check.get("audit_index")
        if i is None:
            continue
        entry = events.get(i)
        if entry is None:
            continue
        event = entry.get("event") or {}
        if event.get("inputs") != check.get("inputs") or event.get("passed") != check.get("passed"):
            c.fail("audit/entries.jsonl", f"entry {i} did not record check {check['name']!r}")
        elif _parse_time(entry["time"]) < _parse_time(check["report_created"]).replace(
            microsecond=0
        ):
            c.fail(
                "audit/entries.jsonl",
                f"entry {i} ({entry['time']}) predates the report of check {check['name']!r} "
                f"({check['report_created']}): an old entry replayed",
            )
        elif _parse_time(entry["time"]) > _parse_time(head["time"]):
            c.fail("audit/entries.jsonl", f"entry {i} is later than the checkpoint")
    return len(events)


def _controls(
    c: _Checker, index: Mapping[str, Any], checks: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    raw = c.read("controls.toml")
    section = index.get("controls") or {}
    if raw is None:
        return []
    try:
        mapping = parse_controls(raw.decode())
    except InvalidInputError as e:
        c.fail("controls.toml", str(e))
        return []
    rows = with_bundle_rows(checks, bool((index.get("audit") or {}).get("entries")))
    coverage = mapping.coverage(list(section.get("frameworks", {})), rows)
    if coverage != section.get("coverage"):
        c.fail(
            "index.json", "its control coverage does not follow from controls.toml and the checks"
        )
    return coverage


def verify(
    path: PathArg, public_key: PublicKey, *, log_public_key: Optional[PublicKey] = None
) -> EvidenceReport:
    """Check an evidence bundle: the signature, every member's digest, every report, every
    audit-log proof, and which control each check supports.

    Parameters
    ----------
    path : str or path-like
        The bundle (``Bundle.save`` or ``mlsentry check --evidence``).
    public_key : PublicKey
        The key the bundle must be signed with.
    log_public_key : PublicKey, optional
        The key of the audit-log checkpoint, when not the bundle's.

    Returns
    -------
    EvidenceReport
        ``passed`` when everything verifies; ``problems`` names each member that does not
        (changed, missing, unsigned, a proof that fails, an entry replayed). The verdicts
        of the checks themselves are in ``checks``.

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> key, other = ms.integrity.SigningKey.generate(), ms.integrity.SigningKey.generate()
    >>> scan = ms.drift.compare({"x": np.arange(50.0)}, {"x": np.arange(50.0) + 40})
    >>> _ = ms.evidence.build([scan], environment_info=False).save("r.evidence", key)
    >>> ms.evidence.verify("r.evidence", key.public_key).checks[0]["verdict"]
    'FAILED'
    >>> print(ms.evidence.verify("r.evidence", other.public_key).problems[0])
    statement.dsse.json: the signature does not verify with key ...
    """
    if not isinstance(public_key, PublicKey):
        raise InvalidTypeError(f"public_key: expected a PublicKey, got {type(public_key).__name__}")
    p = os.fspath(path)
    from ..integrity import hash_file

    digest = hash_file(p)
    try:
        z = zipfile.ZipFile(p)
    except zipfile.BadZipFile as e:
        raise InvalidInputError(f"path: {p} is not an evidence bundle ({e})") from None
    with z:
        c = _Checker(z)
        checks: list[dict[str, Any]] = []
        coverage: list[dict[str, Any]] = []
        proved = 0
        statement = _statement(c, public_key)
        if statement is not None:
            _digests(c, statement)
            index = c.json("index.json")
            if isinstance(index, dict) and index.get("schema") != BUNDLE_SCHEMA:
                c.fail("index.json", f"unknown bundle schema {index.get('schema')!r}")
            elif isinstance(index, dict):
                checks = _reports(c, index)
                _manifests(c, index)
                proved = _audit(c, index, checks, log_public_key or public_key)
                coverage = _controls(c, index, checks)
                if index.get("environment"):
                    c.json(index["environment"])
    return EvidenceReport(
        path=p,
        problems=c.problems,
        checks=[
            {k: ch.get(k) for k in ("name", "kind", "verdict", "report", "audit_index")}
            for ch in checks
        ],
        coverage=coverage,
        entries_proved=proved,
        key_id=public_key.key_id,
        inputs={"bundle": digest},
        config={"path": p, "public_key": public_key.key_id},
    )


class EvidenceReport(Report):
    """What :func:`verify` found in an evidence bundle.

    Attributes
    ----------
    problems : list of Problem
        Each member that does not verify, and why (empty: the bundle is intact).
    checks : list of dict
        The bundle's checks: name, kind, verdict, report member, audit entry.
    coverage : list of dict
        Per control of the bundle's frameworks: the checks that support it and whether
        any does (``covered``).
    """

    schema: ClassVar[str] = "mlsentry/evidence-report/v1"
    title: ClassVar[str] = "Evidence bundle verification"

    def __init__(
        self,
        *,
        path: str,
        problems: Sequence[Problem],
        checks: Sequence[Mapping[str, Any]],
        coverage: Sequence[Mapping[str, Any]],
        entries_proved: int,
        key_id: str,
        config: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(config=config, inputs=inputs)
        self.path = path
        self.problems = list(problems)
        self.checks = [dict(c) for c in checks]
        self.coverage = [dict(c) for c in coverage]
        self.entries_proved = entries_proved
        self.key_id = key_id

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def passed(self) -> bool:
        return self.ok

    @property
    def not_covered(self) -> list[dict[str, Any]]:
        """The controls no check of the bundle supports."""
        return [c for c in self.coverage if not c["covered"]]

    def _payload(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "path": self.path,
            "key_id": self.key_id,
            "entries_proved": self.entries_proved,
            "problems": [asdict(p) for p in self.problems],
            "checks": self.checks,
            "coverage": self.coverage,
        }

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> EvidenceReport:
        return cls(
            path=str(data["path"]),
            problems=[Problem(**p) for p in data["problems"]],
            checks=data["checks"],
            coverage=data["coverage"],
            entries_proved=int(data["entries_proved"]),
            key_id=str(data["key_id"]),
            **meta,
        )

    def _metrics(self, p: str, column_metrics: int) -> dict[str, float]:
        """``ok``, ``n_problems``, ``n_checks``, ``controls_covered``, ``controls_not_covered``."""
        return {
            f"{p}.ok": float(self.ok),
            f"{p}.n_problems": float(len(self.problems)),
            f"{p}.n_checks": float(len(self.checks)),
            f"{p}.controls_covered": float(len(self.coverage) - len(self.not_covered)),
            f"{p}.controls_not_covered": float(len(self.not_covered)),
        }

    def summary(self) -> str:
        state = "intact and signed" if self.ok else f"{len(self.problems)} problem(s)"
        proved = count_of(self.entries_proved, "audit entry")
        lines = [
            f"{self.title}: {self.verdict} ({self.path}: {state}; "
            f"{count_of(len(self.checks), 'check')}, {proved} proved)"
        ]
        lines += [f"  {p}" for p in self.problems[:50]]
        lines += [f"  check {c['name']} ({c['kind']}): {c['verdict']}" for c in self.checks]
        for c in self.coverage:
            names = ", ".join(k["name"] for k in c["checks"]) or "not covered"
            lines.append(f"  {c['framework']} {c['id']}: {names}")
        return "\n".join(lines)

    def _html_body(self) -> str:
        parts = []
        if self.problems:
            parts.append(
                html_table(
                    ["member", "problem"],
                    [[p.member, p.what] for p in self.problems],
                    row_classes=["bad"] * len(self.problems),
                )
            )
        else:
            parts.append(f"<p>{html.escape(self.path)}: every member verifies.</p>")
        parts.append(
            html_table(
                ["check", "kind", "verdict"],
                [[c["name"], c["kind"], c["verdict"]] for c in self.checks],
            )
        )
        rows = [
            [
                c["framework"],
                c["id"],
                c["title"],
                ", ".join(k["name"] for k in c["checks"]) or "not covered",
            ]
            for c in self.coverage
        ]
        parts.append(
            html_table(
                ["framework", "control", "what it asks", "checks"],
                rows,
                row_classes=["" if c["covered"] else "bad" for c in self.coverage],
            )
        )
        return "".join(parts)
