package txlane

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Sender defaults.
const (
	// DefaultSenderWorkers is the worker count used when NewChannelBasedSender gets zero:
	// the TypeScript sender's 4 (packages/protocol/vectors/defaults.json). The seed ran
	// 10–20, but a Unix-socket receiver is not faster with more connections than handlers.
	DefaultSenderWorkers = 4
	// DefaultSenderBuffer is the batch channel capacity used for zero: the seed's 1000.
	DefaultSenderBuffer = 1000
	// DefaultDialTimeout bounds one connection attempt: the TypeScript sender's 5 s.
	DefaultDialTimeout = 5 * time.Second
	// DefaultBackoffMin and DefaultBackoffMax bound the reconnect delay, which doubles per
	// failed attempt: short enough to catch a receiver that is just starting, capped so a
	// dead receiver costs one attempt a second per worker.
	DefaultBackoffMin = 20 * time.Millisecond
	DefaultBackoffMax = time.Second
	// DefaultAckTimeout is how long an acknowledged-mode connection may owe a response
	// before it is presumed dead and its unacknowledged batches are resent: the TypeScript
	// sender's 30 s, since a consensus node under load may take seconds to answer.
	DefaultAckTimeout = 30 * time.Second
	// DefaultMaxResponseBytes is the largest answer frame read: answers are short JSON, so
	// a larger one is a broken peer (the connection is closed and its batches resent).
	DefaultMaxResponseBytes = 256 << 10
	// DefaultMaxInFlight bounds the unacknowledged batches of one acknowledged-mode
	// connection (the pipelining window).
	DefaultMaxInFlight = 64
	// DefaultDrainTimeout bounds the final read-until-EOF after half-closing a connection
	// (PEERS.md: "reads until EOF (or 1 s)").
	DefaultDrainTimeout = time.Second
	// DefaultFireAndForgetWindow bounds the written frames of one fire-and-forget
	// connection whose answers may be outstanding: large, so pipelining is not throttled.
	DefaultFireAndForgetWindow = 1024
	// AutoSilence: a fire-and-forget sender whose peer has answered nothing takes the peer
	// as silent (`--respond none`) once a frame went unanswered this long on an open
	// connection; frames are then done when written. The TypeScript sender's value. Only
	// this timeout tells silence: a clean close (EOF) without an answer before the peer is
	// known is a broken connection (its frames are resent), since a refused connection (a
	// receiver at its connection limit accepts and closes at once) looks the same, over TCP
	// even after a completed write. Once the peer is known silent, on any connection, such a
	// close settles the connection's written frames as done: the silent peer left.
	AutoSilence = time.Second
	// DefaultTransientRetry, DefaultTransientRetryMax and DefaultTransientRetries are the
	// schedule of a batch answered "Node not ready…": 100 ms, doubling, capped at the
	// deployed Go producer's 4 s, at most its 30 retries.
	DefaultTransientRetry    = 100 * time.Millisecond
	DefaultTransientRetryMax = 4 * time.Second
	DefaultTransientRetries  = 30
)

// Sender error kinds (PEERS.md report names), counted in SenderMetrics.Errors.
const (
	KindConnectFailed     = "ConnectFailed"
	KindRejected          = "Rejected"
	KindAckTimeout        = "AckTimeout"
	KindMalformedResponse = "MalformedResponse"
	KindUnexpected        = "UnexpectedResponse"
	KindOutOfStep         = "OutOfStep"
)

// ErrSenderClosed is returned by SendBatch after Close has begun.
var ErrSenderClosed = errors.New("txlane: sender closed")

// Delivery says when a batch counts as done.
type Delivery int

const (
	// FireAndForget: frames are written without waiting for answers (up to
	// DefaultFireAndForgetWindow per connection). Answers are always read; when the peer
	// answers, a batch is settled by its answer exactly as in Acknowledged mode; when it is
	// silent (it has answered nothing, and a frame went unanswered for AutoSilence on an
	// open connection), a batch is done once its frame is written. A connection closed
	// cleanly (EOF) without any answer before the peer is known is broken, not silent: its
	// unanswered batches are resent (at least once), since a refused connection (a receiver
	// at its connection limit) looks the same, over TCP even after a completed write. Once
	// the peer was found silent on any connection, such a close settles the connection's
	// written batches as done instead: the silent peer left, perhaps for good (resending
	// could then reach nobody). It is the zero value and the seed's mode.
	FireAndForget Delivery = iota
	// Acknowledged: a batch is done once a `"success":true` response for it arrives
	// (`"queued":true` included). Frames are pipelined (up to WithMaxInFlight per
	// connection) and responses matched in order. "Node not ready…" answers are retried on
	// the transient schedule while the worker holds its writes; "Transaction too large…"
	// rejects the batch and replaces the out-of-step connection; any other error answer
	// rejects the batch; the unanswered batches of a broken connection are resent.
	Acknowledged
)

// String returns "fire-and-forget" or "acknowledged".
func (d Delivery) String() string {
	if d == Acknowledged {
		return "acknowledged"
	}
	return "fire-and-forget"
}

// SenderMetrics are the counters the operators asked for (sent, failed, batches, channel
// utilisation, worker utilisation), plus what the conformance report needs.
type SenderMetrics struct {
	Batches        int64   // batches accepted by SendBatch
	Sent           int64   // frames written; a resent batch counts once per write
	Bytes          int64   // payload bytes of those frames
	Failed         int64   // failed delivery attempts: write errors, batches taken back from a broken connection, rejections
	Delivered      int64   // batches done: answered with success, or written to a silent peer
	Acknowledged   int64   // batches answered with success (either mode)
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
	// Undelivered is Batches - Delivered at the end: batches not answered with success
	// (or, to a silent peer, not written), rejected ones included.
	Undelivered int64
	// Elapsed runs from the first accepted batch to the last batch done.
	Elapsed time.Duration
}

// ChannelBasedSender is the seed design's sender: SendBatch puts encoded `Transactions`
// payloads on a buffered channel, and N workers, each owning one persistent connection
// (opened lazily, reopened with capped exponential backoff and jitter), write them as
// frames. Every connection has a reader goroutine, in both delivery modes, so a receiver
// that answers every frame can never fill the sender's receive buffer and block it. A
// connection the peer closes before answering anything (a receiver at its connection
// limit accepts and closes at once) counts as a failed connect, its unanswered batches
// are resent, and its worker hands the batches it holds back to the channel when another
// worker's connection stands. Fire-and-forget learns that the peer is silent only from a
// frame left unanswered for AutoSilence on an open connection, never from such a close;
// once learnt, it holds for every connection.
// The sender keeps no order across batches.
type ChannelBasedSender struct {
	endpoint  Endpoint
	cfg       senderConfig
	batchChan chan *item // a worker whose connection broke may put its batches back
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

	// answering is peerUnknown until the first answer (peerAnswers) or until the peer is
	// found silent (peerSilent); fire-and-forget settles frames by it.
	answering atomic.Int32

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
		transient: TransientRetry{
			Initial: DefaultTransientRetry, Max: DefaultTransientRetryMax, Retries: DefaultTransientRetries,
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	cfg.maxFrameBytes = int(normMax(cfg.maxFrameBytes))
	cfg.maxInFlight = max(cfg.maxInFlight, 1)
	cfg.backoffMin = max(cfg.backoffMin, time.Millisecond)
	cfg.backoffMax = max(cfg.backoffMax, cfg.backoffMin)
	cfg.transient.Initial = max(cfg.transient.Initial, time.Millisecond)
	cfg.transient.Max = max(cfg.transient.Max, cfg.transient.Initial)
	s := &ChannelBasedSender{
		endpoint:  ep,
		cfg:       cfg,
		batchChan: make(chan *item, buffer),
		workers:   workers,
		start:     time.Now(),
		closing:   make(chan struct{}),
		conns:     make(map[*senderConn]struct{}),
	}
	s.abortCtx, s.abort = context.WithCancel(context.Background())
	s.workersWG.Add(workers)
	for i := range workers {
		w := &worker{s: s, id: i, wake: make(chan struct{}, 1)}
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
	case s.batchChan <- &item{batch: batch}:
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
		s.closed = true // under sendMu, so workers put nothing back on batchChan after this
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

// batchDone counts batch as delivered at time at (zero: now), once.
func (s *ChannelBasedSender) batchDone(batch []byte, answered bool, at time.Time) {
	s.m.delivered.Add(1)
	if answered {
		s.m.acked.Add(1)
	}
	if s.cfg.onDelivered != nil {
		s.cfg.onDelivered(batch)
	}
	now := s.sinceStart()
	if !at.IsZero() {
		now = max(int64(at.Sub(s.start)), 1)
	}
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
