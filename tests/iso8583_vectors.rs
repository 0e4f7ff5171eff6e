//! Our codec against pyiso8583, byte for byte: every vector that
//! `scripts/iso8583_vectors.py` wrote with the independent implementation is
//! decoded (same MTI, same fields, same text) and re-encoded from its fields
//! (same bytes).

#[path = "support/vectors.rs"]
mod vectors;

use bytes::BytesMut;
use mpos_iso8583::{Layout, MessageBuilder, Mti};
use std::collections::BTreeMap;

fn unhex(text: &str) -> Vec<u8> {
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("vector wire is hex"))
        .collect()
}

fn check_layout(name: &str) {
    let file = vectors::load(name);
    assert_eq!(file.layout, name);
    assert!(file.vectors.len() >= 100, "{name}: enough vectors");
    let layout = Layout::shipped(name).expect("shipped layout");
    for vector in &file.vectors {
        let wire = unhex(&vector.wire);
        let expected = vector.numbered_fields();

        let message = layout
            .decode(&wire)
            .unwrap_or_else(|e| panic!("{name} / {}: decode failed: {e}", vector.name));
        assert_eq!(
            message.mti().as_str(),
            vector.mti,
            "{name} / {}",
            vector.name
        );
        let decoded: BTreeMap<u8, String> = message
            .fields()
            .map(|f| (f.number(), f.text().into_owned()))
            .collect();
        assert_eq!(
            decoded.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>(),
            "{name} / {}: the same fields",
            vector.name
        );
        for (number, text) in &expected {
            assert_eq!(
                decoded[number], *text,
                "{name} / {}: field {number}",
                vector.name
            );
        }

        let mut builder = MessageBuilder::new(Mti::new(&vector.mti).expect("vector MTI"));
        for (number, text) in &expected {
            builder.set(*number, text);
        }
        let mut out = BytesMut::new();
        layout
            .encode(&builder, &mut out)
            .unwrap_or_else(|e| panic!("{name} / {}: encode failed: {e}", vector.name));
        assert!(
            out[..] == wire[..],
            "{name} / {}: re-encoding differs from pyiso8583",
            vector.name
        );

        // Cut short by one byte, the same bytes must be refused, not panic.
        assert!(
            layout.decode(&wire[..wire.len() - 1]).is_err(),
            "{name} / {}: truncated",
            vector.name
        );
    }
}

#[test]
fn ascii_layout_agrees_with_pyiso8583_default_ascii() {
    check_layout("generic-1987-ascii");
}

#[test]
fn binary_layout_agrees_with_pyiso8583_default() {
    check_layout("generic-1987-binary");
}

#[test]
fn bcd_layout_agrees_with_pyiso8583_bcd_numerics() {
    check_layout("generic-1987-bcd");
}
