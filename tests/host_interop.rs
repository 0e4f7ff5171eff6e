//! Interoperability: an independent client built on the pyiso8583 package
//! (tests/interop/pyiso8583_client.py) signs on, pays, refunds and reverses
//! against the real `mpos serve`.

use mpos_testkit::server::{Mpos, python};

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

#[test]
fn a_pyiso8583_client_agrees_with_the_host() {
    let server = MPOS.serve();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/interop/pyiso8583_client.py"
    );
    let out = std::process::Command::new(python())
        .arg(script)
        .arg(&server.iso)
        .output()
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("all answers agree with the host interface"),
        "{stdout}"
    );
}
