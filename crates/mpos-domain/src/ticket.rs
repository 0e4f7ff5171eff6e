//! Sign-on tickets (host interface, section 4): 256 random bits as 64 hex
//! characters, handed to a device in the 0810 of every successful sign-on
//! and accepted in DE 61 instead of its app password. Checking one costs a
//! SHA-256, not a PBKDF2 of 600,000 rounds, so a fleet that reconnects after
//! a restart signs on again in seconds. Only the hash is ever stored; the
//! text lives in memory only, is wiped on drop and never printed.

use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};
use std::fmt;
use zeroize::Zeroize;

/// Hex digits of a ticket.
pub const TICKET_LEN: usize = 64;

/// A sign-on ticket: 64 upper-case hex characters.
#[derive(Clone, PartialEq, Eq)]
pub struct Ticket(String);

/// The SHA-256 of a ticket: what the store keeps and compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TicketHash(pub [u8; 32]);

/// The system's randomness failed: no ticket can be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the system's random number generator failed: no sign-on ticket can be made")]
pub struct NoRandomness;

impl Ticket {
    /// A new ticket of 256 random bits.
    pub fn generate() -> Result<Ticket, NoRandomness> {
        let mut bits = [0u8; TICKET_LEN / 2];
        SystemRandom::new()
            .fill(&mut bits)
            .map_err(|_| NoRandomness)?;
        let mut text = String::with_capacity(TICKET_LEN);
        for byte in bits {
            text.push(char::from(HEX[usize::from(byte >> 4)]));
            text.push(char::from(HEX[usize::from(byte & 0x0F)]));
        }
        bits.zeroize();
        Ok(Ticket(text))
    }

    /// The ticket a device sent in DE 61, or `None` when it cannot be one
    /// of ours (not 64 hex characters; either case is taken): answered 63
    /// like any ticket that is not valid.
    pub fn parse(text: &str) -> Option<Ticket> {
        (text.len() == TICKET_LEN && text.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| Ticket(text.to_ascii_uppercase()))
    }

    /// The text, for DE 61 of the 0810.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Its SHA-256.
    pub fn hash(&self) -> TicketHash {
        let mut out = [0u8; 32];
        out.copy_from_slice(digest::digest(&digest::SHA256, self.0.as_bytes()).as_ref());
        TicketHash(out)
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

impl Drop for Ticket {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl fmt::Debug for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Ticket(<secret>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_is_64_hex_characters_and_reads_back() {
        let ticket = Ticket::generate().expect("randomness");
        assert_eq!(ticket.as_str().len(), TICKET_LEN);
        assert!(ticket.as_str().bytes().all(|b| HEX.contains(&b)));
        let read = Ticket::parse(&ticket.as_str().to_ascii_lowercase()).expect("it parses");
        assert_eq!(read, ticket, "either case is the same ticket");
        assert_eq!(read.hash(), ticket.hash());
        assert_ne!(
            Ticket::generate().expect("randomness"),
            ticket,
            "256 random bits"
        );
    }

    #[test]
    fn anything_else_is_not_a_ticket_and_none_prints() {
        for text in ["", "ABC", &"G".repeat(64), &"A".repeat(63), &"A".repeat(65)] {
            assert!(Ticket::parse(text).is_none(), "{text:?}");
        }
        let ticket = Ticket::generate().expect("randomness");
        assert!(!format!("{ticket:?}").contains(ticket.as_str()));
    }
}
