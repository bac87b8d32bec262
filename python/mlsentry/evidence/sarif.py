"""SARIF 2.1.0 output for code-scanning dashboards (GitHub code scanning, GitLab, Azure
DevOps): :func:`to_sarif`, used by ``mlsentry scan``, ``verify`` and ``check`` with
``--sarif FILE``."""

from __future__ import annotations

import os
import pathlib
import urllib.parse
from collections.abc import Mapping, Sequence
from typing import Any, Optional

from .._version import __version__
from ..errors import InvalidTypeError
from ..report import Report

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/mlsentry/mlsentry"
#: SARIF level of each scan severity.
SCAN_LEVELS = {"dangerous": "error", "unknown": "warning", "info": "note"}
#: (rule id, level, description) of each change a verification finds.
VERIFY_RULES = {
    "modified": ("integrity.modified", "error", "A file's content differs from its manifest"),
    "removed": ("integrity.removed", "error", "A file of the manifest is missing"),
    "added": ("integrity.added", "warning", "A file is not in the manifest"),
}
ENV_RULES = {
    "changed": ("environment.changed", "error", "An installed file differs from its RECORD"),
    "missing": ("environment.missing", "error", "An installed file listed in RECORD is gone"),
    "unrecorded": (
        "environment.unrecorded",
        "warning",
        "A file in a distribution's folder is listed by no RECORD",
    ),
}


def _uri(path: str) -> str:
    """A SARIF artifact URI: relative paths stay relative (POSIX, percent-encoded),
    absolute ones become ``file://`` URIs."""
    if os.path.isabs(path):
        return pathlib.Path(path).as_uri()
    return urllib.parse.quote(pathlib.PurePath(path).as_posix(), safe="/")


def _location(
    path: str, line: Optional[int] = None, byte_offset: Optional[int] = None
) -> dict[str, Any]:
    physical: dict[str, Any] = {"artifactLocation": {"uri": _uri(path)}}
    if line:
        physical["region"] = {"startLine": int(line)}
    elif byte_offset is not None:
        physical["region"] = {"byteOffset": int(byte_offset)}
    return {"physicalLocation": physical}


class _Run:
    def __init__(self) -> None:
        self.rules: dict[str, dict[str, Any]] = {}
        self.results: list[dict[str, Any]] = []

    def add(
        self,
        rule: str,
        level: str,
        message: str,
        locations: Sequence[dict[str, Any]],
        description: str = "",
        kind: str = "fail",
    ) -> None:
        if rule not in self.rules:
            self.rules[rule] = {
                "id": rule,
                "shortDescription": {"text": description or rule},
                "defaultConfiguration": {"level": level if kind == "fail" else "note"},
            }
        result: dict[str, Any] = {
            "ruleId": rule,
            "kind": kind,
            "level": level if kind == "fail" else "none",
            "message": {"text": message},
        }
        if locations:
            result["locations"] = list(locations)
        self.results.append(result)


def _scan(run: _Run, report: Any) -> None:
    for f in report.findings:
        where = f.file + (f"!{f.member}" if f.member else "")
        run.add(
            f"scan.{f.rule}",
            SCAN_LEVELS.get(f.severity, "warning"),
            f"{f.severity}: {where}: {f.message}",
            [_location(f.file, byte_offset=None if f.member else f.offset)],
            f"Model-file scan: {f.rule}",
        )


def _verify(run: _Run, report: Any) -> None:
    root = str(report.config.get("path", ""))
    is_dir = bool(root) and os.path.isdir(root)

    def loc(rel: str) -> dict[str, Any]:
        return _location(os.path.join(root, rel) if is_dir else (root or rel))

    for m in report.modified:
        rule, level, text = VERIFY_RULES["modified"]
        run.add(
            rule,
            level,
            f"modified {m.path}: expected {m.expected}, got {m.actual}",
            [loc(m.path)],
            text,
        )
    for kind, paths in (("removed", report.removed), ("added", report.added)):
        rule, level, text = VERIFY_RULES[kind]
        for p in paths:
            run.add(rule, level, f"{kind} {p}", [loc(p)], text)


def _environment(run: _Run, report: Any) -> None:
    for p in report.problems:
        rule, level, text = ENV_RULES[p.kind]
        message = f"{p.kind} {p.path} ({p.distribution})"
        if p.expected and p.actual:
            message += f": expected {p.expected}, got {p.actual}"
        run.add(rule, level, message, [_location(os.path.join(p.site, p.path))], text)


_DETAILS = {"scan": _scan, "verify": _verify, "environment": _environment}


def to_sarif(
    reports: Sequence[Report], *, gates: Optional[Sequence[Mapping[str, Any]]] = None
) -> dict[str, Any]:
    """A SARIF 2.1.0 log of reports.

    Scan findings become results with their rule (``scan.pickle.dangerous-global``) and
    level (``error`` for dangerous, ``warning`` for unknown, ``note`` for info) at the
    file; a verification's modified and removed files are ``error``, added files
    ``warning``; ``verify-env`` problems likewise. With ``gates`` (one dict per report:
    ``name``, and the ``file`` and ``line`` of the gate in ``mlsentry.toml``), each report
    also gives one result for its gate: ``fail`` (level ``error``) when it failed,
    ``pass`` otherwise.

    Examples
    --------
    >>> from pathlib import Path
    >>> import mlsentry as ms
    >>> _ = Path("model.pkl").write_bytes(b"\\x80\\x04cos\\nsystem\\n.")
    >>> log = ms.evidence.to_sarif([ms.scan.scan("model.pkl")])
    >>> result = log["runs"][0]["results"][0]
    >>> result["level"], result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    ('error', 'model.pkl')
    """
    reports = list(reports)
    for r in reports:
        if not isinstance(r, Report):
            raise InvalidTypeError(f"reports: expected Report objects, got {type(r).__name__}")
    if gates is not None and len(gates) != len(reports):
        raise InvalidTypeError("gates: expected one gate per report")
    run = _Run()
    for i, report in enumerate(reports):
        detail = _DETAILS.get(report.kind())
        if detail is not None:
            detail(run, report)
        if gates is not None:
            gate = gates[i]
            failed = report.passed is False
            where = [_location(str(gate["file"]), gate.get("line"))] if gate.get("file") else []
            run.add(
                f"gate.{report.kind()}",
                "error" if failed else "note",
                f"gate {gate['name']!r} ({report.title}): {report.verdict}",
                where,
                f"mlsentry check gate: {report.title}",
                kind="fail" if failed else "pass",
            )
    return {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "mlsentry",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": list(run.rules.values()),
                    }
                },
                "results": run.results,
            }
        ],
    }


def write_sarif(path: str, reports: Sequence[Report], **kwargs: Any) -> None:
    """Write :func:`to_sarif` of ``reports`` to ``path``."""
    import json

    with open(path, "w", encoding="utf-8") as fh:
        json.dump(to_sarif(reports, **kwargs), fh, indent=2)
