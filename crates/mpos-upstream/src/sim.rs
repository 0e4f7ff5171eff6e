//! `mpos issuer-sim`: a card processor that speaks the upstream interface
//! with the built-in simulator's rules (`mpos_domain::rules::SimulatorIssuer`:
//! amounts ending in 51 → 51, in 05 → 05, else 00 with an authorization
//! code), answers 0800s, and acknowledges reversal advices (0420/0421)
//! with 0430. For demos and load tests of the upstream mode, it can delay
//! its answers and drop a share of them.

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use mpos_domain::money::Amount;
use mpos_domain::response::ResponseCode;
use mpos_domain::rules::{Issuer, SimulatorIssuer};
use mpos_iso8583::{FrameCodec, Layout, Message, MessageBuilder};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::codec::Framed;

/// How the simulator behaves.
#[derive(Debug, Clone)]
pub struct SimOptions {
    /// Every answer is sent this long after its request arrived.
    pub delay: Duration,
    /// This share of requests (0–100 %) gets no answer at all.
    pub drop_percent: u8,
    /// Decline every 0200 with 05, whatever the amount.
    pub decline_all: bool,
    /// The largest message accepted.
    pub max_frame: usize,
}

impl Default for SimOptions {
    fn default() -> Self {
        SimOptions {
            delay: Duration::ZERO,
            drop_percent: 0,
            decline_all: false,
            max_frame: mpos_iso8583::DEFAULT_MAX_FRAME,
        }
    }
}

/// Serves connections on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: TcpListener,
    layout: Layout,
    options: SimOptions,
    shutdown: impl Future<Output = ()>,
) {
    let layout = Arc::new(layout);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    tracing::info!(%peer, "acquirer connected");
                    let (layout, options) = (Arc::clone(&layout), options.clone());
                    tokio::spawn(async move {
                        connection(socket, layout, options).await;
                        tracing::info!(%peer, "acquirer disconnected");
                    });
                }
                Err(error) => {
                    // Out of file descriptors and the like: do not spin.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
        }
    }
}

async fn connection(socket: TcpStream, layout: Arc<Layout>, options: SimOptions) {
    let _ = socket.set_nodelay(true);
    let (mut sink, mut frames) = Framed::new(socket, FrameCodec::new(options.max_frame)).split();
    // Delayed answers are written by their own tasks through this channel.
    let (answers, mut queued) = mpsc::channel::<Bytes>(4096);
    let writer = tokio::spawn(async move {
        while let Some(first) = queued.recv().await {
            if sink.feed(first).await.is_err() {
                return;
            }
            while let Ok(more) = queued.try_recv() {
                if sink.feed(more).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(frame)) = frames.next().await {
        let Some(answer) = answer(&layout, &frame, &options) else {
            continue;
        };
        if dropped(options.drop_percent) {
            tracing::debug!("answer dropped (--drop)");
            continue;
        }
        if options.delay.is_zero() {
            if answers.send(answer).await.is_err() {
                break;
            }
        } else {
            let (answers, delay) = (answers.clone(), options.delay);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                let _ = answers.send(answer).await;
            });
        }
    }
    drop(answers);
    // Delayed answers still due are not waited for: the peer left.
    writer.abort();
}

/// The answer to one frame, or `None` for what the simulator ignores.
pub fn answer(layout: &Layout, frame: &[u8], options: &SimOptions) -> Option<Bytes> {
    let message = match layout.decode(frame) {
        Ok(message) => message,
        Err(error) => {
            tracing::warn!(%error, "unreadable message ignored");
            return None;
        }
    };
    let mti = message.mti();
    let (echoed, code, auth): (&[u8], ResponseCode, Option<String>) = match mti.as_str() {
        "0800" => (&[7, 11, 70], ResponseCode::Approved, None),
        "0200" => {
            let code = match message.str(4).map(Amount::from_de4) {
                _ if options.decline_all => ResponseCode::DoNotHonour,
                Some(Ok(amount)) => SimulatorIssuer.decide(amount),
                _ => ResponseCode::FormatError,
            };
            let auth = code
                .is_approved()
                .then(mpos_domain::response::new_authorization_code);
            (&[3, 4, 7, 11, 12, 13, 32, 37, 41, 42, 49], code, auth)
        }
        "0420" | "0421" => (
            &[3, 4, 7, 11, 32, 37, 41, 42, 49, 90],
            ResponseCode::Approved,
            None,
        ),
        other => {
            tracing::warn!(mti = other, "unsupported message ignored");
            return None;
        }
    };
    let response_mti = if mti.as_str() == "0421" {
        mpos_iso8583::Mti::from_static(*b"0430")
    } else {
        mti.response()
    };
    encode(
        layout,
        &message,
        response_mti,
        echoed,
        code,
        auth.as_deref(),
    )
}

fn encode(
    layout: &Layout,
    request: &Message<'_>,
    mti: mpos_iso8583::Mti,
    echoed: &[u8],
    code: ResponseCode,
    auth: Option<&str>,
) -> Option<Bytes> {
    let mut builder = MessageBuilder::new(mti);
    for &number in echoed {
        if let Some(field) = request.field(number) {
            builder.set_bytes(number, field.wire());
        }
    }
    if let Some(auth) = auth {
        builder.set(38, auth);
    }
    builder.set(39, code.as_str());
    let mut out = BytesMut::with_capacity(128);
    match layout.encode(&builder, &mut out) {
        Ok(()) => Some(out.freeze()),
        Err(error) => {
            tracing::warn!(%error, "answer could not be encoded");
            None
        }
    }
}

/// Whether this answer is one of the `percent` dropped.
fn dropped(percent: u8) -> bool {
    if percent == 0 {
        return false;
    }
    use ring::rand::{SecureRandom, SystemRandom};
    let mut byte = [0u8; 2];
    let _ = SystemRandom::new().fill(&mut byte);
    u16::from_be_bytes(byte) % 100 < u16::from(percent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(layout: &Layout, mti: &str, fields: &[(u8, &str)]) -> BytesMut {
        let mut out = BytesMut::new();
        layout
            .encode(
                &MessageBuilder::from_fields(mpos_iso8583::Mti::new(mti).unwrap(), fields),
                &mut out,
            )
            .unwrap();
        out
    }

    fn purchase(amount: &str) -> Vec<(u8, &str)> {
        vec![
            (2, "4276010000001234"),
            (3, "000000"),
            (4, amount),
            (7, "1201190507"),
            (11, "000001"),
            (37, "000000000042"),
            (41, "VT000001"),
            (42, "MTB000000000001"),
            (49, "933"),
        ]
    }

    #[test]
    fn purchases_follow_the_simulators_rules() {
        let layout = Layout::shipped("generic-1987-ascii").unwrap();
        let options = SimOptions::default();
        for (amount, code) in [
            ("000000001000", "00"),
            ("000000001051", "51"),
            ("000000001005", "05"),
        ] {
            let frame = request(&layout, "0200", &purchase(amount));
            let answer = super::answer(&layout, &frame, &options).unwrap();
            let answer = layout.decode(&answer).unwrap();
            assert_eq!(answer.mti().as_str(), "0210");
            assert_eq!(answer.str(39), Some(code));
            assert_eq!(answer.str(37), Some("000000000042"));
            assert_eq!(answer.str(11), Some("000001"));
            assert_eq!(answer.has(38), code == "00");
            assert!(!answer.has(2), "never echoes the PAN");
        }
        let decline_all = SimOptions {
            decline_all: true,
            ..SimOptions::default()
        };
        let frame = request(&layout, "0200", &purchase("000000001000"));
        let answer = super::answer(&layout, &frame, &decline_all).unwrap();
        assert_eq!(layout.decode(&answer).unwrap().str(39), Some("05"));
    }

    #[test]
    fn advices_are_acknowledged_with_0430() {
        let layout = Layout::shipped("generic-1987-ascii").unwrap();
        for mti in ["0420", "0421"] {
            let frame = request(
                &layout,
                mti,
                &[
                    (4, "000000001000"),
                    (11, "000002"),
                    (37, "000000000042"),
                    (39, "68"),
                ],
            );
            let answer = super::answer(&layout, &frame, &SimOptions::default()).unwrap();
            let answer = layout.decode(&answer).unwrap();
            assert_eq!(answer.mti().as_str(), "0430");
            assert_eq!(answer.str(39), Some("00"));
            assert_eq!(answer.str(37), Some("000000000042"));
        }
    }
}
