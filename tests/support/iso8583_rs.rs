//! Describes one of our layouts as an `iso8583_rs` YAML spec, so that the
//! reference crate parses and assembles exactly the same messages (shared by
//! tests/iso8583_rs_agreement.rs and benches/codec.rs).
//!
//! `iso8583_rs` knows only binary bitmaps, and its length prefixes count
//! bytes, so it can describe a layout with an ASCII MTI, a binary bitmap, and
//! ASCII or binary data behind ASCII prefixes: `generic-1987-binary`.
//! `spec_yaml` refuses the others with the reason (for `generic-1987-bcd`:
//! our BCD prefixes count digits, and an odd digit count shows its pad
//! nibble in iso8583_rs's hex text).

use mpos_iso8583::{BitmapEncoding, DataEncoding, Layout, LengthKind, MtiEncoding, PrefixEncoding};
use std::fmt::Write as _;

/// The YAML spec of `layout`: header field `message_type` (Fixed 4 ASCII)
/// and one message segment, selected by every MTI of `mtis`, made of
/// `message_type` and a Bitmapped field `bitmap` with one child per field of
/// the layout, named `f<number>` (Fixed, or Variable with the prefix's digit
/// count as `len`; ASCII, or BINARY for `data = "binary"`).
///
/// Field 65 gets a child too, as our layout defines it, but iso8583_rs never
/// reads or writes it as data: it takes bit 65 for a tertiary bitmap flag.
///
/// An error says why the layout cannot be described.
pub fn spec_yaml(layout: &Layout, mtis: &[&str]) -> Result<String, String> {
    if layout.mti_encoding() != MtiEncoding::Ascii {
        return Err(format!(
            "{}: iso8583_rs selects messages by an ASCII MTI only",
            layout.name()
        ));
    }
    if layout.bitmap_encoding() != BitmapEncoding::Binary {
        return Err(format!(
            "{}: iso8583_rs reads binary bitmaps only",
            layout.name()
        ));
    }
    let mut y = String::new();
    let _ = writeln!(y, "name: \"{}\"\nid: 1", layout.name());
    y.push_str(concat!(
        "header_fields:\n",
        "  - name: \"message_type\"\n",
        "    id: 1\n",
        "    type: Fixed\n",
        "    len: 4\n",
        "    data_encoding: ASCII\n",
        "messages:\n",
        "  - name: \"all\"\n",
        "    id: 1\n",
        "    selector:\n",
    ));
    for mti in mtis {
        let _ = writeln!(y, "      - \"{mti}\"");
    }
    y.push_str(concat!(
        "    fields:\n",
        "      - name: \"message_type\"\n",
        "        id: 1\n",
        "        type: Fixed\n",
        "        len: 4\n",
        "        data_encoding: ASCII\n",
        "      - name: \"bitmap\"\n",
        "        id: 2\n",
        "        type: Bitmapped\n",
        "        len: 0\n",
        "        data_encoding: BINARY\n",
        "        children:\n",
    ));
    for spec in layout.fields() {
        let data = match spec.data {
            DataEncoding::Ascii => "ASCII",
            DataEncoding::Binary => "BINARY",
            DataEncoding::Bcd => {
                return Err(format!(
                    "{}: field {}: iso8583_rs has no BCD digit counts",
                    layout.name(),
                    spec.number
                ));
            }
        };
        let _ = write!(
            y,
            "          - name: \"f{n}\"\n            id: {id}\n            position: {n}\n",
            n = spec.number,
            id = u32::from(spec.number) + 10
        );
        match spec.length {
            LengthKind::Fixed => {
                let _ = write!(
                    y,
                    "            type: Fixed\n            len: {}\n",
                    spec.data_bytes(usize::from(spec.max))
                );
            }
            LengthKind::LlVar | LengthKind::LllVar => {
                if spec.prefix != PrefixEncoding::Ascii {
                    return Err(format!(
                        "{}: field {}: only ASCII length prefixes are described",
                        layout.name(),
                        spec.number
                    ));
                }
                let _ = write!(
                    y,
                    "            type: Variable\n            len: {}\n            len_encoding: ASCII\n",
                    spec.prefix_len()
                );
            }
        }
        let _ = writeln!(y, "            data_encoding: {data}");
    }
    Ok(y)
}
