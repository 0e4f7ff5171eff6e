//! Sessions and CSRF. A session token is 256 random bits in an HttpOnly,
//! SameSite=Lax cookie (Secure behind https); the store keeps only its
//! SHA-256. Sessions end after 30 minutes idle or 12 hours in all, on
//! logout, and on a password change. Forms of a session carry its CSRF
//! token; forms before login (the login itself) use a double-submit cookie.

use axum::http::HeaderMap;
use ring::digest;
use ring::rand::{SecureRandom, SystemRandom};

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
}
