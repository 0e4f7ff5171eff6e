//! `mpos iso decode|encode|layouts`: the codec from the command line. The raw
//! side is stdin/stdout bytes (or hex with `--hex`, optionally framed); the
//! other side is JSON with field contents in their ASCII-layout text form.

use crate::cli::{DecodeArgs, EncodeArgs, IsoCommand, WireOptions};
use bytes::BytesMut;
use mpos_iso8583::{
    DecodeError, EncodeError, FrameCodec, FrameError, Layout, LayoutError, MessageBuilder, Mti,
    SHIPPED_LAYOUTS,
};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{Read, Write};

/// Why an `mpos iso` command failed; each says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum IsoError {
    /// The layout could not be loaded.
    #[error(transparent)]
    Layout(#[from] LayoutError),
    /// Reading stdin failed.
    #[error("cannot read standard input: {0}")]
    ReadInput(std::io::Error),
    /// Writing stdout failed.
    #[error("cannot write standard output: {0}")]
    WriteOutput(std::io::Error),
    /// Nothing on stdin.
    #[error("standard input is empty: pipe one message into the command")]
    EmptyInput,
    /// `--hex` input that is not hex.
    #[error("--hex: the input is not hex ({0})")]
    NotHex(&'static str),
    /// `--framed` input whose header does not match the message.
    #[error("--framed: {0}")]
    Frame(String),
    /// The message breaks the layout.
    #[error("cannot decode the message: {0}")]
    Decode(String),
    /// The JSON is malformed or of the wrong shape.
    #[error("the JSON input is not a message: {0}")]
    Json(String),
    /// A field value breaks the layout.
    #[error("cannot encode the message: {0}")]
    Encode(String),
}

/// The JSON shape of a message on the other side of the codec.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct JsonMessage {
    mti: String,
    fields: BTreeMap<String, String>,
}

/// What `decode` prints: the MTI first, then the fields in numeric order
/// (a `BTreeMap<u8, _>` serialises its keys as the strings "2", "3", ...).
#[derive(Serialize)]
struct DecodedJson<'a> {
    mti: &'a str,
    fields: BTreeMap<u8, String>,
}

/// Runs one `mpos iso` command.
pub fn run(command: IsoCommand) -> Result<(), IsoError> {
    match command {
        IsoCommand::Decode(args) => decode(&args),
        IsoCommand::Encode(args) => encode(&args),
        IsoCommand::Layouts => layouts(),
    }
}

fn decode(args: &DecodeArgs) -> Result<(), IsoError> {
    let layout = Layout::load(&args.wire.layout)?;
    let raw = read_raw(&args.wire)?;
    let message = layout
        .decode(&raw)
        .map_err(|e| IsoError::Decode(explain_decode(&layout, &e, &raw)))?;
    let fields: BTreeMap<u8, String> = message
        .fields()
        .map(|f| (f.number(), f.text().into_owned()))
        .collect();
    let mti = message.mti();
    let json = DecodedJson {
        mti: mti.as_str(),
        fields,
    };
    let mut text = if args.pretty {
        serde_json::to_string_pretty(&json)
    } else {
        serde_json::to_string(&json)
    }
    .map_err(|e| IsoError::Json(e.to_string()))?;
    text.push('\n');
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(IsoError::WriteOutput)
}

fn encode(args: &EncodeArgs) -> Result<(), IsoError> {
    let layout = Layout::load(&args.wire.layout)?;
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .map_err(IsoError::ReadInput)?;
    let json: JsonMessage =
        serde_json::from_str(&input).map_err(|e| IsoError::Json(e.to_string()))?;
    let mti = Mti::new(&json.mti).map_err(|e| IsoError::Json(e.to_string()))?;
    let mut message = MessageBuilder::new(mti);
    for (key, value) in &json.fields {
        let number = key
            .parse::<u8>()
            .ok()
            .filter(|n| (2..=128).contains(n))
            .ok_or_else(|| {
                IsoError::Json(format!(
                    "field key {key:?} is not a field number from 2 to 128"
                ))
            })?;
        message.set(number, value);
    }
    let mut out = BytesMut::new();
    let codec = FrameCodec::default();
    let encoded = if args.wire.framed {
        codec.put_frame_with(&mut out, |buf| {
            layout.encode(&message, buf).map_err(Failure::Encode)
        })
    } else {
        layout.encode(&message, &mut out).map_err(Failure::Encode)
    };
    encoded.map_err(|failure| match failure {
        Failure::Encode(e) => IsoError::Encode(explain_encode(&layout, &e)),
        Failure::Frame(e) => IsoError::Frame(e.to_string()),
    })?;
    let bytes = if args.wire.hex {
        let mut text = to_hex(&out);
        text.push('\n');
        text.into_bytes()
    } else {
        out.to_vec()
    };
    let mut stdout = std::io::stdout();
    stdout
        .write_all(&bytes)
        .and_then(|()| stdout.flush())
        .map_err(IsoError::WriteOutput)
}

/// Encoding into a frame fails either in the codec or in the framing.
enum Failure {
    Encode(EncodeError),
    Frame(FrameError),
}

impl From<FrameError> for Failure {
    fn from(e: FrameError) -> Self {
        Failure::Frame(e)
    }
}

fn layouts() -> Result<(), IsoError> {
    let mut out = String::new();
    for (name, _) in SHIPPED_LAYOUTS {
        let layout = Layout::shipped(name)?;
        out.push_str(&format!("{name:<22} {}\n", layout.description()));
    }
    std::io::stdout()
        .write_all(out.as_bytes())
        .map_err(IsoError::WriteOutput)
}

/// Reads the raw message from stdin: bytes or hex, with or without the
/// 2-byte length header.
fn read_raw(options: &WireOptions) -> Result<Vec<u8>, IsoError> {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .map_err(IsoError::ReadInput)?;
    if options.hex {
        input = from_hex(&input)?;
    }
    if input.is_empty() {
        return Err(IsoError::EmptyInput);
    }
    if options.framed {
        let Some((header, body)) = input.split_first_chunk::<2>() else {
            return Err(IsoError::Frame(
                "the input is shorter than the 2-byte length header".into(),
            ));
        };
        let announced = usize::from(u16::from_be_bytes(*header));
        if announced != body.len() {
            return Err(IsoError::Frame(format!(
                "the header announces {announced} bytes but {} follow",
                body.len()
            )));
        }
        input.drain(..2);
    }
    Ok(input)
}

fn explain_decode(layout: &Layout, error: &DecodeError, raw: &[u8]) -> String {
    let mut text = match error {
        DecodeError::Field { field, problem } => {
            format!("{}: {problem}", layout.describe_field(*field))
        }
        other => other.to_string(),
    };
    if let DecodeError::TrailingData { .. } = error {
        if raw.ends_with(b"\n") {
            text.push_str(" (a trailing newline? use printf rather than echo)");
        }
    }
    text
}

fn explain_encode(layout: &Layout, error: &EncodeError) -> String {
    match error {
        EncodeError::Field { field, problem } => {
            format!("{}: {problem}", layout.describe_field(*field))
        }
        other => other.to_string(),
    }
}

fn to_hex(data: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789ABCDEF";
    data.iter()
        .flat_map(|b| [DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xF)]])
        .map(char::from)
        .collect()
}

fn from_hex(text: &[u8]) -> Result<Vec<u8>, IsoError> {
    let digits: Vec<u8> = text
        .iter()
        .copied()
        .filter(|c| !c.is_ascii_whitespace())
        .collect();
    if digits.len() % 2 != 0 {
        return Err(IsoError::NotHex("an odd number of hex digits"));
    }
    let value = |c: u8| char::from(c).to_digit(16).map(|v| v as u8);
    digits
        .chunks_exact(2)
        .map(|pair| match (value(pair[0]), value(pair[1])) {
            (Some(hi), Some(lo)) => Ok(hi << 4 | lo),
            _ => Err(IsoError::NotHex("a character that is not a hex digit")),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trips_and_rejects_garbage() {
        assert_eq!(from_hex(b"00 ab\nFF").unwrap(), [0x00, 0xAB, 0xFF]);
        assert_eq!(to_hex(&[0x00, 0xAB, 0xFF]), "00ABFF");
        assert!(from_hex(b"abc").is_err());
        assert!(from_hex(b"zz").is_err());
    }

    #[test]
    fn field_errors_name_the_field() {
        let layout = Layout::shipped("generic-1987-ascii").unwrap();
        let mut m = MessageBuilder::new(Mti::new("0200").unwrap());
        m.set(4, "123");
        let err = layout.encode(&m, &mut BytesMut::new()).unwrap_err();
        assert_eq!(
            explain_encode(&layout, &err),
            "field 4 (Amount, transaction): length 3 is not the fixed length 12"
        );
    }
}
