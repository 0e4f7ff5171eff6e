//! `mpos issuer-sim`: the card processor of `mpos_upstream::sim` on a
//! listener, until Ctrl-C or SIGTERM.

use crate::cli::IssuerSimArgs;
use crate::error::CliError;
use mpos_iso8583::Layout;
use mpos_upstream::sim::{self, SimOptions};
use std::time::Duration;

/// Runs `mpos issuer-sim` until a signal.
pub fn run(args: IssuerSimArgs) -> Result<(), CliError> {
    crate::serve::init_logging();
    let layout = Layout::load(&args.layout).map_err(|source| CliError::Layout {
        layout: args.layout.clone(),
        source,
    })?;
    let options = SimOptions {
        delay: Duration::from_millis(args.delay_ms),
        drop_percent: args.drop_percent,
        decline_all: args.decline_all,
        ..SimOptions::default()
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::Runtime(format!("cannot start the async runtime: {e}")))?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|source| CliError::Bind {
                what: "issuer simulator",
                address: args.listen.clone(),
                flag: "--listen",
                source,
            })?;
        let address = listener
            .local_addr()
            .map_err(|e| CliError::Runtime(e.to_string()))?;
        crate::output::write_stdout(&format!(
            "mpos issuer-sim is running.
  Processor      {address}  (layout {layout})
  Rules          {rules}
  Answers        {delay}, {drop}% dropped
Point the host at it: [issuer] mode = \"upstream\", [upstream] hosts = [\"{address}\"].
Press Ctrl-C to stop.
",
            layout = layout.name(),
            rules = if options.decline_all {
                "every 0200 declined with 05".to_owned()
            } else {
                "amounts ending in 51 -> 51, in 05 -> 05, else 00".to_owned()
            },
            delay = if options.delay.is_zero() {
                "at once".to_owned()
            } else {
                format!("after {} ms", args.delay_ms)
            },
            drop = options.drop_percent,
        ));
        sim::serve(listener, layout, options, crate::serve::wait_for_signal()).await;
        Ok::<(), CliError>(())
    })?;
    crate::output::write_stdout("mpos issuer-sim stopped.\n");
    Ok(())
}
