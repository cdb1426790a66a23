//! Run statistics and the report line of PEERS.md.

use crate::digest::Digest;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Which side a report describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A `send` peer.
    Sender,
    /// A `receive` peer.
    Receiver,
}

/// Counters shared by every task of a peer. A plain mutex is enough: each
/// update is a handful of additions, far cheaper than the I/O around it.
#[derive(Debug, Default)]
pub struct Stats {
    inner: Mutex<Counters>,
}

/// A snapshot of [`Stats`]; field meanings are PEERS.md's report fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Counters {
    /// Frames accepted (receiver) or written (sender).
    pub frames: u64,
    /// Transactions in those frames.
    pub transactions: u64,
    /// Payload bytes of those frames.
    pub bytes: u64,
    /// Digest over those transactions.
    pub digest: Digest,
    /// Sender: batches acknowledged with success.
    pub acknowledged: u64,
    /// Sender: batches done (written, or acknowledged in acknowledged
    /// mode), each counted once however often it was resent. Not reported;
    /// `undelivered` is computed from it.
    pub delivered: u64,
    /// Sender: batches not done at exit.
    pub undelivered: u64,
    /// JSON responses with `"success":true`, written or read.
    pub responses_ok: u64,
    /// JSON responses with `"success":false`, written or read.
    pub responses_error: u64,
    /// Error counts by kind.
    pub errors: BTreeMap<String, u64>,
    /// Implementation-specific counters, reported as extra top-level
    /// fields after `errors` (e.g. the deployed emulator's `queued`).
    pub extra: BTreeMap<String, u64>,
    /// First frame seen or first send.
    pub first: Option<Instant>,
    /// Last frame seen or last batch done.
    pub last: Option<Instant>,
}

impl Stats {
    /// Empty counters.
    pub fn new() -> Self {
        Stats::default()
    }

    /// Run `f` on the counters under the lock.
    pub fn update<R>(&self, f: impl FnOnce(&mut Counters) -> R) -> R {
        // A poisoned lock only means another task panicked mid-update; the
        // counters are still the best information we have, so keep going.
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut guard)
    }

    /// Count one error of `kind`.
    pub fn error(&self, kind: &str) {
        self.update(|c| *c.errors.entry(kind.to_string()).or_insert(0) += 1);
    }

    /// A copy of the counters.
    pub fn snapshot(&self) -> Counters {
        self.update(|c| c.clone())
    }
}

impl Counters {
    /// Mark "now" as the latest activity (and the first, if none yet).
    pub fn touch(&mut self) {
        let now = Instant::now();
        self.first.get_or_insert(now);
        self.last = Some(now);
    }

    /// Elapsed time between first and last activity.
    pub fn elapsed(&self) -> Duration {
        match (self.first, self.last) {
            (Some(a), Some(b)) => b.saturating_duration_since(a),
            _ => Duration::ZERO,
        }
    }

    /// The report line (without the trailing newline), fields in PEERS.md's
    /// order so the line reads like the documented example.
    pub fn report_line(&self, role: Role) -> String {
        self.report_line_as(role, "rust")
    }

    /// [`report_line`](Self::report_line) with another `impl` name, for a
    /// binary that emulates a different peer (`deployed`).
    pub fn report_line_as(&self, role: Role, implementation: &'static str) -> String {
        let line = ReportLine {
            event: "report",
            role: match role {
                Role::Sender => "sender",
                Role::Receiver => "receiver",
            },
            implementation,
            frames: self.frames,
            transactions: self.transactions,
            bytes: self.bytes,
            digest: self.digest.to_hex(),
            acknowledged: self.acknowledged,
            undelivered: self.undelivered,
            responses: Responses {
                ok: self.responses_ok,
                error: self.responses_error,
            },
            errors: &self.errors,
            extra: &self.extra,
            elapsed_ms: self.elapsed().as_millis() as u64,
        };
        // Serializing plain integers, strings and a string-keyed map cannot
        // fail; the fallback keeps the "exactly one line" promise regardless.
        serde_json::to_string(&line)
            .unwrap_or_else(|e| format!("{{\"event\":\"report\",\"error\":\"{e}\"}}"))
    }
}

/// The report line's shape (PEERS.md "Report line").
#[derive(Serialize)]
struct ReportLine<'a> {
    event: &'static str,
    role: &'static str,
    #[serde(rename = "impl")]
    implementation: &'static str,
    frames: u64,
    transactions: u64,
    bytes: u64,
    digest: String,
    acknowledged: u64,
    undelivered: u64,
    responses: Responses,
    errors: &'a BTreeMap<String, u64>,
    #[serde(flatten)]
    extra: &'a BTreeMap<String, u64>,
    #[serde(rename = "elapsedMs")]
    elapsed_ms: u64,
}

#[derive(Serialize)]
struct Responses {
    ok: u64,
    error: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn report_line_shape() {
        let mut c = Counters {
            frames: 2,
            transactions: 3,
            ..Counters::default()
        };
        c.errors.insert("TruncatedFrame".into(), 1);
        let line = c.report_line(Role::Receiver);
        assert!(
            line.starts_with(r#"{"event":"report","role":"receiver","impl":"rust","frames":2,"#),
            "{line}"
        );
        assert!(
            line.ends_with(r#""errors":{"TruncatedFrame":1},"elapsedMs":0}"#),
            "{line}"
        );
    }
}
