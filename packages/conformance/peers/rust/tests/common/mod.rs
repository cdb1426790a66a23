//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
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
pub async fn eventually(mut cond: impl FnMut() -> bool) {
    let start = tokio::time::Instant::now();
    while !cond() {
        assert!(start.elapsed() < STEP, "condition not reached in time");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
