//! Response codes of the host interface (spec section 5), with their
//! meaning in Russian and English for the cabinet's history.

use std::fmt;

/// A language the cabinet speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Russian, the default.
    Ru,
    /// English, by `?lang=en`.
    En,
}

/// DE 39 as the host answers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseCode {
    /// 00 approved.
    Approved,
    /// 03 invalid merchant or virtual terminal.
    InvalidMerchant,
    /// 05 do not honour (issuer).
    DoNotHonour,
    /// 12 invalid transaction.
    InvalidTransaction,
    /// 13 invalid amount or currency, or refund over the refundable amount.
    InvalidAmount,
    /// 14 invalid card number.
    InvalidCardNumber,
    /// 25 original transaction not found.
    OriginalNotFound,
    /// 30 format error.
    FormatError,
    /// 51 insufficient funds (issuer).
    InsufficientFunds,
    /// 54 expired card.
    ExpiredCard,
    /// 58 transaction not permitted to terminal (device blocked).
    NotPermitted,
    /// 63 security violation (not signed on, bad credentials).
    SecurityViolation,
    /// 75 too many wrong passwords: sign-on by password locked for 15 minutes.
    PasswordLocked,
    /// 91 issuer or processor unavailable (upstream mode): no answer from
    /// the card processor in time, or the link to it is down.
    IssuerUnavailable,
    /// 94 duplicate transmission with different content.
    Duplicate,
    /// 96 system malfunction.
    SystemMalfunction,
    /// A DE 39 the card processor answered that the spec does not list: the
    /// host relays the processor's two characters as they came (the answer
    /// and the stored row carry them), so this value is only what the
    /// metrics and the log count it as. It is not one of [`ResponseCode::all`],
    /// and [`ResponseCode::as_str`] gives `"??"` for it: never encode it.
    Unlisted,
}

const ALL: [(ResponseCode, &str, &str, &str); 16] = [
    (ResponseCode::Approved, "00", "Одобрено", "Approved"),
    (
        ResponseCode::InvalidMerchant,
        "03",
        "Неверный торговец или виртуальный терминал",
        "Invalid merchant or virtual terminal",
    ),
    (
        ResponseCode::DoNotHonour,
        "05",
        "Отказ эмитента",
        "Do not honour",
    ),
    (
        ResponseCode::InvalidTransaction,
        "12",
        "Недопустимая операция",
        "Invalid transaction",
    ),
    (
        ResponseCode::InvalidAmount,
        "13",
        "Неверная сумма или валюта",
        "Invalid amount or currency",
    ),
    (
        ResponseCode::InvalidCardNumber,
        "14",
        "Неверный номер карты",
        "Invalid card number",
    ),
    (
        ResponseCode::OriginalNotFound,
        "25",
        "Исходная операция не найдена",
        "Original transaction not found",
    ),
    (
        ResponseCode::FormatError,
        "30",
        "Ошибка формата",
        "Format error",
    ),
    (
        ResponseCode::InsufficientFunds,
        "51",
        "Недостаточно средств",
        "Insufficient funds",
    ),
    (
        ResponseCode::ExpiredCard,
        "54",
        "Срок действия карты истёк",
        "Expired card",
    ),
    (
        ResponseCode::NotPermitted,
        "58",
        "Терминал заблокирован",
        "Transaction not permitted to terminal",
    ),
    (
        ResponseCode::SecurityViolation,
        "63",
        "Нарушение безопасности",
        "Security violation",
    ),
    (
        ResponseCode::PasswordLocked,
        "75",
        "Вход по паролю заблокирован после неверных попыток",
        "Too many wrong passwords: sign-on by password locked",
    ),
    (
        ResponseCode::IssuerUnavailable,
        "91",
        "Эмитент или процессинг недоступен",
        "Issuer or processor unavailable",
    ),
    (
        ResponseCode::Duplicate,
        "94",
        "Повторная передача с другим содержимым",
        "Duplicate transmission",
    ),
    (
        ResponseCode::SystemMalfunction,
        "96",
        "Системная ошибка",
        "System malfunction",
    ),
];

impl ResponseCode {
    /// Every code of the spec.
    pub fn all() -> impl Iterator<Item = ResponseCode> {
        ALL.iter().map(|(code, ..)| *code)
    }

    /// The two characters of DE 39 (`"??"` for [`ResponseCode::Unlisted`]).
    pub fn as_str(self) -> &'static str {
        if self == ResponseCode::Unlisted {
            return "??";
        }
        ALL.iter()
            .find(|(c, ..)| *c == self)
            .map_or("96", |(_, s, ..)| s)
    }

    /// The code of two DE 39 characters, if the spec has it.
    pub fn parse(text: &str) -> Option<ResponseCode> {
        ALL.iter().find(|(_, s, ..)| *s == text).map(|(c, ..)| *c)
    }

    /// Whether it approves.
    pub fn is_approved(self) -> bool {
        self == ResponseCode::Approved
    }

    /// What it means, for people.
    pub fn meaning(self, lang: Lang) -> &'static str {
        ALL.iter()
            .find(|(c, ..)| *c == self)
            .map_or("", |(_, _, ru, en)| match lang {
                Lang::Ru => ru,
                Lang::En => en,
            })
    }
}

impl fmt::Display for ResponseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A new authorization code (DE 38): 6 random characters of `0-9A-Z`, as
/// the host's simulator and `mpos issuer-sim` give approvals. Without
/// randomness it is still well-formed, just predictable.
pub fn new_authorization_code() -> String {
    use ring::rand::{SecureRandom, SystemRandom};
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut bytes = [0u8; 6];
    let _ = SystemRandom::new().fill(&mut bytes);
    bytes
        .iter()
        .map(|b| char::from(ALPHABET[usize::from(*b) % ALPHABET.len()]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_of_the_spec_round_trips_and_has_a_meaning() {
        let codes: Vec<&str> = ResponseCode::all().map(ResponseCode::as_str).collect();
        assert_eq!(
            codes,
            [
                "00", "03", "05", "12", "13", "14", "25", "30", "51", "54", "58", "63", "75", "91",
                "94", "96"
            ]
        );
        for code in ResponseCode::all() {
            assert_eq!(ResponseCode::parse(code.as_str()), Some(code));
            assert!(!code.meaning(Lang::Ru).is_empty() && !code.meaning(Lang::En).is_empty());
        }
        assert!(ResponseCode::Approved.is_approved() && !ResponseCode::Duplicate.is_approved());
        assert_eq!(ResponseCode::parse("99"), None);
        assert_eq!(ResponseCode::Unlisted.as_str(), "??");
        assert_eq!(ResponseCode::parse("??"), None);
        assert!(ResponseCode::all().all(|c| c != ResponseCode::Unlisted));
    }

    #[test]
    fn an_authorization_code_is_six_of_digits_and_capitals() {
        let code = new_authorization_code();
        assert_eq!(code.len(), 6);
        assert!(
            code.bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()),
            "{code}"
        );
    }
}
