"""Integrity: prove that a dataset or a model is exactly the one that was validated.

Files and folders
-----------------
:func:`hash_file` gives the standard digest of one file. :func:`manifest` lists every
regular file of a folder with its size and digest plus one ``root`` digest, and
:func:`verify` re-hashes a folder against a manifest and reports what was added, removed
or modified. Hashing runs in Rust, in parallel, without the GIL, and can be interrupted
with Ctrl-C.

The root follows the OpenSSF Model Signing v1.0 definition (the ``model-signing``
package): the digest of the concatenation of the raw file digests (shards mode: shard
digests), ordered by relative POSIX path compared component by component. With SHA-256
it equals the root ``model_signing`` computes for the same folder.

Paths in a manifest are relative, ``/``-separated ``str``. A file name that is not valid
UTF-8 is kept exactly with Python's ``surrogateescape`` decoding (``b"\\xff.bin"`` becomes
``"\\udcff.bin"``), and the JSON text is ASCII with ``\\uXXXX`` escapes, so every name
round-trips byte for byte; Unicode names are never normalised (NFC and NFD stay distinct).
"""

from typing import TYPE_CHECKING, Any

from .audit import AUDIT_LOG_ENV, AuditLog, AuditVerifyReport, LogEntry, record_check
from .manifests import DEFAULT_SHARD_SIZE, FileEntry, Manifest, hash_file, manifest
from .signing import Envelope, PublicKey, SigningKey, sign, sign_statement, verify_envelope
from .verification import ModifiedFile, SignatureCheck, VerifyReport, verify

if TYPE_CHECKING:
    from .fingerprints import fingerprint
    from .model_signing import sign_model, verify_model

__all__ = [
    "AUDIT_LOG_ENV",
    "DEFAULT_SHARD_SIZE",
    "AuditLog",
    "AuditVerifyReport",
    "Envelope",
    "FileEntry",
    "LogEntry",
    "Manifest",
    "ModifiedFile",
    "PublicKey",
    "SignatureCheck",
    "SigningKey",
    "VerifyReport",
    "fingerprint",
    "hash_file",
    "manifest",
    "record_check",
    "sign",
    "sign_model",
    "sign_statement",
    "verify",
    "verify_envelope",
    "verify_model",
]


def __getattr__(name: str) -> Any:
    # Loaded on first use, so that hashing and signing folders (the command line) start
    # without them: the fingerprint needs numpy, and the Model Signing format its own
    # parsing (about 10 ms of imports a DSSE `mlsentry sign` does not need).
    if name == "fingerprint":
        from .fingerprints import fingerprint

        globals()["fingerprint"] = fingerprint
        return fingerprint
    if name in ("_row_digest_run", "_multiset_fingerprint"):  # for mlsentry.spark
        from . import fingerprints

        return getattr(fingerprints, name)
    if name in ("sign_model", "verify_model"):
        from . import model_signing

        value = getattr(model_signing, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mlsentry.integrity' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
