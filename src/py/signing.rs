//! Bindings for keys and DSSE envelopes (`core::integrity::signing`).

use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::core::integrity::signing::{self, Envelope, KeyAlgorithm, PublicKey, SigningKey};

/// A private signing key (Ed25519, or ECDSA P-256, P-384 or P-521).
#[pyclass(name = "SigningKey", module = "mlsentry._core", frozen)]
pub struct PySigningKey {
    pub(crate) inner: SigningKey,
}

#[pymethods]
impl PySigningKey {
    #[staticmethod]
    #[pyo3(signature = (algorithm = "ed25519"))]
    fn generate(algorithm: &str) -> PyResult<Self> {
        Ok(Self {
            inner: SigningKey::generate(KeyAlgorithm::parse(algorithm)?),
        })
    }

    #[staticmethod]
    #[pyo3(signature = (pem, passphrase = None))]
    fn from_pem(pem: &str, passphrase: Option<&[u8]>) -> PyResult<Self> {
        Ok(Self {
            inner: SigningKey::from_pem(pem, passphrase)?,
        })
    }

    #[pyo3(signature = (passphrase = None))]
    fn to_pem(&self, passphrase: Option<&[u8]>) -> PyResult<String> {
        Ok(self.inner.to_pem(passphrase)?)
    }

    #[getter]
    fn algorithm(&self) -> &'static str {
        self.inner.algorithm().name()
    }

    fn public_key(&self) -> PyPublicKey {
        PyPublicKey {
            inner: self.inner.public_key(),
        }
    }

    fn sign<'py>(&self, py: Python<'py>, message: &[u8]) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &self.inner.sign(message))
    }
}

/// A public verification key (Ed25519, or ECDSA P-256, P-384 or P-521).
#[pyclass(name = "PublicKey", module = "mlsentry._core", frozen, eq)]
#[derive(Clone, PartialEq)]
pub struct PyPublicKey {
    pub(crate) inner: PublicKey,
}

#[pymethods]
impl PyPublicKey {
    #[staticmethod]
    fn from_pem(pem: &str) -> PyResult<Self> {
        Ok(Self {
            inner: PublicKey::from_pem(pem)?,
        })
    }

    fn to_pem(&self) -> String {
        self.inner.to_pem()
    }

    #[getter]
    fn algorithm(&self) -> &'static str {
        self.inner.algorithm().name()
    }

    #[getter]
    fn key_id(&self) -> String {
        self.inner.key_id()
    }

    fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        self.inner.verify(message, signature)
    }
}

/// DSSE v1 pre-authentication encoding of (payload type, payload).
#[pyfunction]
fn dsse_pae<'py>(py: Python<'py>, payload_type: &str, payload: &[u8]) -> Bound<'py, PyBytes> {
    PyBytes::new(py, &signing::pae(payload_type.as_bytes(), payload))
}

/// A DSSE envelope (JSON text) over `payload`, signed by `key`.
#[pyfunction]
fn dsse_sign(payload_type: &str, payload: &[u8], key: &PySigningKey) -> String {
    Envelope::sign(payload_type, payload, &key.inner).to_json()
}

/// The payload of a DSSE envelope (JSON text) once a signature by `key` verifies.
#[pyfunction]
#[pyo3(signature = (envelope_json, key, expected_type = None))]
fn dsse_verify<'py>(
    py: Python<'py>,
    envelope_json: &str,
    key: &PyPublicKey,
    expected_type: Option<&str>,
) -> PyResult<Bound<'py, PyBytes>> {
    let env = Envelope::from_json(envelope_json)?;
    let payload = env.verify(&key.inner, expected_type)?;
    Ok(PyBytes::new(py, &payload))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PySigningKey>()?;
    m.add_class::<PyPublicKey>()?;
    m.add_function(wrap_pyfunction!(dsse_pae, m)?)?;
    m.add_function(wrap_pyfunction!(dsse_sign, m)?)?;
    m.add_function(wrap_pyfunction!(dsse_verify, m)?)?;
    Ok(())
}
