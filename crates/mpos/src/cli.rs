//! The command-line grammar: commands, flags and their help texts.

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;

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
    /// Start the ISO 8583 host and the HTTP listener (metrics, health; the cabinet).
    ///
    /// On an empty database it first loads the demo data (or --fixtures FILE),
    /// then prints where it listens and how to sign on. Stops cleanly on
    /// Ctrl-C or SIGTERM: answers what is in flight, flushes the store.
    Serve(ServeArgs),
    /// Provision merchants, card readers and virtual terminals (for bank operators).
    Admin(AdminArgs),
    /// Load the host like N Android apps at once, then print a summary.
    ///
    /// Each simulated device (LOAD-0001, LOAD-0002, ... of fixtures/load.toml)
    /// has its own connection, signs on, and keeps --pipeline requests in
    /// flight (or, with --rate, sends them when due): mostly purchases, some
    /// refunds and reversals. Like the Android app, a device keeps the sign-on
    /// ticket of each 0810 and, when its connection drops (a host restart, a
    /// failover), reconnects with backoff and signs on by ticket, falling back
    /// to its password. Stops after --duration and exits 0 even if the host
    /// goes away; lost requests, reconnects and sign-ons are counted in the
    /// summary.
    ///
    /// Example: mpos loadgen --iso 127.0.0.1:8583 --devices 64 --pipeline 4 --duration 30
    ///
    /// Example: mpos loadgen --devices 10000 --first-serial FLEET-00001 --password fleet-pass-1
    /// --merchant MTBFLEET0000001 --terminal 90000002 --rate 5000
    Loadgen(LoadgenArgs),
    /// Decode and encode ISO 8583 messages, with JSON on the other side.
    #[command(subcommand)]
    Iso(IsoCommand),
    /// Run a card processor for the host's upstream mode, with the simulator's rules.
    ///
    /// It speaks the upstream interface (shared/spec/upstream-interface.md):
    /// answers sign-ons and echoes, decides each 0200 as the built-in simulator
    /// does (amounts ending in 51 -> 51, in 05 -> 05, else 00 with an
    /// authorization code) and acknowledges reversal advices (0420/0421) with
    /// 0430. For demos and load tests: --delay-ms and --drop make it slow or lossy.
    ///
    /// Example: mpos issuer-sim --listen 127.0.0.1:7000 --delay-ms 50
    IssuerSim(IssuerSimArgs),
}

/// `mpos issuer-sim`.
#[derive(Debug, Args)]
pub struct IssuerSimArgs {
    /// The address to listen on; port 0 picks a free one (printed at start).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:7000")]
    pub listen: String,
    /// Send every answer this many milliseconds after its request arrived.
    #[arg(long, value_name = "N", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=600_000))]
    pub delay_ms: u64,
    /// Answer nothing to this share of requests, in percent.
    #[arg(long = "drop", value_name = "PERCENT", default_value_t = 0, value_parser = clap::value_parser!(u8).range(0..=100))]
    pub drop_percent: u8,
    /// Decline every 0200 with 05 (do not honour), whatever the amount.
    #[arg(long)]
    pub decline_all: bool,
    /// The wire layout: a shipped name (see `mpos iso layouts`) or a .toml layout file.
    #[arg(long, value_name = "NAME|FILE", default_value = "generic-1987-ascii")]
    pub layout: String,
}

/// `mpos serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// A configuration file overriding config/mpos.toml.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The data folder [default: ./data, or data_dir of the configuration].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Address of the ISO 8583 listener [default: 127.0.0.1:8583]; port 0 picks a free one.
    #[arg(long, value_name = "ADDR")]
    pub iso_listen: Option<String>,
    /// Address of the HTTP listener [default: 127.0.0.1:8080]; port 0 picks a free one.
    #[arg(long, value_name = "ADDR")]
    pub http_listen: Option<String>,
    /// Address of the /metrics listener [default: 127.0.0.1:9464]; port 0 picks a free
    /// one, an empty value serves no metrics. Never the cabinet's listener.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<String>,
    /// Fixture file to load into an empty database [default: the built-in demo data].
    #[arg(long, value_name = "FILE")]
    pub fixtures: Option<PathBuf>,
}

/// `mpos loadgen`.
#[derive(Debug, Args)]
pub struct LoadgenArgs {
    /// The host's ISO 8583 address, or several hosts' separated by commas (A,B): the
    /// devices are spread over them, and a device whose host dies (or drops its
    /// connection) moves to the next address and resumes there by ticket.
    #[arg(long, value_name = "ADDR[,ADDR...]", default_value = "127.0.0.1:8583")]
    pub iso: String,
    /// Simulated devices, each on its own connection, numbered up from --first-serial
    /// (256 in fixtures/load.toml, 10,000 in fixtures/fleet.toml).
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub devices: u32,
    /// The first device's serial (DE 62); the others count up from its trailing digits.
    ///
    /// Example: --first-serial FLEET-00001 for the devices of fixtures/fleet.toml.
    #[arg(long, value_name = "SERIAL", default_value = "LOAD-0001")]
    pub first_serial: String,
    /// How long to send, seconds.
    #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub duration: u64,
    /// Requests each device keeps in flight (with --rate: at most).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub pipeline: u16,
    /// Open-loop load: N requests per second in all, spread evenly over the devices.
    ///
    /// Each request is sent when it is due, whether or not earlier answers have come
    /// (up to --pipeline in flight per device), and its latency counts from when it was
    /// due, so a host that stalls shows in the percentiles instead of slowing the
    /// client down (the wrk2 way). Requests that fall due while a device is not
    /// signed on (starting, reconnecting) are skipped and counted as such. Without
    /// --rate each device sends its next request as soon as one of its --pipeline
    /// slots frees (closed loop).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub rate: Option<u32>,
    /// Seconds at the start whose requests are sent but left out of the
    /// latency percentiles (a fleet's sign-on storm is not the steady state).
    #[arg(long, value_name = "SECS", default_value_t = 0, value_parser = clap::value_parser!(u64).range(0..=3_600))]
    pub warmup: u64,
    /// Also send N sign-ons per second with wrong passwords for made-up serials,
    /// as a password guesser would (to measure payments under that abuse).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub wrong_sign_ons: Option<u32>,
    /// Print the summary as one JSON line (and no progress bar).
    #[arg(long)]
    pub json: bool,
    /// Append "SERIAL STAN RRN" for every approval to this file as it arrives.
    #[arg(long, value_name = "FILE")]
    pub log_approved: Option<PathBuf>,
    /// The devices' app password.
    #[arg(long, default_value = "load-pass-1")]
    pub password: String,
    /// The merchant ID (DE 42) of the load devices.
    #[arg(long, default_value = "MTBLOAD00000001")]
    pub merchant: String,
    /// The virtual terminal (DE 41) to pay on.
    #[arg(long, default_value = "90000001")]
    pub terminal: String,
    /// Speak TLS to the host, trusting the CA certificates in FILE (PEM), e.g. the
    /// ca.pem of `mpos admin tls demo-certs`. Each device keeps its own TLS session
    /// and resumes it when it reconnects, as a reconnect storm would.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Option<PathBuf>,
    /// Mutual TLS: each device shows the client certificate <serial>.pem with its key
    /// <serial>.key from DIR (`mpos admin tls demo-certs DIR --device SERIAL...`).
    #[arg(long, value_name = "DIR", requires = "tls_ca")]
    pub tls_cert_dir: Option<PathBuf>,
    /// The name the host's certificate must carry [default: the host part of --iso].
    #[arg(long, value_name = "NAME", requires = "tls_ca")]
    pub tls_server_name: Option<String>,
    /// Never resume a TLS session: every connection pays a full handshake.
    #[arg(long, requires = "tls_ca")]
    pub tls_no_resume: bool,
    /// Measure TLS handshakes instead of payments: each device connects, completes a
    /// handshake and disconnects, over and over, for --duration; prints full and
    /// resumed handshakes per second.
    #[arg(long, requires = "tls_ca")]
    pub handshakes: bool,
}

/// `mpos admin`: options every admin command takes, then the command.
#[derive(Debug, Args)]
pub struct AdminArgs {
    /// The data folder holding the database [default: ./data, or data_dir of the configuration].
    #[arg(long, global = true, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// A configuration file overriding config/mpos.toml.
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// What to do.
    #[command(subcommand)]
    pub command: AdminCommand,
}

/// `mpos admin tls`.
#[derive(Debug, Subcommand)]
pub enum TlsCommand {
    /// Write throwaway certificates FOR TESTING ONLY: a CA, a server certificate
    /// for localhost and 127.0.0.1, and one client certificate per --device
    /// (its CN the serial), each with its key (mode 0600).
    ///
    /// Files: ca.pem, ca.key, server.pem, server.key, SERIAL.pem, SERIAL.key.
    /// Existing files are never overwritten. Never use them in production: the
    /// CA's key sits beside the certificates.
    ///
    /// Example: mpos admin tls demo-certs ./demo-tls --device MPOS-0001 --device MPOS-0002
    DemoCerts {
        /// The folder to write into (created if missing).
        dir: PathBuf,
        /// A device serial to issue a client certificate for (repeatable).
        #[arg(long = "device", value_name = "SERIAL")]
        devices: Vec<String>,
    },
}

/// The admin commands.
#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// TLS helpers.
    #[command(subcommand)]
    Tls(TlsCommand),
    /// Add or list merchants (their cabinet logins).
    #[command(subcommand)]
    Merchant(MerchantCommand),
    /// Add, block, unblock, list card readers or set their app password.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Add or list virtual terminals.
    #[command(subcommand)]
    Terminal(TerminalCommand),
    /// Load a fixture file (merchants, devices, terminals); what exists already is kept.
    ///
    /// Example: mpos admin load fixtures/demo.toml
    Load {
        /// The fixture file, e.g. fixtures/demo.toml or fixtures/load.toml.
        file: PathBuf,
    },
    /// Fill a merchant's payment history with synthetic transactions (for tests and demos).
    ///
    /// Writes N 0200s on the merchant's existing card readers and active virtual
    /// terminals, spread over the last D business days (today's included, up to now):
    /// about 90% approved purchases, 4% refunds of recent purchases, 5% declines with
    /// the codes the host stores (51, 05, 54, 14, 13), and 1.5% of the purchases
    /// reversed by a 0400. Every request goes through the host's own decide-and-store
    /// step, as if its card reader had sent it then: cards are masked and hashed with
    /// this data folder's key, no full card number is stored, and the cabinet's daily
    /// totals stay exact. The same --seed gives the same requests, and so the same rows
    /// but for their random authorization codes, on the same database and business day
    /// (only the times of today's rows, which fall before now, follow the clock). Rows
    /// are committed in batches of 10,000, and the run is recorded in the audit log.
    /// Meant for test and demo databases: the rows look real to the cabinet and reports.
    ///
    /// Example: mpos admin seed-history --merchant MTB000000000001 --transactions 1000000 --days 365
    SeedHistory(SeedHistoryArgs),
}

/// `mpos admin seed-history`.
#[derive(Debug, Args)]
pub struct SeedHistoryArgs {
    /// The merchant ID (DE 42) whose history to fill; it needs a card reader and a virtual terminal.
    #[arg(long, value_name = "ID")]
    pub merchant: String,
    /// How many 0200 transactions to write (reversals' 0400s come on top).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub transactions: u64,
    /// Business days to spread them over, ending today.
    #[arg(long, value_name = "D", default_value_t = 365, value_parser = clap::value_parser!(u32).range(1..=3660))]
    pub days: u32,
    /// Seed of the generator: the same seed gives the same transactions.
    #[arg(long, value_name = "S", default_value_t = 1)]
    pub seed: u64,
}

/// Where a password comes from: a flag, or the first line of stdin (keeps it
/// out of the shell history and the process list).
#[derive(Debug, Args)]
pub struct PasswordInput {
    /// The password; without it, the first line of stdin is read.
    #[arg(long, value_name = "PASSWORD")]
    pub password: Option<String>,
}

/// `mpos admin merchant ...`.
#[derive(Debug, Subcommand)]
pub enum MerchantCommand {
    /// Add a merchant with its cabinet login.
    ///
    /// The cabinet password has at least 10 characters.
    ///
    /// Example: mpos admin merchant add --id MTB000000000003 --name "ООО Пример" --email shop@example.by --password 'initial-pass-1'
    Add {
        /// Merchant ID (DE 42), 15 characters.
        #[arg(long)]
        id: String,
        /// Company name shown in the cabinet.
        #[arg(long)]
        name: String,
        /// Cabinet login e-mail.
        #[arg(long)]
        email: String,
        /// The initial cabinet password (at least 10 characters).
        #[command(flatten)]
        password: PasswordInput,
    },
    /// List merchants.
    List,
}

/// `mpos admin device ...`.
#[derive(Debug, Subcommand)]
pub enum DeviceCommand {
    /// Add a card reader to a merchant.
    ///
    /// Its app password, as in the cabinet: 10 to 999 printable ASCII
    /// characters, no space at either end (the app sends it in DE 48).
    ///
    /// Example: mpos admin device add --serial MPOS-0003 --merchant MTB000000000001 --password 'app-pass-3'
    Add {
        /// Serial number as printed on the reader (DE 62), 1 to 32 characters.
        #[arg(long)]
        serial: String,
        /// The owning merchant's ID.
        #[arg(long)]
        merchant: String,
        /// Add it blocked.
        #[arg(long)]
        blocked: bool,
        /// The mobile app password of this reader.
        #[command(flatten)]
        app_password: PasswordInput,
    },
    /// Block a card reader: the host answers its next message with 58.
    Block {
        /// Serial number.
        serial: String,
    },
    /// Unblock a card reader.
    Unblock {
        /// Serial number.
        serial: String,
    },
    /// Set a new app password; the reader's current sign-ons are revoked.
    ///
    /// The password, as in the cabinet: 10 to 999 printable ASCII characters,
    /// no space at either end (the app sends it in DE 48).
    SetPassword {
        /// Serial number.
        serial: String,
        /// The new app password.
        #[command(flatten)]
        app_password: PasswordInput,
    },
    /// List card readers.
    List {
        /// Only this merchant's readers.
        #[arg(long)]
        merchant: Option<String>,
    },
}

/// Kinds of virtual terminal.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum TerminalKind {
    /// Plain payments.
    Standard,
    /// Installments over `--months`.
    Installment,
    /// A bonus programme.
    Bonus,
}

impl TerminalKind {
    /// The name the store uses.
    pub fn as_str(self) -> &'static str {
        match self {
            TerminalKind::Standard => "standard",
            TerminalKind::Installment => "installment",
            TerminalKind::Bonus => "bonus",
        }
    }
}

/// `mpos admin terminal ...`.
#[derive(Debug, Subcommand)]
pub enum TerminalCommand {
    /// Add a virtual terminal to a merchant.
    ///
    /// Example: mpos admin terminal add --id 10000004 --merchant MTB000000000001 --name "Рассрочка 6 мес." --kind installment --months 6 --limit 1000000
    Add {
        /// Terminal ID (DE 41), 8 characters.
        #[arg(long)]
        id: String,
        /// The owning merchant's ID.
        #[arg(long)]
        merchant: String,
        /// Name shown in the cabinet.
        #[arg(long)]
        name: String,
        /// Payment type.
        #[arg(long, value_enum)]
        kind: TerminalKind,
        /// Installment term in months (installment terminals only).
        #[arg(long)]
        months: Option<u8>,
        /// ISO 4217 numeric currency.
        #[arg(long, default_value_t = 933)]
        currency: u16,
        /// Per-transaction limit in minor units (kopecks); none if left out.
        #[arg(long, value_name = "MINOR_UNITS")]
        limit: Option<u64>,
    },
    /// List virtual terminals.
    List {
        /// Only this merchant's terminals.
        #[arg(long)]
        merchant: Option<String>,
    },
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
