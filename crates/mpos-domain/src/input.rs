//! What people type: passwords, display names and e-mail addresses, each a
//! newtype whose only constructor checks the value ("parse, don't
//! validate"). One rule per value, used alike by the cabinet, `mpos admin`
//! and fixture loading, so a password one of them accepts is never refused
//! by another (or by the host at sign-on). Each error says, in words an
//! operator can act on, which rule the value broke; the cabinet maps them to
//! its own translated texts.

use crate::ids::printable;
use std::fmt;
use zeroize::Zeroize;

/// Shortest password accepted, cabinet or app (the cabinet spec: "a new
/// password has at least 10 characters").
pub const MIN_PASSWORD_LEN: usize = 10;

/// Longest app password: it travels in DE 48, `ans..999 LLLVAR`.
pub const MAX_APP_PASSWORD_LEN: usize = 999;

/// Longest display name.
pub const MAX_NAME_LEN: usize = 100;

/// Longest e-mail address (RFC 5321's path limit less the angle brackets).
pub const MAX_EMAIL_LEN: usize = 254;

/// A mobile app password: what DE 48 can carry to the host at sign-on
/// (1 to 999 printable ASCII characters) and what the cabinet asks of a new
/// password (at least [`MIN_PASSWORD_LEN`]), with no space at either end
/// (an app or a form that trims would otherwise never sign on again).
#[derive(Clone, PartialEq, Eq)]
pub struct AppPassword(String);

/// Why a text cannot be an app password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum AppPasswordError {
    /// Fewer than [`MIN_PASSWORD_LEN`] characters.
    #[error("an app password must be at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
    /// More than DE 48 carries.
    #[error(
        "an app password must be at most {MAX_APP_PASSWORD_LEN} characters (DE 48 carries no more)"
    )]
    TooLong,
    /// A character outside printable ASCII (a letter with an accent, a
    /// Cyrillic letter, a tab...).
    #[error(
        "an app password may hold only Latin letters, digits, signs and spaces (printable ASCII, as DE 48 carries)"
    )]
    NotPrintable,
    /// A space at the start or the end.
    #[error("an app password must not begin or end with a space")]
    SurroundingSpaces,
}

impl AppPassword {
    /// Checks `text` against the app password rule; the length first, so a
    /// short password hears that it is short whatever else is wrong.
    pub fn new(text: &str) -> Result<AppPassword, AppPasswordError> {
        let length = text.chars().count();
        if length < MIN_PASSWORD_LEN {
            Err(AppPasswordError::TooShort)
        } else if length > MAX_APP_PASSWORD_LEN {
            Err(AppPasswordError::TooLong)
        } else if !printable(text) {
            Err(AppPasswordError::NotPrintable)
        } else if text.starts_with(' ') || text.ends_with(' ') {
            Err(AppPasswordError::SurroundingSpaces)
        } else {
            Ok(AppPassword(text.to_owned()))
        }
    }

    /// The checked password, to hash or to send in DE 48.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A merchant's cabinet password: at least [`MIN_PASSWORD_LEN`] characters,
/// any characters (it never travels in an ISO 8583 field).
#[derive(Clone, PartialEq, Eq)]
pub struct CabinetPassword(String);

/// Why a text cannot be a cabinet password.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CabinetPasswordError {
    /// Fewer than [`MIN_PASSWORD_LEN`] characters.
    #[error("a cabinet password must be at least {MIN_PASSWORD_LEN} characters")]
    TooShort,
}

impl CabinetPassword {
    /// Checks `text` against the cabinet password rule.
    pub fn new(text: &str) -> Result<CabinetPassword, CabinetPasswordError> {
        if text.chars().count() < MIN_PASSWORD_LEN {
            Err(CabinetPasswordError::TooShort)
        } else {
            Ok(CabinetPassword(text.to_owned()))
        }
    }

    /// The checked password, to hash.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

macro_rules! secret_text {
    ($name:ident) => {
        impl Drop for $name {
            /// A password does not outlive its use in freed memory.
            fn drop(&mut self) {
                self.0.zeroize();
            }
        }

        impl fmt::Debug for $name {
            /// Never prints the password.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "(..)"))
            }
        }
    };
}

secret_text!(AppPassword);
secret_text!(CabinetPassword);

/// A display name (a merchant's, a virtual terminal's): 1 to
/// [`MAX_NAME_LEN`] characters, any script, no control characters and no
/// space at either end.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DisplayName(String);

/// Why a text cannot be a display name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Nothing given.
    #[error("a name must not be empty")]
    Empty,
    /// Longer than [`MAX_NAME_LEN`]; the count is of characters.
    #[error("a name must be at most {MAX_NAME_LEN} characters (this one has {0})")]
    TooLong(usize),
    /// A line break, tab or other control character.
    #[error("name {0:?} must not hold control characters (line breaks, tabs)")]
    ControlCharacter(String),
    /// White space at the start or the end.
    #[error("name {0:?} must not begin or end with a space")]
    SurroundingSpaces(String),
}

impl DisplayName {
    /// Checks `text` against the name rule.
    pub fn new(text: &str) -> Result<DisplayName, NameError> {
        let length = text.chars().count();
        if length == 0 {
            Err(NameError::Empty)
        } else if length > MAX_NAME_LEN {
            Err(NameError::TooLong(length))
        } else if text.chars().any(char::is_control) {
            Err(NameError::ControlCharacter(text.to_owned()))
        } else if text.trim() != text {
            Err(NameError::SurroundingSpaces(text.to_owned()))
        } else {
            Ok(DisplayName(text.to_owned()))
        }
    }

    /// The checked name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DisplayName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address, checked for shape only (`local@domain.tld`): whether
/// anyone reads it is for the mail to find out.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

/// Why a text cannot be an e-mail address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Longer than [`MAX_EMAIL_LEN`] bytes.
    #[error("an e-mail address must be at most {MAX_EMAIL_LEN} characters")]
    TooLong,
    /// A space, tab or other character no address holds.
    #[error("e-mail {0:?} must not hold spaces or control characters")]
    Whitespace(String),
    /// Not of the form `local@domain.tld`.
    #[error("e-mail {0:?} is not an address like name@example.by")]
    NotAnAddress(String),
}

impl Email {
    /// Checks `text` against the e-mail rule.
    pub fn new(text: &str) -> Result<Email, EmailError> {
        let shaped = text.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
        });
        if text.len() > MAX_EMAIL_LEN {
            Err(EmailError::TooLong)
        } else if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            Err(EmailError::Whitespace(text.to_owned()))
        } else if !shaped {
            Err(EmailError::NotAnAddress(text.to_owned()))
        } else {
            Ok(Email(text.to_owned()))
        }
    }

    /// The checked address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn the_demo_app_passwords_pass_and_near_misses_say_why() {
        for good in [
            "app-pass-1",
            "app-pass-101",
            "new-app-pass",
            "load-pass-1",
            "with space inside",
        ] {
            assert_eq!(AppPassword::new(good).unwrap().as_str(), good);
        }
        let max = "x".repeat(MAX_APP_PASSWORD_LEN);
        assert!(AppPassword::new(&max).is_ok(), "DE 48's 999 fit");
        for (bad, why) in [
            ("", AppPasswordError::TooShort),
            ("load-pass", AppPasswordError::TooShort),
            ("пароль", AppPasswordError::TooShort),
            (&format!("{max}x"), AppPasswordError::TooLong),
            ("пароль-пароль-1", AppPasswordError::NotPrintable),
            ("app-pass-1\t", AppPasswordError::NotPrintable),
            ("app-pass-1\u{7f}", AppPasswordError::NotPrintable),
            (" app-pass-1", AppPasswordError::SurroundingSpaces),
            ("app-pass-1 ", AppPasswordError::SurroundingSpaces),
        ] {
            assert_eq!(AppPassword::new(bad).unwrap_err(), why, "{bad:?}");
        }
        assert_eq!(
            AppPasswordError::TooShort.to_string(),
            "an app password must be at least 10 characters"
        );
    }

    #[test]
    fn a_cabinet_password_needs_only_its_length() {
        assert!(CabinetPassword::new("demo-password-1").is_ok());
        assert!(
            CabinetPassword::new(" пароль-пароль ").is_ok(),
            "any script"
        );
        assert_eq!(
            CabinetPassword::new("short").unwrap_err(),
            CabinetPasswordError::TooShort
        );
        assert!(
            CabinetPasswordError::TooShort
                .to_string()
                .contains("at least 10")
        );
    }

    #[test]
    fn passwords_never_print() {
        let app = AppPassword::new("app-pass-1").unwrap();
        let cabinet = CabinetPassword::new("demo-password-1").unwrap();
        assert_eq!(
            format!("{app:?} {cabinet:?}"),
            "AppPassword(..) CabinetPassword(..)"
        );
    }

    #[test]
    fn names_and_emails() {
        assert_eq!(
            DisplayName::new("ООО «Ромашка»").unwrap().as_str(),
            "ООО «Ромашка»"
        );
        assert_eq!(DisplayName::new(""), Err(NameError::Empty));
        assert_eq!(
            DisplayName::new(&"я".repeat(101)),
            Err(NameError::TooLong(101))
        );
        assert!(
            DisplayName::new(&"я".repeat(100)).is_ok(),
            "characters, not bytes"
        );
        assert!(matches!(
            DisplayName::new("a\nb"),
            Err(NameError::ControlCharacter(_))
        ));
        assert!(matches!(
            DisplayName::new(" Ромашка"),
            Err(NameError::SurroundingSpaces(_))
        ));

        assert_eq!(
            Email::new("demo@merchant.test").unwrap().as_str(),
            "demo@merchant.test"
        );
        for bad in [
            "demo",
            "@merchant.test",
            "demo@test",
            "demo@.test",
            "demo@test.",
        ] {
            assert_eq!(
                Email::new(bad),
                Err(EmailError::NotAnAddress(bad.to_owned())),
                "{bad}"
            );
        }
        assert!(matches!(
            Email::new("de mo@x.by"),
            Err(EmailError::Whitespace(_))
        ));
        let long = format!("{}@x.by", "a".repeat(250));
        assert_eq!(Email::new(&long), Err(EmailError::TooLong));
    }

    proptest! {
        #[test]
        fn an_accepted_app_password_is_what_de48_carries(text in "\\PC{0,1100}|[ -~]{0,1100}") {
            if let Ok(password) = AppPassword::new(&text) {
                let s = password.as_str();
                prop_assert!((MIN_PASSWORD_LEN..=MAX_APP_PASSWORD_LEN).contains(&s.len()));
                prop_assert!(s.bytes().all(|b| (0x20..=0x7E).contains(&b)), "ans");
                prop_assert_eq!(s.trim(), s);
                prop_assert!(CabinetPassword::new(s).is_ok(), "the cabinet takes it too");
            }
        }

        #[test]
        fn printable_ascii_of_a_fitting_length_is_accepted(
            text in "[!-~]([ -~]{8,997})[!-~]"
        ) {
            prop_assert!(AppPassword::new(&text).is_ok());
        }

        #[test]
        fn names_and_emails_never_panic_and_keep_their_text(text in "\\PC{0,300}") {
            if let Ok(name) = DisplayName::new(&text) {
                prop_assert_eq!(name.as_str(), text.as_str());
            }
            if let Ok(email) = Email::new(&text) {
                prop_assert_eq!(email.as_str(), text.as_str());
            }
        }
    }
}
