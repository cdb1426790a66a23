//! What the emulator decides for each frame: the start-up and epoch phases,
//! the deployed response shapes, recording and counting, shared by every
//! connection.

use super::schema::{decode_and_reencode, DecodeFailure};
use super::{DeployedConfig, NOT_READY_CLOSE_TEXT, NOT_READY_TEXT, QUEUED_TEXT};
use crate::digest::Digest;
use crate::frame::HEADER_LEN;
use crate::report::Stats;
use serde::Serialize;
use sha2::{Digest as _, Sha256};
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::Notify;

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

/// What to answer and do for one frame.
pub(super) struct Answer {
    /// The JSON response payload.
    pub(super) response: Vec<u8>,
    /// Whether it says `"success":true`.
    pub(super) success: bool,
    /// Transactions accepted by this frame (0 unless accepted).
    pub(super) accepted: u64,
    /// Close the connection after answering.
    pub(super) close: bool,
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

/// The emulator's state, shared by every connection.
pub(super) struct Shared {
    pub(super) config: DeployedConfig,
    pub(super) stats: Arc<Stats>,
    record: Option<Mutex<std::fs::File>>,
    /// Well-formed frames seen so far, across connections: decides the phase.
    well_formed: AtomicU64,
    /// Batches accepted in normal service: the emulated block number.
    blocks: AtomicU64,
    /// Transactions accepted and answered.
    done_transactions: AtomicU64,
    /// Woken when `done_transactions` reaches `expect_transactions`.
    pub(super) expect_reached: Notify,
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
    pub(super) fn new(
        config: DeployedConfig,
        stats: Arc<Stats>,
        record: Option<Mutex<std::fs::File>>,
    ) -> Self {
        Shared {
            config,
            stats,
            record,
            well_formed: AtomicU64::new(0),
            blocks: AtomicU64::new(0),
            done_transactions: AtomicU64::new(0),
            expect_reached: Notify::new(),
        }
    }

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

    pub(super) fn reject(&self, kind: &str, text: &str, close: bool) -> Answer {
        self.stats.error(kind);
        Answer::reject(text, close)
    }

    /// Decide one frame, in the deployed order: decode, phase, submit.
    pub(super) async fn handle(&self, payload: &[u8]) -> Answer {
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

    pub(super) fn transactions_done(&self, n: u64) {
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
