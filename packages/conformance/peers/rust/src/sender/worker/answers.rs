//! What a worker does with each event of its connection: an answer settles
//! the oldest written frame (delivered, rejected, retried later, or out of
//! step), end of stream or a lost connection sends the unanswered back
//! (unless a peer known silent closed it), and a peer that leaves a frame
//! unanswered for `AUTO_SILENCE` on an open connection is found silent.

use super::{Item, Worker, ANSWERS, SILENT, UNKNOWN};
use crate::response::{self, Response};
use crate::sender::conn::Event;
use crate::sender::retry::{classify, ErrorKind};
use crate::sender::AUTO_SILENCE;
use crate::workload::Batch;
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;
use tokio::time::Instant;

impl Worker {
    /// Handle every event already waiting, without blocking.
    pub(super) fn poll_events(&mut self) {
        while let Some(conn) = self.conn.as_mut() {
            match conn.events.try_recv() {
                Ok(ev) => self.on_event(Some(ev)),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => self.on_event(None),
            }
        }
    }

    pub(super) fn on_event(&mut self, ev: Option<Event>) {
        match ev {
            Some(Event::Response(r)) => self.on_response(r),
            Some(Event::Closed { clean: true }) => self.on_eof(),
            Some(Event::Closed { clean: false }) | None => self.drop_connection(true),
        }
    }

    /// End of stream from the peer: the connection is broken, and what it
    /// left unanswered is resent (at-least-once), even from a peer not yet
    /// known to answer after a write on the connection completed. A clean
    /// close without an answer says nothing about the peer: a receiver at
    /// its connection limit accepts and closes at once, and over TCP our
    /// write can complete (into the kernel) after its FIN was sent and
    /// before we read it. Taking such a close as silence made every later
    /// frame done when written, even on refused connections closed unread
    /// (batches lost). A peer is found silent only by
    /// [`check_silence`](Worker::check_silence): a frame left unanswered
    /// for [`AUTO_SILENCE`] on an open connection.
    ///
    /// But once the peer was found silent (by another worker: this one
    /// would have settled its frames when it looked), this connection's
    /// written frames are a silent peer's, done when written, even if its
    /// loop had not seen that yet: the close is that peer's, e.g. a
    /// `--expect-transactions` receiver exiting once it has every batch,
    /// and resending to it would end in refused connects until the
    /// deadline. A reset (`Closed { clean: false }`) is still resent.
    fn on_eof(&mut self) {
        let unanswered = self
            .conn
            .as_ref()
            .is_some_and(|c| c.tracked && c.answered == 0);
        if unanswered && !self.acknowledged() && self.answering.load(Ordering::Acquire) == SILENT {
            self.written_to_silent_peer();
        }
        self.drop_connection(true);
    }

    /// The connection stands: the peer answered on it, or (a silent peer)
    /// a write on it completed. The reconnect backoff restarts, and other
    /// workers may hand it their batches.
    pub(super) fn stands(&mut self) {
        self.backoff.reset();
        self.standing[self.id].store(true, Ordering::Release);
    }

    /// Settle the oldest written frame with its answer.
    pub(super) fn on_response(&mut self, r: Result<Response, response::MalformedResponse>) {
        let Some(conn) = &mut self.conn else { return };
        conn.answered += 1;
        let (first, tracked, surplus) = (
            conn.answered == 1,
            conn.tracked,
            conn.answered > conn.written,
        );
        if first {
            self.stands();
        }
        if !tracked {
            // A silent peer's frames were done when written; answers only
            // tell us whether the stream is still in step.
            if surplus {
                self.out_of_step("more answers than frames written");
            }
            return;
        }
        if !self.acknowledged() {
            let _ = self.answering.compare_exchange(
                UNKNOWN,
                ANSWERS,
                Ordering::AcqRel,
                Ordering::Acquire,
            );
        }
        let Some(front) = self.inflight.pop_front() else {
            self.out_of_step("an answer with no frame waiting for one");
            return;
        };
        match r {
            // We cannot tell what the peer did with the batch, and the
            // pairing of later answers is suspect: resend (at-least-once).
            Err(_) => {
                self.inflight.push_front(front);
                self.drop_connection(true);
            }
            Ok(resp) if resp.success => {
                if let Some(conn) = &mut self.conn {
                    conn.probing = false;
                }
                self.settle(front.item.batch, true, None);
            }
            Ok(resp) => {
                let error = resp.error.unwrap_or_default();
                match classify(&error) {
                    ErrorKind::Transient => {
                        if let Some(conn) = &mut self.conn {
                            conn.saw_transient = true;
                            conn.probing = true;
                        }
                        self.stats.error("NotReady");
                        self.retry_later(front.item, &error);
                    }
                    ErrorKind::OutOfStep => {
                        self.stats.error("Rejected");
                        eprintln!("txlane-sender: worker {}: rejected: {error}", self.id);
                        self.out_of_step("the peer refused a frame as too large");
                    }
                    ErrorKind::Final => self.stats.error("Rejected"),
                }
            }
        }
    }

    /// A not-ready answer: retry the batch after the schedule's delay, and
    /// write nothing on this worker until then.
    fn retry_later(&mut self, mut item: Item, error: &str) {
        let Some(delay) = self.config.transient_retry.delay(item.not_ready) else {
            eprintln!(
                "txlane-sender: worker {}: still not ready after {} retries: {error}",
                self.id, item.not_ready
            );
            self.stats.error("Rejected");
            return;
        };
        item.not_ready += 1;
        let at = Instant::now() + delay;
        self.hold_until = Some(self.hold_until.map_or(at, |h| h.max(at)));
        self.delayed.push(item);
    }

    /// The answers no longer match our frames: close the connection;
    /// everything unanswered is resent on a new one.
    fn out_of_step(&mut self, why: &str) {
        self.stats.error("OutOfStep");
        eprintln!(
            "txlane-sender: worker {}: out of step ({why}); reconnecting and resending",
            self.id
        );
        self.drop_connection(false);
    }

    /// Forget the connection; everything unanswered goes back, in order,
    /// ahead of anything else waiting to be resent. A close after a
    /// not-ready answer is the peer's normal epoch-transition close.
    ///
    /// A connection lost (`count_lost`) before the peer answered anything on
    /// it (with a silent peer: before a write on it completed) was refused,
    /// as by a receiver at its connection limit, which accepts and closes at
    /// once: it counts as a failed connect, and the next connect waits on
    /// the reconnect backoff. Reconnecting at once made thousands of
    /// connections a second. (An ack timeout, `!count_lost`, is not a
    /// refusal.)
    pub(super) fn drop_connection(&mut self, count_lost: bool) {
        self.standing[self.id].store(false, Ordering::Release);
        if let Some(conn) = self.conn.take() {
            if count_lost && !conn.saw_transient {
                self.stats.error("ConnectionLost");
            }
            let refused = if conn.tracked {
                conn.answered == 0
            } else {
                conn.flushed == 0
            };
            if count_lost && refused {
                let at = Instant::now() + self.backoff.next_delay();
                self.reconnect_at = Some(at);
            }
        }
        while let Some(w) = self.inflight.pop_back() {
            self.resend.push_front(w.item);
        }
        self.hand_back();
    }

    /// After its connection broke, a worker hands the batches it holds to
    /// resend back to the end of the shared queue, as far as the queue has
    /// room, when another worker's connection stands: that worker sends them
    /// now. Otherwise (or for what does not fit) it keeps them and resends
    /// them once it has reconnected. Keeping them bounced a batch on
    /// connections a peer at its connection limit kept refusing, while
    /// another connection could deliver it. Batches answered "not ready"
    /// and waiting for their retry stay. Once the queue has ended (the
    /// sender closed it) nothing goes back. The sender keeps no order across
    /// workers; batches handed back go after those already queued.
    fn hand_back(&mut self) {
        if self.resend.is_empty() {
            return;
        }
        let another_stands = self
            .standing
            .iter()
            .enumerate()
            .any(|(id, s)| id != self.id && s.load(Ordering::Acquire));
        if !another_stands {
            return;
        }
        let Some(queue) = self.requeue.upgrade() else {
            return;
        };
        while let Some(item) = self.resend.pop_front() {
            if let Err(e) = queue.try_send(item) {
                self.resend.push_front(e.into_inner());
                break;
            }
        }
    }

    /// A batch is delivered: answered with success (`answered`), or written
    /// to a silent peer (at `written`).
    pub(super) fn settle(&self, batch: Batch, answered: bool, written: Option<Instant>) {
        self.stats.update(|c| {
            if answered {
                c.acknowledged += 1;
            }
            c.delivered += 1;
            c.digest.merge(batch.digest);
            match written.map(Instant::into_std) {
                Some(at) => {
                    c.first.get_or_insert(at);
                    c.last = Some(c.last.map_or(at, |l| l.max(at)));
                }
                None => c.touch(),
            }
        });
    }

    /// A peer that answers but left the oldest written frame unanswered for
    /// `ack_timeout` is presumed stuck: drop the connection, resend what it
    /// owed (`AckTimeout`). Returns when to look again.
    pub(super) fn check_ack_timeout(&mut self, now: Instant) -> Option<Instant> {
        let waits_for_answers = self.conn.as_ref().is_some_and(|c| c.tracked)
            && (self.acknowledged() || self.answering.load(Ordering::Acquire) == ANSWERS);
        if !waits_for_answers {
            return None;
        }
        let due = self.inflight.front()?.at + self.config.ack_timeout;
        if now < due {
            return Some(due);
        }
        self.stats.error("AckTimeout");
        eprintln!(
            "txlane-sender: worker {}: no answer within {:?}; reconnecting and resending",
            self.id, self.config.ack_timeout
        );
        self.drop_connection(false);
        None
    }

    /// Fire-and-forget: decide whether the peer is silent. Returns when to
    /// look again.
    pub(super) fn check_silence(&mut self, now: Instant) -> Option<Instant> {
        if self.acknowledged() || !self.conn.as_ref().is_some_and(|c| c.tracked) {
            return None;
        }
        let state = self.answering.load(Ordering::Acquire);
        if state == ANSWERS {
            return None;
        }
        let front = self.inflight.front()?.at;
        if state == UNKNOWN && now < front + AUTO_SILENCE {
            return Some(front + AUTO_SILENCE);
        }
        if self
            .answering
            .compare_exchange(UNKNOWN, SILENT, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            eprintln!("txlane-sender: no answer within {AUTO_SILENCE:?}; taking the peer as silent (done when written)");
        }
        self.written_to_silent_peer();
        None
    }

    /// The peer is silent: frames on this connection are done when written.
    /// Settles those written and unanswered (`inflight` holds written frames
    /// only) and stops tracking answers on it.
    fn written_to_silent_peer(&mut self) {
        let mut flushed = 0;
        if let Some(conn) = &mut self.conn {
            conn.tracked = false;
            flushed = conn.flushed;
        }
        while let Some(w) = self.inflight.pop_front() {
            self.settle(w.item.batch, false, Some(w.at));
        }
        if flushed > 0 {
            self.stands();
        }
    }
}
