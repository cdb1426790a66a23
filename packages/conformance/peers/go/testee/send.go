package testee

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	txlane "github.com/txlane/txlane/packages/conformance/peers/go"
	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peercli"
)

// Retry delays of a sender worker.
const (
	reconnectFirst = 10 * time.Millisecond  // first delay after a failed dial or a broken connection
	reconnectMax   = 500 * time.Millisecond // the cap: the harness starts receivers within a second
	notReadyFirst  = 100 * time.Millisecond // PEERS.md: 100 ms doubling …
	notReadyMax    = 4 * time.Second        // … capped at 4 s …
	notReadyTries  = 30                     // … at most 30 retries, then the batch is rejected
	defaultWorkers = 4                      // --workers default
)

// sendStats is the sender's report, guarded by mu.
type sendStats struct {
	mu                        sync.Mutex
	frames, txs, bytes        int64
	acknowledged, undelivered int64
	ok, failed                int64
	digest                    txlane.Digest
	errors                    map[string]int64
	firstSend, lastDone       time.Time
}

func (s *sendStats) count(kind string) {
	s.mu.Lock()
	s.errors[kind]++
	s.mu.Unlock()
}

func runSend(p Peer, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(p.Name+" send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "", "`ENDPOINT` to connect to (required)")
	delivery := fs.String("delivery", "fire-and-forget", "fire-and-forget or acknowledged")
	workers := fs.Int("workers", defaultWorkers, "worker count; each worker owns one connection")
	queue := fs.Int("queue", 1000, "capacity of the batch queue")
	batches := fs.Int("batches", 1000, "number of batches")
	txPerBatch := fs.Int("tx-per-batch", 50, "transactions per batch")
	txSize := fs.Int("tx-size", 650, "target encoded transaction size in bytes")
	seed := fs.Uint64("seed", 1, "workload seed")
	timeoutMs := fs.Int64("timeout-ms", 60000, "give up after this many milliseconds")
	maxFrame := fs.Int("max-frame-bytes", txlane.DefaultMaxFrameBytes, "largest batch payload in bytes")
	fs.Int64("transient-retry-ms", notReadyFirst.Milliseconds(), "accepted for compatibility; the kit uses 100 ms")
	if code, ok := peercli.Parse(fs, args); !ok {
		return code
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, p.Name+": "+format+"\n", a...)
		return 2
	}
	ep, err := txlane.ParseEndpoint(*endpoint)
	switch {
	case fs.NArg() > 0:
		return usage("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	case *endpoint == "":
		return usage("--endpoint is required")
	case err != nil:
		return usage("--endpoint: %v", err)
	case *delivery != "fire-and-forget" && *delivery != "acknowledged":
		return usage("--delivery must be fire-and-forget or acknowledged, not %q", *delivery)
	case *workers < 1 || *queue < 1 || *timeoutMs < 1:
		return usage("--workers, --queue and --timeout-ms must be at least 1")
	case *batches < 0 || *txPerBatch < 0 || *txSize < 0:
		return usage("--batches, --tx-per-batch and --tx-size must not be negative")
	case *maxFrame < 1 || int64(*maxFrame) > txlane.MaxFrameLength:
		return usage("--max-frame-bytes must be between 1 and %d", int64(txlane.MaxFrameLength))
	}

	logger := log.New(stderr, p.Name+": ", log.LstdFlags|log.Lmicroseconds)
	ctx, cancel := peercli.SendContext(time.Duration(*timeoutMs)*time.Millisecond, logger, nil)
	defer cancel()

	// silent is shared by every worker's Conn: once one found the receiver silent, a frame
	// on another connection is delivered once written (SendOptions.ReceiverSilent).
	var silent atomic.Bool
	opts := SendOptions{Delivery: *delivery, MaxFrameBytes: *maxFrame, ReceiverSilent: silent.Load}
	st := &sendStats{errors: map[string]int64{}}
	work := make(chan []byte, *queue)
	var wg sync.WaitGroup
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker(ctx, p, ep, opts, &silent, st, work, logger)
		}()
	}
	gen := txlane.NewWorkload(*seed, *txSize)
	for b := 0; b < *batches; b++ {
		batch := gen.NextBatch(*txPerBatch)
		if len(batch) > *maxFrame { // refused before it is queued (PEERS.md --max-frame-bytes)
			st.count(txlane.KindFrameTooLarge)
			st.mu.Lock()
			st.undelivered++
			st.mu.Unlock()
			continue
		}
		select {
		case work <- batch:
		case <-ctx.Done():
			st.mu.Lock()
			st.undelivered += int64(*batches - b)
			st.mu.Unlock()
			b = *batches
		}
	}
	close(work)
	wg.Wait()

	rep := txlane.NewPeerReport("sender")
	rep.Impl = p.Name
	rep.Frames, rep.Transactions, rep.Bytes = st.frames, st.txs, st.bytes
	rep.Digest = st.digest.String()
	rep.Acknowledged, rep.Undelivered = st.acknowledged, st.undelivered
	rep.Responses = txlane.ResponseCounts{OK: st.ok, Error: st.failed}
	rep.Errors = st.errors
	if !st.firstSend.IsZero() {
		rep.SetElapsed(st.lastDone.Sub(st.firstSend))
	}
	if err := txlane.WriteLine(stdout, rep); err != nil {
		logger.Printf("%v", err)
		return 1
	}
	if rep.Undelivered > 0 {
		logger.Printf("%d of %d batches undelivered", rep.Undelivered, *batches)
		return 1
	}
	return 0
}

// worker delivers batches from work over its own connection until work is closed; after
// ctx is done it counts what is left as undelivered. A Send that returns (false, nil) sets
// silent, which opts.ReceiverSilent reports to every Conn.
func worker(ctx context.Context, p Peer, ep txlane.Endpoint, opts SendOptions, silent *atomic.Bool, st *sendStats, work <-chan []byte, logger *log.Logger) {
	var conn Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for batch := range work {
		txs, _ := txlane.DecodeTransactions(batch) // the workload is well-formed
		delay, notReady := reconnectFirst, 0
		for {
			if ctx.Err() != nil {
				st.mu.Lock()
				st.undelivered++
				st.mu.Unlock()
				break
			}
			if conn == nil {
				c, err := p.Dial(ctx, ep, opts)
				if err != nil {
					st.count(txlane.KindConnectFailed)
					sleep(ctx, &delay, reconnectMax)
					continue
				}
				conn = c
			}
			st.mu.Lock()
			if st.firstSend.IsZero() {
				st.firstSend = time.Now()
			}
			st.mu.Unlock()
			answered, err := conn.Send(ctx, batch)
			st.mu.Lock()
			if err == nil || errors.Is(err, ErrRejected) || errors.Is(err, ErrNotReady) { // written
				st.frames++
				st.txs += int64(len(txs))
				st.bytes += int64(len(batch))
			}
			st.mu.Unlock()
			switch {
			case err == nil:
				if !answered {
					silent.Store(true)
				}
				st.mu.Lock()
				if answered {
					st.acknowledged++
					st.ok++
				}
				for _, tx := range txs {
					st.digest.Add(tx)
				}
				st.lastDone = time.Now()
				st.mu.Unlock()
			case errors.Is(err, ErrNotReady) && notReady < notReadyTries:
				st.mu.Lock()
				st.failed++
				st.errors[txlane.KindNotReady]++
				st.mu.Unlock()
				d := notReadyFirst << notReady
				notReady++
				sleep(ctx, &d, notReadyMax)
				continue
			case errors.Is(err, ErrRejected) || errors.Is(err, ErrNotReady):
				st.mu.Lock()
				st.failed++
				st.errors[txlane.KindRejected]++
				st.undelivered++
				st.mu.Unlock()
				logger.Printf("batch rejected: %v", err)
			default:
				if ctx.Err() == nil {
					st.count(txlane.KindConnectionLost)
					logger.Printf("connection lost, resending: %v", err)
				}
				conn.Close()
				conn = nil
				sleep(ctx, &delay, reconnectMax)
				continue
			}
			break
		}
	}
}

// sleep waits *d (or until ctx is done) and doubles *d up to max.
func sleep(ctx context.Context, d *time.Duration, max time.Duration) {
	t := time.NewTimer(min(*d, max))
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	*d = min(*d*2, max)
}
