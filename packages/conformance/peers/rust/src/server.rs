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

use crate::connection::{frame_error, FrameReader, FrameWriter};
use crate::digest::Digest;
use crate::envelope;
use crate::frame::{FrameError, DEFAULT_MAX_FRAME_BYTES};
use crate::listener::{Listener, Stream, WriteHalf, DEFAULT_SOCKET_MODE};
use crate::report::{Counters, Stats};
use crate::response::Response;
use crate::shutdown::Shutdown;
use bytes::Bytes;
use std::future::Future;
use std::io::{self, Write};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{broadcast, mpsc, oneshot, Notify, Semaphore};

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

/// What a handler decided about one frame.
#[derive(Debug)]
struct Outcome {
    /// The JSON response (written in `json` mode only).
    response: Response,
    /// Transactions submitted (0 unless accepted).
    submitted: u64,
}

/// One decoded frame waiting for a handler.
struct Job {
    payload: Bytes,
    /// Where the outcome goes, in `json` mode; the connection's writer holds
    /// the other end in its ordered queue.
    reply: Option<oneshot::Sender<Outcome>>,
}

/// One entry of a connection's ordered response queue.
enum Slot {
    /// A handler will fill it.
    Waiting(oneshot::Receiver<Outcome>),
    /// Decided by the reader itself (the oversize-frame error).
    Ready(Outcome),
}

/// State shared by every task of one server.
struct Shared {
    config: ServerConfig,
    /// The application; [`AcceptAll`] unless [`run_with_submit`] got another.
    submitter: Arc<dyn Submit>,
    stats: Arc<Stats>,
    record: Option<Mutex<std::fs::File>>,
    /// Transactions submitted *and* answered (json) or submitted (none).
    done_transactions: AtomicU64,
    /// Woken when `done_transactions` reaches `expect_transactions`.
    expect_reached: Notify,
}

impl Shared {
    fn transactions_done(&self, n: u64) {
        if n == 0 {
            return;
        }
        let total = self.done_transactions.fetch_add(n, Ordering::AcqRel) + n;
        if let Some(want) = self.config.expect_transactions {
            if total >= want {
                // notify_one stores a permit, so the accept loop sees it even
                // if it is not waiting right now.
                self.expect_reached.notify_one();
            }
        }
    }

    /// Submit a batch: hand it to the application, then record it and
    /// count it (PEERS.md).
    async fn submit(&self, payload: &Bytes, transactions: &[&[u8]]) -> Result<(), String> {
        let views = transactions.iter().map(|t| payload.slice_ref(t)).collect();
        self.submitter.submit(views).await?;
        self.record_and_count(payload, transactions)
            .map_err(|e| e.to_string())
    }

    /// Record an accepted batch (`--record`), then count it.
    fn record_and_count(&self, payload: &Bytes, transactions: &[&[u8]]) -> io::Result<()> {
        if let Some(file) = &self.record {
            // One write(2) per frame on an O_APPEND file, so a SIGKILL never
            // leaves half a frame interleaved with another handler's frame.
            let mut buf = Vec::with_capacity(4 + payload.len());
            buf.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            buf.extend_from_slice(payload);
            let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
            f.write_all(&buf)?;
        }
        let mut digest = Digest::new();
        for t in transactions {
            digest.add(t);
        }
        self.stats.update(|c| {
            c.frames += 1;
            c.transactions += transactions.len() as u64;
            c.bytes += payload.len() as u64;
            c.digest.merge(digest);
            c.touch();
        });
        Ok(())
    }

    /// Decide what to do with one frame (SPEC §6 table).
    async fn handle(&self, payload: Bytes) -> Outcome {
        let reject = |kind: &str, text: String| {
            self.stats.error(kind);
            Outcome {
                response: Response::err(text),
                submitted: 0,
            }
        };
        if payload.is_empty() {
            return reject("EmptyFrame", "Empty Transactions message".into());
        }
        let transactions: Vec<&[u8]> = match self.config.payload {
            PayloadMode::Raw => vec![&payload[..]],
            PayloadMode::Transactions => match envelope::decode_slice(&payload) {
                Ok(t) => t,
                Err(e) => {
                    return reject(
                        "MalformedEnvelope",
                        format!("Invalid Transactions protobuf: {e}"),
                    )
                }
            },
        };
        if transactions.is_empty() {
            return reject("EmptyFrame", "Empty Transactions message".into());
        }
        match self.submit(&payload, &transactions).await {
            Ok(()) => Outcome {
                response: Response::ok(transactions.len() as u64),
                submitted: transactions.len() as u64,
            },
            Err(e) => reject(
                "SubmitFailed",
                format!("Transaction submission failed: {e}"),
            ),
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
    let shared = Arc::new(Shared {
        config,
        submitter,
        stats: stats.clone(),
        record,
        done_transactions: AtomicU64::new(0),
        expect_reached: Notify::new(),
    });

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

/// Serve one connection until end of stream, an error that closes it, or
/// shutdown.
async fn serve_connection(
    stream: Stream,
    shared: Arc<Shared>,
    jobs: mpsc::Sender<Job>,
    mut stop: Shutdown,
) {
    let (rd, wr) = stream.into_split();
    let mut reader = FrameReader::new(
        rd,
        shared.config.max_frame_bytes,
        shared.config.frame_timeout,
    );
    let json = shared.config.respond == RespondMode::Json;
    let (slot_tx, slot_rx) = mpsc::channel::<Slot>(shared.config.pending_responses.max(1));
    let writer = json.then(|| tokio::spawn(write_responses(wr, slot_rx, shared.clone())));
    let mut linger = false;

    loop {
        let frame = tokio::select! {
            // Finish the frame being decoded? No: a frame not yet complete
            // is not "decoded"; frames already handed on are still finished.
            _ = stop.recv() => break,
            f = reader.read_frame() => f,
        };
        match frame {
            Ok(Some(payload)) => {
                let reply = if json {
                    let (tx, rx) = oneshot::channel();
                    // Reserve the response's place in order *before* the job
                    // can complete, so responses cannot overtake each other.
                    if slot_tx.send(Slot::Waiting(rx)).await.is_err() {
                        break; // writer gone: the client stopped reading
                    }
                    Some(tx)
                } else {
                    None
                };
                if jobs.send(Job { payload, reply }).await.is_err() {
                    break;
                }
            }
            Ok(None) => break,
            Err(e) => {
                match frame_error(&e) {
                    Some(FrameError::FrameTooLarge { length, max }) => {
                        shared.stats.error("FrameTooLarge");
                        if json {
                            let outcome = Outcome {
                                response: Response::err(format!(
                                    "Transaction too large: {length} bytes (max: {max})"
                                )),
                                submitted: 0,
                            };
                            let _ = slot_tx.send(Slot::Ready(outcome)).await;
                        }
                        linger = true;
                    }
                    Some(FrameError::TruncatedFrame { .. }) => shared.stats.error("TruncatedFrame"),
                    None if e.kind() == io::ErrorKind::TimedOut => {
                        shared.stats.error("FrameTimeout")
                    }
                    None => shared.stats.error("ConnectionLost"),
                }
                break;
            }
        }
    }
    // Dropping the slot sender lets the writer finish what is queued, then
    // half-close; only then is the connection dropped.
    drop(slot_tx);
    if let Some(writer) = writer {
        let _ = writer.await;
    }
    if linger && !stop.is_shutdown() {
        reader.discard_until_eof(DEFAULT_LINGER).await;
    }
}

/// The writer task: write each slot's response as soon as it and every slot
/// before it are decided, then half-close.
async fn write_responses(wr: WriteHalf, mut slots: mpsc::Receiver<Slot>, shared: Arc<Shared>) {
    let mut writer = FrameWriter::new(tokio::io::BufWriter::new(wr));
    while let Some(slot) = slots.recv().await {
        let outcome = match slot {
            Slot::Ready(o) => o,
            Slot::Waiting(rx) => match rx.await {
                Ok(o) => o,
                // A handler dropped the job without answering: only at
                // runtime shutdown. Nothing sensible to write.
                Err(_) => break,
            },
        };
        let payload = outcome.response.encode();
        if let Err(e) = writer.write_frame(&payload).await {
            eprintln!("txlane-receiver: write failed: {e}");
            shared.stats.error("ConnectionLost");
            return;
        }
        // Flush when nothing else is ready: one syscall for a burst of
        // responses, no delay for a lone one.
        if slots.is_empty() {
            if let Err(e) = writer.flush().await {
                eprintln!("txlane-receiver: write failed: {e}");
                shared.stats.error("ConnectionLost");
                return;
            }
        }
        shared.stats.update(|c| {
            if outcome.response.success {
                c.responses_ok += 1;
            } else {
                c.responses_error += 1;
            }
        });
        shared.transactions_done(outcome.submitted);
    }
    let _ = writer.shutdown().await;
}
