//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use txlane_peer::endpoint::Endpoint;
use txlane_peer::listener::Listener;
use txlane_peer::report::{Counters, Stats};
use txlane_peer::server::{self, ServerConfig};

/// Upper bound for any single test step.
pub const STEP: Duration = Duration::from_secs(20);

pub fn hex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length: {s}");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// A fresh private directory, removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new() -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let p = std::env::temp_dir().join(format!(
            "txlrs-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).expect("create temp dir");
        TempDir(p)
    }
    pub fn path(&self) -> &Path {
        &self.0
    }
    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A server running in the background.
pub struct RunningServer {
    pub endpoint: Endpoint,
    pub stats: Arc<Stats>,
    stop: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<Counters>>,
}

impl RunningServer {
    pub async fn start(endpoint: &Endpoint, config: ServerConfig) -> Self {
        let listener = Listener::bind(endpoint, config.socket_mode)
            .await
            .expect("bind");
        let endpoint = listener.local_endpoint().expect("local endpoint");
        let (stop, stopped) = oneshot::channel::<()>();
        let stats = Arc::new(Stats::new());
        let task = tokio::spawn(server::run_with_stats(
            listener,
            config,
            async move {
                let _ = stopped.await;
            },
            stats.clone(),
        ));
        RunningServer {
            endpoint,
            stats,
            stop: Some(stop),
            task,
        }
    }

    /// Graceful shutdown; returns the final counters.
    pub async fn stop(mut self) -> Counters {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        within(&mut self.task)
            .await
            .expect("server task")
            .expect("server run")
    }

    /// Wait for the server to end on its own (e.g. expect-transactions).
    pub async fn finished(mut self) -> Counters {
        within(&mut self.task)
            .await
            .expect("server task")
            .expect("server run")
    }
}

/// Await `f` with the [`STEP`] bound, panicking on timeout.
pub async fn within<F: Future + Unpin>(f: F) -> F::Output {
    tokio::time::timeout(STEP, f).await.expect("step timed out")
}

/// Poll `cond` until it holds (bounded by [`STEP`]).
pub async fn eventually(cond: impl FnMut() -> bool) {
    assert!(
        eventually_within(STEP, cond).await,
        "condition not reached in time"
    );
}

/// Poll `cond` every 5 ms for up to `limit`; whether it held.
pub async fn eventually_within(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let until = tokio::time::Instant::now() + limit;
    while !cond() {
        if tokio::time::Instant::now() >= until {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    true
}

/// A peer binary run as the harness runs it: stdout read line by line (the
/// PEERS.md ready and report lines), stderr dropped, killed if dropped.
pub struct PeerProcess {
    child: tokio::process::Child,
    lines: tokio::io::Lines<tokio::io::BufReader<tokio::process::ChildStdout>>,
}

impl PeerProcess {
    /// Start `bin` with `args` and wait for its ready line, which must say
    /// `listening`; returns the process and that line.
    pub async fn receiver<I, S>(bin: &str, args: I) -> (Self, serde_json::Value)
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        use tokio::io::AsyncBufReadExt;
        let mut child = tokio::process::Command::new(bin)
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn the peer");
        let stdout = child.stdout.take().expect("stdout");
        let mut peer = PeerProcess {
            child,
            lines: tokio::io::BufReader::new(stdout).lines(),
        };
        let ready = peer.next_json().await;
        assert_eq!(ready["event"], "listening", "{ready}");
        (peer, ready)
    }

    /// The next stdout line, within [`STEP`], as JSON.
    pub async fn next_json(&mut self) -> serde_json::Value {
        let line = tokio::time::timeout(STEP, self.lines.next_line())
            .await
            .expect("a line in time")
            .expect("read")
            .expect("a line");
        serde_json::from_str(&line).expect("a JSON line")
    }

    /// Send SIGTERM (PEERS.md: drain, report, exit).
    pub async fn sigterm(&self) {
        let pid = self.child.id().expect("pid").to_string();
        let killed = tokio::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .await;
        assert!(killed.is_ok_and(|s| s.success()));
    }

    /// The next line (the report), then exit code 0 and the end of stdout,
    /// each within [`STEP`].
    pub async fn report(mut self) -> serde_json::Value {
        let report = self.next_json().await;
        let status = tokio::time::timeout(STEP, self.child.wait())
            .await
            .expect("exit in time")
            .expect("wait");
        assert_eq!(status.code(), Some(0), "{report}");
        let after = tokio::time::timeout(STEP, self.lines.next_line())
            .await
            .expect("end of stdout in time")
            .expect("read");
        assert_eq!(after, None, "nothing on stdout after the report line");
        report
    }

    /// [`sigterm`](Self::sigterm), then [`report`](Self::report).
    pub async fn stop(self) -> serde_json::Value {
        self.sigterm().await;
        self.report().await
    }
}

/// One frame: 4-byte big-endian length, then the payload.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

/// Read one response frame as text.
pub async fn response(s: &mut tokio::net::UnixStream) -> String {
    let read = async {
        let mut head = [0u8; 4];
        s.read_exact(&mut head).await?;
        let mut body = vec![0u8; u32::from_be_bytes(head) as usize];
        s.read_exact(&mut body).await?;
        Ok::<_, std::io::Error>(body)
    };
    let body = within(Box::pin(read)).await.expect("a response frame");
    String::from_utf8(body).expect("utf8")
}

/// Write one frame, read one response frame as text.
pub async fn ask(s: &mut tokio::net::UnixStream, payload: &[u8]) -> String {
    s.write_all(&frame(payload)).await.expect("write");
    response(s).await
}

/// True when the server closed the connection (EOF or reset).
pub async fn closed(s: &mut tokio::net::UnixStream) -> bool {
    let mut b = [0u8; 1];
    matches!(within(Box::pin(s.read(&mut b))).await, Ok(0) | Err(_))
}

/// A `Transactions` payload of `n` workload transactions, and those transactions.
pub fn batch(seed: u64, n: usize) -> (Vec<u8>, Vec<Vec<u8>>) {
    let mut w = txlane_peer::workload::Workload::new(seed, 650);
    let txs: Vec<Vec<u8>> = (0..n).map(|_| w.next_transaction()).collect();
    (txlane_peer::envelope::encode(&txs).to_vec(), txs)
}

/// Run the real sender over `endpoint` with `workers` workers and a 64-batch
/// queue, giving up after 15 s; its counters.
pub async fn send(
    endpoint: Endpoint,
    delivery: txlane_peer::sender::Delivery,
    spec: txlane_peer::sender::WorkloadSpec,
    workers: usize,
) -> Counters {
    let mut config = txlane_peer::sender::SenderConfig::new(endpoint, Duration::from_secs(15));
    config.delivery = delivery;
    config.workers = workers;
    config.queue = 64;
    within(Box::pin(txlane_peer::sender::run(config, spec))).await
}
