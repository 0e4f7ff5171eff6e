//! The pyiso8583 test vectors of `fixtures/iso8583/`, as the differential
//! tests read them (written by `scripts/iso8583_vectors.py`).
// Each test binary that includes this module uses only part of it.
#![allow(dead_code)]

use serde::Deserialize;
use std::collections::BTreeMap;

/// The layouts that have a vector file, one per shipped layout.
pub const LAYOUTS: [&str; 3] = [
    "generic-1987-ascii",
    "generic-1987-binary",
    "generic-1987-bcd",
];

/// One file of vectors: all messages of one layout.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VectorFile {
    /// Who wrote the file and how.
    pub header: Header,
    /// The layout's name.
    pub layout: String,
    /// The messages.
    pub vectors: Vec<Vector>,
}

/// Provenance of a vector file.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Header {
    /// The script that wrote it.
    pub generator: String,
    /// The pyiso8583 version that encoded the messages.
    pub pyiso8583: String,
    /// The random seed.
    pub seed: u64,
    /// How many of the vectors are random messages.
    pub random_messages: usize,
}

/// One message: what pyiso8583 encoded and the bytes it produced.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
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
    /// The fields keyed by number, ascending.
    pub fn numbered_fields(&self) -> BTreeMap<u8, &str> {
        self.fields
            .iter()
            .map(|(k, v)| {
                let number = k
                    .parse()
                    .unwrap_or_else(|_| panic!("{}: field key {k:?}", self.name));
                (number, v.as_str())
            })
            .collect()
    }

    /// The wire bytes.
    pub fn wire_bytes(&self) -> Vec<u8> {
        unhex(&self.wire).unwrap_or_else(|| panic!("{}: wire is not hex", self.name))
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

/// Bytes from hex text (either case), `None` if it is not hex.
pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// `text`, cut to a readable length for a failure message.
pub fn excerpt(text: &str) -> String {
    const MAX: usize = 48;
    if text.chars().count() <= MAX {
        format!("{text:?}")
    } else {
        let head: String = text.chars().take(MAX).collect();
        format!("{head:?}… ({} characters)", text.chars().count())
    }
}

/// Failures collected over many vectors, reported together at the end so
/// that one run shows how widespread a disagreement is.
#[derive(Default)]
pub struct Failures(Vec<String>);

impl Failures {
    /// Records one failure; `what` names the vector and field.
    pub fn add(&mut self, what: String) {
        self.0.push(what);
    }

    /// Panics listing the failures (the first 30), if there are any.
    #[track_caller]
    pub fn finish(self, what: &str) {
        if self.0.is_empty() {
            return;
        }
        let shown: Vec<&str> = self.0.iter().take(30).map(String::as_str).collect();
        panic!(
            "{what}: {} failure(s):\n  {}{}",
            self.0.len(),
            shown.join("\n  "),
            if self.0.len() > shown.len() {
                "\n  ..."
            } else {
                ""
            }
        );
    }
}

/// Runs `f`, turning a panic into an error that says where it happened (the
/// panic message itself is printed by the panic hook as usual).
pub fn no_panic<T>(what: &str, f: impl FnOnce() -> T) -> Result<T, String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        format!("{what} panicked: {message}")
    })
}
