//! The `mpos` command line: parses arguments with clap and hands each command
//! to its module. Every command returns a typed error; [`main`] prints it as
//! one line on stderr and turns it into a non-zero exit code.

mod cli;
pub mod config;
mod iso;
pub mod secrets;

use clap::Parser;
use std::process::ExitCode;

pub use cli::{Cli, Command};

/// Runs the command line and returns the process exit code: 0 on success,
/// 1 when the command failed (the reason is on stderr), 2 for usage errors.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Iso(args) => iso::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}
