//! Password hashing for cabinet and app passwords: PBKDF2-HMAC-SHA256 from
//! `ring`, 600,000 iterations, a 16-byte random salt per hash. Stored as
//! `pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>`, so the cost can rise
//! later without invalidating existing hashes.

use ring::pbkdf2;
use ring::rand::{SecureRandom, SystemRandom};
use std::fmt;
use std::num::NonZeroU32;

/// Iterations for new hashes (OWASP's 2023 figure for PBKDF2-HMAC-SHA256).
pub const PBKDF2_ITERATIONS: u32 = 600_000;

const SCHEME: &str = "pbkdf2-sha256";
const SALT_LEN: usize = 16;
const HASH_LEN: usize = 32;

/// A salted, slow hash of a password, in its stored text form.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

/// Why a password could not be hashed or a stored hash read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// The system's random number generator failed.
    #[error("the system random number generator failed")]
    Random,
    /// A stored hash is not of the form this module writes.
    #[error("the stored password hash is malformed")]
    Malformed,
}

impl PasswordHash {
    /// Hashes `password` with a fresh random salt.
    pub fn new(password: &str) -> Result<PasswordHash, PasswordError> {
        let mut salt = [0u8; SALT_LEN];
        SystemRandom::new()
            .fill(&mut salt)
            .map_err(|_| PasswordError::Random)?;
        Ok(PasswordHash::with_salt(password, &salt, PBKDF2_ITERATIONS))
    }

    fn with_salt(password: &str, salt: &[u8], iterations: u32) -> PasswordHash {
        let rounds = NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN);
        let mut hash = [0u8; HASH_LEN];
        pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            rounds,
            salt,
            password.as_bytes(),
            &mut hash,
        );
        PasswordHash(format!(
            "{SCHEME}${iterations}${}${}",
            hex(salt),
            hex(&hash)
        ))
    }

    /// A stored hash, checked for shape.
    pub fn parse(stored: &str) -> Result<PasswordHash, PasswordError> {
        parts(stored)?;
        Ok(PasswordHash(stored.to_owned()))
    }

    /// Whether `password` is the one hashed; constant-time in the hash.
    pub fn verify(&self, password: &str) -> bool {
        let Ok((rounds, salt, hash)) = parts(&self.0) else {
            return false;
        };
        pbkdf2::verify(
            pbkdf2::PBKDF2_HMAC_SHA256,
            rounds,
            &salt,
            password.as_bytes(),
            &hash,
        )
        .is_ok()
    }

    /// The stored text form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    /// Never prints the hash itself.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

fn parts(stored: &str) -> Result<(NonZeroU32, Vec<u8>, Vec<u8>), PasswordError> {
    let mut pieces = stored.split('$');
    let (Some(SCHEME), Some(iterations), Some(salt), Some(hash), None) = (
        pieces.next(),
        pieces.next(),
        pieces.next(),
        pieces.next(),
        pieces.next(),
    ) else {
        return Err(PasswordError::Malformed);
    };
    let rounds = iterations
        .parse::<u32>()
        .ok()
        .and_then(NonZeroU32::new)
        .ok_or(PasswordError::Malformed)?;
    let salt = unhex(salt)
        .filter(|s| !s.is_empty())
        .ok_or(PasswordError::Malformed)?;
    let hash = unhex(hash)
        .filter(|h| h.len() == HASH_LEN)
        .ok_or(PasswordError::Malformed)?;
    Ok((rounds, salt, hash))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_right_password_verifies_and_others_do_not() {
        let hash = PasswordHash::new("demo-password-1").unwrap();
        assert!(hash.verify("demo-password-1"));
        assert!(!hash.verify("demo-password-2"));
        assert!(!hash.verify(""));
        assert!(hash.as_str().starts_with("pbkdf2-sha256$600000$"));
    }

    #[test]
    fn salts_differ_so_equal_passwords_hash_differently() {
        assert_ne!(
            PasswordHash::new("same").unwrap(),
            PasswordHash::new("same").unwrap()
        );
    }

    #[test]
    fn stored_hashes_round_trip_and_malformed_ones_never_verify() {
        let hash = PasswordHash::with_salt("pw", b"0123456789abcdef", 1000);
        let parsed = PasswordHash::parse(hash.as_str()).unwrap();
        assert!(parsed.verify("pw"));
        for bad in [
            "",
            "pbkdf2-sha256$0$00$00",
            "md5$1$00$00",
            "pbkdf2-sha256$10$zz$00",
            "pbkdf2-sha256$10$00$0011",
        ] {
            assert_eq!(
                PasswordHash::parse(bad),
                Err(PasswordError::Malformed),
                "{bad}"
            );
            assert!(!PasswordHash(bad.to_owned()).verify("pw"));
        }
    }

    #[test]
    fn debug_does_not_print_the_hash() {
        let hash = PasswordHash::new("pw").unwrap();
        assert_eq!(format!("{hash:?}"), "PasswordHash(..)");
    }
}
