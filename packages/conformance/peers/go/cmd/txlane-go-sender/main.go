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
	"io"
	"log"
	"os"
	"sync/atomic"
	"time"

	txlane "github.com/txlane/txlane/packages/conformance/peers/go"
	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peercli"
)

// defaultWorkers is the --workers default: the library's (the TypeScript sender's 4).
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
	w := peercli.WorkloadFlags(fs, "number of batches (frames) to send")
	delivery := fs.String("delivery", "fire-and-forget", "fire-and-forget or acknowledged")
	workers := fs.Int("workers", defaultWorkers, "worker count; each worker owns one connection")
	queue := fs.Int("queue", 1000, "capacity of the batch queue between producer and workers")
	transientMs := fs.Int64("transient-retry-ms", txlane.DefaultTransientRetry.Milliseconds(), "first delay before resending a batch answered \"Node not ready…\", in ms; doubles per retry, capped at 4000 ms, at most 30 retries")
	if code, ok := peercli.Parse(fs, args); !ok {
		return code
	}
	usage := peercli.Usage("txlane-go-sender", fs, stderr)
	if code, ok := w.CheckEndpoint(fs, usage); !ok {
		return code
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
	if code, ok := w.CheckSizes(*workers, *queue, usage); !ok {
		return code
	}
	switch {
	case *w.TimeoutMs < 1:
		return usage("--timeout-ms must be at least 1")
	case *transientMs < 1:
		return usage("--transient-retry-ms must be at least 1")
	}

	logger := log.New(stderr, "txlane-go-sender: ", log.LstdFlags|log.Lmicroseconds)
	ctx, cancel := peercli.SendContext(time.Duration(*w.TimeoutMs)*time.Millisecond, logger, stop)
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
	sender, err := txlane.NewChannelBasedSender(*w.Endpoint, *workers, *queue,
		txlane.WithDelivery(mode), txlane.WithOnWrite(onWrite), txlane.WithOnDelivered(onDelivered),
		txlane.WithLogger(logger), txlane.WithMaxFrameBytes(*w.MaxFrameBytes),
		txlane.WithTransientRetry(transient, max(transient, txlane.DefaultTransientRetryMax), txlane.DefaultTransientRetries))
	if err != nil {
		logger.Printf("%v", err)
		return 1
	}

	errs := map[string]int64{}
	var notQueued int64
	gen := txlane.NewWorkload(*w.Seed, *w.TxSize)
	for b := 0; b < *w.Batches; b++ {
		err := sender.SendBatchContext(ctx, gen.NextBatch(*w.TxPerBatch))
		if errors.Is(err, txlane.ErrFrameTooLarge) {
			errs[txlane.KindFrameTooLarge]++
			notQueued++
			continue
		}
		if err != nil {
			logger.Printf("batch %d: %v", b, err)
			notQueued += int64(*w.Batches - b)
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
		logger.Printf("%d of %d batches undelivered", out.Undelivered, *w.Batches)
		return 1
	}
	return 0
}
