"""Scan: will loading this model file run someone's code?

:func:`scan` reads model files without loading them: a pickle reader in Rust that never
executes anything follows every opcode of every pickle (protocols 0 to 5) and names each
global the pickle would import or call, whatever opcodes built the names. Files are
recognised by their content, never by their name: pickles, PyTorch zips and legacy
files, TorchScript archives (never safe: loading runs their program), joblib (raw and
compressed), gzip/bz2/xz/lzma streams, ``.npy``/``.npz`` object arrays, nested zips, Keras
archives and safetensors; a folder is scanned file by file.

The policy is an allow-list first: globals known to be plain data constructors (numpy,
PyTorch, pandas, scikit-learn, scipy, collections, ...) are fine; known-dangerous ones
(code execution, imports, attribute walks, file, process and network access) are
``dangerous``; anything else is ``unknown``. A file is ``safe`` only when every opcode of
every pickle in it was read and no finding is above ``info``: unreadable, truncated or
unknown content, and a file changed by another process while it was scanned
(``container.changed``), are never a silent pass.

>>> import pickle, mlsentry as ms
>>> with open("weights.pkl", "wb") as fh:
...     pickle.dump({"w": [1.0, 2.0]}, fh)
>>> ms.scan.scan("weights.pkl").safe
True
>>> with open("evil.bin", "wb") as fh:  # GLOBAL os system; the pickle is never run here
...     _ = fh.write(b"cos\\nsystem\\n(S'true'\\ntR.")
>>> report = ms.scan.scan("evil.bin")
>>> report.safe, report.findings[0].global_name, report.findings[0].severity
(False, 'os.system', 'dangerous')
"""

from __future__ import annotations

import dataclasses
import html
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Optional, Union

from . import _core
from ._audit import record_check
from ._progress import ProgressArg, progress_callback
from .errors import (
    FileAccessError,
    InvalidInputError,
    InvalidTypeError,
    PathNotFoundError,
    UnsafePathError,
)
from .report import Report, html_table

__all__ = ["FileSummary", "Finding", "ScanReport", "scan"]

PathArg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]

#: Severities from least to most serious; a scan is safe when nothing is above "info".
SEVERITIES = ("info", "unknown", "dangerous")


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def _show(path: str) -> str:
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


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
        d["file"] = _show(self.file)
        return d

    def __str__(self) -> str:
        where = _show(self.file) + (f"!{self.member}" if self.member else "")
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
            "files": [{**dataclasses.asdict(s), "path": _show(s.path)} for s in self.files],
        }

    def to_pandas(self) -> Any:
        """One row per finding."""
        import pandas as pd

        names = [f.name for f in dataclasses.fields(Finding)]
        return pd.DataFrame([dataclasses.astuple(f) for f in self.findings], columns=names)

    def summary(self) -> str:
        verdict = "SAFE" if self.safe else "NOT SAFE"
        counts = {s: sum(f.severity == s for f in self.findings) for s in SEVERITIES}
        head = (
            f"{self.title}: {verdict}: {len(self.files)} file(s), "
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
                _show(f.file),
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
                [[_show(s.path), s.format, s.streams, s.size] for s in self.files],
            )
            + "</details>"
        )
        return "".join(parts)


def _policy_text(policy: Any) -> tuple[Optional[str], str]:
    """The policy extension as (text, format) for the core."""
    if policy is None:
        return None, "toml"
    if isinstance(policy, Mapping):
        return json.dumps(policy), "json"
    try:
        path = os.fspath(policy)
    except TypeError:
        raise InvalidTypeError(
            f"policy: expected a TOML or JSON file path or a dict, got {type(policy).__name__}"
        ) from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    suffix = os.path.splitext(path)[1].lower()
    if suffix not in (".toml", ".json"):
        raise InvalidInputError(f"policy: expected a .toml or .json file, got {path!r}")
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read(), suffix[1:]
    except FileNotFoundError:
        raise PathNotFoundError(2, "No such file or directory", path) from None


def _policy_config(policy: Any) -> Any:
    if policy is None or isinstance(policy, Mapping):
        return policy
    return _show(os.fsdecode(os.fspath(policy)))


def scan(
    path: Union[PathArg, Sequence[PathArg]],
    policy: Any = None,
    *,
    digests: bool = True,
    progress: ProgressArg = False,
) -> ScanReport:
    """Scans model files (a file, a folder, or several) without loading them.

    Parameters
    ----------
    path : path or list of paths
        Files and folders; a folder is scanned file by file (links leaving it are not
        followed).
    policy : path or dict, optional
        Extends the built-in policy: a TOML or JSON file, or the same as a dict, with
        ``{"allow": {"globals": ["mypkg.MyModel", "mypkg.layers.*"]}, "dangerous":
        {"globals": [...]}}``. Nothing can allow a global the built-in policy calls
        dangerous.
    digests : bool
        Record what was scanned: the manifest root of each path in ``report.inputs`` and
        each file's digest in ``report.files``, so a signed report speaks of exactly
        these bytes (a folder that has no manifest, because it holds a FIFO or a link
        leaving it, is named in ``config["not_digested"]`` instead). It reads every byte
        once more (SHA-256 in parallel, about 0.3 s per
        GB on two cores here); the scan itself skips what cannot hold code (tensor data
        in a PyTorch zip, say), so ``digests=False`` is faster on large models.
    progress : bool or callable, optional
        ``True`` shows a tqdm bar of bytes read.

    Returns
    -------
    ScanReport
        ``safe`` and the findings (file, member inside an archive, byte offset, global,
        severity, rule, explanation).

    Raises
    ------
    PathNotFoundError
        A path does not exist.
    InvalidInputError
        A policy file that is not valid TOML/JSON or not in the schema.

    Notes
    -----
    Unreadable, truncated or unrecognised content inside a model format is a finding
    (``unknown``), never a silent pass; a plain file that is no model format (a README,
    an image) is ``info``. Decompression is capped (a bomb is a finding) and archives
    nest at most 4 deep.

    Every scan appends one event to the audit log named by ``MLSENTRY_AUDIT_LOG``.

    Examples
    --------
    >>> import os, pickle, mlsentry as ms
    >>> os.makedirs("model", exist_ok=True)
    >>> with open("model/classes.pkl", "wb") as fh:
    ...     pickle.dump(["cat", "dog"], fh)
    >>> with open("model/custom.pkl", "wb") as fh:  # a class no policy knows yet
    ...     _ = fh.write(b"\\x80\\x02cmypkg.models\\nNet\\n)R.")
    >>> report = ms.scan.scan("model", digests=False)
    >>> report.safe, [f.global_name for f in report.unknown]
    (False, ['mypkg.models.Net'])
    >>> ms.scan.scan("model", {"allow": {"globals": ["mypkg.models.*"]}}).safe
    True
    """
    paths = [path] if isinstance(path, (str, bytes, os.PathLike)) else list(path)
    if not paths:
        raise InvalidInputError("path: no path given")
    raw_paths = []
    for p in paths:
        try:
            raw_paths.append(os.fsencode(p))
        except TypeError:
            raise InvalidTypeError(
                f"path: expected a str, bytes or os.PathLike path, got {type(p).__name__}"
            ) from None
    text, fmt = _policy_text(policy)
    findings: list[Finding] = []
    files: list[FileSummary] = []
    for raw in raw_paths:
        with progress_callback(progress, "scan", unit="B") as cb:
            result = _core.scan_path(raw, text, fmt, cb)
        for file, members, offset, glob, severity, rule, message in result["findings"]:
            findings.append(
                Finding(
                    _decode(file),
                    "!".join(members) if members else None,
                    offset,
                    glob,
                    severity,
                    rule,
                    message,
                )
            )
        for fpath, fmt_name, streams, size in result["files"]:
            files.append(FileSummary(_decode(fpath), fmt_name, streams, size))
    inputs: dict[str, str] = {}
    undigested: dict[str, str] = {}
    if digests:
        from .integrity import manifest

        by_file: dict[str, str] = {}
        for raw in raw_paths:
            try:
                m = manifest(raw)
            except (UnsafePathError, FileAccessError) as e:
                # A folder holding a FIFO, a device or a link leaving it has no manifest;
                # the scan itself stands (those are findings) and says what it could not
                # record.
                undigested[_show(_decode(raw))] = str(e)
                continue
            inputs[_show(_decode(raw))] = m.root
            base = _decode(raw)
            for entry in m.files:
                key = base if os.path.isfile(raw) else os.path.join(base, entry.path)
                by_file[key] = entry.digest
        files = [dataclasses.replace(f, digest=by_file.get(f.path)) for f in files]
    report = ScanReport(
        findings=findings,
        files=files,
        config={
            "paths": [_show(_decode(p)) for p in raw_paths],
            "policy": _policy_config(policy),
            "digests": bool(digests),
            **({"not_digested": undigested} if undigested else {}),
        },
        inputs=inputs,
    )
    record_check(
        "scan",
        report.safe,
        report.inputs,
        dangerous=len(report.dangerous),
        unknown=len(report.unknown),
        files=len(files),
    )
    return report
