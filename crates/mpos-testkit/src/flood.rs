//! Idle connections held open against a listener, as an attacker's flood:
//! opened on a runtime of their own, so the ones still waiting in the
//! listen backlog (or retrying their SYN) block no thread of the test.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::io::AsyncReadExt;

/// `count` connections to one address that send nothing and read until the
/// server closes them; all closed when dropped.
pub struct Flood {
    runtime: Option<tokio::runtime::Runtime>,
    connected: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
}

impl Flood {
    /// Starts opening `count` connections to `address` (`host:port`, or an
    /// `http://` or `https://` base URL) and returns at once.
    pub fn open(address: &str, count: usize) -> Flood {
        let address = address
            .trim_start_matches("http://")
            .trim_start_matches("https://")
            .to_owned();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("the flood's runtime");
        let connected = Arc::new(AtomicUsize::new(0));
        let closed = Arc::new(AtomicUsize::new(0));
        for _ in 0..count {
            let address = address.clone();
            let connected = Arc::clone(&connected);
            let closed = Arc::clone(&closed);
            runtime.spawn(async move {
                let Ok(mut stream) = tokio::net::TcpStream::connect(&address).await else {
                    return;
                };
                connected.fetch_add(1, Ordering::Relaxed);
                let mut byte = [0u8; 1];
                // Held until the server closes it (or the flood is dropped).
                let _ = stream.read(&mut byte).await;
                closed.fetch_add(1, Ordering::Relaxed);
            });
        }
        Flood {
            runtime: Some(runtime),
            connected,
            closed,
        }
    }

    /// Connections whose handshake completed (accepted or in the backlog).
    pub fn connected(&self) -> usize {
        self.connected.load(Ordering::Relaxed)
    }

    /// Connections the server has closed.
    pub fn closed(&self) -> usize {
        self.closed.load(Ordering::Relaxed)
    }

    /// Waits (at most `within`, polling every 10 ms) until `count`
    /// handshakes completed; whether they did.
    pub fn wait_connected(&self, count: usize, within: Duration) -> bool {
        let started = Instant::now();
        while self.connected() < count {
            if started.elapsed() > within {
                return false;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        true
    }
}

impl Drop for Flood {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}
