//! Decode and encode of a typical 0200 purchase (with DE 55) and an 0800
//! sign-on: our codec and `iso8583_rs` side by side in one run, so that the
//! ratio holds on a shared, noisy machine.
//!
//! `iso8583_rs` only reads binary bitmaps, so the head-to-head uses the
//! `generic-1987-binary` layout for both; our all-ASCII host layout is
//! measured beside them.
//!
//! Run: `cargo bench --bench codec` (figures in BENCHMARKS.md).

#[path = "../tests/support/iso8583_rs.rs"]
mod iso8583_rs_support;

use bytes::BytesMut;
use criterion::{Criterion, criterion_group, criterion_main};
use iso8583_rs::iso8583::iso_spec::{Spec, new_msg};
use mpos_iso8583::{Layout, MessageBuilder, Mti};
use std::hint::black_box;

/// A contactless purchase as the Android app sends it, ICC data included.
const PURCHASE: &[(u8, &str)] = &[
    (2, "4276550012341234"),
    (3, "000000"),
    (4, "000000012550"),
    (7, "1125093000"),
    (11, "000042"),
    (12, "123000"),
    (13, "1125"),
    (14, "2812"),
    (22, "071"),
    (41, "10000001"),
    (42, "MTB000000000001"),
    (49, "933"),
    (
        55,
        "9F2608C2C1F1A5B1D3E4F59F2701809F100706010A03A0B8009F37045F1B2C3D9F36020041950500000080009A032511259C01009F02060000000125505F2A020933820239009F1A0201129F03060000000000009F3303E0F8C89F34034203009F3501229F1E0831323334353637388407A00000000310109F090200029F410400000042",
    ),
];

/// A sign-on: serial and app password.
const SIGN_ON: &[(u8, &str)] = &[
    (7, "1125093000"),
    (11, "000001"),
    (48, "app-pass-1"),
    (62, "MPOS-0001"),
    (70, "001"),
];

fn builder<'a>(mti: &str, fields: &'a [(u8, &'a str)]) -> MessageBuilder<'a> {
    let mut m = MessageBuilder::new(Mti::new(mti).expect("valid MTI"));
    for (n, v) in fields {
        m.set(*n, v);
    }
    m
}

fn encoded(layout: &Layout, mti: &str, fields: &[(u8, &str)]) -> Vec<u8> {
    let mut out = BytesMut::new();
    layout
        .encode(&builder(mti, fields), &mut out)
        .expect("the bench messages are valid");
    out.to_vec()
}

/// The reference crate's spec for our binary layout. It reads its one spec
/// from SPEC_FILE on first use, so this runs once, before any benchmark.
fn iso8583_rs_spec(binary: &Layout) -> &'static Spec {
    let yaml =
        iso8583_rs_support::spec_yaml(binary, &["0200", "0800"]).expect("describable layout");
    let path =
        std::env::temp_dir().join(format!("mpos-bench-iso8583_rs-{}.yaml", std::process::id()));
    std::fs::write(&path, yaml).expect("temp dir is writable");
    // SAFETY: called from main's thread before any other thread exists.
    unsafe { std::env::set_var("SPEC_FILE", &path) };
    iso8583_rs::iso8583::iso_spec::spec("")
}

fn bench_message(
    c: &mut Criterion,
    rs_spec: &'static Spec,
    label: &str,
    mti: &str,
    fields: &[(u8, &str)],
) {
    let ascii = Layout::shipped("generic-1987-ascii").expect("shipped");
    let binary = Layout::shipped("generic-1987-binary").expect("shipped");
    let ascii_wire = encoded(&ascii, mti, fields);
    let binary_wire = encoded(&binary, mti, fields);

    let mut group = c.benchmark_group(format!("decode/{label}"));
    for (name, layout, wire) in [
        ("mpos ascii", &ascii, &ascii_wire),
        ("mpos binary", &binary, &binary_wire),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                let message = layout.decode(black_box(wire)).expect("valid");
                for field in message.fields() {
                    black_box(field.wire());
                }
            })
        });
    }
    let mut rs_wire = binary_wire.clone();
    group.bench_function("iso8583_rs binary", |b| {
        b.iter(|| black_box(rs_spec.parse(black_box(&mut rs_wire)).expect("valid")))
    });
    group.finish();

    let mut group = c.benchmark_group(format!("encode/{label}"));
    for (name, layout) in [("mpos ascii", &ascii), ("mpos binary", &binary)] {
        let mut out = BytesMut::with_capacity(1024);
        group.bench_function(name, |b| {
            b.iter(|| {
                out.clear();
                let message = builder(mti, black_box(fields));
                layout.encode(&message, &mut out).expect("valid");
                black_box(&out);
            })
        });
    }
    let segment = rs_spec
        .get_message_from_header(mti)
        .expect("MTI in the spec");
    group.bench_function("iso8583_rs binary", |b| {
        b.iter(|| {
            let mut message = new_msg(rs_spec, segment);
            message.set("message_type", mti).expect("field exists");
            for (n, v) in black_box(fields) {
                message.set_on(u32::from(*n), v).expect("field exists");
            }
            black_box(message.assemble().expect("valid"))
        })
    });
    group.finish();
}

fn codec(c: &mut Criterion) {
    let binary = Layout::shipped("generic-1987-binary").expect("shipped");
    let rs_spec = iso8583_rs_spec(&binary);
    bench_message(c, rs_spec, "0200 purchase", "0200", PURCHASE);
    bench_message(c, rs_spec, "0800 sign-on", "0800", SIGN_ON);
}

criterion_group!(benches, codec);
criterion_main!(benches);
