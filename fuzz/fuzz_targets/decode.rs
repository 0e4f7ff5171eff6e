//! Fuzzes everything in `mpos-iso8583` that reads network input: the decoder
//! of every shipped layout (with `peek_mti` and `salvage_field`, which read
//! frames that may be broken) and the 2-byte length frame codec, fed whole
//! and in chunks.
//!
//! Beyond "never panics", it holds the decoder to its promise: whatever
//! decodes re-encodes from its text form with `MessageBuilder`, and that
//! re-encoding decodes to the same MTI and field texts; whatever
//! `salvage_field` returns for a frame that decodes is that field's text.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mpos_iso8583::{FrameCodec, Layout, MessageBuilder, SHIPPED_LAYOUTS};
use std::sync::OnceLock;
use tokio_util::codec::{Decoder, Encoder};

fn layouts() -> &'static [Layout] {
    static LAYOUTS: OnceLock<Vec<Layout>> = OnceLock::new();
    LAYOUTS.get_or_init(|| {
        SHIPPED_LAYOUTS
            .iter()
            .map(|(name, _)| Layout::shipped(name).expect("shipped layouts load"))
            .collect()
    })
}

fn texts(message: &mpos_iso8583::Message<'_>) -> Vec<(u8, String)> {
    message
        .fields()
        .map(|f| (f.number(), f.text().into_owned()))
        .collect()
}

fn check_layout(layout: &Layout, data: &[u8]) {
    // Read alone, the MTI agrees with a full decode.
    let peeked = layout.peek_mti(data);
    // Any field number at all, including 0, 1 and above 128: the caller
    // (the host echoing DE 11) passes numbers, and no number may panic.
    let probe = data.last().copied().unwrap_or(0);
    let salvaged = layout.salvage_field(data, probe);
    for n in [0u8, 1, 2, 11, 64, 65, 128, 129, 255] {
        let _ = layout.salvage_field(data, n);
    }

    let Ok(message) = layout.decode(data) else {
        return;
    };
    assert_eq!(peeked.ok(), Some(message.mti()));
    if let Some(s) = salvaged {
        assert_eq!(Some(s), message.str(probe).map(str::as_bytes));
    }
    let texts = texts(&message);
    let mut builder = MessageBuilder::new(message.mti());
    for (number, text) in &texts {
        builder.set(*number, text);
    }
    let mut again = BytesMut::new();
    layout
        .encode(&builder, &mut again)
        .expect("a decoded message re-encodes from its text form");
    let back = layout.decode(&again).expect("the re-encoding decodes");
    assert_eq!(back.mti(), message.mti());
    assert_eq!(self::texts(&back), texts);
    // The re-encoding is canonical: encoding it again changes nothing.
    let mut third = BytesMut::new();
    layout.encode(&builder, &mut third).expect("encodes again");
    assert_eq!(third, again);
}

fuzz_target!(|data: &[u8]| {
    for layout in layouts() {
        check_layout(layout, data);
    }

    // The input as a byte stream: whole, then one byte at a time, must give
    // the same frames and the same outcome.
    let mut codec = FrameCodec::new(512);
    let mut whole = BytesMut::from(data);
    let mut frames = Vec::new();
    let whole_end = loop {
        match codec.decode(&mut whole) {
            Ok(Some(frame)) => frames.push(frame),
            Ok(None) => break true,
            Err(_) => break false,
        }
    };
    let mut chunked = BytesMut::new();
    let mut frames_again = Vec::new();
    let mut chunked_end = true;
    'feed: for &byte in data {
        chunked.extend_from_slice(&[byte]);
        loop {
            match codec.decode(&mut chunked) {
                Ok(Some(frame)) => frames_again.push(frame),
                Ok(None) => break,
                Err(_) => {
                    chunked_end = false;
                    break 'feed;
                }
            }
        }
    }
    assert_eq!(frames, frames_again);
    assert_eq!(whole_end, chunked_end);
    // Re-framing the frames gives back the prefix of the input they came from.
    let mut reframed = BytesMut::new();
    for frame in &frames {
        codec
            .encode(&frame[..], &mut reframed)
            .expect("frames are within the maximum");
    }
    assert_eq!(&reframed[..], &data[..reframed.len()]);
});
