"""Keys, DSSE envelopes and in-toto statements: round trips, published vectors, tampering."""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import os
import stat

import pytest

import mlsentry as ms
from mlsentry import _core
from mlsentry.errors import KeyFormatError, SignatureError
from mlsentry.integrity import (
    Envelope,
    PublicKey,
    SigningKey,
    manifest,
    sign,
    verify,
    verify_envelope,
)

ALGS = ["ed25519", "ecdsa-p256", "ecdsa-p384", "ecdsa-p521"]


@pytest.mark.parametrize("alg", ALGS)
def test_key_files_round_trip(tmp_path, alg):
    key = SigningKey.generate(alg)
    assert key.algorithm == alg
    key.save(tmp_path / "k.pem")
    assert stat.S_IMODE(os.stat(tmp_path / "k.pem").st_mode) == 0o600
    assert "BEGIN PRIVATE KEY" in (tmp_path / "k.pem").read_text()
    assert SigningKey.load(tmp_path / "k.pem").public_key == key.public_key

    key.save(tmp_path / "enc.pem", passphrase="correct horse")
    assert "ENCRYPTED PRIVATE KEY" in (tmp_path / "enc.pem").read_text()
    with pytest.raises(KeyFormatError, match=r"passphrase.*--passphrase-env"):
        SigningKey.load(tmp_path / "enc.pem")
    with pytest.raises(KeyFormatError, match="not encrypted"):
        SigningKey.load(tmp_path / "k.pem", passphrase="pointless")
    with pytest.raises(KeyFormatError, match="wrong passphrase"):
        SigningKey.load(tmp_path / "enc.pem", passphrase="wrong")
    assert SigningKey.load(tmp_path / "enc.pem", "correct horse").key_id == key.key_id

    key.public_key.save(tmp_path / "k.pub")
    pub = PublicKey.load(tmp_path / "k.pub")
    assert pub == key.public_key and pub.key_id == key.key_id
    assert len(pub.key_id) == 64


def test_existing_key_file_gets_private_mode(tmp_path):
    p = tmp_path / "k.pem"
    p.write_text("old")
    os.chmod(p, 0o644)
    SigningKey.generate().save(p)
    assert stat.S_IMODE(os.stat(p).st_mode) == 0o600


def test_bad_key_files(tmp_path):
    pem = SigningKey.generate().to_pem()
    for text, match in [
        (pem[: len(pem) // 2], "PEM"),
        ("garbage", "PEM"),
        (SigningKey.generate().public_key.to_pem(), "public key"),
    ]:
        with pytest.raises(KeyFormatError, match=match):
            SigningKey.from_pem(text)
    with pytest.raises(KeyFormatError):
        PublicKey.from_pem(pem)  # a private key where a public one is expected
    (tmp_path / "bin.pem").write_bytes(b"\xff\xfe\x00")
    with pytest.raises(KeyFormatError):
        SigningKey.load(tmp_path / "bin.pem")
    with pytest.raises(ms.errors.InvalidInputError, match="algorithm"):
        SigningKey.generate("rsa")


def test_rsa_key_is_refused_with_a_clear_message():
    crypto = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.rsa")
    from cryptography.hazmat.primitives import serialization

    rsa = crypto.generate_private_key(public_exponent=65537, key_size=2048)
    pem = rsa.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(KeyFormatError, match="unsupported key type"):
        SigningKey.from_pem(pem)


def test_an_unsupported_curve_is_named():
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    k1 = ec.generate_private_key(ec.SECP256K1())
    pem = k1.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    with pytest.raises(KeyFormatError, match=r"curve \(OID 1\.3\.132\.0\.10\).*P-384"):
        SigningKey.from_pem(pem)
    pub = k1.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    with pytest.raises(KeyFormatError, match="unsupported elliptic curve"):
        PublicKey.from_pem(pub.decode())


@pytest.mark.parametrize(
    ("alg", "curve", "digest"),
    [("ecdsa-p256", "SECP256R1", "SHA256"), ("ecdsa-p384", "SECP384R1", "SHA384"),
     ("ecdsa-p521", "SECP521R1", "SHA512")],
)  # fmt: skip
def test_ecdsa_curves_sign_and_read_as_cryptography_does(alg, curve, digest):
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    ours = SigningKey.generate(alg)
    theirs = serialization.load_pem_private_key(ours.to_pem().encode(), None)
    assert theirs.curve.name == curve.lower()
    theirs.public_key().verify(ours.sign(b"msg"), b"msg", ec.ECDSA(getattr(hashes, digest)()))
    made = ec.generate_private_key(getattr(ec, curve)())
    pem = made.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    ).decode()
    key = SigningKey.from_pem(pem, passphrase=b"pw")
    assert key.algorithm == alg
    sig = made.sign(b"hello", ec.ECDSA(getattr(hashes, digest)()))
    assert key.public_key.verify(b"hello", sig)
    assert not key.public_key.verify(b"hellO", sig)


def test_keys_interoperate_with_cryptography():
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519

    ours = SigningKey.generate("ecdsa-p256")
    theirs = serialization.load_pem_private_key(ours.to_pem().encode(), None)
    sig = ours.sign(b"msg")
    theirs.public_key().verify(sig, b"msg", ec.ECDSA(hashes.SHA256()))

    ed = ed25519.Ed25519PrivateKey.generate()
    pem = ed.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"pw"),
    ).decode()
    key = SigningKey.from_pem(pem, passphrase=b"pw")
    ed.public_key().verify(key.sign(b"hello"), b"hello")


def test_dsse_pae_spec_example():
    assert (
        _core.dsse_pae("http://example.com/HelloWorld", b"hello world")
        == b"DSSEv1 29 http://example.com/HelloWorld 11 hello world"
    )


@pytest.mark.parametrize("alg", ALGS)
def test_sign_dict_report_manifest(tmp_path, alg):
    key = SigningKey.generate(alg)
    env = sign({"b": 2, "a": [1, 2]}, key)
    st = verify_envelope(env, key.public_key)
    assert st["_type"] == "https://in-toto.io/Statement/v1"
    assert st["predicate"] == {"a": [1, 2], "b": 2}

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "w.bin").write_bytes(b"weights")
    m = manifest(tmp_path / "m")
    env = sign(m, key, name="my-model")
    st = verify_envelope(Envelope.from_json(env.to_json()), key.public_key)
    assert st["predicateType"] == "https://mlsentry.dev/manifest/v1"
    assert st["subject"] == [{"name": "my-model", "digest": {"sha256": m.root.split(":")[1]}}]

    report = verify(tmp_path / "m", m)
    st = verify_envelope(sign(report, key), key.public_key)
    assert st["predicateType"] == "https://mlsentry.dev/verify-report/v1"
    assert st["predicate"]["passed"] is True


@pytest.mark.parametrize("alg", ALGS)
def test_a_verify_report_says_which_signature_it_checked(tmp_path, alg):
    key = SigningKey.generate(alg)
    folder = tmp_path / "m"
    folder.mkdir()
    (folder / "w.bin").write_bytes(b"weights")
    env = sign(manifest(folder), key)
    env.save(tmp_path / "m.sig.json")
    for given in (env, tmp_path / "m.sig.json"):
        report = verify(folder, given, key.public_key)
        sig = report.signature
        assert report.ok and sig.verified and sig.format == "dsse"
        assert (sig.algorithm, sig.key_id) == (alg, key.public_key.key_id)
        canonical = json.dumps(dict(env), sort_keys=True, separators=(",", ":")).encode()
        assert sig.envelope_digest == "sha256:" + hashlib.sha256(canonical).hexdigest()
        assert sig.payload_type == "application/vnd.in-toto+json"
        assert json.loads(report.to_json())["signature"]["key_id"] == key.public_key.key_id
        assert f"{alg} key {key.public_key.key_id[:16]}" in report.summary()
        assert "verified with" in report.to_html()
    assert verify(folder, manifest(folder)).signature is None  # nothing signed, nothing said
    assert json.loads(verify(folder, manifest(folder)).to_json())["signature"] is None


def test_an_envelope_without_a_key_asks_for_the_key(tmp_path):
    key = SigningKey.generate()
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "w.bin").write_bytes(b"weights")
    env = sign(manifest(tmp_path / "m"), key)
    env.save(tmp_path / "m.sig.json")
    for given in (env, tmp_path / "m.sig.json"):
        with pytest.raises(ms.errors.InvalidInputError, match="signed envelope: pass a public"):
            verify(tmp_path / "m", given)


def test_only_json_is_signed():
    import numpy as np

    key = SigningKey.generate()
    for bad, match in [
        ({"x": float("nan")}, r"subject\['x'\]: nan is not JSON"),
        ({"x": [1, float("inf")]}, "inf is not JSON"),
        ({"b": b"raw"}, "a bytes is not JSON"),
        ({1: "a", "b": 2}, "keys must be strings"),
        ({"o": {1, 2}}, "a set is not JSON"),
    ]:
        with pytest.raises(ms.errors.InvalidInputError, match=match):
            sign(bad, key)
    st = verify_envelope(sign({"n": np.int64(3), "big": 2**70, "t": (1, 2)}, key), key.public_key)
    assert st["predicate"] == {"n": 3, "big": 2**70, "t": [1, 2]}


def _mutations(env: dict) -> list[dict]:
    out = []
    e = copy.deepcopy(env)
    e["payloadType"] = e["payloadType"] + "x"
    out.append(e)
    payload = base64.b64decode(env["payload"])
    e = copy.deepcopy(env)
    e["payload"] = base64.b64encode(payload.replace(b'"a":1', b'"a":2')).decode()
    out.append(e)
    e = copy.deepcopy(env)
    sig = bytearray(base64.b64decode(env["signatures"][0]["sig"]))
    sig[len(sig) // 2] ^= 1
    e["signatures"][0]["sig"] = base64.b64encode(bytes(sig)).decode()
    out.append(e)
    e = copy.deepcopy(env)
    e["signatures"] = []
    out.append(e)
    e = copy.deepcopy(env)
    e["payload"] = "%%%not base64"
    out.append(e)
    return out


@pytest.mark.parametrize("alg", ALGS)
def test_any_tampering_raises(alg):
    key = SigningKey.generate(alg)
    env = sign({"a": 1}, key)
    for bad in _mutations(env):
        with pytest.raises(SignatureError):
            verify_envelope(bad, key.public_key)
    with pytest.raises(SignatureError, match="verif"):
        verify_envelope(env, SigningKey.generate(alg).public_key)  # another key
    with pytest.raises(SignatureError):
        verify_envelope("{not json", key.public_key)
    with pytest.raises(SignatureError, match="payload type"):
        verify_envelope(env, key.public_key, expected_type="application/other")


def test_url_safe_base64_accepted():
    key = SigningKey.generate()
    env = sign({"blob": "\u00ff" * 50}, key)
    url = dict(env)
    url["payload"] = base64.urlsafe_b64encode(base64.b64decode(env["payload"])).decode()
    url["signatures"] = [
        {"sig": base64.urlsafe_b64encode(base64.b64decode(env["signatures"][0]["sig"])).decode()}
    ]
    assert verify_envelope(url, key.public_key)["predicate"]["blob"] == "\u00ff" * 50


def test_envelope_of_other_payload_type_is_refused():
    key = SigningKey.generate()
    env = json.loads(_core.dsse_sign("text/plain", b"hello", key._native))
    with pytest.raises(SignatureError, match="payload type"):
        verify_envelope(env, key.public_key)
