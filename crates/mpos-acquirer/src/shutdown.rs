//! Graceful shutdown as a small value every task holds: the server stops
//! accepting, each connection stops reading, answers what is in flight,
//! and ends.

use tokio::sync::watch;

/// A shutdown signal that can be awaited by many tasks.
#[derive(Clone, Debug)]
pub struct Shutdown {
    receiver: watch::Receiver<bool>,
}

impl Shutdown {
    /// A signal and the function that fires it.
    pub fn new() -> (Shutdown, impl Fn() + Send + Sync + 'static) {
        let (sender, receiver) = watch::channel(false);
        (Shutdown { receiver }, move || {
            let _ = sender.send(true);
        })
    }

    /// Whether shutdown has begun.
    pub fn is_started(&self) -> bool {
        *self.receiver.borrow()
    }

    /// Resolves when shutdown begins (at once if it has).
    pub async fn started(&mut self) {
        // An error means the sender is gone: treat that as shutdown too.
        let _ = self.receiver.wait_for(|started| *started).await;
    }
}
