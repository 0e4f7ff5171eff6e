//! Writing to stdout without panicking: `println!` panics when the reader
//! has gone (`mpos admin device list | head`); a closed pipe just ends the
//! output here.

use std::io::Write;

/// Writes `text` to stdout; a closed pipe or other write error ends the
/// output quietly, as in every Unix tool.
pub fn write_stdout(text: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush());
}
