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
}
