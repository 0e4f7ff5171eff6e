//! Reading PEM files: certificate chains, private keys and CA bundles. Every
//! error names the file and says what is wrong with it in words an operator
//! can act on, because `mpos serve` stops at start with exactly that line.

use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::fmt;
use std::path::{Path, PathBuf};

/// What a file is for, as an error message names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRole {
    /// A certificate chain, leaf first.
    Certificate,
    /// The private key of a certificate.
    PrivateKey,
    /// CA certificates whose client certificates are accepted.
    ClientCa,
    /// CA certificates a client trusts.
    TrustedCa,
}

impl fmt::Display for FileRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FileRole::Certificate => "certificate file",
            FileRole::PrivateKey => "private key file",
            FileRole::ClientCa => "client CA file",
            FileRole::TrustedCa => "CA file",
        })
    }
}

/// A TLS file that cannot be used: which one, and why.
#[derive(Debug, thiserror::Error)]
#[error("{role} {path}: {problem}", path = path.display())]
pub struct TlsFileError {
    /// What the file is for.
    pub role: FileRole,
    /// The file as configured.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: Problem,
}

/// What is wrong with a TLS file.
#[derive(Debug, thiserror::Error)]
pub enum Problem {
    /// Missing, unreadable or a folder.
    #[error("cannot read it ({0})")]
    Unreadable(std::io::Error),
    /// No PEM block of the kind wanted.
    #[error("not PEM: no {0} block in it")]
    NotPem(&'static str),
    /// A PEM block that does not decode.
    #[error("not valid PEM ({0})")]
    BadPem(String),
    /// The key is not the certificate's.
    #[error("the key does not match the certificate in {0}")]
    KeyMismatch(String),
    /// rustls refused the contents (an unsupported key type, a CA that is
    /// not a certificate...).
    #[error("{0}")]
    Refused(String),
}

impl TlsFileError {
    /// An error about `path`, used as `role`.
    pub fn new(role: FileRole, path: &Path, problem: Problem) -> Self {
        TlsFileError {
            role,
            path: path.to_owned(),
            problem,
        }
    }
}

/// Reads a certificate chain (leaf first): at least one certificate.
pub fn certificates(
    path: &Path,
    role: FileRole,
) -> Result<Vec<CertificateDer<'static>>, TlsFileError> {
    let bytes = read(path, role)?;
    let chain = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsFileError::new(role, path, pem_problem(error, "CERTIFICATE")))?;
    if chain.is_empty() {
        return Err(TlsFileError::new(
            role,
            path,
            Problem::NotPem("CERTIFICATE"),
        ));
    }
    Ok(chain)
}

/// Reads a private key (PKCS#8, PKCS#1 or SEC1): the first one in the file.
pub fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, TlsFileError> {
    let role = FileRole::PrivateKey;
    let bytes = read(path, role)?;
    PrivateKeyDer::from_pem_slice(&bytes)
        .map_err(|error| TlsFileError::new(role, path, pem_problem(error, "PRIVATE KEY")))
}

/// Reads CA certificates into a root store.
pub fn root_store(path: &Path, role: FileRole) -> Result<rustls::RootCertStore, TlsFileError> {
    let mut roots = rustls::RootCertStore::empty();
    for certificate in certificates(path, role)? {
        roots
            .add(certificate)
            .map_err(|error| TlsFileError::new(role, path, Problem::Refused(error.to_string())))?;
    }
    Ok(roots)
}

fn read(path: &Path, role: FileRole) -> Result<Vec<u8>, TlsFileError> {
    std::fs::read(path).map_err(|error| TlsFileError::new(role, path, Problem::Unreadable(error)))
}

fn pem_problem(error: pem::Error, wanted: &'static str) -> Problem {
    match error {
        pem::Error::NoItemsFound => Problem::NotPem(wanted),
        pem::Error::Io(error) => Problem::Unreadable(error),
        other => Problem::BadPem(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn a_missing_file_is_named_with_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.pem");
        let error = certificates(&path, FileRole::Certificate).unwrap_err();
        let line = error.to_string();
        assert!(line.starts_with("certificate file "), "{line}");
        assert!(line.contains("nope.pem: cannot read it"), "{line}");
    }

    #[test]
    fn text_that_is_not_pem_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "cert.pem", "hello, not a certificate\n");
        let error = certificates(&path, FileRole::Certificate).unwrap_err();
        assert!(matches!(error.problem, Problem::NotPem("CERTIFICATE")));
        let key = write(dir.path(), "key.pem", "hello\n");
        let error = private_key(&key).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!(
                "private key file {}: not PEM: no PRIVATE KEY block in it",
                key.display()
            )
        );
    }

    #[test]
    fn a_certificate_is_read_and_a_broken_block_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_owned()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let good = write(dir.path(), "good.pem", &cert.pem());
        assert_eq!(certificates(&good, FileRole::Certificate).unwrap().len(), 1);
        assert!(private_key(&write(dir.path(), "k.pem", &key.serialize_pem())).is_ok());
        let broken = cert.pem().replace("-----END CERTIFICATE-----", "");
        let broken = write(dir.path(), "broken.pem", &broken);
        let error = certificates(&broken, FileRole::Certificate).unwrap_err();
        assert!(matches!(error.problem, Problem::BadPem(_)), "{error}");
    }
}
