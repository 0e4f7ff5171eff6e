//! Our codec against pyiso8583, byte for byte. Every vector that
//! `scripts/iso8583_vectors.py` wrote with the independent implementation
//! (`fixtures/iso8583/<layout>.json`) is
//! - decoded: the same MTI, the same set of fields, each with the same text
//!   form;
//! - re-encoded from its fields with `MessageBuilder`: exactly the same bytes;
//! - cut short: refused with an error, never a panic.
//!
//! Failures are collected over all vectors of a layout and reported together,
//! each with the vector's name and the field number.

#[path = "support/vectors.rs"]
mod vectors;

use bytes::BytesMut;
use mpos_iso8583::{Layout, MessageBuilder, Mti};
use std::collections::BTreeMap;
use vectors::{Failures, Vector, excerpt, no_panic};

/// Messages up to this size are also cut at every shorter length; the largest
/// (every field at its maximum, ~36 KB) only by one byte, to keep the debug
/// build's run short.
const CUT_EVERYWHERE_UP_TO: usize = 2048;

fn check_layout(name: &str) {
    let file = vectors::load(name);
    assert_eq!(file.layout, name, "{name}.json is for another layout");
    assert_eq!(
        file.header.generator, "scripts/iso8583_vectors.py",
        "{name}.json"
    );
    assert!(
        file.vectors.len() > file.header.random_messages && file.header.random_messages >= 150,
        "{name}.json: {} vectors, {} of them random: too few to prove much",
        file.vectors.len(),
        file.header.random_messages
    );
    let layout = Layout::shipped(name).expect("shipped layout");
    let mut failures = Failures::default();
    for vector in &file.vectors {
        let label = format!("{name} / {}", vector.name);
        check_decode(&layout, vector, &label, &mut failures);
        check_encode(&layout, vector, &label, &mut failures);
        check_truncated(&layout, vector, &label, &mut failures);
    }
    failures.finish(&format!(
        "{name}: our codec disagrees with pyiso8583 {}",
        file.header.pyiso8583
    ));
}

/// The wire decodes to the vector's MTI and fields.
fn check_decode(layout: &Layout, vector: &Vector, label: &str, failures: &mut Failures) {
    let wire = vector.wire_bytes();
    let expected = vector.numbered_fields();
    let decoded = no_panic(label, || {
        layout.decode(&wire).map(|message| {
            let fields: BTreeMap<u8, String> = message
                .fields()
                .map(|f| (f.number(), f.text().into_owned()))
                .collect();
            (message.mti().as_str().to_owned(), fields)
        })
    });
    let (mti, fields) = match decoded {
        Ok(Ok(decoded)) => decoded,
        Ok(Err(e)) => return failures.add(format!("{label}: decoding fails: {e}")),
        Err(panic) => return failures.add(panic),
    };
    if mti != vector.mti {
        failures.add(format!("{label}: MTI {mti}, not {}", vector.mti));
    }
    for number in fields.keys().filter(|n| !expected.contains_key(n)) {
        failures.add(format!(
            "{label}: field {number} decoded but not in the vector"
        ));
    }
    for (number, want) in &expected {
        match fields.get(number) {
            None => failures.add(format!("{label}: field {number} missing after decoding")),
            Some(got) if got != want => failures.add(format!(
                "{label}: field {number} decodes to {}, pyiso8583 says {}",
                excerpt(got),
                excerpt(want)
            )),
            Some(_) => {}
        }
    }
}

/// The vector's fields encode to exactly the wire.
fn check_encode(layout: &Layout, vector: &Vector, label: &str, failures: &mut Failures) {
    let wire = vector.wire_bytes();
    let mti = match Mti::new(&vector.mti) {
        Ok(mti) => mti,
        Err(e) => return failures.add(format!("{label}: MTI {:?}: {e}", vector.mti)),
    };
    let expected = vector.numbered_fields();
    let mut builder = MessageBuilder::new(mti);
    for (number, text) in &expected {
        builder.set(*number, text);
    }
    let mut out = BytesMut::new();
    match no_panic(label, || layout.encode(&builder, &mut out)) {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return failures.add(format!("{label}: encoding fails: {e}")),
        Err(panic) => return failures.add(panic),
    }
    if out[..] != wire[..] {
        let at = out
            .iter()
            .zip(&wire)
            .position(|(a, b)| a != b)
            .unwrap_or(out.len().min(wire.len()));
        failures.add(format!(
            "{label}: encoding differs from pyiso8583's from byte {at} on \
             (ours {} bytes, theirs {}){}",
            out.len(),
            wire.len(),
            field_at(layout, &wire, at)
        ));
    }
}

/// Which field of the pyiso8583 bytes holds byte `at`, for failure messages.
fn field_at(layout: &Layout, wire: &[u8], at: usize) -> String {
    let Ok(message) = layout.decode(wire) else {
        return String::new();
    };
    let start = |f: &mpos_iso8583::Field<'_>| f.wire().as_ptr() as usize - wire.as_ptr() as usize;
    message
        .fields()
        .take_while(|f| start(f) <= at + f.spec().prefix_len())
        .last()
        .map(|f| format!(", in or after field {}", f.number()))
        .unwrap_or_else(|| ", in the MTI or bitmap".to_owned())
}

/// The wire cut short is an error, not a panic and not a message.
///
/// The decoder reads exactly the fields the bitmap announces, each to its
/// fixed or prefixed length, and refuses trailing bytes; the last field ends
/// on the last byte. A shorter frame therefore cannot decode into the same
/// message, and it decoding into *another* message would need the prefix or
/// bitmap bytes themselves to change, which cutting the end does not do. So
/// every cut must be refused; any `Ok` is reported with what it decoded to.
fn check_truncated(layout: &Layout, vector: &Vector, label: &str, failures: &mut Failures) {
    let wire = vector.wire_bytes();
    let cuts: Vec<usize> = if wire.len() <= CUT_EVERYWHERE_UP_TO {
        (0..wire.len()).collect()
    } else {
        vec![wire.len() - 1]
    };
    for cut in cuts.into_iter().rev() {
        let short = &wire[..cut];
        let what = format!("{label}: cut to {cut} of {} bytes", wire.len());
        match no_panic(&what, || {
            layout
                .decode(short)
                .map(|m| format!("{m:?}"))
                .map_err(|e| e.to_string())
        }) {
            Ok(Err(_)) => {}
            Ok(Ok(message)) => {
                failures.add(format!("{what}: decodes, to {message}"));
                return;
            }
            Err(panic) => {
                failures.add(panic);
                return;
            }
        }
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
fn bcd_layout_agrees_with_pyiso8583_default_with_bcd_numerics() {
    check_layout("generic-1987-bcd");
}

#[test]
fn every_shipped_layout_has_vectors() {
    let shipped: Vec<&str> = mpos_iso8583::SHIPPED_LAYOUTS
        .iter()
        .map(|(n, _)| *n)
        .collect();
    assert_eq!(
        shipped,
        vectors::LAYOUTS,
        "a shipped layout without pyiso8583 vectors: add it to scripts/iso8583_vectors.py"
    );
}
