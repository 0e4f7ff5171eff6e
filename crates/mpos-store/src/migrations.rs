//! The schema, as numbered migrations compiled into the binary. `PRAGMA
//! user_version` records how many have been applied; opening a database
//! applies the rest, each in its own transaction, so a database of any
//! earlier version (or an empty file) comes up to date.

use crate::error::StoreError;
use rusqlite::Connection;

/// Each entry is one migration; never edit one that has shipped, add another.
const MIGRATIONS: &[&str] = &[
    // 1: the initial schema.
    r#"
CREATE TABLE merchants (
    id            TEXT PRIMARY KEY,              -- DE 42, 15 characters
    name          TEXT NOT NULL,
    email         TEXT NOT NULL UNIQUE COLLATE NOCASE,
    password_hash TEXT NOT NULL,                 -- PBKDF2-HMAC-SHA256, salted
    created_at    INTEGER NOT NULL               -- Unix milliseconds, UTC
) STRICT;

CREATE TABLE devices (
    serial              TEXT PRIMARY KEY,        -- DE 62, the card reader's number
    merchant_id         TEXT NOT NULL REFERENCES merchants(id),
    state               TEXT NOT NULL CHECK (state IN ('active', 'blocked')),
    app_password_hash   TEXT NOT NULL,
    -- Bumped when the app password changes: sign-ons made with an older
    -- version are revoked (answered 63).
    credentials_version INTEGER NOT NULL DEFAULT 1,
    last_sign_on_at     INTEGER,
    created_at          INTEGER NOT NULL
) STRICT;
CREATE INDEX devices_by_merchant ON devices(merchant_id, serial);

CREATE TABLE virtual_terminals (
    id                 TEXT PRIMARY KEY,         -- DE 41
    merchant_id        TEXT NOT NULL REFERENCES merchants(id),
    name               TEXT NOT NULL,
    kind               TEXT NOT NULL CHECK (kind IN ('standard', 'installment', 'bonus')),
    installment_months INTEGER CHECK ((kind = 'installment') = (installment_months IS NOT NULL)),
    currency           INTEGER NOT NULL,         -- ISO 4217 numeric
    limit_minor        INTEGER CHECK (limit_minor IS NULL OR limit_minor > 0),
    active             INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX virtual_terminals_by_merchant ON virtual_terminals(merchant_id, id);

-- Every 0200 and 0400 that got past sign-on, approved or declined. Card data
-- only as the masked PAN and a keyed hash; never the PAN, track 2, PIN or ICC.
CREATE TABLE transactions (
    id                INTEGER PRIMARY KEY,
    mti               TEXT NOT NULL CHECK (mti IN ('0200', '0400')),
    kind              TEXT NOT NULL CHECK (kind IN ('purchase', 'refund', 'reversal')),
    device_serial     TEXT NOT NULL REFERENCES devices(serial),
    merchant_id       TEXT NOT NULL REFERENCES merchants(id),  -- the device's merchant
    vt_id             TEXT NOT NULL,             -- DE 41 as received
    stan              TEXT NOT NULL,             -- DE 11
    transmission_time TEXT NOT NULL,             -- DE 7, MMDDhhmmss UTC
    local_time        TEXT,                      -- DE 12
    local_date        TEXT,                      -- DE 13
    pos_entry_mode    TEXT,                      -- DE 22
    processing_code   TEXT NOT NULL,             -- DE 3
    amount_minor      INTEGER NOT NULL CHECK (amount_minor >= 0),
    currency          INTEGER NOT NULL,          -- DE 49
    masked_pan        TEXT,
    pan_hash          BLOB,
    rrn               TEXT UNIQUE,               -- DE 37 assigned on approval
    auth_code         TEXT,                      -- DE 38
    response_code     TEXT NOT NULL,             -- DE 39
    business_day      TEXT NOT NULL,             -- YYYY-MM-DD, fixed when stored
    received_at       INTEGER NOT NULL,          -- Unix milliseconds, UTC
    original_id       INTEGER REFERENCES transactions(id),  -- refund → purchase, reversal → reversed
    original_rrn      TEXT,                      -- a refund's DE 37 as received
    original_data     TEXT,                      -- a reversal's DE 90
    reversed          INTEGER NOT NULL DEFAULT 0 CHECK (reversed IN (0, 1)),
    fingerprint       BLOB NOT NULL,             -- hash of the request, tells replay from 94
    response          BLOB NOT NULL,             -- the response sent, replayed to retransmissions
    UNIQUE (device_serial, mti, stan, transmission_time)
) STRICT;
-- The cabinet's history: one merchant, a range of business days, newest first.
CREATE INDEX transactions_history ON transactions(merchant_id, business_day, id);
CREATE INDEX transactions_by_original ON transactions(original_id) WHERE original_id IS NOT NULL;

CREATE TABLE cabinet_sessions (
    token_hash   BLOB PRIMARY KEY,               -- SHA-256 of the cookie's token
    merchant_id  TEXT NOT NULL REFERENCES merchants(id),
    csrf_token   TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL
) STRICT, WITHOUT ROWID;
CREATE INDEX cabinet_sessions_by_merchant ON cabinet_sessions(merchant_id);

CREATE TABLE password_reset_tokens (
    token_hash  BLOB PRIMARY KEY,                -- SHA-256 of the e-mailed token
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    used_at     INTEGER
) STRICT, WITHOUT ROWID;
CREATE INDEX password_reset_tokens_by_merchant ON password_reset_tokens(merchant_id);

CREATE TABLE login_attempts (
    id        INTEGER PRIMARY KEY,
    email     TEXT NOT NULL COLLATE NOCASE,
    at        INTEGER NOT NULL,
    succeeded INTEGER NOT NULL CHECK (succeeded IN (0, 1))
) STRICT;
CREATE INDEX login_attempts_by_email ON login_attempts(email, at);

-- Who changed what: device blocked, passwords changed, provisioning.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    actor       TEXT NOT NULL,                   -- 'operator', 'merchant:<id>', 'system'
    merchant_id TEXT,
    action      TEXT NOT NULL,
    subject     TEXT,
    detail      TEXT
) STRICT;
CREATE INDEX audit_log_by_merchant ON audit_log(merchant_id, at);

-- Bumped by every change the host's in-memory directory depends on, so that
-- a change made by another process is seen by polling one row.
CREATE TABLE directory_version (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL
) STRICT;
INSERT INTO directory_version (id, version) VALUES (1, 0);

CREATE TRIGGER devices_inserted AFTER INSERT ON devices
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER devices_changed AFTER UPDATE OF merchant_id, state, app_password_hash, credentials_version ON devices
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER devices_deleted AFTER DELETE ON devices
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER virtual_terminals_inserted AFTER INSERT ON virtual_terminals
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER virtual_terminals_changed AFTER UPDATE ON virtual_terminals
BEGIN UPDATE directory_version SET version = version + 1; END;
CREATE TRIGGER virtual_terminals_deleted AFTER DELETE ON virtual_terminals
BEGIN UPDATE directory_version SET version = version + 1; END;
"#,
    // 2: the cabinet's daily totals, kept by triggers in the same commit as
    // the transactions they count, so that the history's business-day view,
    // its chart and its page count read a few rows per day instead of every
    // transaction of the period.
    r#"
CREATE TABLE daily_totals (
    merchant_id    TEXT NOT NULL,
    business_day   TEXT NOT NULL,
    vt_id          TEXT NOT NULL,
    device_serial  TEXT NOT NULL,
    currency       INTEGER NOT NULL,
    rows_count     INTEGER NOT NULL DEFAULT 0,   -- every 0200 stored, declines included
    payments_count INTEGER NOT NULL DEFAULT 0,   -- approved, unreversed purchases
    payments_minor INTEGER NOT NULL DEFAULT 0,
    refunds_count  INTEGER NOT NULL DEFAULT 0,   -- approved, unreversed refunds
    refunds_minor  INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (merchant_id, business_day, vt_id, device_serial, currency)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER daily_totals_on_insert AFTER INSERT ON transactions WHEN NEW.mti = '0200'
BEGIN
    INSERT INTO daily_totals (merchant_id, business_day, vt_id, device_serial, currency,
        rows_count, payments_count, payments_minor, refunds_count, refunds_minor)
    VALUES (NEW.merchant_id, NEW.business_day, NEW.vt_id, NEW.device_serial, NEW.currency, 1,
        NEW.kind = 'purchase' AND NEW.response_code = '00' AND NEW.reversed = 0,
        iif(NEW.kind = 'purchase' AND NEW.response_code = '00' AND NEW.reversed = 0, NEW.amount_minor, 0),
        NEW.kind = 'refund' AND NEW.response_code = '00' AND NEW.reversed = 0,
        iif(NEW.kind = 'refund' AND NEW.response_code = '00' AND NEW.reversed = 0, NEW.amount_minor, 0))
    ON CONFLICT DO UPDATE SET
        rows_count = rows_count + 1,
        payments_count = payments_count + excluded.payments_count,
        payments_minor = payments_minor + excluded.payments_minor,
        refunds_count = refunds_count + excluded.refunds_count,
        refunds_minor = refunds_minor + excluded.refunds_minor;
END;

-- A reversal (or any later change of what counts) moves the totals by the
-- difference between the row's old and new contribution.
CREATE TRIGGER daily_totals_on_update
AFTER UPDATE OF reversed, response_code, amount_minor, kind ON transactions WHEN NEW.mti = '0200'
BEGIN
    UPDATE daily_totals SET
        payments_count = payments_count
            - (OLD.kind = 'purchase' AND OLD.response_code = '00' AND OLD.reversed = 0)
            + (NEW.kind = 'purchase' AND NEW.response_code = '00' AND NEW.reversed = 0),
        payments_minor = payments_minor
            - iif(OLD.kind = 'purchase' AND OLD.response_code = '00' AND OLD.reversed = 0, OLD.amount_minor, 0)
            + iif(NEW.kind = 'purchase' AND NEW.response_code = '00' AND NEW.reversed = 0, NEW.amount_minor, 0),
        refunds_count = refunds_count
            - (OLD.kind = 'refund' AND OLD.response_code = '00' AND OLD.reversed = 0)
            + (NEW.kind = 'refund' AND NEW.response_code = '00' AND NEW.reversed = 0),
        refunds_minor = refunds_minor
            - iif(OLD.kind = 'refund' AND OLD.response_code = '00' AND OLD.reversed = 0, OLD.amount_minor, 0)
            + iif(NEW.kind = 'refund' AND NEW.response_code = '00' AND NEW.reversed = 0, NEW.amount_minor, 0)
    WHERE merchant_id = NEW.merchant_id AND business_day = NEW.business_day
      AND vt_id = NEW.vt_id AND device_serial = NEW.device_serial AND currency = NEW.currency;
END;

INSERT INTO daily_totals (merchant_id, business_day, vt_id, device_serial, currency,
    rows_count, payments_count, payments_minor, refunds_count, refunds_minor)
SELECT merchant_id, business_day, vt_id, device_serial, currency, count(*),
    sum(kind = 'purchase' AND response_code = '00' AND reversed = 0),
    sum(iif(kind = 'purchase' AND response_code = '00' AND reversed = 0, amount_minor, 0)),
    sum(kind = 'refund' AND response_code = '00' AND reversed = 0),
    sum(iif(kind = 'refund' AND response_code = '00' AND reversed = 0, amount_minor, 0))
FROM transactions WHERE mti = '0200'
GROUP BY merchant_id, business_day, vt_id, device_serial, currency;
"#,
    // 3: the history's index carries the columns its filters test. With only
    // (merchant_id, business_day, id), a page filtered to a reader or a
    // terminal that sees little use read the table row of every transaction
    // in the days it spans (a year, for a reader used a few times a week):
    // 133 ms on a merchant with a million transactions. Testing mti,
    // device_serial and vt_id in the index leaves the table to the rows
    // shown. It replaces the old index rather than adding one, so the host
    // still maintains the same number of indexes per insert.
    r#"
CREATE INDEX transactions_history_filters
    ON transactions(merchant_id, business_day, id, mti, device_serial, vt_id);
DROP INDEX transactions_history;
"#,
    // 4: sign-on tickets (host interface, section 4). One per device: issuing
    // a ticket replaces the row, which voids the one before. Only the ticket's
    // SHA-256 is kept.
    r#"
CREATE TABLE sign_on_tickets (
    device_serial TEXT PRIMARY KEY REFERENCES devices(serial),
    ticket_hash   BLOB NOT NULL CHECK (length(ticket_hash) = 32),
    issued_at     INTEGER NOT NULL,   -- Unix milliseconds, UTC
    expires_at    INTEGER NOT NULL
) STRICT;
"#,
    // 5: failed password sign-ons per DE 62 value, for the lockout (host
    // interface, section 4). Serials that do not exist are counted alike, so
    // no reference to devices.
    r#"
CREATE TABLE sign_on_failures (
    id     INTEGER PRIMARY KEY,
    serial TEXT NOT NULL,
    at     INTEGER NOT NULL               -- Unix milliseconds, UTC
) STRICT;
CREATE INDEX sign_on_failures_by_serial ON sign_on_failures(serial, at);
"#,
    // 6: one row the readiness probe rewrites, to learn whether the store
    // can commit when nothing else was committed lately (deployment.md,
    // section 5).
    r#"
CREATE TABLE readiness_probe (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    at INTEGER NOT NULL                   -- Unix milliseconds, UTC
) STRICT;
INSERT INTO readiness_probe (id, at) VALUES (1, 0);
"#,
    // 7: the upstream mode (upstream-interface.md). A 0200 the card
    // processor decides is stored before it is forwarded, as pending: its
    // response code is 91 and its stored answer the 91 one, so a crash
    // leaves exactly what the spec wants of it (a 91, and a reversal advice
    // queued at the next start). Its link STAN and DE 7 name it in the
    // advice's DE 90. No index on the pending flag: only the start looks
    // them all up, and the host's inserts keep maintaining as many indexes
    // as before.
    //
    // Reversal advices (0420/0421) wait in their own table, in queue order,
    // until the processor acknowledges one with a 0430.
    r#"
ALTER TABLE transactions ADD COLUMN upstream_pending INTEGER NOT NULL DEFAULT 0
    CHECK (upstream_pending IN (0, 1));
ALTER TABLE transactions ADD COLUMN upstream_stan TEXT;   -- DE 11 on the link
ALTER TABLE transactions ADD COLUMN upstream_time TEXT;   -- DE 7 on the link

CREATE TABLE reversal_advices (
    id              INTEGER PRIMARY KEY,      -- queue order
    transaction_id  INTEGER NOT NULL REFERENCES transactions(id),
    reason          TEXT NOT NULL CHECK (reason IN ('68', '17')),
    tries           INTEGER NOT NULL DEFAULT 0,  -- 0: the next is a 0420, then 0421s
    queued_at       INTEGER NOT NULL,         -- Unix milliseconds, UTC
    last_try_at     INTEGER,
    acknowledged_at INTEGER                   -- the 0430 came: off the queue
) STRICT;
CREATE INDEX reversal_advices_queued ON reversal_advices(id) WHERE acknowledged_at IS NULL;
"#,
    // 8: the pending rows, found without a scan: the host looks for rows
    // whose outcome could not be committed every few seconds, not only at
    // start. Partial, so only pending rows have an entry: a simulator-mode
    // insert adds none, an upstream one adds it and its settling removes it.
    r#"
CREATE INDEX transactions_pending ON transactions(received_at) WHERE upstream_pending = 1;
"#,
    // 9: what the database remembers about its hosts: the fingerprint of
    // the PAN hash key it was first used with, so that a host with another
    // key (whose card hashes no other host would match) refuses to serve.
    r#"
CREATE TABLE store_identity (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    pan_key_fingerprint TEXT NOT NULL
) STRICT;
"#,
    // 10: on PostgreSQL the daily totals are counted once per statement
    // and a reader's history has an index of its own (`migrations_pg`,
    // entry 10). SQLite has no statement triggers with the rows they
    // inserted, and its one writer inserts row by row: its row trigger
    // stays. Its planner reads a reader's rare rows of a day from the
    // history index fast enough (16 ms for the rarest reader's page,
    // BENCHMARKS.md), so its inserts keep one index fewer; this entry only
    // keeps the numbers alike.
    r#"
SELECT 1;
"#,
    // 11: which host took a reversal advice for its last try (its store's
    // instance), so that several hosts running the queue leave a head
    // another is trying to it. One SQLite file has one host; the column
    // keeps the schemas alike.
    r#"
ALTER TABLE reversal_advices ADD COLUMN claimed_by TEXT;
"#,
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// Brings the database up to [`SCHEMA_VERSION`]. Refuses a database written
/// by a newer build rather than guess at its schema.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    let current: u32 = conn.query_row("PRAGMA user_version", [], |row| row.get(0))?;
    if current > SCHEMA_VERSION {
        return Err(StoreError::SchemaTooNew {
            found: current,
            supported: SCHEMA_VERSION,
        });
    }
    for (index, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = index as u32 + 1;
        let tx = conn.transaction()?;
        tx.execute_batch(sql)
            .and_then(|()| tx.pragma_update(None, "user_version", version))
            .map_err(|source| StoreError::Migration {
                version,
                source: source.into(),
            })?;
        tx.commit().map_err(|source| StoreError::Migration {
            version,
            source: source.into(),
        })?;
    }
    Ok(())
}

/// Brings a PostgreSQL database up to [`SCHEMA_VERSION`], under an
/// advisory lock so that hosts starting together apply each migration once.
pub(crate) fn migrate_postgres(conn: &mut crate::pg::PgConn) -> Result<(), StoreError> {
    use crate::migrations_pg::MigrateError;
    crate::migrations_pg::migrate(conn.client()).map_err(|error| match error {
        MigrateError::Statement { version, source } => StoreError::Migration {
            version,
            source: source.into(),
        },
        MigrateError::TooNew { found, supported } => StoreError::SchemaTooNew { found, supported },
        // Taking the lock or keeping the version: the schema's bookkeeping,
        // counted as migration 0.
        MigrateError::Lock(source) | MigrateError::Version(source) => StoreError::Migration {
            version: 0,
            source: source.into(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_database_comes_up_to_date_and_stays_there() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn).unwrap();
        let version: u32 = conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(version, SCHEMA_VERSION);
        migrate(&mut conn).unwrap();
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(
            tables, 15,
            "ten, then sign-on tickets (4), failures (5), the readiness probe (6), reversal advices (7), the store's identity (9)"
        );
        let indexes: Vec<String> = conn
            .prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'transactions' AND sql IS NOT NULL ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            indexes,
            [
                "transactions_by_original",
                "transactions_history_filters",
                "transactions_pending"
            ],
            "the history's index replaced; the pending rows' index is partial: only \
             pending rows have an entry, so a settled or simulator-mode insert maintains \
             as many as before"
        );
    }

    #[test]
    fn the_daily_totals_are_backfilled_from_existing_transactions() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute_batch(
            "INSERT INTO merchants VALUES ('M', 'n', 'e@x.by', 'h', 0);
             INSERT INTO devices (serial, merchant_id, state, app_password_hash, created_at)
                 VALUES ('D', 'M', 'active', 'h', 0);
             INSERT INTO transactions (mti, kind, device_serial, merchant_id, vt_id, stan,
                 transmission_time, processing_code, amount_minor, currency, response_code,
                 business_day, received_at, reversed, fingerprint, response)
             VALUES ('0200', 'purchase', 'D', 'M', 'V', '1', 't', '000000', 500, 933, '00', '2026-11-25', 0, 0, x'', x''),
                    ('0200', 'purchase', 'D', 'M', 'V', '2', 't', '000000', 900, 933, '00', '2026-11-25', 0, 1, x'', x''),
                    ('0200', 'refund', 'D', 'M', 'V', '3', 't', '200000', 200, 933, '00', '2026-11-25', 0, 0, x'', x''),
                    ('0200', 'purchase', 'D', 'M', 'V', '4', 't', '000000', 300, 933, '51', '2026-11-25', 0, 0, x'', x''),
                    ('0400', 'reversal', 'D', 'M', 'V', '5', 't', '000000', 900, 933, '00', '2026-11-25', 0, 0, x'', x'');",
        )
        .unwrap();
        migrate(&mut conn).unwrap();
        let totals: (i64, i64, i64, i64, i64) = conn
            .query_row(
                "SELECT rows_count, payments_count, payments_minor, refunds_count, refunds_minor
                 FROM daily_totals",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .unwrap();
        assert_eq!(totals, (4, 1, 500, 1, 200));
    }

    #[test]
    fn a_newer_schema_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        conn.pragma_update(None, "user_version", SCHEMA_VERSION + 1)
            .unwrap();
        assert!(matches!(
            migrate(&mut conn),
            Err(StoreError::SchemaTooNew { .. })
        ));
    }
}
