package txlane

import (
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// senderConn is one worker's connection and its reader's state.
type senderConn struct {
	nc       net.Conn
	owner    *worker
	dead     chan struct{} // closed by the reader when it stops (EOF, error, timeout)
	draining atomic.Bool   // the final read-until-EOF: a deadline then is not an error
	timedOut atomic.Bool   // the reader stopped on an ack timeout
	written  atomic.Int64  // frames written or being written: more answers than this is out of step
	wrote    atomic.Int64  // frames whose write completed (incremented under mu)
	answered atomic.Int64  // answers read
	// quietClose: the close is expected (after a "not ready" answer, or ours after the
	// stream went out of step), not a lost connection.
	quietClose atomic.Bool

	window  chan struct{} // one token per tracked, unanswered frame
	idle    chan struct{} // signalled (non-blocking) when inflight becomes empty
	mu      sync.Mutex
	tracked bool // under mu: frames are settled by answers
	// probing, under mu: at most one frame in flight until a success answer (SPEC §5.1),
	// so that a peer that answers and closes (the epoch transition) has no later frames
	// unread in its socket, whose close would reset the connection and lose that answer.
	// Set on a new connection and by a "not ready" answer.
	probing  bool
	inflight []*item // under mu: written (or being written), unanswered, in write order
}

// stood says whether c carried traffic the peer took: an answer on a tracked connection,
// a completed write on an untracked one. A connection that breaks without that was refused.
func (c *senderConn) stood() bool {
	c.mu.Lock()
	tracked := c.tracked
	c.mu.Unlock()
	if tracked {
		return c.answered.Load() > 0
	}
	return c.wrote.Load() > 0
}

// stands says whether c is open and stood.
func (c *senderConn) stands() bool {
	select {
	case <-c.dead:
		return false
	default:
	}
	return c.stood()
}

// worker owns one connection at a time and the batches it has taken.
type worker struct {
	s       *ChannelBasedSender
	id      int
	conn    *senderConn
	retry   []*item // taken batches to (re)send before taking new ones
	backoff time.Duration
	// pauseUntil: no connect before it. Set when a connection was refused (closed by the
	// peer before it stood), on the connect-failure backoff.
	pauseUntil time.Time
	wake       chan struct{} // signalled when a batch is delayed

	mu        sync.Mutex
	delayed   []*item   // under mu: answered "not ready", waiting for holdUntil
	holdUntil time.Time // under mu: nothing is written before it
}

func (w *worker) aborted() bool { return w.s.abortCtx.Err() != nil }

func (w *worker) run() {
	s := w.s
	for !w.aborted() {
		it, ok := w.next()
		if !ok {
			if w.aborted() || w.finish() {
				break
			}
			continue // finish found batches owed or delayed: send them
		}
		s.m.busy.Add(1)
		w.deliver(it)
		s.m.busy.Add(-1)
	}
	if w.conn != nil {
		w.conn.nc.Close()
		<-w.conn.dead
		w.forget(w.conn)
	}
}

// next returns the next batch to send: a taken one first, then one from the channel. It
// returns false when the channel is closed and drained (or on abort). While the worker
// holds its writes (a "not ready" answer) it waits; while its last connection was refused
// it waits out the reconnect delay before taking a batch it could not send yet; while it
// waits for the channel, a broken connection is reaped so its batches are resent promptly.
func (w *worker) next() (*item, bool) {
	for {
		if !w.waitHold() {
			return nil, false
		}
		if len(w.retry) > 0 {
			it := w.retry[0]
			w.retry = w.retry[1:]
			return it, true
		}
		if w.conn == nil && !w.waitPause() {
			return nil, false
		}
		var dead <-chan struct{}
		if c := w.conn; c != nil {
			dead = c.dead
		}
		select {
		case it, ok := <-w.s.batchChan:
			if !ok {
				return nil, false
			}
			return it, true
		case <-dead:
			w.reap()
		case <-w.wake:
		case <-w.s.abortCtx.Done():
			return nil, false
		}
	}
}

// waitHold sleeps until the hold set by a "not ready" answer has passed, then puts the
// delayed batches at the front of the retry list. False on abort.
func (w *worker) waitHold() bool {
	for {
		w.mu.Lock()
		until := w.holdUntil
		if wait := time.Until(until); wait > 0 {
			w.mu.Unlock()
			t := time.NewTimer(wait)
			select {
			case <-t.C:
			case <-w.s.abortCtx.Done():
				t.Stop()
				return false
			}
			continue
		}
		if len(w.delayed) > 0 {
			w.retry = append(w.delayed, w.retry...)
			w.delayed = nil
		}
		w.mu.Unlock()
		return true
	}
}

// deliver writes the item's frame on the worker's connection, connecting first if needed.
// On a broken connection the batch goes back to the front of the retry list (with every
// batch the connection still owed an answer); the run loop resends it.
func (w *worker) deliver(it *item) {
	s := w.s
	c, err := w.connect()
	if err != nil {
		w.retry = append([]*item{it}, w.retry...)
		return
	}
	tracked, ok := w.track(c, it)
	if !ok {
		return // the connection broke (or abort) while waiting for room; it is in retry
	}
	c.written.Add(1)
	err = WriteFrame(c.nc, it.batch)
	own := w.writeEnded(c, it, tracked, err == nil)
	if err != nil {
		s.m.failed.Add(1)
		if !w.aborted() {
			s.logf("txlane: worker %d: %v", w.id, err)
		}
		if own {
			w.retry = append([]*item{it}, w.retry...)
		}
		// The peer may have answered and closed (the deployed epoch-transition close):
		// let the reader deliver those answers before the connection is dropped.
		t := time.NewTimer(s.cfg.drainTimeout)
		select {
		case <-c.dead:
		case <-t.C:
		case <-s.abortCtx.Done():
		}
		t.Stop()
		c.nc.Close()
		w.reap()
		return
	}
	s.m.sent.Add(1)
	s.m.bytes.Add(int64(len(it.batch)))
	if s.cfg.onWrite != nil {
		s.cfg.onWrite(it.batch)
	}
	if own {
		s.batchDone(it.batch, false, time.Time{})
	}
}

// writeEnded records that the write of it on c ended (ok: completed) and says whether the
// worker owns the batch now, rather than c's answers: c does not track it (a silent peer),
// or settleSilent released it while it was being written, or the write failed (it is taken
// back from inflight: it is the last there, since only this worker appends).
func (w *worker) writeEnded(c *senderConn, it *item, tracked, ok bool) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if ok {
		it.written = true
		c.wrote.Add(1)
	}
	if !tracked || it.released {
		it.released = false
		return true
	}
	if n := len(c.inflight); !ok && n > 0 && c.inflight[n-1] == it {
		c.inflight[n-1] = nil
		c.inflight = c.inflight[:n-1]
		<-c.window // its token: never blocks
		if n == 1 {
			signal(c.idle)
		}
		return true
	}
	return false
}

// track records it as waiting for an answer if c's frames are settled by answers,
// waiting for room in the window: tracked says whether it did. ok is false when the
// connection broke (or the sender aborted) while waiting: it is back in the retry list.
func (w *worker) track(c *senderConn, it *item) (tracked, ok bool) {
	s := w.s
	for {
		c.mu.Lock()
		tracked = c.tracked
		probe := tracked && c.probing && len(c.inflight) > 0
		c.mu.Unlock()
		if !probe {
			break
		}
		select {
		case <-c.idle:
		case <-c.dead:
			w.retry = append([]*item{it}, w.retry...)
			w.reap()
			return false, false
		case <-s.abortCtx.Done():
			w.retry = append([]*item{it}, w.retry...)
			return false, false
		}
	}
	if !tracked {
		return false, true
	}
	select {
	case c.window <- struct{}{}:
	case <-c.dead:
		w.retry = append([]*item{it}, w.retry...)
		w.reap()
		return false, false
	case <-s.abortCtx.Done():
		w.retry = append([]*item{it}, w.retry...)
		return false, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.tracked { // found silent meanwhile
		<-c.window
		return false, true
	}
	it.at = time.Now()
	it.written, it.released = false, false
	c.inflight = append(c.inflight, it)
	if len(c.inflight) == 1 {
		c.nc.SetReadDeadline(time.Now().Add(w.answerTimeout()))
	}
	return true, true
}

// answerTimeout is how long the oldest tracked frame may wait for its answer: the ack
// timeout, or, while a fire-and-forget sender does not know whether the peer answers,
// AutoSilence.
func (w *worker) answerTimeout() time.Duration {
	if w.s.cfg.delivery == FireAndForget && w.s.answering.Load() != peerAnswers {
		return AutoSilence
	}
	return w.s.cfg.ackTimeout
}

// connect returns the worker's live connection, dialling with capped exponential backoff
// and jitter until it succeeds or the sender is aborted. After a refused connection it
// first waits out the delay reap set.
func (w *worker) connect() (*senderConn, error) {
	s := w.s
	if c := w.conn; c != nil {
		select {
		case <-c.dead:
			w.reap()
		default:
			return c, nil
		}
	}
	if !w.waitPause() {
		return nil, s.abortCtx.Err()
	}
	for {
		d := net.Dialer{Timeout: s.cfg.dialTimeout}
		nc, err := d.DialContext(s.abortCtx, s.endpoint.Network, s.endpoint.Address)
		if err == nil {
			// The backoff is not reset here but when the connection stood (reap): a peer
			// that accepts and closes at once is not reconnected to at once.
			c := &senderConn{nc: nc, owner: w, dead: make(chan struct{}), idle: make(chan struct{}, 1)}
			c.tracked = s.cfg.delivery == Acknowledged || s.answering.Load() != peerSilent
			c.probing = c.tracked
			window := s.cfg.maxInFlight
			if s.cfg.delivery == FireAndForget {
				window = DefaultFireAndForgetWindow
			}
			c.window = make(chan struct{}, window)
			s.connMu.Lock()
			s.conns[c] = struct{}{}
			s.connMu.Unlock()
			if w.aborted() { // stop may have run before we registered
				nc.Close()
			}
			go w.readLoop(c)
			w.conn = c
			return c, nil
		}
		if w.aborted() {
			return nil, err
		}
		s.countError(KindConnectFailed)
		if w.failedConnect() {
			s.logf("txlane: worker %d: connect %s: %v (retrying)", w.id, s.endpoint, err)
		}
		if !w.waitPause() {
			return nil, err
		}
	}
}

// failedConnect doubles the reconnect backoff (capped) and sets the pause before the next
// connect: equal jitter, half fixed and half random, so workers that failed together do
// not retry in lockstep. True at the schedule's ends (worth a log line).
func (w *worker) failedConnect() bool {
	cfg := &w.s.cfg
	w.backoff = min(max(2*w.backoff, cfg.backoffMin), cfg.backoffMax)
	w.pauseUntil = time.Now().Add(w.backoff/2 + rand.N(w.backoff/2+1))
	return w.backoff == cfg.backoffMax || w.backoff == cfg.backoffMin
}

// waitPause sleeps until pauseUntil. False on abort.
func (w *worker) waitPause() bool {
	wait := time.Until(w.pauseUntil)
	if wait <= 0 {
		return true
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-w.s.abortCtx.Done():
		return false
	}
}

// reap retires the worker's connection after it broke: it waits for the reader to stop,
// and puts every batch the connection still owed an answer at the front of the retry
// list, oldest first. A connection that stood (see stood) restarts the reconnect backoff;
// one the peer closed before it stood (not on an ack timeout) was refused, as a receiver
// at its connection limit accepts and closes at once: that counts as a failed connect, so
// the next connect waits on the backoff instead of bouncing the batch at once. Then the
// worker hands what it holds to the other workers if it can (handBack).
func (w *worker) reap() {
	c := w.conn
	if c == nil {
		return
	}
	c.nc.Close()
	<-c.dead
	w.conn = nil
	w.forget(c)
	switch {
	case c.timedOut.Load():
		w.s.countError(KindAckTimeout)
	case !c.draining.Load() && !c.quietClose.Load():
		w.s.countError(KindConnectionLost)
	}
	c.mu.Lock()
	owed := c.inflight
	c.inflight = nil
	c.mu.Unlock()
	if len(owed) > 0 {
		w.s.m.failed.Add(int64(len(owed)))
		w.retry = append(owed, w.retry...)
	}
	if c.draining.Load() || w.aborted() {
		return
	}
	switch {
	case c.stood():
		w.backoff = 0
	case !c.timedOut.Load():
		if w.failedConnect() {
			w.s.logf("txlane: worker %d: %s closed the connection before answering (reconnecting after a delay)", w.id, w.s.endpoint)
		}
	}
	w.handBack()
}

// handBack puts the batches the worker holds for resending (w.retry) back on the channel,
// as far as it has room, when another worker's connection stands: that worker sends them
// now, instead of them waiting for this worker's reconnect, bounced on connections the
// peer keeps refusing. What does not fit stays here; so does everything once Close has
// begun (the channel is closed then) or when no other connection stands. Batches "not
// ready" (w.delayed) stay on their schedule. They go to the back of the channel: the
// sender keeps no order across batches.
func (w *worker) handBack() {
	s := w.s
	if len(w.retry) == 0 || !s.standsElsewhere(w) {
		return
	}
	s.sendMu.Lock()
	defer s.sendMu.Unlock()
	if s.closed {
		return
	}
	n := 0
put:
	for _, it := range w.retry {
		select {
		case s.batchChan <- it:
			n++
		default:
			break put
		}
	}
	clear(w.retry[:n])
	w.retry = w.retry[n:]
}

// standsElsewhere says whether a connection of another worker than w stands.
func (s *ChannelBasedSender) standsElsewhere(w *worker) bool {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	for c := range s.conns {
		if c.owner != w && c.stands() {
			return true
		}
	}
	return false
}

func (w *worker) forget(c *senderConn) {
	w.s.connMu.Lock()
	delete(w.s.conns, c)
	w.s.connMu.Unlock()
}

func (w *worker) hasDelayed() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.delayed) > 0
}

// finish runs when the channel is closed and drained. It waits until the connection owes
// no answer; then it half-closes and reads until EOF (or the drain timeout) so the
// receiver has seen every byte. It returns false if batches are to be sent again: owed by
// a connection that broke, or answered "not ready".
func (w *worker) finish() bool {
	s := w.s
	c := w.conn
	if c == nil {
		return !w.hasDelayed()
	}
	for {
		c.mu.Lock()
		n := len(c.inflight)
		c.mu.Unlock()
		if n == 0 {
			break
		}
		select {
		case <-c.idle:
		case <-c.dead:
			w.reap()
			return len(w.retry) == 0 && !w.hasDelayed()
		case <-s.abortCtx.Done():
			return true
		}
	}
	if w.hasDelayed() {
		return false
	}
	c.draining.Store(true)
	if cw, ok := c.nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
	c.nc.SetReadDeadline(time.Now().Add(s.cfg.drainTimeout))
	select {
	case <-c.dead:
	case <-s.abortCtx.Done():
	}
	c.nc.Close()
	<-c.dead
	w.forget(c)
	w.conn = nil
	return true
}
