//! Which store backend the kit's stores and servers run on. By default
//! SQLite, in each test's data folder. With `MPOS_TEST_PG` set to the URL
//! of a running PostgreSQL cluster (`scripts/test-postgres.sh start`
//! prints one; `scripts/test-all.sh` runs the suites a second time so), every
//! data folder gets a schema of its own in that cluster's `mpos_tests`
//! database, and everything the kit opens on that folder — the in-process
//! application ([`crate::app`]), `mpos serve` and `mpos admin`
//! ([`crate::server`]) — uses it through `[store] url`. So the same test
//! runs on both backends, unchanged.
//!
//! A schema per folder rather than a database: creating a database copies
//! its template (megabytes, and a lock that serialises them), a schema is a
//! few rows of catalogue.

use mpos_store::{Location, PostgresUrl};
use std::collections::HashSet;
use std::collections::hash_map::DefaultHasher;
use std::hash::{Hash, Hasher};
use std::path::Path;
use std::sync::Mutex;

/// The environment variable naming the cluster: a `postgres://` URL
/// without a database (`postgres://mpos@127.0.0.1:5544`).
pub const ENV: &str = "MPOS_TEST_PG";

/// The database, inside the cluster, that holds the tests' schemas.
const DATABASE: &str = "mpos_tests";

/// Schemas created by this process already.
static CREATED: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// The cluster's URL when the tests run on PostgreSQL.
pub fn postgres_cluster() -> Option<String> {
    std::env::var(ENV)
        .ok()
        .map(|url| url.trim_end_matches('/').to_owned())
        .filter(|url| !url.is_empty())
}

/// Whether the tests run on PostgreSQL.
pub fn is_postgres() -> bool {
    postgres_cluster().is_some()
}

/// The schema of a data folder: a hash of its absolute path.
fn schema_of(data_dir: &Path) -> String {
    let path = std::path::absolute(data_dir).unwrap_or_else(|_| data_dir.to_owned());
    let mut hasher = DefaultHasher::new();
    path.hash(&mut hasher);
    format!("t{:016x}", hasher.finish())
}

/// The `[store] url` for `data_dir`: `None` on SQLite; on PostgreSQL the
/// folder's own schema, created on first use.
pub fn store_url(data_dir: &Path) -> Option<String> {
    let cluster = postgres_cluster()?;
    let schema = schema_of(data_dir);
    let mut created = CREATED.lock().unwrap_or_else(|p| p.into_inner());
    let created = created.get_or_insert_with(HashSet::new);
    if !created.contains(&schema) {
        // On a thread of its own: the synchronous client refuses to run on
        // a thread that runs async tasks, as a #[tokio::test]'s does.
        std::thread::scope(|scope| {
            scope
                .spawn(|| create_schema(&cluster, &schema))
                .join()
                .expect("the schema is created")
        });
        created.insert(schema.clone());
    }
    Some(format!(
        "{cluster}/{DATABASE}?options=-c%20search_path%3D{schema}"
    ))
}

/// Creates the tests' database (once per cluster) and `schema` in it.
fn create_schema(cluster: &str, schema: &str) {
    let connect = |database: &str| {
        postgres::Client::connect(&format!("{cluster}/{database}"), postgres::NoTls)
            .unwrap_or_else(|e| panic!("{ENV}={cluster}: cannot connect to {database}: {e}"))
    };
    let mut tests =
        match postgres::Client::connect(&format!("{cluster}/{DATABASE}"), postgres::NoTls) {
            Ok(client) => client,
            Err(_) => {
                // Several test processes may race to create it: the loser's
                // error is "already exists", which is as good.
                let _ = connect("postgres").batch_execute(&format!("CREATE DATABASE {DATABASE}"));
                connect(DATABASE)
            }
        };
    tests
        .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .unwrap_or_else(|e| panic!("schema {schema} is created: {e}"));
}

/// Where the store of `data_dir` is, on the backend the tests run on.
pub fn location(data_dir: &Path) -> Location {
    match store_url(data_dir) {
        Some(url) => Location::Postgres(PostgresUrl::parse(&url).expect("the kit's URL parses")),
        None => Location::Sqlite(data_dir.join("mpos.db")),
    }
}

/// Whether a test about SQLite itself (its file, its `-wal`/`-shm` modes,
/// a full disk by a page or file-size limit) must pass over this run,
/// which is on PostgreSQL. It then says so on stderr, with `why`, so that
/// the pass-over shows: `if backend::sqlite_only("test", "SQLite's own
/// file") { return; }`.
pub fn sqlite_only(test: &str, why: &str) -> bool {
    let postgres = is_postgres();
    if postgres {
        eprintln!("{test}: {why}, not run on PostgreSQL");
    }
    postgres
}
