//! The codec through its public API, one small inline layout per concern so
//! each test shows exactly what it covers: every length kind, prefix and
//! data encoding, MTI and bitmap encodings, every error with the field it
//! names, rollback on error, and Debug output that never shows field content.

use bytes::BytesMut;
use mpos_iso8583::{
    DecodeError, EncodeError, FieldProblem, Layout, MessageBuilder, Mti, WhichBitmap,
};

/// A layout with the given MTI/bitmap encodings and field lines.
fn layout(mti: &str, bitmap: &str, fields: &str) -> Layout {
    let text =
        format!("name = \"t\"\nmti = \"{mti}\"\nbitmap = \"{bitmap}\"\n[fields]\n{fields}\n");
    Layout::from_toml(&text, "test").expect("test layout is valid")
}

fn encode(layout: &Layout, mti: &str, fields: &[(u8, &str)]) -> Result<Vec<u8>, EncodeError> {
    let mut m = MessageBuilder::new(Mti::new(mti).expect("MTI"));
    for (n, v) in fields {
        m.set(*n, v);
    }
    let mut out = BytesMut::new();
    layout.encode(&m, &mut out).map(|()| out.to_vec())
}

fn texts(layout: &Layout, wire: &[u8]) -> Vec<(u8, String)> {
    let m = layout.decode(wire).expect("decodes");
    m.fields()
        .map(|f| (f.number(), f.text().into_owned()))
        .collect()
}

/// Encodes `value` into field 2 of `layout`, checks the exact bytes after
/// MTI and bitmap, and decodes it back.
fn round_trip(layout: &Layout, value: &str, field_bytes: &[u8]) {
    let wire = encode(layout, "0200", &[(2, value)]).expect("encodes");
    let head = match layout.bitmap_encoding() {
        mpos_iso8583::BitmapEncoding::Hex => 16,
        mpos_iso8583::BitmapEncoding::Binary => 8,
    } + match layout.mti_encoding() {
        mpos_iso8583::MtiEncoding::Ascii => 4,
        mpos_iso8583::MtiEncoding::Bcd => 2,
    };
    assert_eq!(&wire[head..], field_bytes, "{value:?}");
    assert_eq!(texts(layout, &wire), [(2, value.to_owned())]);
}

#[test]
fn fixed_fields_in_every_data_encoding() {
    let ascii = layout(
        "ascii",
        "hex",
        r#"2 = { name = "x", class = "n", len = "fixed", max = 6, data = "ascii" }"#,
    );
    round_trip(&ascii, "000123", b"000123");
    let bcd_even = layout(
        "ascii",
        "hex",
        r#"2 = { name = "x", class = "n", len = "fixed", max = 6, data = "bcd" }"#,
    );
    round_trip(&bcd_even, "000123", &[0x00, 0x01, 0x23]);
    let bcd_odd = layout(
        "ascii",
        "hex",
        r#"2 = { name = "x", class = "n", len = "fixed", max = 3, data = "bcd" }"#,
    );
    round_trip(&bcd_odd, "051", &[0x00, 0x51]);
    let binary = layout(
        "ascii",
        "hex",
        r#"2 = { name = "x", class = "b", len = "fixed", max = 2, data = "binary" }"#,
    );
    round_trip(&binary, "ABCD", &[0xAB, 0xCD]);
    let hex = layout(
        "ascii",
        "hex",
        r#"2 = { name = "x", class = "b", len = "fixed", max = 4, data = "ascii" }"#,
    );
    round_trip(&hex, "ABCD", b"ABCD");
}

#[test]
fn variable_fields_with_every_prefix_encoding() {
    let cases: &[(&str, &str, &str, &[u8])] = &[
        ("llvar", "ascii", "ascii", b"05HELLO"),
        ("lllvar", "ascii", "ascii", b"005HELLO"),
        ("llvar", "bcd", "ascii", b"\x05HELLO"),
        ("lllvar", "bcd", "ascii", b"\x00\x05HELLO"),
        ("llvar", "binary", "ascii", b"\x05HELLO"),
        ("lllvar", "binary", "ascii", b"\x00\x05HELLO"),
    ];
    for (len, prefix, data, bytes) in cases {
        let l = layout(
            "ascii",
            "binary",
            &format!(
                r#"2 = {{ name = "x", class = "ans", len = "{len}", max = 99, prefix = "{prefix}", data = "{data}" }}"#
            ),
        );
        round_trip(&l, "HELLO", bytes);
    }
    // BCD data counts digits: 5 digits, 3 bytes, a leading pad nibble.
    let l = layout(
        "ascii",
        "binary",
        r#"2 = { name = "x", class = "n", len = "llvar", max = 19, prefix = "bcd", data = "bcd" }"#,
    );
    round_trip(&l, "12345", &[0x05, 0x01, 0x23, 0x45]);
    // Binary data counts bytes.
    let l = layout(
        "ascii",
        "binary",
        r#"2 = { name = "x", class = "b", len = "lllvar", max = 255, prefix = "ascii", data = "binary" }"#,
    );
    round_trip(&l, "00FF10", b"003\x00\xFF\x10");
    // Empty variable fields are allowed.
    let l = layout(
        "ascii",
        "binary",
        r#"2 = { name = "x", class = "ans", len = "llvar", max = 9, prefix = "ascii", data = "ascii" }"#,
    );
    round_trip(&l, "", b"00");
}

#[test]
fn bcd_mti_and_both_bitmap_encodings() {
    let fields = r#"
3 = { name = "x", class = "n", len = "fixed", max = 6, data = "ascii" }
70 = { name = "y", class = "n", len = "fixed", max = 3, data = "ascii" }"#;
    let l = layout("bcd", "binary", fields);
    let wire = encode(&l, "0800", &[(3, "000000"), (70, "301")]).unwrap();
    assert_eq!(&wire[..2], [0x08, 0x00]);
    assert_eq!(
        &wire[2..18],
        [0xA0, 0, 0, 0, 0, 0, 0, 0, 0x04, 0, 0, 0, 0, 0, 0, 0],
        "bit 1 set for field 70"
    );
    assert_eq!(l.decode(&wire).unwrap().mti().as_str(), "0800");
    let l = layout("ascii", "hex", fields);
    let wire = encode(&l, "0800", &[(3, "000000")]).unwrap();
    assert_eq!(
        &wire[..],
        b"08002000000000000000000000",
        "no secondary bitmap without fields above 64"
    );
    let lower = b"0800a0000000000000000400000000000000000000301";
    assert_eq!(
        texts(&l, lower),
        [(3, "000000".to_owned()), (70, "301".to_owned())],
        "lower-case hex is read"
    );
    assert_eq!(
        &encode(&l, "0800", &[(3, "000000"), (70, "301")]).unwrap()[..],
        b"0800A0000000000000000400000000000000000000301"
    );
}

#[test]
fn a_host_profile_purchase_by_hand() {
    let l = Layout::shipped("generic-1987-ascii").unwrap();
    let wire: &[u8] = b"0200\
        7224040000C08200\
        164276550012341234\
        000000\
        000000012550\
        1125093000\
        000042\
        2812\
        051\
        10000001\
        MTB000000000001\
        933\
        0229F26080102030405060708";
    let m = l.decode(wire).unwrap();
    assert_eq!(m.mti().as_str(), "0200");
    assert_eq!(
        m.field_numbers().collect::<Vec<_>>(),
        [2, 3, 4, 7, 11, 14, 22, 41, 42, 49, 55]
    );
    assert_eq!(m.str(2), Some("4276550012341234"));
    assert_eq!(m.str(42), Some("MTB000000000001"));
    assert_eq!(m.str(55), Some("9F26080102030405060708"));
    assert!(m.has(4) && !m.has(35) && !m.has(1) && !m.has(0) && !m.has(200));
    assert_eq!(m.field(55).unwrap().len(), 22);
    let fields: Vec<(u8, String)> = m
        .fields()
        .map(|f| (f.number(), f.text().into_owned()))
        .collect();
    let pairs: Vec<(u8, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    assert_eq!(encode(&l, "0200", &pairs).unwrap(), wire);
}

fn field_error(l: &Layout, wire: &[u8]) -> (u8, FieldProblem) {
    match l.decode(wire) {
        Err(DecodeError::Field { field, problem }) => (field, problem),
        other => panic!("expected a field error, got {other:?}"),
    }
}

#[test]
fn every_decode_error_names_what_is_wrong() {
    let l = Layout::shipped("generic-1987-ascii").unwrap();
    assert_eq!(l.decode(b"020").unwrap_err(), DecodeError::TruncatedMti);
    assert_eq!(l.decode(b"02X0").unwrap_err(), DecodeError::BadMti);
    assert_eq!(
        l.decode(b"02007024").unwrap_err(),
        DecodeError::TruncatedBitmap(WhichBitmap::Primary)
    );
    assert_eq!(
        l.decode(b"0200Z024058000C18000").unwrap_err(),
        DecodeError::BadBitmap(WhichBitmap::Primary)
    );
    assert_eq!(
        l.decode(b"08008220000000000000").unwrap_err(),
        DecodeError::TruncatedBitmap(WhichBitmap::Secondary)
    );
    assert_eq!(
        l.decode(b"08008220000000000000G400000000000000")
            .unwrap_err(),
        DecodeError::BadBitmap(WhichBitmap::Secondary)
    );
    assert_eq!(
        field_error(&l, b"02004000000000000000"),
        (2, FieldProblem::TruncatedPrefix)
    );
    assert_eq!(
        field_error(&l, b"020040000000000000001x"),
        (2, FieldProblem::BadPrefix)
    );
    assert_eq!(
        field_error(&l, b"0200400000000000000020"),
        (2, FieldProblem::TooLong { len: 20, max: 19 })
    );
    assert_eq!(
        field_error(&l, b"020040000000000000001642765500"),
        (2, FieldProblem::Truncated { need: 16, have: 8 })
    );
    assert_eq!(
        field_error(&l, b"0200400000000000000004427X"),
        (
            2,
            FieldProblem::BadContent {
                offset: 3,
                byte: b'X',
                class: mpos_iso8583::Class::N
            }
        )
    );
    assert_eq!(
        field_error(&l, b"02000000000000000200003ABC"),
        (55, FieldProblem::OddHex { len: 3 })
    );
    assert_eq!(
        l.decode(b"0200400000000000000004427600").unwrap_err(),
        DecodeError::TrailingData { extra: 2 }
    );
    assert_eq!(
        l.decode(&vec![b'0'; 70_000]).unwrap_err(),
        DecodeError::TooLong { len: 70_000 }
    );

    let bcd = layout(
        "bcd",
        "binary",
        r#"2 = { name = "x", class = "n", len = "fixed", max = 3, data = "bcd" }"#,
    );
    assert_eq!(bcd.decode(&[0x0A, 0x00]).unwrap_err(), DecodeError::BadMti);
    let bitmap = [0x40, 0, 0, 0, 0, 0, 0, 0];
    assert_eq!(
        field_error(&bcd, &[&[0x02, 0x00][..], &bitmap, &[0x10, 0x51]].concat()),
        (2, FieldProblem::BadBcd { offset: 0 }),
        "pad nibble must be 0"
    );
    assert_eq!(
        field_error(&bcd, &[&[0x02, 0x00][..], &bitmap, &[0x00, 0x5A]].concat()),
        (2, FieldProblem::BadBcd { offset: 1 })
    );
    let sparse = layout(
        "ascii",
        "hex",
        r#"3 = { name = "x", class = "n", len = "fixed", max = 6, data = "ascii" }"#,
    );
    assert_eq!(
        sparse.decode(b"02004000000000000000").unwrap_err(),
        DecodeError::UndefinedField { field: 2 }
    );
    assert_eq!(
        sparse.decode(b"02004000000000000000").unwrap_err().field(),
        Some(2)
    );
}

#[test]
fn every_encode_error_names_the_field_and_leaves_the_buffer_alone() {
    let l = Layout::shipped("generic-1987-ascii").unwrap();
    let cases: &[(u8, &str, EncodeError)] = &[
        (
            4,
            "12",
            EncodeError::Field {
                field: 4,
                problem: FieldProblem::WrongLength {
                    len: 2,
                    expected: 12,
                },
            },
        ),
        (
            2,
            "12345678901234567890",
            EncodeError::Field {
                field: 2,
                problem: FieldProblem::TooLong { len: 20, max: 19 },
            },
        ),
        (
            11,
            "00004A",
            EncodeError::Field {
                field: 11,
                problem: FieldProblem::BadContent {
                    offset: 5,
                    byte: b'A',
                    class: mpos_iso8583::Class::N,
                },
            },
        ),
        (
            55,
            "ABC",
            EncodeError::Field {
                field: 55,
                problem: FieldProblem::OddHex { len: 3 },
            },
        ),
        (
            41,
            "1000000\u{e9}",
            EncodeError::Field {
                field: 41,
                problem: FieldProblem::WrongLength {
                    len: 9,
                    expected: 8,
                },
            },
        ),
    ];
    for (field, value, expected) in cases {
        let mut out = BytesMut::from(&b"keep"[..]);
        let mut m = MessageBuilder::new(Mti::new("0200").unwrap());
        m.set(3, "000000").set(*field, value);
        assert_eq!(l.encode(&m, &mut out).unwrap_err(), *expected);
        assert_eq!(&out[..], b"keep", "rolled back");
    }
    let binary = Layout::shipped("generic-1987-binary").unwrap();
    let mut m = MessageBuilder::new(Mti::new("0200").unwrap());
    m.set(52, "0123456789ABCDEG");
    assert!(matches!(
        binary.encode(&m, &mut BytesMut::new()),
        Err(EncodeError::Field {
            field: 52,
            problem: FieldProblem::BadContent { offset: 15, .. }
        })
    ));
    let mut m = MessageBuilder::new(Mti::new("0200").unwrap());
    m.set(1, "x");
    assert_eq!(
        l.encode(&m, &mut BytesMut::new()).unwrap_err(),
        EncodeError::UndefinedField { field: 1 }
    );
    let sparse = layout(
        "ascii",
        "hex",
        r#"3 = { name = "x", class = "n", len = "fixed", max = 6, data = "ascii" }"#,
    );
    let mut m = MessageBuilder::new(Mti::new("0200").unwrap());
    m.set(4, "000000000100");
    assert_eq!(
        sparse.encode(&m, &mut BytesMut::new()).unwrap_err().field(),
        4
    );
}

#[test]
fn the_builder_keeps_fields_sorted_and_replaceable() {
    let mut m = MessageBuilder::new(Mti::new("0200").unwrap());
    m.set(70, "301")
        .set(3, "000000")
        .set(11, "000001")
        .set(3, "200000");
    assert_eq!(m.field_numbers().collect::<Vec<_>>(), [3, 11, 70]);
    assert_eq!(m.get(3), Some(&b"200000"[..]));
    m.clear(11);
    assert_eq!(m.get(11), None);
    m.set_mti(Mti::new("0210").unwrap());
    assert_eq!(m.mti().as_str(), "0210");
}

#[test]
fn debug_output_never_shows_field_content() {
    let l = Layout::shipped("generic-1987-ascii").unwrap();
    let pan = "4276550012341234";
    let wire = encode(
        &l,
        "0200",
        &[
            (2, pan),
            (35, "4276550012341234=2812"),
            (52, "0123456789ABCDEF"),
        ],
    )
    .unwrap();
    let m = l.decode(&wire).unwrap();
    let shown = format!("{m:?} {:?}", m.field(2).unwrap());
    let mut b = MessageBuilder::new(Mti::new("0200").unwrap());
    b.set(2, pan);
    let shown = format!("{shown} {b:?}");
    assert!(!shown.contains("427655"), "{shown}");
    assert!(!shown.contains("0123456789"), "{shown}");
    assert!(shown.contains("16 units"), "{shown}");
}

#[test]
fn the_mti_and_early_fields_of_a_broken_message_can_still_be_read() {
    let l = Layout::shipped("generic-1987-ascii").unwrap();
    // DE 11 is fine, DE 41 (after it) is cut short.
    let broken = b"0200002000000080000000004210000";
    assert!(l.decode(broken).is_err());
    assert_eq!(l.peek_mti(broken).unwrap().as_str(), "0200");
    assert_eq!(l.salvage_field(broken, 11), Some(&b"000042"[..]));
    assert_eq!(l.salvage_field(broken, 41), None, "the broken field itself");
    assert_eq!(l.salvage_field(broken, 4), None, "absent");
    assert_eq!(l.salvage_field(b"02X0", 11), None);
    assert!(l.peek_mti(b"02").is_err());
}
