//! `mpos admin tls demo-certs`: throwaway certificates for trying TLS and
//! mutual TLS on a laptop or in tests — a CA, a server certificate for
//! `localhost` and `127.0.0.1`, and a client certificate per card reader
//! whose CN is its serial (host-interface.md, section 8). Every name says
//! they are for testing only, and the CA's key is written beside them: they
//! prove nothing and must never reach production.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose,
};
use std::fs::OpenOptions;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// What every certificate's organisation says.
const TESTING_ONLY: &str = "mpos demo - FOR TESTING ONLY";

/// Why the certificates could not be written.
#[derive(Debug, thiserror::Error)]
pub enum DemoCertsError {
    /// A certificate or key could not be made.
    #[error("cannot make the {what}: {source}")]
    Make {
        /// Which one.
        what: String,
        /// rcgen's reason.
        source: rcgen::Error,
    },
    /// A serial cannot name a file.
    #[error("the serial {0:?} cannot name a file: it must not be empty, '.', '..' or hold '/'")]
    Serial(String),
    /// A file exists already: certificates are never overwritten.
    #[error(
        "{0} exists already: remove it or choose another folder (demo certificates are never overwritten)"
    )]
    Exists(PathBuf),
    /// The folder or a file could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file or folder.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

/// Writes the CA, the server's and each device's certificate and key into
/// `dir`; the files written, in order.
pub fn write(dir: &Path, devices: &[String]) -> Result<Vec<PathBuf>, DemoCertsError> {
    for serial in devices {
        if serial.is_empty() || serial == "." || serial == ".." || serial.contains(['/', '\0']) {
            return Err(DemoCertsError::Serial(serial.clone()));
        }
    }
    let mut names = vec!["ca".to_owned(), "server".to_owned()];
    names.extend(devices.iter().cloned());
    for name in &names {
        for extension in ["pem", "key"] {
            let path = dir.join(format!("{name}.{extension}"));
            if path.exists() {
                return Err(DemoCertsError::Exists(path));
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(|source| DemoCertsError::Write {
        path: dir.to_owned(),
        source,
    })?;

    let make = |what: &str| {
        let what = what.to_owned();
        move |source| DemoCertsError::Make { what, source }
    };
    let ca_key = KeyPair::generate().map_err(make("CA's key"))?;
    let mut ca = CertificateParams::new(Vec::<String>::new()).map_err(make("CA"))?;
    ca.distinguished_name = name("mpos demo CA - FOR TESTING ONLY");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    let ca_cert = ca.self_signed(&ca_key).map_err(make("CA"))?;
    let mut written = Vec::new();
    written.push(save(dir, "ca.pem", &ca_cert.pem(), 0o644)?);
    written.push(save(dir, "ca.key", &ca_key.serialize_pem(), 0o600)?);
    let issuer = Issuer::new(ca, ca_key);

    let mut leaf = |file: &str,
                    alt_names: Vec<String>,
                    common_name: &str,
                    usage: ExtendedKeyUsagePurpose|
     -> Result<(), DemoCertsError> {
        let key = KeyPair::generate().map_err(make(file))?;
        let mut params = CertificateParams::new(alt_names).map_err(make(file))?;
        params.distinguished_name = name(common_name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![usage];
        params.use_authority_key_identifier_extension = true;
        let cert = params.signed_by(&key, &issuer).map_err(make(file))?;
        written.push(save(dir, &format!("{file}.pem"), &cert.pem(), 0o644)?);
        written.push(save(
            dir,
            &format!("{file}.key"),
            &key.serialize_pem(),
            0o600,
        )?);
        Ok(())
    };
    leaf(
        "server",
        vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
        "localhost",
        ExtendedKeyUsagePurpose::ServerAuth,
    )?;
    for serial in devices {
        leaf(
            serial,
            Vec::new(),
            serial,
            ExtendedKeyUsagePurpose::ClientAuth,
        )?;
    }
    Ok(written)
}

/// A subject: its CN, and the organisation that says "testing only".
fn name(common_name: &str) -> DistinguishedName {
    let mut name = DistinguishedName::new();
    name.push(DnType::CommonName, common_name);
    name.push(DnType::OrganizationName, TESTING_ONLY);
    name
}

/// Writes a new file with `mode`; never overwrites.
fn save(dir: &Path, file: &str, text: &str, mode: u32) -> Result<PathBuf, DemoCertsError> {
    let path = dir.join(file);
    let failed = |source| DemoCertsError::Write {
        path: path.clone(),
        source,
    };
    let mut out = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&path)
        .map_err(failed)?;
    out.write_all(text.as_bytes()).map_err(failed)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_a_ca_a_server_and_each_device_keys_private_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let files = write(dir.path(), &["MPOS-0001".to_owned()]).unwrap();
        let names: Vec<String> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            names,
            [
                "ca.pem",
                "ca.key",
                "server.pem",
                "server.key",
                "MPOS-0001.pem",
                "MPOS-0001.key"
            ]
        );
        use std::os::unix::fs::PermissionsExt;
        for file in &files {
            let mode = std::fs::metadata(file).unwrap().permissions().mode() & 0o777;
            if file.extension().is_some_and(|e| e == "key") {
                assert_eq!(mode, 0o600, "{}", file.display());
            } else {
                assert_eq!(mode & 0o022, 0, "{}: {mode:o}", file.display());
            }
        }
        let err = write(dir.path(), &[]).unwrap_err().to_string();
        assert!(err.contains("exists already"), "{err}");
    }

    #[test]
    fn a_serial_that_cannot_name_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        for serial in ["", ".", "..", "MPOS/77"] {
            let err = write(dir.path(), &[serial.to_owned()]).unwrap_err();
            assert!(
                matches!(err, DemoCertsError::Serial(_)),
                "{serial:?}: {err}"
            );
        }
        assert!(!dir.path().join("ca.pem").exists(), "nothing written");
    }
}
