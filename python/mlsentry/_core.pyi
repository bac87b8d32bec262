"""Stub of the native module ``mlsentry._core`` (checked by ``mypy.stubtest`` in ``make lint``).

The native module is private: use the public functions of ``mlsentry`` and its submodules.
"""

__version__: str

def num_threads() -> int:
    """Worker threads the next parallel call will use (``MLSENTRY_NUM_THREADS``; 0 = all cores)."""

# --- integrity: files and manifests (src/py/integrity.rs) ---

from collections.abc import Callable  # noqa: E402
from typing import Optional  # noqa: E402

_Callback = Optional[Callable[[int, int], object]]
_RawEntry = tuple[bytes, int, str, Optional[list[str]]]

def hash_file(path: bytes, algorithm: str, callback: _Callback = None) -> str:
    """The digest of the whole file at ``path`` (``"sha256:<hex>"``), hashed without the GIL."""

def build_manifest(
    path: bytes,
    algorithm: str,
    shard_size: Optional[int],
    ignore: list[str],
    follow_symlinks: bool,
    callback: _Callback = None,
) -> tuple[str, list[_RawEntry]]:
    """The manifest of a file or folder: ``(root, [(path, size, digest, shards), ...])`` in
    canonical order."""

def check_manifest(
    algorithm: str, shard_size: Optional[int], entries: list[_RawEntry], root: str
) -> list[int]:
    """Checks a stored manifest's content (digests, paths, shards, root) and returns the
    permutation that puts its entries in canonical order; raises ``ManifestError``."""

# --- integrity: fingerprints (src/py/fingerprint.rs) ---
