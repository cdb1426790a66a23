package txlane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Sender defaults.
const (
	// DefaultSenderWorkers is the worker count used when NewChannelBasedSender gets zero;
	// the seed design runs 10–20.
	DefaultSenderWorkers = 10
	// DefaultSenderBuffer is the batch channel capacity used for zero: the seed's 1000.
	DefaultSenderBuffer = 1000
	// DefaultDialTimeout bounds one connection attempt.
	DefaultDialTimeout = time.Second
	// DefaultBackoffMin and DefaultBackoffMax bound the reconnect delay, which doubles per
	// failed attempt: short enough to catch a receiver that is just starting, capped so a
	// dead receiver costs one attempt a second per worker.
	DefaultBackoffMin = 5 * time.Millisecond
	DefaultBackoffMax = time.Second
	// DefaultAckTimeout is how long an acknowledged-mode connection may owe a response
	// before it is presumed dead and its unacknowledged batches are resent.
	DefaultAckTimeout = 10 * time.Second
	// DefaultMaxInFlight bounds the unacknowledged batches of one acknowledged-mode
	// connection (the pipelining window).
	DefaultMaxInFlight = 64
	// DefaultDrainTimeout bounds the final read-until-EOF after half-closing a connection
	// (PEERS.md: "reads until EOF (or 1 s)").
	DefaultDrainTimeout = time.Second
)

// Sender error kinds (PEERS.md report names), counted in SenderMetrics.Errors.
const (
	KindConnectFailed     = "ConnectFailed"
	KindAckTimeout        = "AckTimeout"
	KindMalformedResponse = "MalformedResponse"
	KindUnexpected        = "UnexpectedResponse"
)

// ErrSenderClosed is returned by SendBatch after Close has begun.
var ErrSenderClosed = errors.New("txlane: sender closed")

// Delivery says when a batch counts as done.
type Delivery int

const (
	// FireAndForget: a batch is done once its frame is written. Responses are still read
	// (and counted) so that a responding receiver cannot block the sender. It is the zero
	// value and the seed's mode.
	FireAndForget Delivery = iota
	// Acknowledged: a batch is done once a `"success":true` response for it arrives.
	// Frames are pipelined (up to WithMaxInFlight per connection) and responses matched
	// in order; the unacknowledged batches of a broken connection are resent.
	Acknowledged
)

// String returns "fire-and-forget" or "acknowledged".
func (d Delivery) String() string {
	if d == Acknowledged {
		return "acknowledged"
	}
	return "fire-and-forget"
}

type senderConfig struct {
	delivery      Delivery
	maxFrameBytes int
	dialTimeout   time.Duration
	backoffMin    time.Duration
	backoffMax    time.Duration
	ackTimeout    time.Duration
	maxInFlight   int
	drainTimeout  time.Duration
	onWrite       func(batch []byte)
	logger        *log.Logger
}

// SenderOption configures a ChannelBasedSender.
type SenderOption func(*senderConfig)

// WithDelivery sets the delivery mode (default FireAndForget).
func WithDelivery(d Delivery) SenderOption { return func(c *senderConfig) { c.delivery = d } }

// WithMaxFrameBytes sets the largest batch SendBatch accepts (default
// DefaultMaxFrameBytes); larger ones are rejected before queueing.
func WithMaxFrameBytes(n int) SenderOption { return func(c *senderConfig) { c.maxFrameBytes = n } }

// WithDialTimeout bounds one connection attempt (default DefaultDialTimeout).
func WithDialTimeout(d time.Duration) SenderOption {
	return func(c *senderConfig) { c.dialTimeout = d }
}

// WithBackoff sets the reconnect delay bounds (defaults DefaultBackoffMin, DefaultBackoffMax).
func WithBackoff(minDelay, maxDelay time.Duration) SenderOption {
	return func(c *senderConfig) { c.backoffMin, c.backoffMax = minDelay, maxDelay }
}

// WithAckTimeout sets how long an acknowledged-mode connection may owe a response
// (default DefaultAckTimeout).
func WithAckTimeout(d time.Duration) SenderOption { return func(c *senderConfig) { c.ackTimeout = d } }

// WithMaxInFlight sets the acknowledged-mode pipelining window per connection (default
// DefaultMaxInFlight).
func WithMaxInFlight(n int) SenderOption { return func(c *senderConfig) { c.maxInFlight = n } }

// WithDrainTimeout bounds the final read-until-EOF of each connection (default
// DefaultDrainTimeout).
func WithDrainTimeout(d time.Duration) SenderOption {
	return func(c *senderConfig) { c.drainTimeout = d }
}

// WithOnWrite registers a function called with every batch after its frame was written
// (once per write: a resent batch is reported again). It is called from worker goroutines
// concurrently and must be fast.
func WithOnWrite(f func(batch []byte)) SenderOption { return func(c *senderConfig) { c.onWrite = f } }

// WithLogger sets where connection errors are logged (default: nowhere).
func WithLogger(l *log.Logger) SenderOption { return func(c *senderConfig) { c.logger = l } }

// SenderMetrics are the counters the operators asked for (sent, failed, batches, channel
// utilisation, worker utilisation), plus what the conformance report needs.
type SenderMetrics struct {
	Batches        int64   // batches accepted by SendBatch
	Sent           int64   // frames written; a resent batch counts once per write
	Bytes          int64   // payload bytes of those frames
	Failed         int64   // failed delivery attempts: write errors, batches taken back from a broken connection, rejections
	Delivered      int64   // batches done: written (FireAndForget) or acknowledged (Acknowledged)
	Acknowledged   int64   // batches acknowledged with success
	ResponsesOK    int64   // responses read with "success":true
	ResponsesError int64   // responses read with "success":false
	QueueLen       int     // batches waiting in the channel now
	QueueCap       int     // the channel's capacity
	ChannelUtil    float64 // QueueLen / QueueCap: channel utilisation
	BusyWorkers    int64   // workers holding a batch now
	Workers        int     // worker count
	WorkerUtil     float64 // BusyWorkers / Workers: worker utilisation
	Errors         map[string]int64
}

// SenderReport is what Close returns.
type SenderReport struct {
	SenderMetrics
	// Undelivered is Batches - Delivered at the end: batches never written
	// (FireAndForget) or never acknowledged (Acknowledged), rejected ones included.
	Undelivered int64
	// Elapsed runs from the first accepted batch to the last batch done.
	Elapsed time.Duration
}

// ChannelBasedSender is the seed design's sender: SendBatch puts encoded `Transactions`
// payloads on a buffered channel, and N workers, each owning one persistent connection
// (opened lazily, reopened with capped exponential backoff and jitter), write them as
// frames. Every connection has a reader goroutine, in both delivery modes, so a receiver
// that answers every frame can never fill the sender's receive buffer and block it.
type ChannelBasedSender struct {
	endpoint  Endpoint
	cfg       senderConfig
	batchChan chan []byte
	workers   int
	start     time.Time

	sendMu    sync.Mutex
	closed    bool           // under sendMu
	sendersWG sync.WaitGroup // SendBatch calls in progress; Add only under sendMu while !closed
	closing   chan struct{}  // closed when Close begins: blocked SendBatch calls give up
	closeOnce sync.Once

	abortCtx  context.Context // cancelled when Close's context ends: stop retrying
	abort     context.CancelFunc
	workersWG sync.WaitGroup

	connMu sync.Mutex
	conns  map[*senderConn]struct{} // open connections, closed by abort

	m struct {
		batches, sent, bytes, failed, delivered, acked atomic.Int64
		responsesOK, responsesError, busy              atomic.Int64
		firstNs, lastNs                                atomic.Int64 // since start; 0 = unset
		errMu                                          sync.Mutex
		errors                                         map[string]int64
	}
}

// NewChannelBasedSender returns a sender to endpoint (`/abs/path`, `unix:/abs/path` or
// `tcp://host:port`) with workers workers (zero: DefaultSenderWorkers) and a channel of
// buffer batches (zero: DefaultSenderBuffer). No connection is opened until a worker has
// a batch for it. Close it to drain and stop.
func NewChannelBasedSender(endpoint string, workers, buffer int, opts ...SenderOption) (*ChannelBasedSender, error) {
	ep, err := ParseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	if workers < 0 || buffer < 0 {
		return nil, fmt.Errorf("txlane: sender: workers (%d) and buffer (%d) must not be negative", workers, buffer)
	}
	if workers == 0 {
		workers = DefaultSenderWorkers
	}
	if buffer == 0 {
		buffer = DefaultSenderBuffer
	}
	cfg := senderConfig{
		maxFrameBytes: DefaultMaxFrameBytes,
		dialTimeout:   DefaultDialTimeout,
		backoffMin:    DefaultBackoffMin,
		backoffMax:    DefaultBackoffMax,
		ackTimeout:    DefaultAckTimeout,
		maxInFlight:   DefaultMaxInFlight,
		drainTimeout:  DefaultDrainTimeout,
	}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.maxFrameBytes = int(normMax(cfg.maxFrameBytes))
	cfg.maxInFlight = max(cfg.maxInFlight, 1)
	cfg.backoffMin = max(cfg.backoffMin, time.Millisecond)
	cfg.backoffMax = max(cfg.backoffMax, cfg.backoffMin)
	s := &ChannelBasedSender{
		endpoint:  ep,
		cfg:       cfg,
		batchChan: make(chan []byte, buffer),
		workers:   workers,
		start:     time.Now(),
		closing:   make(chan struct{}),
		conns:     make(map[*senderConn]struct{}),
	}
	s.abortCtx, s.abort = context.WithCancel(context.Background())
	s.workersWG.Add(workers)
	for i := range workers {
		w := &worker{s: s, id: i}
		go func() {
			defer s.workersWG.Done()
			w.run()
		}()
	}
	return s, nil
}

// SendBatch queues batch, an encoded `Transactions` payload, for some worker to send. It
// blocks while the channel is full (that is the backpressure: the producer runs at the
// workers' pace). A batch over the configured maximum frame size is rejected at once with
// an error matching ErrFrameTooLarge and never queued. After Close has begun it returns
// ErrSenderClosed. The sender keeps batch: do not modify it afterwards.
func (s *ChannelBasedSender) SendBatch(batch []byte) error {
	return s.SendBatchContext(context.Background(), batch)
}

// SendBatchContext is SendBatch that also gives up, with ctx's error, when ctx ends.
func (s *ChannelBasedSender) SendBatchContext(ctx context.Context, batch []byte) error {
	if len(batch) > s.cfg.maxFrameBytes {
		return fmt.Errorf("txlane: send batch: %w", &FrameTooLargeError{Length: int64(len(batch)), Max: int64(s.cfg.maxFrameBytes)})
	}
	s.sendMu.Lock()
	if s.closed {
		s.sendMu.Unlock()
		return ErrSenderClosed
	}
	s.sendersWG.Add(1)
	s.sendMu.Unlock()
	defer s.sendersWG.Done()
	select {
	case s.batchChan <- batch:
		s.m.batches.Add(1)
		s.m.firstNs.CompareAndSwap(0, s.sinceStart())
		return nil
	case <-s.closing:
		return ErrSenderClosed
	case <-ctx.Done():
		return fmt.Errorf("txlane: send batch: %w", ctx.Err())
	}
}

// Metrics returns a snapshot of the counters.
func (s *ChannelBasedSender) Metrics() SenderMetrics {
	m := SenderMetrics{
		Batches:        s.m.batches.Load(),
		Sent:           s.m.sent.Load(),
		Bytes:          s.m.bytes.Load(),
		Failed:         s.m.failed.Load(),
		Delivered:      s.m.delivered.Load(),
		Acknowledged:   s.m.acked.Load(),
		ResponsesOK:    s.m.responsesOK.Load(),
		ResponsesError: s.m.responsesError.Load(),
		QueueLen:       len(s.batchChan),
		QueueCap:       cap(s.batchChan),
		BusyWorkers:    s.m.busy.Load(),
		Workers:        s.workers,
		Errors:         map[string]int64{},
	}
	if m.QueueCap > 0 {
		m.ChannelUtil = float64(m.QueueLen) / float64(m.QueueCap)
	}
	m.WorkerUtil = float64(m.BusyWorkers) / float64(m.Workers)
	s.m.errMu.Lock()
	for k, v := range s.m.errors {
		m.Errors[k] = v
	}
	s.m.errMu.Unlock()
	return m
}

// Close stops accepting batches and drains: closing the channel tells the workers to
// finish what is queued (and, Acknowledged, wait for the responses), then half-close their
// connections and read until EOF or the drain timeout. If ctx ends first, the workers give
// up, connections are closed, and ctx's error is returned with the report; whatever was
// not delivered is in Report.Undelivered. Close may be called more than once.
func (s *ChannelBasedSender) Close(ctx context.Context) (SenderReport, error) {
	s.closeOnce.Do(func() {
		s.sendMu.Lock()
		s.closed = true
		close(s.closing)
		s.sendMu.Unlock()
		s.sendersWG.Wait() // nobody sends on batchChan any more
		close(s.batchChan) // the drain signal: workers range until it is empty
	})
	done := make(chan struct{})
	go func() {
		s.workersWG.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.stop()
		<-done
		err = fmt.Errorf("txlane: sender close: %w", ctx.Err())
	}
	s.abort() // release the context's resources
	r := SenderReport{SenderMetrics: s.Metrics()}
	r.Undelivered = r.Batches - r.Delivered
	if first, last := s.m.firstNs.Load(), s.m.lastNs.Load(); first > 0 && last > first {
		r.Elapsed = time.Duration(last - first)
	}
	return r, err
}

// stop aborts the workers: no more retries or waits, every connection closed.
func (s *ChannelBasedSender) stop() {
	s.abort()
	s.connMu.Lock()
	for c := range s.conns {
		c.nc.Close()
	}
	s.connMu.Unlock()
}

func (s *ChannelBasedSender) sinceStart() int64 { return max(int64(time.Since(s.start)), 1) }

func (s *ChannelBasedSender) batchDone() {
	s.m.delivered.Add(1)
	now := s.sinceStart()
	for {
		last := s.m.lastNs.Load()
		if now <= last || s.m.lastNs.CompareAndSwap(last, now) {
			return
		}
	}
}

func (s *ChannelBasedSender) countError(kind string) {
	s.m.errMu.Lock()
	if s.m.errors == nil {
		s.m.errors = make(map[string]int64)
	}
	s.m.errors[kind]++
	s.m.errMu.Unlock()
}

func (s *ChannelBasedSender) logf(format string, args ...any) {
	if s.cfg.logger != nil {
		s.cfg.logger.Printf(format, args...)
	}
}

// senderConn is one worker's connection and its reader's state.
type senderConn struct {
	nc       net.Conn
	dead     chan struct{} // closed by the reader when it stops (EOF, error, timeout)
	draining atomic.Bool   // the final read-until-EOF: a deadline then is not an error
	timedOut atomic.Bool   // the reader stopped on an ack timeout

	// Acknowledged mode only.
	window   chan struct{} // one token per unacknowledged batch
	idle     chan struct{} // signalled (non-blocking) when inflight becomes empty
	mu       sync.Mutex
	inflight [][]byte // written (or being written), unacknowledged, in write order
}

// worker owns one connection at a time and the batches it has taken.
type worker struct {
	s       *ChannelBasedSender
	id      int
	conn    *senderConn
	retry   [][]byte // taken batches to (re)send before taking new ones
	backoff time.Duration
}

func (w *worker) aborted() bool { return w.s.abortCtx.Err() != nil }

func (w *worker) run() {
	s := w.s
	for !w.aborted() {
		batch, ok := w.next()
		if !ok {
			if w.aborted() || w.finish() {
				break
			}
			continue // finish found a broken connection: resend what it owed
		}
		s.m.busy.Add(1)
		w.deliver(batch)
		s.m.busy.Add(-1)
	}
	if w.conn != nil {
		w.conn.nc.Close()
		<-w.conn.dead
		w.forget(w.conn)
	}
}

// next returns the next batch to send: a taken one first, then one from the channel. It
// returns false when the channel is closed and drained (or on abort). While it waits, a
// broken acknowledged-mode connection is reaped so its batches are resent promptly.
func (w *worker) next() ([]byte, bool) {
	for {
		if len(w.retry) > 0 {
			b := w.retry[0]
			w.retry = w.retry[1:]
			return b, true
		}
		var dead <-chan struct{}
		if w.conn != nil && w.s.cfg.delivery == Acknowledged {
			dead = w.conn.dead
		}
		select {
		case b, ok := <-w.s.batchChan:
			return b, ok
		case <-dead:
			w.reap()
		case <-w.s.abortCtx.Done():
			return nil, false
		}
	}
}

// deliver writes batch on the worker's connection, connecting first if needed. On a
// broken connection the batch goes back to the front of the retry list (with, in
// Acknowledged mode, every batch the connection still owed); the run loop resends it.
func (w *worker) deliver(batch []byte) {
	s := w.s
	c, err := w.connect()
	if err != nil {
		w.retry = append([][]byte{batch}, w.retry...)
		return
	}
	if s.cfg.delivery == Acknowledged {
		select {
		case c.window <- struct{}{}:
		case <-c.dead:
			w.retry = append([][]byte{batch}, w.retry...)
			w.reap()
			return
		case <-s.abortCtx.Done():
			w.retry = append([][]byte{batch}, w.retry...)
			return
		}
		c.mu.Lock()
		c.inflight = append(c.inflight, batch)
		if len(c.inflight) == 1 {
			c.nc.SetReadDeadline(time.Now().Add(s.cfg.ackTimeout))
		}
		c.mu.Unlock()
	}
	if err := WriteFrame(c.nc, batch); err != nil {
		s.m.failed.Add(1)
		if !w.aborted() {
			s.logf("txlane: worker %d: %v", w.id, err)
		}
		if s.cfg.delivery == FireAndForget {
			w.retry = append([][]byte{batch}, w.retry...)
		}
		c.nc.Close()
		w.reap() // Acknowledged: batch is in inflight and comes back with it
		return
	}
	s.m.sent.Add(1)
	s.m.bytes.Add(int64(len(batch)))
	if s.cfg.onWrite != nil {
		s.cfg.onWrite(batch)
	}
	if s.cfg.delivery == FireAndForget {
		s.batchDone()
	}
}

// connect returns the worker's live connection, dialling with capped exponential backoff
// and jitter until it succeeds or the sender is aborted.
func (w *worker) connect() (*senderConn, error) {
	s := w.s
	if w.conn != nil {
		select {
		case <-w.conn.dead:
			w.reap()
		default:
			return w.conn, nil
		}
	}
	for {
		d := net.Dialer{Timeout: s.cfg.dialTimeout}
		nc, err := d.DialContext(s.abortCtx, s.endpoint.Network, s.endpoint.Address)
		if err == nil {
			w.backoff = 0
			c := &senderConn{nc: nc, dead: make(chan struct{})}
			if s.cfg.delivery == Acknowledged {
				c.window = make(chan struct{}, s.cfg.maxInFlight)
				c.idle = make(chan struct{}, 1)
			}
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
		w.backoff = min(max(2*w.backoff, s.cfg.backoffMin), s.cfg.backoffMax)
		// Equal jitter: half fixed, half random, so workers that failed together do not
		// retry in lockstep.
		delay := w.backoff/2 + rand.N(w.backoff/2+1)
		if w.backoff == s.cfg.backoffMax || w.backoff == s.cfg.backoffMin {
			s.logf("txlane: worker %d: connect %s: %v (retrying)", w.id, s.endpoint, err)
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-s.abortCtx.Done():
			t.Stop()
			return nil, err
		}
	}
}

// reap retires the worker's connection after it broke: it waits for the reader to stop,
// and puts every batch the connection still owed (Acknowledged) at the front of the retry
// list, oldest first.
func (w *worker) reap() {
	c := w.conn
	if c == nil {
		return
	}
	c.nc.Close()
	<-c.dead
	w.conn = nil
	w.forget(c)
	if c.timedOut.Load() {
		w.s.countError(KindAckTimeout)
	} else if !c.draining.Load() {
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
}

func (w *worker) forget(c *senderConn) {
	w.s.connMu.Lock()
	delete(w.s.conns, c)
	w.s.connMu.Unlock()
}

// finish runs when the channel is closed and drained. Acknowledged, it waits until the
// connection owes nothing; then it half-closes and reads until EOF (or the drain timeout)
// so the receiver has seen every byte. It returns false if the connection broke while
// batches were owed: they are back in the retry list.
func (w *worker) finish() bool {
	s := w.s
	c := w.conn
	if c == nil {
		return true
	}
	if s.cfg.delivery == Acknowledged {
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
				return len(w.retry) == 0
			case <-s.abortCtx.Done():
				return true
			}
		}
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

// readLoop reads the connection's responses, in both modes: counting them, and in
// Acknowledged mode matching them in order to the batches in flight.
func (w *worker) readLoop(c *senderConn) {
	s := w.s
	defer close(c.dead)
	// Responses are small; the default limit just keeps a confused peer from making us
	// allocate without bound.
	fr := NewFrameReader(c.nc, DefaultMaxFrameBytes)
	for {
		payload, err := fr.ReadFrame()
		if err != nil {
			switch {
			case errors.Is(err, io.EOF), c.draining.Load(), w.aborted():
			case errors.Is(err, os.ErrDeadlineExceeded):
				c.timedOut.Store(true)
				s.logf("txlane: worker %d: no response within %v", w.id, s.cfg.ackTimeout)
			default:
				s.logf("txlane: worker %d: read: %v", w.id, err)
			}
			return
		}
		resp, derr := DecodeResponse(payload)
		switch {
		case derr != nil:
			s.countError(KindMalformedResponse)
		case resp.Success:
			s.m.responsesOK.Add(1)
		default:
			s.m.responsesError.Add(1)
		}
		if s.cfg.delivery != Acknowledged {
			continue
		}
		c.mu.Lock()
		if len(c.inflight) == 0 {
			c.mu.Unlock()
			s.countError(KindUnexpected)
			continue
		}
		c.inflight[0] = nil
		c.inflight = c.inflight[1:]
		if len(c.inflight) > 0 {
			c.nc.SetReadDeadline(time.Now().Add(s.cfg.ackTimeout))
		} else {
			c.nc.SetReadDeadline(time.Time{})
			select {
			case c.idle <- struct{}{}:
			default:
			}
		}
		c.mu.Unlock()
		<-c.window
		switch {
		case derr == nil && resp.Success:
			s.m.acked.Add(1)
			s.batchDone()
		case derr == nil:
			// Rejected by the receiver: resending the same bytes would be rejected again.
			s.m.failed.Add(1)
			s.countError(KindRejected)
		default:
			s.m.failed.Add(1)
		}
	}
}
