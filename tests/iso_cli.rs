//! `mpos iso decode|encode` as a user runs them: the real binary, stdin in,
//! stdout and the exit code out.

use mpos_testkit::server::Mpos;
use std::process::Output;

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

fn mpos(args: &[&str], stdin: &[u8]) -> Output {
    MPOS.run(args, stdin)
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).expect("stdout is UTF-8")
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).expect("stderr is UTF-8")
}

const ECHO_0800: &[u8] = b"0800822000000000000004000000000000001125093000000001301";

#[test]
fn decode_prints_the_mti_and_fields_in_numeric_order() {
    let out = mpos(&["iso", "decode"], ECHO_0800);
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        stdout(&out),
        "{\"mti\":\"0800\",\"fields\":{\"7\":\"1125093000\",\"11\":\"000001\",\"70\":\"301\"}}\n"
    );
}

#[test]
fn encode_writes_the_raw_message_that_decode_reads_back() {
    let purchase = r#"{"mti":"0200","fields":{"2":"4276550012341234","3":"000000","4":"000000012550","7":"1125093000","11":"000042","14":"2812","22":"051","41":"10000001","42":"MTB000000000001","49":"933","55":"9F2608AABBCCDDEEFF0011"}}"#;
    let raw = mpos(&["iso", "encode"], purchase.as_bytes());
    assert!(raw.status.success(), "{}", stderr(&raw));
    assert!(raw.stdout.starts_with(b"0200"), "raw ASCII message");
    let back = mpos(&["iso", "decode"], &raw.stdout);
    assert!(back.status.success(), "{}", stderr(&back));
    assert_eq!(stdout(&back).trim_end(), purchase);
}

#[test]
fn framed_hex_and_other_layouts_round_trip() {
    let json = r#"{"mti":"0200","fields":{"2":"4276550012341234","52":"0123456789ABCDEF","90":"020000004211250930000000000000000000000000"}}"#;
    for layout in [
        "generic-1987-ascii",
        "generic-1987-binary",
        "generic-1987-bcd",
    ] {
        let raw = mpos(
            &["iso", "encode", "--layout", layout, "--framed", "--hex"],
            json.as_bytes(),
        );
        assert!(raw.status.success(), "{layout}: {}", stderr(&raw));
        let back = mpos(
            &["iso", "decode", "--layout", layout, "--framed", "--hex"],
            &raw.stdout,
        );
        assert!(back.status.success(), "{layout}: {}", stderr(&back));
        assert_eq!(stdout(&back).trim_end(), json, "{layout}");
    }
}

#[test]
fn a_layout_file_path_is_accepted() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/config/iso8583/generic-1987-ascii.toml"
    );
    let out = mpos(&["iso", "decode", "--layout", path], ECHO_0800);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// Bad input: a non-zero exit and exactly one line on stderr naming the field.
fn assert_one_line_error(out: &Output, expected: &str) {
    assert!(!out.status.success(), "must fail");
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(out);
    assert_eq!(err.lines().count(), 1, "one line: {err:?}");
    assert!(
        err.contains(expected),
        "{err:?} should contain {expected:?}"
    );
    assert!(out.stdout.is_empty(), "nothing on stdout");
}

#[test]
fn bad_messages_get_one_clear_line_naming_the_field() {
    // DE 11 holds a letter.
    let out = mpos(
        &["iso", "decode"],
        b"08008220000000000000040000000000000011250930000000A1301",
    );
    assert_one_line_error(&out, "field 11 (System trace audit number)");
    // Truncated inside DE 70.
    let out = mpos(
        &["iso", "decode"],
        b"080082200000000000000400000000000000112509300000000130",
    );
    assert_one_line_error(&out, "field 70 (Network management information code)");
    assert_one_line_error(&mpos(&["iso", "decode"], b""), "standard input is empty");
    assert_one_line_error(&mpos(&["iso", "decode"], b"08"), "MTI");
    assert_one_line_error(
        &mpos(&["iso", "decode", "--layout", "nope"], ECHO_0800),
        "generic-1987-ascii",
    );
}

#[test]
fn bad_json_gets_one_clear_line() {
    let cases: &[(&str, &str)] = &[
        (
            r#"{"mti":"0200","fields":{"4":"12"}}"#,
            "field 4 (Amount, transaction)",
        ),
        (
            r#"{"mti":"0200","fields":{"2":"4276x"}}"#,
            "field 2 (Primary account number)",
        ),
        (
            r#"{"mti":"0200","fields":{"129":"1"}}"#,
            "not a field number",
        ),
        (r#"{"mti":"02","fields":{}}"#, "MTI must be 4 digits"),
        (r#"{"mti":"0200"}"#, "missing field `fields`"),
        (r#"not json"#, "JSON"),
    ];
    for (json, expected) in cases {
        assert_one_line_error(&mpos(&["iso", "encode"], json.as_bytes()), expected);
    }
}

#[test]
fn help_explains_the_commands() {
    let out = mpos(&["--help"], b"");
    assert!(out.status.success());
    assert!(stdout(&out).contains("iso"));
    let out = mpos(&["iso", "decode", "--help"], b"");
    assert!(stdout(&out).contains("--layout"));
}
