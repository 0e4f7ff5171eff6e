//! Each HTTP connection's watchdog: what the connection did last, and when
//! it has taken too long.
//!
//! hyper's `header_read_timeout` starts again as soon as an answer has been
//! written, so it cannot tell a client slow to send its headers (10 s) from
//! a kept-alive browser between two pages (60 s). The socket is wrapped
//! instead ([`Watched`]) to see bytes come and go, and the service marks
//! when a request's headers have arrived and when its handler is done
//! ([`Activity::request_started`]); [`expired`] turns that into deadlines.

use super::HttpLimits;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::sync::Notify;
use tokio::time::Instant;

/// No request head is being read.
const NONE: u64 = u64::MAX;

/// What one connection did last, in milliseconds since it was accepted.
#[derive(Debug)]
pub struct Activity {
    /// When the connection was accepted.
    born: Instant,
    /// The last byte read or written.
    last_io: AtomicU64,
    /// The first byte of a request head not yet complete, or [`NONE`].
    head_since: AtomicU64,
    /// Requests whose handler is running: no deadline then (a handler's
    /// time is its own; a long answer keeps bytes moving).
    handling: AtomicUsize,
    /// Whether a request has arrived: from then on silence between
    /// requests is kept-alive idleness, not a slow first request.
    served: AtomicBool,
    /// Wakes the watchdog when its deadline may have come closer (a head
    /// begins, a handler ends); more bytes only ever move it later.
    changed: Notify,
}

impl Activity {
    /// A connection accepted now.
    pub fn new() -> Activity {
        Activity {
            born: Instant::now(),
            last_io: AtomicU64::new(0),
            head_since: AtomicU64::new(NONE),
            handling: AtomicUsize::new(0),
            served: AtomicBool::new(false),
            changed: Notify::new(),
        }
    }

    fn now(&self) -> u64 {
        u64::try_from(self.born.elapsed().as_millis()).unwrap_or(NONE - 1)
    }

    /// Bytes arrived: outside a handler they begin (or continue) a request
    /// head.
    fn read(&self) {
        let now = self.now();
        self.last_io.store(now, Ordering::Relaxed);
        if self.handling.load(Ordering::Acquire) == 0
            && self
                .head_since
                .compare_exchange(NONE, now, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            self.changed.notify_one();
        }
    }

    /// Bytes left.
    fn wrote(&self) {
        self.last_io.store(self.now(), Ordering::Relaxed);
    }

    /// A request's head is complete and its handler starts; the handler is
    /// done when the returned guard drops.
    pub fn request_started(self: &Arc<Self>) -> Handling {
        self.handling.fetch_add(1, Ordering::AcqRel);
        self.head_since.store(NONE, Ordering::Release);
        self.served.store(true, Ordering::Release);
        Handling(Arc::clone(self))
    }

    /// When the connection has taken too long, as things stand; `None`
    /// while a handler runs.
    fn deadline(&self, limits: HttpLimits) -> Option<Instant> {
        if self.handling.load(Ordering::Acquire) > 0 {
            return None;
        }
        let at = |millis: u64| self.born + std::time::Duration::from_millis(millis);
        let head = self.head_since.load(Ordering::Acquire);
        if head != NONE {
            return Some(at(head) + limits.header_timeout);
        }
        let quiet = at(self.last_io.load(Ordering::Relaxed));
        if self.served.load(Ordering::Acquire) {
            Some(quiet + limits.idle_timeout)
        } else {
            Some(quiet + limits.header_timeout)
        }
    }
}

/// A running handler; dropping it ends it (also when the request is
/// cancelled).
#[derive(Debug)]
pub struct Handling(Arc<Activity>);

impl Drop for Handling {
    fn drop(&mut self) {
        let activity = &self.0;
        let now = activity.now();
        activity.last_io.store(now, Ordering::Relaxed);
        if activity.handling.fetch_sub(1, Ordering::AcqRel) == 1 {
            // A pipelined head read while the handler ran gets its full
            // time from now, not from when it was buffered.
            let head = activity.head_since.load(Ordering::Acquire);
            if head != NONE {
                activity.head_since.store(now, Ordering::Release);
            }
            activity.changed.notify_one();
        }
    }
}

/// Resolves once `activity`'s connection has been too slow or too idle.
pub async fn expired(activity: &Activity, limits: HttpLimits) {
    loop {
        let deadline = match activity.deadline(limits) {
            Some(deadline) if deadline <= Instant::now() => return,
            Some(deadline) => deadline,
            // A handler runs: its end wakes us.
            None => Instant::now() + limits.idle_timeout.max(limits.header_timeout),
        };
        tokio::select! {
            () = tokio::time::sleep_until(deadline) => {}
            () = activity.changed.notified() => {}
        }
    }
}

/// A socket that tells its [`Activity`] about every byte in and out.
#[derive(Debug)]
pub struct Watched<T> {
    inner: T,
    activity: Arc<Activity>,
}

impl<T> Watched<T> {
    /// `inner`, reporting to `activity`.
    pub fn new(inner: T, activity: Arc<Activity>) -> Watched<T> {
        Watched { inner, activity }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Watched<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.read();
        }
        polled
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Watched<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.wrote();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const LIMITS: HttpLimits = HttpLimits {
        max_connections: 1,
        header_timeout: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(60),
    };

    #[tokio::test(start_paused = true)]
    async fn a_new_connection_has_the_header_time_then_kept_alive_the_idle_time() {
        let activity = Arc::new(Activity::new());
        let born = activity.born;
        assert_eq!(
            activity.deadline(LIMITS),
            Some(born + LIMITS.header_timeout)
        );
        tokio::time::advance(Duration::from_secs(3)).await;
        activity.read();
        assert_eq!(
            activity.deadline(LIMITS),
            Some(born + Duration::from_secs(13)),
            "the head's first byte starts its 10 s"
        );
        let handling = activity.request_started();
        assert_eq!(activity.deadline(LIMITS), None, "a handler has no deadline");
        tokio::time::advance(Duration::from_secs(100)).await;
        drop(handling);
        assert_eq!(
            activity.deadline(LIMITS),
            Some(born + Duration::from_secs(163)),
            "idle 60 s after the answer"
        );
        tokio::time::advance(Duration::from_secs(30)).await;
        activity.read();
        tokio::time::advance(Duration::from_secs(5)).await;
        activity.read();
        assert_eq!(
            activity.deadline(LIMITS),
            Some(born + Duration::from_secs(143)),
            "a trickled head keeps the time of its first byte"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn expired_resolves_at_the_deadline() {
        let activity = Activity::new();
        let started = Instant::now();
        expired(&activity, LIMITS).await;
        assert_eq!(started.elapsed(), LIMITS.header_timeout);
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_that_comes_closer_wakes_the_watchdog() {
        let short_idle = HttpLimits {
            idle_timeout: Duration::from_secs(2),
            ..LIMITS
        };
        let activity = Arc::new(Activity::new());
        let handling = activity.request_started();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            drop(handling);
        });
        let started = Instant::now();
        expired(&activity, short_idle).await;
        assert_eq!(
            started.elapsed(),
            Duration::from_secs(3),
            "1 s handled, 2 s idle"
        );
    }
}
