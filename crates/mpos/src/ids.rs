//! The CLI's glue to the domain's input rules: a whole virtual terminal row,
//! as `mpos admin terminal add` and fixtures give it, checked field by field
//! before anything is written. The rules themselves live in
//! `mpos_domain::ids` (ISO 8583 fields) and `mpos_domain::input` (names,
//! e-mails, passwords).

use mpos_domain::entities::VtKind;
use mpos_domain::ids::{MerchantId, TerminalId};
use mpos_domain::input::DisplayName;
use mpos_store::ops::terminals::TerminalRow;

/// A whole virtual terminal: ID, merchant, name, kind and months, currency, limit.
pub fn terminal(t: &TerminalRow) -> Result<(), String> {
    TerminalId::new(&t.id).map_err(|e| e.to_string())?;
    MerchantId::new(&t.merchant_id).map_err(|e| e.to_string())?;
    DisplayName::new(&t.name).map_err(|e| e.to_string())?;
    VtKind::new(&t.kind, t.installment_months)?;
    if !(1..=999).contains(&t.currency) {
        return Err(format!(
            "currency {} is not an ISO 4217 numeric code",
            t.currency
        ));
    }
    if t.limit_minor == Some(0) {
        return Err("a limit must be above 0 (leave it out for no limit)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row() -> TerminalRow {
        TerminalRow {
            id: "10000001".into(),
            merchant_id: "MTB000000000001".into(),
            name: "Основной".into(),
            kind: "standard".into(),
            installment_months: None,
            currency: 933,
            limit_minor: None,
            active: true,
        }
    }

    /// Spoils one field of a good row.
    type Spoil = fn(&mut TerminalRow);

    #[test]
    fn a_terminal_is_checked_field_by_field() {
        assert_eq!(terminal(&row()), Ok(()));
        let cases: [(Spoil, &str); 6] = [
            (|t| t.id = "1000001".into(), "DE 41"),
            (|t| t.merchant_id = "MTB1".into(), "DE 42"),
            (|t| t.name = String::new(), "must not be empty"),
            (|t| t.kind = "installment".into(), "months"),
            (|t| t.currency = 0, "ISO 4217"),
            (|t| t.limit_minor = Some(0), "above 0"),
        ];
        for (spoil, problem) in cases {
            let mut t = row();
            spoil(&mut t);
            let error = terminal(&t).unwrap_err();
            assert!(error.contains(problem), "{problem} in {error}");
        }
    }
}
