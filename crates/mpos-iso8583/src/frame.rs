//! Framing of the host interface: every message is preceded by a 2-byte
//! unsigned big-endian length. A length of 0 or over the configured maximum
//! means the stream cannot be trusted, so it is an error that ends the
//! connection, not a frame to skip.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// The largest message accepted by default (spec section 1).
pub const DEFAULT_MAX_FRAME: usize = 8192;

const HEADER: usize = 2;

/// A `tokio-util` codec for 2-byte length frames. Decoded items are the
/// message bytes without the header.
#[derive(Debug, Clone, Copy)]
pub struct FrameCodec {
    max: usize,
}

/// Why the stream of frames cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// A length header of 0.
    #[error("a frame length of 0: the stream cannot be trusted")]
    Empty,
    /// A length header over the maximum.
    #[error("a frame length of {len} bytes is over the maximum of {max}")]
    TooLong {
        /// The length announced (or, when writing, the message's length).
        len: usize,
        /// The configured maximum.
        max: usize,
    },
    /// Reading or writing the socket failed.
    #[error("connection I/O failed: {0}")]
    Io(#[from] std::io::Error),
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec::new(DEFAULT_MAX_FRAME)
    }
}

impl FrameCodec {
    /// A codec accepting messages of 1 to `max` bytes; `max` is capped at
    /// 65535, the most a 2-byte header can say.
    pub fn new(max: usize) -> Self {
        FrameCodec {
            max: max.clamp(1, usize::from(u16::MAX)),
        }
    }

    /// The largest message this codec accepts.
    pub fn max_frame(&self) -> usize {
        self.max
    }

    /// Appends one frame to `dst` whose body `write_body` writes in place,
    /// so a message is encoded straight into the output buffer. If the body
    /// fails, or is empty or too long, `dst` is left as it was.
    pub fn put_frame_with<E: From<FrameError>>(
        &self,
        dst: &mut BytesMut,
        write_body: impl FnOnce(&mut BytesMut) -> Result<(), E>,
    ) -> Result<(), E> {
        let start = dst.len();
        dst.put_u16(0);
        if let Err(e) = write_body(dst) {
            dst.truncate(start);
            return Err(e);
        }
        let len = dst.len() - start - HEADER;
        if let Err(e) = self.check_len(len) {
            dst.truncate(start);
            return Err(e.into());
        }
        // check_len keeps len within u16.
        dst[start..start + HEADER].copy_from_slice(&(len as u16).to_be_bytes());
        Ok(())
    }

    fn check_len(&self, len: usize) -> Result<(), FrameError> {
        match len {
            0 => Err(FrameError::Empty),
            len if len > self.max => Err(FrameError::TooLong { len, max: self.max }),
            _ => Ok(()),
        }
    }
}

impl Decoder for FrameCodec {
    type Item = BytesMut;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesMut>, FrameError> {
        let Some(header) = src.get(..HEADER) else {
            return Ok(None);
        };
        let len = usize::from(u16::from_be_bytes([header[0], header[1]]));
        self.check_len(len)?;
        if src.len() < HEADER + len {
            // Partial input is "need more", never an error.
            src.reserve(HEADER + len - src.len());
            return Ok(None);
        }
        src.advance(HEADER);
        Ok(Some(src.split_to(len)))
    }
}

impl Encoder<&[u8]> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, item: &[u8], dst: &mut BytesMut) -> Result<(), FrameError> {
        self.check_len(item.len())?;
        dst.reserve(HEADER + item.len());
        // check_len keeps the length within u16.
        dst.put_u16(item.len() as u16);
        dst.put_slice(item);
        Ok(())
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        self.encode(item.as_ref(), dst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_input_waits_for_more() {
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::from(&[0u8][..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
        buf.put_u8(4);
        buf.put_slice(b"08");
        assert!(codec.decode(&mut buf).unwrap().is_none());
        buf.put_slice(b"00");
        assert_eq!(&codec.decode(&mut buf).unwrap().unwrap()[..], b"0800");
        assert!(buf.is_empty());
    }

    #[test]
    fn several_frames_in_one_read_come_out_in_order() {
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::new();
        for body in [&b"one"[..], b"two", b"three"] {
            codec.encode(body, &mut buf).unwrap();
        }
        for body in [&b"one"[..], b"two", b"three"] {
            assert_eq!(&codec.decode(&mut buf).unwrap().unwrap()[..], body);
        }
        assert!(codec.decode(&mut buf).unwrap().is_none());
    }

    #[test]
    fn zero_and_oversized_lengths_are_errors() {
        let mut codec = FrameCodec::new(10);
        let mut buf = BytesMut::from(&[0u8, 0][..]);
        assert!(matches!(codec.decode(&mut buf), Err(FrameError::Empty)));
        let mut buf = BytesMut::from(&[0u8, 11][..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FrameError::TooLong { len: 11, max: 10 })
        ));
        let mut buf = BytesMut::from(&[0u8, 10][..]);
        assert!(
            codec.decode(&mut buf).unwrap().is_none(),
            "10 is allowed, waits for the body"
        );
        assert!(matches!(
            codec.encode(&b""[..], &mut BytesMut::new()),
            Err(FrameError::Empty)
        ));
        assert!(matches!(
            codec.encode(&[0u8; 11][..], &mut BytesMut::new()),
            Err(FrameError::TooLong { .. })
        ));
    }

    #[test]
    fn default_maximum_is_8192() {
        let mut codec = FrameCodec::default();
        let mut buf = BytesMut::from(&[0x20u8, 0x01][..]);
        assert!(matches!(
            codec.decode(&mut buf),
            Err(FrameError::TooLong {
                len: 8193,
                max: 8192
            })
        ));
        let mut buf = BytesMut::from(&[0x20u8, 0x00][..]);
        assert!(codec.decode(&mut buf).unwrap().is_none());
    }

    #[test]
    fn put_frame_with_patches_the_length_or_rolls_back() {
        let codec = FrameCodec::new(5);
        let mut buf = BytesMut::from(&b"x"[..]);
        codec
            .put_frame_with::<FrameError>(&mut buf, |b| {
                b.put_slice(b"abc");
                Ok(())
            })
            .unwrap();
        assert_eq!(&buf[..], b"x\x00\x03abc");
        let err = codec.put_frame_with::<FrameError>(&mut buf, |b| {
            b.put_slice(b"toolong");
            Ok(())
        });
        assert!(matches!(err, Err(FrameError::TooLong { len: 7, max: 5 })));
        assert_eq!(&buf[..], b"x\x00\x03abc");
    }
}
