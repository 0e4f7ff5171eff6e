//! TLS for the simulated apps (`--tls-ca`, `--tls-cert-dir`): one client
//! configuration per device, each with a session cache of its own, so that
//! after a drop every device resumes its own session as the app would,
//! instead of a shared cache handing a few tickets to a fleet.

use super::LoadgenError;
use super::hosts::Hosts;
use super::serials::Serials;
use crate::cli::LoadgenArgs;
use mpos_tls::{ClientIdentity, ClientTls, ServerName, TlsConnector};

/// The devices' TLS connectors and the name the host's certificate must
/// carry.
pub(super) struct Tls {
    /// One per device, by index.
    devices: Vec<TlsConnector>,
    /// For the password guessers: no certificate, no resumption.
    anonymous: TlsConnector,
    /// Each host's name (by its index in `--iso`), as its certificate must
    /// carry it.
    server_names: Vec<ServerName<'static>>,
}

impl Tls {
    /// The run's TLS, when `--tls-ca` asks for it; an error names the file
    /// at fault (all read before the run starts).
    pub(super) fn load(
        args: &LoadgenArgs,
        serials: &Serials,
        hosts: &Hosts,
    ) -> Result<Option<Tls>, LoadgenError> {
        let Some(ca) = &args.tls_ca else {
            return Ok(None);
        };
        let trust = ClientTls::trusting(ca)?;
        let server_names = hosts
            .addresses()
            .iter()
            .map(|address| {
                let name = match &args.tls_server_name {
                    Some(name) => name.clone(),
                    None => host_part(address).to_owned(),
                };
                ServerName::try_from(name.clone()).map_err(|_| LoadgenError::ServerName(name))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let resume = !args.tls_no_resume;
        let devices = (0..args.devices)
            .map(|index| {
                let identity = match &args.tls_cert_dir {
                    Some(dir) => {
                        let serial = serials.nth(index);
                        Some(ClientIdentity::load(
                            &dir.join(format!("{serial}.pem")),
                            &dir.join(format!("{serial}.key")),
                        )?)
                    }
                    None => None,
                };
                Ok(TlsConnector::from(trust.config(identity.as_ref(), resume)?))
            })
            .collect::<Result<Vec<_>, LoadgenError>>()?;
        Ok(Some(Tls {
            devices,
            anonymous: TlsConnector::from(trust.config(None, false)?),
            server_names,
        }))
    }

    /// Device `index`'s connector.
    pub(super) fn device(&self, index: u32) -> Option<&TlsConnector> {
        usize::try_from(index)
            .ok()
            .and_then(|i| self.devices.get(i))
    }

    /// The name host `host` (its index in `--iso`) must show.
    pub(super) fn server_name(&self, host: usize) -> Option<&ServerName<'static>> {
        self.server_names.get(host)
    }

    /// The password guessers' connector.
    pub(super) fn anonymous(&self) -> &TlsConnector {
        &self.anonymous
    }
}

/// `host` of `host:port` or `[v6]:port`.
fn host_part(address: &str) -> &str {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    host.trim_start_matches('[').trim_end_matches(']')
}

#[cfg(test)]
mod tests {
    use super::host_part;

    #[test]
    fn the_server_name_is_the_addresss_host() {
        assert_eq!(host_part("127.0.0.1:8583"), "127.0.0.1");
        assert_eq!(host_part("localhost:8583"), "localhost");
        assert_eq!(host_part("[::1]:8583"), "::1");
    }
}
