//! Errors of decoding and encoding. Each names the field that failed and why,
//! so the host can answer "format error" and an operator can see the cause.

use crate::class::Class;
use std::fmt;

/// Which of the two bitmaps a problem is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WhichBitmap {
    /// Fields 1–64.
    Primary,
    /// Fields 65–128, present when bit 1 is set.
    Secondary,
}

impl fmt::Display for WhichBitmap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            WhichBitmap::Primary => "primary",
            WhichBitmap::Secondary => "secondary",
        })
    }
}

/// What is wrong with one field, on the wire or in a value to encode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FieldProblem {
    /// The message ends inside the length prefix.
    #[error("the message ends inside the length prefix")]
    TruncatedPrefix,
    /// The length prefix is not a decimal number in its encoding.
    #[error("the length prefix is not a number")]
    BadPrefix,
    /// A variable field is longer than the layout allows.
    #[error("length {len} is over the maximum of {max}")]
    TooLong {
        /// Length found, in the field's units.
        len: usize,
        /// The layout's maximum.
        max: usize,
    },
    /// A fixed field has the wrong length (encoding only: on the wire a fixed
    /// field's length is not written).
    #[error("length {len} is not the fixed length {expected}")]
    WrongLength {
        /// Length given, in the field's units.
        len: usize,
        /// The layout's fixed length.
        expected: usize,
    },
    /// The message ends inside the field's data.
    #[error("the message ends inside the data: {need} bytes needed, {have} left")]
    Truncated {
        /// Bytes the field needs.
        need: usize,
        /// Bytes left in the message.
        have: usize,
    },
    /// A character outside the field's content class.
    #[error("character {offset} ({byte:#04x}) is not allowed in class {class}")]
    BadContent {
        /// Position of the character within the field's text.
        offset: usize,
        /// The offending byte.
        byte: u8,
        /// The field's class.
        class: Class,
    },
    /// Binary data given as hex must have two characters per byte.
    #[error("binary data as hex needs an even number of characters, got {len}")]
    OddHex {
        /// Number of hex characters.
        len: usize,
    },
    /// A BCD byte holds a nibble above 9, or a non-zero pad nibble.
    #[error("byte {offset} is not valid BCD")]
    BadBcd {
        /// Position of the byte within the field's data.
        offset: usize,
    },
}

/// Why a message could not be decoded. Never a panic: any input gets one of these.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Longer than a 2-byte length header can announce.
    #[error("the message is {len} bytes long, over the 65535 a length header can announce")]
    TooLong {
        /// Its length.
        len: usize,
    },
    /// Fewer bytes than an MTI.
    #[error("the message ends before its MTI is complete")]
    TruncatedMti,
    /// The MTI is not four digits.
    #[error("the MTI is not 4 digits")]
    BadMti,
    /// The message ends inside a bitmap.
    #[error("the message ends inside the {0} bitmap")]
    TruncatedBitmap(WhichBitmap),
    /// A hex bitmap holds a character that is not hex.
    #[error("the {0} bitmap is not hexadecimal")]
    BadBitmap(WhichBitmap),
    /// The bitmap announces a field the layout does not define.
    #[error("field {field} is present but the layout does not define it")]
    UndefinedField {
        /// Field number.
        field: u8,
    },
    /// One field breaks its layout.
    #[error("field {field}: {problem}")]
    Field {
        /// Field number.
        field: u8,
        /// What is wrong.
        problem: FieldProblem,
    },
    /// Bytes left after the last field the bitmap announces.
    #[error("{extra} extra byte(s) after the last field")]
    TrailingData {
        /// How many.
        extra: usize,
    },
}

impl DecodeError {
    /// The field the error is about, if it is about one.
    pub fn field(&self) -> Option<u8> {
        match self {
            DecodeError::UndefinedField { field } | DecodeError::Field { field, .. } => {
                Some(*field)
            }
            _ => None,
        }
    }
}

/// Why a message could not be encoded. The output buffer is left as it was.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EncodeError {
    /// A field number outside 2–128, or one the layout does not define.
    #[error("field {field} is not defined by the layout")]
    UndefinedField {
        /// Field number.
        field: u8,
    },
    /// A value breaks its field's layout.
    #[error("field {field}: {problem}")]
    Field {
        /// Field number.
        field: u8,
        /// What is wrong.
        problem: FieldProblem,
    },
}

impl EncodeError {
    /// The field the error is about.
    pub fn field(&self) -> u8 {
        match self {
            EncodeError::UndefinedField { field } | EncodeError::Field { field, .. } => *field,
        }
    }
}
