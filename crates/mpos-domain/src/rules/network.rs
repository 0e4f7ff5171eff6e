//! 0800 sign-on: which device a connection speaks for.

use super::{DeviceView, Session};
use crate::ids::{DeviceSerial, MerchantId};
use crate::response::ResponseCode;

/// Failed password sign-ons (63) of one DE 62 value that lock its password
/// sign-ons (spec section 4).
pub const LOCKOUT_FAILURES: u32 = 5;

/// The window those failures fall in, and how long the lock lasts after the
/// last of them: 15 minutes, in milliseconds.
pub const LOCKOUT_MS: i64 = 15 * 60 * 1000;

/// Until when (Unix milliseconds) password sign-ons of a serial are
/// answered 75, right password or not: when its `latest` failure is less
/// than [`LOCKOUT_MS`] old and at least [`LOCKOUT_FAILURES`] failures
/// (`in_window`, the latest included) fell in the [`LOCKOUT_MS`] before it.
/// Sign-ons answered 75 are not failures: the lock ends 15 minutes after
/// the failure that set it, however often a guesser knocks meanwhile.
pub fn locked_until(in_window: u32, latest: Option<i64>, now: i64) -> Option<i64> {
    let until = latest?.saturating_add(LOCKOUT_MS);
    (in_window >= LOCKOUT_FAILURES && now < until).then_some(until)
}

/// The outcome of a sign-on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignOnDecision {
    /// Bind the connection to the device.
    SignedOn(Session),
    /// Refuse with `code` (63 or 58); the connection's binding is unchanged.
    Refused(ResponseCode),
}

/// Decides a sign-on. `password_matches` checks DE 48 against the device's
/// stored hash; it is slow on purpose, so it runs only for a known device.
///
/// Unknown device and wrong password both get 63, so the answer does not
/// tell which serials exist. The password is checked before the block, so
/// only someone holding it learns that the device is blocked (58). A DE 42
/// that is not the device's merchant is a credentials mismatch too: 63.
pub fn decide_sign_on(
    serial: &DeviceSerial,
    merchant_id: Option<&MerchantId>,
    device: Option<&DeviceView>,
    password_matches: impl FnOnce(&DeviceSerial) -> bool,
) -> SignOnDecision {
    let Some(device) = device else {
        return SignOnDecision::Refused(ResponseCode::SecurityViolation);
    };
    if !password_matches(serial) {
        return SignOnDecision::Refused(ResponseCode::SecurityViolation);
    }
    if merchant_id.is_some_and(|m| *m != device.merchant_id) {
        return SignOnDecision::Refused(ResponseCode::SecurityViolation);
    }
    if device.blocked {
        return SignOnDecision::Refused(ResponseCode::NotPermitted);
    }
    SignOnDecision::SignedOn(Session {
        device: serial.clone(),
        credentials_version: device.credentials_version,
    })
}
