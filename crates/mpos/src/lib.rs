//! The `mpos` command line: parses arguments with clap and hands each command
//! to its module. Every command returns a typed error; [`main`] prints it as
//! one line on stderr and turns it into a non-zero exit code.

#![warn(missing_docs)]

mod admin;
pub mod app;
mod cli;
pub mod config;
mod data_dir;
mod demo_certs;
pub mod error;
mod fixtures;
mod health;
mod http_server;
mod ids;
mod iso;
mod issuer_sim;
mod limits;
mod loadgen;
mod output;
pub mod secrets;
pub mod seed;
mod serve;
mod store_setup;
mod tls_listeners;
mod upstream_mode;

use clap::Parser;
use std::io::Write as _;
use std::process::ExitCode;

pub use cli::{Cli, Command};
pub use error::CliError;

/// Runs the command line and returns the process exit code: 0 on success,
/// 1 when the command failed (the reason is on stderr), 2 for usage errors.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result: Result<(), CliError> = match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Loadgen(args) => loadgen::run(args).map_err(CliError::from),
        Command::Admin(args) => admin::run(args),
        Command::Iso(args) => iso::run(args).map_err(CliError::from),
        Command::IssuerSim(args) => issuer_sim::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // Like stdout, a closed stderr must not turn an error into a panic.
            let _ = writeln!(std::io::stderr(), "error: {error}");
            ExitCode::FAILURE
        }
    }
}
