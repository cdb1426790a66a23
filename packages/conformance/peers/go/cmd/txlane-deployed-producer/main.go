// Command txlane-deployed-producer emulates, on the wire, the Go producer that is deployed
// today (request/response workers with fixed-interval retries; see the package's
// DeployedProducer), so that a txlane receiver can be tested as a drop-in for the deployed
// Rust server. It follows the sender side of packages/conformance/PEERS.md:
//
//	txlane-deployed-producer [send] --endpoint ENDPOINT [--delivery acknowledged]
//	    [--workers N] [--queue N] [--batches N] [--tx-per-batch K] [--tx-size S]
//	    [--seed X] [--timeout-ms T] [--max-frame-bytes N]
//	    [--answer-deadline-ms T] [--retry-interval-ms T] [--not-ready-retries N]
//	    [--error-retries N] [--enqueue-timeout-ms T]
//
// It sends the deterministic workload and prints one report line with
// "impl":"deployed-producer"; logs go to stderr. Exit codes: 0 every batch acknowledged,
// 1 not every batch acknowledged or a fatal error, 2 bad command line.
package main

import (
	"flag"
	"io"
	"log"
	"os"
	"time"

	txlane "github.com/txlane/txlane/packages/conformance/peers/go"
	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peercli"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, nil))
}

// run is the whole program; stop, if not nil, acts like SIGTERM (for tests).
func run(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int {
	if len(args) > 0 && args[0] == "send" {
		args = args[1:]
	}
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	fs := flag.NewFlagSet("txlane-deployed-producer", flag.ContinueOnError)
	fs.SetOutput(stderr)
	w := peercli.WorkloadFlags(fs, "number of batches to send")
	delivery := fs.String("delivery", "acknowledged", "only acknowledged: the deployed producer is request/response")
	workers := fs.Int("workers", txlane.DefaultProducerWorkers, "worker count; each worker owns one connection and has at most one frame in flight")
	queue := fs.Int("queue", txlane.DefaultProducerBuffer, "capacity of the batch channel between producer and workers")
	answerMs := fs.Int64("answer-deadline-ms", ms(txlane.DefaultAnswerDeadline), "deadline for writing a frame and reading its answer, in ms")
	retryMs := fs.Int64("retry-interval-ms", ms(txlane.DefaultRetryInterval), "pause before every retry or resend, in ms")
	notReady := fs.Int("not-ready-retries", txlane.DefaultNotReadyRetries, "retries of a batch after \"not ready\" answers before it is given up")
	errRetries := fs.Int("error-retries", txlane.DefaultErrorRetries, "resends of a batch after other failures before it is given up")
	enqueueMs := fs.Int64("enqueue-timeout-ms", ms(txlane.DefaultEnqueueTimeout), "how long a batch waits for room in a full channel before it is refused (QueueFull)")
	if code, ok := peercli.Parse(fs, args); !ok {
		return code
	}
	usage := peercli.Usage("txlane-deployed-producer", fs, stderr)
	if code, ok := w.CheckEndpoint(fs, usage); !ok {
		return code
	}
	if *delivery != "acknowledged" {
		return usage("--delivery %q is not supported: the deployed producer is request/response, so only acknowledged", *delivery)
	}
	if code, ok := w.CheckSizes(*workers, *queue, usage); !ok {
		return code
	}
	switch {
	case *w.TimeoutMs < 1, *answerMs < 1, *retryMs < 1, *enqueueMs < 1:
		return usage("--timeout-ms, --answer-deadline-ms, --retry-interval-ms and --enqueue-timeout-ms must be at least 1")
	case *notReady < 0, *errRetries < 0:
		return usage("--not-ready-retries and --error-retries must not be negative")
	}
	// On the command line 0 retries means none; in the library 0 means the default.
	retries := func(n int) int {
		if n == 0 {
			return txlane.NoRetries
		}
		return n
	}

	logger := log.New(stderr, "txlane-deployed-producer: ", log.LstdFlags|log.Lmicroseconds)
	ctx, cancel := peercli.SendContext(time.Duration(*w.TimeoutMs)*time.Millisecond, logger, stop)
	defer cancel()

	cfg := txlane.DeployedProducerConfig{
		Endpoint:        *w.Endpoint,
		Workers:         *workers,
		Buffer:          *queue,
		EnqueueTimeout:  time.Duration(*enqueueMs) * time.Millisecond,
		AnswerDeadline:  time.Duration(*answerMs) * time.Millisecond,
		RetryInterval:   time.Duration(*retryMs) * time.Millisecond,
		NotReadyRetries: retries(*notReady),
		ErrorRetries:    retries(*errRetries),
		MaxFrameBytes:   *w.MaxFrameBytes,
		Logger:          logger,
	}
	wl := txlane.ProducerWorkload{Seed: *w.Seed, Batches: *w.Batches, TxPerBatch: *w.TxPerBatch, TxSize: *w.TxSize}
	out, err := txlane.RunDeployedProducer(ctx, cfg, wl)
	if err != nil {
		logger.Printf("%v", err)
		return 1
	}
	if err := txlane.WriteLine(stdout, out); err != nil {
		logger.Printf("%v", err)
		return 1
	}
	if out.Undelivered > 0 {
		logger.Printf("%d of %d batches not acknowledged", out.Undelivered, *w.Batches)
		return 1
	}
	return 0
}
