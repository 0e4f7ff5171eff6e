//! The in-memory directory of devices and virtual terminals that the host
//! consults on every message without touching the database.
//!
//! It is a snapshot swapped atomically (readers never wait). Changes made
//! through this process's store reload it right after they commit; changes
//! made by another process (an operator's `mpos admin`, another host on the
//! same PostgreSQL database) bump one row, `directory_version`, by trigger.
//! On PostgreSQL the same trigger NOTIFYs every host, which reloads at
//! once; on SQLite the row is polled. Either way a block or a password
//! change takes effect for the next message within the poll interval
//! (250 ms by default), which is also PostgreSQL's fallback should a
//! notification be missed (a reconnect).

use crate::error::StoreError;
use crate::ops::devices::{self, DeviceRow};
use crate::ops::terminals::{self, TerminalRow};
use crate::unit::Reader;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

/// One consistent view of all devices and terminals.
#[derive(Debug, Default)]
pub struct Snapshot {
    /// The `directory_version` this snapshot was read at.
    pub version: i64,
    /// Devices by serial.
    pub devices: HashMap<String, DeviceRow>,
    /// Terminals by ID.
    pub terminals: HashMap<String, TerminalRow>,
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
    pub fn device(&self, serial: &str) -> Option<DeviceRow> {
        self.current.load().devices.get(serial).cloned()
    }

    /// The terminal with this ID, as of now.
    pub fn terminal(&self, id: &str) -> Option<TerminalRow> {
        self.current.load().terminals.get(id).cloned()
    }

    /// Reloads the snapshot if the database's version moved; returns whether
    /// it did.
    pub(crate) fn refresh(&self, reader: &mut Reader<'_>) -> Result<bool, StoreError> {
        let version = read_version(reader)?;
        if version == self.version.load(Ordering::Acquire) {
            return Ok(false);
        }
        self.reload(reader)?;
        Ok(true)
    }

    /// Reads every device and terminal from one committed state.
    pub(crate) fn reload(&self, reader: &mut Reader<'_>) -> Result<(), StoreError> {
        let snapshot = reader.snapshot(read_snapshot)?;
        let version = snapshot.version;
        self.current.store(Arc::new(snapshot));
        self.version.store(version, Ordering::Release);
        Ok(())
    }
}

fn read_version(reader: &mut Reader<'_>) -> Result<i64, StoreError> {
    crate::unit::sql(reader).query_one(
        "SELECT version FROM directory_version WHERE id = 1",
        &[],
        |row| row.get(0),
    )
}

fn read_snapshot(reader: &mut Reader<'_>) -> Result<Snapshot, StoreError> {
    Ok(Snapshot {
        version: read_version(reader)?,
        devices: devices::list(reader, None)?
            .into_iter()
            .map(|d| (d.serial.clone(), d))
            .collect(),
        terminals: terminals::list(reader, None)?
            .into_iter()
            .map(|t| (t.id.clone(), t))
            .collect(),
    })
}
