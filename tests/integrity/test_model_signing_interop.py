"""OpenSSF Model Signing interop, judged by the real ``model-signing`` package.

ours -> theirs: :func:`sign_model` bundles verify with ``model_signing``'s elliptic-key
verifier (Python API and CLI). theirs -> ours: bundles ``model_signing`` signs with a
P-256 private key verify with :func:`verify_model`, and every tampering is caught.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mlsentry.errors import KeyFormatError, SignatureError
from mlsentry.integrity import PublicKey, SigningKey
from mlsentry.integrity.model_signing import BUNDLE_MEDIA_TYPE, key_hint, sign_model, verify_model

model_signing = pytest.importorskip("model_signing")
serialization = pytest.importorskip("cryptography.hazmat.primitives.serialization")
ec = pytest.importorskip("cryptography.hazmat.primitives.asymmetric.ec")
hashes = pytest.importorskip("cryptography.hazmat.primitives.hashes")

UNICODE_NAME = "poids-ünïcødé-日本.bin"


def write(root: Path, rel: str, data: bytes) -> None:
    p = root / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)


@pytest.fixture
def model(tmp_path):
    root = tmp_path / "model"
    write(root, "config.json", b'{"layers": 3}')
    write(root, "weights/layer0.bin", bytes(range(256)) * 40)
    write(root, "weights/deep/layer1.bin", b"\x01" * 5000)
    write(root, "empty.txt", b"")
    write(root, UNICODE_NAME, "ünïcødé".encode())
    write(root, "sub/model.sig", b"not the signature: a file deeper with the same name")
    return root


@pytest.fixture(scope="module")
def their_key(tmp_path_factory):
    """A P-256 key pair written by ``cryptography``, as model-signing users make them."""
    d = tmp_path_factory.mktemp("their_key")
    private = ec.generate_private_key(ec.SECP256R1())
    priv_path = d / "key.pem"
    pub_path = d / "key.pub"
    priv_path.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pub_path.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return priv_path, pub_path


@pytest.fixture(scope="module")
def our_key(tmp_path_factory):
    d = tmp_path_factory.mktemp("our_key")
    key = SigningKey.generate("ecdsa-p256")
    key.public_key.save(d / "key.pub")
    return key, d / "key.pub"


def ms_verify(model_path, sig, pub):
    model_signing.verifying.Config().use_elliptic_key_verifier(public_key=pub).verify(
        model_path, sig
    )


def ms_sign(model_path, sig, priv, shard_size=None):
    config = model_signing.signing.Config().use_elliptic_key_signer(private_key=priv)
    if shard_size is not None:
        config.set_hashing_config(
            model_signing.hashing.Config().use_shard_serialization(shard_size=shard_size)
        )
    config.sign(model_path, sig)


def load_bundle(sig):
    bundle = json.loads(Path(sig).read_text())
    statement = json.loads(base64.b64decode(bundle["dsseEnvelope"]["payload"]))
    return bundle, statement


# ---------------------------------------------------------------------------------------
# ours -> theirs


def test_ours_verified_by_model_signing(model, our_key):
    key, pub = our_key
    sig = sign_model(model, key)
    assert sig == model / "model.sig"
    ms_verify(model, sig, pub)
    bundle, statement = load_bundle(sig)
    assert bundle["mediaType"] == BUNDLE_MEDIA_TYPE
    assert bundle["dsseEnvelope"]["payloadType"] == "application/vnd.in-toto+json"
    names = [r["name"] for r in statement["predicate"]["resources"]]
    assert "model.sig" not in names and "sub/model.sig" in names
    assert "empty.txt" in names and UNICODE_NAME in names
    assert statement["subject"][0]["name"] == "model"
    # The resources and subject digest are what model-signing computes for the folder.
    theirs = model_signing.hashing.Config().set_ignored_paths(paths=["model.sig"]).hash(model)
    assert [(r.identifier, r.digest.digest_hex) for r in theirs.resource_descriptors()] == [
        (r["name"], r["digest"]) for r in statement["predicate"]["resources"]
    ]
    # A change is caught by model-signing.
    write(model, "weights/layer0.bin", b"tampered")
    with pytest.raises(ValueError, match=r"layer0\.bin"):
        ms_verify(model, sig, pub)


def test_hint_matches_cryptography_pem(our_key):
    key, pub = our_key
    loaded = serialization.load_pem_public_key(pub.read_bytes())
    pem = loaded.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert key_hint(key.public_key) == hashlib.sha256(pem).hexdigest()


def test_ours_with_passphrase_key_and_outside_signature(model, tmp_path):
    key = SigningKey.generate("ecdsa-p256")
    key.save(tmp_path / "enc.pem", passphrase="s3cret")
    key.public_key.save(tmp_path / "enc.pub")
    sig = sign_model(model, tmp_path / "enc.pem", tmp_path / "out.sig", passphrase="s3cret")
    assert sig == tmp_path / "out.sig" and not (model / "model.sig").exists()
    ms_verify(model, sig, tmp_path / "enc.pub")
    assert verify_model(model, sig, tmp_path / "enc.pub").ok


def test_ours_ignore_paths_and_git(model, our_key):
    key, pub = our_key
    write(model, ".git/HEAD", b"ref: refs/heads/main\n")
    write(model, ".gitignore", b"*.tmp\n")
    write(model, "cache/a.tmp", b"scratch")
    write(model, "weights/cache/keep.bin", b"kept: only the top-level cache is ignored")
    sig = sign_model(model, key, ignore=["cache"])
    _, statement = load_bundle(sig)
    ignore_paths = statement["predicate"]["serialization"]["ignore_paths"]
    assert {"cache", "model.sig", ".git", ".gitignore"} <= set(ignore_paths)
    names = [r["name"] for r in statement["predicate"]["resources"]]
    assert "weights/cache/keep.bin" in names
    assert not any(n.startswith(("cache/", ".git")) for n in names)
    ms_verify(model, sig, pub)
    write(model, "cache/b.tmp", b"more scratch")  # ignored: still fine on both sides
    ms_verify(model, sig, pub)
    assert verify_model(model, sig, pub).ok


def test_ours_shards_verified_by_model_signing(model, our_key):
    key, pub = our_key
    sig = sign_model(model, key, shard_size=1000)
    ms_verify(model, sig, pub)
    _, statement = load_bundle(sig)
    assert statement["predicate"]["serialization"]["method"] == "shards"
    assert statement["predicate"]["serialization"]["shard_size"] == 1000
    names = [r["name"] for r in statement["predicate"]["resources"]]
    assert "weights/layer0.bin:10000:10240" in names
    assert verify_model(model, sig, pub).ok
    write(model, "weights/deep/layer1.bin", b"\x01" * 4999 + b"\x02")
    with pytest.raises(ValueError, match=r"layer1\.bin"):
        ms_verify(model, sig, pub)


def test_ours_verified_by_model_signing_cli(model, our_key):
    key, pub = our_key
    sig = sign_model(model, key)
    cmd = [sys.executable, "-m", "model_signing", "verify", "key", str(model)]
    cmd += ["--signature", str(sig), "--public_key", str(pub)]
    env = {**os.environ, "NO_PROXY": "*", "HTTPS_PROXY": "http://127.0.0.1:9"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 0, done.stderr
    assert "Verification succeeded" in done.stdout
    write(model, "config.json", b"{}")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1 and "config.json" in done.stderr
    # Why files is our default: that command line always re-hashes in files mode, so it
    # rejects a shards bundle its Python API accepts (test_ours_shards_verified_...).
    sig = sign_model(model, key, shard_size=1000)
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert done.returncode == 1 and "Missing files" in done.stderr, done.stderr
    ms_verify(model, sig, pub)


def test_ours_ignore_non_ascii_top_level_name(model, our_key):
    key, pub = our_key
    write(model, "日本", b"top: ignored")
    write(model, "weights/日本", b"deeper: signed")
    sig = sign_model(model, key, ignore=["日本"])
    names = [r["name"] for r in load_bundle(sig)[1]["predicate"]["resources"]]
    assert "weights/日本" in names and "日本" not in names
    ms_verify(model, sig, pub)
    write(model, "日本", b"changed, still ignored")
    assert verify_model(model, sig, pub).ok


def test_theirs_cli_signature_inside_folder(model, their_key):
    priv, pub = their_key
    sig = model / "model.sig"
    cmd = [sys.executable, "-m", "model_signing", "sign", "key", str(model)]
    cmd += ["--signature", str(sig), "--private_key", str(priv)]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    _, statement = load_bundle(sig)
    assert "model.sig" in statement["predicate"]["serialization"]["ignore_paths"]
    assert verify_model(model, sig, pub).ok
    write(model, "sub/model.sig", b"edited")  # a deeper file with the same name is signed
    assert [m.path for m in verify_model(model, sig, pub).modified] == ["sub/model.sig"]


def test_single_file_model(tmp_path, our_key):
    key, pub = our_key
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"weights" * 100)
    sig = sign_model(f, key)
    assert sig == tmp_path / "model.safetensors.sig"
    ms_verify(f, sig, pub)
    assert verify_model(f, sig, pub).ok


def test_ed25519_key_refused(model):
    with pytest.raises(KeyFormatError, match=r'SigningKey\.generate\("ecdsa-p256"\)'):
        sign_model(model, SigningKey.generate("ed25519"))
    assert not (model / "model.sig").exists()


# ---------------------------------------------------------------------------------------
# theirs -> ours


@pytest.fixture
def their_signed(model, their_key, tmp_path):
    priv, pub = their_key
    sig = tmp_path / "theirs.sig"
    ms_sign(model, sig, priv)
    return model, sig, pub


def test_theirs_verified_by_us(their_signed):
    model, sig, pub = their_signed
    report = verify_model(model, sig, pub)
    assert report.ok, report.summary()
    assert report.files_checked == 6
    assert report.inputs["signed"] == report.inputs["current"]
    # Also with the key as an object or PEM text.
    assert verify_model(model, sig, PublicKey.load(pub)).ok
    assert verify_model(model, sig, pub.read_text()).ok


def test_theirs_modified_file(their_signed):
    model, sig, pub = their_signed
    write(model, "weights/layer0.bin", b"poisoned")
    report = verify_model(model, sig, pub)
    assert not report.ok
    assert [m.path for m in report.modified] == ["weights/layer0.bin"]
    m = report.modified[0]
    assert m.actual == "sha256:" + hashlib.sha256(b"poisoned").hexdigest()
    assert m.expected == "sha256:" + hashlib.sha256(bytes(range(256)) * 40).hexdigest()
    assert not report.added and not report.removed


def test_theirs_added_and_removed(their_signed):
    model, sig, pub = their_signed
    write(model, "weights/backdoor.pkl", b"cos\nsystem\n")
    report = verify_model(model, sig, pub)
    assert report.added == ["weights/backdoor.pkl"] and not report.modified
    os.remove(model / UNICODE_NAME)
    report = verify_model(model, sig, pub)
    assert report.removed == [UNICODE_NAME]
    assert "FAILED" in report.summary()


def test_theirs_ignore_unsigned_paths(their_signed):
    model, sig, pub = their_signed
    write(model, ".git/HEAD", b"ref")  # git files are ignored as model-signing does
    write(model, "notes/readme.md", b"later")
    report = verify_model(model, sig, pub)
    assert report.added == ["notes/readme.md"]
    assert verify_model(model, sig, pub, ignore=["notes"]).ok


def tamper(sig: Path, out: Path, edit) -> Path:
    bundle = json.loads(sig.read_text())
    edit(bundle)
    out.write_text(json.dumps(bundle))
    return out


def flip_b64(value: str, index: int) -> str:
    raw = bytearray(base64.b64decode(value))
    raw[index] ^= 0x01
    return base64.b64encode(bytes(raw)).decode()


def test_theirs_tampered_payload(their_signed, tmp_path):
    model, sig, pub = their_signed

    def edit(b):
        env = b["dsseEnvelope"]
        env["payload"] = flip_b64(env["payload"], 40)

    with pytest.raises(SignatureError, match="invalid signature"):
        verify_model(model, tamper(sig, tmp_path / "t.sig", edit), pub)


def test_theirs_tampered_signature(their_signed, tmp_path):
    model, sig, pub = their_signed

    def edit(b):
        s = b["dsseEnvelope"]["signatures"][0]
        s["sig"] = flip_b64(s["sig"], len(base64.b64decode(s["sig"])) - 1)

    with pytest.raises(SignatureError, match="invalid signature"):
        verify_model(model, tamper(sig, tmp_path / "t.sig", edit), pub)


def test_theirs_resigned_statement_with_wrong_root_or_types(their_signed, tmp_path, their_key):
    """Statements signed with the right key but wrong content are still refused."""
    model, sig, pub = their_signed
    priv = serialization.load_pem_private_key(their_key[0].read_bytes(), None)

    def resign(statement_edit, payload_type="application/vnd.in-toto+json", compat=False):
        bundle, statement = load_bundle(sig)
        statement_edit(statement)
        payload = json.dumps(statement).encode()
        if compat:  # model-signing < 1.0 signed this (see its sign_sigstore_pb.pae_compat)
            pae = f"DSSEV1 {len(payload_type)} {payload_type} {len(payload)} {payload}".encode()
        else:
            pae = b"DSSEv1 %d %s %d %s" % (
                len(payload_type),
                payload_type.encode(),
                len(payload),
                payload,
            )
        signature = priv.sign(pae, ec.ECDSA(hashes.SHA256()))
        bundle["dsseEnvelope"] = {
            "payload": base64.b64encode(payload).decode(),
            "payloadType": payload_type,
            "signatures": [{"sig": base64.b64encode(signature).decode(), "keyid": ""}],
        }
        out = tmp_path / "resigned.sig"
        out.write_text(json.dumps(bundle))
        return out

    assert verify_model(model, resign(lambda s: None), pub).ok  # the harness itself is right
    assert verify_model(model, resign(lambda s: None, compat=True), pub).ok

    def wrong_root(s):
        s["predicate"]["resources"][0]["digest"] = "00" * 32

    with pytest.raises(SignatureError, match="inconsistent"):
        verify_model(model, resign(wrong_root), pub)

    def wrong_predicate(s):
        s["predicateType"] = "https://model_signing/Digests/v0.1"

    with pytest.raises(SignatureError, match="predicate type"):
        verify_model(model, resign(wrong_predicate), pub)

    def wrong_type(s):
        s["_type"] = "https://in-toto.io/Statement/v0.1"

    with pytest.raises(SignatureError, match="statement type"):
        verify_model(model, resign(wrong_type), pub)

    with pytest.raises(SignatureError, match="payload type"):
        verify_model(model, resign(lambda s: None, "application/json"), pub)


def test_theirs_other_key(their_signed, tmp_path):
    model, sig, _ = their_signed
    other = SigningKey.generate("ecdsa-p256").public_key
    with pytest.raises(SignatureError, match="key mismatch"):
        verify_model(model, sig, other)

    # Without the hint (older bundles), the signature check itself refuses the key.
    def drop_hint(b):
        del b["verificationMaterial"]["publicKey"]["hint"]

    no_hint = tamper(sig, tmp_path / "nohint.sig", drop_hint)
    with pytest.raises(SignatureError, match="invalid signature"):
        verify_model(model, no_hint, other)
    assert verify_model(model, no_hint, their_signed[2]).ok


@pytest.mark.parametrize(
    ("curve", "algorithm"),
    [(ec.SECP384R1, "ecdsa-p384"), (ec.SECP521R1, "ecdsa-p521")],
)
def test_p384_and_p521_both_ways(model, tmp_path, curve, algorithm):
    """model-signing accepts P-384 and P-521 keys (with SHA-384 and SHA-512); so do we,
    reading their keys and bundles and writing bundles they verify."""
    private = ec.generate_private_key(curve())
    priv, pub = tmp_path / "k.pem", tmp_path / "k.pub"
    priv.write_bytes(
        private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pub.write_bytes(
        private.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    # theirs -> ours
    sig = tmp_path / "theirs.sig"
    ms_sign(model, sig, priv)
    assert PublicKey.load(pub).algorithm == algorithm
    assert verify_model(model, sig, pub).ok
    # ours (their key file, read by us) -> theirs
    ours = tmp_path / "ours.sig"
    key = SigningKey.load(priv)
    assert key.algorithm == algorithm and key.public_key.key_id == PublicKey.load(pub).key_id
    sign_model(model, key, ours)
    ms_verify(model, ours, pub)
    # a key we made, saved, reloaded: verified by them
    mine = SigningKey.generate(algorithm)
    mine.save(tmp_path / "mine.pem")
    mine.public_key.save(tmp_path / "mine.pub")
    sign_model(model, SigningKey.load(tmp_path / "mine.pem"), tmp_path / "mine.sig")
    ms_verify(model, tmp_path / "mine.sig", tmp_path / "mine.pub")
    # and every change is still caught, on either side
    write(model, "config.json", b'{"layers": 4}')
    assert not verify_model(model, sig, pub).ok
    with pytest.raises(ValueError, match=r"config\.json"):
        ms_verify(model, ours, pub)
    other = SigningKey.generate(algorithm).public_key
    with pytest.raises(SignatureError):
        verify_model(model, sig, other)


def test_ed25519_public_key_refused(their_signed):
    model, sig, _ = their_signed
    with pytest.raises(KeyFormatError, match="ECDSA"):
        verify_model(model, sig, SigningKey.generate("ed25519").public_key)


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"not json",
        b"\xff\xfe",
        b"[]",
        b'{"mediaType": "application/vnd.dev.sigstore.bundle.v0.3+json"}',
        b'{"mediaType": "application/vnd.dev.sigstore.bundle+json;version=0.2"}',
    ],
)
def test_garbage_bundle(their_signed, tmp_path, content):
    model, _, pub = their_signed
    bad = tmp_path / "bad.sig"
    bad.write_bytes(content)
    with pytest.raises(SignatureError):
        verify_model(model, bad, pub)


def test_certificate_bundle_refused(their_signed, tmp_path):
    model, sig, pub = their_signed

    def to_cert(b):
        b["verificationMaterial"] = {"certificate": {"rawBytes": "AAAA"}, "tlogEntries": []}

    with pytest.raises(SignatureError, match="not signed with a private key"):
        verify_model(model, tamper(sig, tmp_path / "c.sig", to_cert), pub)


def test_theirs_shards(model, their_key, tmp_path):
    priv, pub = their_key
    sig = tmp_path / "shards.sig"
    ms_sign(model, sig, priv, shard_size=1024)
    _, statement = load_bundle(sig)
    # model-signing 1.1 writes the shard size through a protobuf Struct (a float).
    assert statement["predicate"]["serialization"]["shard_size"] == 1024
    report = verify_model(model, sig, pub)
    assert report.ok, report.summary()
    assert report.config["shard_size"] == 1024
    write(model, "weights/layer0.bin", bytes(range(256)) * 39)  # shorter: last shard gone
    write(model, "new.bin", b"n" * 3000)
    report = verify_model(model, sig, pub)
    assert [m.path for m in report.modified] == ["weights/layer0.bin"]
    assert report.modified[0].expected_size == 10240
    assert report.modified[0].actual_size == 9984
    assert report.added == ["new.bin"]


def test_roundtrip_ours_to_ours_shards_tamper(model, our_key):
    key, pub = our_key
    sig = sign_model(model, key, shard_size=4096)
    assert verify_model(model, sig, pub).ok
    (model / "empty.txt").unlink()  # empty files have no shard: invisible in shards mode
    assert verify_model(model, sig, pub).ok
    os.remove(model / "config.json")
    assert verify_model(model, sig, pub).removed == ["config.json"]
