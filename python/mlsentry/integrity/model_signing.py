"""OpenSSF Model Signing interop: sign and verify model folders with an ECDSA key.

:func:`sign_model` writes the Sigstore bundle that the ``model-signing`` package (v1.x)
verifies with its *key* method (``model_signing verify key``), and :func:`verify_model`
checks a bundle that ``model-signing`` produced with an elliptic-curve private key. The
bundle is written and read as plain JSON here: no ``model_signing``, ``sigstore``,
``cryptography`` or protobuf at run time. Hashing goes through
:func:`mlsentry.integrity.manifest`, whose per-file and per-shard digests and root are
those of ``model-signing``.

Bundle format (the protobuf JSON field names, as ``model-signing`` writes them)::

    {"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json",
     "verificationMaterial": {"publicKey": {"hint": "<sha256 hex of the SPKI PEM>"},
                              "tlogEntries": []},
     "dsseEnvelope": {"payload": "<base64 in-toto statement>",
                      "payloadType": "application/vnd.in-toto+json",
                      "signatures": [{"sig": "<base64 DER ECDSA>", "keyid": ""}]}}

The signature is ECDSA over the DSSE v1 pre-authentication encoding of the payload, on
P-256, P-384 or P-521 with SHA-256, SHA-384 or SHA-512 (the curves and digests
``model-signing`` pairs). The statement (``https://in-toto.io/Statement/v1``, predicate type
``https://model_signing/signature/v1.0``) has one subject, named after the folder, whose
``sha256`` digest is the SHA-256 of the concatenated raw resource digests in predicate
order; the predicate holds the ``serialization`` parameters and the ``resources``
(``{"name", "algorithm", "digest"}`` per file, or per shard named ``path:start:end``).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import pathlib
import posixpath
from collections.abc import Iterable
from typing import Any, Optional, Union

from .. import _core
from ..errors import (
    InvalidInputError,
    InvalidTypeError,
    KeyFormatError,
    MlsentryError,
    PathNotFoundError,
    SignatureError,
)
from .manifests import exact_pattern, manifest, path_inside
from .signing import INTOTO_PAYLOAD_TYPE, STATEMENT_TYPE, PublicKey, SigningKey
from .verification import ModifiedFile, SignatureCheck, VerifyReport

__all__ = ["BUNDLE_MEDIA_TYPE", "PREDICATE_TYPE", "sign_model", "verify_model"]

BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
DEFAULT_SIGNATURE_NAME = "model.sig"
#: The key types of Model Signing's key method: the curves ``model-signing`` accepts.
EC_ALGORITHMS = ("ecdsa-p256", "ecdsa-p384", "ecdsa-p521")
# model-signing leaves these out of the hashed set by default, when signing and always
# when verifying through its Python API (paths relative to the model folder).
GIT_PATHS = (".git", ".gitattributes", ".github", ".gitignore")

PathArg = Union[str, "os.PathLike[str]"]


# ---------------------------------------------------------------------------------------
# Keys


def _signing_key(key: Any, passphrase: Union[str, bytes, None]) -> SigningKey:
    if isinstance(key, SigningKey):
        sk = key
    elif isinstance(key, (str, bytes)) and _looks_like_pem(key):
        sk = SigningKey.from_pem(key, passphrase)
    elif isinstance(key, (str, os.PathLike)):
        sk = SigningKey.load(key, passphrase)
    else:
        raise InvalidTypeError(
            f"key: expected a SigningKey or the path of a PEM private key, got {type(key).__name__}"
        )
    if sk.algorithm not in EC_ALGORITHMS:
        raise KeyFormatError(
            f"Model Signing's key method accepts only elliptic-curve (ECDSA) keys, got a "
            f'{sk.algorithm} key; create one with SigningKey.generate("ecdsa-p256") '
            "(or `mlsentry keygen --algorithm ecdsa-p256`)"
        )
    return sk


def _public_key(public_key: Any) -> PublicKey:
    if isinstance(public_key, PublicKey):
        pk = public_key
    elif isinstance(public_key, SigningKey):
        pk = public_key.public_key
    elif isinstance(public_key, (str, bytes)) and _looks_like_pem(public_key):
        pk = PublicKey.from_pem(public_key)
    elif isinstance(public_key, (str, os.PathLike)):
        pk = PublicKey.load(public_key)
    else:
        raise InvalidTypeError(
            "public_key: expected a PublicKey or the path of a PEM public key, got "
            f"{type(public_key).__name__}"
        )
    if pk.algorithm not in EC_ALGORITHMS:
        raise KeyFormatError(
            f"Model Signing's key method uses elliptic-curve (ECDSA) keys, got a "
            f"{pk.algorithm} public key"
        )
    return pk


def _looks_like_pem(value: Union[str, bytes]) -> bool:
    head = value[:64]
    return (b"-----BEGIN" in head) if isinstance(head, bytes) else ("-----BEGIN" in head)


def key_hint(public_key: PublicKey) -> str:
    """The ``publicKey.hint`` of a bundle: SHA-256 (hex) of the key's SPKI PEM.

    The PEM is rebuilt from the DER exactly as ``cryptography`` writes it (64-character
    base64 lines, trailing newline), so the hint does not depend on how the key file was
    formatted.
    """
    lines = [
        ln.strip()
        for ln in public_key.to_pem().strip().splitlines()
        if ln.strip() and not ln.startswith("-----")
    ]
    try:
        der = base64.b64decode("".join(lines), validate=True)
    except (binascii.Error, ValueError):  # pragma: no cover - our own PEM
        raise KeyFormatError("public key: cannot read its PEM body") from None
    b64 = base64.b64encode(der).decode("ascii")
    body = "".join(b64[i : i + 64] + "\n" for i in range(0, len(b64), 64))
    pem = f"-----BEGIN PUBLIC KEY-----\n{body}-----END PUBLIC KEY-----\n"
    return hashlib.sha256(pem.encode("ascii")).hexdigest()


# ---------------------------------------------------------------------------------------
# Paths and hashing


def _ignore_paths(root: str, ignore: Optional[Iterable[Any]]) -> list[str]:
    """Normalise ``ignore`` into POSIX paths relative to the model folder."""
    if ignore is None:
        return []
    if isinstance(ignore, (str, bytes, os.PathLike)):
        ignore = [ignore]
    out = []
    for p in ignore:
        if not isinstance(p, (str, os.PathLike)):
            raise InvalidTypeError(f"ignore: expected str or os.PathLike paths, got {p!r}")
        s = os.fspath(p)
        if os.path.isabs(s):
            rel = path_inside(root, s)
            if rel is None:
                raise InvalidInputError(f"ignore: {s!r} is not inside the model folder")
        else:
            rel = posixpath.normpath(pathlib.PurePath(s).as_posix())
            if rel in (".", "..") or rel.startswith("../") or rel.startswith("/"):
                raise InvalidInputError(
                    f"ignore: expected paths inside the model folder (relative to it), got {s!r}"
                )
        out.append(rel)
    return out


def _signed_ignore_paths(paths: list[str]) -> list[str]:
    """The bundle's ``ignore_paths`` inside the folder (others cannot match anything)."""
    out = []
    for p in paths:
        rel = posixpath.normpath(p) if p else "."
        if rel not in (".", "..") and not rel.startswith(("../", "/")):
            out.append(rel)
    return out


def _model_name(path: str) -> str:
    p = pathlib.Path(path)
    name = p.name
    if not name or name == "..":
        name = pathlib.Path(os.path.abspath(path)).name
    return name


def _hash_model(
    path: str,
    *,
    shard_size: Optional[int],
    ignore: list[str],
    follow_symlinks: bool,
) -> tuple[list[tuple[str, str]], dict[str, tuple[int, str, list[tuple[str, str]]]]]:
    """Model Signing resources of ``path`` and the files they come from.

    Returns ``(resources, files)``: ``resources`` is ``[(name, hex digest), ...]`` in
    canonical order (``path`` or ``path:start:end``); ``files`` maps every hashed file
    path (empty files included, even in shards mode where they have no resource) to
    ``(size, "sha256:<hex>", its resources)``. A single-file model is named ``"."``, as
    Model Signing names it.
    """
    is_dir = os.path.isdir(path)
    patterns = [exact_pattern(rel) for rel in ignore] if is_dir else []
    m = manifest(
        path,
        algorithm="sha256",
        shard_size=shard_size,
        ignore=patterns,
        follow_symlinks=follow_symlinks,
    )
    resources: list[tuple[str, str]] = []
    files: dict[str, tuple[int, str, list[tuple[str, str]]]] = {}
    for f in m.files:
        name = f.path if is_dir else "."
        if f.shards is None:
            own = [(name, f.digest.split(":", 1)[1])]
        else:
            assert shard_size is not None
            own = [
                (f"{name}:{i * shard_size}:{min((i + 1) * shard_size, f.size)}", d.split(":", 1)[1])
                for i, d in enumerate(f.shards)
            ]
        resources += own
        files[name] = (f.size, f.digest, own)
    return resources, files


def _root(digests: Iterable[str]) -> str:
    return hashlib.sha256(b"".join(bytes.fromhex(d) for d in digests)).hexdigest()


def _pae_compat(payload_type: str, payload: bytes) -> bytes:
    # model-signing < 1.0 signed str(bytes) (the ``b'...'`` repr) after "DSSEV1".
    return f"DSSEV1 {len(payload_type)} {payload_type} {len(payload)} {payload!r}".encode()


# ---------------------------------------------------------------------------------------
# Signing


def sign_model(
    path: PathArg,
    key: Union[SigningKey, PathArg],
    signature: Optional[PathArg] = None,
    *,
    ignore: Optional[Iterable[PathArg]] = None,
    shard_size: Optional[int] = None,
    passphrase: Union[str, bytes, None] = None,
) -> pathlib.Path:
    """Sign a model folder into an OpenSSF Model Signing bundle (key method).

    The bundle verifies with ``model-signing``'s elliptic-key verifier:
    ``model_signing.verifying.Config().use_elliptic_key_verifier(public_key=...)
    .verify(path, signature)``, or ``model_signing verify key PATH --signature SIG
    --public_key KEY.pub``.

    Parameters
    ----------
    path : str or os.PathLike
        The model folder (or a single model file).
    key : SigningKey or str or os.PathLike
        An ECDSA key on P-256, P-384 or P-521 (``SigningKey.generate("ecdsa-p256")``), or
        the path of its PKCS#8 PEM file (or the PEM text). Model Signing's key method
        accepts only elliptic-curve keys: an Ed25519 key raises
        :class:`~mlsentry.errors.KeyFormatError`.
    signature : str or os.PathLike, optional
        Where to write the bundle. Default: ``model.sig`` inside the folder (for a single
        file, ``<file>.sig`` next to it), the name Model Signing's CLI uses.
    ignore : iterable of str or os.PathLike, optional
        Files or folders to leave out, relative to the model folder (or absolute inside
        it), with Model Signing's meaning: a path and everything below it, no globs.
        The signature file (when inside the folder) and ``.git``, ``.gitattributes``,
        ``.github``, ``.gitignore`` at the top are always left out, and all of these are
        recorded in the predicate's ``ignore_paths`` so that verifiers skip them too.
    shard_size : int, optional
        Model Signing's ``shards`` serialization: each file is cut into shards of this
        many bytes, each shard a resource ``path:start:end``, hashed in parallel.
        ``None`` (the default): ``files``, one resource per file. ``model-signing``'s
        Python API reads the serialization from the bundle and verifies either, but its
        command line (``model_signing verify key``) always hashes in ``files`` mode and
        rejects a ``shards`` bundle, so the default is ``files``.
    passphrase : str or bytes, optional
        For an encrypted private key file.

    Returns
    -------
    pathlib.Path
        The path of the bundle written.

    Raises
    ------
    KeyFormatError
        The key is not an ECDSA P-256, P-384 or P-521 key, or cannot be read.
    PathNotFoundError
        ``path`` does not exist.
    InvalidInputError
        An ``ignore`` path outside the folder, or an invalid ``shard_size``.

    Notes
    -----
    The predicate records ``allow_symlinks: false``: ``model-signing`` refuses models
    that contain symbolic links unless told otherwise.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from mlsentry.integrity import SigningKey, sign_model, verify_model
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "model"
    >>> (folder / "sub").mkdir(parents=True)
    >>> _ = (folder / "config.json").write_text("{}")
    >>> _ = (folder / "sub" / "weights.bin").write_bytes(b"abc")
    >>> key = SigningKey.generate("ecdsa-p256")
    >>> sig = sign_model(folder, key)
    >>> sig.name
    'model.sig'
    >>> verify_model(folder, sig, key.public_key).ok
    True
    >>> _ = (folder / "sub" / "weights.bin").write_bytes(b"abd")
    >>> [m.path for m in verify_model(folder, sig, key.public_key).modified]
    ['sub/weights.bin']
    """
    sk = _signing_key(key, passphrase)
    root = os.fspath(path)
    if not os.path.exists(root):
        raise PathNotFoundError(f"model path {root!r} does not exist")
    is_dir = os.path.isdir(root)
    if signature is None:
        sig_path = (
            pathlib.Path(root) / DEFAULT_SIGNATURE_NAME if is_dir else pathlib.Path(root + ".sig")
        )
    else:
        sig_path = pathlib.Path(os.fspath(signature))
    if shard_size is not None and (
        isinstance(shard_size, bool) or not isinstance(shard_size, int) or shard_size < 1
    ):
        raise InvalidInputError(f"shard_size: expected a positive int, got {shard_size!r}")

    ignored: list[str] = []
    if is_dir:
        extra = _ignore_paths(root, ignore)
        sig_rel = path_inside(root, os.fspath(sig_path))
        if sig_rel is not None:
            extra.append(sig_rel)
        for p in [*extra, *GIT_PATHS]:
            if p not in ignored:
                ignored.append(p)
    resources, _ = _hash_model(root, shard_size=shard_size, ignore=ignored, follow_symlinks=False)

    serialization: dict[str, Any] = {"method": "files" if shard_size is None else "shards"}
    serialization["hash_type"] = "sha256"
    if shard_size is not None:
        serialization["shard_size"] = shard_size
    serialization["allow_symlinks"] = False
    serialization["ignore_paths"] = ignored if is_dir else list(GIT_PATHS)
    algorithm = "sha256" if shard_size is None else f"sha256-sharded-{shard_size}"
    statement = {
        "_type": STATEMENT_TYPE,
        "subject": [
            {"name": _model_name(root), "digest": {"sha256": _root(d for _, d in resources)}}
        ],
        "predicateType": PREDICATE_TYPE,
        "predicate": {
            "serialization": serialization,
            "resources": [
                {"name": name, "digest": digest, "algorithm": algorithm}
                for name, digest in resources
            ],
        },
    }
    payload = json.dumps(statement, indent=2, ensure_ascii=False).encode("utf-8")
    sig = sk.sign(_core.dsse_pae(INTOTO_PAYLOAD_TYPE, payload))
    bundle = {
        "mediaType": BUNDLE_MEDIA_TYPE,
        "verificationMaterial": {
            "publicKey": {"hint": key_hint(sk.public_key)},
            "tlogEntries": [],
        },
        "dsseEnvelope": {
            "payload": base64.b64encode(payload).decode("ascii"),
            "payloadType": INTOTO_PAYLOAD_TYPE,
            "signatures": [{"sig": base64.b64encode(sig).decode("ascii"), "keyid": ""}],
        },
    }
    text = json.dumps(bundle, separators=(",", ":"))
    tmp = sig_path.with_name(f".{sig_path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, sig_path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return sig_path


# ---------------------------------------------------------------------------------------
# Verification


def _get(obj: Any, key: str, kind: type, where: str) -> Any:
    if not isinstance(obj, dict) or key not in obj:
        raise SignatureError(f"not a Model Signing bundle: missing {where}")
    value = obj[key]
    if not isinstance(value, kind):
        raise SignatureError(f"not a Model Signing bundle: {where} has the wrong type")
    return value


def _b64(value: str, where: str) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError(f"not a Model Signing bundle: {where} is not base64") from None


def _read_statement(bundle_bytes: bytes, pk: PublicKey) -> dict[str, Any]:
    """Check the bundle's envelope, key hint and signature; return the statement."""
    try:
        bundle = json.loads(bundle_bytes)
    except (ValueError, UnicodeDecodeError) as e:
        raise SignatureError(f"not a Model Signing bundle: invalid JSON ({e})") from None
    if not isinstance(bundle, dict):
        raise SignatureError("not a Model Signing bundle: expected a JSON object")
    media = bundle.get("mediaType")
    if media != BUNDLE_MEDIA_TYPE:
        raise SignatureError(
            f"not a Model Signing key bundle: media type {media!r}, expected {BUNDLE_MEDIA_TYPE!r}"
        )
    material = _get(bundle, "verificationMaterial", dict, "verificationMaterial")
    if "publicKey" not in material:
        kinds = ", ".join(sorted(k for k in material if k != "tlogEntries")) or "nothing"
        raise SignatureError(
            f"the bundle was not signed with a private key (its verification material has "
            f"{kinds}); verify it with model_signing's certificate or Sigstore verifier"
        )
    hint = material["publicKey"].get("hint") if isinstance(material["publicKey"], dict) else None
    if hint and hint != key_hint(pk):
        raise SignatureError(
            "key mismatch: the bundle's public key hint does not match the given public key"
        )
    envelope = _get(bundle, "dsseEnvelope", dict, "dsseEnvelope")
    payload_type = _get(envelope, "payloadType", str, "dsseEnvelope.payloadType")
    if payload_type != INTOTO_PAYLOAD_TYPE:
        raise SignatureError(
            f"payload type {payload_type!r}, expected {INTOTO_PAYLOAD_TYPE!r} (in-toto)"
        )
    payload = _b64(_get(envelope, "payload", str, "dsseEnvelope.payload"), "the payload")
    signatures = _get(envelope, "signatures", list, "dsseEnvelope.signatures")
    if not signatures:
        raise SignatureError("the DSSE envelope has no signature")
    sig = _b64(_get(signatures[0], "sig", str, "dsseEnvelope.signatures[0].sig"), "the signature")

    def check(message: bytes) -> bool:
        try:
            return bool(pk.verify(message, sig))
        except (ValueError, MlsentryError):
            return False

    if not (
        check(_core.dsse_pae(payload_type, payload)) or check(_pae_compat(payload_type, payload))
    ):
        raise SignatureError(
            "invalid signature: the bundle was not signed by this key, or it was altered"
        )
    try:
        statement = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        raise SignatureError("the signed payload is not JSON") from None
    if not isinstance(statement, dict):
        raise SignatureError("the signed payload is not an in-toto statement")
    if statement.get("_type") != STATEMENT_TYPE:
        raise SignatureError(
            f"statement type {statement.get('_type')!r}, expected {STATEMENT_TYPE!r}"
        )
    if statement.get("predicateType") != PREDICATE_TYPE:
        raise SignatureError(
            f"predicate type {statement.get('predicateType')!r}, expected {PREDICATE_TYPE!r}"
        )
    return statement


def _parse_predicate(
    statement: dict[str, Any],
) -> tuple[str, str, dict[str, Any], list[tuple[str, str]]]:
    """Subject name and digest, serialization, and resources ``[(name, hex)]``."""
    subjects = _get(statement, "subject", list, "subject")
    if len(subjects) != 1:
        raise SignatureError(f"expected one subject, got {len(subjects)}")
    name = subjects[0].get("name", "") if isinstance(subjects[0], dict) else ""
    digest = _get(_get(subjects[0], "digest", dict, "subject digest"), "sha256", str, "sha256")
    predicate = _get(statement, "predicate", dict, "predicate")
    serialization = _get(predicate, "serialization", dict, "predicate.serialization")
    raw = _get(predicate, "resources", list, "predicate.resources")
    resources = []
    for r in raw:
        rname = _get(r, "name", str, "resource name")
        rdigest = _get(r, "digest", str, "resource digest").lower()
        _get(r, "algorithm", str, "resource algorithm")
        try:
            bytes.fromhex(rdigest)
        except ValueError:
            raise SignatureError(f"resource {rname!r}: digest is not hex") from None
        resources.append((rname, rdigest))
    if _root(d for _, d in resources) != digest.lower():
        raise SignatureError(
            "inconsistent statement: the resources do not hash to the subject's digest"
        )
    return str(name), digest.lower(), serialization, resources


def _settings(
    serialization: dict[str, Any], raw_resources: list[Any]
) -> tuple[Optional[int], bool, list[str]]:
    method = serialization.get("method")
    hash_type = serialization.get("hash_type")
    if method not in ("files", "shards"):
        raise SignatureError(f"unknown serialization method {method!r}")
    if hash_type != "sha256":
        raise InvalidInputError(
            f"the bundle uses hash_type {hash_type!r}; only sha256 bundles can be verified"
        )
    shard_size: Optional[int] = None
    if method == "shards":
        size = serialization.get("shard_size")
        # model-signing writes it through a protobuf Struct: a float such as 1024.0.
        if isinstance(size, float) and size.is_integer():
            size = int(size)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise SignatureError(f"invalid shard_size {serialization.get('shard_size')!r}")
        shard_size = size
    expected_algorithm = "sha256" if shard_size is None else f"sha256-sharded-{shard_size}"
    for r in raw_resources:
        if r["algorithm"] != expected_algorithm:
            raise SignatureError(
                f"resource {r['name']!r}: algorithm {r['algorithm']!r}, "
                f"expected {expected_algorithm!r}"
            )
    allow = serialization.get("allow_symlinks", False)
    if not isinstance(allow, bool):
        raise SignatureError("serialization.allow_symlinks is not a boolean")
    ignore = serialization.get("ignore_paths", [])
    if not isinstance(ignore, list) or not all(isinstance(p, str) for p in ignore):
        raise SignatureError("serialization.ignore_paths is not a list of paths")
    return shard_size, allow, ignore


def _file_of(name: str, shards: bool) -> tuple[str, int]:
    """File path and shard end of a resource name (``path:start:end`` in shards mode)."""
    if not shards:
        return name, -1
    parts = name.rsplit(":", 2)
    try:
        if len(parts) != 3:
            raise ValueError
        return parts[0], int(parts[2])
    except ValueError:
        raise SignatureError(f"invalid shard resource name {name!r}") from None


def verify_model(
    path: PathArg,
    signature: PathArg,
    public_key: Union[PublicKey, PathArg],
    *,
    ignore: Optional[Iterable[PathArg]] = None,
) -> VerifyReport:
    """Verify a model folder against an OpenSSF Model Signing bundle (key method).

    Checks the bundle (media type, public key hint, ECDSA signature over the DSSE
    pre-authentication encoding, in-toto statement, predicate type, subject digest over
    the resources), then re-hashes the folder with the bundle's serialization (``files``
    or ``shards``, shard size, ignored paths) and compares every resource.

    Parameters
    ----------
    path : str or os.PathLike
        The model folder (or single file) that was signed.
    signature : str or os.PathLike
        The bundle, for instance written by ``model_signing sign key`` or
        ``model_signing.signing.Config().use_elliptic_key_signer(...)``, or by
        :func:`sign_model`.
    public_key : PublicKey or str or os.PathLike
        The ECDSA (P-256, P-384 or P-521) public key: a :class:`~mlsentry.PublicKey`, the
        path of its PEM file, or the PEM text.
    ignore : iterable of str or os.PathLike, optional
        More paths to leave out (relative to the folder), like ``--ignore-paths``. The
        bundle's ``ignore_paths``, the git files at the top and the signature file (when
        inside the folder) are always left out.

    Returns
    -------
    VerifyReport
        ``added``, ``removed`` and ``modified`` files (shards are grouped by file; in
        files mode the signed size is unknown and ``expected_size`` is ``None``). Its
        ``inputs`` hold the signed root (``"signed"``), the current one (``"current"``)
        and the key id.

    Raises
    ------
    SignatureError
        Not a Model Signing key bundle (invalid JSON, media type, payload type,
        statement or predicate type), the key does not match its hint, the signature or
        payload was altered, or the statement is inconsistent (resources do not hash to
        the subject digest).
    KeyFormatError
        The public key cannot be read or is not an ECDSA P-256, P-384 or P-521 key.
    InvalidInputError
        The bundle uses a hash other than SHA-256.
    PathNotFoundError
        ``path`` or ``signature`` does not exist.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> from mlsentry.integrity import SigningKey, sign_model, verify_model
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "model"
    >>> folder.mkdir()
    >>> _ = (folder / "weights.bin").write_bytes(b"abc")
    >>> key = SigningKey.generate("ecdsa-p256")
    >>> sig = sign_model(folder, key, shard_size=2)
    >>> report = verify_model(folder, sig, key.public_key)
    >>> report.ok, report.files_checked
    (True, 1)
    >>> _ = (folder / "extra.txt").write_text("new")
    >>> verify_model(folder, sig, key.public_key).added
    ['extra.txt']
    """
    pk = _public_key(public_key)
    root = os.fspath(path)
    sig_path = os.fspath(signature)
    if not os.path.exists(root):
        raise PathNotFoundError(f"model path {root!r} does not exist")
    try:
        with open(sig_path, "rb") as fh:
            bundle_bytes = fh.read()
    except FileNotFoundError:
        raise PathNotFoundError(f"signature {sig_path!r} does not exist") from None

    statement = _read_statement(bundle_bytes, pk)
    _name, signed_root, serialization, resources = _parse_predicate(statement)
    shard_size, allow_symlinks, signed_ignore = _settings(
        serialization, statement["predicate"]["resources"]
    )
    shards = shard_size is not None

    ignored: list[str] = []
    if os.path.isdir(root):
        extra = _ignore_paths(root, ignore)
        extra += _signed_ignore_paths(signed_ignore)
        sig_rel = path_inside(root, sig_path)
        if sig_rel is not None:
            extra.append(sig_rel)
        for p in [*extra, *GIT_PATHS]:
            if p not in ignored:
                ignored.append(p)
    current_resources, current_files = _hash_model(
        root, shard_size=shard_size, ignore=ignored, follow_symlinks=allow_symlinks
    )

    expected: dict[str, list[tuple[str, str]]] = {}
    expected_size: dict[str, int] = {}
    for name, digest in resources:
        file, end = _file_of(name, shards)
        expected.setdefault(file, []).append((name, digest))
        expected_size[file] = max(expected_size.get(file, 0), end)

    removed = [p for p in expected if p not in current_files]
    added = [p for p, (_, _, own) in current_files.items() if p not in expected and own]
    modified = []
    for p, want in expected.items():
        if p not in current_files:
            continue
        size, actual, own = current_files[p]
        if sorted(own) != sorted(want):
            if shards:
                exp_digest = "sha256:" + _root(d for _, d in want)
                exp_size: Any = expected_size[p]
            else:
                exp_digest = "sha256:" + want[0][1]
                exp_size = None  # a files-mode bundle does not record sizes
            modified.append(ModifiedFile(p, exp_digest, actual, exp_size, size))

    return VerifyReport(
        added=added,
        removed=removed,
        modified=modified,
        files_checked=len(current_files),
        config={
            "path": root,
            "signature": sig_path,
            "method": serialization.get("method"),
            "hash_type": "sha256",
            "shard_size": shard_size,
            "allow_symlinks": allow_symlinks,
            "ignore_paths": ignored,
        },
        inputs={
            "signed": "sha256:" + signed_root,
            "current": "sha256:" + _root(d for _, d in current_resources),
            "public_key": pk.key_id,
        },
        signature=SignatureCheck(
            format="model-signing",
            algorithm=pk.algorithm,
            key_id=pk.key_id,
            envelope_digest="sha256:" + hashlib.sha256(bundle_bytes).hexdigest(),
            payload_type=INTOTO_PAYLOAD_TYPE,
        ),
    )
