// Command txlane-go-sender is the Go sender testee of the txlane conformance matrix. It
// follows packages/conformance/PEERS.md:
//
//	txlane-go-sender [send] --endpoint ENDPOINT [--delivery fire-and-forget|acknowledged]
//	    [--workers N] [--queue N] [--batches N] [--tx-per-batch K] [--tx-size S]
//	    [--seed X] [--timeout-ms T] [--max-frame-bytes N] [--transient-retry-ms MS]
//
// It sends the deterministic workload and prints one report line; logs go to stderr.
// Exit codes: 0 everything delivered, 1 not everything delivered or a fatal error, 2 bad
// command line.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"
	"sync/atomic"
	"time"

	txlane "github.com/txlane/txlane/packages/conformance/peers/go"
	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peercli"
)

// defaultWorkers is the --workers default: the low end of the seed's 10–20.
const defaultWorkers = txlane.DefaultSenderWorkers

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, nil))
}

// run is the whole program; stop, if not nil, acts like SIGTERM (for tests).
func run(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	if len(args) > 0 && args[0] == "send" {
		args = args[1:]
	}
	fs := flag.NewFlagSet("txlane-go-sender", flag.ContinueOnError)
	fs.SetOutput(stderr)
	endpoint := fs.String("endpoint", "", "`ENDPOINT` to connect to: /abs/path.sock, unix:/abs/path.sock or tcp://HOST:PORT (required)")
	delivery := fs.String("delivery", "fire-and-forget", "fire-and-forget or acknowledged")
	workers := fs.Int("workers", defaultWorkers, "worker count; each worker owns one connection")
	queue := fs.Int("queue", 1000, "capacity of the batch queue between producer and workers")
	batches := fs.Int("batches", 1000, "number of batches (frames) to send")
	txPerBatch := fs.Int("tx-per-batch", 50, "transactions per batch")
	txSize := fs.Int("tx-size", 650, "target encoded transaction size in bytes")
	seed := fs.Uint64("seed", 1, "workload seed (unsigned 64-bit)")
	timeoutMs := fs.Int64("timeout-ms", 60000, "give up after this many milliseconds")
	maxFrame := fs.Int("max-frame-bytes", txlane.DefaultMaxFrameBytes, "largest batch payload in bytes; larger batches are refused before queueing")
	transientMs := fs.Int64("transient-retry-ms", txlane.DefaultTransientRetry.Milliseconds(), "first delay before resending a batch answered \"Node not ready…\", in ms; doubles per retry, capped at 4000 ms, at most 30 retries")
	if code, ok := peercli.Parse(fs, args); !ok {
		return code
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "txlane-go-sender: "+format+"\n", a...)
		fs.Usage()
		return 2
	}
	if fs.NArg() > 0 {
		return usage("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if *endpoint == "" {
		return usage("--endpoint is required")
	}
	if _, err := txlane.ParseEndpoint(*endpoint); err != nil {
		return usage("--endpoint: %v", err)
	}
	var mode txlane.Delivery
	switch *delivery {
	case "fire-and-forget":
		mode = txlane.FireAndForget
	case "acknowledged":
		mode = txlane.Acknowledged
	default:
		return usage("--delivery must be fire-and-forget or acknowledged, not %q", *delivery)
	}
	switch {
	case *workers < 1:
		return usage("--workers must be at least 1")
	case *queue < 1:
		return usage("--queue must be at least 1")
	case *batches < 0, *txPerBatch < 0, *txSize < 0:
		return usage("--batches, --tx-per-batch and --tx-size must not be negative")
	case *maxFrame < 1 || int64(*maxFrame) > txlane.MaxFrameLength:
		// 0 would mean "default" to the library's option, so the CLI refuses it outright.
		return usage("--max-frame-bytes must be between 1 and %d", int64(txlane.MaxFrameLength))
	case *timeoutMs < 1:
		return usage("--timeout-ms must be at least 1")
	case *transientMs < 1:
		return usage("--transient-retry-ms must be at least 1")
	}

	logger := log.New(stderr, "txlane-go-sender: ", log.LstdFlags|log.Lmicroseconds)
	ctx, cancel := peercli.SendContext(time.Duration(*timeoutMs)*time.Millisecond, logger, stop)
	defer cancel()

	// frames/transactions/bytes count what was written (a resent batch once per write);
	// the digest covers the delivered batches, each once (PEERS.md "send"), so that it
	// equals the digest of what an answering receiver accepted.
	var (
		digest       txlane.AtomicDigest
		transactions atomic.Int64
	)
	onWrite := func(batch []byte) {
		if txs, err := txlane.DecodeTransactions(batch); err == nil {
			transactions.Add(int64(len(txs)))
		}
	}
	onDelivered := func(batch []byte) {
		txs, err := txlane.DecodeTransactions(batch)
		if err != nil {
			return // cannot happen: the workload is well-formed
		}
		for _, tx := range txs {
			digest.Add(tx)
		}
	}
	transient := time.Duration(*transientMs) * time.Millisecond
	sender, err := txlane.NewChannelBasedSender(*endpoint, *workers, *queue,
		txlane.WithDelivery(mode), txlane.WithOnWrite(onWrite), txlane.WithOnDelivered(onDelivered),
		txlane.WithLogger(logger), txlane.WithMaxFrameBytes(*maxFrame),
		txlane.WithTransientRetry(transient, max(transient, txlane.DefaultTransientRetryMax), txlane.DefaultTransientRetries))
	if err != nil {
		logger.Printf("%v", err)
		return 1
	}

	errs := map[string]int64{}
	var notQueued int64
	gen := txlane.NewWorkload(*seed, *txSize)
	for b := 0; b < *batches; b++ {
		err := sender.SendBatchContext(ctx, gen.NextBatch(*txPerBatch))
		if errors.Is(err, txlane.ErrFrameTooLarge) {
			errs[txlane.KindFrameTooLarge]++
			notQueued++
			continue
		}
		if err != nil {
			logger.Printf("batch %d: %v", b, err)
			notQueued += int64(*batches - b)
			break
		}
	}
	rep, err := sender.Close(ctx)
	if err != nil {
		logger.Printf("%v", err)
	}

	out := txlane.NewPeerReport("sender")
	out.Frames, out.Bytes = rep.Sent, rep.Bytes
	out.Transactions = transactions.Load()
	out.Digest = digest.Load().String()
	out.Acknowledged = rep.Acknowledged
	out.Undelivered = rep.Undelivered + notQueued
	out.Responses = txlane.ResponseCounts{OK: rep.ResponsesOK, Error: rep.ResponsesError}
	for k, v := range rep.Errors {
		errs[k] += v
	}
	out.Errors = errs
	out.SetElapsed(rep.Elapsed)
	if err := txlane.WriteLine(stdout, out); err != nil {
		logger.Printf("%v", err)
		return 1
	}
	if out.Undelivered > 0 {
		logger.Printf("%d of %d batches undelivered", out.Undelivered, *batches)
		return 1
	}
	return 0
}
