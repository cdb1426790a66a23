//! One connection of a worker: the write half, and a reader task that
//! turns the peer's answers into [`Event`]s.

use crate::connection::{FrameReader, FrameWriter};
use crate::listener::{Stream, WriteHalf};
use crate::report::Stats;
use crate::response::{self, Response};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// What a connection's reader task reports to its worker.
pub(super) enum Event {
    /// A response frame (decoded or not).
    Response(Result<Response, response::MalformedResponse>),
    /// The read side ended: `clean` is end of stream between frames (the
    /// peer closed or half-closed), otherwise an error.
    Closed {
        /// End of stream, not an error.
        clean: bool,
    },
}

/// One live connection.
pub(super) struct Conn {
    pub(super) writer: FrameWriter<WriteHalf>,
    /// Unbounded on purpose: the reader must drain the socket even while
    /// the worker is blocked writing, or a responding server blocks and our
    /// write never completes. At most one event per frame written.
    pub(super) events: mpsc::UnboundedReceiver<Event>,
    pub(super) reader: JoinHandle<()>,
    /// Frames written and answers read on this connection: more answers
    /// than frames means the stream is out of step.
    pub(super) written: u64,
    pub(super) answered: u64,
    /// Frames whose write completed (handed to the kernel on this
    /// connection); `written` also counts a write that failed.
    pub(super) flushed: u64,
    /// Frames on it are settled by answers (acknowledged mode, or a peer
    /// not known to be silent).
    pub(super) tracked: bool,
    /// It carried a not-ready answer: a close that follows is the deployed
    /// epoch-transition close, not a failure.
    pub(super) saw_transient: bool,
    /// At most one frame in flight until a success answer (SPEC §5.1):
    /// set on a new connection and by a not-ready answer.
    pub(super) probing: bool,
    /// A write failed at this instant: nothing more is written on it, and
    /// it is dropped once the reader has delivered what the peer said
    /// before closing (a not-ready answer, typically), or after
    /// [`LINGER`](super::LINGER).
    pub(super) broken: Option<Instant>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl Conn {
    /// A connection over `stream`, with its reader task started.
    pub(super) fn open(stream: Stream, stats: Arc<Stats>, max: usize, tracked: bool) -> Conn {
        let (rd, wr) = stream.into_split();
        let (tx, rx) = mpsc::unbounded_channel();
        let reader = tokio::spawn(async move {
            let mut reader = FrameReader::new(rd, max, None);
            loop {
                match reader.read_frame().await {
                    Ok(Some(payload)) => {
                        let parsed = response::decode(&payload);
                        stats.update(|c| match &parsed {
                            Ok(r) if r.success => c.responses_ok += 1,
                            Ok(_) => c.responses_error += 1,
                            Err(_) => *c.errors.entry("MalformedResponse".into()).or_insert(0) += 1,
                        });
                        if tx.send(Event::Response(parsed)).is_err() {
                            break;
                        }
                    }
                    end => {
                        let _ = tx.send(Event::Closed {
                            clean: matches!(end, Ok(None)),
                        });
                        break;
                    }
                }
            }
        });
        Conn {
            writer: FrameWriter::new(wr),
            events: rx,
            reader,
            written: 0,
            answered: 0,
            flushed: 0,
            tracked,
            saw_transient: false,
            probing: true,
            broken: None,
        }
    }
}

/// Wait for the next event of the current connection (`None` if the reader
/// is gone).
pub(super) async fn next_event(conn: &mut Option<Conn>) -> Option<Event> {
    match conn {
        Some(c) => c.events.recv().await,
        None => std::future::pending().await,
    }
}
