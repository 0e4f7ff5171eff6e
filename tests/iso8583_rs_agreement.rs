//! Our codec against `iso8583_rs`, the design card's reference crate: the
//! pyiso8583 vectors of the ASCII and binary layouts are encoded by us in
//! `generic-1987-binary` (the only kind of layout iso8583_rs can read: it
//! knows binary bitmaps only, and no BCD digit counts, so the BCD vectors
//! are left to the pyiso8583 test), then
//! - parsed by iso8583_rs: every field must hold what we put there;
//! - assembled by iso8583_rs from the same fields: the bytes must be ours.
//!
//! iso8583_rs reads its one spec from the file named by SPEC_FILE, once per
//! process, so everything runs in a single test function.

#[path = "support/iso8583_rs.rs"]
mod iso8583_rs_support;
#[path = "support/vectors.rs"]
mod vectors;

use bytes::BytesMut;
use iso8583_rs::iso8583::iso_spec::{self, new_msg};
use mpos_iso8583::{Class, Layout, MessageBuilder, Mti};
use std::collections::BTreeMap;

#[test]
fn iso8583_rs_reads_and_writes_our_messages_alike() {
    let binary = Layout::shipped("generic-1987-binary").expect("shipped");
    let all: Vec<(String, vectors::Vector)> = ["generic-1987-ascii", "generic-1987-binary"]
        .into_iter()
        .flat_map(|layout| {
            vectors::load(layout)
                .vectors
                .into_iter()
                .map(move |v| (layout.to_owned(), v))
        })
        .collect();
    let mut mtis: Vec<&str> = all.iter().map(|(_, v)| v.mti.as_str()).collect();
    mtis.sort_unstable();
    mtis.dedup();

    let spec_file = tempfile::NamedTempFile::new().expect("temp file");
    let yaml =
        iso8583_rs_support::spec_yaml(&binary, &mtis).expect("the binary layout is describable");
    std::fs::write(spec_file.path(), yaml).expect("spec written");
    // SAFETY: this is the only test in this binary, and nothing has read the
    // environment on another thread yet.
    unsafe { std::env::set_var("SPEC_FILE", spec_file.path()) };
    let spec = iso_spec::spec("");

    let mut compared = 0;
    for (layout, vector) in &all {
        let label = format!("{layout} / {}", vector.name);
        let fields: BTreeMap<u8, &str> = vector.numbered_fields();
        if fields.contains_key(&65) {
            // iso8583_rs reads bit 65 as a tertiary bitmap (as pyiso8583 does).
            continue;
        }
        let mut builder = MessageBuilder::new(Mti::new(&vector.mti).expect("MTI"));
        for (number, text) in &fields {
            builder.set(*number, text);
        }
        let mut ours = BytesMut::new();
        binary
            .encode(&builder, &mut ours)
            .unwrap_or_else(|e| panic!("{label}: {e}"));

        // iso8583_rs parses our bytes.
        let mut wire = ours.to_vec();
        let parsed = spec
            .parse(&mut wire)
            .unwrap_or_else(|e| panic!("{label}: iso8583_rs: {e}"));
        for (number, text) in &fields {
            let theirs = parsed
                .bmp_child_value(u32::from(*number))
                .unwrap_or_else(|e| panic!("{label}: iso8583_rs lacks field {number}: {}", e.msg));
            let class = binary.field(*number).expect("defined").class;
            if class == Class::B {
                // iso8583_rs shows binary data as lower-case hex.
                assert!(
                    theirs.eq_ignore_ascii_case(text),
                    "{label}: field {number}: {theirs} vs {text}"
                );
            } else {
                assert_eq!(theirs, *text, "{label}: field {number}");
            }
        }

        // iso8583_rs assembles the same fields into the same bytes.
        let segment = spec
            .get_message_from_header(&vector.mti)
            .expect("MTI in the spec");
        let mut theirs = new_msg(spec, segment);
        theirs
            .set("message_type", &vector.mti)
            .expect("message_type");
        for (number, text) in &fields {
            theirs
                .set_on(u32::from(*number), text)
                .expect("field in the spec");
        }
        let assembled = theirs
            .assemble()
            .unwrap_or_else(|e| panic!("{label}: iso8583_rs: {}", e.msg));
        assert!(
            assembled == ours[..],
            "{label}: iso8583_rs assembles other bytes"
        );
        compared += 1;
    }
    assert!(compared >= 200, "compared {compared} messages");
}
