//! What one connection is doing, told by its socket ([`super::io`]) and its requests
//! ([`super::body`]), and the watchdog that closes it when a timeout runs out.
//!
//! The rules, measured the way Go's `net/http` measures them:
//! - **header**: a new connection must finish its first request head within
//!   `header_timeout`; later, a head must be complete `header_timeout` after its first byte.
//! - **idle**: a connection with no request in flight and no byte of a new one is closed after
//!   `idle_timeout` (HTTP/2 with a GOAWAY; it has no "first byte" of a request, so its idle time
//!   runs while no stream is open, pings or not).
//! - **write**: a write to the socket that makes no progress, or a response body whose last
//!   frame is not taken for sending (a full socket, or an HTTP/2 client granting no window),
//!   for `write_timeout` closes the connection. An HTTP/2 connection closes whole: hyper gives
//!   no handle to reset one stream from outside it, and a client that reads nothing for that
//!   long is broken or hostile either way.
//!
//! hyper's own `header_read_timeout` is not used: hyper starts it as soon as a connection waits
//! for a request, so on a kept-alive HTTP/1.1 connection it would also cut the idle time to the
//! header timeout. Stalled request bodies are the body's own business ([`super::body`]), since
//! only the handler reading it knows it waits for the client.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::Notify;
use tokio::time::Instant;

/// The timeouts the watchdog enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Timeouts {
    pub header: Duration,
    pub idle: Duration,
    pub write: Duration,
}

/// Why the watchdog closed a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No complete request head in time.
    Header,
    /// Nothing in flight and nothing new for the idle timeout.
    Idle,
    /// Writes made no progress for the write timeout.
    WriteStalled,
}

impl Verdict {
    /// Whether the connection is told it closes (an HTTP/2 GOAWAY) rather than dropped.
    pub(crate) fn graceful(self) -> bool {
        self == Verdict::Idle
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Verdict::Header => "no complete request head in time",
            Verdict::Idle => "idle",
            Verdict::WriteStalled => "writes made no progress",
        })
    }
}

/// One connection's activity, shared by its socket, its requests and its watchdog.
#[derive(Debug)]
pub(crate) struct Activity {
    http2: bool,
    state: Mutex<State>,
    /// Wakes the watchdog when a deadline appears or moves earlier.
    wake: Notify,
    /// The watchdog closed the connection for a fault of the client's: its socket is reset.
    gave_up: AtomicBool,
}

#[derive(Debug)]
struct State {
    started: Instant,
    /// Requests whose answer has not been sent to its end.
    in_flight: usize,
    /// A request has been received on this connection.
    served: bool,
    /// When `in_flight` last fell to zero.
    idle_since: Instant,
    /// HTTP/1.1: when the first byte of the next request head came, while nothing was in flight.
    head_since: Option<Instant>,
    /// Since when a write to the socket has been waiting.
    write_blocked_since: Option<Instant>,
    /// When a blocked write last made progress.
    last_write: Instant,
    /// Response bodies (by id) that gave a frame not yet taken for sending, and since when.
    untaken: Vec<(u64, Instant)>,
    next_body: u64,
}

impl Activity {
    /// A connection starting now, speaking HTTP/2 or HTTP/1.1.
    pub(crate) fn new(http2: bool) -> Arc<Self> {
        let now = Instant::now();
        Arc::new(Self {
            http2,
            state: Mutex::new(State {
                started: now,
                in_flight: 0,
                served: false,
                idle_since: now,
                head_since: None,
                write_blocked_since: None,
                last_write: now,
                untaken: Vec::new(),
                next_body: 0,
            }),
            wake: Notify::new(),
            gave_up: AtomicBool::new(false),
        })
    }

    /// Marks the connection as given up on (see [`super::io::Resettable`]).
    pub(crate) fn give_up(&self) {
        self.gave_up.store(true, Ordering::Relaxed);
    }

    /// Whether the connection was given up on.
    pub(crate) fn gave_up(&self) -> bool {
        self.gave_up.load(Ordering::Relaxed)
    }

    /// Bytes were read from the client.
    pub(crate) fn read(&self) {
        if self.http2 {
            return;
        }
        let mut state = self.state.lock();
        if state.in_flight == 0 && state.head_since.is_none() {
            state.head_since = Some(Instant::now());
            drop(state);
            self.wake.notify_one();
        }
    }

    /// A write had to wait for the socket.
    pub(crate) fn write_blocked(&self) {
        let mut state = self.state.lock();
        if state.write_blocked_since.is_none() {
            state.write_blocked_since = Some(Instant::now());
            drop(state);
            self.wake.notify_one();
        }
    }

    /// A write went through. Cheap when no write was waiting, which is nearly always.
    pub(crate) fn wrote(&self) {
        let mut state = self.state.lock();
        if state.write_blocked_since.take().is_some() {
            state.last_write = Instant::now();
        }
    }

    /// A request arrived: it is in flight until the returned guard is dropped.
    pub(crate) fn request(self: &Arc<Self>) -> InFlight {
        let mut state = self.state.lock();
        state.in_flight += 1;
        state.served = true;
        state.head_since = None;
        InFlight { activity: self.clone() }
    }

    /// A new id for a response body.
    pub(crate) fn body_id(&self) -> u64 {
        let mut state = self.state.lock();
        state.next_body += 1;
        state.next_body
    }

    /// Response body `id` gave a frame, which the connection has yet to take.
    pub(crate) fn untaken(&self, id: u64) {
        let mut state = self.state.lock();
        let first = state.untaken.is_empty();
        state.untaken.push((id, Instant::now()));
        drop(state);
        if first {
            self.wake.notify_one();
        }
    }

    /// Response body `id` was asked for its next frame, or is gone.
    pub(crate) fn taken(&self, id: u64) {
        let mut state = self.state.lock();
        if let Some(i) = state.untaken.iter().position(|(body, _)| *body == id) {
            state.untaken.swap_remove(i);
        }
    }

    /// Waits until a timeout runs out, and says which.
    pub(crate) async fn watch(&self, timeouts: Timeouts) -> Verdict {
        loop {
            let due = self.due(timeouts);
            match due {
                Some((at, verdict)) if at <= Instant::now() => return verdict,
                // A deadline that moved later is found at the wake-up and slept again; one that
                // appears or moves earlier wakes this at once (`Notify` keeps the wake-up if it
                // comes while nobody waits).
                Some((at, _)) => {
                    tokio::select! {
                        () = tokio::time::sleep_until(at) => {}
                        () = self.wake.notified() => {}
                    }
                }
                None => self.wake.notified().await,
            }
        }
    }

    /// The earliest deadline now, and what running out of it means.
    fn due(&self, t: Timeouts) -> Option<(Instant, Verdict)> {
        let state = self.state.lock();
        let mut due: Option<(Instant, Verdict)> = None;
        let mut consider = |at: Instant, verdict| {
            if due.is_none_or(|(earliest, _)| at < earliest) {
                due = Some((at, verdict));
            }
        };
        if let Some(since) = state.write_blocked_since {
            consider(since + t.write, Verdict::WriteStalled);
        }
        if let Some(since) = state.untaken.iter().map(|(_, since)| *since).min() {
            consider(since + t.write, Verdict::WriteStalled);
        }
        if state.in_flight == 0 {
            if !state.served {
                consider(state.started + t.header, Verdict::Header);
            } else if let Some(since) = state.head_since {
                consider(since + t.header, Verdict::Header);
            } else {
                consider(state.idle_since.max(state.last_write) + t.idle, Verdict::Idle);
            }
        }
        due
    }
}

/// A request in flight; dropping it (its response sent, or abandoned) ends it.
#[derive(Debug)]
pub(crate) struct InFlight {
    activity: Arc<Activity>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.activity.state.lock();
        state.in_flight -= 1;
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
            drop(state);
            self.activity.wake.notify_one();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: Timeouts = Timeouts {
        header: Duration::from_secs(10),
        idle: Duration::from_secs(60),
        write: Duration::from_secs(30),
    };

    async fn verdict_after(activity: &Activity) -> (Verdict, Duration) {
        let start = Instant::now();
        let verdict = activity.watch(T).await;
        (verdict, start.elapsed())
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_that_sends_no_request_closes_at_the_header_timeout() {
        let activity = Activity::new(false);
        assert_eq!(verdict_after(&activity).await, (Verdict::Header, T.header));
        // HTTP/2 too: a new connection must open a stream in that time.
        assert_eq!(verdict_after(&Activity::new(true)).await, (Verdict::Header, T.header));
    }

    #[tokio::test(start_paused = true)]
    async fn a_kept_alive_connection_idles_until_a_first_byte_then_has_the_header_timeout() {
        let activity = Activity::new(false);
        drop(activity.request());
        assert_eq!(verdict_after(&activity).await, (Verdict::Idle, T.idle));

        let activity = Activity::new(false);
        drop(activity.request());
        let start = Instant::now();
        let watch = activity.watch(T);
        tokio::pin!(watch);
        assert!(tokio::time::timeout(Duration::from_secs(20), watch.as_mut()).await.is_err());
        activity.read();
        assert_eq!(watch.await, Verdict::Header);
        assert_eq!(start.elapsed(), Duration::from_secs(20) + T.header);
    }

    #[tokio::test(start_paused = true)]
    async fn nothing_times_out_while_a_request_is_in_flight_and_writing() {
        let activity = Activity::new(false);
        let request = activity.request();
        activity.read(); // Body bytes: not the head of a next request.
        assert!(tokio::time::timeout(Duration::from_secs(3600), activity.watch(T)).await.is_err());
        drop(request);
        assert_eq!(verdict_after(&activity).await, (Verdict::Idle, T.idle));
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_that_waits_too_long_closes_the_connection_and_progress_resets_it() {
        let activity = Activity::new(false);
        let _request = activity.request();
        activity.write_blocked();
        tokio::time::sleep(Duration::from_secs(20)).await;
        activity.wrote();
        activity.write_blocked();
        assert_eq!(verdict_after(&activity).await, (Verdict::WriteStalled, T.write));
    }

    #[tokio::test(start_paused = true)]
    async fn a_response_frame_never_taken_closes_the_connection() {
        let activity = Activity::new(true);
        let _request = activity.request();
        let (a, b) = (activity.body_id(), activity.body_id());
        activity.untaken(a);
        activity.taken(a);
        activity.untaken(b);
        assert_eq!(verdict_after(&activity).await, (Verdict::WriteStalled, T.write));
    }

    #[tokio::test(start_paused = true)]
    async fn http2_pings_do_not_keep_an_idle_connection() {
        let activity = Activity::new(true);
        drop(activity.request());
        activity.read();
        assert_eq!(verdict_after(&activity).await, (Verdict::Idle, T.idle));
    }
}
