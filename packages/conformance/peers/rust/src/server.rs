//! The receiver: accept connections, decode frames, submit batches through a
//! bounded handler pool, answer in request order (SPEC §5, §6).
//!
//! ```text
//!  accept loop ── permit (max_connections) ──► connection task
//!                                               │ reader: decode frames
//!                                               │   ├─ job ──► bounded job queue ──► handler 1..N (the seed's max_handlers)
//!                                               │   └─ slot ─► per-connection response queue (bounded, in order)
//!                                               └ writer: await each slot in order, write its response
//! ```
//!
//! Backpressure: the reader awaits room in the job queue and in its response
//! queue before reading more, so a slow handler pool or a client that does
//! not read its responses stops that connection's reads, never memory.

mod connection;
mod handler;

use crate::frame::DEFAULT_MAX_FRAME_BYTES;
use crate::listener::{Listener, DEFAULT_SOCKET_MODE};
use crate::report::{Counters, Stats};
use crate::shutdown::Shutdown;
use bytes::Bytes;
use connection::serve_connection;
use handler::{Job, Shared};
use std::future::Future;
use std::io;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, Semaphore};

/// Default handler pool size: the TypeScript receiver's 16, enough parallel
/// submits for 16 sender connections.
pub const DEFAULT_HANDLERS: usize = 16;
/// Default job queue capacity: enough to keep every handler busy while the
/// readers decode the next frames, small enough to bound memory (each job
/// holds one frame of at most `max_frame_bytes`).
pub const DEFAULT_QUEUE_CAPACITY: usize = 64;
/// Default connection limit; the deployed server had none.
pub const DEFAULT_MAX_CONNECTIONS: usize = 1024;
/// Default number of responses a connection may have pending (decoded but
/// not yet written) before its reader stops reading.
/// The TypeScript receiver's `connectionQueueCapacity` (64).
pub const DEFAULT_PENDING_RESPONSES: usize = 64;
/// Default stall timeout inside a frame: 10 MiB arrives in milliseconds
/// locally, so only a stalled peer hits 10 s (the TypeScript value).
pub const DEFAULT_FRAME_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a lingering close keeps draining input after an oversize frame
/// (the TypeScript receiver's `lingerMs`).
pub const DEFAULT_LINGER: Duration = Duration::from_secs(1);
/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop
/// does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// A boxed, sendable future, as [`Submit::submit`] returns it.
pub type BoxFuture<'a, T> = std::pin::Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The application behind the receiver: what "submitting" an accepted batch
/// means. The server calls it from its handler tasks, concurrently, once per
/// well-formed non-empty frame, before recording (`--record`), counting and
/// answering that frame. `Ok` accepts the batch (answered
/// `{"success":true,"count":N}`); `Err(text)` is answered
/// `Transaction submission failed: text`, counted as `SubmitFailed`, and the
/// batch is neither recorded nor counted.
pub trait Submit: Send + Sync + 'static {
    /// Submit the transactions of one frame (views into the frame payload).
    fn submit(&self, transactions: Vec<Bytes>) -> BoxFuture<'_, Result<(), String>>;
}

/// The default [`Submit`]: accept everything (a testee has no consensus
/// engine behind it; PEERS.md "a receiver submits by recording and counting").
#[derive(Debug, Clone, Copy, Default)]
pub struct AcceptAll;

impl Submit for AcceptAll {
    fn submit(&self, _transactions: Vec<Bytes>) -> BoxFuture<'_, Result<(), String>> {
        Box::pin(std::future::ready(Ok(())))
    }
}

/// Whether the receiver answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RespondMode {
    /// Never write (the seed's fire-and-forget).
    None,
    /// One JSON response frame per request frame.
    Json,
}

/// How a payload is interpreted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadMode {
    /// A `Transactions` envelope (SPEC §4).
    Transactions,
    /// Submitted as is, counted as one transaction.
    Raw,
}

/// Receiver settings. `Default` gives the documented defaults.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Payload limit (SPEC §3). Default 10 MiB.
    pub max_frame_bytes: usize,
    /// Default [`RespondMode::Json`].
    pub respond: RespondMode,
    /// Default [`PayloadMode::Transactions`].
    pub payload: PayloadMode,
    /// Handler tasks submitting batches; at least 1. Default 16.
    pub handlers: usize,
    /// Capacity of the job queue feeding the handlers; at least 1. Default 64.
    pub queue_capacity: usize,
    /// Connections served at once; further clients wait in the listen
    /// backlog. Default 1024.
    pub max_connections: usize,
    /// Responses pending per connection before its reader pauses. Default 64.
    pub pending_responses: usize,
    /// Close a connection that makes no progress inside a frame for this
    /// long; `None` waits forever. Default 10 s.
    pub frame_timeout: Option<Duration>,
    /// Append accepted payloads to this file (PEERS.md `--record`).
    pub record: Option<PathBuf>,
    /// Shut down once this many transactions were submitted and answered.
    pub expect_transactions: Option<u64>,
    /// Mode of a created Unix socket file. Default `0o600`.
    pub socket_mode: u32,
    /// Upper bound on the graceful drain; tasks still busy after it (a
    /// client that never reads its responses) are abandoned. Default 10 s.
    pub drain_timeout: Duration,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            respond: RespondMode::Json,
            payload: PayloadMode::Transactions,
            handlers: DEFAULT_HANDLERS,
            queue_capacity: DEFAULT_QUEUE_CAPACITY,
            max_connections: DEFAULT_MAX_CONNECTIONS,
            pending_responses: DEFAULT_PENDING_RESPONSES,
            frame_timeout: Some(DEFAULT_FRAME_TIMEOUT),
            record: None,
            expect_transactions: None,
            socket_mode: DEFAULT_SOCKET_MODE,
            drain_timeout: Duration::from_secs(10),
        }
    }
}

/// Run a receiver on `listener` until `shutdown` completes (or
/// `expect_transactions` is reached), then drain gracefully: stop accepting,
/// remove the socket file, finish every decoded frame, flush responses.
/// Returns the final counters for the report.
pub async fn run(
    listener: Listener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
) -> io::Result<Counters> {
    let stats = Arc::new(Stats::new());
    run_with_stats(listener, config, shutdown, stats).await
}

/// [`run`] with caller-owned counters, so a test can watch them live.
pub async fn run_with_stats(
    listener: Listener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
    stats: Arc<Stats>,
) -> io::Result<Counters> {
    run_with_submit(listener, config, shutdown, stats, Arc::new(AcceptAll)).await
}

/// [`run_with_stats`] with the application's [`Submit`] (the testee kit's
/// receiver; [`run`] uses [`AcceptAll`]).
pub async fn run_with_submit(
    listener: Listener,
    config: ServerConfig,
    shutdown: impl Future<Output = ()>,
    stats: Arc<Stats>,
    submitter: Arc<dyn Submit>,
) -> io::Result<Counters> {
    let record = match &config.record {
        Some(path) => Some(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)?,
        )),
        None => None,
    };
    let handlers = config.handlers.max(1);
    let (job_tx, job_rx) = mpsc::channel::<Job>(config.queue_capacity.max(1));
    let shared = Arc::new(Shared::new(config, submitter, stats.clone(), record));

    // The handler pool: N tasks sharing one receiver. The mutex is held only
    // while waiting for the next job, never while handling one.
    let job_rx = Arc::new(tokio::sync::Mutex::new(job_rx));
    let mut pool = Vec::with_capacity(handlers);
    for _ in 0..handlers {
        let job_rx = job_rx.clone();
        let shared = shared.clone();
        pool.push(tokio::spawn(async move {
            loop {
                let job = job_rx.lock().await.recv().await;
                let Some(job) = job else { break };
                let outcome = shared.handle(job.payload).await;
                match job.reply {
                    // The connection may be gone; then nobody wants it.
                    Some(reply) => drop(reply.send(outcome)),
                    None => shared.transactions_done(outcome.submitted),
                }
            }
        }));
    }

    let (notify_shutdown, _) = broadcast::channel::<()>(1);
    // Every connection task holds a clone; `recv` returning `None` after we
    // drop ours means they all finished (mini-redis's drain trick).
    let (conn_done_tx, mut conn_done_rx) = mpsc::channel::<()>(1);
    let limit = Arc::new(Semaphore::new(shared.config.max_connections.max(1)));

    tokio::pin!(shutdown);
    let expect_enabled = shared.config.expect_transactions.is_some();
    loop {
        // Take the permit before accepting: at the limit, new clients wait
        // in the kernel's backlog instead of costing a task.
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            _ = shared.expect_reached.notified(), if expect_enabled => break,
            p = limit.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let stream = tokio::select! {
            _ = &mut shutdown => break,
            _ = shared.expect_reached.notified(), if expect_enabled => break,
            s = listener.accept() => s,
        };
        match stream {
            Ok(stream) => {
                let shared = shared.clone();
                let jobs = job_tx.clone();
                let stop = Shutdown::new(notify_shutdown.subscribe());
                let done = conn_done_tx.clone();
                tokio::spawn(async move {
                    serve_connection(stream, shared, jobs, stop).await;
                    drop(permit);
                    drop(done);
                });
            }
            Err(e) => {
                eprintln!("txlane-receiver: accept failed: {e}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }

    // Stop accepting and remove the socket file first, so new clients fail
    // fast instead of queueing behind a server that is going away.
    drop(listener);
    let _ = notify_shutdown.send(());
    drop(job_tx);
    drop(conn_done_tx);
    let drain = async {
        let _ = conn_done_rx.recv().await;
        for h in pool {
            let _ = h.await;
        }
    };
    if tokio::time::timeout(shared.config.drain_timeout, drain)
        .await
        .is_err()
    {
        eprintln!("txlane-receiver: drain timed out; abandoning unfinished connections");
    }
    Ok(stats.snapshot())
}
