//! The CSV the history exports: UTF-8 with a BOM, `;` between fields, CRLF
//! between records, so that Excel with a Russian locale opens it as it is.
//! Amounts are plain numbers with a decimal comma (no grouping) and the
//! currency in its own column, so they stay numbers in a spreadsheet.

use mpos_domain::money::Currency;

/// What a CSV download starts with: the UTF-8 byte order mark.
pub const BOM: &str = "\u{feff}";

/// One record being written: fields are added one by one, escaped.
pub struct Record<'a> {
    out: &'a mut String,
    first: bool,
}

impl<'a> Record<'a> {
    /// Starts a record at the end of `out`.
    pub fn new(out: &'a mut String) -> Record<'a> {
        Record { out, first: true }
    }

    fn separator(&mut self) {
        if !self.first {
            self.out.push(';');
        }
        self.first = false;
    }

    /// A text field: quoted when it holds `;`, `"` or a line break, and
    /// defused when a spreadsheet would take it for a formula.
    pub fn text(&mut self, value: &str) -> &mut Self {
        self.separator();
        let formula = value.starts_with(['=', '+', '-', '@', '\t', '\r']);
        if formula || value.contains([';', '"', '\n', '\r']) {
            self.out.push('"');
            if formula {
                self.out.push('\'');
            }
            for c in value.chars() {
                if c == '"' {
                    self.out.push('"');
                }
                self.out.push(c);
            }
            self.out.push('"');
        } else {
            self.out.push_str(value);
        }
        self
    }

    /// A count.
    pub fn number(&mut self, value: u64) -> &mut Self {
        self.separator();
        self.out.push_str(&value.to_string());
        self
    }

    /// An amount in major units with a decimal comma: `-1234,50`.
    pub fn amount(&mut self, minor: i64, currency: Currency) -> &mut Self {
        self.separator();
        let exponent = currency.exponent();
        let scale = 10u64.pow(exponent);
        let magnitude = minor.unsigned_abs();
        if minor < 0 {
            self.out.push('-');
        }
        self.out.push_str(&(magnitude / scale).to_string());
        if exponent > 0 {
            self.out.push_str(&format!(
                ",{:0width$}",
                magnitude % scale,
                width = exponent as usize
            ));
        }
        self
    }

    /// Ends the record.
    pub fn end(&mut self) {
        self.out.push_str("\r\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_escaped_and_amounts_stay_numbers() {
        let byn = Currency::new(933).unwrap();
        let mut out = String::new();
        Record::new(&mut out)
            .text("ООО «Ромашка»; филиал")
            .text("say \"hi\"")
            .text("=cmd()")
            .number(3)
            .amount(123_450, byn)
            .amount(-5, byn)
            .end();
        assert_eq!(
            out,
            "\"ООО «Ромашка»; филиал\";\"say \"\"hi\"\"\";\"'=cmd()\";3;1234,50;-0,05\r\n"
        );
    }

    /// Splits one record the way a spreadsheet reads it: `;` between fields,
    /// `"` quoting with `""` for a quote.
    fn read_back(line: &str) -> Vec<String> {
        let mut fields = vec![String::new()];
        let (mut quoted, mut chars) = (false, line.chars().peekable());
        while let Some(c) = chars.next() {
            match (c, quoted) {
                ('"', true) if chars.peek() == Some(&'"') => {
                    chars.next();
                    fields.last_mut().unwrap().push('"');
                }
                ('"', _) => quoted = !quoted,
                (';', false) => fields.push(String::new()),
                (c, _) => fields.last_mut().unwrap().push(c),
            }
        }
        fields
    }

    proptest::proptest! {
        /// Any text survives the trip through a record: the same fields come
        /// back (a would-be formula with a leading apostrophe), and amounts
        /// read back as the number of minor units they were.
        #[test]
        fn any_text_reads_back_as_written(
            texts in proptest::collection::vec("[^\r\n]{0,16}", 1..6),
            minor in proptest::num::i64::ANY,
        ) {
            let byn = Currency::new(933).unwrap();
            let mut out = String::new();
            let mut record = Record::new(&mut out);
            for text in &texts {
                record.text(text);
            }
            record.amount(minor, byn).end();
            let line = out.strip_suffix("\r\n").unwrap();
            let fields = read_back(line);
            proptest::prop_assert_eq!(fields.len(), texts.len() + 1);
            for (field, text) in fields.iter().zip(&texts) {
                let formula = text.starts_with(['=', '+', '-', '@', '\t']);
                let expected = if formula { format!("'{text}") } else { text.clone() };
                proptest::prop_assert_eq!(field, &expected);
            }
            let amount = fields.last().unwrap();
            let digits: String = amount.chars().filter(|c| *c != ',').collect();
            proptest::prop_assert_eq!(digits.parse::<i128>().unwrap(), i128::from(minor));
        }
    }
}
