//! The read path: a small pool of read-only connections. In WAL mode readers
//! see the last committed state and never block the writer, nor it them.

use crate::error::StoreError;
use crate::unit::Reader;
use crossbeam_channel::{Receiver, Sender};
use rusqlite::Connection;

/// A fixed set of read-only connections handed out one at a time.
pub(crate) struct Readers {
    put_back: Sender<Connection>,
    idle: Receiver<Connection>,
}

impl Readers {
    /// A pool of the given connections.
    pub(crate) fn new(connections: Vec<Connection>) -> Self {
        let (put_back, idle) = crossbeam_channel::bounded(connections.len().max(1));
        for conn in connections {
            // The channel holds exactly this many, so this cannot block or fail.
            let _ = put_back.send(conn);
        }
        Readers { put_back, idle }
    }

    /// Runs `read` on an idle connection, waiting for one if all are busy.
    pub(crate) fn with<T>(
        &self,
        read: impl FnOnce(&mut Reader<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let conn = self.idle.recv().map_err(|_| StoreError::Closed)?;
        let lease = Lease {
            conn: Some(conn),
            put_back: &self.put_back,
        };
        match &lease.conn {
            Some(conn) => read(&mut Reader::sqlite(conn)),
            None => Err(StoreError::Closed),
        }
    }
}

/// Returns the connection to the pool even if the reader panics.
struct Lease<'p> {
    conn: Option<Connection>,
    put_back: &'p Sender<Connection>,
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = self.put_back.send(conn);
        }
    }
}
