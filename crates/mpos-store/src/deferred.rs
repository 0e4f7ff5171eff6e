//! A PostgreSQL writer's batch, run so that the host's payments cost as
//! few round trips and subtransactions as a batch can give them.
//!
//! A payment's job reads its duplicate key and inserts one row. Run one by
//! one, each inside its own savepoint, that is four round trips and a
//! subtransaction per payment, and the subtransaction makes every foreign
//! key lock of its row a lock of its own. So on a writer connection:
//!
//! - **Inserts of transactions are deferred**: [`crate::ops::transactions`]
//!   hands the row (its id already taken from the sequence) to the batch,
//!   and the batch inserts all of them in one statement at its end.
//! - **A duplicate-key lookup is not a statement of the job's own**: it
//!   looks among the deferred rows first, then among the keys the batch's
//!   writes named when they were queued (looked up in one statement before
//!   the writes run), then asks the database, outside any savepoint (a
//!   read leaves nothing to undo).
//! - **Everything else is a fence**: before any other statement of a job,
//!   the batch's transaction begins (if it has not), the deferred rows of
//!   the jobs before are inserted, the job's savepoint opens, and its own
//!   deferred rows follow inside it. So every statement sees every row
//!   written before it, and a job that fails is rolled back alone, as it
//!   always was.
//!
//! A batch of payments alone never begins a transaction: its one insert
//! commits on its own (autocommit), atomically, and is as durable as a
//! COMMIT. If that insert fails (another host stored the same key a moment
//! before), the rows are inserted again one by one, each inside its own
//! savepoint of one transaction, and only the jobs whose rows fail are
//! told so ([`Batch::rejected`]); the others commit.

use crate::error::StoreError;
use crate::ops::transactions::{self, DuplicateKey, NewTransaction, PriorAnswer};
use crate::pg::PgConn;
use mpos_domain::mti::Mti;

/// A transaction row waiting for its batch's insert.
pub(crate) struct Pending {
    /// The job that wrote it: told if the row cannot be inserted.
    pub job: usize,
    /// Its id, taken from the sequence when it was written.
    pub id: i64,
    /// The row.
    pub row: NewTransaction,
}

/// The state of the batch a writer connection is running; inactive on
/// readers (and between batches), where every statement runs as it comes.
#[derive(Default)]
pub(crate) struct Batch {
    /// Whether a batch is running on the connection.
    active: bool,
    /// The job running now, by its index in the batch.
    job: usize,
    /// Whether the batch's transaction has begun.
    open: bool,
    /// Whether the running job's savepoint is open.
    savepoint: bool,
    /// Deferred rows, in the order they were written.
    pending: Vec<Pending>,
    /// Jobs whose rows could not be inserted, and why.
    rejected: Vec<(usize, StoreError)>,
    /// The duplicate keys the batch's writes named, looked up before they
    /// ran, with the answers found, kept true as the batch inserts rows;
    /// forgotten at a statement that may change them otherwise, and when a
    /// write that inserted rows is rolled back.
    known: Vec<(DuplicateKey, Option<PriorAnswer>)>,
}

impl Batch {
    /// Whether inserts are deferred now: inside a batch, in a job that has
    /// not been fenced. A fenced job's inserts run at once, inside its
    /// savepoint: its later statements see them, and a job's effects are
    /// either all inside its savepoint or all deferred rows.
    pub(crate) fn defers(&self) -> bool {
        self.active && !self.savepoint
    }

    /// Keeps `row` (id `id`) for the batch's insert, as the running job's.
    pub(crate) fn defer(&mut self, id: i64, row: NewTransaction) {
        self.pending.push(Pending {
            job: self.job,
            id,
            row,
        });
    }

    /// What the batch knows of this duplicate key without asking the
    /// database: the answer of a row it deferred, or else the answer (or
    /// none) its lookup before the writes found. `None`: ask the database.
    pub(crate) fn prior(
        &self,
        device_serial: &str,
        mti: Mti,
        stan: &str,
        transmission_time: &str,
    ) -> Option<Option<PriorAnswer>> {
        let deferred = self.pending.iter().find(|p| {
            p.row.device_serial == device_serial
                && p.row.kind.mti() == mti
                && p.row.stan == stan
                && p.row.transmission_time == transmission_time
        });
        if let Some(p) = deferred {
            return Some(Some(PriorAnswer {
                id: p.id,
                fingerprint: p.row.fingerprint.to_vec(),
                response: p.row.response.clone(),
                response_code: p.row.response_code.clone(),
            }));
        }
        self.known
            .iter()
            .find(|(key, _)| key.is(device_serial, mti, stan, transmission_time))
            .map(|(_, answer)| answer.clone())
    }

    /// Notes the answer `row` (id `id`), now in the table, gives to its
    /// duplicate key, where the batch knows that key.
    pub(crate) fn learn(&mut self, id: i64, row: &NewTransaction) {
        let mti = row.kind.mti();
        if let Some((_, answer)) = self
            .known
            .iter_mut()
            .find(|(key, _)| key.is(&row.device_serial, mti, &row.stan, &row.transmission_time))
        {
            *answer = Some(PriorAnswer {
                id,
                fingerprint: row.fingerprint.to_vec(),
                response: row.response.clone(),
                response_code: row.response_code.clone(),
            });
        }
    }

    /// [`Batch::learn`] for deferred rows just inserted.
    fn learn_rows(&mut self, rows: &[Pending]) {
        for pending in rows {
            self.learn(pending.id, &pending.row);
        }
    }
}

impl PgConn {
    /// Starts a batch on this writer connection.
    pub(crate) fn begin_batch(&mut self) {
        self.batch = Batch {
            active: true,
            ..Batch::default()
        };
    }

    /// Looks up the duplicate keys the batch's writes named, in one
    /// statement, before they run: their lookups are answered from it.
    pub(crate) fn look_ahead(&mut self, keys: Vec<DuplicateKey>) -> Result<(), StoreError> {
        if !keys.is_empty() {
            self.batch.known = transactions::prefetch(self, keys)?;
        }
        Ok(())
    }

    /// Starts job `index` of the batch.
    pub(crate) fn begin_job(&mut self, index: usize) {
        self.batch.job = index;
        self.batch.savepoint = false;
    }

    /// Called before every statement but a duplicate-key lookup: inside a
    /// batch, makes sure the transaction has begun, the rows deferred
    /// before are inserted and the job's savepoint is open (see the module's
    /// documentation). Nothing to do outside a batch or once it is done.
    /// `keeps_answers`: the statement cannot change what a duplicate key
    /// answers (a read; an update of other columns), so what the batch
    /// knows of its keys still holds after it; any other forgets it.
    pub(crate) fn fence(&mut self, keeps_answers: bool) -> Result<(), StoreError> {
        if !self.batch.active {
            return Ok(());
        }
        if !keeps_answers {
            self.batch.known.clear();
        }
        if self.batch.savepoint {
            return Ok(());
        }
        let begin = if self.batch.open { "" } else { "BEGIN; " };
        self.batch.open = true;
        let job = self.batch.job;
        let (own, others): (Vec<_>, Vec<_>) = std::mem::take(&mut self.batch.pending)
            .into_iter()
            .partition(|p| p.job == job);
        self.insert_in_transaction(begin, others, "SAVEPOINT job")?;
        self.batch.savepoint = true;
        // Inside the job's savepoint: if they fail, the job fails alone,
        // with their error, even if it went on as if they had not.
        if !own.is_empty() {
            match transactions::insert_rows(self, &own) {
                Ok(()) => self.batch.learn_rows(&own),
                Err(error) => {
                    self.batch.rejected.push((job, error));
                    return Err(StoreError::CommitFailed(
                        "a transaction this write stored was refused".into(),
                    ));
                }
            }
        }
        Ok(())
    }

    /// Ends the running job: its savepoint released, or rolled back with
    /// its deferred rows dropped if it failed. `Err` if the batch's
    /// transaction cannot go on (a statement of the job failed outside any
    /// savepoint, or the connection is gone).
    pub(crate) fn end_job(&mut self, succeeded: bool) -> Result<(), StoreError> {
        let job = self.batch.job;
        if !succeeded {
            self.batch.pending.retain(|p| p.job != job);
        }
        match (self.batch.savepoint, succeeded) {
            (true, true) => self.client().batch_execute("RELEASE job")?,
            (true, false) => {
                // What it inserted and the batch learnt is undone with it.
                self.batch.known.clear();
                self.client()
                    .batch_execute("ROLLBACK TO job; RELEASE job")?
            }
            // A lookup that failed inside the transaction left it aborted;
            // a failure of the job's own (a bad value) did not. Ask.
            (false, false) if self.batch.open => self
                .client()
                .batch_execute("SAVEPOINT probe; RELEASE probe")?,
            (false, _) => {}
        }
        self.batch.savepoint = false;
        Ok(())
    }

    /// Inserts what is still deferred and commits the batch; the jobs whose
    /// rows were refused, with why. `Err` if the batch as a whole failed:
    /// nothing of it is committed then.
    pub(crate) fn commit_batch(&mut self) -> Result<Vec<(usize, StoreError)>, StoreError> {
        let pending = std::mem::take(&mut self.batch.pending);
        if self.batch.open {
            self.insert_in_transaction("", pending, "COMMIT")?;
        } else if !pending.is_empty() && transactions::insert_rows(self, &pending).is_err() {
            // Nothing of the insert stands: row by row, in one transaction.
            self.client().batch_execute("BEGIN")?;
            self.batch.open = true;
            self.insert_one_by_one(pending)?;
            self.client().batch_execute("COMMIT")?;
        }
        let rejected = std::mem::take(&mut self.batch.rejected);
        self.end_batch();
        Ok(rejected)
    }

    /// Leaves batch mode after a failed batch (the writer rolls back).
    pub(crate) fn end_batch(&mut self) {
        self.batch = Batch::default();
    }

    /// Inserts `rows` inside the transaction: all at once under a
    /// savepoint, or one by one if that fails. `before` and `after` are
    /// simple statements to run first and last, sent in the same message
    /// as the savepoint's control.
    fn insert_in_transaction(
        &mut self,
        before: &str,
        rows: Vec<Pending>,
        after: &str,
    ) -> Result<(), StoreError> {
        if rows.is_empty() {
            self.client().batch_execute(&format!("{before}{after}"))?;
            return Ok(());
        }
        self.client()
            .batch_execute(&format!("{before}SAVEPOINT rows"))?;
        match transactions::insert_rows(self, &rows) {
            Ok(()) => {
                self.batch.learn_rows(&rows);
                self.client()
                    .batch_execute(&format!("RELEASE rows; {after}"))?;
            }
            Err(_) => {
                self.client()
                    .batch_execute("ROLLBACK TO rows; RELEASE rows")?;
                self.insert_one_by_one(rows)?;
                self.client().batch_execute(after)?;
            }
        }
        Ok(())
    }

    /// Inserts `rows` one by one inside the open transaction, each under a
    /// savepoint; a row refused is its job's error.
    fn insert_one_by_one(&mut self, rows: Vec<Pending>) -> Result<(), StoreError> {
        for pending in rows {
            self.client().batch_execute("SAVEPOINT rows")?;
            match transactions::insert_rows(self, std::slice::from_ref(&pending)) {
                Ok(()) => {
                    self.batch.learn_rows(std::slice::from_ref(&pending));
                    self.client().batch_execute("RELEASE rows")?;
                }
                Err(error) => {
                    self.client()
                        .batch_execute("ROLLBACK TO rows; RELEASE rows")?;
                    self.batch.rejected.push((pending.job, error));
                }
            }
        }
        Ok(())
    }
}
