//! The `mpos` command line (placeholder until the CLI module lands).

/// Runs the command line.
pub fn main() -> std::process::ExitCode {
    std::process::ExitCode::SUCCESS
}
