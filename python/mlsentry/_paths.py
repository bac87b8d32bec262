"""Paths as the package keeps them: file names that are not valid UTF-8 survive exactly.

A path from the operating system is bytes; in reports and manifests it is a ``str``
decoded with ``surrogateescape`` (``b"\\xff.bin"`` becomes ``"\\udcff.bin"``), which
encodes back to the same bytes. For people (HTML, messages, JSON that must be valid
text) the undecodable bytes are shown as ``\\xNN``.
"""

from __future__ import annotations

import os
from typing import Any, Union

from .errors import InvalidTypeError

PathArg = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def path_bytes(path: Any, what: str = "path") -> bytes:
    """``path`` as the bytes the operating system uses, or a clear error naming ``what``."""
    try:
        return os.fsencode(path)
    except TypeError:
        raise InvalidTypeError(
            f"{what}: expected a str, bytes or os.PathLike path, got {type(path).__name__}"
        ) from None


def decode_path(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


def encode_path(path: str) -> bytes:
    return path.encode("utf-8", "surrogateescape")


def show_path(path: str) -> str:
    """A path for reports: non-UTF-8 bytes as ``\\xNN`` (JSON and HTML need valid text)."""
    return encode_path(path).decode("utf-8", "backslashreplace")
