//! `[issuer]` and `[upstream]`: who decides purchases (the built-in
//! simulator, or the card processor over the upstream link of
//! `shared/spec/upstream-interface.md`), and how the processor is reached.

use super::ConfigError;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// `[issuer]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct IssuerSection {
    /// Who decides step 9.
    pub mode: IssuerMode,
}

/// `issuer.mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum IssuerMode {
    /// The built-in simulator (amounts ending in 51 → 51, 05 → 05).
    Simulator,
    /// The card processor of `[upstream]`.
    Upstream,
}

/// `[upstream]`: the card processor, used with `issuer.mode = "upstream"`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSection {
    /// The processor's addresses (`host:port`), tried in this order.
    pub hosts: Vec<String>,
    /// DE 32: the bank's acquiring institution code, 1 to 11 digits.
    pub acquirer_id: String,
    /// How long an answer may take, milliseconds (then 91 and a reversal).
    pub timeout_ms: u64,
    /// Seconds of silence after which the host sends an echo.
    pub echo_interval_secs: u64,
    /// The longest wait between reconnection rounds, seconds.
    pub reconnect_max_secs: u64,
    /// Seconds between repeats (0421) of an unacknowledged reversal advice.
    pub saf_retry_secs: u64,
    /// The wire layout: a shipped name or a .toml file.
    pub layout: String,
    /// TLS to the processor.
    pub tls: bool,
    /// PEM file of the CAs to trust (TLS).
    pub ca: String,
    /// The name the processor's certificate must carry (TLS).
    pub server_name: String,
    /// A client certificate, PEM, when the processor asks for one (TLS).
    pub cert: String,
    /// The client certificate's key, PEM (TLS).
    pub key: String,
}

impl UpstreamSection {
    /// The answer timeout.
    pub fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms)
    }

    /// Its rules, checked only in upstream mode (the simulator needs none of it).
    pub(super) fn check(&self) -> Result<(), ConfigError> {
        let value = |key, problem: String| Err(ConfigError::Value { key, problem });
        if self.hosts.is_empty() {
            return value(
                "upstream.hosts",
                "names no processor: give at least one \"host:port\" when issuer.mode = \"upstream\"".into(),
            );
        }
        for host in &self.hosts {
            if !is_address(host) {
                return value(
                    "upstream.hosts",
                    format!(
                        "{host:?} is not an address: write \"host:port\", e.g. \"10.1.2.3:7000\""
                    ),
                );
            }
        }
        let id = &self.acquirer_id;
        if id.is_empty() || id.len() > 11 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return value(
                "upstream.acquirer_id",
                format!(
                    "{id:?} must be 1 to 11 digits (the bank's acquiring institution code, DE 32)"
                ),
            );
        }
        let ranges: [(&'static str, u64, u64, u64); 4] = [
            ("upstream.timeout_ms", self.timeout_ms, 1, 600_000),
            (
                "upstream.echo_interval_secs",
                self.echo_interval_secs,
                1,
                86_400,
            ),
            (
                "upstream.reconnect_max_secs",
                self.reconnect_max_secs,
                1,
                3_600,
            ),
            ("upstream.saf_retry_secs", self.saf_retry_secs, 1, 86_400),
        ];
        for (key, got, low, high) in ranges {
            if !(low..=high).contains(&got) {
                return value(key, format!("{got} must be from {low} to {high}"));
            }
        }
        if let Err(error) = mpos_iso8583::Layout::load(&self.layout) {
            return value("upstream.layout", error.to_string());
        }
        if self.tls {
            if self.ca.is_empty() {
                return value(
                    "upstream.ca",
                    "must name the PEM file of the CAs to trust when upstream.tls = true".into(),
                );
            }
            if rustls_pki_types::ServerName::try_from(self.server_name.as_str()).is_err() {
                return value(
                    "upstream.server_name",
                    format!(
                        "{:?} must be the DNS name or IP address the processor's certificate carries",
                        self.server_name
                    ),
                );
            }
            if self.cert.is_empty() != self.key.is_empty() {
                let key = if self.cert.is_empty() {
                    "upstream.cert"
                } else {
                    "upstream.key"
                };
                return value(
                    key,
                    "a client certificate needs both upstream.cert and upstream.key".into(),
                );
            }
        }
        Ok(())
    }

    /// The link's TLS from `ca`, `cert`, `key` and `server_name`, or `None`
    /// without TLS. A file that cannot be used is refused naming its key.
    pub fn link_tls(&self) -> Result<Option<mpos_upstream::LinkTls>, ConfigError> {
        if !self.tls {
            return Ok(None);
        }
        let refused = |key: &'static str| {
            move |error: mpos_tls::TlsFileError| ConfigError::Value {
                key,
                problem: error.to_string(),
            }
        };
        let trusted = mpos_tls::ClientTls::trusting(std::path::Path::new(&self.ca))
            .map_err(refused("upstream.ca"))?;
        let identity = if self.cert.is_empty() {
            None
        } else {
            Some(
                mpos_tls::ClientIdentity::load(
                    std::path::Path::new(&self.cert),
                    std::path::Path::new(&self.key),
                )
                .map_err(|error| {
                    let key = match error.role {
                        mpos_tls::FileRole::PrivateKey => "upstream.key",
                        _ => "upstream.cert",
                    };
                    refused(key)(error)
                })?,
            )
        };
        // One long-lived connection: resumption would save one handshake a
        // reconnection, not worth a cache.
        let config = trusted
            .config(identity.as_ref(), false)
            .map_err(refused("upstream.cert"))?;
        let server_name = rustls_pki_types::ServerName::try_from(self.server_name.clone())
            .map_err(|error| ConfigError::Value {
                key: "upstream.server_name",
                problem: error.to_string(),
            })?;
        Ok(Some(mpos_upstream::LinkTls {
            connector: mpos_tls::TlsConnector::from(config),
            server_name,
        }))
    }
}

/// `host:port` with a port from 1 to 65535 and a host that is not empty.
fn is_address(text: &str) -> bool {
    let Some((host, port)) = text.rsplit_once(':') else {
        return false;
    };
    !host.trim_matches(['[', ']']).is_empty()
        && !host.contains(char::is_whitespace)
        && port.parse::<u16>().is_ok_and(|p| p > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section() -> UpstreamSection {
        UpstreamSection {
            hosts: vec!["127.0.0.1:7000".into(), "processor.bank.by:7000".into()],
            acquirer_id: "12345678901".into(),
            timeout_ms: 15_000,
            echo_interval_secs: 30,
            reconnect_max_secs: 30,
            saf_retry_secs: 30,
            layout: "generic-1987-ascii".into(),
            tls: false,
            ca: String::new(),
            server_name: String::new(),
            cert: String::new(),
            key: String::new(),
        }
    }

    fn refused_key(section: &UpstreamSection) -> &'static str {
        match section.check() {
            Err(ConfigError::Value { key, .. }) => key,
            other => panic!("refused: {other:?}"),
        }
    }

    #[test]
    fn every_refusal_names_its_key() {
        assert!(section().check().is_ok());
        let mut s = section();
        s.hosts.clear();
        assert_eq!(refused_key(&s), "upstream.hosts");
        s.hosts = vec!["10.1.2.3".into()];
        assert_eq!(refused_key(&s), "upstream.hosts");
        s.hosts = vec!["10.1.2.3:0".into()];
        assert_eq!(refused_key(&s), "upstream.hosts");
        let mut s = section();
        s.acquirer_id = "12a".into();
        assert_eq!(refused_key(&s), "upstream.acquirer_id");
        s.acquirer_id = "123456789012".into();
        assert_eq!(refused_key(&s), "upstream.acquirer_id");
        let mut s = section();
        s.timeout_ms = 0;
        assert_eq!(refused_key(&s), "upstream.timeout_ms");
        let mut s = section();
        s.saf_retry_secs = 0;
        assert_eq!(refused_key(&s), "upstream.saf_retry_secs");
        let mut s = section();
        s.layout = "no-such-layout".into();
        assert_eq!(refused_key(&s), "upstream.layout");
        let mut s = section();
        s.tls = true;
        assert_eq!(refused_key(&s), "upstream.ca");
        s.ca = "ca.pem".into();
        assert_eq!(refused_key(&s), "upstream.server_name");
        s.server_name = "processor.bank.by".into();
        s.cert = "client.pem".into();
        assert_eq!(refused_key(&s), "upstream.key");
        s.key = "client.key".into();
        assert!(s.check().is_ok());
    }

    #[test]
    fn an_unreadable_tls_file_is_refused_naming_its_key() {
        let mut s = section();
        s.tls = true;
        s.ca = "/nonexistent/ca.pem".into();
        s.server_name = "localhost".into();
        match s.link_tls() {
            Err(ConfigError::Value { key, problem }) => {
                assert_eq!(key, "upstream.ca");
                assert!(problem.contains("/nonexistent/ca.pem"), "{problem}");
            }
            other => panic!("refused: {:?}", other.map(|t| t.is_some())),
        }
    }
}
