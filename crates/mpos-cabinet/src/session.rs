//! Sessions and CSRF. A session token is 256 random bits in an HttpOnly,
//! SameSite=Lax cookie (Secure behind https); the store keeps only its
//! SHA-256. Sessions end after 30 minutes idle or 12 hours in all, on
//! logout, and on a password change. Forms of a session carry its CSRF
//! token; forms before login (the login itself) use a double-submit cookie
//! whose value the server signs ([`CsrfKey`]): someone who can plant a
//! cookie (a sibling subdomain, a man in the middle of plain http) cannot
//! make up one that passes, only a value this process issued.

use axum::http::HeaderMap;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac};

/// The session cookie.
pub const SESSION_COOKIE: &str = "mpos_session";
/// The double-submit CSRF cookie of forms shown before login.
pub const CSRF_COOKIE: &str = "mpos_csrf";
/// The language cookie.
pub const LANG_COOKIE: &str = "mpos_lang";
/// A session unused this long has ended.
pub const IDLE_MS: i64 = 30 * 60 * 1000;
/// A session this old has ended, however busy.
pub const ABSOLUTE_MS: i64 = 12 * 60 * 60 * 1000;

/// 256 random bits as hex; `None` only if the system's randomness fails.
pub fn new_token() -> Option<String> {
    let mut bytes = [0u8; 32];
    SystemRandom::new().fill(&mut bytes).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// What the store keeps of a token.
pub fn token_hash(token: &str) -> [u8; 32] {
    let digest = digest::digest(&digest::SHA256, token.as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// The key that signs the double-submit CSRF tokens of forms shown before
/// login. Random per process: a restart only makes a login form open at
/// that moment answer 403 once (reload, and it works), and no key has to
/// be stored.
pub struct CsrfKey(hmac::Key);

/// The separator of a signed token's nonce and signature (not a hex digit).
const SIGNED: char = '.';
/// What a signature signs besides the nonce: a signature made for anything
/// else under the same key is no CSRF token.
const CSRF_CONTEXT: &[u8] = b"mpos double-submit csrf\0";

impl CsrfKey {
    /// A fresh random key; `None` only if the system's randomness fails.
    pub fn random() -> Option<CsrfKey> {
        let mut secret = [0u8; 32];
        SystemRandom::new().fill(&mut secret).ok()?;
        Some(CsrfKey(hmac::Key::new(hmac::HMAC_SHA256, &secret)))
    }

    /// A new signed token, `<nonce hex>.<signature hex>`: the double-submit
    /// cookie's value and the form's hidden field alike. `None` only if the
    /// system's randomness fails.
    pub fn new_token(&self) -> Option<String> {
        let nonce = new_token()?;
        Some(format!(
            "{nonce}{SIGNED}{}",
            hex(self.sign(&nonce).as_ref())
        ))
    }

    /// Whether `token` is one this key signed: the signature checked in
    /// constant time (ring's `hmac::verify`).
    pub fn signed(&self, token: &str) -> bool {
        let Some((nonce, signature)) = token.split_once(SIGNED) else {
            return false;
        };
        let Some(signature) = unhex(signature) else {
            return false;
        };
        nonce.len() == 64 && hmac::verify(&self.0, &Self::message(nonce), &signature).is_ok()
    }

    fn sign(&self, nonce: &str) -> hmac::Tag {
        hmac::sign(&self.0, &Self::message(nonce))
    }

    fn message(nonce: &str) -> Vec<u8> {
        [CSRF_CONTEXT, nonce.as_bytes()].concat()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex into bytes; `None` for anything else.
fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).ok())
        .collect()
}

/// Whether two secrets are equal, in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The value of cookie `name` in the request, if any.
pub fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

/// A `Set-Cookie` value: HttpOnly, SameSite as given, Path=/, Secure when
/// the cabinet is served over https; `max_age` 0 deletes it.
pub fn set_cookie(
    name: &str,
    value: &str,
    secure: bool,
    same_site: &str,
    max_age: Option<u64>,
) -> String {
    let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite={same_site}");
    if secure {
        cookie.push_str("; Secure");
    }
    if let Some(seconds) = max_age {
        cookie.push_str(&format!("; Max-Age={seconds}"));
    }
    cookie
}

/// Whether a session of these times is still alive at `now`.
pub fn alive(created_at: i64, last_seen_at: i64, now: i64) -> bool {
    now - last_seen_at < IDLE_MS && now - created_at < ABSOLUTE_MS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_stored_hashed() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_ne!(token_hash(&a), token_hash(&b));
        assert_eq!(token_hash(&a), token_hash(&a));
    }

    #[test]
    fn cookies_are_read_and_written_with_their_flags() {
        let mut headers = HeaderMap::new();
        headers.insert(
            axum::http::header::COOKIE,
            "a=1; mpos_session=abc; b=2".parse().unwrap(),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, "c"), None);
        assert_eq!(
            set_cookie(SESSION_COOKIE, "v", true, "Lax", None),
            "mpos_session=v; Path=/; HttpOnly; SameSite=Lax; Secure"
        );
        assert!(set_cookie(SESSION_COOKIE, "", false, "Lax", Some(0)).ends_with("Max-Age=0"));
    }

    #[test]
    fn sessions_expire_idle_and_absolute() {
        assert!(alive(0, 0, IDLE_MS - 1));
        assert!(!alive(0, 0, IDLE_MS));
        assert!(!alive(0, ABSOLUTE_MS - 1, ABSOLUTE_MS), "busy but too old");
        assert!(
            same_secret("abc", "abc") && !same_secret("abc", "abd") && !same_secret("ab", "abc")
        );
    }

    #[test]
    fn csrf_tokens_pass_only_with_this_keys_signature() {
        let key = CsrfKey::random().unwrap();
        let token = key.new_token().unwrap();
        assert!(key.signed(&token));
        assert_ne!(token, key.new_token().unwrap());
        let (nonce, signature) = token.split_once('.').unwrap();
        assert_eq!((nonce.len(), signature.len()), (64, 64));
        let other = CsrfKey::random().unwrap();
        assert!(!other.signed(&token), "another key's token");
        for forged in [
            nonce.to_owned(),
            format!("{nonce}."),
            format!("{nonce}.{}", "0".repeat(64)),
            format!("{}.{signature}", "0".repeat(64)),
            format!("{nonce}.{signature}00"),
            format!("{nonce}.{}", "é".repeat(32)),
            String::new(),
        ] {
            assert!(!key.signed(&forged), "{forged}");
        }
    }
}
