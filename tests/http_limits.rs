//! The HTTP listeners under abuse (issue 11, cabinet spec "Holding up under
//! abuse"): a flood of idle connections does not stop the ISO 8583 host, a
//! trickled header is cut, a kept-alive connection idle past its limit is
//! closed. The real `mpos serve` on loopback; every wait is bounded.

use mpos_testkit::flood::Flood;
use mpos_testkit::server::{self, Mpos};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const MPOS: Mpos = Mpos::at(env!("CARGO_BIN_EXE_mpos"));

/// 4,000 idle HTTP connections, against a process started at a soft limit of
/// 1,024 open files: `mpos serve` raises it for both budgets, HTTP holds at
/// most `[http] max_connections` (the rest wait in the backlog), and an app
/// still signs on and pays in under a second. Before, every connection was
/// an open file with no cap, and at the limit the host stopped accepting.
#[test]
fn idle_http_connections_do_not_stop_the_host() {
    // The test's own side of the flood needs the files too.
    rlimit::increase_nofile_limit(10_000).expect("the test's open-file limit");
    let server = MPOS.serve_launched(
        server::soft_open_files(&MPOS, 1024),
        &[],
        // The flood is held for the whole test rather than cut at 10 s, so
        // that the cap, not the header timeout, is what is tested.
        &[("MPOS_HTTP__HEADER_TIMEOUT_SECS", "300")],
    );
    let flood = Flood::open(&server.http, 4_000);
    // 1,024 accepted and about as many in the backlog complete their
    // handshakes; the rest wait for room.
    assert!(
        flood.wait_connected(2_000, Duration::from_secs(20)),
        "only {} HTTP connections opened",
        flood.connected()
    );
    let files = server::open_files(server.child.id());
    assert!(
        files < 1_024 + 64 + 300,
        "HTTP holds at most [http] max_connections files: {files} open"
    );

    let started = Instant::now();
    let mut client = server.signed_on("MPOS-0001", "app-pass-1");
    let signed_on = started.elapsed();
    let started = Instant::now();
    assert_eq!(client.pay(1, 1_000), "00");
    let paid = started.elapsed();
    assert!(
        signed_on < Duration::from_secs(1) && paid < Duration::from_secs(1),
        "sign-on took {signed_on:?}, purchase {paid:?} under the flood"
    );
    // The metrics' listener has a budget of its own as well.
    assert_eq!(server.metrics_http("/healthz").body, "ok\n");
    assert_eq!(flood.closed(), 0, "nothing of the flood was cut yet");
}

/// Reads until the server closes `stream` (at most `limit`); how long that
/// took, and whether any answer came.
fn wait_for_close(stream: &mut TcpStream, limit: Duration) -> (Duration, usize) {
    let started = Instant::now();
    stream
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("a read timeout");
    let mut received = 0;
    let mut buffer = [0u8; 4096];
    while started.elapsed() < limit {
        match stream.read(&mut buffer) {
            Ok(0) => return (started.elapsed(), received),
            Ok(n) => received += n,
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return (started.elapsed(), received),
        }
    }
    panic!("the connection was still open after {limit:?}");
}

/// A client sending its headers one byte every 3 s is cut 10 s after the
/// first (the default `[http] header_timeout_secs`), without an answer;
/// before, it stayed connected for minutes.
#[test]
fn a_trickled_header_is_cut_at_the_header_timeout() {
    let server = MPOS.serve();
    let address = server.http.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("HTTP connects");
    let mut writer = stream.try_clone().expect("a second handle");
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ";
    let trickle = std::thread::spawn(move || {
        for byte in request.iter().cycle().take(20) {
            if writer.write_all(&[*byte]).is_err() {
                return;
            }
            std::thread::sleep(Duration::from_secs(3));
        }
    });
    let (after, received) = wait_for_close(&mut stream, Duration::from_secs(30));
    assert_eq!(received, 0, "no answer to a header that never ended");
    assert!(
        after >= Duration::from_secs(9) && after < Duration::from_secs(15),
        "cut after {after:?}, expected about 10 s"
    );
    trickle.join().expect("the trickling thread");
}

/// A kept-alive connection is served again within its idle time and closed
/// once silent past it (`[http] idle_timeout_secs`, 2 s here; 60 s by
/// default), before the 10 s header limit could be the reason.
#[test]
fn a_kept_alive_connection_idle_past_the_limit_is_closed() {
    let server = MPOS.serve_in(
        tempfile::tempdir().expect("temp dir"),
        &[],
        &[("MPOS_HTTP__IDLE_TIMEOUT_SECS", "2")],
    );
    let address = server.http.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).expect("HTTP connects");
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("a read timeout");
    let request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut answer = Vec::new();
    for round in 0..2 {
        stream.write_all(request).expect("a request");
        answer.clear();
        let mut buffer = [0u8; 1024];
        while !answer.ends_with(b"ok\n") {
            let n = stream.read(&mut buffer).expect("an answer");
            assert!(n > 0, "round {round}: closed before the answer");
            answer.extend_from_slice(&buffer[..n]);
        }
        assert!(answer.starts_with(b"HTTP/1.1 200"), "round {round}");
        // Within the idle time: the connection is still served.
        std::thread::sleep(Duration::from_secs(1));
    }
    let (after, received) = wait_for_close(&mut stream, Duration::from_secs(20));
    assert_eq!(received, 0);
    // 1 s already slept after the answer: closed at about 2 s of silence.
    assert!(
        after < Duration::from_secs(5),
        "closed {after:?} after 1 s of silence, expected about 1 s more"
    );
}
