//! Properties of the codec over generated input, for every shipped layout:
//! what is encoded decodes to the same thing, what decodes re-encodes to the
//! same bytes, and no input — random, mutated or chunked — makes it panic.

use bytes::{BufMut, BytesMut};
use mpos_iso8583::{
    Class, DataEncoding, FieldSpec, FrameCodec, Layout, LengthKind, MessageBuilder, Mti,
    SHIPPED_LAYOUTS,
};
use proptest::prelude::*;
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

/// Characters of a class, as the text form carries them.
fn alphabet(class: Class) -> Vec<u8> {
    let range = |lo: u8, hi: u8| (lo..=hi).collect::<Vec<u8>>();
    let digits = range(b'0', b'9');
    let letters: Vec<u8> = range(b'A', b'Z')
        .into_iter()
        .chain(range(b'a', b'z'))
        .collect();
    let specials: Vec<u8> = range(0x20, 0x7E)
        .into_iter()
        .filter(|c| !c.is_ascii_alphanumeric())
        .collect();
    match class {
        Class::N | Class::XN => digits,
        Class::A => letters,
        Class::S => specials,
        Class::An => [letters, digits].concat(),
        Class::As => [letters, specials].concat(),
        Class::Ns => [digits, specials].concat(),
        Class::Ans => range(0x20, 0x7E),
        Class::Anp => [letters, digits, vec![b' ']].concat(),
        Class::Z => [digits, b"=D".to_vec()].concat(),
        Class::B => b"0123456789ABCDEF".to_vec(),
    }
}

/// A valid text-form value for `spec`.
fn value(spec: &FieldSpec) -> BoxedStrategy<String> {
    let max = usize::from(spec.max);
    let units = match spec.length {
        LengthKind::Fixed => Just(max).boxed(),
        _ => (0..=max).boxed(),
    };
    let class = spec.class;
    let data = spec.data;
    let chars = alphabet(class);
    units
        .prop_flat_map(move |units| {
            let units = if class == Class::B && data == DataEncoding::Ascii {
                units - units % 2
            } else {
                units
            };
            let len = if data == DataEncoding::Binary {
                units * 2
            } else {
                units
            };
            proptest::collection::vec(proptest::sample::select(chars.clone()), len)
        })
        .prop_map(move |mut bytes| {
            if class == Class::XN && !bytes.is_empty() {
                bytes[0] = b'C';
            }
            String::from_utf8(bytes).expect("ASCII")
        })
        .boxed()
}

/// A valid message for the layout at `index`: an MTI and some fields.
fn message(index: usize) -> impl Strategy<Value = (String, BTreeMap<u8, String>)> {
    let layout = &layouts()[index];
    let numbers: Vec<u8> = layout.fields().map(|f| f.number).collect();
    let mti = "[0-9]{4}";
    let chosen = proptest::sample::subsequence(numbers, 0..12);
    (mti, chosen).prop_flat_map(move |(mti, chosen)| {
        let values: Vec<_> = chosen
            .into_iter()
            .map(|n| value(layouts()[index].field(n).expect("defined")).prop_map(move |v| (n, v)))
            .collect();
        (Just(mti), values).prop_map(|(mti, values)| (mti, values.into_iter().collect()))
    })
}

fn encode(layout: &Layout, mti: &str, fields: &BTreeMap<u8, String>) -> BytesMut {
    let mut builder = MessageBuilder::new(Mti::new(mti).expect("4 digits"));
    for (n, v) in fields {
        builder.set(*n, v);
    }
    let mut out = BytesMut::new();
    layout
        .encode(&builder, &mut out)
        .expect("generated values are valid");
    out
}

fn texts(layout: &Layout, wire: &[u8]) -> Option<(String, BTreeMap<u8, String>)> {
    let message = layout.decode(wire).ok()?;
    Some((
        message.mti().as_str().to_owned(),
        message
            .fields()
            .map(|f| (f.number(), f.text().into_owned()))
            .collect(),
    ))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn generated_messages_round_trip_in_every_layout(
        (mti, fields) in message(0), (mti_b, fields_b) in message(1), (mti_c, fields_c) in message(2)
    ) {
        for (index, (mti, fields)) in [(mti, fields), (mti_b, fields_b), (mti_c, fields_c)].into_iter().enumerate() {
            let layout = &layouts()[index];
            let wire = encode(layout, &mti, &fields);
            let decoded = texts(layout, &wire);
            prop_assert_eq!(decoded, Some((mti.clone(), fields.clone())));
            // Decoding then re-encoding gives the same bytes.
            prop_assert_eq!(&encode(layout, &mti, &fields)[..], &wire[..]);
        }
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        for layout in layouts() {
            let _ = layout.decode(&bytes);
        }
    }

    #[test]
    fn decoding_a_valid_head_with_arbitrary_body_never_panics(
        head in proptest::sample::select(vec![&b"0200F23C46D129E09220"[..], b"0800822000000000000004000000000000000", b"0200FFFFFFFFFFFFFFFF"]),
        body in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let wire = [head, &body[..]].concat();
        for layout in layouts() {
            let _ = layout.decode(&wire);
        }
    }

    #[test]
    fn mutating_one_byte_of_a_valid_message_never_panics(
        (mti, fields) in message(0), at in any::<prop::sample::Index>(), byte in any::<u8>()
    ) {
        let layout = &layouts()[0];
        let mut wire = encode(layout, &mti, &fields).to_vec();
        let i = at.index(wire.len());
        wire[i] = byte;
        if let Some((mti, fields)) = texts(layout, &wire) {
            // Whatever still decodes must re-encode to the same bytes
            // (hex bitmaps aside: they are read in either case, written upper).
            let again = encode(layout, &mti, &fields);
            prop_assert_eq!(texts(layout, &again), Some((mti, fields)));
        }
    }

    #[test]
    fn frames_reassemble_from_any_chunking(
        bodies in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 1..300), 1..8),
        cuts in proptest::collection::vec(1..64usize, 1..40),
    ) {
        let mut codec = FrameCodec::default();
        let mut stream = BytesMut::new();
        for body in &bodies {
            codec.encode(&body[..], &mut stream).expect("within the maximum");
        }
        let mut input = BytesMut::new();
        let mut out = Vec::new();
        let mut rest = &stream[..];
        let mut cut = cuts.iter().cycle();
        while !rest.is_empty() {
            let n = (*cut.next().expect("cycle")).min(rest.len());
            input.put_slice(&rest[..n]);
            rest = &rest[n..];
            while let Some(frame) = codec.decode(&mut input).expect("valid frames") {
                out.push(frame.to_vec());
            }
        }
        prop_assert_eq!(out, bodies);
    }

    #[test]
    fn frame_decoding_of_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut codec = FrameCodec::new(64);
        let mut input = BytesMut::from(&bytes[..]);
        while let Ok(Some(_)) = codec.decode(&mut input) {}
    }
}
