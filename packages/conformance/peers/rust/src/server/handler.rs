//! The handler pool's side of a frame: decode the envelope, submit it,
//! record and count it, and decide its response (SPEC §6).

use super::{PayloadMode, ServerConfig, Submit};
use crate::digest::Digest;
use crate::envelope;
use crate::report::Stats;
use crate::response::Response;
use bytes::Bytes;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{oneshot, Notify};

/// What a handler decided about one frame.
#[derive(Debug)]
pub(super) struct Outcome {
    /// The JSON response (written in `json` mode only).
    pub(super) response: Response,
    /// Transactions submitted (0 unless accepted).
    pub(super) submitted: u64,
}

/// One decoded frame waiting for a handler.
pub(super) struct Job {
    pub(super) payload: Bytes,
    /// Where the outcome goes, in `json` mode; the connection's writer holds
    /// the other end in its ordered queue.
    pub(super) reply: Option<oneshot::Sender<Outcome>>,
}

/// One entry of a connection's ordered response queue.
pub(super) enum Slot {
    /// A handler will fill it.
    Waiting(oneshot::Receiver<Outcome>),
    /// Decided by the reader itself (the oversize-frame error).
    Ready(Outcome),
}

/// State shared by every task of one server.
pub(super) struct Shared {
    pub(super) config: ServerConfig,
    /// The application; [`AcceptAll`] unless [`run_with_submit`] got another.
    pub(super) submitter: Arc<dyn Submit>,
    pub(super) stats: Arc<Stats>,
    pub(super) record: Option<Mutex<std::fs::File>>,
    /// Transactions submitted *and* answered (json) or submitted (none).
    pub(super) done_transactions: AtomicU64,
    /// Woken when `done_transactions` reaches `expect_transactions`.
    pub(super) expect_reached: Notify,
}

impl Shared {
    pub(super) fn new(
        config: ServerConfig,
        submitter: Arc<dyn Submit>,
        stats: Arc<Stats>,
        record: Option<Mutex<std::fs::File>>,
    ) -> Self {
        Shared {
            config,
            submitter,
            stats,
            record,
            done_transactions: AtomicU64::new(0),
            expect_reached: Notify::new(),
        }
    }

    pub(super) fn transactions_done(&self, n: u64) {
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
    pub(super) async fn handle(&self, payload: Bytes) -> Outcome {
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
