// Command txlane-go-receiver is the Go receiver testee of the txlane conformance matrix.
// It follows packages/conformance/PEERS.md:
//
//	txlane-go-receiver [receive] --listen ENDPOINT [--respond none|json] [--handlers N]
//	    [--max-frame-bytes N] [--record FILE] [--expect-transactions N]
//
// It prints {"event":"listening",...} once listening and one report line on exit; logs go
// to stderr. Exit codes: 0 success, 1 fatal error, 2 bad command line.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
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

// shutdownTimeout bounds the graceful shutdown; after it, connections are cut.
const shutdownTimeout = 10 * time.Second

// readyLine is PEERS.md's ready line; a struct keeps the documented member order.
type readyLine struct {
	Event    string `json:"event"`
	Endpoint string `json:"endpoint"`
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, nil))
}

// run is the whole program; stop, if not nil, acts like SIGTERM (for tests).
func run(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	if len(args) > 0 && args[0] == "receive" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("txlane-go-receiver", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "`ENDPOINT` to listen on: /abs/path.sock, unix:/abs/path.sock or tcp://HOST:PORT (required)")
	respond := fs.String("respond", "json", "response mode: json (one response per frame) or none")
	handlers := fs.Int("handlers", 0, "handler pool size (0: GOMAXPROCS)")
	maxFrame := fs.Int("max-frame-bytes", txlane.DefaultMaxFrameBytes, "largest accepted frame payload in bytes")
	record := fs.String("record", "", "append every accepted frame to `FILE` (length-prefixed, O_APPEND)")
	expect := fs.Int64("expect-transactions", 0, "shut down once `N` transactions were submitted and answered (0: never)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "txlane-go-receiver: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *listen == "" {
		return usage("--listen is required")
	}
	if _, err := txlane.ParseEndpoint(*listen); err != nil {
		return usage("--listen: %v", err)
	}
	var mode txlane.ResponseMode
	switch *respond {
	case "json":
		mode = txlane.RespondJSON
	case "none":
		mode = txlane.RespondNone
	default:
		return usage("--respond must be none or json, not %q", *respond)
	}
	if *handlers < 0 {
		return usage("--handlers must not be negative")
	}
	if *maxFrame < 1 || int64(*maxFrame) > txlane.MaxFrameLength {
		return usage("--max-frame-bytes must be between 1 and %d", int64(txlane.MaxFrameLength))
	}
	if *expect < 0 {
		return usage("--expect-transactions must not be negative")
	}

	logger := log.New(stderr, "txlane-go-receiver: ", log.LstdFlags|log.Lmicroseconds)
	srv := &txlane.Server{
		Handlers:      *handlers,
		MaxFrameBytes: *maxFrame,
		Respond:       mode,
		ErrorLog:      logger,
	}
	if *record != "" {
		f, err := os.OpenFile(*record, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
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
	if *expect > 0 {
		var done atomic.Int64
		var once sync.Once
		srv.AfterResponse = func(r txlane.FrameResult) {
			if r.Success && done.Add(int64(r.Transactions)) >= *expect {
				once.Do(func() { close(expectReached) })
			}
		}
	}

	l, err := srv.Listen(*listen)
	if err != nil {
		logger.Printf("%v", err)
		return 1
	}
	endpoint := *listen
	if strings.HasPrefix(endpoint, "tcp://") {
		endpoint = "tcp://" + l.Addr().String() // the bound port for :0
	}
	// Signals are watched before the ready line: a harness may signal right after it.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	if err := txlane.WriteLine(stdout, readyLine{Event: "listening", Endpoint: endpoint}); err != nil {
		logger.Printf("%v", err)
	}
	logger.Printf("listening on %s (respond=%s, max-frame-bytes=%d)", endpoint, mode, *maxFrame)

	exit := 0
	select {
	case s := <-sigs:
		logger.Printf("%v: shutting down", s)
	case <-expectReached:
		logger.Printf("%d transactions received: shutting down", *expect)
	case <-stop:
	case err := <-served:
		logger.Printf("serve: %v", err)
		exit = 1
	}
	ctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		logger.Printf("%v", err)
	}
	if exit == 0 {
		if err := <-served; err != nil && !errors.Is(err, txlane.ErrServerClosed) {
			logger.Printf("serve: %v", err)
			exit = 1
		}
	}

	st := srv.Stats()
	rep := txlane.NewPeerReport("receiver")
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
