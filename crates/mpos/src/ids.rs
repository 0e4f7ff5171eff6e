//! Checks of what operators type and fixture files hold, before anything is
//! hashed or written: the field rules of the domain (DE 41, 42, 62), plus
//! names, e-mails and the cabinet's password rule.

use mpos_domain::entities::VtKind;
use mpos_domain::ids::{DeviceSerial, MerchantId, TerminalId};
use mpos_store::ops::terminals::TerminalRow;
use std::fmt;

/// A value that breaks its rule, with the rule in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdError(String);

impl fmt::Display for IdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for IdError {}

/// Shortest password accepted (the cabinet's rule for new passwords).
pub const MIN_PASSWORD_LEN: usize = 10;

fn printable(text: &str) -> bool {
    text.bytes().all(|b| (0x20..=0x7E).contains(&b))
}

/// A merchant ID, as DE 42 carries it.
pub fn merchant_id(id: &str) -> Result<(), IdError> {
    MerchantId::new(id).map(drop).map_err(|e| IdError(e.0))
}

/// A virtual terminal ID, as DE 41 carries it.
pub fn terminal_id(id: &str) -> Result<(), IdError> {
    TerminalId::new(id).map(drop).map_err(|e| IdError(e.0))
}

/// A device serial, as DE 62 carries it.
pub fn device_serial(serial: &str) -> Result<(), IdError> {
    DeviceSerial::new(serial)
        .map(drop)
        .map_err(|e| IdError(e.0))
}

/// A display name: 1 to 100 characters, no control characters.
pub fn name(name: &str) -> Result<(), IdError> {
    let length = name.chars().count();
    if (1..=100).contains(&length) && !name.chars().any(char::is_control) && name.trim() == name {
        Ok(())
    } else {
        Err(IdError(format!(
            "name {name:?} must be 1 to 100 characters without control characters"
        )))
    }
}

/// An e-mail address, checked for shape only (local@domain.tld).
pub fn email(email: &str) -> Result<(), IdError> {
    let shaped = email.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
    });
    if shaped && email.len() <= 254 && !email.chars().any(|c| c.is_whitespace() || c.is_control()) {
        Ok(())
    } else {
        Err(IdError(format!(
            "e-mail {email:?} is not an address like name@example.by"
        )))
    }
}

/// A mobile app password travels in DE 48 (ans..999): 1 to 999 printable
/// ASCII characters. Only the cabinet's own passwords have a minimum length.
pub fn app_password(password: &str) -> Result<(), IdError> {
    if (1..=999).contains(&password.len()) && printable(password) {
        Ok(())
    } else {
        Err(IdError(
            "an app password must be 1 to 999 printable ASCII characters (DE 48)".into(),
        ))
    }
}

/// A cabinet password: at least 10 characters.
pub fn password(password: &str) -> Result<(), IdError> {
    if password.chars().count() >= MIN_PASSWORD_LEN {
        Ok(())
    } else {
        Err(IdError(format!(
            "a password needs at least {MIN_PASSWORD_LEN} characters"
        )))
    }
}

/// A whole virtual terminal: ID, merchant, name, kind and months, currency, limit.
pub fn terminal(t: &TerminalRow) -> Result<(), String> {
    terminal_id(&t.id).map_err(|e| e.to_string())?;
    merchant_id(&t.merchant_id).map_err(|e| e.to_string())?;
    name(&t.name).map_err(|e| e.to_string())?;
    VtKind::new(&t.kind, t.installment_months)?;
    if !(1..=999).contains(&t.currency) {
        return Err(format!(
            "currency {} is not an ISO 4217 numeric code",
            t.currency
        ));
    }
    if t.limit_minor == Some(0) {
        return Err("a limit must be above 0 (leave it out for no limit)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_values_pass_and_near_misses_fail() {
        assert!(merchant_id("MTB000000000001").is_ok());
        assert!(merchant_id("MTB00000000001").is_err());
        assert!(terminal_id("10000001").is_ok());
        assert!(terminal_id("1000001").is_err());
        assert!(device_serial("MPOS-0001").is_ok());
        assert!(device_serial(" MPOS").is_err());
        assert!(device_serial(&"x".repeat(33)).is_err());
        assert!(device_serial("МПОС").is_err(), "DE 62 is ASCII");
        assert!(name("ООО «Ромашка»").is_ok());
        assert!(name("").is_err());
        assert!(email("demo@merchant.test").is_ok());
        for bad in [
            "demo",
            "@merchant.test",
            "demo@test",
            "demo@.test",
            "de mo@x.by",
        ] {
            assert!(email(bad).is_err(), "{bad}");
        }
        assert!(password("app-pass-1").is_ok());
        assert!(password("short").is_err());
        assert!(app_password("load-pass").is_ok());
        assert!(app_password("").is_err());
        assert!(app_password("пароль").is_err(), "DE 48 is ASCII");
    }
}
