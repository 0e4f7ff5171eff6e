//! The simulated devices' serials: `--first-serial` counted up, keeping its
//! width (`LOAD-0001` → `LOAD-0002`…, `FLEET-00001` → `FLEET-10000`), so that
//! one option names the devices of any fixture.

/// A serial that has no trailing digits to count up from.
#[derive(Debug, thiserror::Error)]
#[error("--first-serial {0:?} must end in digits to count up from, e.g. LOAD-0001")]
pub struct NoDigits(String);

/// The serials of `count` devices starting at a first serial.
#[derive(Debug, Clone)]
pub(super) struct Serials {
    prefix: String,
    first: u64,
    width: usize,
}

impl Serials {
    /// Splits `first` into its prefix and its trailing number.
    pub(super) fn starting_at(first: &str) -> Result<Self, NoDigits> {
        let prefix = first.trim_end_matches(|c: char| c.is_ascii_digit());
        let digits = &first[prefix.len()..];
        let number = digits
            .parse::<u64>()
            .map_err(|_| NoDigits(first.to_owned()))?;
        Ok(Serials {
            prefix: prefix.to_owned(),
            first: number,
            width: digits.len(),
        })
    }

    /// The serial of the `index`-th device (0 is the first).
    pub(super) fn nth(&self, index: u32) -> String {
        format!(
            "{}{:0width$}",
            self.prefix,
            self.first + u64::from(index),
            width = self.width
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_up_keeping_the_width() {
        let load = Serials::starting_at("LOAD-0001").unwrap();
        assert_eq!(load.nth(0), "LOAD-0001");
        assert_eq!(load.nth(255), "LOAD-0256");
        let fleet = Serials::starting_at("FLEET-00001").unwrap();
        assert_eq!(fleet.nth(9_999), "FLEET-10000");
        let bare = Serials::starting_at("7").unwrap();
        assert_eq!(bare.nth(3), "10", "a number may grow past its width");
    }

    #[test]
    fn a_serial_without_trailing_digits_is_refused_saying_why() {
        let err = Serials::starting_at("LOAD-").unwrap_err().to_string();
        assert!(err.contains("must end in digits"), "{err}");
        assert!(Serials::starting_at("").is_err());
    }
}
