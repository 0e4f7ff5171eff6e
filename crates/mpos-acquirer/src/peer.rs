//! What the transport vouches for about the device at the other end of a
//! connection: with mutual TLS, the serial in its client certificate's CN
//! (host-interface.md section 8); a sign-on for any other serial is 63,
//! whatever its password or ticket.

use mpos_domain::ids::DeviceSerial;

/// The identity a connection's transport proved.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Certified {
    /// Plain TCP, or TLS without client certificates: no identity.
    #[default]
    Nothing,
    /// Mutual TLS: the client certificate's subject CN; `None` when the
    /// certificate has no single text CN, which no serial matches.
    Serial(Option<String>),
}

impl Certified {
    /// Whether a sign-on for `serial` may go ahead on this connection.
    pub fn allows(&self, serial: &DeviceSerial) -> bool {
        match self {
            Certified::Nothing => true,
            Certified::Serial(name) => name.as_deref() == Some(serial.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serial(text: &str) -> DeviceSerial {
        DeviceSerial::new(text).unwrap()
    }

    #[test]
    fn only_the_certificates_serial_may_sign_on_under_mutual_tls() {
        assert!(Certified::Nothing.allows(&serial("MPOS-0001")));
        let certified = Certified::Serial(Some("MPOS-0001".into()));
        assert!(certified.allows(&serial("MPOS-0001")));
        assert!(!certified.allows(&serial("MPOS-0002")));
        assert!(!Certified::Serial(None).allows(&serial("MPOS-0001")));
    }
}
