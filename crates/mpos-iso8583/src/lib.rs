//! ISO 8583 for the mPOS host: layouts as data, zero-copy decoding, encoding
//! straight into a [`bytes::BytesMut`], and the 2-byte length framing of the
//! host interface.
//!
//! The crate does no I/O of its own. A [`Layout`] is loaded from TOML (the
//! shipped ones live in `config/iso8583/` and are also compiled in), checked
//! once, and then drives both directions:
//!
//! ```
//! use mpos_iso8583::{Layout, MessageBuilder, Mti};
//!
//! let layout = Layout::shipped("generic-1987-ascii")?;
//! let mut request = MessageBuilder::new(Mti::new("0800")?);
//! request.set(7, "1125093000").set(11, "000001").set(70, "301");
//! let mut wire = bytes::BytesMut::new();
//! layout.encode(&request, &mut wire)?;
//!
//! let message = layout.decode(&wire)?;
//! assert_eq!(message.mti().as_str(), "0800");
//! assert_eq!(message.str(70), Some("301"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! Every field value has one *text form*, the way it travels in the all-ASCII
//! layout: digits for numeric fields, hex for binary data (upper case when
//! the wire carries raw bytes or BCD; as it arrived when the wire already
//! carries hex). Decoding hands it out borrowed from the frame where the
//! layout is ASCII, and encoding takes it, whatever the wire encoding.

#![warn(missing_docs)]

mod bitmap;
mod class;
mod decode;
mod encode;
mod error;
mod frame;
mod hex;
mod layout;
mod mti;

pub use class::Class;
pub use decode::{Field, Fields, MAX_MESSAGE_LEN, Message};
pub use encode::MessageBuilder;
pub use error::{DecodeError, EncodeError, FieldProblem, WhichBitmap};
pub use frame::{DEFAULT_MAX_FRAME, FrameCodec, FrameError};
pub use layout::{
    BitmapEncoding, DataEncoding, FieldSpec, Layout, LayoutError, LengthKind, MtiEncoding,
    PrefixEncoding, SHIPPED_LAYOUTS,
};
pub use mti::{Mti, MtiError};
