//! The data folder is its owner's only (deployment.md, section 4): after
//! `mpos serve` ran, took a payment and wrote a recovery e-mail into the
//! outbox, every folder is 0700 and every file 0600; `mpos admin` creates
//! the same, and tightens a folder an older version left readable.

use mpos_testkit::server::{Mpos, modes_under};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::{Duration, Instant};

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

/// Every entry under `dir` is private: folders 0700, files 0600.
fn assert_private(dir: &Path) {
    for (path, mode, folder) in modes_under(dir) {
        let wanted = if folder { 0o700 } else { 0o600 };
        assert_eq!(
            mode,
            wanted,
            "{} is {mode:o}, expected {wanted:o}",
            path.display()
        );
    }
}

#[test]
fn everything_serve_creates_is_its_owners_only() {
    let server = MPOS.serve();
    let mut client = server.signed_on("MPOS-0001", "app-pass-1");
    assert_eq!(client.pay(1, 1_000), "00");
    let answer = server.cabinet_forgot("demo@merchant.test");
    assert!(
        answer.status < 400,
        "forgot: {} {}",
        answer.status,
        answer.body
    );
    let outbox = server.data_dir().join("outbox");
    let started = Instant::now();
    let has_mail = || {
        std::fs::read_dir(&outbox).is_ok_and(|entries| {
            entries
                .filter_map(Result::ok)
                .any(|e| e.path().extension().is_some_and(|x| x == "eml"))
        })
    };
    while !has_mail() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "a recovery e-mail in the outbox"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let names: Vec<String> = modes_under(server.data_dir())
        .iter()
        .filter_map(|(path, _, _)| Some(path.file_name()?.to_string_lossy().into_owned()))
        .collect();
    for expected in ["mpos.db", "mpos.db-wal", "mpos.db-shm", "pan-hash.key"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} in {names:?}"
        );
    }
    assert_private(server.data_dir());
}

#[test]
fn admin_creates_private_files_and_tightens_an_old_folder() {
    let parent = tempfile::tempdir().expect("temp dir");
    // A folder mpos creates itself (the temporary one is the test's).
    let data = parent.path().join("data");
    let list = |expect_warning: bool| {
        let out = MPOS.admin(&data, &["merchant", "list"]);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(out.status.success(), "{stderr}");
        assert_eq!(stderr.contains("warning"), expect_warning, "{stderr}");
        stderr
    };
    list(false);
    assert_private(&data);

    // As an older version left it: readable by everyone.
    let open = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    open(&data, 0o755);
    open(&data.join("mpos.db"), 0o644);
    let stderr = list(true);
    assert!(
        stderr.contains("mpos.db"),
        "names what it tightened: {stderr}"
    );
    assert_private(&data);
}
