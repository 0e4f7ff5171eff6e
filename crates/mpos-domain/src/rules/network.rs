//! 0800 sign-on: which device a connection speaks for.

use super::{DeviceView, Session};
use crate::ids::{DeviceSerial, MerchantId};
use crate::response::ResponseCode;

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
