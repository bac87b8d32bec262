//! Keys, signatures and DSSE envelopes.
//!
//! * Keys are Ed25519 (the default) or ECDSA on P-256, P-384 or P-521 (the curves the
//!   OpenSSF Model Signing verifier accepts; each signs the SHA-2 digest of its size:
//!   SHA-256, SHA-384, SHA-512), stored as PKCS#8 PEM, optionally encrypted with a passphrase (PBES2: scrypt
//!   and AES-256-CBC when we write; PBKDF2 or scrypt when we read).
//! * A public key is SPKI PEM; its key id is the hex SHA-256 of its SPKI DER encoding.
//! * ECDSA signatures are written DER-encoded (as sigstore and in-toto tools expect) and
//!   read in DER or raw `r || s` form. Ed25519 signatures are the raw 64 bytes.
//! * DSSE: the signature covers `PAE(payloadType, payload)` exactly as the DSSE v1 protocol
//!   defines it; envelopes are written with standard base64 and read in standard or
//!   URL-safe base64, padded or not.

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use ed25519_dalek::Signer as _;
use p256::ecdsa::signature::Verifier as _;
use pkcs8::der::pem::LineEnding;
use pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use rand_core::OsRng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::core::error::{CoreError, CoreResult};

const OID_ED25519: &str = "1.3.101.112";
const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
// The named curves of an EC key (RFC 5480).
const OID_P256: &str = "1.2.840.10045.3.1.7";
const OID_P384: &str = "1.3.132.0.34";
const OID_P521: &str = "1.3.132.0.35";
const SUPPORTED: &str = "use Ed25519 or ECDSA P-256, P-384 or P-521";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    Ed25519,
    EcdsaP256,
    EcdsaP384,
    EcdsaP521,
}

impl KeyAlgorithm {
    pub fn parse(name: &str) -> CoreResult<Self> {
        match name.to_ascii_lowercase().replace(['-', '_'], "").as_str() {
            "ed25519" => Ok(Self::Ed25519),
            "ecdsap256" | "p256" | "ecdsa" | "secp256r1" | "ecdsasha2nistp256" => {
                Ok(Self::EcdsaP256)
            }
            "ecdsap384" | "p384" | "secp384r1" | "ecdsasha2nistp384" => Ok(Self::EcdsaP384),
            "ecdsap521" | "p521" | "secp521r1" | "ecdsasha2nistp521" => Ok(Self::EcdsaP521),
            _ => Err(CoreError::invalid(format!(
                "algorithm: expected \"ed25519\", \"ecdsa-p256\", \"ecdsa-p384\" or \
                 \"ecdsa-p521\", got {name:?}"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Ed25519 => "ed25519",
            Self::EcdsaP256 => "ecdsa-p256",
            Self::EcdsaP384 => "ecdsa-p384",
            Self::EcdsaP521 => "ecdsa-p521",
        }
    }
}

pub enum SigningKey {
    Ed25519(ed25519_dalek::SigningKey),
    EcdsaP256(p256::ecdsa::SigningKey),
    EcdsaP384(p384::ecdsa::SigningKey),
    EcdsaP521(p521::ecdsa::SigningKey),
}

#[derive(Clone)]
pub enum PublicKey {
    Ed25519(ed25519_dalek::VerifyingKey),
    EcdsaP256(p256::ecdsa::VerifyingKey),
    EcdsaP384(p384::ecdsa::VerifyingKey),
    EcdsaP521(p521::ecdsa::VerifyingKey),
}

// Two keys are the same key when their encodings are (p521's key type has no `==`).
impl PartialEq for PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki_der() == other.spki_der()
    }
}

impl Eq for PublicKey {}

fn key_err(what: &str, e: impl std::fmt::Display) -> CoreError {
    CoreError::Key(format!("{what}: {e}"))
}

/// The PEM label and DER body of a PEM document.
fn pem_parts(pem: &str) -> CoreResult<(String, Vec<u8>)> {
    let (label, der) = pkcs8::der::pem::decode_vec(pem.trim().as_bytes())
        .map_err(|e| key_err("not a PEM document (truncated or garbled?)", e))?;
    Ok((label.to_string(), der))
}

impl SigningKey {
    pub fn generate(algorithm: KeyAlgorithm) -> Self {
        match algorithm {
            KeyAlgorithm::Ed25519 => Self::Ed25519(ed25519_dalek::SigningKey::generate(&mut OsRng)),
            KeyAlgorithm::EcdsaP256 => Self::EcdsaP256(p256::ecdsa::SigningKey::random(&mut OsRng)),
            KeyAlgorithm::EcdsaP384 => Self::EcdsaP384(p384::ecdsa::SigningKey::random(&mut OsRng)),
            KeyAlgorithm::EcdsaP521 => Self::EcdsaP521(p521::ecdsa::SigningKey::random(&mut OsRng)),
        }
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        match self {
            Self::Ed25519(_) => KeyAlgorithm::Ed25519,
            Self::EcdsaP256(_) => KeyAlgorithm::EcdsaP256,
            Self::EcdsaP384(_) => KeyAlgorithm::EcdsaP384,
            Self::EcdsaP521(_) => KeyAlgorithm::EcdsaP521,
        }
    }

    /// Reads a PKCS#8 PEM private key; `passphrase` is required for an encrypted one.
    pub fn from_pem(pem: &str, passphrase: Option<&[u8]>) -> CoreResult<Self> {
        let (label, der) = pem_parts(pem)?;
        let plain = match (label.as_str(), passphrase) {
            ("ENCRYPTED PRIVATE KEY", Some(pw)) => {
                let enc = pkcs8::EncryptedPrivateKeyInfo::try_from(der.as_slice())
                    .map_err(|e| key_err("malformed encrypted private key", e))?;
                enc.decrypt(pw)
                    .map_err(|_| CoreError::Key("wrong passphrase for this private key".into()))?
                    .as_bytes()
                    .to_vec()
            }
            ("ENCRYPTED PRIVATE KEY", None) => {
                return Err(CoreError::Key(
                    "this private key is encrypted: give its passphrase (passphrase=..., or \
                     --passphrase-env VAR on the command line)"
                        .into(),
                ))
            }
            ("PRIVATE KEY", Some(_)) => {
                return Err(CoreError::Key(
                    "a passphrase was given but this private key is not encrypted: leave the \
                     passphrase out, or save the key with one to encrypt it"
                        .into(),
                ))
            }
            ("PRIVATE KEY", None) => der,
            ("PUBLIC KEY", _) => {
                return Err(CoreError::Key(
                    "this is a public key; a private (signing) key is needed".into(),
                ))
            }
            (other, _) => {
                return Err(CoreError::Key(format!(
                    "unsupported PEM type {other:?}: expected a PKCS#8 \"PRIVATE KEY\" \
                     (convert with `openssl pkcs8 -topk8`)"
                )))
            }
        };
        Self::from_pkcs8_der(&plain)
    }

    fn from_pkcs8_der(der: &[u8]) -> CoreResult<Self> {
        let info = pkcs8::PrivateKeyInfo::try_from(der)
            .map_err(|e| key_err("malformed PKCS#8 private key", e))?;
        match info.algorithm.oid.to_string().as_str() {
            OID_ED25519 => ed25519_dalek::SigningKey::from_pkcs8_der(der)
                .map(Self::Ed25519)
                .map_err(|e| key_err("malformed Ed25519 private key", e)),
            OID_EC_PUBLIC_KEY => {
                let bad = |e: pkcs8::Error| key_err("malformed EC private key", e);
                match ec_curve(info.algorithm.parameters_oid().ok())?.as_str() {
                    OID_P256 => p256::ecdsa::SigningKey::from_pkcs8_der(der)
                        .map(Self::EcdsaP256)
                        .map_err(bad),
                    OID_P384 => p384::ecdsa::SigningKey::from_pkcs8_der(der)
                        .map(Self::EcdsaP384)
                        .map_err(bad),
                    // p521's SigningKey has no PKCS#8 codec of its own: through SecretKey.
                    _ => p521::SecretKey::from_pkcs8_der(der)
                        .map_err(bad)
                        .and_then(|k| {
                            p521::ecdsa::SigningKey::from_bytes(&k.to_bytes())
                                .map_err(|e| key_err("malformed EC private key", e))
                        })
                        .map(Self::EcdsaP521),
                }
            }
            oid => Err(CoreError::Key(format!(
                "unsupported key type (algorithm OID {oid}): {SUPPORTED}"
            ))),
        }
    }

    /// PKCS#8 PEM, encrypted when `passphrase` is given.
    pub fn to_pem(&self, passphrase: Option<&[u8]>) -> CoreResult<String> {
        let doc = match self {
            Self::Ed25519(k) => k.to_pkcs8_der(),
            Self::EcdsaP256(k) => k.to_pkcs8_der(),
            Self::EcdsaP384(k) => k.to_pkcs8_der(),
            Self::EcdsaP521(k) => p521::SecretKey::from_bytes(&k.to_bytes())
                .map_err(|_| pkcs8::Error::KeyMalformed)
                .and_then(|sk| sk.to_pkcs8_der()),
        }
        .map_err(|e| key_err("cannot encode private key", e))?;
        let pem = match passphrase {
            None => doc.to_pem("PRIVATE KEY", LineEnding::LF),
            Some(pw) => pkcs8::PrivateKeyInfo::try_from(doc.as_bytes())
                .and_then(|info| info.encrypt(OsRng, pw))
                .map_err(|e| key_err("cannot encrypt private key", e))?
                .to_pem("ENCRYPTED PRIVATE KEY", LineEnding::LF),
        }
        .map_err(|e| key_err("cannot encode private key", e))?;
        Ok(pem.to_string())
    }

    pub fn public_key(&self) -> PublicKey {
        match self {
            Self::Ed25519(k) => PublicKey::Ed25519(k.verifying_key()),
            Self::EcdsaP256(k) => PublicKey::EcdsaP256(*k.verifying_key()),
            Self::EcdsaP384(k) => PublicKey::EcdsaP384(*k.verifying_key()),
            Self::EcdsaP521(k) => PublicKey::EcdsaP521(p521::ecdsa::VerifyingKey::from(k)),
        }
    }

    /// Signs `message`: Ed25519 raw 64 bytes; ECDSA over the curve's SHA-2 (P-256:
    /// SHA-256, P-384: SHA-384, P-521: SHA-512), DER-encoded.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        match self {
            Self::Ed25519(k) => k.sign(message).to_bytes().to_vec(),
            Self::EcdsaP256(k) => {
                let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(k, message);
                sig.to_der().as_bytes().to_vec()
            }
            Self::EcdsaP384(k) => {
                let sig: p384::ecdsa::Signature = p384::ecdsa::signature::Signer::sign(k, message);
                sig.to_der().as_bytes().to_vec()
            }
            Self::EcdsaP521(k) => {
                let sig: p521::ecdsa::Signature = p521::ecdsa::signature::Signer::sign(k, message);
                sig.to_der().as_bytes().to_vec()
            }
        }
    }
}

impl PublicKey {
    pub fn from_pem(pem: &str) -> CoreResult<Self> {
        let (label, der) = pem_parts(pem)?;
        if label != "PUBLIC KEY" {
            return Err(CoreError::Key(format!(
                "expected a \"PUBLIC KEY\" PEM (SubjectPublicKeyInfo), got {label:?}"
            )));
        }
        Self::from_spki_der(&der)
    }

    pub fn from_spki_der(der: &[u8]) -> CoreResult<Self> {
        let info = pkcs8::spki::SubjectPublicKeyInfoRef::try_from(der)
            .map_err(|e| key_err("malformed public key", e))?;
        match info.algorithm.oid.to_string().as_str() {
            OID_ED25519 => ed25519_dalek::VerifyingKey::from_public_key_der(der)
                .map(Self::Ed25519)
                .map_err(|e| key_err("malformed Ed25519 public key", e)),
            OID_EC_PUBLIC_KEY => {
                let bad = |e: pkcs8::spki::Error| key_err("malformed EC public key", e);
                match ec_curve(info.algorithm.parameters_oid().ok())?.as_str() {
                    OID_P256 => p256::ecdsa::VerifyingKey::from_public_key_der(der)
                        .map(Self::EcdsaP256)
                        .map_err(bad),
                    OID_P384 => p384::ecdsa::VerifyingKey::from_public_key_der(der)
                        .map(Self::EcdsaP384)
                        .map_err(bad),
                    _ => p521::PublicKey::from_public_key_der(der)
                        .map_err(bad)
                        .and_then(|k| {
                            p521::ecdsa::VerifyingKey::from_affine(*k.as_affine())
                                .map_err(|e| key_err("malformed EC public key", e))
                        })
                        .map(Self::EcdsaP521),
                }
            }
            oid => Err(CoreError::Key(format!(
                "unsupported key type (algorithm OID {oid}): {SUPPORTED}"
            ))),
        }
    }

    pub fn algorithm(&self) -> KeyAlgorithm {
        match self {
            Self::Ed25519(_) => KeyAlgorithm::Ed25519,
            Self::EcdsaP256(_) => KeyAlgorithm::EcdsaP256,
            Self::EcdsaP384(_) => KeyAlgorithm::EcdsaP384,
            Self::EcdsaP521(_) => KeyAlgorithm::EcdsaP521,
        }
    }

    pub fn spki_der(&self) -> Vec<u8> {
        let doc = match self {
            Self::Ed25519(k) => k.to_public_key_der(),
            Self::EcdsaP256(k) => k.to_public_key_der(),
            Self::EcdsaP384(k) => k.to_public_key_der(),
            Self::EcdsaP521(k) => p521::PublicKey::from_affine(*k.as_affine())
                .map_err(|_| pkcs8::spki::Error::KeyMalformed)
                .and_then(|pk| pk.to_public_key_der()),
        };
        // Encoding a valid in-memory key cannot fail; an empty result would simply never
        // match any key id.
        doc.map(|d| d.as_bytes().to_vec()).unwrap_or_default()
    }

    pub fn to_pem(&self) -> String {
        let der = self.spki_der();
        pkcs8::der::pem::encode_string("PUBLIC KEY", LineEnding::LF, &der).unwrap_or_default()
    }

    /// Hex SHA-256 of the SPKI DER encoding: stable across PEM formatting.
    pub fn key_id(&self) -> String {
        hex::encode(Sha256::digest(self.spki_der()))
    }

    /// Whether `signature` is a valid signature of `message` by this key.
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        match self {
            Self::Ed25519(k) => ed25519_dalek::Signature::from_slice(signature)
                .map(|s| k.verify_strict(message, &s).is_ok())
                .unwrap_or(false),
            Self::EcdsaP256(k) => {
                let sig = p256::ecdsa::Signature::from_der(signature)
                    .or_else(|_| p256::ecdsa::Signature::from_slice(signature));
                sig.map(|s| k.verify(message, &s).is_ok()).unwrap_or(false)
            }
            Self::EcdsaP384(k) => {
                let sig = p384::ecdsa::Signature::from_der(signature)
                    .or_else(|_| p384::ecdsa::Signature::from_slice(signature));
                sig.map(|s| k.verify(message, &s).is_ok()).unwrap_or(false)
            }
            Self::EcdsaP521(k) => {
                let sig = p521::ecdsa::Signature::from_der(signature)
                    .or_else(|_| p521::ecdsa::Signature::from_slice(signature));
                sig.map(|s| k.verify(message, &s).is_ok()).unwrap_or(false)
            }
        }
    }
}

/// The named curve of an EC key, or why it cannot be used.
fn ec_curve(oid: Option<pkcs8::ObjectIdentifier>) -> CoreResult<String> {
    let name = oid.map(|o| o.to_string()).ok_or_else(|| {
        CoreError::Key(
            "EC key without a named curve (explicit parameters are not supported)".into(),
        )
    })?;
    match name.as_str() {
        OID_P256 | OID_P384 | OID_P521 => Ok(name),
        other => Err(CoreError::Key(format!(
            "unsupported elliptic curve (OID {other}): {SUPPORTED}"
        ))),
    }
}

/// DSSE v1 pre-authentication encoding.
pub fn pae(payload_type: &[u8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload_type.len() + payload.len() + 32);
    out.extend_from_slice(b"DSSEv1 ");
    out.extend_from_slice(payload_type.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload_type);
    out.push(b' ');
    out.extend_from_slice(payload.len().to_string().as_bytes());
    out.push(b' ');
    out.extend_from_slice(payload);
    out
}

/// Decodes standard or URL-safe base64, padded or not.
pub fn b64decode(text: &str) -> CoreResult<Vec<u8>> {
    let t = text.trim();
    for engine in [&STANDARD, &URL_SAFE, &STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
        if let Ok(v) = engine.decode(t) {
            return Ok(v);
        }
    }
    Err(CoreError::Signature(format!(
        "not base64: {:?}",
        t.chars().take(40).collect::<String>()
    )))
}

pub fn b64encode(data: &[u8]) -> String {
    STANDARD.encode(data)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EnvelopeSignature {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub keyid: String,
    pub sig: String,
}

/// The DSSE JSON envelope.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Envelope {
    pub payload_type: String,
    pub payload: String,
    pub signatures: Vec<EnvelopeSignature>,
}

impl Envelope {
    pub fn sign(payload_type: &str, payload: &[u8], key: &SigningKey) -> Self {
        let sig = key.sign(&pae(payload_type.as_bytes(), payload));
        Envelope {
            payload_type: payload_type.to_string(),
            payload: b64encode(payload),
            signatures: vec![EnvelopeSignature {
                keyid: key.public_key().key_id(),
                sig: b64encode(&sig),
            }],
        }
    }

    pub fn from_json(text: &str) -> CoreResult<Self> {
        serde_json::from_str(text)
            .map_err(|e| CoreError::Signature(format!("not a DSSE envelope: {e}")))
    }

    pub fn to_json(&self) -> String {
        // Serialising plain strings cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The payload, once a signature by `key` verifies over the exact payload type and
    /// payload bytes; `expected_type` (when given) must match the payload type.
    pub fn verify(&self, key: &PublicKey, expected_type: Option<&str>) -> CoreResult<Vec<u8>> {
        if let Some(t) = expected_type {
            if self.payload_type != t {
                return Err(CoreError::Signature(format!(
                    "payload type is {:?}, expected {t:?}",
                    self.payload_type
                )));
            }
        }
        if self.signatures.is_empty() {
            return Err(CoreError::Signature("the envelope has no signature".into()));
        }
        let payload = b64decode(&self.payload)?;
        let message = pae(self.payload_type.as_bytes(), &payload);
        for s in &self.signatures {
            if let Ok(sig) = b64decode(&s.sig) {
                if key.verify(&message, &sig) {
                    return Ok(payload);
                }
            }
        }
        Err(CoreError::Signature(format!(
            "no signature in the envelope verifies with key {}",
            key.key_id()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decimal_to_be32(s: &str) -> [u8; 32] {
        // Small big-number parser for the published test key (decimal text).
        let mut out = [0u8; 32];
        for ch in s.bytes() {
            let mut carry = u32::from(ch - b'0');
            for b in out.iter_mut().rev() {
                let v = u32::from(*b) * 10 + carry;
                *b = (v & 0xff) as u8;
                carry = v >> 8;
            }
        }
        out
    }

    #[test]
    fn pae_matches_the_dsse_spec() {
        assert_eq!(
            pae(b"http://example.com/HelloWorld", b"hello world"),
            b"DSSEv1 29 http://example.com/HelloWorld 11 hello world".to_vec()
        );
        assert_eq!(pae(b"", b""), b"DSSEv1 0  0 ".to_vec());
    }

    #[test]
    fn dsse_published_vector() {
        // DSSE protocol.md: ECDSA P-256, SHA-256, deterministic RFC 6979, raw r||s.
        let d = decimal_to_be32(
            "97358161215184420915383655311931858321456579547487070936769975997791359926199",
        );
        let sk = p256::ecdsa::SigningKey::from_slice(&d).unwrap();
        let expected = "A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==";
        let msg = pae(b"http://example.com/HelloWorld", b"hello world");
        let sig: p256::ecdsa::Signature = p256::ecdsa::signature::Signer::sign(&sk, &msg);
        assert_eq!(b64encode(&sig.to_bytes()), expected);

        let envelope = Envelope {
            payload_type: "http://example.com/HelloWorld".into(),
            payload: "aGVsbG8gd29ybGQ=".into(),
            signatures: vec![EnvelopeSignature {
                keyid: String::new(),
                sig: expected.into(),
            }],
        };
        let pk = PublicKey::EcdsaP256(*sk.verifying_key());
        assert_eq!(envelope.verify(&pk, None).unwrap(), b"hello world");
    }

    #[test]
    fn sign_verify_round_trip_and_tampering() {
        for alg in [
            KeyAlgorithm::Ed25519,
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::EcdsaP521,
        ] {
            let key = SigningKey::generate(alg);
            let pk = key.public_key();
            let env = Envelope::sign("application/vnd.in-toto+json", b"{\"a\":1}", &key);
            assert_eq!(env.verify(&pk, None).unwrap(), b"{\"a\":1}");
            let mut t = env.clone();
            t.payload_type.push('x');
            assert!(t.verify(&pk, None).is_err());
            let mut t = env.clone();
            t.payload = b64encode(b"{\"a\":2}");
            assert!(t.verify(&pk, None).is_err());
            let other = SigningKey::generate(alg).public_key();
            assert!(env.verify(&other, None).is_err());
            assert!(env.verify(&pk, Some("other/type")).is_err());
        }
    }

    #[test]
    fn pem_round_trips_with_and_without_passphrase() {
        for alg in [
            KeyAlgorithm::Ed25519,
            KeyAlgorithm::EcdsaP256,
            KeyAlgorithm::EcdsaP384,
            KeyAlgorithm::EcdsaP521,
        ] {
            let key = SigningKey::generate(alg);
            let pem = key.to_pem(None).unwrap();
            let back = SigningKey::from_pem(&pem, None).unwrap();
            assert!(back.public_key() == key.public_key());
            let enc = key.to_pem(Some(b"s3cret")).unwrap();
            assert!(enc.contains("ENCRYPTED PRIVATE KEY"));
            assert!(SigningKey::from_pem(&enc, None).is_err());
            assert!(SigningKey::from_pem(&enc, Some(b"wrong")).is_err());
            let back = SigningKey::from_pem(&enc, Some(b"s3cret")).unwrap();
            assert!(back.public_key() == key.public_key());
            let pk = PublicKey::from_pem(&key.public_key().to_pem()).unwrap();
            assert_eq!(pk.key_id(), key.public_key().key_id());
            assert!(SigningKey::from_pem(&pem[..pem.len() / 2], None).is_err());
            assert!(PublicKey::from_pem(&pem).is_err());
        }
    }

    #[test]
    fn base64_variants_accepted() {
        let data = [0xfbu8, 0xff, 0xfe, 0x01];
        for s in ["+//+AQ==", "-__-AQ==", "+//+AQ", "-__-AQ"] {
            assert_eq!(b64decode(s).unwrap(), data);
        }
        assert!(b64decode("!!").is_err());
    }
}
