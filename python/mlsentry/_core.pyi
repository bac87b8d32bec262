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

from collections.abc import Callable as _Callable  # noqa: E402
from typing import Any, final  # noqa: E402

@final
class ObjectColumn:
    """The values of an object column, converted to owned canonical data."""

    @property
    def tag(self) -> str:
        """The logical type of the values: "string", "binary", "mixed" or "null"."""

    def __len__(self) -> int: ...

def fingerprint_objects(
    values: Any, nulls: tuple[object, ...], what: str, expect: str | None = None
) -> ObjectColumn:
    """Converts a 1-D numpy object array (str, bytes, int, float, bool, None, NaN and the given
    null sentinels) into an `ObjectColumn`. `expect="string"` requires str or missing values."""

def fingerprint_frame(
    preamble: bytes,
    columns: list[tuple[Any, ...]],
    n_rows: int,
    row_order: bool,
    progress: _Callable[[int, int], object] | None = None,
) -> str:
    """The digest of a frame built by `mlsentry._fingerprint`, as `"sha256:<hex>"`.

    `columns` holds tuples `(header, pieces, canon, unit, big_endian, nullable,
    items_per_row, chunk_items)`; a piece is `("fixed", words, item_bytes, validity)`,
    `("var", offsets, data, validity)`, `("objects", ObjectColumn)` or `("null", n)`."""
