//! `mpos admin` as an operator uses it: the real binary on a fresh data
//! folder, output read back, the database checked afterwards.

use mpos_store::ops::audit;
use mpos_store::{Store, StoreOptions};
use std::path::Path;
use std::process::{Command, Output};

fn admin(data_dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_mpos"))
        .arg("admin")
        .arg("--data-dir")
        .arg(data_dir)
        .args(args)
        .env_remove("MPOS_DATA_DIR")
        .output()
        .expect("mpos runs")
}

fn ok(out: Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

fn failed(out: Output) -> String {
    assert_eq!(
        out.status.code(),
        Some(1),
        "must fail: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8(out.stderr).expect("UTF-8 stderr");
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    err
}

fn fixture(name: &str) -> String {
    format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn loading_the_demo_twice_provisions_it_once() {
    let dir = tempfile::tempdir().unwrap();
    let first = ok(admin(dir.path(), &["load", &fixture("demo.toml")]));
    assert!(
        first.contains("2 merchant(s), 3 device(s), 4 virtual terminal(s) added"),
        "{first}"
    );
    let second = ok(admin(dir.path(), &["load", &fixture("demo.toml")]));
    assert!(
        second
            .contains("0 merchant(s), 0 device(s), 0 virtual terminal(s) added; 9 already present"),
        "{second}"
    );

    let merchants = ok(admin(dir.path(), &["merchant", "list"]));
    assert!(
        merchants.contains("MTB000000000001  demo@merchant.test    ООО «Ромашка»"),
        "{merchants}"
    );
    let terminals = ok(admin(
        dir.path(),
        &["terminal", "list", "--merchant", "MTB000000000001"],
    ));
    assert!(
        terminals.contains("10000002  MTB000000000001  installment 3 mo.  933       500000"),
        "{terminals}"
    );
    assert!(
        !terminals.contains("20000001"),
        "another merchant's terminal is not listed"
    );
}

#[test]
fn the_load_fixture_has_256_devices_sharing_one_password() {
    let dir = tempfile::tempdir().unwrap();
    ok(admin(dir.path(), &["load", &fixture("load.toml")]));
    let devices = ok(admin(
        dir.path(),
        &["device", "list", "--merchant", "MTBLOAD00000001"],
    ));
    assert_eq!(devices.lines().count(), 257, "header and 256 devices");
    assert!(devices.contains("LOAD-0001") && devices.contains("LOAD-0256"));
    let store = Store::open(&dir.path().join("mpos.db"), &StoreOptions::default()).unwrap();
    let terminal = store.directory().terminal("90000001").unwrap();
    assert_eq!((terminal.currency, terminal.limit_minor), (933, None));
}

#[test]
fn device_commands_change_state_and_leave_an_audit_trail() {
    let dir = tempfile::tempdir().unwrap();
    ok(admin(dir.path(), &["load", &fixture("demo.toml")]));
    assert_eq!(
        ok(admin(dir.path(), &["device", "block", "MPOS-0002"])),
        "Device MPOS-0002 is now blocked.\n"
    );
    assert_eq!(
        ok(admin(dir.path(), &["device", "block", "MPOS-0002"])),
        "Device MPOS-0002 was already blocked.\n"
    );
    let list = ok(admin(dir.path(), &["device", "list"]));
    assert!(
        list.contains("MPOS-0002  MTB000000000001  blocked"),
        "{list}"
    );
    ok(admin(dir.path(), &["device", "unblock", "MPOS-0002"]));
    ok(admin(
        dir.path(),
        &[
            "device",
            "set-password",
            "MPOS-0001",
            "--password",
            "new-app-pass",
        ],
    ));
    ok(admin(
        dir.path(),
        &[
            "device",
            "add",
            "--serial",
            "MPOS-0003",
            "--merchant",
            "MTB000000000001",
            "--password",
            "app-pass-3",
        ],
    ));
    ok(admin(
        dir.path(),
        &[
            "terminal",
            "add",
            "--id",
            "10000004",
            "--merchant",
            "MTB000000000001",
            "--name",
            "Рассрочка 6 мес.",
            "--kind",
            "installment",
            "--months",
            "6",
        ],
    ));
    ok(admin(
        dir.path(),
        &[
            "merchant",
            "add",
            "--id",
            "MTB000000000003",
            "--name",
            "Третий",
            "--email",
            "third@merchant.test",
            "--password",
            "third-password-3",
        ],
    ));

    let store = Store::open(&dir.path().join("mpos.db"), &StoreOptions::default()).unwrap();
    let actions: Vec<String> = store
        .read(|conn| audit::recent(conn, None, 100))
        .unwrap()
        .into_iter()
        .filter(|e| e.actor == "operator")
        .map(|e| format!("{} {}", e.action, e.subject.unwrap_or_default()))
        .collect();
    for expected in [
        "device.blocked MPOS-0002",
        "device.unblocked MPOS-0002",
        "device.app_password_changed MPOS-0001",
        "device.added MPOS-0003",
        "terminal.added 10000004",
        "merchant.added MTB000000000003",
    ] {
        assert!(
            actions.iter().any(|a| a == expected),
            "{expected} in {actions:?}"
        );
    }
    let device = store.directory().device("MPOS-0001").unwrap();
    assert!(
        device
            .app_password_hash
            .starts_with("pbkdf2-sha256$600000$"),
        "only a slow salted hash is stored"
    );
}

#[test]
fn mistakes_get_one_line_saying_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    ok(admin(dir.path(), &["load", &fixture("demo.toml")]));
    assert!(
        failed(admin(dir.path(), &["device", "block", "NOPE"]))
            .contains("no device NOPE (see `mpos admin device list`)")
    );
    assert!(
        failed(admin(
            dir.path(),
            &[
                "device",
                "add",
                "--serial",
                "X-1",
                "--merchant",
                "MTB000000000009",
                "--password",
                "pw"
            ]
        ))
        .contains("no merchant MTB000000000009")
    );
    assert!(
        failed(admin(
            dir.path(),
            &[
                "merchant",
                "add",
                "--id",
                "MTB000000000003",
                "--name",
                "X",
                "--email",
                "DEMO@merchant.test",
                "--password",
                "long-enough-1"
            ]
        ))
        .contains("already belongs to another merchant")
    );
    assert!(
        failed(admin(
            dir.path(),
            &[
                "merchant",
                "add",
                "--id",
                "MTB000000000001",
                "--name",
                "X",
                "--email",
                "x@merchant.test",
                "--password",
                "long-enough-1"
            ]
        ))
        .contains("exists already")
    );
    assert!(
        failed(admin(
            dir.path(),
            &[
                "merchant",
                "add",
                "--id",
                "MTB000000000004",
                "--name",
                "X",
                "--email",
                "y@merchant.test",
                "--password",
                "short"
            ]
        ))
        .contains("at least 10")
    );
    assert!(
        failed(admin(dir.path(), &["load", "/nonexistent.toml"]))
            .contains("cannot read /nonexistent.toml")
    );
}

#[test]
fn the_first_use_creates_a_private_data_folder_and_pan_key() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("fresh");
    ok(admin(&data, &["merchant", "list"]));
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&data), 0o700);
    assert_eq!(mode(&data.join("pan-hash.key")), 0o600);
    let key = std::fs::read_to_string(data.join("pan-hash.key")).unwrap();
    ok(admin(&data, &["merchant", "list"]));
    assert_eq!(
        std::fs::read_to_string(data.join("pan-hash.key")).unwrap(),
        key,
        "kept, not regenerated"
    );
}
