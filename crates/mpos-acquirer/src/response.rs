//! Answers: the response MTI, the echoed fields (DE 3, 4, 7, 11, 41, 42, 49
//! where present, and 70 for 0810 — never 2, 35, 48, 52 or 55), the RRN and
//! authorization code of an approval, and DE 39.

use bytes::Bytes;
use mpos_domain::response::ResponseCode;
use mpos_iso8583::{Layout, Message, MessageBuilder, Mti};

/// Fields every answer echoes from its request.
const ECHOED: [u8; 8] = [3, 4, 7, 11, 41, 42, 49, 70];

/// The answer to `request` with `code`, and for an approval its RRN and
/// authorization code.
pub(crate) fn answer(
    layout: &Layout,
    request: &Message<'_>,
    code: ResponseCode,
    approval: Option<(&str, &str)>,
) -> Bytes {
    let mut builder = MessageBuilder::new(request.mti().response());
    let echoed: Vec<(u8, String)> = ECHOED
        .iter()
        .filter(|n| **n != 70 || request.mti().as_str() == "0800")
        .filter_map(|n| request.field(*n).map(|f| (*n, f.text().into_owned())))
        .collect();
    for (n, text) in &echoed {
        builder.set(*n, text);
    }
    if let Some((rrn, auth_code)) = approval {
        builder.set(37, rrn).set(38, auth_code);
    }
    builder.set(39, code.as_str());
    encode(layout, &builder)
}

/// A format-error answer to a message that could not be decoded: its
/// response MTI, DE 11 if it could be read, DE 39 = 30.
pub(crate) fn format_error(layout: &Layout, mti: Mti, stan: Option<&[u8]>) -> Bytes {
    let mut builder = MessageBuilder::new(mti.response());
    if let Some(stan) = stan {
        builder.set_bytes(11, stan);
    }
    builder.set(39, ResponseCode::FormatError.as_str());
    encode(layout, &builder)
}

fn encode(layout: &Layout, builder: &MessageBuilder<'_>) -> Bytes {
    let mut out = bytes::BytesMut::with_capacity(128);
    match layout.encode(builder, &mut out) {
        Ok(()) => out.freeze(),
        // Echoed fields were valid in the request, and the rest is ours:
        // this cannot fail with the host's layout. Fall back to the bare
        // answer rather than no answer.
        Err(error) => {
            tracing::error!(%error, "an answer failed to encode");
            let mut bare = MessageBuilder::new(builder.mti());
            bare.set(39, ResponseCode::SystemMalfunction.as_str());
            let mut out = bytes::BytesMut::new();
            let _ = layout.encode(&bare, &mut out);
            out.freeze()
        }
    }
}
