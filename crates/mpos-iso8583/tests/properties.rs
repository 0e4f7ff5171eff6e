//! Properties of the codec over generated input, for every shipped layout.
//!
//! Valid messages are generated from the layout itself (`Layout::fields`):
//! a random MTI, a random subset of the defined fields, and for each a value
//! of the field's class and a length the field allows. Then:
//!
//! - encode → decode gives the same MTI and field texts, and decode →
//!   re-encode gives the same bytes;
//! - no strict prefix of a valid message decodes, and bytes after it are
//!   reported as trailing data, counted exactly;
//! - decoding arbitrary bytes, arbitrary bytes behind a valid MTI and bitmap,
//!   or a valid message with one byte changed never panics, and whatever
//!   does decode re-encodes from its text form to the same texts;
//! - the frame codec re-assembles frames from any chunking, and on arbitrary
//!   input gives the same frames and outcome fed whole or in pieces.
//!
//! Case counts are kept small so the file runs in a few seconds unoptimised.

use bytes::{BufMut, BytesMut};
use mpos_iso8583::{
    BitmapEncoding, Class, DataEncoding, FieldSpec, FrameCodec, FrameError, Layout, LengthKind,
    MessageBuilder, Mti, MtiEncoding, SHIPPED_LAYOUTS,
};
use proptest::prelude::*;
use proptest::sample::{Index, select, subsequence};
use std::collections::BTreeMap;
use std::sync::OnceLock;
use tokio_util::codec::{Decoder, Encoder};

fn layouts() -> &'static [Layout] {
    static LAYOUTS: OnceLock<Vec<Layout>> = OnceLock::new();
    LAYOUTS.get_or_init(|| {
        SHIPPED_LAYOUTS
            .iter()
            .map(|(name, _)| Layout::shipped(name).expect("shipped"))
            .collect()
    })
}

/// An MTI and field texts by number.
type Texts = (String, BTreeMap<u8, String>);

// ------------------------------------------------------------- generators

/// Characters a value of `spec` may hold, in its text form.
fn alphabet(spec: &FieldSpec) -> Vec<u8> {
    let range = |lo: u8, hi: u8| (lo..=hi).collect::<Vec<u8>>();
    let digits = range(b'0', b'9');
    let letters = [range(b'A', b'Z'), range(b'a', b'z')].concat();
    let specials: Vec<u8> = range(0x20, 0x7E)
        .into_iter()
        .filter(|c| !c.is_ascii_alphanumeric())
        .collect();
    match spec.class {
        Class::N | Class::XN => digits,
        Class::A => letters,
        Class::S => specials,
        Class::An => [letters, digits].concat(),
        Class::As => [letters, specials].concat(),
        Class::Ns => [digits, specials].concat(),
        Class::Ans => range(0x20, 0x7E),
        Class::Anp => [letters, digits, vec![b' ']].concat(),
        Class::Z => [digits, b"=D".to_vec()].concat(),
        // Hex carried as ASCII keeps its case; binary data comes back upper.
        Class::B if spec.data == DataEncoding::Ascii => b"0123456789ABCDEFabcdef".to_vec(),
        Class::B => b"0123456789ABCDEF".to_vec(),
    }
}

/// A valid text-form value for `spec`: its class, and a length it allows.
fn value(spec: &FieldSpec) -> BoxedStrategy<String> {
    let max = usize::from(spec.max);
    let units = match spec.length {
        LengthKind::Fixed => Just(max).boxed(),
        // Short values are the common case; the maximum must come up too.
        LengthKind::LlVar | LengthKind::LllVar => {
            prop_oneof![4 => 0..=max.min(40), 1 => 0..=max, 1 => Just(max)].boxed()
        }
    };
    let (class, data) = (spec.class, spec.data);
    let chars = alphabet(spec);
    units
        .prop_flat_map(move |units| {
            let chars_len = match (class, data) {
                // Hex as ASCII: an even number of characters.
                (Class::B, DataEncoding::Ascii) => units - units % 2,
                // Binary: two hex characters a byte.
                (_, DataEncoding::Binary) => units * 2,
                _ => units,
            };
            (
                proptest::collection::vec(select(chars.clone()), chars_len),
                select(&b"CD"[..]),
            )
        })
        .prop_map(move |(mut text, sign)| {
            if class == Class::XN && !text.is_empty() {
                text[0] = sign;
            }
            String::from_utf8(text).expect("ASCII")
        })
        .boxed()
}

/// A valid message for `layout`: any MTI and a random subset of its fields.
fn message(layout: &'static Layout) -> impl Strategy<Value = Texts> {
    let numbers: Vec<u8> = layout.fields().map(|f| f.number).collect();
    ("[0-9]{4}", subsequence(numbers, 0..=14)).prop_flat_map(move |(mti, chosen)| {
        let values: Vec<_> = chosen
            .into_iter()
            .map(|n| value(layout.field(n).expect("defined")).prop_map(move |v| (n, v)))
            .collect();
        (Just(mti), values).prop_map(|(mti, values)| (mti, values.into_iter().collect()))
    })
}

/// One valid message for each shipped layout, in `layouts()` order.
fn one_message_per_layout() -> impl Strategy<Value = Vec<Texts>> {
    layouts().iter().map(message).collect::<Vec<_>>()
}

/// A valid message for a random shipped layout, with the layout's index.
fn message_in_some_layout() -> impl Strategy<Value = (usize, Texts)> {
    (0..layouts().len()).prop_flat_map(|i| message(&layouts()[i]).prop_map(move |m| (i, m)))
}

/// A valid MTI and bitmap(s) for `layout`: field numbers from 2 to 128,
/// bit 1 set when any is above 64 or `empty_secondary` asks for it anyway,
/// hex in upper or lower case.
fn head(layout: &Layout, mti: &str, numbers: &[u8], empty_secondary: bool, lower: bool) -> Vec<u8> {
    let mut out = match layout.mti_encoding() {
        MtiEncoding::Ascii => mti.as_bytes().to_vec(),
        MtiEncoding::Bcd => {
            let d: Vec<u8> = mti.bytes().map(|c| c - b'0').collect();
            vec![d[0] << 4 | d[1], d[2] << 4 | d[3]]
        }
    };
    let mut bits = numbers
        .iter()
        .fold(0u128, |bits, &n| bits | 1u128 << (128 - u32::from(n)));
    if bits & u128::from(u64::MAX) != 0 || empty_secondary {
        bits |= 1 << 127;
    }
    let mut words = vec![(bits >> 64) as u64];
    if bits & 1 << 127 != 0 {
        words.push(bits as u64);
    }
    for word in words {
        match (layout.bitmap_encoding(), lower) {
            (BitmapEncoding::Binary, _) => out.extend_from_slice(&word.to_be_bytes()),
            (BitmapEncoding::Hex, false) => {
                out.extend_from_slice(format!("{word:016X}").as_bytes())
            }
            (BitmapEncoding::Hex, true) => out.extend_from_slice(format!("{word:016x}").as_bytes()),
        }
    }
    out
}

// ---------------------------------------------------------------- helpers

fn encode(layout: &Layout, (mti, fields): &Texts) -> BytesMut {
    let builder = MessageBuilder::from_fields(
        Mti::new(mti).expect("4 digits"),
        fields.iter().map(|(n, v)| (*n, v.as_str())),
    );
    let mut out = BytesMut::new();
    layout
        .encode(&builder, &mut out)
        .unwrap_or_else(|e| panic!("{}: generated values are valid: {e}", layout.name()));
    out
}

fn decode(layout: &Layout, wire: &[u8]) -> Option<Texts> {
    let message = layout.decode(wire).ok()?;
    Some((
        message.mti().as_str().to_owned(),
        message
            .fields()
            .map(|f| (f.number(), f.text().into_owned()))
            .collect(),
    ))
}

/// Everything that reads input, on any input: must not panic, and what
/// decodes must re-encode from its text form to the same texts, with
/// `peek_mti` and `salvage_field` agreeing with the full decode.
fn check_any_input(layout: &Layout, wire: &[u8], probe: u8) -> Result<(), TestCaseError> {
    let peeked = layout.peek_mti(wire);
    let salvaged = layout.salvage_field(wire, probe);
    let Ok(message) = layout.decode(wire) else {
        return Ok(());
    };
    prop_assert_eq!(peeked.ok(), Some(message.mti()));
    if salvaged.is_some() {
        prop_assert_eq!(salvaged, message.str(probe).map(str::as_bytes));
    }
    let texts = decode(layout, wire).expect("decoded above");
    let again = encode(layout, &texts);
    prop_assert_eq!(
        decode(layout, &again),
        Some(texts),
        "re-encoding decodes the same"
    );
    // And the re-encoding is canonical: decode → encode gives it back.
    let texts_again = decode(layout, &again).expect("decodes");
    prop_assert_eq!(&encode(layout, &texts_again)[..], &again[..]);
    Ok(())
}

/// Feeds `stream` to a frame codec in pieces of the given sizes (cycled):
/// the frames that came out, and whether the stream was still trusted.
fn frames_in_chunks(codec: &mut FrameCodec, stream: &[u8], cuts: &[usize]) -> (Vec<Vec<u8>>, bool) {
    let mut input = BytesMut::new();
    let mut frames = Vec::new();
    let mut rest = stream;
    let mut cut = cuts.iter().cycle();
    while !rest.is_empty() {
        let n = cut.next().copied().unwrap_or(1).clamp(1, rest.len());
        input.put_slice(&rest[..n]);
        rest = &rest[n..];
        loop {
            match codec.decode(&mut input) {
                Ok(Some(frame)) => frames.push(frame.to_vec()),
                Ok(None) => break,
                Err(FrameError::Empty | FrameError::TooLong { .. }) => return (frames, false),
                Err(e) => panic!("no I/O here: {e}"),
            }
        }
    }
    (frames, true)
}

// ------------------------------------------------------------- properties

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn encode_then_decode_gives_the_same_mti_and_texts(messages in one_message_per_layout()) {
        for (layout, texts) in layouts().iter().zip(&messages) {
            let wire = encode(layout, texts);
            let decoded = decode(layout, &wire);
            prop_assert_eq!(decoded.as_ref(), Some(texts), "{}", layout.name());
            let m = layout.decode(&wire).expect("decodes");
            prop_assert_eq!(m.field_numbers().collect::<Vec<_>>(), texts.1.keys().copied().collect::<Vec<_>>());
            for (n, v) in &texts.1 {
                prop_assert!(m.has(*n));
                if layout.field(*n).expect("defined").data == DataEncoding::Ascii {
                    prop_assert_eq!(m.str(*n), Some(v.as_str()));
                }
            }
        }
    }

    #[test]
    fn decode_then_encode_gives_the_same_bytes(messages in one_message_per_layout()) {
        for (layout, texts) in layouts().iter().zip(&messages) {
            let wire = encode(layout, texts);
            let decoded = decode(layout, &wire).expect("valid");
            prop_assert_eq!(&encode(layout, &decoded)[..], &wire[..], "{}", layout.name());
        }
    }

    #[test]
    fn no_strict_prefix_decodes_and_extra_bytes_are_counted(
        (index, texts) in message_in_some_layout(),
        cut in any::<Index>(),
        extra in proptest::collection::vec(any::<u8>(), 1..40),
    ) {
        let layout = &layouts()[index];
        let wire = encode(layout, &texts);
        let short = &wire[..cut.index(wire.len())];
        prop_assert!(layout.decode(short).is_err(), "{} decoded {} of {} bytes", layout.name(), short.len(), wire.len());
        let long = [&wire[..], &extra].concat();
        prop_assert_eq!(
            layout.decode(&long).err(),
            Some(mpos_iso8583::DecodeError::TrailingData { extra: extra.len() })
        );
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        probe in any::<u8>(),
    ) {
        for layout in layouts() {
            check_any_input(layout, &bytes, probe)?;
        }
    }

    #[test]
    fn decoding_a_valid_head_with_an_arbitrary_body_never_panics(
        mti in "[0-9]{4}",
        numbers in subsequence((2..=128u8).collect::<Vec<_>>(), 0..=6),
        (empty_secondary, lower) in (any::<bool>(), any::<bool>()),
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..300),
            // Digits pass ASCII prefixes and n fields, and are valid BCD
            // half the time: they get further into every layout.
            proptest::collection::vec(select(&b"0123456789"[..]), 0..300),
            proptest::collection::vec(select(&[0x00, 0x01, 0x09, 0x10, 0x12, 0x99, b'0', b'1', b'9', b'A'][..]), 0..300),
        ],
        probe in any::<u8>(),
    ) {
        for layout in layouts() {
            let wire = [head(layout, &mti, &numbers, empty_secondary, lower), body.clone()].concat();
            check_any_input(layout, &wire, probe)?;
            // The head alone is read: any error is about a field, or fields
            // the layout lacks, never about the MTI or bitmap.
            if let Err(e) = layout.decode(&wire) {
                prop_assert!(
                    matches!(e, mpos_iso8583::DecodeError::Field { .. } | mpos_iso8583::DecodeError::UndefinedField { .. } | mpos_iso8583::DecodeError::TrailingData { .. }),
                    "{}: {e}", layout.name()
                );
            }
        }
    }

    #[test]
    fn changing_one_byte_of_a_valid_message_never_panics(
        (index, texts) in message_in_some_layout(),
        at in any::<Index>(),
        byte in any::<u8>(),
        probe in any::<u8>(),
    ) {
        let layout = &layouts()[index];
        let mut wire = encode(layout, &texts).to_vec();
        let i = at.index(wire.len());
        wire[i] = byte;
        check_any_input(layout, &wire, probe)?;
    }

    #[test]
    fn frames_reassemble_from_any_chunking(
        max in 1..600usize,
        bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..600), 1..8),
        cuts in proptest::collection::vec(1..64usize, 1..40),
    ) {
        let mut codec = FrameCodec::new(max);
        let bodies: Vec<Vec<u8>> = bodies.into_iter().map(|mut b| { b.truncate(max); b }).collect();
        let mut stream = BytesMut::new();
        for body in &bodies {
            codec.encode(&body[..], &mut stream).expect("within the maximum");
        }
        prop_assert_eq!(frames_in_chunks(&mut codec, &stream, &cuts), (bodies, true));
    }

    #[test]
    fn frame_decoding_of_arbitrary_chunks_never_panics_and_ignores_chunking(
        max in 1..80usize,
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        cuts in proptest::collection::vec(1..32usize, 1..20),
    ) {
        let whole = frames_in_chunks(&mut FrameCodec::new(max), &bytes, &[bytes.len().max(1)]);
        let chunked = frames_in_chunks(&mut FrameCodec::new(max), &bytes, &cuts);
        prop_assert_eq!(&chunked, &whole);
        let byte_by_byte = frames_in_chunks(&mut FrameCodec::new(max), &bytes, &[1]);
        prop_assert_eq!(&byte_by_byte, &whole);
        // The frames are the input's own bytes, in order, behind their headers.
        let mut reframed = BytesMut::new();
        for frame in &whole.0 {
            FrameCodec::new(max).encode(&frame[..], &mut reframed).expect("decoded frames fit");
        }
        prop_assert_eq!(&reframed[..], &bytes[..reframed.len()]);
    }
}
