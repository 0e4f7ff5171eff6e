//! The hosts a run talks to (`--iso A,B`): devices are spread over them by
//! index, and a device whose connection fails or drops moves on to the next
//! address, as an app configured with several hosts fails over when its
//! host dies.

use super::LoadgenError;

/// The hosts' ISO 8583 addresses, in the order given.
pub(super) struct Hosts {
    addresses: Vec<String>,
}

impl Hosts {
    /// Parses `A[,B...]`: at least one address, none empty.
    pub(super) fn parse(list: &str) -> Result<Hosts, LoadgenError> {
        let addresses: Vec<String> = list.split(',').map(|a| a.trim().to_owned()).collect();
        if addresses.iter().any(String::is_empty) {
            return Err(LoadgenError::Hosts(list.to_owned()));
        }
        Ok(Hosts { addresses })
    }

    /// Every address.
    pub(super) fn addresses(&self) -> &[String] {
        &self.addresses
    }

    /// Host `host`'s address.
    pub(super) fn address(&self, host: usize) -> &str {
        &self.addresses[host % self.addresses.len()]
    }

    /// The host device `index` starts on.
    pub(super) fn first_for(&self, index: u32) -> usize {
        usize::try_from(index).unwrap_or(0) % self.addresses.len()
    }

    /// The host after `host`, wrapping; `None` when there is only one.
    pub(super) fn next(&self, host: usize) -> Option<usize> {
        (self.addresses.len() > 1).then(|| (host + 1) % self.addresses.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn devices_are_spread_and_move_on_in_order() {
        let hosts = Hosts::parse("127.0.0.1:1, 127.0.0.1:2").unwrap();
        assert_eq!(hosts.addresses(), ["127.0.0.1:1", "127.0.0.1:2"]);
        assert_eq!(
            (hosts.first_for(0), hosts.first_for(1), hosts.first_for(2)),
            (0, 1, 0)
        );
        assert_eq!(hosts.next(1), Some(0));
        assert_eq!(hosts.address(1), "127.0.0.1:2");
        let one = Hosts::parse("127.0.0.1:1").unwrap();
        assert_eq!(one.next(0), None);
        assert!(Hosts::parse("127.0.0.1:1,").is_err());
    }
}
