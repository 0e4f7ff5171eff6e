//! Several `mpos serve` on one PostgreSQL database (deployment.md, section
//! 2), each test on a throwaway cluster of its own: what holds on one host
//! holds across all of them. RRNs stay unique and no approval is lost when
//! one host is killed under load; a purchase refunded through two hosts at
//! once is refunded once; a block or a new app password made in one host's
//! cabinet refuses the reader on the other within a second; a sign-on
//! ticket from one host signs on at the other; and a host outlives its
//! database going away and coming back (section 1).

use mpos_testkit::iso::Client;
use mpos_testkit::messages;
use mpos_testkit::postgres::Postgres;
use mpos_testkit::server::{Mpos, Server};
use std::collections::HashSet;
use std::process::Stdio;
use std::sync::Barrier;
use std::time::{Duration, Instant};

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

/// Two hosts on one database: the first loads `fixtures` into it (the
/// demo data when `None`) and makes the PAN hash key, which the second is
/// given, as an operator copies it.
struct Fleet {
    pg: Postgres,
    a: Server,
    b: Server,
}

impl Fleet {
    fn start(fixtures: Option<&str>) -> Fleet {
        let pg = Postgres::start();
        let url = pg.create_database("payments");
        let env = [("MPOS_STORE__URL", url.as_str())];
        let extra: Vec<&str> = fixtures.map(|f| vec!["--fixtures", f]).unwrap_or_default();
        let a = MPOS.serve_in(tempfile::tempdir().unwrap(), &extra, &env);
        let key = a.data_dir().join("pan-hash.key");
        let key = key.to_str().unwrap();
        let b = MPOS.serve_in(
            tempfile::tempdir().unwrap(),
            &[],
            &[
                ("MPOS_STORE__URL", url.as_str()),
                ("MPOS_STORE__PAN_HASH_KEY_FILE", key),
            ],
        );
        Fleet { pg, a, b }
    }

    /// One value of a query on the shared database.
    fn sql(&self, query: &str) -> String {
        self.pg.psql("payments", query)
    }
}

fn ticket_of(answer: &mpos_testkit::iso::Answer) -> String {
    answer
        .get(61)
        .expect("the 0810 carries a ticket")
        .to_owned()
}

#[test]
fn load_on_two_hosts_with_one_killed_loses_no_approval_and_every_rrn_is_unique() {
    let fixture = mpos_testkit::fixture("load.toml");
    let mut fleet = Fleet::start(Some(fixture.to_str().unwrap()));
    let log = fleet.b.data_dir().join("approved.log");
    let client = MPOS
        .command()
        .args([
            "loadgen",
            "--iso",
            &format!("{},{}", fleet.a.iso, fleet.b.iso),
            "--devices",
            "4",
            "--pipeline",
            "4",
            "--duration",
            "6",
            "--json",
            "--log-approved",
        ])
        .arg(&log)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(2000));
    fleet.a.child.kill().unwrap(); // SIGKILL, mid-load
    fleet.a.child.wait().unwrap();
    let out = client.wait_with_output().unwrap();
    assert!(out.status.success(), "loadgen exits 0");
    let json = String::from_utf8(out.stdout).unwrap();
    assert!(
        json.contains("\"failovers\":") && !json.contains("\"failovers\":0,"),
        "the devices of the killed host moved: {json}"
    );
    assert!(
        !json.contains("\"sign_ons_by_ticket\":0,"),
        "they signed on at the other host by the first one's tickets: {json}"
    );

    // Every approval a device received is in the database, as it was sent.
    let stored: HashSet<String> = fleet
        .sql(
            "SELECT device_serial || ' ' || stan || ' ' || rrn FROM transactions
             WHERE response_code = '00' AND rrn IS NOT NULL",
        )
        .lines()
        .map(str::to_owned)
        .collect();
    let logged = std::fs::read_to_string(&log).unwrap();
    let mut devices = HashSet::new();
    for line in logged.lines() {
        assert!(stored.contains(line), "approval {line:?} is stored");
        devices.insert(line.split(' ').next().unwrap().to_owned());
    }
    assert!(logged.lines().count() > 100, "a real load: {json}");
    assert_eq!(devices.len(), 4, "every device paid: {devices:?}");
    assert_eq!(
        fleet.sql("SELECT count(*) - count(DISTINCT rrn) FROM transactions WHERE rrn IS NOT NULL"),
        "0",
        "every RRN is unique across the hosts"
    );
    assert_eq!(
        fleet.sql(
            "SELECT count(*) FROM transactions WHERE rrn IS NOT NULL
               AND rrn <> lpad(id::text, 12, '0')"
        ),
        "0",
        "each RRN is its row's number from the one sequence"
    );
}

#[test]
fn a_sign_on_ticket_from_one_host_signs_on_at_the_other() {
    let fleet = Fleet::start(None);
    let ticket = ticket_of(&fleet.a.connect().sign_on("MPOS-0001", "app-pass-1"));
    let mut on_b = fleet.b.connect();
    let answer = on_b.sign_on_by_ticket("MPOS-0001", &ticket);
    assert_eq!(answer.code(), "00", "B knows A's ticket");
    assert_eq!(on_b.pay(2, 500), "00");
    // The ticket B issued replaced A's, on A too.
    assert_eq!(
        fleet
            .a
            .connect()
            .sign_on_by_ticket("MPOS-0001", &ticket)
            .code(),
        "63"
    );
}

#[test]
fn a_purchase_refunded_through_two_hosts_at_once_is_refunded_once() {
    let fleet = Fleet::start(None);
    let mut buyer = fleet.a.signed_on("MPOS-0001", "app-pass-1");
    let mut on_a = fleet.a.signed_on("MPOS-0002", "app-pass-2");
    let mut on_b = fleet.b.signed_on("MPOS-0001", "app-pass-1");
    for round in 0..12u32 {
        let purchase = buyer.exchange(&messages::purchase(100 + round, 10_000));
        assert_eq!(purchase.code(), "00");
        let rrn = purchase.get(37).unwrap().to_owned();
        let start = Barrier::new(2);
        let refund = |client: &mut Client, stan: u32| {
            start.wait();
            client
                .exchange(&messages::refund(stan, 10_000, &rrn))
                .code()
                .to_owned()
        };
        let (a, b) = std::thread::scope(|s| {
            let a = s.spawn(|| refund(&mut on_a, 200 + round));
            let b = s.spawn(|| refund(&mut on_b, 300 + round));
            (a.join().unwrap(), b.join().unwrap())
        });
        let approved = [&a, &b].iter().filter(|code| **code == "00").count();
        assert_eq!(
            approved, 1,
            "round {round}: one refund of two (A {a}, B {b})"
        );
        assert!(
            a != "96" && b != "96",
            "the loser is declined, not failed: A {a}, B {b}"
        );
    }
    assert_eq!(
        fleet.sql(
            "SELECT count(*) FROM transactions p WHERE p.kind = 'purchase' AND p.amount_minor <
               (SELECT coalesce(sum(r.amount_minor), 0) FROM transactions r
                WHERE r.original_id = p.id AND r.response_code = '00' AND r.reversed = 0)"
        ),
        "0",
        "no purchase is refunded beyond its amount"
    );
}

#[test]
fn a_block_or_a_new_app_password_in_one_hosts_cabinet_reaches_the_other_within_a_second() {
    let fleet = Fleet::start(None);
    let mut reader = fleet.b.signed_on("MPOS-0001", "app-pass-1");
    assert_eq!(reader.pay(2, 100), "00");
    let cookie = fleet
        .a
        .cabinet_login("demo@merchant.test", "demo-password-1");
    let csrf = fleet.a.http("GET", "/devices", &cookie, None).csrf_token();
    let post = |path: &str, form: String| fleet.a.http("POST", path, &cookie, Some(&form));

    let blocked = post(
        "/devices/MPOS-0001/state",
        format!("state=blocked&csrf_token={csrf}"),
    );
    assert_eq!(blocked.status, 303, "{}", blocked.body);
    let stan = reader.pay_until("58", 3);
    let unblocked = post(
        "/devices/MPOS-0001/state",
        format!("state=active&csrf_token={csrf}"),
    );
    assert_eq!(unblocked.status, 303);
    let stan = reader.pay_until("00", stan);

    let changed = post(
        "/devices/MPOS-0001/password",
        format!("new_password=new-app-pass-1&new_password_repeat=new-app-pass-1&csrf_token={csrf}"),
    );
    assert_eq!(changed.status, 303, "{}", changed.body);
    reader.pay_until("63", stan);
    assert_eq!(
        fleet
            .b
            .connect()
            .sign_on("MPOS-0001", "new-app-pass-1")
            .code(),
        "00",
        "B signs on with the password set on A"
    );
}

#[test]
fn a_host_answers_96_while_its_database_is_down_and_carries_on_when_it_is_back() {
    let fleet = Fleet::start(None);
    let mut reader = fleet.a.signed_on("MPOS-0001", "app-pass-1");
    assert_eq!(reader.pay(2, 100), "00");
    let cookie = fleet
        .a
        .cabinet_login("demo@merchant.test", "demo-password-1");

    fleet.pg.stop();
    let asked = Instant::now();
    assert_eq!(reader.pay(3, 100), "96", "no approval without the database");
    assert!(
        asked.elapsed() < Duration::from_secs(5),
        "answered within seconds, not left hanging: {:?}",
        asked.elapsed()
    );
    let page = fleet.a.http("GET", "/history", &cookie, None);
    assert!(
        page.status >= 500,
        "the cabinet shows an error page: {} {}",
        page.status,
        page.body
    );

    fleet.pg.start_server();
    let back = Instant::now();
    let mut stan = 4;
    while reader.pay(stan, 100) != "00" {
        stan += 1;
        assert!(
            back.elapsed() < Duration::from_secs(15),
            "the host approves again without a restart"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    // The cabinet's pooled connections come back as they are next used: a
    // connection that tried to reconnect in the last half second waits for
    // its next turn, so the first page may still be the error page.
    let cabinet_back = Instant::now();
    loop {
        let page = fleet.a.http("GET", "/history", &cookie, None);
        if page.status == 200 {
            break;
        }
        assert!(
            cabinet_back.elapsed() < Duration::from_secs(5),
            "the cabinet is back too, within seconds: {} {}",
            page.status,
            page.body
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // And so is the other host, idle all along: its first request may be
    // the one to find a connection the restart closed (answered 96, as
    // A's first were), the next ones are served.
    let b_back = Instant::now();
    while fleet.b.connect().sign_on("MPOS-0002", "app-pass-2").code() != "00" {
        assert!(
            b_back.elapsed() < Duration::from_secs(5),
            "the other host signs readers on again within seconds"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn an_unreachable_database_stops_the_start_with_one_line_and_no_password() {
    let pg = Postgres::start();
    let port = pg.port;
    drop(pg); // nothing listens there any more
    let data = mpos_testkit::server::private_tempdir();
    let out = MPOS
        .command()
        .args(["serve", "--iso-listen", "127.0.0.1:0", "--http-listen"])
        .args(["127.0.0.1:0", "--metrics-listen", "", "--data-dir"])
        .arg(data.path())
        .env(
            "MPOS_STORE__URL",
            format!("postgres://mpos:s3cret-pass@127.0.0.1:{port}/payments"),
        )
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    assert!(
        stderr.contains(&format!("127.0.0.1:{port}")),
        "names the database: {stderr}"
    );
    assert!(
        !stderr.contains("s3cret-pass"),
        "never the password: {stderr}"
    );
}
