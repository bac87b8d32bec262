"""The exception tree of mlsentry.

Every exception the package raises on purpose derives from :class:`MlsentryError`, so
``except mlsentry.MlsentryError`` catches them all. Where an error refines a built-in
meaning it inherits that built-in too (a bad argument is also a ``ValueError``, an
unreadable file also an ``OSError``), so generic handlers keep working.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "MlsentryWarning",
    "UnsignedWarning",
    "MissingDependencyError",
    "FileAccessError",
    "FileChangedError",
    "FilePermissionError",
    "IntegrityError",
    "InvalidInputError",
    "InvalidTypeError",
    "KeyFormatError",
    "ManifestError",
    "MlsentryError",
    "ModelError",
    "PathNotFoundError",
    "ScanError",
    "SignatureError",
    "UnsafePathError",
]


class MlsentryError(Exception):
    """Base class of every mlsentry exception."""


class InvalidInputError(MlsentryError, ValueError):
    """An argument or input has a value mlsentry cannot use."""


class InvalidTypeError(MlsentryError, TypeError):
    """An argument or input has a type mlsentry cannot use."""


class FileAccessError(MlsentryError, OSError):
    """The operating system refused to read a file or folder (``.filename`` names it)."""


class PathNotFoundError(FileAccessError, FileNotFoundError):
    """A path does not exist."""


class FilePermissionError(FileAccessError, PermissionError):
    """A path exists but may not be read."""


class UnsafePathError(MlsentryError, ValueError):
    """A path that is not hashed: a FIFO or device, a symlink loop, a link leaving the tree."""


class IntegrityError(MlsentryError):
    """Data or a model is not the one that was recorded."""


class FileChangedError(IntegrityError):
    """A file changed while it was being hashed, so no digest of it can be trusted."""


class ManifestError(IntegrityError, ValueError):
    """A manifest is malformed (edited by hand, truncated, or not a manifest)."""


class SignatureError(IntegrityError):
    """A signature does not verify."""


class KeyFormatError(MlsentryError, ValueError):
    """A key that cannot be used: malformed or truncated PEM, an unsupported key type, or a
    wrong passphrase."""


class ModelError(MlsentryError):
    """The model under test misbehaved: it raised, returned scores of the wrong shape or
    with NaN, labels outside the classes, or different answers for the same input."""


class ScanError(MlsentryError):
    """A model file could not be scanned."""


class MlsentryWarning(UserWarning):
    """Base class of every warning mlsentry issues (``-W error::mlsentry.MlsentryWarning``
    turns them all into errors)."""


class UnsignedWarning(MlsentryWarning):
    """A check passed against a record that nothing vouches for: a manifest stored with the
    files it describes detects accidental changes, not someone who can write both."""


class MissingDependencyError(MlsentryError, ImportError):
    """An optional library that a feature needs is not installed; the message names the
    extra that installs it (``pip install 'mlsentry[mlflow]'``)."""


def require(module: str, extra: str, feature: str) -> Any:
    """Import ``module`` for ``feature``, or raise :class:`MissingDependencyError` naming
    the extra that installs it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise MissingDependencyError(
            f"{feature} needs {module.split('.')[0]}, which is not installed: "
            f"pip install 'mlsentry[{extra}]'"
        ) from e
