package txlane

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// producer.go, producer_worker.go and producer_run.go emulate, on the wire, the Go
// producer that is deployed today (design note system-we-replace.md, "The production Go
// producer"), so that a txlane receiver can be tested as a drop-in for the deployed Rust
// server. It is written from the recorded facts, not from the producer's code:
//
//   - SendBatch puts an encoded `Transactions` payload on a buffered channel and refuses
//     when the channel stays full for about 100 ms.
//   - Each of N workers owns one persistent connection and is strictly request/response:
//     one frame out, then that frame's JSON answer (deadline 120 s), then the next batch.
//   - A "not ready" answer (node starting or changing epoch) makes the worker retry the
//     same batch every 4 s, up to 30 times, on the same connection when it is still open.
//   - Any other failure (error answer, connection error, deadline) makes it reconnect,
//     sleep 4 s and resend the same batch, so a batch can reach the receiver twice.
//
// ChannelBasedSender (sender.go) is txlane's design; DeployedProducer is deliberately not:
// it has no pipelining, no backoff and no jitter, because the point is to reproduce what
// the deployed receiver sees today.

// Deployed-producer defaults: the deployed producer's values where they are recorded.
const (
	// DefaultProducerWorkers: the deployed producer runs 10–20 workers; 10 is its low end.
	DefaultProducerWorkers = 10
	// DefaultProducerBuffer: the deployed channel holds 1000 batches.
	DefaultProducerBuffer = 1000
	// DefaultEnqueueTimeout: SendBatch refuses after about 100 ms of a full channel.
	DefaultEnqueueTimeout = 100 * time.Millisecond
	// DefaultAnswerDeadline: how long a worker waits for one frame's answer (120 s).
	DefaultAnswerDeadline = 120 * time.Second
	// DefaultRetryInterval: the fixed pause before a retry or a resend (4 s, no backoff).
	DefaultRetryInterval = 4 * time.Second
	// DefaultNotReadyRetries: retries of one batch after "not ready" answers (30).
	DefaultNotReadyRetries = 30
	// DefaultErrorRetries: resends of one batch after other failures. The deployed bound
	// is not recorded; 30 matches the not-ready bound and keeps the emulator finite.
	DefaultErrorRetries = 30
	// DefaultProducerDialTimeout bounds one connection attempt (not recorded either).
	DefaultProducerDialTimeout = time.Second
	// NoRetries, as NotReadyRetries or ErrorRetries, turns that kind of retry off (zero
	// means the default).
	NoRetries = -1
	// DeployedProducerImpl is the emulator's `impl` in report lines.
	DeployedProducerImpl = "deployed-producer"
)

// Error kinds of the emulator, in addition to the sender's (PEERS.md report names).
const (
	// KindNotReady counts "not ready" / epoch-transition answers.
	KindNotReady = "NotReady"
	// KindQueueFull counts batches SendBatch refused because the channel stayed full.
	KindQueueFull = "QueueFull"
)

// ErrQueueFull is returned by DeployedProducer.SendBatch when the channel stayed full for
// the enqueue timeout; the batch was not queued.
var ErrQueueFull = errors.New("txlane: deployed producer: queue full")

// DeployedProducerConfig configures a DeployedProducer. The zero value of every field
// means its documented default.
type DeployedProducerConfig struct {
	// Endpoint is `/abs/path`, `unix:/abs/path` or `tcp://host:port` (required). The
	// deployed producer only speaks Unix sockets; TCP is here for completeness.
	Endpoint string
	// Workers is the number of workers, each with one connection (default 10).
	Workers int
	// Buffer is the channel capacity in batches (default 1000).
	Buffer int
	// EnqueueTimeout is how long SendBatch waits on a full channel before it refuses the
	// batch with ErrQueueFull (default 100 ms).
	EnqueueTimeout time.Duration
	// AnswerDeadline bounds writing one frame and reading its answer (default 120 s).
	// Past it the connection is closed and the batch resent (an AckTimeout).
	AnswerDeadline time.Duration
	// RetryInterval is the pause before every retry and resend (default 4 s).
	RetryInterval time.Duration
	// NotReadyRetries is how many times one batch is retried after "not ready" answers
	// before it is given up (default 30; NoRetries for none). So a batch is written at
	// most 1 + NotReadyRetries + ErrorRetries times.
	NotReadyRetries int
	// ErrorRetries is how many times one batch is resent after other failures (error
	// answer, malformed answer, broken connection, deadline, failed connect) before it is
	// given up (default 30; NoRetries for none).
	ErrorRetries int
	// DialTimeout bounds one connection attempt (default 1 s).
	DialTimeout time.Duration
	// MaxFrameBytes is the largest batch SendBatch accepts (default 10 MiB); larger ones
	// are refused with a *FrameTooLargeError before queueing.
	MaxFrameBytes int
	// OnWrite, if set, is called with every batch after its frame was written (once per
	// write: a resent batch again). Workers call it concurrently; it must be fast.
	OnWrite func(batch []byte)
	// Logger receives one line per failure (default: nowhere).
	Logger *log.Logger
}

// ProducerReport is what DeployedProducer.Close returns.
type ProducerReport struct {
	Batches        int64 // batches accepted by SendBatch
	Sent           int64 // frames written, once per write
	Bytes          int64 // payload bytes of those frames
	Acknowledged   int64 // batches answered with "success":true
	GivenUp        int64 // batches dropped after their retries ran out
	ResponsesOK    int64 // answers read with "success":true
	ResponsesError int64 // answers read with "success":false
	Errors         map[string]int64
	// Undelivered is Batches - Acknowledged: given up, or still queued or in a worker
	// when Close's context ended.
	Undelivered int64
	// Elapsed runs from the first accepted batch to the last batch acknowledged or given up.
	Elapsed time.Duration
}

// DeployedProducer emulates the deployed Go producer (see the file comment). Create it
// with NewDeployedProducer, feed it with SendBatch, end it with Close.
type DeployedProducer struct {
	endpoint Endpoint
	cfg      DeployedProducerConfig
	ch       chan []byte
	start    time.Time

	sendMu    sync.Mutex
	closed    bool           // under sendMu
	sendersWG sync.WaitGroup // SendBatch calls in progress; Add only under sendMu while !closed
	closing   chan struct{}  // closed when Close begins: waiting SendBatch calls give up
	closeOnce sync.Once

	abortCtx  context.Context // cancelled when Close's context ends: stop everything
	abort     context.CancelFunc
	workersWG sync.WaitGroup

	connMu sync.Mutex
	conns  map[net.Conn]struct{} // open connections, closed on abort

	m struct {
		batches, sent, bytes, acked, givenUp atomic.Int64
		responsesOK, responsesError          atomic.Int64
		firstNs, lastNs                      atomic.Int64 // since start; 0 = unset
		errMu                                sync.Mutex
		errors                               map[string]int64
	}
}

// NewDeployedProducer validates cfg, fills in the defaults and starts the workers. No
// connection is opened until a worker has a batch.
func NewDeployedProducer(cfg DeployedProducerConfig) (*DeployedProducer, error) {
	ep, err := ParseEndpoint(cfg.Endpoint)
	if err != nil {
		return nil, err
	}
	if cfg.Workers < 0 || cfg.Buffer < 0 || cfg.EnqueueTimeout < 0 || cfg.AnswerDeadline < 0 ||
		cfg.RetryInterval < 0 || cfg.DialTimeout < 0 || cfg.MaxFrameBytes < 0 ||
		cfg.NotReadyRetries < NoRetries || cfg.ErrorRetries < NoRetries {
		return nil, fmt.Errorf("txlane: deployed producer: negative setting in %+v", cfg)
	}
	orDefault := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	if cfg.Workers == 0 {
		cfg.Workers = DefaultProducerWorkers
	}
	if cfg.Buffer == 0 {
		cfg.Buffer = DefaultProducerBuffer
	}
	orDefault(&cfg.EnqueueTimeout, DefaultEnqueueTimeout)
	orDefault(&cfg.AnswerDeadline, DefaultAnswerDeadline)
	orDefault(&cfg.RetryInterval, DefaultRetryInterval)
	orDefault(&cfg.DialTimeout, DefaultProducerDialTimeout)
	retries := func(n, d int) int {
		switch n {
		case 0:
			return d
		case NoRetries:
			return 0
		}
		return n
	}
	cfg.NotReadyRetries = retries(cfg.NotReadyRetries, DefaultNotReadyRetries)
	cfg.ErrorRetries = retries(cfg.ErrorRetries, DefaultErrorRetries)
	cfg.MaxFrameBytes = int(normMax(cfg.MaxFrameBytes))
	p := &DeployedProducer{
		endpoint: ep,
		cfg:      cfg,
		ch:       make(chan []byte, cfg.Buffer),
		start:    time.Now(),
		closing:  make(chan struct{}),
		conns:    make(map[net.Conn]struct{}),
	}
	p.abortCtx, p.abort = context.WithCancel(context.Background())
	p.workersWG.Add(cfg.Workers)
	for i := range cfg.Workers {
		w := &producerWorker{p: p, id: i}
		go func() {
			defer p.workersWG.Done()
			w.run()
		}()
	}
	return p, nil
}

// SendBatch queues batch, an encoded `Transactions` payload. Like the deployed producer it
// waits at most the enqueue timeout for room in the channel and then refuses with
// ErrQueueFull (the batch is not queued). A batch over MaxFrameBytes is refused at once
// with a *FrameTooLargeError; after Close has begun it returns ErrSenderClosed. The
// producer keeps batch: do not modify it afterwards.
func (p *DeployedProducer) SendBatch(batch []byte) error {
	if len(batch) > p.cfg.MaxFrameBytes {
		return fmt.Errorf("txlane: send batch: %w", &FrameTooLargeError{Length: int64(len(batch)), Max: int64(p.cfg.MaxFrameBytes)})
	}
	p.sendMu.Lock()
	if p.closed {
		p.sendMu.Unlock()
		return ErrSenderClosed
	}
	p.sendersWG.Add(1)
	p.sendMu.Unlock()
	defer p.sendersWG.Done()
	t := time.NewTimer(p.cfg.EnqueueTimeout)
	defer t.Stop()
	select {
	case p.ch <- batch:
		p.m.batches.Add(1)
		p.m.firstNs.CompareAndSwap(0, p.sinceStart())
		return nil
	case <-t.C:
		return ErrQueueFull
	case <-p.closing:
		return ErrSenderClosed
	}
}

// Close stops accepting batches and lets the workers finish what is queued (each batch
// until it is acknowledged or its retries run out), then closes the connections. If ctx
// ends first, everything stops at once (connections closed, sleeps cut short) and ctx's
// error is returned with the report. Close may be called more than once.
func (p *DeployedProducer) Close(ctx context.Context) (ProducerReport, error) {
	p.closeOnce.Do(func() {
		p.sendMu.Lock()
		p.closed = true
		close(p.closing)
		p.sendMu.Unlock()
		p.sendersWG.Wait() // nobody sends on ch any more
		close(p.ch)        // the drain signal: workers range until it is empty
	})
	done := make(chan struct{})
	go func() {
		p.workersWG.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		p.stop()
		<-done
		err = fmt.Errorf("txlane: deployed producer close: %w", ctx.Err())
	}
	p.abort() // release the context's resources
	r := ProducerReport{
		Batches:        p.m.batches.Load(),
		Sent:           p.m.sent.Load(),
		Bytes:          p.m.bytes.Load(),
		Acknowledged:   p.m.acked.Load(),
		GivenUp:        p.m.givenUp.Load(),
		ResponsesOK:    p.m.responsesOK.Load(),
		ResponsesError: p.m.responsesError.Load(),
		Errors:         map[string]int64{},
	}
	p.m.errMu.Lock()
	for k, v := range p.m.errors {
		r.Errors[k] = v
	}
	p.m.errMu.Unlock()
	r.Undelivered = r.Batches - r.Acknowledged
	if first, last := p.m.firstNs.Load(), p.m.lastNs.Load(); first > 0 && last > first {
		r.Elapsed = time.Duration(last - first)
	}
	return r, err
}

// stop aborts the workers: no more sleeps, every connection closed.
func (p *DeployedProducer) stop() {
	p.abort()
	p.connMu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.connMu.Unlock()
}

func (p *DeployedProducer) aborted() bool { return p.abortCtx.Err() != nil }

func (p *DeployedProducer) sinceStart() int64 { return max(int64(time.Since(p.start)), 1) }

// batchDone records the end (acknowledged or given up) of a batch for Elapsed.
func (p *DeployedProducer) batchDone() {
	now := p.sinceStart()
	for {
		last := p.m.lastNs.Load()
		if now <= last || p.m.lastNs.CompareAndSwap(last, now) {
			return
		}
	}
}

func (p *DeployedProducer) countError(kind string) {
	p.m.errMu.Lock()
	if p.m.errors == nil {
		p.m.errors = make(map[string]int64)
	}
	p.m.errors[kind]++
	p.m.errMu.Unlock()
}

func (p *DeployedProducer) logf(format string, args ...any) {
	if p.cfg.Logger != nil && !p.aborted() {
		p.cfg.Logger.Printf(format, args...)
	}
}

// sleep pauses for the retry interval; false if the producer was aborted meanwhile.
func (p *DeployedProducer) sleep() bool {
	t := time.NewTimer(p.cfg.RetryInterval)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.abortCtx.Done():
		return false
	}
}
