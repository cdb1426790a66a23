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
//! [`Dial::dial`] and calls [`Conn::send`] once per batch: `Ok` is delivered
//! (`Ok(false)` also tells every connection, through
//! [`SendOptions::receiver_silent`], that the receiver is silent),
//! [`SendError::NotReady`] resends the batch after 100 ms doubling to 4 s (at
//! most 30 times), [`SendError::Rejected`] gives it up, and
//! [`SendError::Broken`] drops the connection, dials again (with backoff,
//! until `--timeout-ms`) and resends the batch. [`FrameDial`] is a
//! ready-made client that speaks the framing directly.

mod command;
mod frame_conn;
mod send;

use crate::endpoint::Endpoint;
use bytes::Bytes;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use crate::server::{AcceptAll, BoxFuture, Submit};
pub use command::{main, run};
pub use frame_conn::{FrameConn, FrameDial, SILENT_AFTER};

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
    /// that does not answer (from then on
    /// [`ReceiverSilence::is_known`] for every connection of the sender).
    fn send<'a>(&'a mut self, payload: &'a Bytes) -> BoxFuture<'a, Result<bool, SendError>>;
}

/// The PEERS.md `send` flags a client may care about, and what the sender
/// learnt that every connection may use.
#[derive(Debug, Clone)]
pub struct SendOptions {
    /// `--delivery acknowledged`: the receiver answers every frame (the
    /// harness pairs acknowledged senders with answering receivers), so a
    /// client never needs to decide it is silent.
    pub acknowledged: bool,
    /// `--max-frame-bytes`; the kit never hands a larger payload to a Conn.
    pub max_frame_bytes: usize,
    /// Whether this sender already found the receiver silent, shared by
    /// every connection it dials.
    pub receiver_silent: ReceiverSilence,
}

#[cfg(test)]
impl SendOptions {
    /// The tests' usual options: fire-and-forget, 1 MiB frames, silence not known.
    pub(crate) fn fire_and_forget() -> Self {
        SendOptions {
            acknowledged: false,
            max_frame_bytes: 1 << 20,
            receiver_silent: ReceiverSilence::default(),
        }
    }
}

/// "This sender already found the receiver silent": known once any
/// [`Conn::send`] of the sender returned `Ok(false)`. Silence is the
/// receiver's, not a connection's, so a connection that has not answered
/// can count on it: its frames are delivered once written, and a clean
/// close before any answer is that receiver leaving (a
/// `--expect-transactions` receiver exits once it has every batch), not a
/// refusal: the frame written is not resent to a receiver that may be
/// gone. Clones share one flag; the default is not known.
#[derive(Debug, Clone, Default)]
pub struct ReceiverSilence(Arc<AtomicBool>);

impl ReceiverSilence {
    /// Whether a connection of this sender found the receiver silent.
    pub fn is_known(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }

    /// Set by the kit's sender loop on an `Ok(false)`.
    pub(crate) fn set_known(&self) {
        self.0.store(true, Ordering::Release);
    }
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
