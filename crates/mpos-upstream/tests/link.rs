//! The link against a scripted processor on loopback: sign-on, answers in
//! any order, unmatched answers, timeouts, echo, the processor's 0800,
//! loss and reconnection, failover to the second address.

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use mpos_iso8583::{FrameCodec, Layout, MessageBuilder, Mti};
use mpos_upstream::message::FINANCIAL;
use mpos_upstream::{Link, LinkConfig, LinkError, Outgoing};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

const ACQUIRER: &str = "12345678901";

fn layout() -> Layout {
    Layout::shipped("generic-1987-ascii").unwrap()
}

fn config(hosts: Vec<String>) -> LinkConfig {
    LinkConfig {
        hosts,
        acquirer_id: ACQUIRER.into(),
        timeout: Duration::from_millis(500),
        echo_interval: Duration::from_secs(60),
        reconnect_max: Duration::from_millis(400),
        layout: layout(),
        max_frame: 8192,
        tls: None,
    }
}

/// The processor's side of one connection.
struct Peer {
    framed: Framed<TcpStream, FrameCodec>,
    layout: Layout,
}

/// A received message, its fields as owned text.
struct Got {
    mti: String,
    fields: Vec<(u8, String)>,
}

impl Got {
    fn get(&self, n: u8) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.as_str())
    }
}

impl Peer {
    async fn accept(listener: &TcpListener) -> Peer {
        let (socket, _) = tokio::time::timeout(Duration::from_secs(5), listener.accept())
            .await
            .expect("the link connects")
            .unwrap();
        Peer {
            framed: Framed::new(socket, FrameCodec::default()),
            layout: layout(),
        }
    }

    async fn recv(&mut self) -> Got {
        let frame = tokio::time::timeout(Duration::from_secs(5), self.framed.next())
            .await
            .expect("a message within 5 s")
            .expect("connection open")
            .unwrap();
        let message = self.layout.decode(&frame).unwrap();
        Got {
            mti: message.mti().as_str().to_owned(),
            fields: message
                .fields()
                .map(|f| (f.number(), f.text().into_owned()))
                .collect(),
        }
    }

    async fn send(&mut self, mti: &str, fields: &[(u8, &str)]) {
        let mut out = BytesMut::new();
        self.layout
            .encode(
                &MessageBuilder::from_fields(Mti::new(mti).unwrap(), fields),
                &mut out,
            )
            .unwrap();
        self.framed.send(Bytes::from(out)).await.unwrap();
    }

    /// Answers `request` with `mti`, echoing DE 11 and 37, with `code`.
    async fn answer(&mut self, request: &Got, mti: &str, code: &str) {
        let mut fields = vec![(11, request.get(11).unwrap())];
        if let Some(rrn) = request.get(37) {
            fields.push((37, rrn));
        }
        fields.push((39, code));
        self.send(mti, &fields).await;
    }

    /// Takes the sign-on and answers 00.
    async fn sign_on(&mut self) -> Got {
        let got = self.recv().await;
        assert_eq!(got.mti, "0800");
        assert_eq!(got.get(70), Some("001"));
        assert_eq!(got.get(32), Some(ACQUIRER));
        assert_eq!(got.get(7).map(str::len), Some(10));
        self.send(
            "0810",
            &[
                (7, got.get(7).unwrap()),
                (11, got.get(11).unwrap()),
                (39, "00"),
                (70, "001"),
            ],
        )
        .await;
        got
    }
}

async fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap().to_string();
    (listener, address)
}

fn purchase(rrn: &str) -> Outgoing {
    let mut message = Outgoing::new(FINANCIAL);
    message
        .set(2, "4276010000001234")
        .set(3, "000000")
        .set(4, "000000001000")
        .set(37, rrn)
        .set(49, "933");
    message
}

async fn up(link: &Link) {
    assert!(
        link.wait_up(Duration::from_secs(5)).await,
        "the link comes up"
    );
}

#[tokio::test]
async fn signs_on_and_matches_answers_in_any_order_dropping_unmatched_ones() {
    let (listener, address) = bind().await;
    let link = Link::start(config(vec![address.clone()]));
    assert!(
        matches!(link.reserve(), Err(LinkError::Down)),
        "down before sign-on"
    );
    let mut peer = Peer::accept(&listener).await;
    peer.sign_on().await;
    up(&link).await;
    assert_eq!(link.state().address.as_deref(), Some(address.as_str()));

    // Three requests in flight at once.
    let mut tasks = Vec::new();
    for i in 0..3 {
        let link = link.clone();
        tasks.push(tokio::spawn(async move {
            let reservation = link.reserve().unwrap();
            let stan = reservation.stan().to_de11();
            let reply = link
                .send(reservation, &purchase(&format!("00000000000{i}")))
                .await
                .unwrap();
            (
                i,
                stan,
                reply.get(11).unwrap().to_owned(),
                reply.get(39).unwrap().to_owned(),
            )
        }));
    }
    let mut requests = Vec::new();
    for _ in 0..3 {
        requests.push(peer.recv().await);
    }
    let stans: std::collections::HashSet<_> = requests
        .iter()
        .map(|r| r.get(11).unwrap().to_owned())
        .collect();
    assert_eq!(stans.len(), 3, "each request its own link STAN");
    // An answer nobody waits for, and one with a known STAN but another RRN.
    peer.send("0210", &[(11, "777777"), (37, "000000000009"), (39, "00")])
        .await;
    peer.send(
        "0210",
        &[
            (11, requests[0].get(11).unwrap()),
            (37, "999999999999"),
            (39, "00"),
        ],
    )
    .await;
    // Backwards, each with its own code: the RRN's last digit.
    for request in requests.iter().rev() {
        let code = format!("0{}", &request.get(37).unwrap()[11..]);
        peer.answer(request, "0210", &code).await;
    }
    for task in tasks {
        let (i, stan, echoed, code) = task.await.unwrap();
        assert_eq!(stan, echoed);
        assert_eq!(code, format!("0{i}"), "request {i} got its own answer");
    }
    assert_eq!(link.state().in_flight, 0);
    let mut metrics = String::new();
    link.render_metrics(&mut metrics);
    assert!(
        metrics.contains("mpos_upstream_unmatched_total 2"),
        "{metrics}"
    );
}

#[tokio::test]
async fn a_silent_processor_times_out_and_a_late_answer_is_dropped() {
    let (listener, address) = bind().await;
    let link = Link::start(config(vec![address]));
    let mut peer = Peer::accept(&listener).await;
    peer.sign_on().await;
    up(&link).await;
    let started = std::time::Instant::now();
    let reservation = link.reserve().unwrap();
    let result = link.send(reservation, &purchase("000000000001")).await;
    assert!(matches!(result, Err(LinkError::Timeout(_))), "{result:?}");
    assert!(result.unwrap_err().may_have_reached_processor());
    assert!(started.elapsed() < Duration::from_secs(3));
    let request = peer.recv().await;
    peer.answer(&request, "0210", "00").await;
    // The late answer matches nothing; the link stays up.
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(link.state().in_flight, 0);
    assert!(link.state().up);
    assert_eq!(link.metrics().timeouts(), 1);
}

#[tokio::test]
async fn answers_the_processors_0800_and_echoes_after_silence() {
    let (listener, address) = bind().await;
    let mut config = config(vec![address]);
    config.echo_interval = Duration::from_millis(200);
    let link = Link::start(config);
    let mut peer = Peer::accept(&listener).await;
    peer.sign_on().await;
    up(&link).await;
    peer.send("0800", &[(7, "1201120000"), (11, "424242"), (70, "301")])
        .await;
    let answer = peer.recv().await;
    assert_eq!(answer.mti, "0810");
    assert_eq!(
        (
            answer.get(7),
            answer.get(11),
            answer.get(39),
            answer.get(70)
        ),
        (Some("1201120000"), Some("424242"), Some("00"), Some("301"))
    );
    // Silence: an echo comes; answered, the link stays up.
    let echo = peer.recv().await;
    assert_eq!((echo.mti.as_str(), echo.get(70)), ("0800", Some("301")));
    peer.send(
        "0810",
        &[(11, echo.get(11).unwrap()), (39, "00"), (70, "301")],
    )
    .await;
    // The next echo is not answered: the connection is dropped and the
    // link signs on again on a new one.
    let echo = peer.recv().await;
    assert_eq!(echo.get(70), Some("301"));
    let mut again = Peer::accept(&listener).await;
    again.sign_on().await;
    up(&link).await;
}

#[tokio::test]
async fn a_lost_connection_fails_what_was_sent_and_the_link_comes_back() {
    let (listener, address) = bind().await;
    let link = Link::start(config(vec![address]));
    let mut peer = Peer::accept(&listener).await;
    peer.sign_on().await;
    up(&link).await;
    let sender = link.clone();
    let pending = tokio::spawn(async move {
        let reservation = sender.reserve().unwrap();
        sender.send(reservation, &purchase("000000000001")).await
    });
    peer.recv().await;
    drop(peer);
    let result = pending.await.unwrap();
    assert!(matches!(result, Err(LinkError::Lost)), "{result:?}");
    // Down meanwhile: refused at once, nothing sent.
    let mut again = Peer::accept(&listener).await;
    assert!(matches!(link.reserve(), Err(LinkError::Down)));
    again.sign_on().await;
    up(&link).await;
    assert!(link.reserve().is_ok());
}

#[tokio::test]
async fn fails_over_to_the_second_address_and_a_refused_sign_on_counts_as_down() {
    // The first address accepts nothing.
    let closed = {
        let (listener, address) = bind().await;
        drop(listener);
        address
    };
    let (listener, address) = bind().await;
    let link = Link::start(config(vec![closed, address.clone()]));
    let mut peer = Peer::accept(&listener).await;
    peer.sign_on().await;
    up(&link).await;
    assert_eq!(link.state().address, Some(address));

    // A processor that refuses the sign-on leaves the link down.
    let (listener, address) = bind().await;
    let refused = Link::start(config(vec![address]));
    let mut peer = Peer::accept(&listener).await;
    let sign_on = peer.recv().await;
    peer.answer(&sign_on, "0810", "91").await;
    assert!(!refused.wait_up(Duration::from_millis(300)).await);
    // It tries again after the backoff.
    let mut peer = Peer::accept(&listener).await;
    peer.sign_on().await;
    up(&refused).await;
}
