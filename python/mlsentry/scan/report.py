"""What a scan found: one :class:`Finding` per problem, one :class:`FileSummary` per file
read, and the :class:`ScanReport`."""

from __future__ import annotations

import dataclasses
import html
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Optional

from .._paths import show_path
from ..errors import require
from ..report import Report, count_of, html_table

#: Severities from least to most serious; a scan is safe when nothing is above "info".
SEVERITIES = ("info", "unknown", "dangerous")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One thing the scan found.

    Attributes
    ----------
    file : str
        The file (as given, or relative to the scanned folder).
    member : str or None
        The path of archive members down to the stream (``a.zip!archive/data.pkl``
        style members joined with ``!``), or None for the file itself.
    offset : int or None
        Byte offset in that stream (after decompression) of the opcode concerned.
    global_name : str or None
        The ``module.name`` a pickle would import or call.
    severity : str
        ``"info"``, ``"unknown"`` or ``"dangerous"``.
    rule : str
        A stable identifier (``pickle.dangerous-global``, ``container.bomb``, ...).
    message : str
        One line for a person.
    """

    file: str
    member: Optional[str]
    offset: Optional[int]
    global_name: Optional[str]
    severity: str
    rule: str
    message: str

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["file"] = show_path(self.file)
        return d

    def __str__(self) -> str:
        where = show_path(self.file) + (f"!{self.member}" if self.member else "")
        if self.offset is not None:
            where += f"@{self.offset}"
        return f"{self.severity}: {where}: {self.message} [{self.rule}]"


@dataclasses.dataclass(frozen=True)
class FileSummary:
    """A file the scan read: its format, how many pickle streams it held, its size and
    (with ``digests=True``) its digest as :func:`mlsentry.integrity.manifest` gives it."""

    path: str
    format: str
    streams: int
    size: int
    digest: Optional[str] = None


class ScanReport(Report):
    """What :func:`scan` found.

    Attributes
    ----------
    safe : bool
        No finding above ``info`` (also ``passed``).
    findings : list of Finding
        Most serious first.
    files : list of FileSummary
        Every file read, with the format recognised.
    """

    schema: ClassVar[str] = "mlsentry/scan-report/v1"
    title: ClassVar[str] = "Model-file scan"

    def __init__(
        self,
        *,
        findings: Sequence[Finding],
        files: Sequence[FileSummary],
        config: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, str]] = None,
    ) -> None:
        super().__init__(config=config, inputs=inputs)
        rank = {s: i for i, s in enumerate(SEVERITIES)}
        self.findings = sorted(
            findings, key=lambda f: (-rank[f.severity], f.file, f.member or "", f.offset or 0)
        )
        self.files = list(files)

    @property
    def safe(self) -> bool:
        return not any(f.severity != "info" for f in self.findings)

    @property
    def passed(self) -> bool:
        return self.safe

    def _metrics(self, p: str, column_metrics: int) -> dict[str, float]:
        """``safe``, ``n_dangerous``, ``n_unknown``, ``n_findings``, ``files_scanned``."""
        return {
            f"{p}.safe": float(self.safe),
            f"{p}.n_dangerous": float(len(self.dangerous)),
            f"{p}.n_unknown": float(len(self.unknown)),
            f"{p}.n_findings": float(len(self.findings)),
            f"{p}.files_scanned": float(len(self.files)),
        }

    @property
    def dangerous(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "dangerous"]

    @property
    def unknown(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "unknown"]

    def _payload(self) -> dict[str, Any]:
        return {
            "safe": self.safe,
            "files_scanned": len(self.files),
            "findings": [f.to_dict() for f in self.findings],
            "files": [{**dataclasses.asdict(s), "path": show_path(s.path)} for s in self.files],
        }

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> ScanReport:
        return cls(
            findings=[Finding(**f) for f in data["findings"]],
            files=[FileSummary(**f) for f in data["files"]],
            **meta,
        )

    def to_pandas(self) -> Any:
        """One row per finding."""
        pd = require("pandas", "pandas", f"{type(self).__name__}.to_pandas()")

        names = [f.name for f in dataclasses.fields(Finding)]
        return pd.DataFrame([dataclasses.astuple(f) for f in self.findings], columns=names)

    def summary(self) -> str:
        verdict = "SAFE" if self.safe else "NOT SAFE"
        counts = {s: sum(f.severity == s for f in self.findings) for s in SEVERITIES}
        head = (
            f"{self.title}: {verdict}: {count_of(len(self.files), 'file')}, "
            f"{counts['dangerous']} dangerous, {counts['unknown']} unknown"
        )
        lines = [head]
        lines += [f"  {f}" for f in self.findings if f.severity != "info"][:50]
        hidden = sum(f.severity != "info" for f in self.findings) - 50
        if hidden > 0:
            lines.append(f"  ... and {hidden} more")
        return "\n".join(lines)

    def _html_body(self) -> str:
        rows = [
            [
                f.severity,
                show_path(f.file),
                f.member or "",
                "" if f.offset is None else f.offset,
                f.global_name or "",
                f.rule,
                f.message,
            ]
            for f in self.findings
        ]
        classes = ["bad" if f.severity != "info" else "" for f in self.findings]
        parts = [f"<p>{html.escape(self.summary().splitlines()[0])}.</p>"]
        if rows:
            parts.append(
                html_table(
                    ["severity", "file", "member", "offset", "global", "rule", "explanation"],
                    rows,
                    row_classes=classes,
                )
            )
        parts.append(
            "<details><summary>Files</summary>"
            + html_table(
                ["file", "format", "pickle streams", "bytes"],
                [[show_path(s.path), s.format, s.streams, s.size] for s in self.files],
            )
            + "</details>"
        )
        return "".join(parts)
