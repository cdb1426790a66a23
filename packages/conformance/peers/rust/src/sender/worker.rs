//! One worker: a persistent connection, the batches it owes answers for,
//! and what it does with each answer (PEERS.md "send").
//!
//! ```text
//!  resend ◄── connection lost / out of step ◄── inflight (written, unanswered)
//!    ▲                                              │ answer, in order
//!    └── delayed (not ready; writes held) ◄─────────┤ success → delivered
//!                                                   └ error   → rejected
//! ```

mod answers;

use super::conn::{next_event, Conn, Event};
use super::retry::Backoff;
use super::{
    Delivery, SenderConfig, DEFAULT_CONNECT_TIMEOUT, DEFAULT_MAX_RESPONSE_BYTES,
    FIRE_AND_FORGET_WINDOW, LINGER,
};
use crate::listener::Stream;
use crate::report::Stats;
use crate::workload::Batch;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU8, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, Mutex};
use tokio::time::Instant;

/// [`Worker::answering`]: no answer seen yet (fire-and-forget only).
pub(super) const UNKNOWN: u8 = 0;
/// The peer answers: every frame is settled by its answer.
pub(super) const ANSWERS: u8 = 1;
/// The peer never answered anything, and left a frame unanswered for
/// [`AUTO_SILENCE`](super::AUTO_SILENCE) on an open connection: a
/// `--respond none` receiver; done when written, on every worker's
/// connection (one it closes before its worker saw this included: see
/// `on_eof`). A clean close without an answer is not silence but a broken
/// connection (its frames are resent): a refused connection (a receiver at
/// its connection limit) looks the same, over TCP even after a completed
/// write.
pub(super) const SILENT: u8 = 2;

/// A batch and how often the peer answered it "not ready".
pub(super) struct Item {
    pub(super) batch: Batch,
    not_ready: u32,
}

impl Item {
    pub(super) fn new(batch: Batch) -> Self {
        Item {
            batch,
            not_ready: 0,
        }
    }
}

/// A written frame waiting for its answer.
struct Written {
    item: Item,
    at: Instant,
}

pub(super) struct Worker {
    pub(super) id: usize,
    pub(super) config: Arc<SenderConfig>,
    pub(super) queue: Arc<Mutex<mpsc::Receiver<Item>>>,
    /// The same queue, to hand batches back to the other workers (see
    /// [`Worker::hand_back`]); weak, so that the queue still ends when the
    /// [`Sender`](super::Sender) closes it.
    pub(super) requeue: mpsc::WeakSender<Item>,
    pub(super) stats: Arc<Stats>,
    /// Shared by all workers: [`UNKNOWN`], [`ANSWERS`] or [`SILENT`].
    pub(super) answering: Arc<AtomicU8>,
    /// Shared by all workers, one per worker id: its connection stands
    /// (open, and the peer answered on it; with a silent peer, a write on it
    /// completed).
    pub(super) standing: Arc<[AtomicBool]>,
    /// Reconnect backoff, shared by failed connects and refused connections
    /// (see [`Worker::drop_connection`]); restarted only when a connection
    /// stands: the peer answered on it, or (silent peer) a write on it
    /// completed.
    pub(super) backoff: Backoff,
    /// A refused connection: no connect before this instant.
    pub(super) reconnect_at: Option<Instant>,
    conn: Option<Conn>,
    /// Written (or being written), unanswered, oldest first: answers come
    /// in order.
    inflight: VecDeque<Written>,
    /// Taken, not done, to be written (again) before anything new.
    resend: VecDeque<Item>,
    /// Answered "not ready", waiting for `hold_until`.
    delayed: Vec<Item>,
    /// No frame is written before this instant: the peer is not ready.
    hold_until: Option<Instant>,
}

impl Worker {
    pub(super) fn new(
        id: usize,
        config: Arc<SenderConfig>,
        (queue, requeue): (Arc<Mutex<mpsc::Receiver<Item>>>, mpsc::WeakSender<Item>),
        stats: Arc<Stats>,
        answering: Arc<AtomicU8>,
        standing: Arc<[AtomicBool]>,
    ) -> Self {
        let backoff = Backoff::new(&config, id as u64);
        Worker {
            id,
            config,
            queue,
            requeue,
            stats,
            answering,
            standing,
            backoff,
            reconnect_at: None,
            conn: None,
            inflight: VecDeque::new(),
            resend: VecDeque::new(),
            delayed: Vec::new(),
            hold_until: None,
        }
    }

    fn acknowledged(&self) -> bool {
        self.config.delivery == Delivery::Acknowledged
    }

    /// Frames that may wait for answers on the connection. One while
    /// probing (SPEC §5.1): on a new connection, and after a not-ready
    /// answer, until a success answer arrives, so that a peer that answers
    /// and closes (the epoch transition) does not have later frames unread
    /// in its socket, whose close would reset the connection and lose that
    /// answer.
    fn window(&self) -> usize {
        if self.conn.as_ref().is_some_and(|c| c.tracked && c.probing) {
            1
        } else if self.acknowledged() {
            self.config.ack_window.max(1)
        } else {
            FIRE_AND_FORGET_WINDOW
        }
    }

    pub(super) async fn run(mut self) {
        let deadline = self.config.deadline;
        let mut queue_open = true;
        loop {
            self.poll_events();
            let now = Instant::now();
            if self.hold_until.is_some_and(|t| now >= t) {
                self.hold_until = None;
                for item in self.delayed.drain(..).rev() {
                    self.resend.push_front(item);
                }
            }
            let broken = self
                .conn
                .as_ref()
                .and_then(|c| c.broken)
                .map(|t| t + LINGER);
            if broken.is_some_and(|t| now >= t) {
                self.drop_connection(true);
            }
            if self.reconnect_at.is_some_and(|t| now >= t) {
                self.reconnect_at = None;
            }
            // Refused: nothing is taken or written until the backoff ends.
            let refused = self.reconnect_at.filter(|_| self.conn.is_none());
            let silence = self.check_silence(now);
            let stuck = self.check_ack_timeout(now);
            let room = self.hold_until.is_none()
                && self.inflight.len() < self.window()
                && broken.is_none()
                && refused.is_none();
            if room {
                if let Some(item) = self.resend.pop_front() {
                    self.deliver(item).await;
                    if Instant::now() >= deadline {
                        break;
                    }
                    continue;
                }
            }
            if !queue_open
                && self.inflight.is_empty()
                && self.resend.is_empty()
                && self.delayed.is_empty()
            {
                break;
            }
            let wake = [self.hold_until, silence, stuck, broken, refused]
                .into_iter()
                .flatten()
                .min();
            let queue = self.queue.clone();
            tokio::select! {
                biased;
                _ = tokio::time::sleep_until(deadline) => break,
                _ = sleep_until_some(wake), if wake.is_some() => {}
                ev = next_event(&mut self.conn), if self.conn.is_some() => self.on_event(ev),
                b = async { queue.lock().await.recv().await }, if room && queue_open => match b {
                    Some(item) => self.deliver(item).await,
                    None => queue_open = false,
                },
            }
        }
        if self.acknowledged() || self.answering.load(Ordering::Acquire) == ANSWERS {
            for _ in 0..self.inflight.len() {
                self.stats.error("AckTimeout");
            }
        }
        self.finish().await;
    }

    /// Connect if needed, then write the item's frame once. A frame that
    /// could not be written goes back to the resend queue.
    async fn deliver(&mut self, item: Item) {
        if self.conn.is_none() && !self.connect().await {
            self.resend.push_front(item);
            return;
        }
        let Some(conn) = &mut self.conn else {
            self.resend.push_front(item);
            return;
        };
        let payload = item.batch.payload.clone();
        let transactions = item.batch.transactions;
        let now = Instant::now();
        self.stats.update(|c| {
            c.first.get_or_insert_with(std::time::Instant::now);
        });
        // Before writing: the answer may arrive before we look again.
        let mut untracked = Some(item);
        if conn.tracked {
            if let Some(item) = untracked.take() {
                self.inflight.push_back(Written { item, at: now });
            }
        }
        conn.written += 1;
        let written =
            tokio::time::timeout_at(self.config.deadline, conn.writer.write_frame(&payload)).await;
        match written {
            Ok(Ok(())) => {
                conn.flushed += 1;
                let stands = !conn.tracked;
                self.stats.update(|c| {
                    c.frames += 1;
                    c.transactions += transactions;
                    c.bytes += payload.len() as u64;
                });
                if let Some(item) = untracked {
                    self.settle(item.batch, false, None);
                }
                if stands {
                    // A silent peer's connection stands once a frame is written.
                    self.stands();
                }
            }
            Ok(Err(e)) => {
                // The peer may have answered and closed (the deployed
                // epoch-transition close): let the reader deliver those
                // answers before the connection is dropped. The frame is
                // not whole on the wire, so never answered: it leaves
                // `inflight`, which holds written frames only (a peer found
                // silent settles them as delivered).
                eprintln!("txlane-sender: worker {}: write failed: {e}", self.id);
                conn.broken = Some(Instant::now());
                self.standing[self.id].store(false, Ordering::Release);
                let item = untracked.or_else(|| self.inflight.pop_back().map(|w| w.item));
                if let Some(item) = item {
                    self.resend.push_front(item);
                }
            }
            Err(_) => {
                // The deadline while blocked writing (a partial frame may be
                // on the wire): the connection is unusable and the batch is
                // not delivered.
                if let Some(item) = untracked {
                    self.resend.push_front(item);
                }
                self.drop_connection(true);
            }
        }
    }

    /// Open a connection, retrying with backoff until the deadline; false
    /// only once the deadline has passed.
    async fn connect(&mut self) -> bool {
        if Instant::now() >= self.config.deadline {
            // No attempt once the deadline has passed: `run` may come back
            // here once more before it sees the deadline.
            return false;
        }
        loop {
            // One attempt may take DEFAULT_CONNECT_TIMEOUT, and never past the deadline.
            let limit = (Instant::now() + DEFAULT_CONNECT_TIMEOUT).min(self.config.deadline);
            let attempt = tokio::time::timeout_at(limit, Stream::connect(&self.config.endpoint))
                .await
                .unwrap_or_else(|_| Err(std::io::ErrorKind::TimedOut.into()));
            match attempt {
                Ok(stream) => {
                    // The backoff is not restarted here: a peer at its
                    // connection limit accepts and closes at once (see
                    // `drop_connection`). It is when the connection stands.
                    let tracked =
                        self.acknowledged() || self.answering.load(Ordering::Acquire) != SILENT;
                    let max = DEFAULT_MAX_RESPONSE_BYTES;
                    self.conn = Some(Conn::open(stream, self.stats.clone(), max, tracked));
                    return true;
                }
                Err(e) => {
                    self.stats.error("ConnectFailed");
                    // Every failed connect waits, on the backoff or until the
                    // deadline, whichever comes first. Returning at once when
                    // the delay would pass the deadline sent `run` straight
                    // back here: a busy loop of connects until the deadline.
                    let wake =
                        (Instant::now() + self.backoff.next_delay()).min(self.config.deadline);
                    tokio::time::sleep_until(wake).await;
                    if Instant::now() >= self.config.deadline {
                        eprintln!(
                            "txlane-sender: worker {}: giving up connecting: {e}",
                            self.id
                        );
                        return false;
                    }
                }
            }
        }
    }

    /// Graceful end (PEERS.md): half-close, then read until the receiver
    /// closes or [`LINGER`] passes, so it has seen every byte we wrote. Late
    /// answers still settle their batches; a fire-and-forget sender whose
    /// peer never answered counts what it wrote as done.
    async fn finish(&mut self) {
        self.standing[self.id].store(false, Ordering::Release);
        if let Some(conn) = &mut self.conn {
            let _ = tokio::time::timeout(LINGER, conn.writer.shutdown()).await;
            let until = Instant::now() + LINGER;
            while self.conn.is_some() {
                match tokio::time::timeout_at(until, next_event(&mut self.conn)).await {
                    Ok(Some(Event::Response(r))) => self.on_response(r),
                    _ => break,
                }
            }
            self.conn = None;
        }
        if !self.acknowledged() && self.answering.load(Ordering::Acquire) != ANSWERS {
            while let Some(w) = self.inflight.pop_front() {
                self.settle(w.item.batch, false, Some(w.at));
            }
        }
    }
}

async fn sleep_until_some(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::FrameReader;
    use crate::endpoint::Endpoint;
    use crate::sender::AUTO_SILENCE;
    use crate::workload::Workload;
    use std::time::Duration;

    /// One fire-and-forget worker for a Unix socket at `path` (giving up
    /// after 5 s), the `answering` it shares with the other workers, and
    /// its queue.
    fn one_worker(path: &std::path::Path) -> (Worker, Arc<AtomicU8>, mpsc::Sender<Item>) {
        one_worker_for(path, Duration::from_secs(5))
    }

    /// [`one_worker`], giving up after `timeout`.
    fn one_worker_for(
        path: &std::path::Path,
        timeout: Duration,
    ) -> (Worker, Arc<AtomicU8>, mpsc::Sender<Item>) {
        let config = SenderConfig::new(Endpoint::Unix(path.into()), timeout);
        let (tx, rx) = mpsc::channel(1);
        let answering = Arc::new(AtomicU8::new(UNKNOWN));
        let worker = Worker::new(
            0,
            Arc::new(config),
            (Arc::new(Mutex::new(rx)), tx.downgrade()),
            Arc::new(Stats::new()),
            answering.clone(),
            Arc::new([AtomicBool::new(false)]),
        );
        (worker, answering, tx)
    }

    fn item() -> Item {
        Item::new(Workload::new(1, 16).next_batch(2))
    }

    fn temp_dir(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("txlane-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let _ = std::fs::remove_file(dir.join("s.sock"));
        dir
    }

    /// A worker waits for the first answer on its connection; meanwhile
    /// another worker finds the peer silent, and the peer, having read our
    /// frame, exits (the listener goes, then the connection closes
    /// cleanly). The frame is a silent peer's, done when written: settled
    /// at once, not resent to connects refused until the deadline (the CI
    /// failure: "1 of 200 batches undelivered").
    #[tokio::test]
    async fn a_close_after_the_peer_was_found_silent_elsewhere_settles_the_written_frame() {
        let dir = temp_dir("silent-elsewhere");
        let path = dir.join("s.sock");
        let listener = tokio::net::UnixListener::bind(&path).expect("bind");
        let (worker, answering, queue) = one_worker(&path);
        let stats = worker.stats.clone();
        queue.send(item()).await.expect("queue");
        drop(queue);
        let started = Instant::now();
        let run = tokio::spawn(worker.run());
        let (stream, _) = listener.accept().await.expect("accept");
        let mut reader = FrameReader::new(stream, 1 << 20, None);
        reader.read_frame().await.expect("frame").expect("a frame");
        drop(listener);
        answering.store(SILENT, Ordering::Release);
        drop(reader);
        tokio::time::timeout(Duration::from_secs(10), run)
            .await
            .expect("worker done")
            .expect("worker");
        let c = stats.snapshot();
        assert_eq!((c.delivered, c.frames, c.acknowledged), (1, 1, 0), "{c:?}");
        assert_eq!(c.errors.get("ConnectFailed"), None, "{c:?}");
        assert!(started.elapsed() < AUTO_SILENCE, "{:?}", started.elapsed());
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// A frame whose write failed (the peer closed at once, unread) is not
    /// written: even with the peer known silent (another worker found it),
    /// neither `check_silence` nor the close settles it; it is resent.
    #[tokio::test]
    async fn a_failed_write_is_resent_even_to_a_peer_known_silent() {
        let dir = temp_dir("failed-write");
        let path = dir.join("s.sock");
        let listener = tokio::net::UnixListener::bind(&path).expect("bind");
        let (mut worker, answering, _queue) = one_worker(&path);
        assert!(worker.connect().await);
        drop(listener.accept().await.expect("accept"));
        answering.store(SILENT, Ordering::Release);
        worker.deliver(item()).await;
        assert!(worker.conn.as_ref().is_some_and(|c| c.broken.is_some()));
        worker.check_silence(Instant::now());
        worker.on_event(Some(super::super::conn::Event::Closed { clean: true }));
        let c = worker.stats.snapshot();
        assert_eq!((c.delivered, c.frames), (0, 0), "{c:?}");
        assert_eq!(worker.resend.len(), 1);
        let _ = std::fs::remove_dir_all(&dir);
    }

    /// No peer at all (a socket path nobody listens on: every connect
    /// fails at once): each failed connect is followed by the backoff,
    /// capped at the deadline, never by another connect at once. Giving up
    /// early, when the next delay would pass the deadline, sent the run
    /// loop straight back into `connect`: a busy loop of thousands of
    /// connects in the last second before the deadline.
    #[tokio::test]
    async fn failed_connects_wait_on_the_backoff_until_the_deadline() {
        let dir = temp_dir("no-listener");
        let path = dir.join("s.sock");
        let timeout = Duration::from_millis(1500);
        let (worker, _answering, queue) = one_worker_for(&path, timeout);
        let stats = worker.stats.clone();
        let deadline = worker.config.deadline;
        queue.send(item()).await.expect("queue");
        drop(queue);
        tokio::time::timeout(timeout + Duration::from_secs(5), worker.run())
            .await
            .expect("worker done");
        let ended = Instant::now();
        let c = stats.snapshot();
        // The backoff (20 ms doubling to 1 s, each delay at least half)
        // allows 7 or 8 connects in 1.5 s; the busy loop made thousands.
        let failed = c.errors.get("ConnectFailed").copied().unwrap_or(0);
        assert!((2..50).contains(&failed), "{failed} connects: {c:?}");
        assert_eq!((c.delivered, c.frames), (0, 0), "{c:?}");
        // The batch stays undelivered until the deadline, not given up on
        // earlier.
        assert!(ended >= deadline, "ended {:?} early", deadline - ended);
        assert!(
            ended < deadline + Duration::from_millis(500),
            "{:?}",
            ended - deadline
        );
        // Nor is there an attempt after the deadline.
        let (mut worker, _, _queue) = one_worker_for(&path, Duration::ZERO);
        assert!(!worker.connect().await);
        assert_eq!(worker.stats.snapshot().errors.get("ConnectFailed"), None);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
