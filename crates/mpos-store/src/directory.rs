//! The in-memory directory of devices and virtual terminals that the host
//! consults on every message without touching SQLite.
//!
//! It is a snapshot swapped atomically (readers never wait). Changes made
//! through this process's store reload it right after they commit; changes
//! made by another process (an operator's `mpos admin`, a second server) are
//! found by polling one row, `directory_version`, which triggers bump on
//! every relevant change. Either way a block or a password change takes
//! effect for the next message within the poll interval (250 ms by default).

use crate::error::StoreError;
use arc_swap::ArcSwap;
use rusqlite::Connection;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// A card reader as the host needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceEntry {
    /// Serial number (DE 62).
    pub serial: String,
    /// The merchant it belongs to (DE 42).
    pub merchant_id: String,
    /// Blocked devices are answered 58.
    pub blocked: bool,
    /// The app password's salted hash.
    pub app_password_hash: String,
    /// Sign-ons made under an older version are revoked.
    pub credentials_version: i64,
}

/// A virtual terminal as the host needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TerminalEntry {
    /// Terminal ID (DE 41).
    pub id: String,
    /// The merchant it belongs to.
    pub merchant_id: String,
    /// Shown in the cabinet.
    pub name: String,
    /// `standard`, `installment` or `bonus`.
    pub kind: String,
    /// Term of an installment terminal.
    pub installment_months: Option<u8>,
    /// ISO 4217 numeric currency.
    pub currency: u16,
    /// Per-transaction limit in minor units, if any.
    pub limit_minor: Option<u64>,
    /// Inactive terminals are answered 03.
    pub active: bool,
}

/// One consistent view of all devices and terminals.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The `directory_version` this snapshot was read at.
    pub version: i64,
    /// Devices by serial.
    pub devices: HashMap<String, DeviceEntry>,
    /// Terminals by ID.
    pub terminals: HashMap<String, TerminalEntry>,
}

/// The shared, atomically swapped directory.
pub struct Directory {
    current: ArcSwap<Snapshot>,
    /// Version of the snapshot being served, for cheap "changed?" checks.
    version: AtomicI64,
}

impl Directory {
    pub(crate) fn new() -> Self {
        Directory {
            current: ArcSwap::from_pointee(Snapshot {
                version: -1,
                ..Snapshot::default()
            }),
            version: AtomicI64::new(-1),
        }
    }

    /// The current snapshot; cheap (an atomic reference count).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// The device with this serial, as of now.
    pub fn device(&self, serial: &str) -> Option<DeviceEntry> {
        self.current.load().devices.get(serial).cloned()
    }

    /// The terminal with this ID, as of now.
    pub fn terminal(&self, id: &str) -> Option<TerminalEntry> {
        self.current.load().terminals.get(id).cloned()
    }

    /// Reloads the snapshot if the database's version moved; returns whether
    /// it did.
    pub(crate) fn refresh(&self, conn: &Connection) -> Result<bool, StoreError> {
        let version = read_version(conn)?;
        if version == self.version.load(Ordering::Acquire) {
            return Ok(false);
        }
        self.reload(conn)?;
        Ok(true)
    }

    /// Reads every device and terminal in one read transaction.
    pub(crate) fn reload(&self, conn: &Connection) -> Result<(), StoreError> {
        conn.execute_batch("BEGIN")?;
        let snapshot = read_snapshot(conn);
        let _ = conn.execute_batch("COMMIT");
        let snapshot = snapshot?;
        let version = snapshot.version;
        self.current.store(Arc::new(snapshot));
        self.version.store(version, Ordering::Release);
        Ok(())
    }
}

fn read_version(conn: &Connection) -> Result<i64, StoreError> {
    Ok(conn
        .prepare_cached("SELECT version FROM directory_version WHERE id = 1")?
        .query_row([], |row| row.get(0))?)
}

fn read_snapshot(conn: &Connection) -> Result<Snapshot, StoreError> {
    let version = read_version(conn)?;
    let mut devices = HashMap::new();
    let mut statement = conn.prepare_cached(
        "SELECT serial, merchant_id, state, app_password_hash, credentials_version FROM devices",
    )?;
    let rows = statement.query_map([], |row| {
        Ok(DeviceEntry {
            serial: row.get(0)?,
            merchant_id: row.get(1)?,
            blocked: row.get::<_, String>(2)? == "blocked",
            app_password_hash: row.get(3)?,
            credentials_version: row.get(4)?,
        })
    })?;
    for device in rows {
        let device = device?;
        devices.insert(device.serial.clone(), device);
    }
    let mut terminals = HashMap::new();
    let mut statement = conn.prepare_cached(
        "SELECT id, merchant_id, name, kind, installment_months, currency, limit_minor, active
         FROM virtual_terminals",
    )?;
    let rows = statement.query_map([], |row| {
        Ok(TerminalEntry {
            id: row.get(0)?,
            merchant_id: row.get(1)?,
            name: row.get(2)?,
            kind: row.get(3)?,
            installment_months: row.get(4)?,
            currency: row.get(5)?,
            // The schema keeps limits positive.
            limit_minor: row
                .get::<_, Option<i64>>(6)?
                .and_then(|v| u64::try_from(v).ok()),
            active: row.get(7)?,
        })
    })?;
    for terminal in rows {
        let terminal = terminal?;
        terminals.insert(terminal.id.clone(), terminal);
    }
    Ok(Snapshot {
        version,
        devices,
        terminals,
    })
}
