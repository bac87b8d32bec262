"""Stub of the native module ``mlsentry._core`` (checked by ``mypy.stubtest`` in ``make lint``).

The native module is private: use the public functions of ``mlsentry`` and its submodules.
"""

__version__: str

def num_threads() -> int:
    """Worker threads the next parallel call will use (``MLSENTRY_NUM_THREADS``; 0 = all cores)."""

# --- integrity: files and manifests (src/py/integrity.rs) ---

# --- integrity: fingerprints (src/py/fingerprint.rs) ---
