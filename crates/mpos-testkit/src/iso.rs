//! A blocking ISO 8583 client over our codec: framed requests out, decoded
//! answers in, as the Android app talks to the host.

use crate::messages::{self, Request};
use mpos_iso8583::Layout;
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

/// A decoded answer: MTI and field texts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The MTI, e.g. `0210`.
    pub mti: String,
    /// Every field's text, by number.
    pub fields: BTreeMap<u8, String>,
}

impl Answer {
    /// DE 39, the response code (empty if missing).
    pub fn code(&self) -> &str {
        self.get(39).unwrap_or("")
    }

    /// A field's text.
    pub fn get(&self, n: u8) -> Option<&str> {
        self.fields.get(&n).map(String::as_str)
    }
}

/// One connection to the host, in the ASCII host layout; reads wait 15 s.
pub struct Client {
    /// The socket, for tests that write raw bytes or change its timeouts.
    pub stream: TcpStream,
    layout: Layout,
}

impl Client {
    /// Connects to the host at `address` (`host:port`).
    pub fn connect(address: &str) -> Client {
        let stream = TcpStream::connect(address).expect("ISO 8583 connects");
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .expect("timeout");
        Client {
            stream,
            layout: Layout::shipped("generic-1987-ascii").expect("layout"),
        }
    }

    /// Encodes and sends one framed message without waiting.
    pub fn send(&mut self, request: &Request) {
        let body = request.encode(&self.layout);
        self.send_raw(&body);
    }

    /// Sends bytes with a correct length header.
    pub fn send_raw(&mut self, body: &[u8]) {
        let length = u16::try_from(body.len()).expect("a test frame under 64 KiB");
        let mut frame = length.to_be_bytes().to_vec();
        frame.extend_from_slice(body);
        self.stream.write_all(&frame).expect("send");
    }

    /// Reads one answer; `None` if the host closed the connection.
    pub fn receive(&mut self) -> Option<Answer> {
        let mut header = [0u8; 2];
        self.stream.read_exact(&mut header).ok()?;
        let mut body = vec![0u8; usize::from(u16::from_be_bytes(header))];
        self.stream.read_exact(&mut body).ok()?;
        let message = self
            .layout
            .decode(&body)
            .expect("the host's answers decode");
        Some(Answer {
            mti: message.mti().as_str().to_owned(),
            fields: message
                .fields()
                .map(|f| (f.number(), f.text().into_owned()))
                .collect(),
        })
    }

    /// Sends and waits for the answer.
    pub fn exchange(&mut self, request: &Request) -> Answer {
        self.send(request);
        self.receive().expect("an answer")
    }

    /// Sends and waits for the answer; `None` if the host closed the
    /// connection before answering (or before the request could be sent).
    pub fn try_exchange(&mut self, request: &Request) -> Option<Answer> {
        let body = request.encode(&self.layout);
        let length = u16::try_from(body.len()).expect("a test frame under 64 KiB");
        let mut frame = length.to_be_bytes().to_vec();
        frame.extend_from_slice(&body);
        self.stream.write_all(&frame).ok()?;
        self.receive()
    }

    /// Whether the host closes the connection within `wait` without being
    /// sent anything (EOF); `false` if it is still open then. Restores the
    /// usual 15 s read timeout.
    pub fn closes_within(&mut self, wait: Duration) -> bool {
        self.stream
            .set_read_timeout(Some(wait))
            .expect("read timeout");
        let mut byte = [0u8; 1];
        let closed = match self.stream.read(&mut byte) {
            Ok(0) => true,
            Ok(_) => panic!("the host sent something unasked"),
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        };
        self.stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .expect("read timeout");
        closed
    }

    /// Whether the host closed the connection (reads EOF).
    pub fn is_closed(&mut self) -> bool {
        let mut byte = [0u8; 1];
        matches!(self.stream.read(&mut byte), Ok(0) | Err(_))
    }

    /// Signs on as device `serial` (STAN 1).
    pub fn sign_on(&mut self, serial: &str, password: &str) -> Answer {
        self.exchange(&messages::sign_on(1, serial, password))
    }

    /// Signs on as device `serial` with a sign-on ticket (STAN 1).
    pub fn sign_on_by_ticket(&mut self, serial: &str, ticket: &str) -> Answer {
        self.exchange(&messages::sign_on_by_ticket(1, serial, ticket))
    }

    /// Pays 1.00 from STAN `stan` on until the answer is `code`, for at
    /// most a second (a block or a new password must reach the host within
    /// one); the next unused STAN.
    pub fn pay_until(&mut self, code: &str, mut stan: u32) -> u32 {
        let start = std::time::Instant::now();
        loop {
            let answer = self.pay(stan, 100);
            stan += 1;
            if answer == code {
                return stan;
            }
            assert!(
                start.elapsed() < Duration::from_secs(1),
                "still {answer}, not {code}, after 1 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Pays `amount_minor` with the standard [`messages::purchase`]; the
    /// answer's code.
    pub fn pay(&mut self, stan: u32, amount_minor: u64) -> String {
        self.exchange(&messages::purchase(stan, amount_minor))
            .code()
            .to_owned()
    }
}

/// Opens `n` connections to the host at `address` that send nothing, as a
/// flood of clients that never sign on would; each is non-blocking, for
/// [`count_closed`]. The caller raises its open-file limit first.
pub fn idle_connections(address: &str, n: usize) -> Vec<TcpStream> {
    (0..n)
        .map(|i| {
            let stream = TcpStream::connect(address)
                .unwrap_or_else(|e| panic!("idle connection {i} of {n} connects: {e}"));
            stream.set_nonblocking(true).expect("non-blocking");
            stream
        })
        .collect()
}

/// How many of `streams` (non-blocking, sent nothing) the host has closed,
/// watched until `expected` are or `wait` has passed, then `settle` more to
/// see that no others follow.
pub fn count_closed(
    streams: &[TcpStream],
    expected: usize,
    wait: Duration,
    settle: Duration,
) -> usize {
    let mut closed = vec![false; streams.len()];
    let look = |closed: &mut [bool]| {
        for (stream, closed) in streams.iter().zip(closed.iter_mut()) {
            if !*closed {
                let mut byte = [0u8; 1];
                *closed = match (&*stream).read(&mut byte) {
                    Ok(0) => true,
                    Ok(_) => panic!("the host sent something unasked"),
                    Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
                };
            }
        }
        closed.iter().filter(|c| **c).count()
    };
    let until = Instant::now() + wait;
    while look(&mut closed) < expected && Instant::now() < until {
        std::thread::sleep(Duration::from_millis(50));
    }
    std::thread::sleep(settle);
    look(&mut closed)
}
