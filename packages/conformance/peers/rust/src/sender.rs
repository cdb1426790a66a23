//! The sender: the seed's channel-based design (a bounded batch queue feeding
//! N workers, each owning one persistent connection), plus what the seed
//! left out: it always reads its connections, reconnects with capped
//! exponential backoff and jitter, resends batches a broken connection did
//! not finish, and settles every batch by its answer whenever the peer
//! answers (PEERS.md "send"):
//!
//! - `"success":true` (a `"queued":true` success included): delivered;
//! - `Node not ready…`: transient; retried on [`TransientRetry`]'s schedule
//!   while the worker holds its writes; a close after it is expected, and
//!   the batches it left unanswered are resent;
//! - `Transaction too large…`: rejected, and the stream is out of step: the
//!   connection is replaced and every unanswered batch after it resent;
//! - any other error: rejected (a verdict).
//!
//! A worker whose connection breaks hands the batches it holds back to the
//! queue (as far as it has room) when another worker's connection stands
//! (the peer answered on it); otherwise it resends them once reconnected.
//! The sender keeps no order across workers. A connection the peer closes
//! before answering anything on it (with a silent peer: before a write on
//! it completed) was refused, as by a receiver at its connection limit,
//! which accepts and closes at once: the worker waits on its reconnect
//! backoff, as after a failed connect.
//!
//! In fire-and-forget mode the sender learns whether the peer answers: it
//! is taken as silent (`--respond none`; frames done when written) only once
//! a frame went unanswered for [`AUTO_SILENCE`] on an open connection. A
//! clean close without an answer, before the peer is known, is a broken
//! connection (its frames are resent), never silence: a refused connection
//! looks the same, over TCP even after a completed write. What is learnt is
//! shared by the workers: once one found the peer silent, a clean close of
//! another's connection that has not answered settles the frames written on
//! it as a silent peer's (that peer left, e.g. a receiver exiting once it
//! has every batch; a resend would go to nobody).
//!
//! ```text
//!  send() ──► bounded queue (--queue) ──► worker 1..N ── one connection each
//!                                            ▲   │ write frames (pipelined)
//!                                            │   ▼
//!                                            └── reader task: responses → events
//! ```

mod conn;
mod retry;
mod worker;

pub use retry::{classify, ErrorKind, TransientRetry};

use crate::endpoint::Endpoint;
use crate::frame::DEFAULT_MAX_FRAME_BYTES;
use crate::report::{Counters, Stats};
use crate::workload::{Batch, Workload};
use std::sync::atomic::{AtomicBool, AtomicU8};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Mutex};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use worker::{Item, Worker};

/// Default worker count: the TypeScript sender's 4 (shared defaults:
/// `packages/protocol/vectors/defaults.json`).
pub const DEFAULT_WORKERS: usize = 4;
/// Default batch queue capacity: the seed's 1000-batch channel.
pub const DEFAULT_QUEUE: usize = 1000;
/// Default unacknowledged frames per connection in acknowledged mode. Bounds
/// both our memory for resends and the responses the server may owe us.
pub const DEFAULT_ACK_WINDOW: usize = 64;
/// First reconnect delay (the TypeScript sender's 20 ms).
pub const DEFAULT_BACKOFF_INITIAL: Duration = Duration::from_millis(20);
/// How long the oldest written frame may wait for its answer, from a peer
/// that answers, before the connection is presumed stuck: it is dropped and
/// its unanswered batches resent (`AckTimeout`). The TypeScript sender's
/// 30 s: a consensus node under load may take seconds to answer.
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// Limit on one connect attempt (the TypeScript sender's 5 s).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest answer frame read: answers are short JSON, so a larger one is a
/// broken peer (the connection is dropped and its batches resent).
pub const DEFAULT_MAX_RESPONSE_BYTES: usize = 256 * 1024;
/// Reconnect delay cap: a restarting receiver is found within a second.
pub const DEFAULT_BACKOFF_MAX: Duration = Duration::from_secs(1);
/// How long a finishing worker waits for the receiver to close after our
/// half-close (PEERS.md: "read until EOF (or 1 s)").
pub const LINGER: Duration = Duration::from_secs(1);
/// First not-ready retry delay (`--transient-retry-ms`).
pub const DEFAULT_TRANSIENT_RETRY: Duration = Duration::from_millis(100);
/// Not-ready retry delay cap: the deployed Go producer's fixed 4 s.
pub const DEFAULT_TRANSIENT_RETRY_MAX: Duration = Duration::from_secs(4);
/// Not-ready retries of one batch: the deployed Go producer's 30.
pub const DEFAULT_TRANSIENT_RETRIES: u32 = 30;
/// Fire-and-forget: a peer that has answered nothing this long after a
/// frame was written, on a connection still open, is taken as silent
/// (`--respond none`), and frames are done when written from then on (the
/// TypeScript sender's value). This is the only way a peer is found silent:
/// a clean close without any answer, before the peer is known, is treated
/// as a broken connection (its unanswered frames are resent), since a
/// refused connection (a receiver at its connection limit accepts and closes
/// at once) looks the same, over TCP even after our write completed (into
/// the kernel, after the peer's FIN was sent and before we read it).
pub const AUTO_SILENCE: Duration = Duration::from_secs(1);
/// Fire-and-forget: written frames per connection whose answers may be
/// outstanding. Large, so pipelining is not throttled; it bounds memory.
pub const FIRE_AND_FORGET_WINDOW: usize = 1024;

/// When a batch counts as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    /// Without waiting for its answer before writing more; it is settled by
    /// its answer when the peer answers, and done when written when the
    /// peer is silent (nothing ever answered, and a frame left unanswered
    /// for [`AUTO_SILENCE`] on an open connection). A clean close without an
    /// answer before the peer is known is a broken connection, its frames
    /// resent, not silence (see [`AUTO_SILENCE`]).
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
    /// Workers (= connections); at least 1. Default 4.
    pub workers: usize,
    /// Batch queue capacity; at least 1. Default 1000.
    pub queue: usize,
    /// Largest payload this sender puts on the wire. Default 10 MiB.
    pub max_frame_bytes: usize,
    /// Unacknowledged frames per connection (acknowledged mode). Default 64.
    pub ack_window: usize,
    /// How long the oldest frame may wait for its answer. Default 30 s.
    pub ack_timeout: Duration,
    /// First reconnect delay. Default 20 ms.
    pub backoff_initial: Duration,
    /// Largest reconnect delay. Default 1 s.
    pub backoff_max: Duration,
    /// Retry schedule of batches answered "not ready". Default 100 ms
    /// doubling to 4 s, 30 retries.
    pub transient_retry: TransientRetry,
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
            ack_timeout: DEFAULT_ACK_TIMEOUT,
            backoff_initial: DEFAULT_BACKOFF_INITIAL,
            backoff_max: DEFAULT_BACKOFF_MAX,
            transient_retry: TransientRetry {
                initial: DEFAULT_TRANSIENT_RETRY,
                max: DEFAULT_TRANSIENT_RETRY_MAX,
                retries: DEFAULT_TRANSIENT_RETRIES,
            },
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
    queue: mpsc::Sender<Item>,
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
        let answering = Arc::new(AtomicU8::new(worker::UNKNOWN));
        let count = config.workers.max(1);
        let standing: Arc<[AtomicBool]> = (0..count).map(|_| AtomicBool::new(false)).collect();
        let workers = (0..count)
            .map(|id| {
                let worker = Worker::new(
                    id,
                    config.clone(),
                    (rx.clone(), tx.downgrade()),
                    stats.clone(),
                    answering.clone(),
                    standing.clone(),
                );
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
        let item = Item::new(batch);
        match tokio::time::timeout_at(self.deadline, self.queue.send(item)).await {
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
