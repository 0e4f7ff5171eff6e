//! The kinds of things the host keeps: a card reader's state and a virtual
//! terminal's payment type, with the text forms the store and the fixture
//! files use.

use std::fmt;

/// Whether a card reader may transact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceState {
    /// Transacts normally («Активен»).
    Active,
    /// Every message answered 58 («Заблокирован»).
    Blocked,
}

impl DeviceState {
    /// The stored text: `active` or `blocked`.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceState::Active => "active",
            DeviceState::Blocked => "blocked",
        }
    }

    /// The state of a stored text.
    pub fn parse(text: &str) -> Option<DeviceState> {
        match text {
            "active" => Some(DeviceState::Active),
            "blocked" => Some(DeviceState::Blocked),
            _ => None,
        }
    }
}

/// Longest installment term accepted, in months.
pub const MAX_INSTALLMENT_MONTHS: u8 = 60;

/// A virtual terminal's payment type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VtKind {
    /// Plain payments.
    Standard,
    /// Installments over a number of months.
    Installment {
        /// The term, 1 to 60 months.
        months: u8,
    },
    /// A bonus programme.
    Bonus,
}

impl VtKind {
    /// The kind of a stored name and installment term, checking that only
    /// installments have (and need) a term.
    pub fn new(kind: &str, months: Option<u8>) -> Result<VtKind, String> {
        match (kind, months) {
            ("standard", None) => Ok(VtKind::Standard),
            ("bonus", None) => Ok(VtKind::Bonus),
            ("installment", Some(m @ 1..=MAX_INSTALLMENT_MONTHS)) => {
                Ok(VtKind::Installment { months: m })
            }
            ("installment", _) => Err(format!(
                "an installment terminal needs months from 1 to {MAX_INSTALLMENT_MONTHS}"
            )),
            ("standard" | "bonus", Some(_)) => Err("only installment terminals have months".into()),
            (other, _) => Err(format!(
                "kind {other:?} is not standard, installment or bonus"
            )),
        }
    }

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            VtKind::Standard => "standard",
            VtKind::Installment { .. } => "installment",
            VtKind::Bonus => "bonus",
        }
    }

    /// The installment term, if any.
    pub fn months(self) -> Option<u8> {
        match self {
            VtKind::Installment { months } => Some(months),
            VtKind::Standard | VtKind::Bonus => None,
        }
    }
}

impl fmt::Display for VtKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VtKind::Installment { months } => write!(f, "installment, {months} months"),
            other => f.write_str(other.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_states_round_trip_and_check_their_terms() {
        for (kind, months) in [
            ("standard", None),
            ("bonus", None),
            ("installment", Some(3)),
        ] {
            let k = VtKind::new(kind, months).unwrap();
            assert_eq!((k.as_str(), k.months()), (kind, months));
        }
        assert!(VtKind::new("installment", None).is_err());
        assert!(VtKind::new("installment", Some(61)).is_err());
        assert!(VtKind::new("standard", Some(3)).is_err());
        assert!(VtKind::new("loyalty", None).is_err());
        assert_eq!(DeviceState::parse("blocked"), Some(DeviceState::Blocked));
        assert_eq!(
            DeviceState::parse(DeviceState::Active.as_str()),
            Some(DeviceState::Active)
        );
        assert_eq!(DeviceState::parse("frozen"), None);
    }
}
