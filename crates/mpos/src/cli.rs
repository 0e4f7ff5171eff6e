//! The command-line grammar: commands, flags and their help texts.

use clap::{Args, Parser, Subcommand};

/// The mPOS processing core: an ISO 8583 acquirer host for card readers
/// paired with Android phones, and the merchants' web cabinet.
#[derive(Debug, Parser)]
#[command(name = "mpos", version, propagate_version = true, max_term_width = 100)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands of `mpos`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode and encode ISO 8583 messages, with JSON on the other side.
    #[command(subcommand)]
    Iso(IsoCommand),
}

/// `mpos iso ...`: the codec from the command line, for operators and tests.
#[derive(Debug, Subcommand)]
pub enum IsoCommand {
    /// Read one raw message on stdin and print it as JSON.
    ///
    /// The JSON is {"mti":"0200","fields":{"2":"4276...","3":"000000",...}}:
    /// keys are field numbers, values the field contents as they travel in the
    /// ASCII layout (binary data as upper-case hex, BCD as digits). Bitmaps are
    /// not listed.
    ///
    /// Example: printf '0800822000000000000004000000000000001125093000000001301' | mpos iso decode
    Decode(DecodeArgs),
    /// Read a message as JSON on stdin (the shape `decode` prints) and write
    /// the raw message to stdout.
    ///
    /// Example: echo '{"mti":"0800","fields":{"7":"1125093000","11":"000001","70":"301"}}' | mpos iso encode | mpos iso decode
    Encode(EncodeArgs),
    /// List the shipped layouts.
    Layouts,
}

/// Options shared by `decode` and `encode`.
#[derive(Debug, Args)]
pub struct WireOptions {
    /// The layout: a shipped name (see `mpos iso layouts`) or the path of a .toml layout file.
    #[arg(long, value_name = "NAME|FILE", default_value = "generic-1987-ascii")]
    pub layout: String,
    /// The raw side carries the 2-byte big-endian length header of the host interface.
    #[arg(long)]
    pub framed: bool,
    /// The raw side is hex text instead of bytes (whitespace ignored on input).
    #[arg(long)]
    pub hex: bool,
}

/// `mpos iso decode`.
#[derive(Debug, Args)]
pub struct DecodeArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub wire: WireOptions,
    /// Print the JSON indented over several lines.
    #[arg(long)]
    pub pretty: bool,
}

/// `mpos iso encode`.
#[derive(Debug, Args)]
pub struct EncodeArgs {
    #[command(flatten)]
    #[allow(missing_docs)]
    pub wire: WireOptions,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_grammar_is_consistent() {
        Cli::command().debug_assert();
    }
}
