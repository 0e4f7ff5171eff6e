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
use mpos_testkit::messages::{self, Request};
use std::hint::black_box;

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

fn bench_message(c: &mut Criterion, rs_spec: &'static Spec, label: &str, request: &Request) {
    let ascii = Layout::shipped("generic-1987-ascii").expect("shipped");
    let binary = Layout::shipped("generic-1987-binary").expect("shipped");
    let ascii_wire = request.encode(&ascii).to_vec();
    let binary_wire = request.encode(&binary).to_vec();
    // What both encoders are given: the MTI and the field texts, borrowed.
    let mti = request.mti();
    let (mti, fields) = (mti.as_str(), &request.pairs()[..]);

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
                let mti = Mti::new(mti).expect("valid MTI");
                let message = MessageBuilder::from_fields(mti, black_box(fields));
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
    // A contactless purchase as the Android app sends it, ICC data included.
    bench_message(
        c,
        rs_spec,
        "0200 purchase",
        &messages::contactless_purchase(42, 12_550),
    );
    bench_message(
        c,
        rs_spec,
        "0800 sign-on",
        &messages::sign_on(1, "MPOS-0001", "app-pass-1"),
    );
}

criterion_group!(benches, codec);
criterion_main!(benches);
