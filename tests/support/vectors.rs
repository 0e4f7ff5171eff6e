//! The pyiso8583 test vectors of `fixtures/iso8583/`, as the differential
//! tests read them (written by `scripts/iso8583_vectors.py`).
// Each test binary that includes this module uses only part of it.
#![allow(dead_code)]

use serde::Deserialize;
use std::collections::BTreeMap;

/// One file of vectors: all messages of one layout.
#[derive(Deserialize)]
pub struct VectorFile {
    /// The layout's name.
    pub layout: String,
    /// The messages.
    pub vectors: Vec<Vector>,
}

/// One message: what pyiso8583 encoded and the bytes it produced.
#[derive(Deserialize)]
pub struct Vector {
    /// What the message is.
    pub name: String,
    /// Its MTI.
    pub mti: String,
    /// Field number → text form.
    pub fields: BTreeMap<String, String>,
    /// The wire bytes, hex.
    pub wire: String,
}

impl Vector {
    /// The fields keyed by number.
    pub fn numbered_fields(&self) -> BTreeMap<u8, &str> {
        self.fields
            .iter()
            .map(|(k, v)| (k.parse().expect("field numbers"), v.as_str()))
            .collect()
    }
}

/// The vectors of `layout`.
pub fn load(layout: &str) -> VectorFile {
    let path = format!(
        "{}/fixtures/iso8583/{layout}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}
