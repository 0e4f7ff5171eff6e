//! Fixture files (`fixtures/demo.toml`, `fixtures/load.toml`): merchants,
//! devices and virtual terminals to provision. Loading is idempotent: what
//! exists already is left as it is (a reload never undoes a merchant's
//! password change or a block), so it is safe on every start.

use crate::ids;
use mpos_domain::entities::DeviceState;
use mpos_domain::ids::{DeviceSerial, MerchantId};
use mpos_domain::input::{AppPassword, CabinetPassword, DisplayName, Email};
use mpos_domain::password::{PasswordError, PasswordHash};
use mpos_store::ops::audit::{self, Actor};
use mpos_store::ops::devices;
use mpos_store::ops::merchants::{self, MerchantRow};
use mpos_store::ops::terminals::{self, TerminalRow};
use mpos_store::{Store, StoreError};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};

/// Most devices one `serials` range may name.
const MAX_RANGE: u32 = 100_000;

/// Why a fixture file could not be loaded. Nothing is written then.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The fixture file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The file is not TOML of the fixture's shape.
    #[error("{path}: {message}")]
    Syntax {
        /// The fixture file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// One entry breaks a rule.
    #[error("{path}: {entry}: {problem}")]
    Entry {
        /// The fixture file.
        path: PathBuf,
        /// Which entry, e.g. `devices[2] (MPOS-0101)`.
        entry: String,
        /// What is wrong.
        problem: String,
    },
    /// Hashing a password failed.
    #[error("{0}")]
    Password(#[from] PasswordError),
    /// The store refused the write.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// What a load added; entries that existed already are counted as kept.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct LoadReport {
    /// Merchants added.
    pub merchants_added: usize,
    /// Devices added.
    pub devices_added: usize,
    /// Terminals added.
    pub terminals_added: usize,
    /// Entries that existed already and were left as they were.
    pub kept: usize,
}

impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} merchant(s), {} device(s), {} virtual terminal(s) added; {} already present, left as they were",
            self.merchants_added, self.devices_added, self.terminals_added, self.kept
        )
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FixtureFile {
    #[serde(default)]
    merchants: Vec<MerchantDef>,
    #[serde(default)]
    devices: Vec<DeviceDef>,
    #[serde(default)]
    terminals: Vec<TerminalDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MerchantDef {
    id: String,
    name: String,
    email: String,
    password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DeviceDef {
    serial: Option<String>,
    /// A range such as `LOAD-0001..=LOAD-0256`.
    serials: Option<String>,
    merchant: String,
    app_password: String,
    #[serde(default = "active")]
    state: String,
}

fn active() -> String {
    "active".to_owned()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TerminalDef {
    id: String,
    merchant: String,
    name: String,
    kind: String,
    months: Option<u8>,
    currency: u16,
    limit: Option<u64>,
    #[serde(default = "yes")]
    active: bool,
}

fn yes() -> bool {
    true
}

/// A checked fixture, ready to write.
#[derive(Debug, Default)]
struct Plan {
    merchants: Vec<(MerchantRow, CabinetPassword)>,
    devices: Vec<PlannedDevice>,
    terminals: Vec<TerminalRow>,
}

#[derive(Debug)]
struct PlannedDevice {
    serial: String,
    merchant_id: String,
    blocked: bool,
    app_password: AppPassword,
}

/// The demo data (`fixtures/demo.toml`), compiled in so that `mpos serve`
/// works from any directory.
pub const DEMO: &str = include_str!("../../../fixtures/demo.toml");

/// Loads the fixture file at `path` into `store` as `actor`.
pub fn load(store: &Store, path: &Path, actor: Actor) -> Result<LoadReport, FixtureError> {
    let text = std::fs::read_to_string(path).map_err(|source| FixtureError::Read {
        path: path.to_owned(),
        source,
    })?;
    load_text(store, &text, path, actor)
}

/// Loads fixture `text` (named `path` in errors) into `store` as `actor`.
pub fn load_text(
    store: &Store,
    text: &str,
    path: &Path,
    actor: Actor,
) -> Result<LoadReport, FixtureError> {
    let file: FixtureFile = toml::from_str(text).map_err(|e| FixtureError::Syntax {
        path: path.to_owned(),
        message: e.to_string().trim_end().replace('\n', " "),
    })?;
    let plan = check(file).map_err(|(entry, problem)| FixtureError::Entry {
        path: path.to_owned(),
        entry,
        problem,
    })?;

    // Hash only for what is new: PBKDF2 is slow on purpose.
    let (existing_merchants, existing_devices) = store.read(|reader| {
        let merchants: BTreeSet<String> =
            merchants::list(reader)?.into_iter().map(|m| m.id).collect();
        let devices: BTreeSet<String> = devices::list(reader, None)?
            .into_iter()
            .map(|d| d.serial)
            .collect();
        Ok((merchants, devices))
    })?;
    for device in &plan.devices {
        if !existing_merchants.contains(&device.merchant_id)
            && !plan
                .merchants
                .iter()
                .any(|(m, _)| m.id == device.merchant_id)
        {
            return Err(FixtureError::Entry {
                path: path.to_owned(),
                entry: format!("device {}", device.serial),
                problem: format!(
                    "merchant {} is neither in this file nor in the database",
                    device.merchant_id
                ),
            });
        }
    }
    let mut hashes: HashMap<String, String> = HashMap::new();
    let mut hash_once = |password: &AppPassword| -> Result<String, PasswordError> {
        if let Some(hash) = hashes.get(password.as_str()) {
            return Ok(hash.clone());
        }
        let hash = PasswordHash::new(password.as_str())?.as_str().to_owned();
        hashes.insert(password.as_str().to_owned(), hash.clone());
        Ok(hash)
    };
    let planned = plan.merchants.len() + plan.devices.len();
    let mut new_merchants = Vec::new();
    for (mut merchant, password) in plan.merchants {
        if !existing_merchants.contains(&merchant.id) {
            // Each merchant its own salt: cabinet passwords are not shared.
            merchant.password_hash = PasswordHash::new(password.as_str())?.as_str().to_owned();
            new_merchants.push(merchant);
        }
    }
    let mut new_devices = Vec::new();
    for device in plan.devices {
        if !existing_devices.contains(&device.serial) {
            let hash = hash_once(&device.app_password)?;
            new_devices.push((device, hash));
        }
    }
    let already_there = planned - new_merchants.len() - new_devices.len();
    let terminals = plan.terminals;

    let report = store.write_blocking(move |tx| {
        let mut report = LoadReport {
            kept: already_there,
            ..LoadReport::default()
        };
        for merchant in &new_merchants {
            if merchants::insert(tx, merchant)? {
                report.merchants_added += 1;
                audit::record(
                    tx,
                    &actor,
                    Some(&merchant.id),
                    "merchant.added",
                    Some(&merchant.id),
                    Some(&merchant.email),
                )?;
            } else {
                report.kept += 1;
            }
        }
        for terminal in &terminals {
            if !merchants::exists(tx, &terminal.merchant_id)? {
                return Err(StoreError::Missing(format!(
                    "merchant {} of virtual terminal {} (it is not in this file either)",
                    terminal.merchant_id, terminal.id
                )));
            }
            if terminals::insert(tx, terminal)? {
                report.terminals_added += 1;
                audit::record(
                    tx,
                    &actor,
                    Some(&terminal.merchant_id),
                    "terminal.added",
                    Some(&terminal.id),
                    Some(&terminal.name),
                )?;
            } else {
                report.kept += 1;
            }
        }
        for (device, hash) in &new_devices {
            if devices::insert(
                tx,
                &device.serial,
                &device.merchant_id,
                device.blocked,
                hash,
            )? {
                report.devices_added += 1;
                audit::record(
                    tx,
                    &actor,
                    Some(&device.merchant_id),
                    "device.added",
                    Some(&device.serial),
                    None,
                )?;
            } else {
                report.kept += 1;
            }
        }
        Ok(report)
    })?;
    store.refresh_directory()?;
    Ok(report)
}

/// Checks every entry; the error is (which entry, what is wrong).
fn check(file: FixtureFile) -> Result<Plan, (String, String)> {
    let mut plan = Plan::default();
    for (i, m) in file.merchants.into_iter().enumerate() {
        let entry = || format!("merchants[{i}] ({})", m.id);
        MerchantId::new(&m.id).map_err(|e| (entry(), e.to_string()))?;
        DisplayName::new(&m.name).map_err(|e| (entry(), e.to_string()))?;
        Email::new(&m.email).map_err(|e| (entry(), e.to_string()))?;
        let password = CabinetPassword::new(&m.password).map_err(|e| (entry(), e.to_string()))?;
        plan.merchants.push((
            MerchantRow {
                id: m.id.clone(),
                name: m.name.clone(),
                email: m.email.clone(),
                password_hash: String::new(),
            },
            password,
        ));
    }
    for (i, d) in file.devices.into_iter().enumerate() {
        let label = d.serial.clone().or(d.serials.clone()).unwrap_or_default();
        let entry = || match label.as_str() {
            "" => format!("devices[{i}]"),
            label => format!("devices[{i}] ({label})"),
        };
        let serials = match (&d.serial, &d.serials) {
            (Some(one), None) => vec![one.clone()],
            (None, Some(range)) => serial_range(range).map_err(|p| (entry(), p))?,
            _ => {
                return Err((
                    entry(),
                    "give either serial or serials (a range such as LOAD-0001..=LOAD-0256)".into(),
                ));
            }
        };
        MerchantId::new(&d.merchant).map_err(|e| (entry(), e.to_string()))?;
        let app_password =
            AppPassword::new(&d.app_password).map_err(|e| (entry(), e.to_string()))?;
        let Some(state) = DeviceState::parse(&d.state) else {
            return Err((
                entry(),
                format!("state {:?} is neither active nor blocked", d.state),
            ));
        };
        let blocked = state == DeviceState::Blocked;
        for serial in serials {
            DeviceSerial::new(&serial).map_err(|e| (entry(), e.to_string()))?;
            plan.devices.push(PlannedDevice {
                serial,
                merchant_id: d.merchant.clone(),
                blocked,
                app_password: app_password.clone(),
            });
        }
    }
    for (i, t) in file.terminals.into_iter().enumerate() {
        let entry = || format!("terminals[{i}] ({})", t.id);
        let row = TerminalRow {
            id: t.id.clone(),
            merchant_id: t.merchant.clone(),
            name: t.name.clone(),
            kind: t.kind.clone(),
            installment_months: t.months,
            currency: t.currency,
            limit_minor: t.limit,
            active: t.active,
        };
        ids::terminal(&row).map_err(|problem| (entry(), problem))?;
        plan.terminals.push(row);
    }
    Ok(plan)
}

/// Expands `PREFIX0001..=PREFIX0256` into every serial between.
fn serial_range(range: &str) -> Result<Vec<String>, String> {
    let bad = || format!("serials {range:?} is not a range such as LOAD-0001..=LOAD-0256");
    let (first, last) = range.split_once("..=").ok_or_else(bad)?;
    let split = |s: &str| {
        let digits = s.len() - s.trim_end_matches(|c: char| c.is_ascii_digit()).len();
        let (prefix, number) = s.split_at(s.len() - digits);
        (prefix.to_owned(), number.to_owned())
    };
    let (prefix, from) = split(first);
    let (prefix_last, to) = split(last);
    if prefix != prefix_last || from.is_empty() || from.len() != to.len() {
        return Err(bad());
    }
    let width = from.len();
    let (from, to): (u32, u32) = (
        from.parse().map_err(|_| bad())?,
        to.parse().map_err(|_| bad())?,
    );
    if from > to || to - from >= MAX_RANGE {
        return Err(format!(
            "serials {range:?} must go upwards and name at most {MAX_RANGE} devices"
        ));
    }
    Ok((from..=to)
        .map(|n| format!("{prefix}{n:0width$}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serial_ranges_expand_with_their_width() {
        assert_eq!(
            serial_range("LOAD-0001..=LOAD-0003").unwrap(),
            ["LOAD-0001", "LOAD-0002", "LOAD-0003"]
        );
        assert_eq!(serial_range("A9..=A9").unwrap(), ["A9"]);
        for bad in [
            "LOAD-0001",
            "LOAD-0001..LOAD-0003",
            "LOAD-01..=LOAD-0003",
            "A-1..=B-2",
            "X-5..=X-1",
            "X..=X",
        ] {
            assert!(serial_range(bad).is_err(), "{bad}");
        }
        assert!(
            serial_range("X-000000..=X-999999").is_err(),
            "too many devices"
        );
    }

    fn checked(toml_text: &str) -> Result<Plan, (String, String)> {
        check(toml::from_str(toml_text).expect("fixture TOML"))
    }

    #[test]
    fn the_shipped_fixtures_are_valid() {
        for name in ["demo.toml", "load.toml"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures")
                .join(name);
            let text = std::fs::read_to_string(&path).unwrap();
            let plan = checked(&text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert!(!plan.devices.is_empty());
        }
    }

    #[test]
    fn bad_entries_are_named_with_the_problem() {
        let cases = [
            (
                "[[devices]]\nmerchant = \"MTB000000000001\"\napp_password = \"x\"\n",
                "devices[0]",
                "either serial or serials",
            ),
            (
                "[[devices]]\nserial = \"S\"\nmerchant = \"MTB000000000001\"\napp_password = \"app-pass-1\"\nstate = \"frozen\"\n",
                "devices[0] (S)",
                "neither active nor blocked",
            ),
            (
                "[[devices]]\nserials = \"LOAD-0001..=LOAD-0003\"\nmerchant = \"MTB000000000001\"\napp_password = \"load-pass\"\n",
                "devices[0] (LOAD-0001..=LOAD-0003)",
                "an app password must be at least 10 characters",
            ),
            (
                "[[devices]]\nserial = \"S\"\nmerchant = \"MTB000000000001\"\napp_password = \" app-pass-1\"\n",
                "devices[0] (S)",
                "must not begin or end with a space",
            ),
            (
                "[[devices]]\nserial = \"S\"\nmerchant = \"MTB000000000001\"\napp_password = \"пароль-пароль-1\"\n",
                "devices[0] (S)",
                "printable ASCII",
            ),
            (
                "[[merchants]]\nid = \"MTB1\"\nname = \"N\"\nemail = \"a@b.by\"\npassword = \"long-enough-1\"\n",
                "merchants[0] (MTB1)",
                "15 printable",
            ),
            (
                "[[merchants]]\nid = \"MTB000000000009\"\nname = \"N\"\nemail = \"a@b.by\"\npassword = \"short\"\n",
                "merchants[0] (MTB000000000009)",
                "at least 10",
            ),
            (
                "[[terminals]]\nid = \"10000009\"\nmerchant = \"MTB000000000001\"\nname = \"N\"\nkind = \"installment\"\ncurrency = 933\n",
                "terminals[0] (10000009)",
                "months",
            ),
            (
                "[[terminals]]\nid = \"10000009\"\nmerchant = \"MTB000000000001\"\nname = \"N\"\nkind = \"standard\"\ncurrency = 933\nlimit = 0\n",
                "terminals[0] (10000009)",
                "above 0",
            ),
        ];
        for (text, entry, problem) in cases {
            let (e, p) = checked(text).unwrap_err();
            assert_eq!(e, entry, "{text}");
            assert!(p.contains(problem), "{p}");
        }
    }

    #[test]
    fn a_file_breaking_a_rule_is_refused_whole_naming_itself_and_the_device() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            &dir.path().join("mpos.db"),
            &mpos_store::StoreOptions::default(),
        )
        .unwrap();
        let text = "[[merchants]]\nid = \"MTB000000000009\"\nname = \"N\"\nemail = \"n@merchant.test\"\npassword = \"long-enough-1\"\n\n\
                    [[devices]]\nserial = \"GOOD-0001\"\nmerchant = \"MTB000000000009\"\napp_password = \"app-pass-1\"\n\n\
                    [[devices]]\nserial = \"BAD-0001\"\nmerchant = \"MTB000000000009\"\napp_password = \"short\"\n";
        let error = load_text(&store, text, Path::new("fixtures/x.toml"), Actor::Operator)
            .unwrap_err()
            .to_string();
        assert_eq!(
            error,
            "fixtures/x.toml: devices[1] (BAD-0001): an app password must be at least 10 characters"
        );
        let (merchants, devices) = store
            .read(|reader| {
                Ok((
                    merchants::list(reader)?.len(),
                    devices::list(reader, None)?.len(),
                ))
            })
            .unwrap();
        assert_eq!(
            (merchants, devices),
            (0, 0),
            "nothing from the file is stored"
        );
    }
}
