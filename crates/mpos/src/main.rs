//! The `mpos` binary: everything lives in the `mpos-cli` library so that the
//! commands can be tested without a process.

fn main() -> std::process::ExitCode {
    mpos_cli::main()
}
