"""Keys, DSSE envelopes and in-toto statements.

``sign(subject, key)`` wraps a :class:`~mlsentry.integrity.Manifest`, any
:class:`~mlsentry.report.Report`, or a plain dict in an in-toto Statement v1 and signs it
in a DSSE envelope (payload type ``application/vnd.in-toto+json``). The signature covers
the DSSE pre-authentication encoding of the payload type and the exact payload bytes, so
changing either, or the signature, makes :func:`verify_envelope` raise
:class:`~mlsentry.errors.SignatureError`.

Predicate types: ``https://mlsentry.dev/manifest/v1`` for manifests,
``https://mlsentry.dev/<report schema without the "mlsentry/" prefix>`` for reports (for
example ``https://mlsentry.dev/verify-report/v1``), ``https://mlsentry.dev/document/v1``
for dicts.
"""

from __future__ import annotations

import hashlib
import json
import math
import numbers
import os
from collections.abc import Mapping
from typing import Any, Optional, Union

from .. import _core
from ..errors import InvalidInputError, InvalidTypeError, KeyFormatError, SignatureError
from ..report import Report
from .manifests import Manifest

__all__ = [
    "INTOTO_PAYLOAD_TYPE",
    "Envelope",
    "PublicKey",
    "SigningKey",
    "sign",
    "sign_statement",
    "statement_for",
    "verify_envelope",
]

INTOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_PREFIX = "https://mlsentry.dev/"
PathArg = Union[str, "os.PathLike[str]"]


def _passphrase(passphrase: Union[str, bytes, None]) -> Optional[bytes]:
    if passphrase is None or isinstance(passphrase, bytes):
        return passphrase
    if isinstance(passphrase, str):
        return passphrase.encode("utf-8")
    raise InvalidTypeError(f"passphrase: expected str or bytes, got {type(passphrase).__name__}")


def _read_text(path: PathArg, what: str) -> str:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except UnicodeDecodeError:
        raise KeyFormatError(f"{what} {os.fspath(path)!r} is not a PEM text file") from None


def _write_private(path: PathArg, text: str) -> None:
    """Write ``text`` to a new file readable by its owner only (mode 0600)."""
    p = os.fspath(path)
    fd = os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # also when the file existed with wider permissions
        os.write(fd, text.encode("ascii"))
    finally:
        os.close(fd)


class PublicKey:
    """A public verification key (Ed25519, or ECDSA P-256, P-384 or P-521), stored as SPKI PEM.

    ``key_id`` is the hex SHA-256 of the key's DER encoding: stable across PEM formatting.
    """

    __slots__ = ("_native",)

    def __init__(self, native: _core.PublicKey) -> None:
        self._native = native

    @classmethod
    def from_pem(cls, pem: Union[str, bytes]) -> PublicKey:
        text = pem.decode("ascii", "replace") if isinstance(pem, bytes) else pem
        return cls(_core.PublicKey.from_pem(text))

    @classmethod
    def load(cls, path: PathArg) -> PublicKey:
        return cls.from_pem(_read_text(path, "public key"))

    def to_pem(self) -> str:
        return self._native.to_pem()

    def save(self, path: PathArg) -> None:
        with open(path, "w", encoding="ascii") as fh:
            fh.write(self.to_pem())

    @property
    def algorithm(self) -> str:
        return self._native.algorithm

    @property
    def key_id(self) -> str:
        return self._native.key_id

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether ``signature`` is this key's signature of ``message``."""
        return self._native.verify(message, signature)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PublicKey) and self.key_id == other.key_id

    def __hash__(self) -> int:
        return hash(self.key_id)

    def __repr__(self) -> str:
        return f"PublicKey({self.algorithm}, key_id={self.key_id[:16]}...)"


class SigningKey:
    """A private signing key: Ed25519 (default), or ECDSA on P-256, P-384 or P-521.

    Examples
    --------
    >>> key = SigningKey.generate()
    >>> key.save("signer.pem")                      # PKCS#8 PEM, file mode 0600
    >>> SigningKey.load("signer.pem").public_key == key.public_key
    True
    """

    __slots__ = ("_native",)

    def __init__(self, native: _core.SigningKey) -> None:
        self._native = native

    @classmethod
    def generate(cls, algorithm: str = "ed25519") -> SigningKey:
        """A new random key; ``algorithm`` is ``"ed25519"``, ``"ecdsa-p256"``,
        ``"ecdsa-p384"`` or ``"ecdsa-p521"``."""
        return cls(_core.SigningKey.generate(algorithm))

    @classmethod
    def from_pem(
        cls, pem: Union[str, bytes], passphrase: Union[str, bytes, None] = None
    ) -> SigningKey:
        text = pem.decode("ascii", "replace") if isinstance(pem, bytes) else pem
        return cls(_core.SigningKey.from_pem(text, _passphrase(passphrase)))

    @classmethod
    def load(cls, path: PathArg, passphrase: Union[str, bytes, None] = None) -> SigningKey:
        """Read a PKCS#8 PEM private key (encrypted ones need ``passphrase``)."""
        return cls.from_pem(_read_text(path, "private key"), passphrase)

    def to_pem(self, passphrase: Union[str, bytes, None] = None) -> str:
        return self._native.to_pem(_passphrase(passphrase))

    def save(self, path: PathArg, passphrase: Union[str, bytes, None] = None) -> None:
        """Write the key as PKCS#8 PEM with file mode 0600, encrypted with ``passphrase``."""
        _write_private(path, self.to_pem(passphrase))

    @property
    def algorithm(self) -> str:
        return self._native.algorithm

    @property
    def public_key(self) -> PublicKey:
        return PublicKey(self._native.public_key())

    @property
    def key_id(self) -> str:
        return self.public_key.key_id

    def sign(self, message: bytes) -> bytes:
        """Sign raw bytes (Ed25519: 64 bytes; ECDSA: DER, over SHA-256, SHA-384 or SHA-512
        for P-256, P-384 or P-521)."""
        return self._native.sign(message)

    def __repr__(self) -> str:
        return f"SigningKey({self.algorithm}, key_id={self.key_id[:16]}...)"


class Envelope(dict):  # type: ignore[type-arg]
    """A DSSE envelope: a dict with ``payloadType``, ``payload`` (base64) and ``signatures``."""

    def to_json(self, indent: Optional[int] = None) -> str:
        return json.dumps(dict(self), indent=indent)

    @classmethod
    def from_json(cls, text: Union[str, bytes]) -> Envelope:
        try:
            data = json.loads(text)
        except (ValueError, UnicodeDecodeError) as e:
            raise SignatureError(f"not a DSSE envelope: invalid JSON ({e})") from None
        if not isinstance(data, dict) or not {"payloadType", "payload", "signatures"} <= set(data):
            raise SignatureError(
                "not a DSSE envelope: expected an object with payloadType, payload, signatures"
            )
        return cls(data)

    @classmethod
    def load(cls, path: PathArg) -> Envelope:
        with open(path, "rb") as fh:
            return cls.from_json(fh.read())

    def save(self, path: PathArg) -> None:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(self.to_json(indent=2))

    @property
    def payload_type(self) -> str:
        return str(self["payloadType"])


def plain_json(value: Any, where: str, *, exact_ints: bool = False) -> Any:
    """``value`` as plain JSON data, or an error that names where it is not JSON.

    What is signed or logged must read back as what was meant, so only JSON is accepted:
    strings, booleans, None, finite numbers, lists and dicts with string keys. NumPy
    scalars become Python numbers; anything else (bytes, objects, NaN, infinities) is
    refused rather than turned into text. ``exact_ints`` (the audit log, whose Rust core
    keeps 64-bit integers) also refuses integers outside the 64-bit range, which would come
    back as rounded floats and no longer verify.
    """
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, numbers.Integral):
        n = int(value)
        if exact_ints and not -(2**63) <= n < 2**64:
            raise InvalidInputError(
                f"{where}: the integer {n} is outside the 64-bit range an audit log keeps "
                "exactly; store it as a string"
            )
        return n
    if isinstance(value, numbers.Real):
        x = float(value)
        if not math.isfinite(x):
            raise InvalidInputError(f"{where}: {x} is not JSON (only finite numbers are)")
        return x
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidInputError(
                    f"{where}: keys must be strings, got {type(key).__name__} {key!r}"
                )
            out[key] = plain_json(item, f"{where}[{key!r}]", exact_ints=exact_ints)
        return out
    if isinstance(value, (list, tuple)):
        items = enumerate(value)
        return [plain_json(item, f"{where}[{i}]", exact_ints=exact_ints) for i, item in items]
    raise InvalidInputError(
        f"{where}: a {type(value).__name__} is not JSON; use str, int, float, bool, None, "
        "lists and dicts (convert it yourself, e.g. to a string, so that the log records "
        "what you mean)"
    )


def _canonical(obj: Any) -> bytes:
    """Sorted keys, no spaces, strict JSON (see :func:`plain_json`)."""
    plain = plain_json(obj, "subject")
    text = json.dumps(plain, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return text.encode()


def _digest_field(digest: str) -> dict[str, str]:
    algo, _, hexdigest = digest.partition(":")
    if not hexdigest:
        raise InvalidInputError(f"expected a digest like 'sha256:<hex>', got {digest!r}")
    return {algo: hexdigest}


def statement_for(subject: Any, name: Optional[str] = None) -> dict[str, Any]:
    """The in-toto Statement v1 that :func:`sign` signs for ``subject``."""
    if isinstance(subject, Manifest):
        return {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": name or "manifest", "digest": _digest_field(subject.root)}],
            "predicateType": PREDICATE_PREFIX + "manifest/v1",
            "predicate": subject.to_dict(),
        }
    if isinstance(subject, Report):
        inputs = subject.inputs or {}
        subjects = [{"name": k, "digest": _digest_field(v)} for k, v in sorted(inputs.items())]
        if name is not None or not subjects:
            body = hashlib.sha256(_canonical(subject.to_dict())).hexdigest()
            subjects.insert(0, {"name": name or "report", "digest": {"sha256": body}})
        schema = subject.schema.removeprefix("mlsentry/")
        return {
            "_type": STATEMENT_TYPE,
            "subject": subjects,
            "predicateType": PREDICATE_PREFIX + schema,
            "predicate": subject.to_dict(),
        }
    if isinstance(subject, Mapping):
        data = dict(subject)
        return {
            "_type": STATEMENT_TYPE,
            "subject": [
                {
                    "name": name or "document",
                    "digest": {"sha256": hashlib.sha256(_canonical(data)).hexdigest()},
                }
            ],
            "predicateType": PREDICATE_PREFIX + "document/v1",
            "predicate": data,
        }
    raise InvalidTypeError(
        f"subject: expected a Manifest, a Report or a dict, got {type(subject).__name__}"
    )


def sign(subject: Any, key: SigningKey, *, name: Optional[str] = None) -> Envelope:
    """Sign a manifest, a report or a dict as an in-toto statement in a DSSE envelope.

    Parameters
    ----------
    subject : Manifest, Report or dict
        What is vouched for.
    key : SigningKey
        The signer's private key.
    name : str, optional
        The statement's subject name (for a manifest, typically the model's name).

    Returns
    -------
    Envelope
        The DSSE envelope (a dict; ``.to_json()``, ``.save(path)``).

    Examples
    --------
    >>> key = SigningKey.generate()
    >>> env = sign({"model": "demo", "accuracy": 0.93}, key)
    >>> verify_envelope(env, key.public_key)["predicate"]["accuracy"]
    0.93
    """
    if not isinstance(key, SigningKey):
        raise InvalidTypeError(f"key: expected a SigningKey, got {type(key).__name__}")
    payload = _canonical(statement_for(subject, name))
    return Envelope(json.loads(_core.dsse_sign(INTOTO_PAYLOAD_TYPE, payload, key._native)))


def sign_statement(statement: Mapping[str, Any], key: SigningKey) -> Envelope:
    """Sign an in-toto Statement v1 made by the caller (its own subjects and predicate)
    in a DSSE envelope, as :func:`sign` does for the statements it makes.

    Examples
    --------
    >>> key = SigningKey.generate()
    >>> statement = {"_type": "https://in-toto.io/Statement/v1",
    ...              "subject": [{"name": "a.txt", "digest": {"sha256": "00" * 32}}],
    ...              "predicateType": "https://example.org/p/v1", "predicate": {}}
    >>> verify_envelope(sign_statement(statement, key), key.public_key)["subject"][0]["name"]
    'a.txt'
    """
    if not isinstance(key, SigningKey):
        raise InvalidTypeError(f"key: expected a SigningKey, got {type(key).__name__}")
    if not isinstance(statement, Mapping) or statement.get("_type") != STATEMENT_TYPE:
        raise InvalidInputError(f"statement: expected an in-toto Statement v1 ({STATEMENT_TYPE})")
    payload = _canonical(dict(statement))
    return Envelope(json.loads(_core.dsse_sign(INTOTO_PAYLOAD_TYPE, payload, key._native)))


def verify_envelope(
    envelope: Union[Envelope, Mapping[str, Any], str, bytes],
    public_key: PublicKey,
    *,
    expected_type: str = INTOTO_PAYLOAD_TYPE,
) -> dict[str, Any]:
    """Check a DSSE envelope's signature and return the statement it carries.

    Parameters
    ----------
    envelope : Envelope, dict or JSON text
        The envelope to check.
    public_key : PublicKey
        The key that must have signed it.
    expected_type : str
        The payload type the envelope must declare (in-toto by default).

    Returns
    -------
    dict
        The signed statement (for in-toto: ``_type``, ``subject``, ``predicateType``,
        ``predicate``).

    Raises
    ------
    SignatureError
        No signature verifies, the payload type differs, or the envelope is malformed.

    Examples
    --------
    >>> key = SigningKey.generate("ecdsa-p256")
    >>> env = sign({"a": 1}, key)
    >>> verify_envelope(env, key.public_key)["predicateType"]
    'https://mlsentry.dev/document/v1'
    """
    if not isinstance(public_key, PublicKey):
        raise InvalidTypeError(f"public_key: expected a PublicKey, got {type(public_key).__name__}")
    if isinstance(envelope, (str, bytes)):
        envelope = Envelope.from_json(envelope)
    text = json.dumps(dict(envelope))
    payload = _core.dsse_verify(text, public_key._native, expected_type)
    try:
        statement = json.loads(payload)
    except ValueError as e:
        raise SignatureError(f"the signed payload is not JSON ({e})") from None
    if expected_type == INTOTO_PAYLOAD_TYPE and (
        not isinstance(statement, dict) or statement.get("_type") != STATEMENT_TYPE
    ):
        raise SignatureError("the signed payload is not an in-toto Statement v1")
    return statement  # type: ignore[no-any-return]
