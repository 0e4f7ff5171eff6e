//! Fuzzes the decoder of every shipped layout and the frame codec with
//! arbitrary bytes. Beyond "never panics", it holds the decoder to its
//! promise: whatever decodes re-encodes from its text form, and that
//! re-encoding decodes to the same MTI and field texts.

#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mpos_iso8583::{FrameCodec, Layout, MessageBuilder, SHIPPED_LAYOUTS};
use std::sync::OnceLock;
use tokio_util::codec::Decoder;

fn layouts() -> &'static [Layout] {
    static LAYOUTS: OnceLock<Vec<Layout>> = OnceLock::new();
    LAYOUTS.get_or_init(|| {
        SHIPPED_LAYOUTS
            .iter()
            .map(|(name, _)| Layout::shipped(name).expect("shipped layouts load"))
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    for layout in layouts() {
        let Ok(message) = layout.decode(data) else { continue };
        let texts: Vec<(u8, String)> = message.fields().map(|f| (f.number(), f.text().into_owned())).collect();
        let mut builder = MessageBuilder::new(message.mti());
        for (number, text) in &texts {
            builder.set(*number, text);
        }
        let mut again = BytesMut::new();
        layout.encode(&builder, &mut again).expect("a decoded message re-encodes");
        let back = layout.decode(&again).expect("the re-encoding decodes");
        assert_eq!(back.mti(), message.mti());
        let back_texts: Vec<(u8, String)> = back.fields().map(|f| (f.number(), f.text().into_owned())).collect();
        assert_eq!(back_texts, texts);
    }
    let mut codec = FrameCodec::new(512);
    let mut input = BytesMut::from(data);
    while let Ok(Some(_)) = codec.decode(&mut input) {}
});
