//! The Rust testee kit: everything `packages/conformance/PEERS.md` asks of a
//! testee program except the part a team wants tested — its client (a
//! [`Dial`] whose connections implement [`Conn`]) or its receiver logic (a
//! [`Submit`]).
//!
//! The kit provides the `receive` / `send` command line with every PEERS.md
//! flag (exit code 2 on a bad one), the ready and report lines, the SplitMix64
//! workload, the digest, `--record`, `--expect-transactions`, signal handling
//! and the exit codes:
//!
//! ```no_run
//! use std::sync::Arc;
//! use txlane_peer::testee::{self, AcceptAll, FrameDial, Peer};
//!
//! fn main() -> std::process::ExitCode {
//!     testee::main(Peer {
//!         name: "acme",
//!         dial: Some(Arc::new(FrameDial)),
//!         submit: Some(Arc::new(AcceptAll)),
//!     })
//! }
//! ```
//!
//! A receiver is this crate's [`server`](crate::server) (framing, JSON
//! answers, handler pool, SPEC §7 socket files) calling [`Submit::submit`]
//! once per accepted batch. A sender runs `--workers` tasks over a bounded
//! queue of `--queue` batches; each task owns one [`Conn`] from
//! [`Dial::dial`] and calls [`Conn::send`] once per batch: `Ok` is delivered,
//! [`SendError::NotReady`] resends the batch after 100 ms doubling to 4 s (at
//! most 30 times), [`SendError::Rejected`] gives it up, and
//! [`SendError::Broken`] drops the connection, dials again (with backoff,
//! until `--timeout-ms`) and resends the batch. [`FrameDial`] is a
//! ready-made client that speaks the framing directly.

use crate::cli;
use crate::digest::Digest;
use crate::endpoint::Endpoint;
use crate::listener::Stream;
use crate::report::{Role, Stats};
use crate::server::{self, PayloadMode, RespondMode, ServerConfig};
use crate::workload::Workload;
use bytes::Bytes;
use clap::{Parser, Subcommand, ValueEnum};
use std::io;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::{mpsc, watch, Mutex};
use tokio::time::{sleep, Instant};

pub use crate::server::{AcceptAll, BoxFuture, Submit};

/// First delay after a failed dial or a broken connection.
const RECONNECT_FIRST: Duration = Duration::from_millis(10);
/// The reconnect cap: the harness starts receivers within a second.
const RECONNECT_MAX: Duration = Duration::from_millis(500);
/// PEERS.md's not-ready schedule: 100 ms doubling, capped at 4 s, 30 retries.
const NOT_READY_FIRST: Duration = Duration::from_millis(100);
const NOT_READY_MAX: Duration = Duration::from_secs(4);
const NOT_READY_TRIES: u32 = 30;
/// How long [`FrameConn`] waits for the first answer on a connection before
/// deciding the receiver is silent (`--respond none`).
pub const SILENT_AFTER: Duration = Duration::from_secs(1);

/// What a team provides: `dial` to test a sender, `submit` to test a
/// receiver, or both.
pub struct Peer {
    /// The report line's `impl`.
    pub name: &'static str,
    /// The team's client; `None` makes `send` a usage error.
    pub dial: Option<Arc<dyn Dial>>,
    /// The team's receiver logic; `None` makes `receive` a usage error.
    pub submit: Option<Arc<dyn Submit>>,
}

/// Why [`Conn::send`] did not deliver a batch.
#[derive(Debug)]
pub enum SendError {
    /// The receiver answered `Node not ready…`: resent later on the same
    /// connection (`errors.NotReady`).
    NotReady(String),
    /// The receiver refused the batch: not resent, counted undelivered
    /// (`errors.Rejected`).
    Rejected(String),
    /// The connection failed: a new one is dialled and the batch resent.
    Broken(io::Error),
}

impl From<io::Error> for SendError {
    fn from(e: io::Error) -> Self {
        SendError::Broken(e)
    }
}

/// One sender connection, owned by one worker task.
pub trait Conn: Send + 'static {
    /// Deliver one batch payload (a `Transactions` envelope; the client frames
    /// it). `Ok(true)`: the receiver answered it with success (counted in
    /// `acknowledged` and `responses.ok`); `Ok(false)`: written to a receiver
    /// that does not answer.
    fn send<'a>(&'a mut self, payload: &'a Bytes) -> BoxFuture<'a, Result<bool, SendError>>;
}

/// The PEERS.md `send` flags a client may care about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendOptions {
    /// `--delivery acknowledged`: the receiver answers every frame (the
    /// harness pairs acknowledged senders with answering receivers), so a
    /// client never needs to decide it is silent.
    pub acknowledged: bool,
    /// `--max-frame-bytes`; the kit never hands a larger payload to a Conn.
    pub max_frame_bytes: usize,
}

/// Opens sender connections; each worker calls it once, and again after its
/// connection broke. An error counts as `ConnectFailed` and is retried.
pub trait Dial: Send + Sync + 'static {
    /// Connect to `endpoint`.
    fn dial<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        options: &'a SendOptions,
    ) -> BoxFuture<'a, io::Result<Box<dyn Conn>>>;
}

/// Classify a receiver's JSON answer (SPEC §5.1) as [`Conn::send`] reports
/// it: success is `Ok(true)`, `Node not ready…` is [`SendError::NotReady`],
/// anything else [`SendError::Rejected`].
pub fn answer(payload: &[u8]) -> Result<bool, SendError> {
    match crate::response::decode(payload) {
        Ok(r) if r.success => Ok(true),
        Ok(r) => match r.error {
            Some(e) if e.starts_with("Node not ready") => Err(SendError::NotReady(e)),
            _ => Err(SendError::Rejected(String::from_utf8_lossy(payload).into())),
        },
        Err(e) => Err(SendError::Rejected(e.to_string())),
    }
}

/// A ready-made [`Dial`]: [`FrameConn`] connections.
#[derive(Debug, Clone, Copy, Default)]
pub struct FrameDial;

impl Dial for FrameDial {
    fn dial<'a>(
        &'a self,
        endpoint: &'a Endpoint,
        options: &'a SendOptions,
    ) -> BoxFuture<'a, io::Result<Box<dyn Conn>>> {
        Box::pin(async move {
            let stream = Stream::connect(endpoint).await?;
            Ok(Box::new(FrameConn {
                stream,
                answered: options.acknowledged,
                silent: false,
            }) as Box<dyn Conn>)
        })
    }
}

/// A client that writes one frame, then reads its answer (so it works in
/// both delivery modes, one frame in flight). In fire-and-forget mode, a
/// connection with no answer within [`SILENT_AFTER`] (or closed for writing
/// before any answer) is to a silent receiver, and its writes count as
/// deliveries; in acknowledged mode every frame waits for its answer.
#[derive(Debug)]
pub struct FrameConn {
    stream: Stream,
    answered: bool,
    silent: bool,
}

impl FrameConn {
    async fn exchange(&mut self, payload: &Bytes) -> Result<bool, SendError> {
        let (mut r, mut w): (
            Box<dyn tokio::io::AsyncRead + Send + Unpin>,
            Box<dyn tokio::io::AsyncWrite + Send + Unpin>,
        ) = match &mut self.stream {
            Stream::Unix(s) => {
                let (r, w) = s.split();
                (Box::new(r), Box::new(w))
            }
            Stream::Tcp(s) => {
                let (r, w) = s.split();
                (Box::new(r), Box::new(w))
            }
        };
        w.write_all(&(payload.len() as u32).to_be_bytes()).await?;
        w.write_all(payload).await?;
        if self.silent {
            return Ok(false);
        }
        let mut head = [0u8; 4];
        if self.answered {
            r.read_exact(&mut head).await?;
        } else {
            match tokio::time::timeout(SILENT_AFTER, r.read_exact(&mut head)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) if e.kind() != io::ErrorKind::UnexpectedEof => return Err(e.into()),
                // No answer within SILENT_AFTER, or the receiver shut its write
                // side down without answering: a silent receiver.
                _ => {
                    self.silent = true;
                    return Ok(false);
                }
            }
        }
        let mut body = vec![0u8; u32::from_be_bytes(head) as usize];
        r.read_exact(&mut body).await?;
        self.answered = true;
        answer(&body)
    }
}

impl Conn for FrameConn {
    fn send<'a>(&'a mut self, payload: &'a Bytes) -> BoxFuture<'a, Result<bool, SendError>> {
        Box::pin(self.exchange(payload))
    }
}

#[derive(Debug, Parser)]
#[command(about = "txlane testee (PEERS.md)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Receive: listen, submit every accepted batch, report.
    Receive(ReceiveArgs),
    /// Send the deterministic workload, report.
    Send(SendArgs),
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Respond {
    None,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Delivery {
    FireAndForget,
    Acknowledged,
}

#[derive(Debug, clap::Args)]
struct ReceiveArgs {
    #[arg(long, value_name = "ENDPOINT")]
    listen: Endpoint,
    #[arg(long, value_enum, default_value = "json")]
    respond: Respond,
    #[arg(long, default_value_t = server::DEFAULT_HANDLERS)]
    handlers: usize,
    #[arg(long, default_value_t = crate::frame::DEFAULT_MAX_FRAME_BYTES)]
    max_frame_bytes: usize,
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    #[arg(long, value_name = "N")]
    expect_transactions: Option<u64>,
}

#[derive(Debug, clap::Args)]
struct SendArgs {
    #[arg(long, value_name = "ENDPOINT")]
    endpoint: Endpoint,
    #[arg(long, value_enum, default_value = "fire-and-forget")]
    delivery: Delivery,
    #[arg(long, default_value_t = 4)]
    workers: usize,
    #[arg(long, default_value_t = 1000)]
    queue: usize,
    #[arg(long, default_value_t = 1000)]
    batches: u64,
    #[arg(long, default_value_t = 50)]
    tx_per_batch: usize,
    #[arg(long, default_value_t = 650)]
    tx_size: usize,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    #[arg(long, default_value_t = 60_000)]
    timeout_ms: u64,
    #[arg(long, default_value_t = crate::frame::DEFAULT_MAX_FRAME_BYTES)]
    max_frame_bytes: usize,
    /// Accepted for compatibility; the kit's schedule starts at 100 ms.
    #[arg(long, value_name = "MS", default_value_t = 100)]
    transient_retry_ms: u64,
}

/// Run the testee on the process arguments; returns its exit code.
pub fn main(peer: Peer) -> ExitCode {
    run(peer, std::env::args_os())
}

/// Run the testee on `args` (the first is the program name): 0 success, 1
/// not everything delivered or a fatal error, 2 bad command line.
pub fn run<I, T>(peer: Peer, args: I) -> ExitCode
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match cli.command {
        Command::Receive(a) => match peer.submit.clone() {
            Some(submit) if a.handlers > 0 => {
                cli::block_on(peer.name, receive(peer.name, submit, a))
            }
            Some(_) => usage(peer.name, "--handlers must be at least 1"),
            None => usage(
                peer.name,
                "this testee has no receiver (Peer::submit is None)",
            ),
        },
        Command::Send(a) => match peer.dial.clone() {
            Some(dial) if a.workers > 0 && a.queue > 0 => {
                cli::block_on(peer.name, send(peer.name, dial, a))
            }
            Some(_) => usage(peer.name, "--workers and --queue must be at least 1"),
            None => usage(peer.name, "this testee has no sender (Peer::dial is None)"),
        },
    }
}

fn usage(name: &str, message: &str) -> ExitCode {
    eprintln!("{name}: {message}");
    ExitCode::from(2)
}

async fn receive(name: &'static str, submit: Arc<dyn Submit>, a: ReceiveArgs) -> ExitCode {
    let config = ServerConfig {
        max_frame_bytes: a.max_frame_bytes,
        respond: match a.respond {
            Respond::None => RespondMode::None,
            Respond::Json => RespondMode::Json,
        },
        payload: PayloadMode::Transactions,
        handlers: a.handlers,
        record: a.record,
        expect_transactions: a.expect_transactions,
        ..ServerConfig::default()
    };
    let (listener, endpoint) = match cli::bind(name, &a.listen, config.socket_mode).await {
        Ok(bound) => bound,
        Err(code) => return code,
    };
    // Signal handlers before the ready line (PEERS.md).
    let stop = crate::shutdown::signal();
    cli::print_ready(&endpoint.to_string());
    let served =
        server::run_with_submit(listener, config, stop, Arc::new(Stats::new()), submit).await;
    cli::finish(name, served, |c| c.report_line_as(Role::Receiver, name))
}

/// One queued batch: payload, transaction count, digest.
type Job = (Bytes, u64, Digest);

async fn send(name: &'static str, dial: Arc<dyn Dial>, a: SendArgs) -> ExitCode {
    let stats = Arc::new(Stats::new());
    let deadline = Instant::now() + Duration::from_millis(a.timeout_ms);
    // `true` once the deadline passes or a signal arrives: give up.
    let (cancel_tx, cancel) = watch::channel(false);
    let stop = crate::shutdown::signal();
    tokio::spawn(async move {
        tokio::select! {
            _ = stop => eprintln!("{name}: signal: giving up"),
            _ = tokio::time::sleep_until(deadline) => {}
        }
        let _ = cancel_tx.send(true);
    });
    let (tx, rx) = mpsc::channel::<Job>(a.queue);
    let rx = Arc::new(Mutex::new(rx));
    let options = Arc::new(SendOptions {
        acknowledged: a.delivery == Delivery::Acknowledged,
        max_frame_bytes: a.max_frame_bytes,
    });
    let mut workers = Vec::new();
    for _ in 0..a.workers {
        let (dial, rx, stats, endpoint) =
            (dial.clone(), rx.clone(), stats.clone(), a.endpoint.clone());
        let (cancel, options) = (cancel.clone(), options.clone());
        workers.push(tokio::spawn(async move {
            worker(name, &*dial, &endpoint, &options, rx, &stats, cancel).await
        }));
    }
    let mut workload = Workload::new(a.seed, a.tx_size);
    let mut cancelled = cancel.clone();
    for b in 0..a.batches {
        let batch = workload.next_batch(a.tx_per_batch);
        if batch.payload.len() > a.max_frame_bytes {
            // Refused before it is queued (PEERS.md --max-frame-bytes).
            stats.error("FrameTooLarge");
            stats.update(|c| c.undelivered += 1);
            continue;
        }
        tokio::select! {
            r = tx.send((batch.payload, batch.transactions, batch.digest)) => if r.is_err() { break },
            _ = cancelled.wait_for(|c| *c) => {
                stats.update(|c| c.undelivered += a.batches - b);
                break;
            }
        }
    }
    drop(tx);
    for w in workers {
        let _ = w.await;
    }
    let counters = stats.snapshot();
    println!("{}", counters.report_line_as(Role::Sender, name));
    if counters.undelivered == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!(
            "{name}: {} of {} batches undelivered",
            counters.undelivered, a.batches
        );
        ExitCode::from(1)
    }
}

async fn worker(
    name: &str,
    dial: &dyn Dial,
    endpoint: &Endpoint,
    options: &SendOptions,
    rx: Arc<Mutex<mpsc::Receiver<Job>>>,
    stats: &Stats,
    mut cancel: watch::Receiver<bool>,
) {
    let mut conn: Option<Box<dyn Conn>> = None;
    loop {
        let job = rx.lock().await.recv().await;
        let Some((payload, transactions, digest)) = job else {
            break;
        };
        let (mut delay, mut not_ready) = (RECONNECT_FIRST, 0u32);
        loop {
            if *cancel.borrow() {
                stats.update(|c| c.undelivered += 1);
                break;
            }
            let c = match conn.as_mut() {
                Some(c) => c,
                None => {
                    let dialled = tokio::select! {
                        r = dial.dial(endpoint, options) => r,
                        _ = cancel.wait_for(|c| *c) => continue,
                    };
                    match dialled {
                        Ok(c) => conn.insert(c),
                        Err(_) => {
                            stats.error("ConnectFailed");
                            backoff(&mut delay, RECONNECT_MAX, &mut cancel).await;
                            continue;
                        }
                    }
                }
            };
            stats.update(|c| {
                c.first.get_or_insert_with(std::time::Instant::now);
            });
            let result = tokio::select! {
                r = c.send(&payload) => r,
                _ = cancel.wait_for(|c| *c) => continue,
            };
            if !matches!(result, Err(SendError::Broken(_))) {
                stats.update(|c| {
                    c.frames += 1;
                    c.transactions += transactions;
                    c.bytes += payload.len() as u64;
                });
            }
            match result {
                Ok(answered) => {
                    stats.update(|c| {
                        if answered {
                            c.acknowledged += 1;
                            c.responses_ok += 1;
                        }
                        c.delivered += 1;
                        c.digest.merge(digest);
                        c.touch();
                    });
                }
                Err(SendError::NotReady(_)) if not_ready < NOT_READY_TRIES => {
                    stats.update(|c| {
                        c.responses_error += 1;
                        *c.errors.entry("NotReady".into()).or_insert(0) += 1;
                    });
                    let mut d = NOT_READY_FIRST.saturating_mul(1 << not_ready.min(10));
                    not_ready += 1;
                    backoff(&mut d, NOT_READY_MAX, &mut cancel).await;
                    continue;
                }
                Err(SendError::NotReady(e)) | Err(SendError::Rejected(e)) => {
                    eprintln!("{name}: batch rejected: {e}");
                    stats.update(|c| {
                        c.responses_error += 1;
                        c.undelivered += 1;
                        *c.errors.entry("Rejected".into()).or_insert(0) += 1;
                    });
                }
                Err(SendError::Broken(e)) => {
                    eprintln!("{name}: connection lost, resending: {e}");
                    stats.error("ConnectionLost");
                    conn = None;
                    backoff(&mut delay, RECONNECT_MAX, &mut cancel).await;
                    continue;
                }
            }
            break;
        }
    }
}

/// Sleep `*delay` (or until cancelled), then double it up to `max`.
async fn backoff(delay: &mut Duration, max: Duration, cancel: &mut watch::Receiver<bool>) {
    let d = (*delay).min(max);
    tokio::select! {
        _ = sleep(d) => {}
        _ = cancel.wait_for(|c| *c) => {}
    }
    *delay = (*delay * 2).min(max);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Refuses batches of one transaction.
    struct RefuseSingles;

    impl Submit for RefuseSingles {
        fn submit(&self, transactions: Vec<Bytes>) -> BoxFuture<'_, Result<(), String>> {
            Box::pin(async move {
                if transactions.len() == 1 {
                    Err("no singles".into())
                } else {
                    Ok(())
                }
            })
        }
    }

    fn peer() -> Peer {
        Peer {
            name: "acme",
            dial: Some(Arc::new(FrameDial)),
            submit: Some(Arc::new(AcceptAll)),
        }
    }

    #[test]
    fn usage_errors_exit_2() {
        let cases: &[&[&str]] = &[
            &["acme"],
            &["acme", "serve"],
            &["acme", "send"],
            &["acme", "send", "--endpoint", "relative.sock"],
            &[
                "acme",
                "send",
                "--endpoint",
                "/tmp/x.sock",
                "--colour",
                "red",
            ],
            &[
                "acme",
                "receive",
                "--listen",
                "/tmp/x.sock",
                "--respond",
                "maybe",
            ],
            &[
                "acme",
                "send",
                "--endpoint",
                "/tmp/x.sock",
                "--workers",
                "0",
            ],
        ];
        for args in cases {
            assert_eq!(run(peer(), args.iter()), ExitCode::from(2), "{args:?}");
        }
        let no_sender = Peer {
            dial: None,
            ..peer()
        };
        let args = ["acme", "send", "--endpoint", "/tmp/x.sock"];
        assert_eq!(run(no_sender, args), ExitCode::from(2));
    }

    #[test]
    fn answers_are_classified() {
        assert!(matches!(answer(br#"{"success":true,"count":2}"#), Ok(true)));
        assert!(matches!(
            answer(br#"{"success":false,"error":"Node not ready: epoch"}"#),
            Err(SendError::NotReady(_))
        ));
        assert!(matches!(
            answer(br#"{"success":false,"error":"Transaction submission failed: x"}"#),
            Err(SendError::Rejected(_))
        ));
        assert!(matches!(answer(b"nope"), Err(SendError::Rejected(_))));
    }

    /// The server's pluggable submit: an `Err` is answered `Transaction
    /// submission failed: …` and the batch is neither counted nor recorded.
    #[tokio::test]
    async fn a_refused_submit_is_answered_and_not_counted() {
        let dir = std::env::temp_dir().join(format!("txlane-testee-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let endpoint = Endpoint::Unix(dir.join("s.sock"));
        let record = dir.join("record.bin");
        let listener = crate::listener::Listener::bind(&endpoint, 0o600)
            .await
            .expect("bind");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let config = ServerConfig {
            record: Some(record.clone()),
            ..ServerConfig::default()
        };
        let server = tokio::spawn(server::run_with_submit(
            listener,
            config,
            async {
                let _ = stop_rx.await;
            },
            Arc::new(Stats::new()),
            Arc::new(RefuseSingles),
        ));
        let options = SendOptions {
            acknowledged: true,
            max_frame_bytes: 1 << 20,
        };
        let mut conn = FrameDial.dial(&endpoint, &options).await.expect("dial");
        let one = crate::envelope::encode(&[b"a".to_vec()]);
        let two = crate::envelope::encode(&[b"a".to_vec(), b"b".to_vec()]);
        match conn.send(&one).await {
            Err(SendError::Rejected(e)) => {
                assert!(
                    e.contains("Transaction submission failed: no singles"),
                    "{e}"
                )
            }
            other => panic!("one transaction: {other:?}"),
        }
        assert!(matches!(conn.send(&two).await, Ok(true)));
        drop(conn);
        let _ = stop_tx.send(());
        let counters = server.await.expect("join").expect("server");
        assert_eq!((counters.frames, counters.transactions), (1, 2));
        assert_eq!(counters.errors.get("SubmitFailed"), Some(&1));
        let recorded = std::fs::read(&record).expect("record");
        assert_eq!(recorded.len(), 4 + two.len());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
