//! `[cabinet] app_download` as a relative path is read from the folder of
//! the configuration file that sets it (the compiled-in default: the shipped
//! config/ folder), whatever the current folder; a missing file stops
//! `mpos serve` at start, naming it, instead of a 404 on the first download.

use mpos_testkit::server::{Mpos, Server};

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

/// The demo merchant's download from `server`.
fn download(server: &Server) -> (u16, String) {
    let session = server.cabinet_login("demo@merchant.test", "demo-password-1");
    let answer = server.http("GET", "/app/download", &session, None);
    (answer.status, answer.body)
}

/// `mpos serve` started in `cwd` with `extra` arguments.
fn serve_from(cwd: &std::path::Path, extra: &[&str]) -> Server {
    let mut launcher = MPOS.command();
    launcher.current_dir(cwd);
    MPOS.serve_launched(launcher, extra, &[])
}

#[test]
fn the_shipped_default_is_found_from_any_folder() {
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let server = serve_from(elsewhere.path(), &[]);
    let (status, body) = download(&server);
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        std::fs::read_to_string(mpos_testkit::workspace_root().join("fixtures/app/mpos-demo.apk"))
            .expect("the shipped placeholder")
    );
}

#[test]
fn a_relative_path_is_read_beside_the_configuration_file() {
    let site = tempfile::tempdir().expect("temp dir");
    std::fs::write(site.path().join("bank.apk"), "the bank's build").expect("an app file");
    let config = site.path().join("mpos.toml");
    std::fs::write(&config, "[cabinet]\napp_download = \"bank.apk\"\n").expect("a config file");
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let server = serve_from(
        elsewhere.path(),
        &["--config", config.to_str().expect("a UTF-8 path")],
    );
    assert_eq!(download(&server), (200, "the bank's build".to_owned()));
}

#[test]
fn a_missing_file_stops_serve_naming_it() {
    let site = tempfile::tempdir().expect("temp dir");
    let config = site.path().join("mpos.toml");
    std::fs::write(&config, "[cabinet]\napp_download = \"missing.apk\"\n").expect("a config file");
    let out = MPOS.run(
        &[
            "serve",
            "--config",
            config.to_str().expect("a UTF-8 path"),
            "--data-dir",
            site.path().join("data").to_str().expect("a UTF-8 path"),
            "--iso-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
            "--metrics-listen",
            "127.0.0.1:0",
        ],
        b"",
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    let missing = site.path().join("missing.apk");
    assert!(
        stderr.contains("cabinet.app_download") && stderr.contains(&*missing.to_string_lossy()),
        "{stderr}"
    );
}
