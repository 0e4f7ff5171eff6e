//! `mpos admin`: the bank operators' provisioning commands. Each opens the
//! store of the configured data folder (creating it on first use), makes one
//! change, records it in the audit log as the operator, and says what it did.
//! A running host sees device changes within a second (its directory polls).

use crate::app::App;
use crate::cli::{
    AdminArgs, AdminCommand, DeviceCommand, MerchantCommand, PasswordInput, SeedHistoryArgs,
    TerminalCommand, TlsCommand,
};
use crate::config::{Config, FlagOverrides};
use crate::error::CliError;
use crate::fixtures;
use crate::ids;
use crate::seed::{self, Generator, SeedError};
use indicatif::{ProgressBar, ProgressStyle};
use mpos_domain::ids::{DeviceSerial, MerchantId};
use mpos_domain::input::{AppPassword, CabinetPassword, DisplayName, Email};
use mpos_domain::password::PasswordHash;
use mpos_store::ops::audit::{self, Actor};
use mpos_store::ops::devices;
use mpos_store::ops::merchants::{self, MerchantRow};
use mpos_store::ops::terminals::{self, TerminalRow};
use mpos_store::{Store, StoreError};
use std::io::Read;

/// `println!` that does not panic when stdout is a closed pipe.
macro_rules! say {
    ($($arg:tt)*) => {
        crate::output::write_stdout(&format!("{}\n", format_args!($($arg)*)))
    };
}

/// `mpos admin tls demo-certs`: writes them and says what each file is.
fn demo_certs(dir: &std::path::Path, devices: &[String]) -> Result<(), CliError> {
    let files = crate::demo_certs::write(dir, devices)?;
    say!("Wrote throwaway certificates FOR TESTING ONLY (the CA's key is among them):");
    for file in files {
        say!("  {}", file.display());
    }
    say!("ca.pem is the CA that signed the rest; server.pem is valid for localhost and 127.0.0.1;");
    say!(
        "each SERIAL.pem is a reader's client certificate, its CN the serial. Never use them in production."
    );
    Ok(())
}

/// Runs one admin command, printing its outcome on stdout.
pub fn run(args: AdminArgs) -> Result<(), CliError> {
    // Certificates need no configuration and no database.
    if let AdminCommand::Tls(TlsCommand::DemoCerts { dir, devices }) = &args.command {
        return demo_certs(dir, devices);
    }
    let config = Config::load(
        args.config.as_deref(),
        &FlagOverrides {
            data_dir: args.data_dir.clone(),
            ..FlagOverrides::default()
        },
    )?;
    // What admin creates in the data folder (the database on first use, its
    // -wal and -shm) is its owner's only, as with `mpos serve`.
    crate::data_dir::private_umask();
    let app = App::build(config)?;
    let store = &app.store;
    match args.command {
        AdminCommand::SeedHistory(seed_args) => seed_history(&app, seed_args),
        AdminCommand::Merchant(command) => merchant(store, command),
        AdminCommand::Device(command) => device(store, command),
        AdminCommand::Terminal(command) => terminal(store, command),
        AdminCommand::Tls(TlsCommand::DemoCerts { dir, devices }) => demo_certs(&dir, &devices),
        AdminCommand::Load { file } => {
            let report = fixtures::load(store, &file, Actor::Operator)?;
            say!("{}: {report}", file.display());
            Ok(())
        }
    }
}

/// `mpos admin seed-history`: generates and stores, with a progress bar on
/// a terminal, then one summary line.
fn seed_history(app: &App, args: SeedHistoryArgs) -> Result<(), CliError> {
    let store = &app.store;
    let shape = seed::shape_of(
        store,
        &args.merchant,
        args.transactions,
        args.days,
        args.seed,
    )?;
    let generator = Generator::new(shape, &app.clock, app.clock.zone(), jiff::Timestamp::now())
        .map_err(SeedError::from)?;
    let total = generator.len();
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {human_pos}/{human_len} transactions, {per_sec}, {eta} left",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    let summary = seed::seed(app, generator, Actor::Operator, |stored| {
        bar.set_position(stored)
    });
    bar.finish_and_clear();
    let summary = summary?;
    let seconds = summary.elapsed.as_secs_f64();
    let period = summary
        .period
        .map_or_else(String::new, |(from, to)| format!(" ({from} to {to})"));
    say!(
        "Seeded {} transactions for merchant {} over {} business day(s){period}: {} approved purchases ({} reversed), {} refunds, {} declined; seed {}, {:.1} s ({:.0}/s).",
        summary.transactions,
        args.merchant,
        args.days,
        summary.purchases,
        summary.reversed,
        summary.refunds,
        summary.declined,
        args.seed,
        seconds,
        summary.transactions as f64 / seconds.max(1e-9),
    );
    Ok(())
}

fn merchant(store: &Store, command: MerchantCommand) -> Result<(), CliError> {
    match command {
        MerchantCommand::Add {
            id,
            name,
            email,
            password,
        } => {
            MerchantId::new(&id).map_err(invalid)?;
            DisplayName::new(&name).map_err(invalid)?;
            Email::new(&email).map_err(invalid)?;
            let password = CabinetPassword::new(&read_password(password)?).map_err(invalid)?;
            let row = MerchantRow {
                id: id.clone(),
                name,
                email: email.clone(),
                password_hash: PasswordHash::new(password.as_str())?.as_str().to_owned(),
            };
            let added = store.write_blocking(move |tx| {
                let added = merchants::insert(tx, &row);
                match added {
                    Ok(true) => {
                        audit::record(
                            tx,
                            &Actor::Operator,
                            Some(&row.id),
                            "merchant.added",
                            Some(&row.id),
                            Some(&row.email),
                        )?;
                        Ok(true)
                    }
                    Ok(false) => Ok(false),
                    Err(e) if e.is_unique_violation() => {
                        Err(StoreError::EmailTaken(row.email.clone()))
                    }
                    Err(e) => Err(e),
                }
            })?;
            if !added {
                return Err(CliError::Invalid(format!(
                    "merchant {id} exists already (see `mpos admin merchant list`)"
                )));
            }
            say!("Added merchant {id} <{email}>.");
            Ok(())
        }
        MerchantCommand::List => {
            let rows = store.read(|r| merchants::list(r))?;
            print_table(
                &["ID", "E-MAIL", "NAME"],
                rows.iter()
                    .map(|m| vec![m.id.clone(), m.email.clone(), m.name.clone()]),
            );
            Ok(())
        }
    }
}

fn device(store: &Store, command: DeviceCommand) -> Result<(), CliError> {
    match command {
        DeviceCommand::Add {
            serial,
            merchant,
            blocked,
            app_password,
        } => {
            DeviceSerial::new(&serial).map_err(invalid)?;
            let password = AppPassword::new(&read_password(app_password)?).map_err(invalid)?;
            let hash = PasswordHash::new(password.as_str())?.as_str().to_owned();
            let (serial_c, merchant_c) = (serial.clone(), merchant.clone());
            let added = store.write_blocking(move |tx| {
                if !merchants::exists(tx, &merchant_c)? {
                    return Err(StoreError::NoMerchant(merchant_c));
                }
                let added = devices::insert(tx, &serial_c, &merchant_c, blocked, &hash)?;
                if added {
                    audit::record(
                        tx,
                        &Actor::Operator,
                        Some(&merchant_c),
                        "device.added",
                        Some(&serial_c),
                        None,
                    )?;
                }
                Ok(added)
            })?;
            if !added {
                return Err(CliError::Invalid(format!("device {serial} exists already")));
            }
            store.refresh_directory()?;
            say!("Added device {serial} to merchant {merchant}.");
            Ok(())
        }
        DeviceCommand::Block { serial } => set_blocked(store, serial, true),
        DeviceCommand::Unblock { serial } => set_blocked(store, serial, false),
        DeviceCommand::SetPassword {
            serial,
            app_password,
        } => {
            let password = AppPassword::new(&read_password(app_password)?).map_err(invalid)?;
            let hash = PasswordHash::new(password.as_str())?.as_str().to_owned();
            let serial_c = serial.clone();
            let found = store.write_blocking(move |tx| {
                devices::set_app_password(tx, &serial_c, None, &hash, &Actor::Operator)
            })?;
            if !found {
                return Err(no_device(&serial));
            }
            store.refresh_directory()?;
            say!("New app password set for {serial}; its current sign-ons are revoked.");
            Ok(())
        }
        DeviceCommand::List { merchant } => {
            let rows = store.read(|reader| devices::list(reader, merchant.as_deref()))?;
            print_table(
                &["SERIAL", "MERCHANT", "STATE", "LAST SIGN-ON (UTC ms)"],
                rows.iter().map(|d| {
                    vec![
                        d.serial.clone(),
                        d.merchant_id.clone(),
                        if d.blocked { "blocked" } else { "active" }.to_owned(),
                        d.last_sign_on_at
                            .map_or_else(|| "never".to_owned(), |t| t.to_string()),
                    ]
                }),
            );
            Ok(())
        }
    }
}

fn set_blocked(store: &Store, serial: String, blocked: bool) -> Result<(), CliError> {
    let serial_c = serial.clone();
    let changed = store.write_blocking(move |tx| {
        devices::set_blocked(tx, &serial_c, None, blocked, &Actor::Operator)
    })?;
    let state = if blocked { "blocked" } else { "active" };
    match changed {
        None => Err(no_device(&serial)),
        Some(true) => {
            store.refresh_directory()?;
            say!("Device {serial} is now {state}.");
            Ok(())
        }
        Some(false) => {
            say!("Device {serial} was already {state}.");
            Ok(())
        }
    }
}

fn terminal(store: &Store, command: TerminalCommand) -> Result<(), CliError> {
    match command {
        TerminalCommand::Add {
            id,
            merchant,
            name,
            kind,
            months,
            currency,
            limit,
        } => {
            let row = TerminalRow {
                id: id.clone(),
                merchant_id: merchant.clone(),
                name,
                kind: kind.as_str().to_owned(),
                installment_months: months,
                currency,
                limit_minor: limit,
                active: true,
            };
            ids::terminal(&row).map_err(CliError::Invalid)?;
            let added = store.write_blocking(move |tx| {
                if !merchants::exists(tx, &row.merchant_id)? {
                    return Err(StoreError::NoMerchant(row.merchant_id.clone()));
                }
                let added = terminals::insert(tx, &row)?;
                if added {
                    audit::record(
                        tx,
                        &Actor::Operator,
                        Some(&row.merchant_id),
                        "terminal.added",
                        Some(&row.id),
                        Some(&row.name),
                    )?;
                }
                Ok(added)
            })?;
            if !added {
                return Err(CliError::Invalid(format!(
                    "virtual terminal {id} exists already"
                )));
            }
            store.refresh_directory()?;
            say!("Added virtual terminal {id} to merchant {merchant}.");
            Ok(())
        }
        TerminalCommand::List { merchant } => {
            let rows = store.read(|reader| terminals::list(reader, merchant.as_deref()))?;
            print_table(
                &[
                    "ID",
                    "MERCHANT",
                    "KIND",
                    "CURRENCY",
                    "LIMIT (minor)",
                    "NAME",
                ],
                rows.iter().map(|t| {
                    let kind = match t.installment_months {
                        Some(m) => format!("{} {m} mo.", t.kind),
                        None => t.kind.clone(),
                    };
                    vec![
                        t.id.clone(),
                        t.merchant_id.clone(),
                        kind,
                        t.currency.to_string(),
                        t.limit_minor
                            .map_or_else(|| "none".to_owned(), |l| l.to_string()),
                        t.name.clone(),
                    ]
                }),
            );
            Ok(())
        }
    }
}

/// An argument that breaks its domain rule, the rule's words as the message.
fn invalid(error: impl std::error::Error) -> CliError {
    CliError::Invalid(error.to_string())
}

fn no_device(serial: &str) -> CliError {
    CliError::NotFound(format!("no device {serial} (see `mpos admin device list`)"))
}

/// The password from its flag, or the first line of stdin.
fn read_password(input: PasswordInput) -> Result<String, CliError> {
    if let Some(password) = input.password {
        return Ok(password);
    }
    let mut text = String::new();
    std::io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| CliError::Invalid(format!("cannot read the password from stdin: {e}")))?;
    let password = text.lines().next().unwrap_or_default().to_owned();
    if password.is_empty() {
        return Err(CliError::Invalid("no password on stdin".into()));
    }
    Ok(password)
}

/// Prints rows under a header, columns padded to their widest cell.
fn print_table(header: &[&str], rows: impl Iterator<Item = Vec<String>>) {
    let mut out = String::new();
    let rows: Vec<Vec<String>> = rows.collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut line = |cells: Vec<String>| {
        let padded: Vec<String> = cells
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        out.push_str(padded.join("  ").trim_end());
        out.push('\n');
    };
    line(header.iter().map(|h| (*h).to_owned()).collect());
    if rows.is_empty() {
        line(vec!["(none)".to_owned()]);
    }
    for row in rows {
        line(row);
    }
    crate::output::write_stdout(&out);
}
