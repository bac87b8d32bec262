"""Manifests: the digest of one file (:func:`hash_file`) and of every file of a folder
(:func:`manifest`, :class:`Manifest`)."""

from __future__ import annotations

import dataclasses
import json
import os
import pathlib
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Optional, Union

from .. import _core
from .._paths import PathArg, decode_path, encode_path, path_bytes
from .._progress import ProgressArg, progress_callback
from ..errors import (
    FilePermissionError,
    InvalidInputError,
    InvalidTypeError,
    ManifestError,
    PathNotFoundError,
)
from ..report import count_of

MANIFEST_SCHEMA = "mlsentry/manifest/v1"
#: The default shard size (64 MiB): a file larger than this is cut into shards hashed in
#: parallel, so one large model file uses every core; smaller files are one shard each,
#: whose digest is their content's own (what ``sha256sum`` prints). Fixed, so the same
#: folder gives the same root on every machine.
DEFAULT_SHARD_SIZE = 64 * 2**20
_ALGORITHMS = ("sha256", "blake3")


def _check_algorithm(algorithm: Any) -> str:
    if algorithm not in _ALGORITHMS:
        raise InvalidInputError(f'algorithm: expected "sha256" or "blake3", got {algorithm!r}')
    return str(algorithm)


def _check_shard_size(shard_size: Any) -> Optional[int]:
    if shard_size is None:
        return None
    if isinstance(shard_size, bool) or not isinstance(shard_size, int):
        raise InvalidTypeError(
            f"shard_size: expected a positive int (bytes) or None, got {type(shard_size).__name__}"
        )
    if shard_size <= 0 or shard_size >= 2**64:
        raise InvalidInputError(
            f"shard_size: expected a positive number of bytes or None, got {shard_size}"
        )
    return shard_size


def path_inside(root: str, target: str) -> Optional[str]:
    """``target`` relative to the folder ``root`` (POSIX), or ``None`` if outside it."""
    rroot = os.path.realpath(root)
    rtarget = os.path.realpath(target)
    try:
        rel = os.path.relpath(rtarget, rroot)
    except ValueError:  # another drive (Windows)
        return None
    if rel == os.curdir or rel == os.pardir or rel.startswith(os.pardir + os.sep):
        return None
    return pathlib.PurePath(rel).as_posix()


def exact_pattern(rel: str) -> str:
    """The ignore pattern that leaves out exactly ``rel`` (relative to the top of the
    tree) and what is below it: anchored, glob characters escaped."""
    return "/" + "".join("\\" + c if c in "*?[\\" else c for c in rel)


def check_ignore(ignore: Any) -> tuple[str, ...]:
    if isinstance(ignore, str):
        ignore = (ignore,)
    try:
        patterns = tuple(ignore)
    except TypeError:
        raise InvalidTypeError(
            f"ignore: expected glob patterns (a sequence of str), got {type(ignore).__name__}"
        ) from None
    for p in patterns:
        if not isinstance(p, str):
            raise InvalidTypeError(f"ignore: expected str patterns, got {p!r}")
    return patterns


def hash_file(path: PathArg, algorithm: str = "sha256", *, progress: ProgressArg = False) -> str:
    """The digest of one file, as ``"<algorithm>:<hex>"``.

    The file is read with large positioned reads (never memory-mapped) without holding
    the GIL; BLAKE3 hashes each buffer with all cores. The result is the standard digest
    of the bytes (``hashlib.sha256(data).hexdigest()``, ``blake3(data).hexdigest()``).

    Parameters
    ----------
    path : str, bytes or os.PathLike
        A regular file (symbolic links are followed). FIFOs, devices and sockets are
        refused without being opened.
    algorithm : {"sha256", "blake3"}
        The hash function.
    progress : bool or callable, optional
        ``True`` shows a tqdm bar (if tqdm is installed); a callable receives
        ``(bytes_done, bytes_total)`` about ten times a second.

    Returns
    -------
    str
        ``"sha256:<64 hex digits>"`` or ``"blake3:<64 hex digits>"``.

    Raises
    ------
    PathNotFoundError, FilePermissionError, FileAccessError
        The file cannot be read (``.filename`` names it).
    UnsafePathError
        The path is a FIFO, a device or a socket.
    FileChangedError
        The file changed while it was read.

    Examples
    --------
    >>> from pathlib import Path
    >>> import mlsentry as ms
    >>> _ = Path("weights.bin").write_bytes(b"abc")
    >>> ms.integrity.hash_file("weights.bin")
    'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    >>> ms.integrity.hash_file("weights.bin", "blake3")[:15]
    'blake3:6437b3ac'
    """
    raw = path_bytes(path)
    algorithm = _check_algorithm(algorithm)
    with progress_callback(progress, "hashing", unit="B") as cb:
        return _core.hash_file(raw, algorithm, cb)


@dataclasses.dataclass(frozen=True)
class FileEntry:
    """One regular file of a manifest.

    Attributes
    ----------
    path : str
        Relative POSIX path (non-UTF-8 bytes kept with ``surrogateescape``).
    size : int
        Size in bytes.
    digest : str
        ``"<algorithm>:<hex>"``: the file's digest in files mode; in shards mode the digest
        of the concatenation of its raw shard digests.
    shards : tuple of str or None
        Shard digests in shards mode (an empty file has none), else ``None``.
    """

    path: str
    size: int
    digest: str
    shards: Optional[tuple[str, ...]] = None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "size": self.size, "digest": self.digest}
        if self.shards is not None:
            out["shards"] = list(self.shards)
        return out


# One file as the extension exchanges it: (path bytes, size, digest, shard digests or None).
_RawEntry = tuple[bytes, int, str, Optional[list[str]]]


def _raw_entries(files: Iterable[FileEntry]) -> list[_RawEntry]:
    return [
        (encode_path(f.path), f.size, f.digest, None if f.shards is None else list(f.shards))
        for f in files
    ]


def _entry_dict(raw: _RawEntry) -> dict[str, Any]:
    path, size, digest, shards = raw
    out: dict[str, Any] = {"path": decode_path(path), "size": size, "digest": digest}
    if shards is not None:
        out["shards"] = list(shards)
    return out


class Manifest:
    """The files of a tree with their digests, and one root digest over them.

    Build one with :func:`manifest`; read one with :meth:`from_json` or :meth:`load`.
    Instances are immutable in practice (read-only properties, entries are frozen).

    Attributes
    ----------
    root : str
        ``"<algorithm>:<hex>"`` over the listed digests (OpenSSF Model Signing v1.0).
    files : list of FileEntry
        Every regular file, in canonical order (path components compared in turn).
    algorithm : str
        ``"sha256"`` or ``"blake3"``.
    shard_size : int or None
        Shard size in bytes (shards mode) or ``None`` (files mode).
    ignore : tuple of str
        The ignore patterns used (re-applied by :func:`verify`).
    follow_symlinks : bool
        Whether links leaving the tree were followed.

    JSON format (``to_json``)::

        {"schema": "mlsentry/manifest/v1", "algorithm": "sha256", "shard_size": null,
         "ignore": [], "follow_symlinks": false, "root": "sha256:...",
         "files": [{"path": "d0/f00", "size": 23, "digest": "sha256:..."}, ...]}

    In shards mode each file also has ``"shards": ["sha256:...", ...]``.
    """

    # Entries are kept as the extension's tuples (`_raw`) and become FileEntry objects only
    # when `files` is read: verifying 100,000 files never builds 200,000 objects.
    __slots__ = (
        "_algorithm",
        "_files",
        "_follow_symlinks",
        "_ignore",
        "_raw",
        "_root",
        "_shard_size",
    )

    schema: ClassVar[str] = MANIFEST_SCHEMA

    def __init__(
        self,
        *,
        root: str,
        files: Sequence[FileEntry],
        algorithm: str,
        shard_size: Optional[int] = None,
        ignore: Sequence[str] = (),
        follow_symlinks: bool = False,
    ) -> None:
        self._root = root
        self._files: Optional[tuple[FileEntry, ...]] = tuple(files)
        self._raw: Optional[list[_RawEntry]] = None
        self._algorithm = algorithm
        self._shard_size = shard_size
        self._ignore = tuple(ignore)
        self._follow_symlinks = bool(follow_symlinks)

    @classmethod
    def _from_raw(
        cls,
        raw: list[_RawEntry],
        *,
        root: str,
        algorithm: str,
        shard_size: Optional[int],
        ignore: Sequence[str],
        follow_symlinks: bool,
    ) -> Manifest:
        m = cls(
            root=root,
            files=(),
            algorithm=algorithm,
            shard_size=shard_size,
            ignore=ignore,
            follow_symlinks=follow_symlinks,
        )
        m._files, m._raw = None, raw
        return m

    def _entries(self) -> list[_RawEntry]:
        """The entries as (path bytes, size, digest, shards) tuples, in canonical order."""
        if self._raw is None:
            self._raw = _raw_entries(self._files or ())
        return self._raw

    @property
    def root(self) -> str:
        return self._root

    @property
    def files(self) -> list[FileEntry]:
        if self._files is None:
            self._files = tuple(
                FileEntry(decode_path(p), size, digest, None if shards is None else tuple(shards))
                for p, size, digest, shards in self._entries()
            )
        return list(self._files)

    @property
    def algorithm(self) -> str:
        return self._algorithm

    @property
    def shard_size(self) -> Optional[int]:
        return self._shard_size

    @property
    def ignore(self) -> tuple[str, ...]:
        return self._ignore

    @property
    def follow_symlinks(self) -> bool:
        return self._follow_symlinks

    def __len__(self) -> int:
        return len(self._files) if self._files is not None else len(self._entries())

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Manifest):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self._root)

    def __repr__(self) -> str:
        mode = "files" if self._shard_size is None else f"shards of {self._shard_size} B"
        return f"<Manifest {self._root} ({count_of(len(self), 'file')}, {mode})>"

    def to_dict(self) -> dict[str, Any]:
        """The manifest as JSON-ready data."""
        return {
            "schema": MANIFEST_SCHEMA,
            "algorithm": self._algorithm,
            "shard_size": self._shard_size,
            "ignore": list(self._ignore),
            "follow_symlinks": self._follow_symlinks,
            "root": self._root,
            "files": (
                [f.to_dict() for f in self._files]
                if self._files is not None
                else [_entry_dict(e) for e in self._entries()]
            ),
        }

    def to_json(self, indent: Optional[int] = 2) -> str:
        """The manifest as JSON text (ASCII; non-ASCII names as ``\\uXXXX`` escapes).

        Examples
        --------
        >>> from pathlib import Path
        >>> import mlsentry as ms
        >>> _ = Path("a.txt").write_bytes(b"abc")
        >>> m = ms.integrity.manifest("a.txt")
        >>> ms.integrity.Manifest.from_json(m.to_json()) == m
        True
        """
        return json.dumps(self.to_dict(), indent=indent, ensure_ascii=True)

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> Manifest:
        """Reads a manifest written by :meth:`to_json`, checking it strictly.

        Raises
        ------
        ManifestError
            Not JSON, not a manifest, missing or wrong-typed fields, malformed digests,
            unsafe or duplicate paths, shards that do not fit the sizes, or a root that
            does not match the listed digests (a hand edit).
        """
        try:
            data = json.loads(text)
        except (ValueError, TypeError) as e:
            raise ManifestError(f"invalid manifest: not JSON ({e})") from None
        return cls._from_dict(data)

    @classmethod
    def _from_dict(cls, data: Any) -> Manifest:
        def fail(msg: str) -> ManifestError:
            return ManifestError(f"invalid manifest: {msg}")

        if not isinstance(data, dict):
            raise fail(f"expected a JSON object, got {type(data).__name__}")
        if data.get("schema") != MANIFEST_SCHEMA:
            raise fail(f"schema is {data.get('schema')!r}, expected {MANIFEST_SCHEMA!r}")
        expected = {
            "schema",
            "algorithm",
            "shard_size",
            "ignore",
            "follow_symlinks",
            "root",
            "files",
        }
        missing = sorted(expected - data.keys())
        if missing:
            raise fail(f"missing field(s) {', '.join(missing)}")
        unknown = sorted(data.keys() - expected)
        if unknown:
            raise fail(f"unknown field(s) {', '.join(unknown)}")
        algorithm, shard_size = data["algorithm"], data["shard_size"]
        if algorithm not in _ALGORITHMS:
            raise fail(f"algorithm must be 'sha256' or 'blake3', got {algorithm!r}")
        if shard_size is not None and (
            isinstance(shard_size, bool)
            or not isinstance(shard_size, int)
            or not 0 < shard_size < 2**64
        ):
            raise fail(f"shard_size must be a positive integer or null, got {shard_size!r}")
        ignore = data["ignore"]
        if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
            raise fail("ignore must be a list of strings")
        if not isinstance(data["follow_symlinks"], bool):
            raise fail("follow_symlinks must be true or false")
        if not isinstance(data["root"], str):
            raise fail("root must be a string")
        files = data["files"]
        if not isinstance(files, list):
            raise fail("files must be a list")
        raw: list[_RawEntry] = []
        for i, f in enumerate(files):
            where = f"files[{i}]"
            if not isinstance(f, dict):
                raise fail(f"{where} must be an object")
            keys = {"path", "size", "digest"} | ({"shards"} if shard_size is not None else set())
            if set(f.keys()) != keys:
                raise fail(f"{where} must have exactly the fields {', '.join(sorted(keys))}")
            path, size, digest = f["path"], f["size"], f["digest"]
            if not isinstance(path, str):
                raise fail(f"{where}.path must be a string")
            where = f"{where} ({path!r})"
            try:
                encoded = encode_path(path)
            except UnicodeEncodeError:
                raise fail(
                    f"{where}: path holds a lone surrogate that is no escaped byte"
                ) from None
            if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size < 2**64:
                raise fail(f"{where}.size must be a non-negative integer")
            if not isinstance(digest, str):
                raise fail(f"{where}.digest must be a string")
            shards = None
            if shard_size is not None:
                shards = f["shards"]
                if not isinstance(shards, list) or not all(isinstance(s, str) for s in shards):
                    raise fail(f"{where}.shards must be a list of strings")
                shards = list(shards)  # a copy: the caller's list is not kept
            raw.append((encoded, size, digest, shards))
        # Digests, paths, duplicates, shards and root are checked once, in Rust.
        order = _core.check_manifest(algorithm, shard_size, raw, data["root"])
        return cls._from_raw(
            [raw[i] for i in order],
            root=data["root"],
            algorithm=algorithm,
            shard_size=shard_size,
            ignore=ignore,
            follow_symlinks=data["follow_symlinks"],
        )

    def save(self, path: PathArg) -> None:
        """Writes :meth:`to_json` to ``path``.

        Examples
        --------
        >>> from pathlib import Path
        >>> import mlsentry as ms
        >>> _ = Path("a.txt").write_bytes(b"abc")
        >>> m = ms.integrity.manifest("a.txt")
        >>> m.save("a.manifest.json")
        >>> ms.integrity.Manifest.load("a.manifest.json").root == m.root
        True
        """
        with open(path, "w", encoding="ascii") as fh:
            fh.write(self.to_json())
            fh.write("\n")

    @classmethod
    def load(cls, path: PathArg) -> Manifest:
        """Reads and checks a manifest saved with :meth:`save` (see :meth:`from_json`)."""
        raw = path_bytes(path)  # never an int: open(3) would read file descriptor 3
        try:
            with open(raw, "rb") as fh:
                data = fh.read()
        except FileNotFoundError as e:
            raise PathNotFoundError(e.errno, e.strerror, e.filename) from None
        except PermissionError as e:
            raise FilePermissionError(e.errno, e.strerror, e.filename) from None
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ManifestError(
                f"invalid manifest: {os.fsdecode(path)!r} is not UTF-8 text"
            ) from None
        return cls.from_json(text)


def _build(
    path: PathArg,
    algorithm: str,
    shard_size: Optional[int],
    ignore: tuple[str, ...],
    follow_symlinks: bool,
    progress: ProgressArg,
    desc: str,
) -> Manifest:
    raw = path_bytes(path)
    with progress_callback(progress, desc, unit="B") as cb:
        root, entries = _core.build_manifest(
            raw, algorithm, shard_size, list(ignore), bool(follow_symlinks), cb
        )
    return Manifest._from_raw(
        entries,
        root=root,
        algorithm=algorithm,
        shard_size=shard_size,
        ignore=ignore,
        follow_symlinks=follow_symlinks,
    )


def manifest(
    path: PathArg,
    algorithm: str = "sha256",
    shard_size: Optional[int] = DEFAULT_SHARD_SIZE,
    ignore: Iterable[str] = (),
    follow_symlinks: bool = False,
    *,
    progress: ProgressArg = False,
) -> Manifest:
    """The manifest of a file or a folder: every regular file, its size and digest.

    Files, and the shards of large files, are hashed in parallel in Rust. The ``root``
    follows the OpenSSF Model Signing v1.0 definition: with SHA-256 it equals the root
    the ``model-signing`` package computes for the same folder in the same mode (shards
    mode, the default: ``Config().use_shard_serialization(shard_size=...).hash(folder)``;
    files mode: ``Config().hash(folder)``).

    Parameters
    ----------
    path : str, bytes or os.PathLike
        A folder, or a single file (listed under its own name).
    algorithm : {"sha256", "blake3"}
        The hash function for files, shards and root.
    shard_size : int or None
        Shards mode (the default, :data:`DEFAULT_SHARD_SIZE` = 64 MiB): each file is cut
        into shards of this many bytes, all hashed in parallel, so one huge file uses every
        core; a file of one shard has its content's digest, a larger one the digest of its
        shard digests (kept in its entry). ``None``: files mode, one digest per file (one
        core per file: a single large file is hashed at the speed of one core).
    ignore : iterable of str
        Glob patterns on the relative POSIX path: ``*`` (not ``/``), ``**`` (anything),
        ``?``, ``[...]``. A pattern without ``/`` matches a name at any depth
        (``"*.tmp"``); a leading ``/`` anchors it at the top (``"/model.sig"``), as in
        ``.gitignore``; a matching folder is skipped whole (``".git"``, ``".git/**"``).
    follow_symlinks : bool
        ``False``: a symbolic link inside the tree is hashed as its target's content and
        a link leaving the tree raises :class:`~mlsentry.errors.UnsafePathError`.
        ``True``: every link is followed. Link loops always raise.
    progress : bool or callable, optional
        ``True`` shows a tqdm bar; a callable receives ``(bytes_done, bytes_total)``.

    Returns
    -------
    Manifest
        Files in canonical order (path components compared in turn, as
        ``pathlib.PurePosixPath`` orders them). Empty folders do not appear.

    Raises
    ------
    PathNotFoundError, FilePermissionError, FileAccessError
        A path cannot be read (``.filename`` names it).
    UnsafePathError
        A FIFO, device or socket (never opened), a link loop, a broken link, or a link
        leaving the tree without ``follow_symlinks``.
    FileChangedError
        A file changed while it was hashed.

    Examples
    --------
    >>> import os
    >>> from pathlib import Path
    >>> import mlsentry as ms
    >>> os.makedirs("model/sub")
    >>> _ = Path("model/config.json").write_bytes(b"{}")
    >>> _ = Path("model/sub/weights.bin").write_bytes(b"abc")
    >>> m = ms.integrity.manifest("model")
    >>> [f.path for f in m.files]
    ['config.json', 'sub/weights.bin']
    >>> m.files[1].digest
    'sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    >>> m.root
    'sha256:...'
    >>> len(ms.integrity.manifest("model", shard_size=2).files[1].shards)
    2
    >>> ms.integrity.manifest("model", shard_size=None).files[1].shards is None  # files mode
    True
    """
    return _build(
        path,
        _check_algorithm(algorithm),
        _check_shard_size(shard_size),
        check_ignore(ignore),
        bool(follow_symlinks),
        progress,
        "manifest",
    )
