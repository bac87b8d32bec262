"""Building an evidence bundle: :func:`build` gathers a release's reports, manifests,
audit-log entries and environment; :meth:`Bundle.save` signs them into one file.

The bundle format (``mlsentry/evidence/v1``) is one ZIP file, so that a release has one
artifact to upload to CI, attach to an MLflow run or hand to an auditor; every tool can
list and open it, and members are read without unpacking the rest. Its members:

``index.json``
    The bundle's index: the checks (name, kind, verdict, their report members, the audit
    entry that recorded each), the manifests with their roots, the audit section, and per
    control of the chosen frameworks the checks that support it.
``index.html``
    The same for people: one self-contained page, a table per framework with, per
    control, the checks run, their verdicts and links to the reports; a control no check
    supports is marked "not covered".
``reports/<name>.json``, ``reports/<name>.html``
    Every report, as JSON (``Report.load`` reads it back) and as HTML.
``manifests/<name>.json``
    The manifests of the model and the data.
``audit/entries.jsonl``, ``audit/proofs.json``, ``audit/checkpoint.json``
    The audit-log lines that recorded this release's checks, each with an RFC 6962
    inclusion proof against ``checkpoint.json``, a tree head of the log signed when the
    bundle was saved.
``environment.json``
    mlsentry's version, Python, the platform, and every installed distribution with its
    version and the SHA-256 of its RECORD file.
``controls.toml``
    The control mapping used (versioned data shipped with mlsentry).
``statement.dsse.json``
    A DSSE envelope holding an in-toto Statement v1 whose subjects are every other member
    with its SHA-256 (predicate type ``https://mlsentry.dev/evidence/v1``).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import html
import json
import os
import re
import tempfile
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Optional, Union

from .. import _core
from .._version import __version__
from ..errors import IntegrityError, InvalidInputError, InvalidTypeError
from ..integrity import AuditLog, Manifest, SigningKey, sign_statement
from ..report import Report, html_page, html_table
from .controls import DEFAULT_FRAMEWORKS, ControlMapping, load_controls
from .environment import environment

PathArg = Union[str, "os.PathLike[str]"]
BUNDLE_SCHEMA = "mlsentry/evidence/v1"
PREDICATE_TYPE = "https://mlsentry.dev/evidence/v1"
STATEMENT_MEMBER = "statement.dsse.json"
#: Kinds the bundle itself provides to the control mapping.
AUDIT_TRAIL, EVIDENCE = "audit_trail", "evidence"


def with_bundle_rows(rows: list[dict[str, Any]], audited: bool) -> list[dict[str, Any]]:
    """The checks of a bundle as the control mapping sees them: its reports, the signed
    bundle itself, and the audit-log proofs when it carries any."""
    out = [{"name": r["name"], "kind": r["kind"], "verdict": r["verdict"]} for r in rows]
    out.append({"name": "evidence bundle", "kind": EVIDENCE, "verdict": "SIGNED"})
    if audited:
        out.append({"name": "audit-log proofs", "kind": AUDIT_TRAIL, "verdict": "PROVED"})
    return out


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "item"


def _parse_time(text: str) -> _dt.datetime:
    t = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=_dt.timezone.utc)


@dataclass
class _Check:
    name: str
    report: Report
    audit_index: Optional[int] = None

    @property
    def member(self) -> str:
        return f"reports/{_slug(self.name)}"


def _named(items: Any, what: str) -> list[tuple[Optional[str], Any]]:
    if isinstance(items, Mapping):
        return [(str(k), v) for k, v in items.items()]
    if isinstance(items, (str, os.PathLike, Report, Manifest)):
        items = [items]
    try:
        return [(None, v) for v in items]
    except TypeError:
        raise InvalidTypeError(
            f"{what}: expected a list (or a dict of name -> item), got {type(items).__name__}"
        ) from None


def _as_report(item: Any) -> Report:
    if isinstance(item, Report):
        return item
    if isinstance(item, (str, os.PathLike)):
        return Report.load(item)
    raise InvalidTypeError(f"reports: expected Report objects or report JSON paths, got {item!r}")


def _as_manifest(item: Any) -> Manifest:
    if isinstance(item, Manifest):
        return item
    if isinstance(item, (str, os.PathLike)):
        return Manifest.load(item)
    raise InvalidTypeError(f"manifests: expected Manifest objects or paths, got {item!r}")


def _unique(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names:
        slug = _slug(n)
        seen[slug] = seen.get(slug, 0) + 1
        out.append(n if seen[slug] == 1 else f"{n}-{seen[slug]}")
    return out


def _match_entries(log: AuditLog, checks: list[_Check]) -> None:
    """For each check, the newest unused log entry that recorded it: same verdict and
    inputs, written no earlier than the report (an older one would be a replay)."""
    entries = [e for e in log.entries() if e.get("type") == "entry"]
    used: set[int] = set()
    for check in checks:
        report = check.report
        made = _parse_time(report.created).replace(microsecond=0)
        for e in reversed(entries):
            event = e.get("event") or {}
            if (
                e["index"] not in used
                and event.get("passed") == report.passed
                and event.get("inputs") == report.inputs
                and _parse_time(e["time"]) >= made
            ):
                check.audit_index = int(e["index"])
                used.add(check.audit_index)
                break


class Bundle:
    """The evidence of one release, ready to sign and save (see :func:`build`)."""

    def __init__(
        self,
        checks: list[_Check],
        manifests: list[tuple[str, Manifest]],
        audit_log: Optional[AuditLog],
        frameworks: list[str],
        mapping: ControlMapping,
        env: Optional[dict[str, Any]],
    ) -> None:
        self.checks = checks
        self.manifests = manifests
        self.audit_log = audit_log
        self.frameworks = frameworks
        self.mapping = mapping
        self.environment = env
        self.created = _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")
        self.digest: Optional[str] = None
        self.path: Optional[str] = None

    @property
    def reports(self) -> list[Report]:
        return [c.report for c in self.checks]

    def check_rows(self) -> list[dict[str, Any]]:
        rows = [
            {"name": c.name, "kind": c.report.kind(), "verdict": c.report.verdict}
            for c in self.checks
        ]
        audited = self.audit_log is not None and any(c.audit_index is not None for c in self.checks)
        return with_bundle_rows(rows, audited)

    # -- writing ---------------------------------------------------------------------
    def _audit_members(self, key: SigningKey) -> tuple[dict[str, bytes], dict[str, Any]]:
        indices = sorted(c.audit_index for c in self.checks if c.audit_index is not None)
        if self.audit_log is None or not indices:
            return {}, {"entries": [], "checkpoint": None}
        log = self.audit_log
        checkpoint = log.checkpoint(key)
        proofs = [log.inclusion_proof(i) for i in indices]
        if any(p.size != checkpoint["size"] for p in proofs):
            raise IntegrityError(
                f"audit_log: {log.path} grew while the bundle was signed; save it again"
            )
        lines = {}
        with open(log.path, encoding="utf-8") as fh:
            for line in fh:
                if '"type":"entry"' in line:
                    index, _leaf = _core.audit_entry_leaf(line)
                    if index in indices:
                        lines[index] = line if line.endswith("\n") else line + "\n"
        members = {
            "audit/entries.jsonl": "".join(lines[i] for i in indices).encode(),
            "audit/proofs.json": json.dumps(
                [
                    {
                        "index": p.index,
                        "size": p.size,
                        "leaf": p.leaf,
                        "root": p.root,
                        "path": list(p.path),
                    }
                    for p in proofs
                ],
                indent=2,
            ).encode(),
            "audit/checkpoint.json": json.dumps(checkpoint, indent=2).encode(),
        }
        section = {
            "log": os.path.basename(log.path),
            "entries": indices,
            "checkpoint": {k: checkpoint[k] for k in ("size", "root", "time")},
            "signer": key.key_id,
        }
        return members, section

    def _index(self, audit: dict[str, Any]) -> dict[str, Any]:
        checks = []
        for c in self.checks:
            r = c.report
            checks.append(
                {
                    "name": c.name,
                    "kind": r.kind(),
                    "schema": r.schema,
                    "passed": r.passed,
                    "verdict": r.verdict,
                    "created": r.created,
                    "inputs": r.inputs,
                    "report": c.member + ".json",
                    "html": c.member + ".html",
                    "audit_index": c.audit_index,
                }
            )
        return {
            "schema": BUNDLE_SCHEMA,
            "mlsentry_version": __version__,
            "created": self.created,
            "checks": checks,
            "manifests": [
                {"name": n, "member": f"manifests/{_slug(n)}.json", "root": m.root}
                for n, m in self.manifests
            ],
            "audit": audit,
            "environment": "environment.json" if self.environment is not None else None,
            "controls": {
                "version": self.mapping.version,
                "frameworks": {f: self.mapping.frameworks[f] for f in self.frameworks},
                "coverage": self.mapping.coverage(self.frameworks, self.check_rows()),
            },
        }

    def members(self, key: SigningKey) -> dict[str, bytes]:
        """Every member but the statement, by name (signs the audit checkpoint)."""
        out: dict[str, bytes] = {}
        for c in self.checks:
            out[c.member + ".json"] = c.report.to_json().encode()
            out[c.member + ".html"] = c.report.to_html().encode("utf-8", "backslashreplace")
        for name, m in self.manifests:
            out[f"manifests/{_slug(name)}.json"] = m.to_json().encode()
        audit_members, audit = self._audit_members(key)
        out.update(audit_members)
        if self.environment is not None:
            out["environment.json"] = json.dumps(self.environment, indent=2).encode()
        out["controls.toml"] = self.mapping.text.encode()
        index = self._index(audit)
        out["index.json"] = json.dumps(index, indent=2).encode()
        out["index.html"] = index_html(index).encode()
        return out

    def save(self, path: PathArg, key: SigningKey) -> str:
        """Sign the bundle with ``key`` and write it to ``path`` (a ZIP file).

        With an audit log, a checkpoint of the log is signed with the same key and
        appended to it first; the entries of this release are proved against it.

        Returns
        -------
        str
            The ``sha256:`` digest of the file written (also ``self.digest``).
        """
        if not isinstance(key, SigningKey):
            raise InvalidTypeError(f"key: expected a SigningKey, got {type(key).__name__}")
        members = self.members(key)
        statement = {
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [
                {"name": name, "digest": {"sha256": hashlib.sha256(data).hexdigest()}}
                for name, data in sorted(members.items())
            ],
            "predicateType": PREDICATE_TYPE,
            "predicate": {
                "created": self.created,
                "mlsentry_version": __version__,
                "checks": [
                    {"name": c["name"], "kind": c["kind"], "verdict": c["verdict"]}
                    for c in self.check_rows()
                ],
            },
        }
        envelope = sign_statement(statement, key)
        target = os.fspath(path)
        folder = os.path.dirname(os.path.abspath(target))
        fd, tmp = tempfile.mkstemp(prefix=".evidence-", dir=folder)
        os.close(fd)
        try:
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
                for name in sorted(members):
                    z.writestr(_zip_info(name), members[name])
                z.writestr(_zip_info(STATEMENT_MEMBER), envelope.to_json(indent=2))
            os.replace(tmp, target)
        except BaseException:
            os.unlink(tmp)
            raise
        self.digest = "sha256:" + _file_sha256(target)
        self.path = target
        return self.digest

    def __repr__(self) -> str:
        return f"<Bundle {len(self.checks)} checks, {len(self.manifests)} manifests>"


def _zip_info(name: str) -> zipfile.ZipInfo:
    """A member with a fixed time, so that the same content gives the same bytes."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    return info


def _file_sha256(path: str) -> str:
    from ..integrity import hash_file

    return hash_file(path).partition(":")[2]


def build(
    reports: Any,
    manifests: Any = (),
    audit_log: Union[AuditLog, PathArg, None] = None,
    controls: Union[str, Sequence[str]] = DEFAULT_FRAMEWORKS,
    *,
    environment_info: bool = True,
) -> Bundle:
    """Gather the evidence of one release.

    Parameters
    ----------
    reports : list of Report (or report JSON paths), or dict of name -> report
        The checks of the release. Names default to the report kind (``scan``,
        ``drift``, ...), numbered when repeated.
    manifests : list of Manifest (or paths), or dict of name -> manifest
        The manifests of the model and the data.
    audit_log : AuditLog or path, optional
        The log the checks recorded themselves in (``MLSENTRY_AUDIT_LOG``): for each
        report, the entry that recorded it (same verdict and inputs, written after the
        report was made) goes into the bundle with an inclusion proof.
    controls : framework ids or "all"
        The frameworks of the control mapping shown: ``eu-ai-act``, ``nist-ai-rmf``,
        ``iso-42001``, ``soc2``, ``iso-27001``, ``gdpr``, ``hipaa``.
    environment_info : bool
        Record the Python environment (installed distributions and their RECORD
        digests).

    Returns
    -------
    Bundle
        ``.save(path, key)`` signs and writes it.

    Examples
    --------
    >>> import numpy as np, mlsentry as ms
    >>> key = ms.integrity.SigningKey.generate()
    >>> drift = ms.drift.compare({"x": np.arange(100.0)}, {"x": np.arange(100.0)})
    >>> bundle = ms.evidence.build([drift], controls="all", environment_info=False)
    >>> digest = bundle.save("release.evidence", key)
    >>> report = ms.evidence.verify("release.evidence", key.public_key)
    >>> report.passed, report.checks[0]["verdict"]
    (True, 'PASSED')
    """
    mapping = load_controls()
    frameworks = mapping.select(controls)
    named = [(n, _as_report(r)) for n, r in _named(reports, "reports")]
    if not named:
        raise InvalidInputError("reports: give at least one report")
    names = _unique([n or r.kind() for n, r in named])
    checks = [_Check(n, r) for n, (_, r) in zip(names, named)]
    mans = [(n, _as_manifest(m)) for n, m in _named(manifests, "manifests")]
    man_names = _unique([n or f"manifest-{i + 1}" for i, (n, _) in enumerate(mans)])
    log: Optional[AuditLog] = None
    if audit_log is not None:
        if isinstance(audit_log, AuditLog):
            log = audit_log
        elif isinstance(audit_log, (str, os.PathLike)):
            if not os.path.isfile(audit_log):
                raise InvalidInputError(f"audit_log: {os.fspath(audit_log)!r} is not a file")
            log = AuditLog(audit_log)
        else:
            raise InvalidTypeError(
                f"audit_log: expected an AuditLog or a path, got {type(audit_log).__name__}"
            )
        _match_entries(log, checks)
    return Bundle(
        checks,
        list(zip(man_names, (m for _, m in mans))),
        log,
        frameworks,
        mapping,
        environment() if environment_info else None,
    )


# -- the HTML index ----------------------------------------------------------------------


def index_html(index: Mapping[str, Any]) -> str:
    """The bundle's ``index.html``: checks, then per framework its controls."""
    checks = index["checks"]
    verdict_class = {"PASSED": "good", "FAILED": "bad"}
    rows = [
        [
            c["name"],
            c["kind"],
            c["verdict"],
            "" if c["audit_index"] is None else c["audit_index"],
        ]
        for c in checks
    ]
    link_rows = "".join(
        f'<li><a href="{html.escape(c["html"])}">{html.escape(c["name"])}</a> '
        f'(<a href="{html.escape(c["report"])}">JSON</a>)</li>'
        for c in checks
    )
    parts = [
        '<section class="mls-report"><h2>Release evidence</h2>',
        f"<p>Made {html.escape(index['created'])} by mlsentry "
        f"{html.escape(index['mlsentry_version'])}; control mapping "
        f"{html.escape(index['controls']['version'])}. Every member of this bundle is "
        "listed with its SHA-256 in <code>statement.dsse.json</code>, a signed in-toto "
        "statement; check it with <code>mlsentry evidence verify</code>.</p>",
        "<h3>Checks</h3>",
        html_table(
            ["check", "kind", "verdict", "audit entry"],
            rows,
            row_classes=[verdict_class.get(c["verdict"], "") for c in checks],
        ),
        f"<ul>{link_rows}</ul>",
    ]
    if index["manifests"]:
        parts.append("<h3>Manifests</h3>")
        parts.append(
            html_table(
                ["name", "root", "member"],
                [[m["name"], m["root"], m["member"]] for m in index["manifests"]],
            )
        )
    by_framework: dict[str, list[Mapping[str, Any]]] = {}
    for c in index["controls"]["coverage"]:
        by_framework.setdefault(c["framework"], []).append(c)
    for fid, title in index["controls"]["frameworks"].items():
        controls = by_framework.get(fid, [])
        covered = sum(c["covered"] for c in controls)
        parts.append(
            f"<h3>{html.escape(title)}</h3><p>{covered} of {len(controls)} controls "
            "supported by a check of this release.</p>"
        )
        cells = []
        for c in controls:
            if c["covered"]:
                supporting = ", ".join(
                    f'<a href="{html.escape(_html_member(index, k["name"]))}">'
                    f"{html.escape(k['name'])}</a> ({html.escape(k['verdict'])})"
                    for k in c["checks"]
                )
            else:
                supporting = "<em>not covered</em>"
            cls = "" if c["covered"] else ' class="bad"'
            cells.append(
                f"<tr{cls}><td>{html.escape(c['id'])}</td><td>{html.escape(c['title'])}</td>"
                f"<td>{supporting}</td></tr>"
            )
        parts.append(
            "<table><tr><th>control</th><th>what it asks</th><th>checks and verdicts</th>"
            f"</tr>{''.join(cells)}</table>"
        )
    parts.append("</section>")
    return html_page("Release evidence", "".join(parts))


def _html_member(index: Mapping[str, Any], name: str) -> str:
    for c in index["checks"]:
        if c["name"] == name:
            return str(c["html"])
    return "index.json"  # the bundle's own rows (evidence, audit proofs)
