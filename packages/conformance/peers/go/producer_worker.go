package txlane

// A DeployedProducer's worker: one connection at a time, one frame in flight, the deployed
// producer's fixed retry interval and its not-ready handling.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"
	"time"
)

// IsNotReadyAnswer reports whether an error answer's text is one of the deployed
// server's transient refusals, which the deployed producer retries rather than treats as
// a failure: `Node not ready to accept transactions: …`, `Node not ready: …`, or any
// text mentioning an epoch transition.
func IsNotReadyAnswer(text string) bool {
	return strings.HasPrefix(text, "Node not ready") ||
		strings.Contains(strings.ToLower(text), "epoch transition")
}

// outcome is how one write-and-wait exchange ended.
type outcome int

const (
	outcomeAcked    outcome = iota // "success":true
	outcomeNotReady                // a not-ready answer; the connection may still be open
	outcomeFailed                  // anything else: reconnect, sleep, resend
)

// producerWorker owns one connection at a time.
type producerWorker struct {
	p    *DeployedProducer
	id   int
	conn net.Conn
}

func (w *producerWorker) run() {
	p := w.p
	defer w.disconnect()
	for {
		select {
		case batch, ok := <-p.ch:
			if !ok {
				return
			}
			w.deliver(batch)
			if p.aborted() {
				return
			}
		case <-p.abortCtx.Done():
			return
		}
	}
}

// deliver sends batch until it is acknowledged, its retries run out, or the producer is
// aborted. Not-ready answers and other failures have separate budgets.
func (w *producerWorker) deliver(batch []byte) {
	p := w.p
	notReady, failures := 0, 0
	giveUp := func(why string) {
		p.m.givenUp.Add(1)
		p.batchDone()
		p.logf("worker %d: giving up a batch after %s", w.id, why)
	}
	for !p.aborted() {
		if w.conn == nil {
			if err := w.connect(); err != nil {
				if p.aborted() {
					return
				}
				p.countError(KindConnectFailed)
				p.logf("worker %d: connect %s: %v", w.id, p.endpoint, err)
				if failures++; failures > p.cfg.ErrorRetries {
					giveUp(fmt.Sprintf("%d failures", failures))
					return
				}
				if !p.sleep() {
					return
				}
				continue
			}
		}
		o := w.exchange(batch)
		if o != outcomeAcked && p.aborted() {
			return // undelivered, not given up
		}
		switch o {
		case outcomeAcked:
			p.m.acked.Add(1)
			p.batchDone()
			return
		case outcomeNotReady:
			if notReady++; notReady > p.cfg.NotReadyRetries {
				giveUp(fmt.Sprintf("%d not-ready answers", notReady))
				return
			}
			if !p.sleep() {
				return
			}
			// The server may have closed the connection after its answer (it does after
			// `Node not ready: …`); then the retry goes out on a new one.
			if !w.stillOpen() {
				w.disconnect()
			}
		case outcomeFailed:
			w.disconnect()
			if failures++; failures > p.cfg.ErrorRetries {
				giveUp(fmt.Sprintf("%d failures", failures))
				return
			}
			// Reconnect, sleep, resend, in the deployed producer's order. A failed
			// connect here is counted; the top of the loop tries again after the sleep.
			if err := w.connect(); err != nil {
				if p.aborted() {
					return
				}
				p.countError(KindConnectFailed)
				p.logf("worker %d: reconnect %s: %v", w.id, p.endpoint, err)
			}
			if !p.sleep() {
				return
			}
		}
	}
}

// exchange writes batch as one frame on the worker's connection and reads its answer,
// both within the answer deadline, counting what happened.
func (w *producerWorker) exchange(batch []byte) outcome {
	p := w.p
	c := w.conn
	c.SetDeadline(time.Now().Add(p.cfg.AnswerDeadline))
	if err := WriteFrame(c, batch); err != nil {
		w.countIOError("write", err)
		return outcomeFailed
	}
	p.m.sent.Add(1)
	p.m.bytes.Add(int64(len(batch)))
	if p.cfg.OnWrite != nil {
		p.cfg.OnWrite(batch)
	}
	// Answers are small; the default limit only keeps a confused peer from making us
	// allocate without bound.
	payload, err := ReadFrame(c, DefaultMaxFrameBytes)
	if err != nil {
		w.countIOError("read answer", err)
		return outcomeFailed
	}
	c.SetDeadline(time.Time{})
	resp, err := DecodeResponse(payload)
	switch {
	case err != nil:
		p.countError(KindMalformedResponse)
		p.logf("worker %d: %v", w.id, err)
		return outcomeFailed
	case resp.Success:
		p.m.responsesOK.Add(1)
		return outcomeAcked
	}
	p.m.responsesError.Add(1)
	text := ""
	if resp.Error != nil {
		text = *resp.Error
	}
	if IsNotReadyAnswer(text) {
		p.countError(KindNotReady)
		p.logf("worker %d: %q: retrying in %v", w.id, text, p.cfg.RetryInterval)
		return outcomeNotReady
	}
	p.countError(KindRejected)
	p.logf("worker %d: error answer %q: reconnecting and resending", w.id, text)
	return outcomeFailed
}

// countIOError classifies a write or read failure: AckTimeout past the deadline,
// ConnectionLost otherwise (EOF, reset, broken pipe, truncated answer).
func (w *producerWorker) countIOError(op string, err error) {
	p := w.p
	if p.aborted() {
		return
	}
	if errors.Is(err, os.ErrDeadlineExceeded) {
		p.countError(KindAckTimeout)
		p.logf("worker %d: no answer within %v", w.id, p.cfg.AnswerDeadline)
		return
	}
	p.countError(KindConnectionLost)
	p.logf("worker %d: %s: %v", w.id, op, err)
}

// stillOpen probes the idle connection: it is gone if a read ends at once (EOF or an
// error). A stray byte also retires it, since the stream is then out of step.
func (w *producerWorker) stillOpen() bool {
	if w.conn == nil {
		return false
	}
	var b [1]byte
	w.conn.SetReadDeadline(time.Now().Add(time.Millisecond))
	n, err := w.conn.Read(b[:])
	w.conn.SetReadDeadline(time.Time{})
	if n > 0 {
		w.p.countError(KindUnexpected)
		w.p.logf("worker %d: unexpected bytes from the server", w.id)
		return false
	}
	// Only "nothing to read yet" means open; EOF or any other error means gone.
	return errors.Is(err, os.ErrDeadlineExceeded)
}

// connect dials the endpoint once and registers the connection for abort.
func (w *producerWorker) connect() error {
	p := w.p
	d := net.Dialer{Timeout: p.cfg.DialTimeout}
	c, err := d.DialContext(p.abortCtx, p.endpoint.Network, p.endpoint.Address)
	if err != nil {
		return err
	}
	p.connMu.Lock()
	p.conns[c] = struct{}{}
	p.connMu.Unlock()
	if p.aborted() { // stop may have run before we registered
		c.Close()
	}
	w.conn = c
	return nil
}

// disconnect closes and forgets the worker's connection, if any.
func (w *producerWorker) disconnect() {
	if w.conn == nil {
		return
	}
	w.conn.Close()
	w.p.connMu.Lock()
	delete(w.p.conns, w.conn)
	w.p.connMu.Unlock()
	w.conn = nil
}
