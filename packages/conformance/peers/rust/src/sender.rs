//! The sender: the seed's channel-based design (a bounded batch queue feeding
//! N workers, each owning one persistent connection), plus what the seed
//! left out: it always reads its connections, reconnects with capped
//! exponential backoff and jitter, resends batches a broken connection did
//! not finish, and optionally waits for acknowledgements.
//!
//! ```text
//!  send() ──► bounded queue (--queue) ──► worker 1..N ── one connection each
//!                                            ▲   │ write frames (pipelined)
//!                                            │   ▼
//!                                            └── reader task: responses → events
//! ```

use crate::connection::{FrameReader, FrameWriter};
use crate::endpoint::Endpoint;
use crate::frame::DEFAULT_MAX_FRAME_BYTES;
use crate::listener::{Stream, WriteHalf};
use crate::report::{Counters, Stats};
use crate::response::{self, Response};
use crate::workload::{Batch, SplitMix64, Workload};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Default worker count: the seed's 10–20 workers, at the low end.
pub const DEFAULT_WORKERS: usize = 10;
/// Default batch queue capacity: the seed's 1000-batch channel.
pub const DEFAULT_QUEUE: usize = 1000;
/// Default unacknowledged frames per connection in acknowledged mode. Bounds
/// both our memory for resends and the responses the server may owe us.
pub const DEFAULT_ACK_WINDOW: usize = 64;
/// First reconnect delay.
pub const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_millis(10);
/// Reconnect delay cap: a restarting receiver is found within a second.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// How long a finishing worker waits for the receiver to close after our
/// half-close (PEERS.md: "read until EOF (or 1 s)").
pub const LINGER: Duration = Duration::from_secs(1);

/// When a batch counts as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// When its frame is written.
    FireAndForget,
    /// When a `"success":true` response for it arrives.
    Acknowledged,
}

/// Sender settings.
#[derive(Debug, Clone)]
pub struct SenderConfig {
    /// Where to connect.
    pub endpoint: Endpoint,
    /// Default [`Delivery::FireAndForget`].
    pub delivery: Delivery,
    /// Workers (= connections); at least 1. Default 10.
    pub workers: usize,
    /// Batch queue capacity; at least 1. Default 1000.
    pub queue: usize,
    /// Largest payload this sender puts on the wire. Default 10 MiB.
    pub max_frame_bytes: usize,
    /// Unacknowledged frames per connection (acknowledged mode). Default 64.
    pub ack_window: usize,
    /// First reconnect delay. Default 10 ms.
    pub backoff_initial: Duration,
    /// Largest reconnect delay. Default 1 s.
    pub backoff_max: Duration,
    /// Give up at this instant: undone batches are reported undelivered.
    pub deadline: Instant,
}

impl SenderConfig {
    /// Defaults for `endpoint`, giving up `timeout` from now.
    pub fn new(endpoint: Endpoint, timeout: Duration) -> Self {
        SenderConfig {
            endpoint,
            delivery: Delivery::FireAndForget,
            workers: DEFAULT_WORKERS,
            queue: DEFAULT_QUEUE,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            ack_window: DEFAULT_ACK_WINDOW,
            backoff_initial: DEFAULT_BACKOFF_INITIAL,
            backoff_max: DEFAULT_BACKOFF_MAX,
            deadline: Instant::now() + timeout,
        }
    }
}

/// Why [`Sender::send`] did not queue a batch.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The payload exceeds `max_frame_bytes` (SPEC §3: rejected before
    /// queueing, never put on the wire).
    #[error("batch too large: {length} bytes (max: {max})")]
    FrameTooLarge {
        /// Payload size.
        length: u64,
        /// The sender's limit.
        max: u64,
    },
    /// The deadline passed while waiting for room in the queue.
    #[error("deadline reached while the queue was full")]
    Timeout,
    /// Every worker has stopped.
    #[error("sender closed")]
    Closed,
}

/// A running sender: a queue and its workers.
pub struct Sender {
    queue: mpsc::Sender<Batch>,
    workers: Vec<JoinHandle<()>>,
    stats: Arc<Stats>,
    deadline: Instant,
    max_frame_bytes: usize,
}

impl Sender {
    /// Spawn the workers. Connections are opened lazily, on a worker's first
    /// batch.
    pub fn start(config: SenderConfig) -> Sender {
        let stats = Arc::new(Stats::new());
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let rx = Arc::new(Mutex::new(rx));
        let config = Arc::new(config);
        let workers = (0..config.workers.max(1))
            .map(|id| {
                let worker = Worker {
                    id,
                    config: config.clone(),
                    queue: rx.clone(),
                    stats: stats.clone(),
                    conn: None,
                    inflight: VecDeque::new(),
                    resend: VecDeque::new(),
                    backoff: Backoff::new(&config, id as u64),
                };
                tokio::spawn(worker.run())
            })
            .collect();
        Sender {
            queue: tx,
            workers,
            stats,
            deadline: config.deadline,
            max_frame_bytes: config.max_frame_bytes,
        }
    }

    /// The live counters.
    pub fn stats(&self) -> Arc<Stats> {
        self.stats.clone()
    }

    /// Queue a batch, waiting while the queue is full (backpressure).
    pub async fn send(&self, batch: Batch) -> Result<(), SendError> {
        if batch.payload.len() > self.max_frame_bytes {
            self.stats.error("FrameTooLarge");
            return Err(SendError::FrameTooLarge {
                length: batch.payload.len() as u64,
                max: self.max_frame_bytes as u64,
            });
        }
        match tokio::time::timeout_at(self.deadline, self.queue.send(batch)).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(SendError::Closed),
            Err(_) => Err(SendError::Timeout),
        }
    }

    /// Stop taking batches, let the workers finish the queue (or reach the
    /// deadline), close their connections gracefully, and return the counters.
    /// `undelivered` is filled in by the caller, which knows how many batches
    /// it meant to send.
    pub async fn close(self) -> Counters {
        drop(self.queue);
        for w in self.workers {
            let _ = w.await;
        }
        self.stats.snapshot()
    }
}

/// What a connection's reader task reports to its worker.
enum Event {
    /// A response frame (decoded or not).
    Response(Result<Response, response::MalformedResponse>),
    /// The connection ended (EOF or error).
    Closed,
}

/// One live connection.
struct Conn {
    writer: FrameWriter<WriteHalf>,
    /// Unbounded on purpose: if the worker is busy writing, the reader must
    /// still drain the socket, or a responding server blocks and our write
    /// never completes. It holds at most one event per frame we wrote, and
    /// in acknowledged mode that is bounded by the ack window.
    events: mpsc::UnboundedReceiver<Event>,
    reader: JoinHandle<()>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// Capped exponential backoff with jitter (each delay uniform in
/// `[d/2, d]`), so workers reconnecting together do not retry in lockstep.
struct Backoff {
    initial: Duration,
    max: Duration,
    current: Duration,
    rng: SplitMix64,
}

impl Backoff {
    fn new(config: &SenderConfig, salt: u64) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0);
        Backoff {
            initial: config.backoff_initial,
            max: config.backoff_max,
            current: config.backoff_initial,
            rng: SplitMix64::new(nanos ^ salt.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        }
    }

    fn reset(&mut self) {
        self.current = self.initial;
    }

    fn next_delay(&mut self) -> Duration {
        let d = self.current;
        self.current = (self.current * 2).min(self.max);
        let half = d / 2;
        let span = (d - half).as_nanos() as u64;
        let jitter = if span == 0 {
            0
        } else {
            self.rng.next_u64() % (span + 1)
        };
        half + Duration::from_nanos(jitter)
    }
}

struct Worker {
    id: usize,
    config: Arc<SenderConfig>,
    queue: Arc<Mutex<mpsc::Receiver<Batch>>>,
    stats: Arc<Stats>,
    conn: Option<Conn>,
    /// Written, not yet acknowledged (acknowledged mode), oldest first: the
    /// server answers in order, so a response belongs to the front entry.
    inflight: VecDeque<Batch>,
    /// Taken but not done, to be written again on a new connection.
    resend: VecDeque<Batch>,
    backoff: Backoff,
}

impl Worker {
    fn acknowledged(&self) -> bool {
        self.config.delivery == Delivery::Acknowledged
    }

    async fn run(mut self) {
        let deadline = self.config.deadline;
        let mut queue_open = true;
        loop {
            self.poll_events();
            let room = !self.acknowledged() || self.inflight.len() < self.config.ack_window.max(1);
            if room {
                if let Some(batch) = self.resend.pop_front() {
                    self.deliver(batch).await;
                    if Instant::now() >= deadline {
                        break;
                    }
                    continue;
                }
            }
            if !queue_open && self.inflight.is_empty() {
                break;
            }
            let queue = self.queue.clone();
            tokio::select! {
                biased;
                _ = tokio::time::sleep_until(deadline) => break,
                ev = next_event(&mut self.conn), if self.conn.is_some() => self.on_event(ev),
                b = async { queue.lock().await.recv().await }, if room && queue_open => match b {
                    Some(batch) => self.deliver(batch).await,
                    None => queue_open = false,
                },
            }
        }
        let unfinished = self.inflight.len();
        if unfinished > 0 {
            for _ in 0..unfinished {
                self.stats.error("AckTimeout");
            }
        }
        self.finish().await;
    }

    /// Handle every event already waiting, without blocking.
    fn poll_events(&mut self) {
        while let Some(conn) = &mut self.conn {
            match conn.events.try_recv() {
                Ok(ev) => self.on_event(Some(ev)),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => self.on_event(None),
            }
        }
    }

    fn on_event(&mut self, ev: Option<Event>) {
        match ev {
            Some(Event::Response(r)) => {
                if !self.acknowledged() {
                    return; // counted by the reader; nothing to match
                }
                match r {
                    Ok(resp) => match self.inflight.pop_front() {
                        Some(_) if resp.success => self.stats.update(|c| {
                            c.acknowledged += 1;
                            c.delivered += 1;
                            c.touch();
                        }),
                        // Rejected by the application: resending would be
                        // rejected again, so it stays undelivered.
                        Some(_) => self.stats.error("Rejected"),
                        None => self.stats.error("UnexpectedResponse"),
                    },
                    // We cannot tell what the server did with the batch, and
                    // pairing of later responses is suspect: drop the
                    // connection and resend (at-least-once).
                    Err(_) => self.connection_lost(),
                }
            }
            Some(Event::Closed) | None => self.connection_lost(),
        }
    }

    /// The connection broke: forget it; everything unacknowledged goes
    /// back, in order, ahead of anything else waiting to be resent.
    fn connection_lost(&mut self) {
        if self.conn.take().is_some() {
            self.stats.error("ConnectionLost");
        }
        while let Some(b) = self.inflight.pop_back() {
            self.resend.push_front(b);
        }
    }

    /// Connect (retrying until the deadline) if needed, then write `batch`
    /// once. A batch that could not be written goes to the resend queue.
    async fn deliver(&mut self, batch: Batch) {
        if self.conn.is_none() && !self.connect().await {
            self.resend.push_front(batch);
            return;
        }
        let Some(conn) = &mut self.conn else {
            self.resend.push_front(batch);
            return;
        };
        let ack = self.config.delivery == Delivery::Acknowledged;
        if ack {
            // Before writing: the response may arrive before we look again.
            self.inflight.push_back(batch.clone());
        }
        self.stats.update(|c| {
            c.first.get_or_insert_with(std::time::Instant::now);
        });
        let written = tokio::time::timeout_at(
            self.config.deadline,
            conn.writer.write_frame(&batch.payload),
        )
        .await;
        match written {
            Ok(Ok(())) => {
                self.stats.update(|c| {
                    c.frames += 1;
                    c.transactions += batch.transactions;
                    c.bytes += batch.payload.len() as u64;
                    c.digest.merge(batch.digest);
                    if !ack {
                        c.delivered += 1;
                        c.touch();
                    }
                });
            }
            Ok(Err(e)) => {
                eprintln!("txlane-sender: worker {}: write failed: {e}", self.id);
                if ack {
                    self.connection_lost(); // moves `batch` back from inflight
                } else {
                    self.connection_lost();
                    self.resend.push_front(batch);
                }
            }
            Err(_) => {
                // Deadline while blocked writing: a partial frame may be on
                // the wire, so the connection is unusable; the batch is
                // undelivered.
                if !ack {
                    self.resend.push_front(batch);
                }
                self.connection_lost();
            }
        }
    }

    /// Open a connection, retrying with backoff until the deadline.
    async fn connect(&mut self) -> bool {
        loop {
            let attempt = tokio::time::timeout_at(
                self.config.deadline,
                Stream::connect(&self.config.endpoint),
            )
            .await;
            match attempt {
                Ok(Ok(stream)) => {
                    self.backoff.reset();
                    self.conn = Some(self.open(stream));
                    return true;
                }
                Ok(Err(e)) => {
                    self.stats.error("ConnectFailed");
                    let delay = self.backoff.next_delay();
                    if Instant::now() + delay >= self.config.deadline {
                        eprintln!(
                            "txlane-sender: worker {}: giving up connecting: {e}",
                            self.id
                        );
                        return false;
                    }
                    tokio::time::sleep(delay).await;
                }
                Err(_) => {
                    self.stats.error("ConnectFailed");
                    return false;
                }
            }
        }
    }

    /// Start the reader task for a fresh connection.
    fn open(&self, stream: Stream) -> Conn {
        let (rd, wr) = stream.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        let stats = self.stats.clone();
        let max = self.config.max_frame_bytes;
        let reader = tokio::spawn(async move {
            let mut reader = FrameReader::new(rd, max, None);
            loop {
                match reader.read_frame().await {
                    Ok(Some(payload)) => {
                        let parsed = response::decode(&payload);
                        stats.update(|c| match &parsed {
                            Ok(r) if r.success => c.responses_ok += 1,
                            Ok(_) => c.responses_error += 1,
                            Err(_) => *c.errors.entry("MalformedResponse".into()).or_insert(0) += 1,
                        });
                        if tx.send(Event::Response(parsed)).is_err() {
                            break;
                        }
                    }
                    Ok(None) | Err(_) => {
                        let _ = tx.send(Event::Closed);
                        break;
                    }
                }
            }
        });
        Conn {
            writer: FrameWriter::new(wr),
            events: rx,
            reader,
        }
    }

    /// Graceful end (PEERS.md): half-close, then read until the receiver
    /// closes or [`LINGER`] passes, so it has seen every byte we wrote.
    async fn finish(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        let _ = tokio::time::timeout(LINGER, conn.writer.shutdown()).await;
        let until = Instant::now() + LINGER;
        // Anything but a response (our reader saw EOF, or LINGER passed)
        // ends the wait.
        while let Ok(Some(Event::Response(r))) =
            tokio::time::timeout_at(until, conn.events.recv()).await
        {
            // Late acknowledgements (after the deadline) still count.
            if self.acknowledged() && self.inflight.front().is_some() {
                self.inflight.pop_front();
                if r.is_ok_and(|resp| resp.success) {
                    self.stats.update(|c| {
                        c.acknowledged += 1;
                        c.delivered += 1;
                        c.touch();
                    });
                }
            }
        }
    }
}

/// Wait for the next event of the current connection (`None` if the reader
/// is gone).
async fn next_event(conn: &mut Option<Conn>) -> Option<Event> {
    match conn {
        Some(c) => c.events.recv().await,
        None => std::future::pending().await,
    }
}

/// The workload of a `send` run (PEERS.md flags).
#[derive(Debug, Clone, Copy)]
pub struct WorkloadSpec {
    /// `--seed`.
    pub seed: u64,
    /// `--batches`.
    pub batches: u64,
    /// `--tx-per-batch`.
    pub tx_per_batch: usize,
    /// `--tx-size`.
    pub tx_size: usize,
}

/// Generate and send a whole workload, then close; `undelivered` is set.
pub async fn run(config: SenderConfig, spec: WorkloadSpec) -> Counters {
    let sender = Sender::start(config);
    let mut workload = Workload::new(spec.seed, spec.tx_size);
    for _ in 0..spec.batches {
        let batch = workload.next_batch(spec.tx_per_batch);
        match sender.send(batch).await {
            Ok(()) | Err(SendError::FrameTooLarge { .. }) => {}
            Err(e) => {
                eprintln!("txlane-sender: stopped queueing: {e}");
                break;
            }
        }
    }
    let mut counters = sender.close().await;
    counters.undelivered = spec.batches.saturating_sub(counters.delivered);
    counters
}
