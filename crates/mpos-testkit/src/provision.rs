//! Provisioning: merchants, devices and virtual terminals in a fresh store,
//! declared as one [`Provision`] value and inserted in one write.
//!
//! The ids, names and e-mails are those of `fixtures/demo.toml` (what
//! `mpos serve` loads into an empty database), so a test reads the same
//! names whether it runs the real binary or a store of its own.

use mpos_cli::app::App;
use mpos_domain::password::PasswordHash;
use mpos_store::ops::devices;
use mpos_store::ops::merchants::{self, MerchantRow};
use mpos_store::ops::terminals::{self, TerminalRow};
use mpos_store::{Store, StoreError, Tx};

/// The demo merchant (DE 42).
pub const MERCHANT: &str = "MTB000000000001";
/// The demo merchant's cabinet login.
pub const MERCHANT_EMAIL: &str = "demo@merchant.test";
/// The demo merchant's cabinet password (in `fixtures/demo.toml` too).
pub const MERCHANT_PASSWORD: &str = "demo-password-1";
/// The other demo merchant, whose things the first must never reach.
pub const OTHER_MERCHANT: &str = "MTB000000000002";
/// The other merchant's cabinet login.
pub const OTHER_EMAIL: &str = "second@merchant.test";
/// The demo merchant's first reader.
pub const DEVICE: &str = "MPOS-0001";
/// Its app password in `fixtures/demo.toml`.
pub const DEVICE_PASSWORD: &str = "app-pass-1";
/// The demo merchant's standard virtual terminal (DE 41).
pub const TERMINAL: &str = "10000001";

/// The load fixture's merchant (`fixtures/load.toml`).
pub const LOAD_MERCHANT: &str = "MTBLOAD00000001";
/// The load fixture's first reader.
pub const LOAD_DEVICE: &str = "LOAD-0001";
/// The load fixture's app password.
pub const LOAD_DEVICE_PASSWORD: &str = "load-pass";
/// The load fixture's terminal, without a limit.
pub const LOAD_TERMINAL: &str = "90000001";

/// A device to insert.
#[derive(Debug, Clone)]
struct Device {
    serial: String,
    merchant_id: String,
    blocked: bool,
    app_password_hash: String,
}

/// Merchants, devices and virtual terminals to insert, in that order.
#[derive(Debug, Clone, Default)]
pub struct Provision {
    merchants: Vec<MerchantRow>,
    devices: Vec<Device>,
    terminals: Vec<TerminalRow>,
}

impl Provision {
    /// Nothing yet.
    pub fn new() -> Provision {
        Provision::default()
    }

    /// The demo merchant with one reader ([`DEVICE`]) and one standard
    /// terminal ([`TERMINAL`]), hashes being placeholders: what the store's
    /// rule tests stand on.
    pub fn one_merchant() -> Provision {
        Provision::new()
            .merchant(MERCHANT, "ООО «Ромашка»", MERCHANT_EMAIL, "h")
            .device(DEVICE, MERCHANT, false, "h")
            .terminal(standard_terminal(TERMINAL, MERCHANT, "Оплата"))
    }

    /// The load fixture's merchant, its first reader and its terminal, for
    /// the benches; `hash` is the merchant's and the reader's password hash.
    pub fn load(hash: &str) -> Provision {
        Provision::new()
            .merchant(LOAD_MERCHANT, "Load", "load@merchant.test", hash)
            .device(LOAD_DEVICE, LOAD_MERCHANT, false, hash)
            .terminal(standard_terminal(LOAD_TERMINAL, LOAD_MERCHANT, "Load"))
    }

    /// The demo's two merchants, both with the cabinet password hash
    /// `password_hash`, and no devices or terminals yet.
    pub fn two_merchants(password_hash: &str) -> Provision {
        Provision::new()
            .merchant(MERCHANT, "ООО «Ромашка»", MERCHANT_EMAIL, password_hash)
            .merchant(OTHER_MERCHANT, "ИП Второй", OTHER_EMAIL, password_hash)
    }

    /// Adds a merchant.
    pub fn merchant(mut self, id: &str, name: &str, email: &str, password_hash: &str) -> Provision {
        self.merchants.push(MerchantRow {
            id: id.into(),
            name: name.into(),
            email: email.into(),
            password_hash: password_hash.into(),
        });
        self
    }

    /// Adds a device of `merchant_id`.
    pub fn device(
        mut self,
        serial: &str,
        merchant_id: &str,
        blocked: bool,
        app_password_hash: &str,
    ) -> Provision {
        self.devices.push(Device {
            serial: serial.into(),
            merchant_id: merchant_id.into(),
            blocked,
            app_password_hash: app_password_hash.into(),
        });
        self
    }

    /// Adds a virtual terminal.
    pub fn terminal(mut self, terminal: TerminalRow) -> Provision {
        self.terminals.push(terminal);
        self
    }

    /// Inserts everything through `tx`, inside the caller's write job.
    pub fn insert(&self, tx: &mut Tx<'_>) -> Result<(), StoreError> {
        for merchant in &self.merchants {
            merchants::insert(tx, merchant)?;
        }
        for d in &self.devices {
            devices::insert(
                tx,
                &d.serial,
                &d.merchant_id,
                d.blocked,
                &d.app_password_hash,
            )?;
        }
        for terminal in &self.terminals {
            terminals::insert(tx, terminal)?;
        }
        Ok(())
    }

    /// Inserts everything into `store` in one write and refreshes its
    /// directory, so the host sees the new devices and terminals at once.
    pub fn apply(self, store: &Store) {
        store
            .write_blocking(move |tx| self.insert(tx))
            .expect("the test provisioning is inserted");
        store.refresh_directory().expect("the directory reloads");
    }

    /// A fresh application ([`crate::app::fresh`]) whose store holds
    /// everything. Keep the folder as long as the application.
    pub fn app(self) -> (tempfile::TempDir, App) {
        let (dir, app) = crate::app::fresh();
        self.apply(&app.store);
        (dir, app)
    }

    /// A fresh store holding everything: [`Provision::app`]'s. Keep the
    /// folder as long as the store.
    pub fn store(self) -> (tempfile::TempDir, Store) {
        let (dir, app) = self.app();
        (dir, app.store)
    }
}

/// A fresh, empty store: the store of [`crate::app::fresh`].
pub fn empty_store() -> (tempfile::TempDir, Store) {
    let (dir, app) = crate::app::fresh();
    (dir, app.store)
}

/// A standard BYN terminal without a limit, active.
pub fn standard_terminal(id: &str, merchant_id: &str, name: &str) -> TerminalRow {
    TerminalRow {
        id: id.into(),
        merchant_id: merchant_id.into(),
        name: name.into(),
        kind: "standard".into(),
        installment_months: None,
        currency: 933,
        limit_minor: None,
        active: true,
    }
}

/// An installment BYN terminal of `months`, with a limit per payment.
pub fn installment_terminal(
    id: &str,
    merchant_id: &str,
    name: &str,
    months: u8,
    limit_minor: u64,
) -> TerminalRow {
    TerminalRow {
        kind: "installment".into(),
        installment_months: Some(months),
        limit_minor: Some(limit_minor),
        ..standard_terminal(id, merchant_id, name)
    }
}

/// The stored form of `password`: a PBKDF2 hash, as the cabinet and the
/// host check it.
pub fn password_hash(password: &str) -> String {
    PasswordHash::new(password)
        .expect("a test password hashes")
        .as_str()
        .to_owned()
}
