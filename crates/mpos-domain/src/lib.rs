//! The pure rules of the mPOS host: no I/O, no async, so the network and web
//! layers stay thin and every rule is testable in isolation.
//!
//! - [`money`]: amounts in minor units, currencies, display in major units;
//! - [`card`]: PAN (Luhn, masking, keyed hash), expiry, track 2;
//! - [`entities`]: device states and virtual terminal kinds;
//! - [`ids`]: the identifiers of the ISO 8583 fields, checked once;
//! - [`input`]: what people type (passwords, names, e-mails), checked once
//!   for the cabinet, the CLI and fixtures alike;
//! - [`mti`]: the request message types the host serves;
//! - [`response`]: response codes and their meanings;
//! - [`business_day`]: which business day an instant belongs to;
//! - [`rules`]: the decisions of the host interface, step by step;
//! - [`password`]: salted PBKDF2 hashes of cabinet and app passwords;
//! - [`ticket`]: sign-on tickets, the cheap credential of a reconnecting device.

#![warn(missing_docs)]

pub mod business_day;
pub mod card;
pub mod entities;
pub mod ids;
pub mod input;
pub mod money;
pub mod mti;
pub mod password;
pub mod response;
pub mod rules;
pub mod ticket;
