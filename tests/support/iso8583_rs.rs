//! Describes one of our layouts as an `iso8583_rs` YAML spec, so that the
//! reference crate parses and assembles exactly the same messages (shared by
//! the agreement test and the codec benchmark).
//!
//! `iso8583_rs` reads only binary bitmaps and ASCII, BINARY or BCD data with
//! its own length-prefix rules, so only layouts with `bitmap = "binary"` and
//! ASCII prefixes can be described; `spec_yaml` refuses the others.

use mpos_iso8583::{BitmapEncoding, DataEncoding, Layout, LengthKind, MtiEncoding, PrefixEncoding};
use std::fmt::Write as _;

/// The YAML spec of `layout`, with one message segment selected by `mtis`.
pub fn spec_yaml(layout: &Layout, mtis: &[&str]) -> Result<String, String> {
    if layout.bitmap_encoding() != BitmapEncoding::Binary
        || layout.mti_encoding() != MtiEncoding::Ascii
    {
        return Err(format!(
            "{}: iso8583_rs needs an ASCII MTI and a binary bitmap",
            layout.name()
        ));
    }
    let mut y = String::new();
    let _ = writeln!(y, "name: {}\nid: 1", layout.name());
    y.push_str("header_fields:\n  - name: \"message_type\"\n    id: 1\n    type: Fixed\n    len: 4\n    data_encoding: ASCII\n");
    y.push_str("messages:\n  - name: \"all\"\n    id: 1\n    selector:\n");
    for mti in mtis {
        let _ = writeln!(y, "      - \"{mti}\"");
    }
    y.push_str("    fields:\n      - name: \"message_type\"\n        id: 1\n        type: Fixed\n        len: 4\n        data_encoding: ASCII\n");
    y.push_str("      - name: \"bitmap\"\n        id: 2\n        type: Bitmapped\n        len: 0\n        data_encoding: BINARY\n        children:\n");
    for spec in layout.fields() {
        let data = match spec.data {
            DataEncoding::Ascii => "ASCII",
            DataEncoding::Binary => "BINARY",
            DataEncoding::Bcd => {
                return Err(format!("field {}: BCD data is not described", spec.number));
            }
        };
        let _ = write!(
            y,
            "          - name: \"f{n}\"\n            id: {id}\n            position: {n}\n",
            n = spec.number,
            id = u32::from(spec.number) + 10
        );
        match spec.length {
            LengthKind::Fixed => {
                let _ = write!(
                    y,
                    "            type: Fixed\n            len: {}\n",
                    spec.data_bytes(usize::from(spec.max))
                );
            }
            LengthKind::LlVar | LengthKind::LllVar => {
                if spec.prefix != PrefixEncoding::Ascii {
                    return Err(format!(
                        "field {}: only ASCII length prefixes are described",
                        spec.number
                    ));
                }
                let _ = write!(
                    y,
                    "            type: Variable\n            len: {}\n            len_encoding: ASCII\n",
                    spec.prefix_len()
                );
            }
        }
        let _ = writeln!(y, "            data_encoding: {data}");
    }
    Ok(y)
}
