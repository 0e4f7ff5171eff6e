//! Layouts: which fields exist, their class, length kind and encodings.
//! Loaded from TOML and checked once, so that decoding and encoding can trust
//! them and new host layouts need no new code.

use crate::class::Class;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// How the message type indicator travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MtiEncoding {
    /// Four ASCII digits.
    Ascii,
    /// Two bytes of packed BCD.
    Bcd,
}

/// How each 64-bit bitmap travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BitmapEncoding {
    /// Sixteen hex characters; read in either case, written in upper case.
    Hex,
    /// Eight bytes.
    Binary,
}

/// Fixed or variable length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LengthKind {
    /// Exactly `max` units, no prefix.
    Fixed,
    /// A two-digit length prefix (one byte when BCD or binary).
    LlVar,
    /// A three-digit length prefix (two bytes when BCD or binary).
    LllVar,
}

/// Encoding of a variable field's length prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixEncoding {
    /// Decimal digits in ASCII: 2 for LLVAR, 3 for LLLVAR.
    Ascii,
    /// Packed BCD: 1 byte for LLVAR, 2 for LLLVAR.
    Bcd,
    /// Unsigned big-endian: 1 byte for LLVAR, 2 for LLLVAR.
    Binary,
}

/// Encoding of a field's data; it also sets the unit that lengths count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataEncoding {
    /// One byte per character; lengths count characters. Class `b` travels
    /// as hex, two characters per byte.
    Ascii,
    /// Packed BCD, two digits per byte, an odd count padded with a leading
    /// zero nibble; lengths count digits. Class `n` only.
    Bcd,
    /// Raw bytes; lengths count bytes. Class `b` only.
    Binary,
}

/// One field of a layout, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldSpec {
    /// Field number, 2–128.
    pub number: u8,
    /// What the field is, for people reading errors.
    pub name: String,
    /// Content class.
    pub class: Class,
    /// Fixed, LLVAR or LLLVAR.
    pub length: LengthKind,
    /// Exact (fixed) or largest (variable) length in the data encoding's units.
    pub max: u16,
    /// Encoding of the length prefix (meaningless for fixed fields).
    pub prefix: PrefixEncoding,
    /// Encoding of the data.
    pub data: DataEncoding,
}

impl FieldSpec {
    /// Bytes of the length prefix on the wire (0 for fixed fields).
    pub fn prefix_len(&self) -> usize {
        match (self.length, self.prefix) {
            (LengthKind::Fixed, _) => 0,
            (LengthKind::LlVar, PrefixEncoding::Ascii) => 2,
            (LengthKind::LllVar, PrefixEncoding::Ascii) => 3,
            (LengthKind::LlVar, _) => 1,
            (LengthKind::LllVar, _) => 2,
        }
    }

    /// Bytes on the wire that `units` units of data take.
    #[inline]
    pub fn data_bytes(&self, units: usize) -> usize {
        match self.data {
            DataEncoding::Ascii | DataEncoding::Binary => units,
            DataEncoding::Bcd => units.div_ceil(2),
        }
    }
}

/// A checked ISO 8583 layout: the MTI and bitmap encodings and fields 2–128.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    name: String,
    description: String,
    mti: MtiEncoding,
    bitmap: BitmapEncoding,
    /// Indexed by field number; 0 and 1 are always `None`.
    fields: Vec<Option<FieldSpec>>,
}

/// The layouts shipped in `config/iso8583/`, compiled in so that the binary
/// works from any directory: name and TOML text.
pub const SHIPPED_LAYOUTS: &[(&str, &str)] = &[
    (
        "generic-1987-ascii",
        include_str!("../../../config/iso8583/generic-1987-ascii.toml"),
    ),
    (
        "generic-1987-binary",
        include_str!("../../../config/iso8583/generic-1987-binary.toml"),
    ),
    (
        "generic-1987-bcd",
        include_str!("../../../config/iso8583/generic-1987-bcd.toml"),
    ),
];

/// Why a layout could not be loaded. Each says where and what to fix.
#[derive(Debug, thiserror::Error)]
pub enum LayoutError {
    /// The file could not be read.
    #[error("cannot read ISO 8583 layout {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The text is not TOML of the layout's shape.
    #[error("ISO 8583 layout {origin}: {message}")]
    Syntax {
        /// File name or layout name.
        origin: String,
        /// The parser's message, with line and column.
        message: String,
    },
    /// A field's definition is wrong.
    #[error("ISO 8583 layout {origin}: field {field}: {problem}")]
    Field {
        /// File name or layout name.
        origin: String,
        /// The field key as written.
        field: String,
        /// What is wrong and what is expected.
        problem: String,
    },
    /// A layout-wide setting is wrong.
    #[error("ISO 8583 layout {origin}: {problem}")]
    Setting {
        /// File name or layout name.
        origin: String,
        /// What is wrong and what is expected.
        problem: String,
    },
    /// No shipped layout has this name.
    #[error(
        "no ISO 8583 layout is named {name:?}: use one of {known}, or the path of a .toml layout"
    )]
    Unknown {
        /// The name asked for.
        name: String,
        /// The shipped names.
        known: String,
    },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLayout {
    name: String,
    #[serde(default)]
    description: String,
    mti: String,
    bitmap: String,
    fields: BTreeMap<String, RawField>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: String,
    class: String,
    len: String,
    max: u32,
    prefix: Option<String>,
    data: String,
}

impl Layout {
    /// A layout shipped with the binary, by name (see [`SHIPPED_LAYOUTS`]).
    pub fn shipped(name: &str) -> Result<Layout, LayoutError> {
        match SHIPPED_LAYOUTS.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => Layout::from_toml(text, n),
            None => Err(LayoutError::Unknown {
                name: name.to_owned(),
                known: SHIPPED_LAYOUTS
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            }),
        }
    }

    /// A shipped layout by name, or a layout file when `name_or_path` ends in
    /// `.toml` or contains a path separator.
    pub fn load(name_or_path: &str) -> Result<Layout, LayoutError> {
        if name_or_path.ends_with(".toml") || name_or_path.contains(std::path::MAIN_SEPARATOR) {
            Layout::from_file(Path::new(name_or_path))
        } else {
            Layout::shipped(name_or_path)
        }
    }

    /// Reads and checks a layout file.
    pub fn from_file(path: &Path) -> Result<Layout, LayoutError> {
        let text = std::fs::read_to_string(path).map_err(|source| LayoutError::Read {
            path: path.to_owned(),
            source,
        })?;
        Layout::from_toml(&text, &path.display().to_string())
    }

    /// Parses and checks a layout; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &str) -> Result<Layout, LayoutError> {
        let raw: RawLayout = toml::from_str(text).map_err(|e| LayoutError::Syntax {
            origin: origin.to_owned(),
            message: e.to_string().trim_end().replace('\n', " "),
        })?;
        let setting = |problem: String| LayoutError::Setting {
            origin: origin.to_owned(),
            problem,
        };
        let mti = match raw.mti.as_str() {
            "ascii" => MtiEncoding::Ascii,
            "bcd" => MtiEncoding::Bcd,
            other => {
                return Err(setting(format!(
                    "mti {other:?} is unknown; use \"ascii\" or \"bcd\""
                )));
            }
        };
        let bitmap = match raw.bitmap.as_str() {
            "hex" => BitmapEncoding::Hex,
            "binary" => BitmapEncoding::Binary,
            other => {
                return Err(setting(format!(
                    "bitmap {other:?} is unknown; use \"hex\" or \"binary\""
                )));
            }
        };
        if raw.name.trim().is_empty() {
            return Err(setting("name must not be empty".to_owned()));
        }
        let mut fields: Vec<Option<FieldSpec>> = vec![None; 129];
        for (key, field) in raw.fields {
            let spec = check_field(&key, field).map_err(|problem| LayoutError::Field {
                origin: origin.to_owned(),
                field: key.clone(),
                problem,
            })?;
            let slot = usize::from(spec.number);
            fields[slot] = Some(spec);
        }
        Ok(Layout {
            name: raw.name,
            description: raw.description,
            mti,
            bitmap,
            fields,
        })
    }

    /// The layout's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// What the layout is for.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Encoding of the MTI.
    pub fn mti_encoding(&self) -> MtiEncoding {
        self.mti
    }

    /// Encoding of the bitmaps.
    pub fn bitmap_encoding(&self) -> BitmapEncoding {
        self.bitmap
    }

    /// The definition of field `number`, if the layout has it.
    #[inline]
    pub fn field(&self, number: u8) -> Option<&FieldSpec> {
        self.fields
            .get(usize::from(number))
            .and_then(Option::as_ref)
    }

    /// All defined fields in ascending order.
    pub fn fields(&self) -> impl Iterator<Item = &FieldSpec> {
        self.fields.iter().flatten()
    }

    /// A readable one-line description of a field for messages to people,
    /// e.g. `field 4 (Amount, transaction)`.
    pub fn describe_field(&self, number: u8) -> String {
        let mut s = format!("field {number}");
        if let Some(spec) = self.field(number) {
            let _ = write!(s, " ({})", spec.name);
        }
        s
    }
}

/// Checks one raw field definition; the error is the problem in words.
fn check_field(key: &str, raw: RawField) -> Result<FieldSpec, String> {
    let number: u8 = match key.parse() {
        Ok(n @ 2..=128) => n,
        Ok(1) => return Err("field 1 is the secondary bitmap and cannot be defined".into()),
        _ => return Err("the key must be a field number from 2 to 128".into()),
    };
    let class = Class::from_name(&raw.class).ok_or_else(|| {
        let names: Vec<_> = Class::ALL.iter().map(|(_, n)| *n).collect();
        format!(
            "class {:?} is unknown; use one of {}",
            raw.class,
            names.join(", ")
        )
    })?;
    let length = match raw.len.as_str() {
        "fixed" => LengthKind::Fixed,
        "llvar" => LengthKind::LlVar,
        "lllvar" => LengthKind::LllVar,
        other => {
            return Err(format!(
                "len {other:?} is unknown; use fixed, llvar or lllvar"
            ));
        }
    };
    let data = match raw.data.as_str() {
        "ascii" => DataEncoding::Ascii,
        "bcd" => DataEncoding::Bcd,
        "binary" => DataEncoding::Binary,
        other => {
            return Err(format!(
                "data {other:?} is unknown; use ascii, bcd or binary"
            ));
        }
    };
    let prefix = match (length, raw.prefix.as_deref()) {
        (LengthKind::Fixed, None) => PrefixEncoding::Ascii,
        (LengthKind::Fixed, Some(_)) => return Err("a fixed field has no prefix".into()),
        (_, None) => return Err("a variable field needs prefix = ascii, bcd or binary".into()),
        (_, Some("ascii")) => PrefixEncoding::Ascii,
        (_, Some("bcd")) => PrefixEncoding::Bcd,
        (_, Some("binary")) => PrefixEncoding::Binary,
        (_, Some(other)) => {
            return Err(format!(
                "prefix {other:?} is unknown; use ascii, bcd or binary"
            ));
        }
    };
    match (data, class) {
        (DataEncoding::Bcd, c) if c != Class::N => {
            return Err(format!("data = bcd needs class n, not {c}"));
        }
        (DataEncoding::Binary, c) if c != Class::B => {
            return Err(format!("data = binary needs class b, not {c}"));
        }
        _ => {}
    }
    let limit: u32 = match (length, prefix) {
        (LengthKind::Fixed, _) => 9999,
        (LengthKind::LlVar, PrefixEncoding::Binary) => 255,
        (LengthKind::LlVar, _) => 99,
        (LengthKind::LllVar, PrefixEncoding::Binary) => 9999,
        (LengthKind::LllVar, _) => 999,
    };
    if raw.max == 0 || raw.max > limit {
        return Err(format!("max {} must be from 1 to {limit}", raw.max));
    }
    if class == Class::B && data == DataEncoding::Ascii && raw.max % 2 != 0 {
        return Err(format!(
            "max {} must be even: binary data as hex takes 2 characters a byte",
            raw.max
        ));
    }
    if class == Class::XN && length != LengthKind::Fixed {
        return Err("class x+n must be fixed".into());
    }
    let max = u16::try_from(raw.max).map_err(|_| format!("max {} is too large", raw.max))?;
    Ok(FieldSpec {
        number,
        name: raw.name,
        class,
        length,
        max,
        prefix,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_layouts_load_with_all_128_fields() {
        for (name, _) in SHIPPED_LAYOUTS {
            let layout = Layout::shipped(name).unwrap();
            assert_eq!(layout.name(), *name);
            assert_eq!(layout.fields().count(), 127, "{name}: fields 2-128");
            assert!(layout.field(1).is_none());
        }
    }

    #[test]
    fn shipped_files_on_disk_are_the_compiled_in_ones() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../config/iso8583");
        for (name, text) in SHIPPED_LAYOUTS {
            let on_disk = std::fs::read_to_string(dir.join(format!("{name}.toml"))).unwrap();
            assert_eq!(&on_disk, text);
        }
    }

    #[test]
    fn ascii_layout_matches_the_host_profile() {
        let l = Layout::shipped("generic-1987-ascii").unwrap();
        assert_eq!(l.bitmap_encoding(), BitmapEncoding::Hex);
        let pan = l.field(2).unwrap();
        assert_eq!(
            (pan.class, pan.length, pan.max),
            (Class::N, LengthKind::LlVar, 19)
        );
        let icc = l.field(55).unwrap();
        assert_eq!(
            (icc.class, icc.length, icc.max),
            (Class::B, LengthKind::LllVar, 510)
        );
        let f90 = l.field(90).unwrap();
        assert_eq!(
            (f90.class, f90.length, f90.max),
            (Class::N, LengthKind::Fixed, 42)
        );
        assert_eq!(l.field(41).unwrap().class, Class::Ans);
        assert_eq!(l.field(35).unwrap().class, Class::Z);
    }

    fn one_field(def: &str) -> Result<Layout, LayoutError> {
        Layout::from_toml(
            &format!("name = \"t\"\nmti = \"ascii\"\nbitmap = \"hex\"\n[fields]\n{def}\n"),
            "test.toml",
        )
    }

    #[test]
    fn bad_definitions_name_the_field_and_the_fix() {
        let cases = [
            (
                r#"4 = { name = "x", class = "q", len = "fixed", max = 12, data = "ascii" }"#,
                "class \"q\" is unknown",
            ),
            (
                r#"4 = { name = "x", class = "n", len = "var", max = 12, data = "ascii" }"#,
                "len \"var\" is unknown",
            ),
            (
                r#"4 = { name = "x", class = "n", len = "llvar", max = 12, data = "ascii" }"#,
                "needs prefix",
            ),
            (
                r#"4 = { name = "x", class = "n", len = "fixed", max = 12, prefix = "ascii", data = "ascii" }"#,
                "no prefix",
            ),
            (
                r#"4 = { name = "x", class = "n", len = "llvar", max = 120, prefix = "ascii", data = "ascii" }"#,
                "max 120 must be from 1 to 99",
            ),
            (
                r#"4 = { name = "x", class = "an", len = "fixed", max = 12, data = "bcd" }"#,
                "needs class n",
            ),
            (
                r#"4 = { name = "x", class = "n", len = "fixed", max = 12, data = "binary" }"#,
                "needs class b",
            ),
            (
                r#"52 = { name = "x", class = "b", len = "fixed", max = 15, data = "ascii" }"#,
                "must be even",
            ),
            (
                r#"1 = { name = "x", class = "b", len = "fixed", max = 16, data = "ascii" }"#,
                "secondary bitmap",
            ),
            (
                r#"129 = { name = "x", class = "n", len = "fixed", max = 1, data = "ascii" }"#,
                "from 2 to 128",
            ),
            (
                r#"4 = { name = "x", class = "n", len = "fixed", max = 0, data = "ascii" }"#,
                "max 0",
            ),
        ];
        for (def, expected) in cases {
            let err = one_field(def).unwrap_err().to_string();
            assert!(err.contains("test.toml"), "{err}");
            assert!(err.contains(expected), "{def}: {err}");
        }
    }

    #[test]
    fn bad_settings_and_syntax_are_reported() {
        let err = Layout::from_toml(
            "name = \"t\"\nmti = \"ebcdic\"\nbitmap = \"hex\"\n[fields]\n",
            "t",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("mti \"ebcdic\" is unknown"),
            "{err}"
        );
        let err = Layout::from_toml(
            "name = \"t\"\nmti = \"ascii\"\nbitmap = \"hex\"\ncolour = 1\n[fields]\n",
            "t",
        )
        .unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err = Layout::shipped("nope").unwrap_err().to_string();
        assert!(err.contains("generic-1987-ascii"), "{err}");
    }

    #[test]
    fn load_takes_a_name_or_a_path() {
        assert!(Layout::load("generic-1987-binary").is_ok());
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../config/iso8583/generic-1987-bcd.toml");
        assert_eq!(
            Layout::load(path.to_str().unwrap()).unwrap().name(),
            "generic-1987-bcd"
        );
        assert!(matches!(
            Layout::load("/nonexistent/x.toml"),
            Err(LayoutError::Read { .. })
        ));
    }
}
