// Package peercli is the part of the PEERS.md command line that the reference receiver
// (cmd/txlane-go-receiver) and the testee kit (testee) share: once the flags are parsed,
// serving, the ready line, signal handling, the report line and the exit code are the same
// program, so they live here once.
package peercli

import (
	"context"
	"errors"
	"io"
	"log"
	"os"
	"os/signal"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	txlane "github.com/txlane/txlane/packages/conformance/peers/go"
)

// ShutdownTimeout bounds a receiver's graceful shutdown; after it, connections are cut.
const ShutdownTimeout = 10 * time.Second

// ReadyLine is PEERS.md's ready line; a struct keeps the documented member order.
type ReadyLine struct {
	Event    string `json:"event"`
	Endpoint string `json:"endpoint"`
}

// Receiver is a parsed `receive` command line plus what differs between its users.
type Receiver struct {
	Listen        string
	Mode          txlane.ResponseMode
	Handlers      int
	MaxFrameBytes int
	Record        string // "" records nothing
	Expect        int64  // 0 never stops on a count
	// Impl overrides the report's `impl` ("" keeps txlane.ImplName).
	Impl string
	// Submit, if not nil, sees every batch first; an error rejects it uncounted.
	// ctx is cancelled once the receiver has shut down.
	Submit func(ctx context.Context, txs [][]byte) error
	// LogListening logs "listening on …" after the ready line.
	LogListening bool
	// Stop, if not nil, acts like SIGTERM (for tests).
	Stop <-chan struct{}
}

// Run serves until a signal, Stop or --expect-transactions, then prints the report line.
// It returns the exit code: 0 success, 1 fatal error.
func (r Receiver) Run(stdout io.Writer, logger *log.Logger) int {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv := &txlane.Server{Handlers: r.Handlers, MaxFrameBytes: r.MaxFrameBytes, Respond: r.Mode, ErrorLog: logger}
	if r.Record != "" {
		f, err := os.OpenFile(r.Record, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			logger.Printf("open --record file: %v", err)
			return 1
		}
		defer f.Close()
		srv.RecordFile = f
	}

	// Submitting is counting: the digest and the first/last frame times. The digest is a
	// sum, so concurrent handlers only need an atomic add.
	var (
		digest      txlane.AtomicDigest
		timesMu     sync.Mutex
		first, last time.Time
	)
	srv.Submit = func(b txlane.Batch) (int, error) {
		if r.Submit != nil {
			if err := r.Submit(ctx, b.Transactions); err != nil {
				return 0, err
			}
		}
		for _, tx := range b.Transactions {
			digest.Add(tx)
		}
		now := time.Now()
		timesMu.Lock()
		if first.IsZero() {
			first = now
		}
		last = now
		timesMu.Unlock()
		return len(b.Transactions), nil
	}
	expectReached := make(chan struct{})
	if r.Expect > 0 {
		var done atomic.Int64
		var once sync.Once
		srv.AfterResponse = func(res txlane.FrameResult) {
			if res.Success && done.Add(int64(res.Transactions)) >= r.Expect {
				once.Do(func() { close(expectReached) })
			}
		}
	}

	l, err := srv.Listen(r.Listen)
	if err != nil {
		logger.Printf("%v", err)
		return 1
	}
	endpoint := r.Listen
	if strings.HasPrefix(endpoint, "tcp://") {
		endpoint = "tcp://" + l.Addr().String() // the bound port for :0
	}
	// Signals are watched before the ready line: a harness may signal right after it.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	if err := txlane.WriteLine(stdout, ReadyLine{Event: "listening", Endpoint: endpoint}); err != nil {
		logger.Printf("%v", err)
	}
	if r.LogListening {
		logger.Printf("listening on %s (respond=%s, max-frame-bytes=%d)", endpoint, r.Mode, r.MaxFrameBytes)
	}

	exit := 0
	select {
	case s := <-sigs:
		logger.Printf("%v: shutting down", s)
	case <-expectReached:
		logger.Printf("%d transactions received: shutting down", r.Expect)
	case <-r.Stop: // a nil Stop never fires
	case err := <-served:
		logger.Printf("serve: %v", err)
		exit = 1
	}
	sctx, scancel := context.WithTimeout(context.Background(), ShutdownTimeout)
	defer scancel()
	if err := srv.Shutdown(sctx); err != nil {
		logger.Printf("%v", err)
	}
	cancel()
	if exit == 0 {
		if err := <-served; err != nil && !errors.Is(err, txlane.ErrServerClosed) {
			logger.Printf("serve: %v", err)
			exit = 1
		}
	}

	st := srv.Stats()
	rep := txlane.NewPeerReport("receiver")
	if r.Impl != "" {
		rep.Impl = r.Impl
	}
	rep.Frames, rep.Transactions, rep.Bytes = st.Frames, st.Transactions, st.Bytes
	rep.Digest = digest.Load().String()
	rep.Responses = txlane.ResponseCounts{OK: st.ResponsesOK, Error: st.ResponsesError}
	rep.Errors = st.Errors
	timesMu.Lock()
	rep.SetElapsed(last.Sub(first))
	timesMu.Unlock()
	if err := txlane.WriteLine(stdout, rep); err != nil {
		logger.Printf("%v", err)
		return 1
	}
	return exit
}
