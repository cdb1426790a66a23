//! An emulator of the *deployed* Rust transaction server (the consensus
//! node's Unix-socket receiver), so that txlane's sender can be tested
//! against the behaviour it will meet in production — defects included.
//!
//! Written from the facts in `shared/design/system-we-replace.md`; no code of
//! the deployed server is used. Where it differs from txlane's own receiver
//! ([`crate::server`]), it differs on purpose:
//!
//! | | deployed (this module) | txlane receiver |
//! |---|---|---|
//! | socket file | deletes *any* file at the path, binds, then `chmod 0660` | refuses non-sockets, race-free mode |
//! | connections | unlimited, one task each, frames handled one at a time | limit + handler pool |
//! | oversize frame | error response, then keeps reading **without consuming the payload** (out of step) | error response, lingering close |
//! | payload | every inner `Transaction` decoded with the real schema and re-encoded | split, not parsed |
//! | success | `{"success":true,"tx_hash":…,"block_ref":…,"indices":[…],"count":N}` | `{"success":true,"count":N}` |
//!
//! Start-up and epoch phases are emulated with global counters over
//! *well-formed* frames (a valid, non-empty `Transactions` message), in
//! arrival order across all connections: first `not_ready` frames get the
//! "node is starting" answer, then `not_ready_close` frames get the
//! epoch-transition answer and their connection is closed, then `queued`
//! frames are accepted for the next epoch, then normal service, where every
//! `fail_submit_every`-th frame fails its submission.
//!
//! ```text
//!  accept loop (no limit) ──► one task per connection
//!                               loop: read 4-byte BE length
//!                                     ├─ length > max: answer "too large", next 4 bytes are a length again
//!                                     └─ read payload ─► decode ─► phase ─► record ─► answer
//! ```

mod connection;
mod schema;
mod state;

use crate::frame::DEFAULT_MAX_FRAME_BYTES;
use crate::report::{Counters, Stats};
use crate::shutdown::Shutdown;
use connection::serve_connection;
use state::Shared;
use std::future::Future;
use std::io;
use std::num::NonZeroU64;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::UnixListener;
use tokio::sync::{broadcast, mpsc};

pub use connection::{read_frame, Incoming};
pub use schema::{decode_and_reencode, AccessTuple, DecodeFailure, Transaction, Transactions};

/// Mode the deployed server gives its socket file after binding.
pub const SOCKET_MODE: u32 = 0o660;

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop
/// does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Text of the start-up "not ready" answer (connection stays open).
pub const NOT_READY_TEXT: &str = "Node not ready to accept transactions: node is starting";
/// Text of the epoch-transition answer (connection is then closed).
pub const NOT_READY_CLOSE_TEXT: &str = "Node not ready: epoch transition";
/// Text of the queued-for-next-epoch success.
pub const QUEUED_TEXT: &str = "queued for next epoch";

/// Emulator settings. `Default` gives the documented defaults: the deployed
/// limit, no phases, no failures, no delay.
#[derive(Debug, Clone)]
pub struct DeployedConfig {
    /// Payload limit; larger announced lengths get the "too large" answer
    /// and the stream goes out of step. Default 10 MiB, the deployed limit.
    pub max_frame_bytes: usize,
    /// Well-formed frames answered "node is starting" (connection stays
    /// open, batch not accepted) before anything else. Default 0.
    pub not_ready: u64,
    /// Then this many answered "epoch transition" and their connection
    /// closed (batch not accepted). Default 0.
    pub not_ready_close: u64,
    /// Then this many accepted with the queued answer. Default 0.
    pub queued: u64,
    /// In normal service, every K-th frame fails its submission (not
    /// accepted). Default `None`: never.
    pub fail_submit_every: Option<NonZeroU64>,
    /// Delay of the emulated consensus submission (queued and normal
    /// phases), before the answer. Default 0.
    pub submit_delay: Duration,
    /// Append accepted payloads here (PEERS.md `--record`).
    pub record: Option<PathBuf>,
    /// Shut down once this many transactions were accepted and answered.
    pub expect_transactions: Option<u64>,
    /// Upper bound on the graceful drain. Default 5 s.
    pub drain_timeout: Duration,
}

impl Default for DeployedConfig {
    fn default() -> Self {
        DeployedConfig {
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
            not_ready: 0,
            not_ready_close: 0,
            queued: 0,
            fail_submit_every: None,
            submit_delay: Duration::ZERO,
            record: None,
            expect_transactions: None,
            drain_timeout: Duration::from_secs(5),
        }
    }
}

/// A bound Unix listener and the identity of its socket file.
#[derive(Debug)]
pub struct DeployedListener {
    listener: UnixListener,
    path: PathBuf,
    id: Option<(u64, u64)>,
}

impl DeployedListener {
    /// Bind as the deployed server does: delete whatever file is at `path`
    /// (a live socket, a regular file, a symlink — not a directory, which
    /// `unlink` refuses), bind, then `chmod` the socket file to 0660.
    pub fn bind(path: &Path) -> io::Result<Self> {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) => return Err(e),
        }
        let listener = std::os::unix::net::UnixListener::bind(path)?;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(SOCKET_MODE))?;
        listener.set_nonblocking(true)?;
        let id = std::fs::symlink_metadata(path)
            .ok()
            .map(|m| (m.dev(), m.ino()));
        Ok(DeployedListener {
            listener: UnixListener::from_std(listener)?,
            path: path.to_path_buf(),
            id,
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for DeployedListener {
    /// Remove the socket file if it is still ours, so tests and harness runs
    /// leave nothing behind (the next start would delete it anyway).
    fn drop(&mut self) {
        if let (Some(id), Ok(meta)) = (self.id, std::fs::symlink_metadata(&self.path)) {
            if (meta.dev(), meta.ino()) == id {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

/// Serve until `shutdown` completes or `expect_transactions` is reached,
/// then stop accepting, let every connection finish the frame it is
/// answering (bounded by `drain_timeout`), and return the counters.
pub async fn run(
    listener: DeployedListener,
    config: DeployedConfig,
    shutdown: impl Future<Output = ()>,
    stats: Arc<Stats>,
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
    let shared = Arc::new(Shared::new(config, stats.clone(), record));
    let (notify_shutdown, _) = broadcast::channel::<()>(1);
    // Every connection task holds a clone; `recv` returning `None` after we
    // drop ours means they all finished.
    let (done_tx, mut done_rx) = mpsc::channel::<()>(1);
    let expect_enabled = shared.config.expect_transactions.is_some();
    tokio::pin!(shutdown);
    loop {
        // No connection limit: the deployed server has none.
        let accepted = tokio::select! {
            _ = &mut shutdown => break,
            _ = shared.expect_reached.notified(), if expect_enabled => break,
            a = listener.listener.accept() => a,
        };
        match accepted {
            Ok((stream, _)) => {
                let shared = shared.clone();
                let stop = Shutdown::new(notify_shutdown.subscribe());
                let done = done_tx.clone();
                tokio::spawn(async move {
                    serve_connection(stream, shared, stop).await;
                    drop(done);
                });
            }
            Err(e) => {
                eprintln!("txlane-deployed-server: accept failed: {e}");
                tokio::time::sleep(ACCEPT_BACKOFF).await;
            }
        }
    }
    drop(listener);
    let _ = notify_shutdown.send(());
    drop(done_tx);
    if tokio::time::timeout(shared.config.drain_timeout, done_rx.recv())
        .await
        .is_err()
    {
        eprintln!("txlane-deployed-server: drain timed out; abandoning unfinished connections");
    }
    Ok(stats.snapshot())
}
