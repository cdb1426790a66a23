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

use crate::digest::Digest;
use crate::frame::{FrameError, DEFAULT_MAX_FRAME_BYTES, HEADER_LEN};
use crate::report::{Counters, Stats};
use crate::shutdown::Shutdown;
use prost::Message;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::future::Future;
use std::io::{self, Write};
use std::num::NonZeroU64;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{broadcast, mpsc, Notify};

/// Mode the deployed server gives its socket file after binding.
pub const SOCKET_MODE: u32 = 0o660;

/// Largest initial buffer for a payload: a frame's buffer grows with the
/// bytes that actually arrive, so a 4-byte header never buys the announced
/// length (at most this much is reserved before data comes).
const PAYLOAD_CHUNK: usize = 64 * 1024;

/// Pause after a failed `accept` (e.g. out of file descriptors) so the loop
/// does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// Text of the start-up "not ready" answer (connection stays open).
pub const NOT_READY_TEXT: &str = "Node not ready to accept transactions: node is starting";
/// Text of the epoch-transition answer (connection is then closed).
pub const NOT_READY_CLOSE_TEXT: &str = "Node not ready: epoch transition";
/// Text of the queued-for-next-epoch success.
pub const QUEUED_TEXT: &str = "queued for next epoch";

// ---------------------------------------------------------------------------
// The `transaction` protobuf package, with the deployed field numbers.
// ---------------------------------------------------------------------------

/// `message Transactions { repeated Transaction transactions = 1; }`
#[derive(Clone, PartialEq, Message)]
pub struct Transactions {
    /// The batch.
    #[prost(message, repeated, tag = "1")]
    pub transactions: Vec<Transaction>,
}

/// `message AccessTuple { bytes Address = 1; repeated bytes StorageKeys = 2; }`
#[derive(Clone, PartialEq, Message)]
pub struct AccessTuple {
    /// `Address` = 1.
    #[prost(bytes = "vec", tag = "1")]
    pub address: Vec<u8>,
    /// `StorageKeys` = 2.
    #[prost(bytes = "vec", repeated, tag = "2")]
    pub storage_keys: Vec<Vec<u8>>,
}

/// The deployed `Transaction` message (field numbers from
/// system-we-replace.md; field 2 is not used).
#[derive(Clone, PartialEq, Message)]
pub struct Transaction {
    /// `ToAddress` = 1.
    #[prost(bytes = "vec", tag = "1")]
    pub to_address: Vec<u8>,
    /// `Amount` = 3.
    #[prost(bytes = "vec", tag = "3")]
    pub amount: Vec<u8>,
    /// `MaxGas` = 4.
    #[prost(uint64, tag = "4")]
    pub max_gas: u64,
    /// `MaxGasPrice` = 5.
    #[prost(uint64, tag = "5")]
    pub max_gas_price: u64,
    /// `MaxTimeUse` = 6.
    #[prost(uint64, tag = "6")]
    pub max_time_use: u64,
    /// `Data` = 7.
    #[prost(bytes = "vec", tag = "7")]
    pub data: Vec<u8>,
    /// `RelatedAddresses` = 8.
    #[prost(bytes = "vec", repeated, tag = "8")]
    pub related_addresses: Vec<Vec<u8>>,
    /// `LastDeviceKey` = 9.
    #[prost(bytes = "vec", tag = "9")]
    pub last_device_key: Vec<u8>,
    /// `NewDeviceKey` = 10.
    #[prost(bytes = "vec", tag = "10")]
    pub new_device_key: Vec<u8>,
    /// `Sign` = 11.
    #[prost(bytes = "vec", tag = "11")]
    pub sign: Vec<u8>,
    /// `Nonce` = 12.
    #[prost(bytes = "vec", tag = "12")]
    pub nonce: Vec<u8>,
    /// `FromAddress` = 13.
    #[prost(bytes = "vec", tag = "13")]
    pub from_address: Vec<u8>,
    /// `ReadOnly` = 14.
    #[prost(bool, tag = "14")]
    pub read_only: bool,
    /// `ChainID` = 15.
    #[prost(uint64, tag = "15")]
    pub chain_id: u64,
    /// `Type` = 16.
    #[prost(uint64, tag = "16")]
    pub tx_type: u64,
    /// `R` = 17.
    #[prost(bytes = "vec", tag = "17")]
    pub r: Vec<u8>,
    /// `S` = 18.
    #[prost(bytes = "vec", tag = "18")]
    pub s: Vec<u8>,
    /// `V` = 19.
    #[prost(bytes = "vec", tag = "19")]
    pub v: Vec<u8>,
    /// `GasTipCap` = 20.
    #[prost(bytes = "vec", tag = "20")]
    pub gas_tip_cap: Vec<u8>,
    /// `GasFeeCap` = 21.
    #[prost(bytes = "vec", tag = "21")]
    pub gas_fee_cap: Vec<u8>,
    /// `AccessList` = 22.
    #[prost(message, repeated, tag = "22")]
    pub access_list: Vec<AccessTuple>,
}

/// Why a payload was not submitted before any phase applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeFailure {
    /// Not a valid `Transactions` message (or an inner `Transaction` is not
    /// valid); the text is the decoder's.
    Invalid(String),
    /// A valid message with no transactions.
    Empty,
}

/// Decode a payload as the deployed server does and re-encode every
/// transaction separately, canonically (fields in number order, proto3
/// defaults omitted): the list of byte strings it submits to consensus.
///
/// Unknown fields are skipped (proto3). A transaction whose known fields
/// have the wrong wire type, that is truncated, or holds a bad varint makes
/// the whole batch invalid.
pub fn decode_and_reencode(payload: &[u8]) -> Result<Vec<Vec<u8>>, DecodeFailure> {
    let batch = Transactions::decode(payload).map_err(|e| DecodeFailure::Invalid(e.to_string()))?;
    if batch.transactions.is_empty() {
        return Err(DecodeFailure::Empty);
    }
    Ok(batch
        .transactions
        .iter()
        .map(Message::encode_to_vec)
        .collect())
}

// ---------------------------------------------------------------------------
// Responses.
// ---------------------------------------------------------------------------

/// The success response, fields in the deployed order.
#[derive(Serialize)]
struct Submitted<'a> {
    success: bool,
    tx_hash: &'a str,
    block_ref: &'a str,
    indices: Vec<u64>,
    count: u64,
}

/// The queued-for-next-epoch response.
#[derive(Serialize)]
struct Queued {
    success: bool,
    queued: bool,
    message: &'static str,
}

/// A failure response.
#[derive(Serialize)]
struct Failed<'a> {
    success: bool,
    error: &'a str,
}

fn json<T: Serialize>(value: &T) -> Vec<u8> {
    // Structs of strings, booleans and integers always serialize; the
    // fallback keeps "exactly one response per frame" regardless.
    serde_json::to_vec(value)
        .unwrap_or_else(|_| br#"{"success":false,"error":"internal error"}"#.to_vec())
}

fn failure(error: &str) -> Vec<u8> {
    json(&Failed {
        success: false,
        error,
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------------------
// Configuration and shared state.
// ---------------------------------------------------------------------------

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

/// What to answer and do for one frame.
struct Answer {
    /// The JSON response payload.
    response: Vec<u8>,
    /// Whether it says `"success":true`.
    success: bool,
    /// Transactions accepted by this frame (0 unless accepted).
    accepted: u64,
    /// Close the connection after answering.
    close: bool,
}

impl Answer {
    fn reject(text: &str, close: bool) -> Self {
        Answer {
            response: failure(text),
            success: false,
            accepted: 0,
            close,
        }
    }
}

struct Shared {
    config: DeployedConfig,
    stats: Arc<Stats>,
    record: Option<Mutex<std::fs::File>>,
    /// Well-formed frames seen so far, across connections: decides the phase.
    well_formed: AtomicU64,
    /// Batches accepted in normal service: the emulated block number.
    blocks: AtomicU64,
    /// Transactions accepted and answered.
    done_transactions: AtomicU64,
    /// Woken when `done_transactions` reaches `expect_transactions`.
    expect_reached: Notify,
}

/// The phase a well-formed frame falls into.
enum Phase {
    NotReady,
    NotReadyClose,
    Queued,
    /// Normal service; the value is the frame's index in it (0-based).
    Normal(u64),
}

impl Shared {
    fn phase(&self) -> Phase {
        let k = self.well_formed.fetch_add(1, Ordering::AcqRel);
        let c = &self.config;
        let a = c.not_ready;
        let b = a.saturating_add(c.not_ready_close);
        let q = b.saturating_add(c.queued);
        if k < a {
            Phase::NotReady
        } else if k < b {
            Phase::NotReadyClose
        } else if k < q {
            Phase::Queued
        } else {
            Phase::Normal(k - q)
        }
    }

    /// Record (PEERS.md `--record`: one write per frame, O_APPEND, before
    /// the answer) and count an accepted payload.
    ///
    /// The digest is computed over the transactions as they arrived in the
    /// payload, like the record. The deployed server submits the
    /// *re-encoded* transactions; the txlane workload is canonical (fields in
    /// number order, no default values), so the re-encoding is byte-identical
    /// (unit test `workload_reencodes_byte_identical`). Any transaction that
    /// is not is counted as `NonCanonical`, so a sender whose bytes consensus
    /// would not see unchanged does not go unnoticed.
    fn accept(&self, payload: &[u8], reencoded: &[Vec<u8>]) -> io::Result<()> {
        if let Some(file) = &self.record {
            let mut buf = Vec::with_capacity(HEADER_LEN + payload.len());
            buf.extend_from_slice(&(payload.len() as u32).to_be_bytes());
            buf.extend_from_slice(payload);
            let mut f = file.lock().unwrap_or_else(|p| p.into_inner());
            f.write_all(&buf)?;
        }
        let original = crate::envelope::decode_slice(payload).unwrap_or_default();
        let mut digest = Digest::new();
        let mut non_canonical = 0u64;
        if original.len() == reencoded.len() {
            for (o, r) in original.iter().zip(reencoded) {
                digest.add(o);
                if *o != r.as_slice() {
                    non_canonical += 1;
                }
            }
        } else {
            // Cannot happen for a payload prost accepted; fall back to what
            // was submitted.
            for r in reencoded {
                digest.add(r);
            }
        }
        if non_canonical > 0 {
            eprintln!(
                "txlane-deployed-server: {non_canonical} transaction(s) not canonical; consensus would see re-encoded bytes"
            );
        }
        self.stats.update(|c| {
            c.frames += 1;
            c.transactions += reencoded.len() as u64;
            c.bytes += payload.len() as u64;
            c.digest.merge(digest);
            if non_canonical > 0 {
                *c.errors.entry("NonCanonical".into()).or_insert(0) += non_canonical;
            }
            c.touch();
        });
        Ok(())
    }

    fn reject(&self, kind: &str, text: &str, close: bool) -> Answer {
        self.stats.error(kind);
        Answer::reject(text, close)
    }

    /// Decide one frame, in the deployed order: decode, phase, submit.
    async fn handle(&self, payload: &[u8]) -> Answer {
        let reencoded = match decode_and_reencode(payload) {
            Ok(t) => t,
            Err(DecodeFailure::Empty) => {
                return self.reject("EmptyFrame", "Empty Transactions message", false)
            }
            Err(DecodeFailure::Invalid(reason)) => {
                return self.reject(
                    "MalformedEnvelope",
                    &format!("Invalid Transactions protobuf: {reason}"),
                    false,
                )
            }
        };
        let phase = self.phase();
        match phase {
            Phase::NotReady => return self.reject("NotReady", NOT_READY_TEXT, false),
            Phase::NotReadyClose => {
                return self.reject("NotReadyClose", NOT_READY_CLOSE_TEXT, true)
            }
            Phase::Queued | Phase::Normal(_) => {}
        }
        if !self.config.submit_delay.is_zero() {
            tokio::time::sleep(self.config.submit_delay).await;
        }
        if let (Phase::Normal(i), Some(k)) = (&phase, self.config.fail_submit_every) {
            if (i + 1) % k.get() == 0 {
                return self.reject(
                    "SubmitFailed",
                    "Transaction submission failed: emulated",
                    false,
                );
            }
        }
        if let Err(e) = self.accept(payload, &reencoded) {
            return self.reject(
                "SubmitFailed",
                &format!("Transaction submission failed: {e}"),
                false,
            );
        }
        let count = reencoded.len() as u64;
        let response = match phase {
            Phase::Queued => {
                self.stats
                    .update(|c| *c.extra.entry("queued".into()).or_insert(0) += 1);
                json(&Queued {
                    success: true,
                    queued: true,
                    message: QUEUED_TEXT,
                })
            }
            _ => {
                let block = self.blocks.fetch_add(1, Ordering::AcqRel) + 1;
                let first = reencoded.first().map(Vec::as_slice).unwrap_or_default();
                json(&Submitted {
                    success: true,
                    tx_hash: &hex(&Sha256::digest(first)),
                    block_ref: &format!("emulated-block-{block}"),
                    indices: (0..count).collect(),
                    count,
                })
            }
        };
        Answer {
            response,
            success: true,
            accepted: count,
            close: false,
        }
    }

    fn transactions_done(&self, n: u64) {
        if n == 0 {
            return;
        }
        let total = self.done_transactions.fetch_add(n, Ordering::AcqRel) + n;
        if self
            .config
            .expect_transactions
            .is_some_and(|want| total >= want)
        {
            // notify_one stores a permit, so the accept loop sees it even if
            // it is not waiting right now.
            self.expect_reached.notify_one();
        }
    }
}

// ---------------------------------------------------------------------------
// Framing, the deployed way.
// ---------------------------------------------------------------------------

/// One read from the stream.
#[derive(Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A whole payload.
    Payload(Vec<u8>),
    /// A header announcing more than the limit. Its payload is *not*
    /// consumed: the next read takes whatever follows as a new header.
    TooLarge {
        /// The announced length.
        length: u32,
    },
    /// Clean end of stream between frames.
    Eof,
}

/// Read the next frame the way the deployed server does.
///
/// The payload buffer starts at most [`PAYLOAD_CHUNK`] bytes and grows with
/// the bytes that arrive. End of stream inside a frame is a
/// `TruncatedFrame` error (`io::ErrorKind::InvalidData`).
pub async fn read_frame<R: AsyncRead + Unpin>(rd: &mut R, max: usize) -> io::Result<Incoming> {
    let mut head = [0u8; HEADER_LEN];
    let mut got = 0;
    while got < HEADER_LEN {
        let n = rd.read(&mut head[got..]).await?;
        if n == 0 {
            if got == 0 {
                return Ok(Incoming::Eof);
            }
            return Err(FrameError::TruncatedFrame {
                expected: HEADER_LEN as u64,
                received: got as u64,
            }
            .into());
        }
        got += n;
    }
    let length = u32::from_be_bytes(head);
    if length as usize > max {
        // The deployed defect, kept on purpose: answer, but leave the
        // announced payload in the stream.
        return Ok(Incoming::TooLarge { length });
    }
    let mut payload = Vec::with_capacity((length as usize).min(PAYLOAD_CHUNK));
    (&mut *rd)
        .take(u64::from(length))
        .read_to_end(&mut payload)
        .await?;
    if payload.len() < length as usize {
        return Err(FrameError::TruncatedFrame {
            expected: (HEADER_LEN + length as usize) as u64,
            received: (HEADER_LEN + payload.len()) as u64,
        }
        .into());
    }
    Ok(Incoming::Payload(payload))
}

/// Write one response frame (4-byte BE length + JSON) in a single write.
async fn write_response<W: AsyncWrite + Unpin>(wr: &mut W, response: &[u8]) -> io::Result<()> {
    let mut frame = Vec::with_capacity(HEADER_LEN + response.len());
    frame.extend_from_slice(&(response.len() as u32).to_be_bytes());
    frame.extend_from_slice(response);
    wr.write_all(&frame).await
}

// ---------------------------------------------------------------------------
// Binding and serving.
// ---------------------------------------------------------------------------

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
    let shared = Arc::new(Shared {
        config,
        stats: stats.clone(),
        record,
        well_formed: AtomicU64::new(0),
        blocks: AtomicU64::new(0),
        done_transactions: AtomicU64::new(0),
        expect_reached: Notify::new(),
    });
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

/// One connection: frames one at a time until the peer closes, an I/O
/// error, an epoch-transition close, or shutdown (between frames).
async fn serve_connection(stream: UnixStream, shared: Arc<Shared>, mut stop: Shutdown) {
    let (mut rd, mut wr) = stream.into_split();
    let max = shared.config.max_frame_bytes;
    loop {
        let incoming = tokio::select! {
            _ = stop.recv() => break,
            r = read_frame(&mut rd, max) => r,
        };
        let answer = match incoming {
            Ok(Incoming::Eof) => break,
            Ok(Incoming::TooLarge { length }) => shared.reject(
                "FrameTooLarge",
                &format!("Transaction too large: {length} bytes (max: {max})"),
                false,
            ),
            Ok(Incoming::Payload(payload)) => shared.handle(&payload).await,
            Err(e) => {
                let kind = match e
                    .get_ref()
                    .and_then(|inner| inner.downcast_ref::<FrameError>())
                {
                    Some(f) => f.kind(),
                    None => "ConnectionLost",
                };
                eprintln!("txlane-deployed-server: connection ended: {e}");
                shared.stats.error(kind);
                break;
            }
        };
        if let Err(e) = write_response(&mut wr, &answer.response).await {
            eprintln!("txlane-deployed-server: write failed: {e}");
            shared.stats.error("ConnectionLost");
            break;
        }
        shared.stats.update(|c| {
            if answer.success {
                c.responses_ok += 1;
            } else {
                c.responses_error += 1;
            }
        });
        shared.transactions_done(answer.accepted);
        if answer.close {
            break;
        }
    }
    // Dropping both halves closes the connection.
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::Workload;

    #[test]
    fn workload_reencodes_byte_identical() {
        for (seed, size) in [(1u64, 650usize), (7, 197), (42, 199), (3, 200), (9, 4096)] {
            let mut w = Workload::new(seed, size);
            let batch = w.next_batch(20);
            let original = crate::envelope::decode_slice(&batch.payload).unwrap_or_default();
            let reencoded = decode_and_reencode(&batch.payload);
            let reencoded = reencoded.unwrap_or_default();
            assert_eq!(original.len(), 20);
            assert_eq!(reencoded.len(), 20, "seed {seed} size {size}");
            for (o, r) in original.iter().zip(&reencoded) {
                assert_eq!(*o, r.as_slice(), "seed {seed} size {size}");
            }
        }
    }

    #[test]
    fn full_schema_round_trips() {
        let tx = Transaction {
            to_address: vec![1; 20],
            related_addresses: vec![vec![2; 20], vec![3; 20]],
            read_only: true,
            r: vec![4; 32],
            s: vec![5; 32],
            v: vec![1],
            gas_tip_cap: vec![6],
            gas_fee_cap: vec![7],
            access_list: vec![AccessTuple {
                address: vec![8; 20],
                storage_keys: vec![vec![9; 32]],
            }],
            ..Transaction::default()
        };
        let batch = Transactions {
            transactions: vec![tx.clone()],
        };
        let got = decode_and_reencode(&batch.encode_to_vec());
        assert_eq!(got, Ok(vec![tx.encode_to_vec()]));
    }

    #[test]
    fn decode_failures() {
        let invalid = |p: &[u8]| matches!(decode_and_reencode(p), Err(DecodeFailure::Invalid(_)));
        assert_eq!(decode_and_reencode(b""), Err(DecodeFailure::Empty));
        // Unknown field only: a valid, empty message.
        assert_eq!(
            decode_and_reencode(&[0x10, 0x01]),
            Err(DecodeFailure::Empty)
        );
        // Inner transaction: MaxGas (4) as length-delimited.
        assert!(invalid(&[0x0a, 0x03, 0x22, 0x01, 0x00]));
        // Inner transaction: ToAddress (1) as varint.
        assert!(invalid(&[0x0a, 0x02, 0x08, 0x01]));
        // Inner transaction: truncated bytes field.
        assert!(invalid(&[0x0a, 0x02, 0x0a, 0x05]));
        // Inner transaction: bad varint (never ends).
        assert!(invalid(&[0x0a, 0x02, 0x20, 0xff]));
        // Arbitrary bytes as a transaction.
        assert!(invalid(&[0x0a, 0x03, 0xff, 0xff, 0xff]));
        // Outer field 1 as varint.
        assert!(invalid(&[0x08, 0x01]));
        // Unknown inner field 99 (varint) is skipped; the tx re-encodes empty.
        assert_eq!(
            decode_and_reencode(&[0x0a, 0x03, 0x98, 0x06, 0x01]),
            Ok(vec![vec![]])
        );
    }
}
