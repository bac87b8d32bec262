""":func:`scan`: model files read by the Rust core, judged by a policy."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any, Optional, Union

from .. import _core
from .._paths import PathArg, decode_path, show_path
from .._progress import ProgressArg, progress_callback
from ..errors import (
    FileAccessError,
    InvalidInputError,
    InvalidTypeError,
    PathNotFoundError,
    UnsafePathError,
)
from ..integrity import record_check
from .report import FileSummary, Finding, ScanReport


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
    return show_path(os.fsdecode(os.fspath(policy)))


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
                    decode_path(file),
                    "!".join(members) if members else None,
                    offset,
                    glob,
                    severity,
                    rule,
                    message,
                )
            )
        for fpath, fmt_name, streams, size in result["files"]:
            files.append(FileSummary(decode_path(fpath), fmt_name, streams, size))
    inputs: dict[str, str] = {}
    undigested: dict[str, str] = {}
    if digests:
        from ..integrity import manifest

        by_file: dict[str, str] = {}
        for raw in raw_paths:
            try:
                m = manifest(raw)
            except (UnsafePathError, FileAccessError) as e:
                # A folder holding a FIFO, a device or a link leaving it has no manifest;
                # the scan itself stands (those are findings) and says what it could not
                # record.
                undigested[show_path(decode_path(raw))] = str(e)
                continue
            inputs[show_path(decode_path(raw))] = m.root
            base = decode_path(raw)
            for entry in m.files:
                key = base if os.path.isfile(raw) else os.path.join(base, entry.path)
                by_file[key] = entry.digest
        files = [dataclasses.replace(f, digest=by_file.get(f.path)) for f in files]
    report = ScanReport(
        findings=findings,
        files=files,
        config={
            "paths": [show_path(decode_path(p)) for p in raw_paths],
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
