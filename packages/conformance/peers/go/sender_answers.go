package txlane

// What a sender does with each answer (PEERS.md "send"): the classification of error
// answers, the not-ready retry schedule, and the reader that settles frames in order.

import (
	"errors"
	"io"
	"os"
	"strings"
	"time"
)

// ErrorClass says what a `"success":false` answer means for its batch.
type ErrorClass int

const (
	// FinalError is the peer's verdict on the batch; resending would not help.
	FinalError ErrorClass = iota
	// TransientError ("Node not ready…"): the peer is starting or changing epoch and did
	// not judge the batch; retry it later.
	TransientError
	// OutOfStepError ("Transaction too large…"): the deployed server did not consume the
	// payload, so the rest of the stream is out of step; the batch is rejected and the
	// connection must be replaced.
	OutOfStepError
)

// ClassifyError classifies an error answer's text, as the TypeScript classifyError does.
func ClassifyError(text string) ErrorClass {
	switch {
	case strings.HasPrefix(text, "Node not ready"):
		return TransientError
	case strings.HasPrefix(text, "Transaction too large"):
		return OutOfStepError
	default:
		return FinalError
	}
}

// TransientRetry is the schedule of a batch answered "Node not ready…": Initial, doubling
// per retry of that batch, capped at Max, at most Retries retries.
type TransientRetry struct {
	Initial time.Duration
	Max     time.Duration
	Retries int
}

// Delay returns the delay before retry n (0-based), or false when the budget is spent.
func (r TransientRetry) Delay(n int) (time.Duration, bool) {
	if n >= r.Retries {
		return 0, false
	}
	d := r.Initial
	for i := 0; i < n && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max), true
}

// The sender's knowledge of whether the peer answers (ChannelBasedSender.answering).
const (
	peerUnknown int32 = iota
	peerAnswers
	peerSilent
)

// item is a taken batch and its history.
type item struct {
	batch    []byte
	notReady int       // "not ready" answers so far
	at       time.Time // last write
	// Under the mutex of the connection that tracks it: its write there completed; and
	// settleSilent took it from inflight while it was being written (the writer settles it).
	written, released bool
}

// readLoop reads the connection's answers: counting them, and while the connection is
// tracked, settling the oldest unanswered frame with each.
func (w *worker) readLoop(c *senderConn) {
	s := w.s
	defer close(c.dead)
	// Responses are small; the default limit just keeps a confused peer from making us
	// allocate without bound.
	fr := NewFrameReader(c.nc, DefaultMaxResponseBytes)
	for {
		payload, err := fr.ReadFrame()
		if err != nil {
			timeout := errors.Is(err, os.ErrDeadlineExceeded)
			// Silence is learnt only here, from a frame left unanswered on an open
			// connection. A clean close (EOF) without any answer is a broken connection:
			// its unanswered frames are resent. A refused connection (a receiver at its
			// connection limit accepts and closes at once) looks the same, over TCP even
			// after a completed write (our write can complete after the peer sent its FIN
			// and before we read it), so taking that close as silence would count frames
			// written into refused connections as done unread. Once the peer is known
			// silent, though, such a close is the peer leaving (leftSilent).
			if timeout && !c.draining.Load() && w.maybeSilent(c) {
				c.nc.SetReadDeadline(time.Time{})
				continue
			}
			if errors.Is(err, io.EOF) && !c.draining.Load() {
				w.leftSilent(c)
			}
			switch {
			case errors.Is(err, io.EOF), c.draining.Load(), w.aborted():
			case timeout:
				c.timedOut.Store(true)
				s.logf("txlane: worker %d: no response within %v", w.id, s.cfg.ackTimeout)
			default:
				s.logf("txlane: worker %d: read: %v", w.id, err)
			}
			return
		}
		answered := c.answered.Add(1)
		resp, derr := DecodeResponse(payload)
		switch {
		case derr != nil:
			s.countError(KindMalformedResponse)
		case resp.Success:
			s.m.responsesOK.Add(1)
		default:
			s.m.responsesError.Add(1)
		}
		c.mu.Lock()
		if !c.tracked {
			c.mu.Unlock()
			if answered > c.written.Load() {
				w.outOfStep(c, "more answers than frames written")
				return
			}
			continue
		}
		if s.cfg.delivery == FireAndForget {
			s.answering.CompareAndSwap(peerUnknown, peerAnswers)
		}
		if len(c.inflight) == 0 {
			c.mu.Unlock()
			w.outOfStep(c, "an answer with no frame waiting for one")
			return
		}
		it := c.inflight[0]
		c.inflight[0] = nil
		c.inflight = c.inflight[1:]
		if len(c.inflight) > 0 {
			c.nc.SetReadDeadline(time.Now().Add(w.answerTimeout()))
		} else {
			c.nc.SetReadDeadline(time.Time{})
			signal(c.idle)
		}
		c.mu.Unlock()
		<-c.window
		switch {
		case derr != nil:
			s.m.failed.Add(1) // what the peer did with it is unknown
		case resp.Success:
			c.mu.Lock()
			c.probing = false
			c.mu.Unlock()
			s.batchDone(it.batch, true, time.Time{})
		default:
			text := ""
			if resp.Error != nil {
				text = *resp.Error
			}
			switch ClassifyError(text) {
			case TransientError:
				c.quietClose.Store(true)
				c.mu.Lock()
				c.probing = true
				c.mu.Unlock()
				s.countError(KindNotReady)
				w.retryLater(it, text)
			case OutOfStepError:
				s.m.failed.Add(1)
				s.countError(KindRejected)
				s.logf("txlane: worker %d: rejected: %s", w.id, text)
				w.outOfStep(c, "the peer refused a frame as too large")
				return
			default:
				s.m.failed.Add(1)
				s.countError(KindRejected)
			}
		}
	}
}

// maybeSilent decides, when a fire-and-forget connection's reader times out (AutoSilence
// after a write without an answer, the connection still open), whether the peer is silent:
// it has answered nothing, on any connection. Then c's frames are settled as a silent
// peer's (settleSilent).
func (w *worker) maybeSilent(c *senderConn) bool {
	s := w.s
	if s.cfg.delivery != FireAndForget || c.answered.Load() > 0 || s.answering.Load() == peerAnswers {
		return false
	}
	if s.answering.CompareAndSwap(peerUnknown, peerSilent) {
		s.logf("txlane: no answer within %v; taking the peer as silent (done when written)", AutoSilence)
	}
	w.settleSilent(c)
	return true
}

// leftSilent settles c's frames as a silent peer's when the peer closed c cleanly (EOF)
// before answering on it, after another connection found the peer silent. c was opened
// before that, so it is still tracked, and the close beat its own AutoSilence: the silent
// peer leaving (say, with every batch: --expect-transactions), not a refusal, since silence
// is the peer's, not one connection's. Resending c's frames could reach nobody.
func (w *worker) leftSilent(c *senderConn) {
	s := w.s
	if s.cfg.delivery == FireAndForget && c.answered.Load() == 0 && s.answering.Load() == peerSilent {
		w.settleSilent(c)
	}
}

// settleSilent stops tracking c: every tracked frame of c whose write completed counts as
// done, and the one being written is left to its writer (done if its write completes,
// resent if not).
func (w *worker) settleSilent(c *senderConn) {
	c.mu.Lock()
	c.tracked = false
	owed := c.inflight
	c.inflight = nil
	var done []*item
	for _, it := range owed {
		if it.written {
			done = append(done, it)
		} else {
			it.released = true
		}
	}
	signal(c.idle)
	c.mu.Unlock()
	for range owed {
		<-c.window
	}
	for _, it := range done {
		w.s.batchDone(it.batch, false, it.at)
	}
}

// retryLater schedules a batch answered "not ready" and holds the worker's writes until
// then; past the retry budget the answer counts as a rejection.
func (w *worker) retryLater(it *item, text string) {
	s := w.s
	delay, ok := s.cfg.transient.Delay(it.notReady)
	if !ok {
		s.m.failed.Add(1)
		s.countError(KindRejected)
		s.logf("txlane: worker %d: still not ready after %d retries: %s", w.id, it.notReady, text)
		return
	}
	it.notReady++
	at := time.Now().Add(delay)
	w.mu.Lock()
	if at.After(w.holdUntil) {
		w.holdUntil = at
	}
	w.delayed = append(w.delayed, it)
	w.mu.Unlock()
	signal(w.wake)
}

// outOfStep closes c: its answers no longer match its frames. The worker reaps it and
// resends every unanswered batch on a new connection.
func (w *worker) outOfStep(c *senderConn, why string) {
	w.s.countError(KindOutOfStep)
	w.s.logf("txlane: worker %d: out of step (%s); reconnecting and resending", w.id, why)
	c.quietClose.Store(true)
	c.nc.Close()
}

// signal wakes whoever waits on ch (capacity 1) without blocking.
func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}
