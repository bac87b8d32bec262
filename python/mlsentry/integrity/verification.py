"""Verification of a file or folder against a manifest, signed or not: :func:`verify`
and the :class:`VerifyReport` it returns."""

from __future__ import annotations

import dataclasses
import hashlib
import html
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, ClassVar, Optional, Union

from .. import _core
from .._paths import PathArg, decode_path, path_bytes, show_path
from .._progress import ProgressArg
from ..errors import (
    IntegrityError,
    InvalidInputError,
    InvalidTypeError,
    SignatureError,
    require,
)
from ..report import Report, count_of, html_table
from .audit import record_check
from .manifests import Manifest, _build, check_ignore, exact_pattern, path_inside
from .signing import PREDICATE_PREFIX, Envelope, verify_envelope


@dataclasses.dataclass(frozen=True)
class ModifiedFile:
    """A file whose content differs from the manifest."""

    path: str
    expected: str
    actual: str
    expected_size: Optional[int]  # None when the signed record has no sizes (Model Signing)
    actual_size: int


@dataclasses.dataclass(frozen=True)
class SignatureCheck:
    """The signature a verification checked before comparing the files.

    ``format`` is ``"dsse"`` (an envelope made by :func:`~mlsentry.integrity.sign`) or
    ``"model-signing"`` (an OpenSSF Model Signing bundle); ``envelope_digest`` is the
    ``sha256:`` digest of the envelope as checked (its canonical JSON: keys sorted, no
    spaces) or of the bundle file's bytes. A report carries one only when the signature
    verified: a bad one raises :class:`~mlsentry.errors.SignatureError` instead.
    """

    format: str
    algorithm: str
    key_id: str
    envelope_digest: str
    payload_type: str
    verified: bool = True

    def describe(self) -> str:
        kind = "DSSE envelope" if self.format == "dsse" else "Model Signing bundle"
        state = "verified" if self.verified else "NOT verified"
        return (
            f"signature: {kind} {state} with {self.algorithm} key {self.key_id[:16]}... "
            f"({self.envelope_digest[:23]}...)"
        )


class VerifyReport(Report):
    """What :func:`verify` found: files added, removed and modified.

    Attributes
    ----------
    ok : bool
        No change at all (also ``passed``).
    added : list of str
        Paths present now but not in the manifest.
    removed : list of str
        Paths in the manifest but missing now.
    modified : list of ModifiedFile
        Paths whose digest differs (with expected and actual digest and size).
    signature : SignatureCheck or None
        The signature checked first, for a signed manifest or a Model Signing bundle.
    """

    schema: ClassVar[str] = "mlsentry/verify-report/v1"
    title: ClassVar[str] = "Integrity verification"

    def __init__(
        self,
        *,
        added: Sequence[str],
        removed: Sequence[str],
        modified: Sequence[ModifiedFile],
        files_checked: int,
        config: Optional[Mapping[str, Any]] = None,
        inputs: Optional[Mapping[str, str]] = None,
        signature: Optional[SignatureCheck] = None,
    ) -> None:
        super().__init__(config=config, inputs=inputs)
        self.added = list(added)
        self.removed = list(removed)
        self.modified = list(modified)
        self.files_checked = files_checked
        self.signature = signature

    @property
    def ok(self) -> bool:
        return not (self.added or self.removed or self.modified)

    @property
    def passed(self) -> bool:
        return self.ok

    @classmethod
    def _from_dict(cls, data: Mapping[str, Any], meta: dict[str, Any]) -> VerifyReport:
        sig = data.get("signature")
        return cls(
            added=list(data["added"]),
            removed=list(data["removed"]),
            modified=[ModifiedFile(**m) for m in data["modified"]],
            files_checked=int(data["files_checked"]),
            signature=None if sig is None else SignatureCheck(**sig),
            **meta,
        )

    def _metrics(self, p: str, column_metrics: int) -> dict[str, float]:
        """``ok``, ``n_added``, ``n_removed``, ``n_modified``, ``files_checked``."""
        return {
            f"{p}.ok": float(self.ok),
            f"{p}.n_added": float(len(self.added)),
            f"{p}.n_removed": float(len(self.removed)),
            f"{p}.n_modified": float(len(self.modified)),
            f"{p}.files_checked": float(self.files_checked),
        }

    def _changes(self) -> list[tuple[str, str, str, str, Optional[int], Optional[int]]]:
        rows: list[tuple[str, str, str, str, Optional[int], Optional[int]]] = []
        rows += [
            ("modified", m.path, m.expected, m.actual, m.expected_size, m.actual_size)
            for m in self.modified
        ]
        rows += [("added", p, "", "", None, None) for p in self.added]
        rows += [("removed", p, "", "", None, None) for p in self.removed]
        return rows

    def _payload(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files_checked": self.files_checked,
            "added": [show_path(p) for p in self.added],
            "removed": [show_path(p) for p in self.removed],
            "modified": [
                {**dataclasses.asdict(m), "path": show_path(m.path)} for m in self.modified
            ],
            "signature": None if self.signature is None else dataclasses.asdict(self.signature),
        }

    def summary(self) -> str:
        signed = [] if self.signature is None else ["  " + self.signature.describe()]
        if self.ok:
            head = f"{self.title}: PASSED ({count_of(self.files_checked, 'file')} unchanged)"
            return "\n".join([head, *signed])
        lines = [
            f"{self.title}: FAILED ({len(self.modified)} modified, {len(self.added)} added, "
            f"{len(self.removed)} removed)"
        ]
        lines += [
            f"  modified {show_path(m.path)}: expected {m.expected}, got {m.actual}"
            for m in self.modified
        ]
        lines += [f"  added    {show_path(p)}" for p in self.added]
        lines += [f"  removed  {show_path(p)}" for p in self.removed]
        return "\n".join(lines[:1] + signed + lines[1:])

    def _html_body(self) -> str:
        signed = ""
        if self.signature is not None:
            signed = f"<p>{html.escape(self.signature.describe())}</p>"
        if self.ok:
            n = self.files_checked
            what = "The file matches" if n == 1 else f"All {n} files match"
            return f"{signed}<p>{what} the manifest.</p>"
        rows = [
            [c, show_path(p), e, a, "" if es is None else es, "" if as_ is None else as_]
            for c, p, e, a, es, as_ in self._changes()
        ]
        return f"{signed}<p>{html.escape(self.summary().splitlines()[0])}</p>" + html_table(
            ["change", "path", "expected digest", "actual digest", "expected size", "actual size"],
            rows,
            css_class="changes",
            row_classes=["bad"] * len(rows),
        )

    def to_pandas(self) -> Any:
        """One row per change: change, path, expected, actual, expected_size, actual_size."""
        pd = require("pandas", "pandas", f"{type(self).__name__}.to_pandas()")

        return pd.DataFrame(
            self._changes(),
            columns=["change", "path", "expected", "actual", "expected_size", "actual_size"],
        )


_NEEDS_KEY = (
    "signed envelope: pass a public key (public_key=..., or --pub on the command line) to "
    "check its signature and then the files it lists"
)


def _signed_manifest(
    envelope: Mapping[str, Any], public_key: Any
) -> tuple[Manifest, SignatureCheck]:
    """The manifest inside a signed envelope, once its signature and subject check out,
    and what was checked."""
    if public_key is None:
        raise InvalidInputError(_NEEDS_KEY)
    statement = verify_envelope(envelope, public_key)
    if statement.get("predicateType") != PREDICATE_PREFIX + "manifest/v1":
        raise SignatureError(
            f"the envelope signs {statement.get('predicateType')!r}, not an mlsentry manifest"
        )
    signed = Manifest._from_dict(statement.get("predicate"))
    subjects = statement.get("subject") or []
    algo, _, hexdigest = signed.root.partition(":")
    if not any((s.get("digest") or {}).get(algo) == hexdigest for s in subjects):
        raise SignatureError("the statement's subject digest is not the manifest's root")
    canonical = json.dumps(dict(envelope), sort_keys=True, separators=(",", ":"))
    check = SignatureCheck(
        format="dsse",
        algorithm=public_key.algorithm,
        key_id=public_key.key_id,
        envelope_digest="sha256:" + hashlib.sha256(canonical.encode()).hexdigest(),
        payload_type=str(envelope.get("payloadType")),
    )
    return signed, check


def _load_manifest_or_envelope(
    source: Any, public_key: Any
) -> tuple[Manifest, Optional[SignatureCheck]]:
    if isinstance(source, Manifest):
        return source, None
    if isinstance(source, Mapping):
        return _signed_manifest(source, public_key)
    if not isinstance(source, (str, bytes, os.PathLike)):
        raise InvalidTypeError(
            "manifest: expected a Manifest, a signed envelope, or the path of either, "
            f"got {type(source).__name__}"
        )
    if public_key is None:
        with open(source, "rb") as fh:
            head = fh.read(4096)
        if b'"payloadType"' in head and b'"signatures"' in head:
            raise InvalidInputError(_NEEDS_KEY)
        return Manifest.load(source), None
    return _signed_manifest(Envelope.load(source), public_key)


def verify(
    path: PathArg,
    manifest: Union[Manifest, Mapping[str, Any], PathArg],
    public_key: Any = None,
    *,
    ignore: Iterable[str] = (),
    strict: bool = False,
    progress: ProgressArg = False,
) -> VerifyReport:
    """Re-hashes ``path`` and compares it with a manifest.

    The same algorithm, mode (files or shards), ignore patterns and symlink setting as the
    manifest's are used. Given a DSSE envelope made by :func:`sign` and the signer's
    ``public_key``, it checks the signature first and then the folder against the signed
    manifest, in one call. A manifest or envelope file kept inside the folder it covers is
    left out of the check (it cannot list itself).

    Parameters
    ----------
    path : str, bytes or os.PathLike
        The folder (or file) to check.
    manifest : Manifest, Envelope or path
        A :class:`Manifest`, the path of a manifest JSON file (checked strictly), or a
        signed envelope (an :class:`Envelope`, or its path when ``public_key`` is given).
    public_key : PublicKey, optional
        The signer's key, required for a signed envelope; a bad signature raises
        :class:`~mlsentry.errors.SignatureError`.
    ignore : iterable of str
        More glob patterns to leave out, on both sides, beyond the manifest's own (same
        syntax as :func:`manifest`'s ``ignore``): files the manifest lists that match are
        not expected, files on disk that match are not reported as added.
    strict : bool
        Raise :class:`~mlsentry.errors.IntegrityError` listing the changes when anything
        differs, instead of returning a failed report.
    progress : bool or callable, optional
        ``True`` shows a tqdm bar; a callable receives ``(bytes_done, bytes_total)``.

    Returns
    -------
    VerifyReport
        ``ok``/``passed``, ``added``, ``removed``, ``modified``; its ``inputs`` record the
        manifest's root and the current root.

    Raises
    ------
    IntegrityError
        With ``strict=True``, when anything changed (the message lists the changes).
    ManifestError
        The manifest file is malformed or was edited by hand.
    PathNotFoundError, FilePermissionError, UnsafePathError, FileChangedError
        As for :func:`manifest`: a file that cannot be hashed safely is an error, not a
        difference.

    Examples
    --------
    >>> import os
    >>> from pathlib import Path
    >>> import mlsentry as ms
    >>> os.makedirs("release")
    >>> _ = Path("release/weights.bin").write_bytes(b"abc")
    >>> m = ms.integrity.manifest("release")
    >>> ms.integrity.verify("release", m).ok
    True
    >>> _ = Path("release/weights.bin").write_bytes(b"abd")
    >>> r = ms.integrity.verify("release", m)
    >>> r.passed, [c.path for c in r.modified]
    (False, ['weights.bin'])
    """
    source = manifest
    manifest, signature = _load_manifest_or_envelope(manifest, public_key)
    extra = list(check_ignore(ignore))
    if isinstance(source, (str, bytes, os.PathLike)) and os.path.isdir(path):
        rel = path_inside(os.fsdecode(path), os.fsdecode(source))
        if rel is not None:
            extra.append(exact_pattern(rel))
    current = _build(
        path,
        manifest.algorithm,
        manifest.shard_size,
        (*manifest.ignore, *extra),
        manifest.follow_symlinks,
        progress,
        "verify",
    )
    # Compared as the extension's tuples (path bytes, size, digest): only the differences
    # become Python strings and objects.
    entries = manifest._entries()
    if extra:
        dropped = _core.ignored_paths(extra, [e[0] for e in entries])
        entries = [e for e, gone in zip(entries, dropped) if not gone]
    old = {p: (size, digest) for p, size, digest, _ in entries}
    new = {p: (size, digest) for p, size, digest, _ in current._entries()}
    added = [decode_path(p) for p in new if p not in old]
    removed = [decode_path(p) for p in old if p not in new]
    modified = [
        ModifiedFile(decode_path(p), old[p][1], digest, old[p][0], size)
        for p, (size, digest) in new.items()
        if p in old and old[p] != (size, digest)
    ]
    report = VerifyReport(
        added=added,
        removed=removed,
        modified=modified,
        files_checked=len(new),
        config={
            "path": path_bytes(path).decode("utf-8", "backslashreplace"),
            "algorithm": manifest.algorithm,
            "shard_size": manifest.shard_size,
            "ignore": list(manifest.ignore),
            "ignore_extra": extra,
            "follow_symlinks": manifest.follow_symlinks,
            "strict": bool(strict),
        },
        inputs={"manifest": manifest.root, "current": current.root},
        signature=signature,
    )
    record_check(
        "verify",
        report.ok,
        report.inputs,
        added=len(added),
        removed=len(removed),
        modified=len(modified),
        signed=public_key is not None,
    )
    if strict and not report.ok:
        raise IntegrityError(report.summary())
    return report
