//! Who the peer is: the subject common name of its verified certificate.
//! On the device link that name is the reader's serial (host-interface.md
//! section 8), so a stolen app password cannot sign on another reader.

use rustls::pki_types::CertificateDer;

/// The subject common name of `certificate` (the leaf of a verified chain):
/// `None` when it has none, several, or one that is not text.
pub fn common_name(certificate: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(certificate.as_ref()).ok()?;
    let mut names = parsed.subject().iter_common_name();
    let name = names.next()?;
    if names.next().is_some() {
        return None;
    }
    name.as_str().ok().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(names: &[&str]) -> CertificateDer<'static> {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::new()).unwrap();
        params.distinguished_name = rcgen::DistinguishedName::new();
        for name in names {
            params
                .distinguished_name
                .push(rcgen::DnType::CommonName, *name);
        }
        params.self_signed(&key).unwrap().der().clone()
    }

    #[test]
    fn the_common_name_is_the_serial() {
        assert_eq!(
            common_name(&certificate(&["MPOS-0001"])).as_deref(),
            Some("MPOS-0001")
        );
    }

    #[test]
    fn no_common_name_or_bytes_that_are_not_a_certificate_name_nobody() {
        assert_eq!(common_name(&certificate(&[])), None);
        assert_eq!(
            common_name(&CertificateDer::from(vec![0x30, 0x03, 1, 2, 3])),
            None
        );
    }
}
