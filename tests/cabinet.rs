//! The cabinet on the real `mpos serve`: the HTTP listener serves it beside
//! /metrics and /healthz.

#[path = "support/host.rs"]
mod host;

#[test]
fn the_login_page_is_served_in_russian_with_its_stylesheet() {
    let server = host::Server::start();
    let login = server.http_get("/login");
    assert!(login.contains("Вход в личный кабинет"), "{login}");
    assert!(login.contains("name=\"csrf_token\""));
    assert!(server.http_get("/static/cabinet.css").contains("--brand"));
    assert_eq!(server.http_get("/healthz"), "ok\n");
}
