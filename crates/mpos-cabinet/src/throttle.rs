//! Failed logins per client address: after [`MAX_FAILURES`] within a
//! minute, every login from that address is answered 429 for the rest of
//! that minute, before any password is checked (on top of the per-e-mail
//! lockout, which a sprayer of ever-new e-mails never reaches).
//!
//! Counted in memory, not in the store: a spray would otherwise turn into
//! writes on the one writer thread that payments commit through, and a
//! restart that forgets a one-minute window gives a sprayer nothing (the
//! per-e-mail lockout, which must survive restarts, stays in the store).
//! Memory is bounded: at most [`CAPACITY`] addresses are tracked; when
//! full, windows that have ended are dropped (at most once a second, so a
//! flood of new addresses does not rescan the map on every login), and if
//! it is still full a new address goes uncounted (logged): its checks still
//! wait for the bounded password pool, so they cannot take the CPU.
//!
//! An IPv6 client is counted by its /64: one host usually holds a whole
//! /64, and counting single IPv6 addresses would let it spray from 2^64.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

/// Failed logins from one address that end its logins for the window.
pub const MAX_FAILURES: u32 = 20;
/// The window, from an address's first counted login.
pub const WINDOW_MS: i64 = 60 * 1000;
/// Addresses tracked at once (each a few dozen bytes).
pub const CAPACITY: usize = 100_000;
/// The least time between two sweeps of ended windows.
const SWEEP_EVERY_MS: i64 = 1000;

/// Who is counted: an IPv4 address, or an IPv6 /64.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Client {
    V4([u8; 4]),
    V6Prefix([u8; 8]),
}

impl From<IpAddr> for Client {
    fn from(address: IpAddr) -> Self {
        match address {
            IpAddr::V4(v4) => Client::V4(v4.octets()),
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) => Client::V4(v4.octets()),
                None => {
                    let mut prefix = [0u8; 8];
                    prefix.copy_from_slice(&v6.octets()[..8]);
                    Client::V6Prefix(prefix)
                }
            },
        }
    }
}

/// One address's window: when it started and the logins counted in it.
#[derive(Debug, Clone, Copy)]
struct Window {
    started: i64,
    counted: u32,
}

#[derive(Debug, Default)]
struct Windows {
    by_client: HashMap<Client, Window>,
    last_sweep: i64,
}

/// The failed-login counts of the cabinet's clients.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    windows: Mutex<Windows>,
}

/// A login that may check a password: counted as a failure from the start
/// (so that concurrent logins from one address cannot all slip past the
/// bound), and forgiven with [`LoginThrottle::forgive`] if it succeeds or
/// checks no password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a login that does not fail is forgiven"]
pub struct Counted {
    client: Client,
    started: i64,
}

/// How long a refused address must wait, in whole seconds (at least 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryAfter(pub u64);

impl LoginThrottle {
    /// Counts a login from `address` at `now` (ms since the epoch), or
    /// refuses it until its window ends.
    pub fn begin(&self, address: IpAddr, now: i64) -> Result<Option<Counted>, RetryAfter> {
        let client = Client::from(address);
        // A poisoned lock only loses the counting, never a login.
        let Ok(mut windows) = self.windows.lock() else {
            return Ok(None);
        };
        if let Some(window) = windows.by_client.get_mut(&client) {
            let ends = window.started.saturating_add(WINDOW_MS);
            if now < ends {
                if window.counted >= MAX_FAILURES {
                    let wait_ms = u64::try_from(ends - now).unwrap_or(0);
                    return Err(RetryAfter(wait_ms.div_ceil(1000).max(1)));
                }
                window.counted += 1;
                return Ok(Some(Counted {
                    client,
                    started: window.started,
                }));
            }
            *window = Window {
                started: now,
                counted: 1,
            };
            return Ok(Some(Counted {
                client,
                started: now,
            }));
        }
        if windows.by_client.len() >= CAPACITY {
            windows.sweep(now);
            if windows.by_client.len() >= CAPACITY {
                tracing::warn!(
                    tracked = CAPACITY,
                    "too many client addresses failing logins at once; a new one goes uncounted"
                );
                return Ok(None);
            }
        }
        windows.by_client.insert(
            client,
            Window {
                started: now,
                counted: 1,
            },
        );
        Ok(Some(Counted {
            client,
            started: now,
        }))
    }

    /// Takes back a counted login that did not fail (it succeeded, or it
    /// ended before any password was checked).
    pub fn forgive(&self, counted: Option<Counted>) {
        let Some(counted) = counted else { return };
        if let Ok(mut windows) = self.windows.lock() {
            if let Some(window) = windows.by_client.get_mut(&counted.client) {
                if window.started == counted.started {
                    window.counted = window.counted.saturating_sub(1);
                }
            }
        }
    }

    /// Addresses tracked now.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.windows.lock().map_or(0, |w| w.by_client.len())
    }
}

impl Windows {
    /// Drops the windows that have ended, at most once a second.
    fn sweep(&mut self, now: i64) {
        if now.saturating_sub(self.last_sweep) < SWEEP_EVERY_MS {
            return;
        }
        self.last_sweep = now;
        self.by_client
            .retain(|_, window| now < window.started.saturating_add(WINDOW_MS));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    const HOME: IpAddr = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));

    #[test]
    fn the_twenty_first_login_within_the_minute_is_refused_until_it_ends() {
        let throttle = LoginThrottle::default();
        for n in 0..20 {
            assert!(throttle.begin(HOME, 1_000 + n).is_ok(), "login {n}");
        }
        assert_eq!(throttle.begin(HOME, 1_020), Err(RetryAfter(60)));
        assert_eq!(throttle.begin(HOME, 60_000), Err(RetryAfter(1)));
        assert_eq!(throttle.begin(HOME, 31_000), Err(RetryAfter(30)));
        let other = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 8));
        assert!(
            throttle.begin(other, 1_020).is_ok(),
            "others are not refused"
        );
        assert!(throttle.begin(HOME, 61_000).is_ok(), "a new minute");
    }

    #[test]
    fn forgiven_logins_do_not_count() {
        let throttle = LoginThrottle::default();
        for n in 0..100 {
            let counted = throttle.begin(HOME, n).expect("never refused");
            throttle.forgive(counted);
        }
        assert!(throttle.begin(HOME, 100).is_ok());
    }

    #[test]
    fn an_ipv6_client_is_counted_by_its_64_and_mapped_ipv4_as_ipv4() {
        let throttle = LoginThrottle::default();
        for n in 0..20u16 {
            let address = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, n, n, n, n));
            let _ = throttle.begin(address, 0).expect("within the bound");
        }
        let neighbour = IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 1, 2, 9, 9, 9, 99));
        assert!(throttle.begin(neighbour, 1).is_err(), "the same /64");
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped());
        for _ in 0..20 {
            let _ = throttle.begin(HOME, 0).expect("within the bound");
        }
        assert!(throttle.begin(mapped, 1).is_err(), "the same IPv4 client");
    }

    #[test]
    fn memory_stays_bounded_and_ended_windows_make_room() {
        let throttle = LoginThrottle::default();
        let address = |n: usize| {
            let n = u32::try_from(n).expect("small");
            IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + n))
        };
        for n in 0..CAPACITY {
            let _ = throttle.begin(address(n), 0).expect("counted");
        }
        assert_eq!(throttle.tracked(), CAPACITY);
        assert_eq!(
            throttle.begin(address(CAPACITY), 10).map(|c| c.is_some()),
            Ok(false),
            "full: a new address goes uncounted"
        );
        assert_eq!(throttle.tracked(), CAPACITY);
        let _ = throttle
            .begin(address(CAPACITY), WINDOW_MS)
            .expect("counted");
        assert_eq!(throttle.tracked(), 1, "ended windows were swept");
    }
}
