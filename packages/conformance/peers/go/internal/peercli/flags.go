package peercli

import (
	"flag"
	"fmt"
	"io"
	"strings"

	txlane "github.com/txlane/txlane/packages/conformance/peers/go"
)

// Usage returns the bad-command-line reporter of program: it prints
// "PROGRAM: message" and fs's usage on stderr and returns exit code 2.
func Usage(program string, fs *flag.FlagSet, stderr io.Writer) func(format string, a ...any) int {
	return func(format string, a ...any) int {
		fmt.Fprintf(stderr, program+": "+format+"\n", a...)
		fs.Usage()
		return 2
	}
}

// Workload holds the PEERS.md `send` flags that the reference sender and the deployed
// producer define alike (help texts included).
type Workload struct {
	Endpoint      *string
	Batches       *int
	TxPerBatch    *int
	TxSize        *int
	Seed          *uint64
	TimeoutMs     *int64
	MaxFrameBytes *int
}

// WorkloadFlags defines the shared `send` flags on fs; batchesHelp is --batches' help.
func WorkloadFlags(fs *flag.FlagSet, batchesHelp string) Workload {
	return Workload{
		Endpoint:      fs.String("endpoint", "", "`ENDPOINT` to connect to: /abs/path.sock, unix:/abs/path.sock or tcp://HOST:PORT (required)"),
		Batches:       fs.Int("batches", 1000, batchesHelp),
		TxPerBatch:    fs.Int("tx-per-batch", 50, "transactions per batch"),
		TxSize:        fs.Int("tx-size", 650, "target encoded transaction size in bytes"),
		Seed:          fs.Uint64("seed", 1, "workload seed (unsigned 64-bit)"),
		TimeoutMs:     fs.Int64("timeout-ms", 60000, "give up after this many milliseconds"),
		MaxFrameBytes: fs.Int("max-frame-bytes", txlane.DefaultMaxFrameBytes, "largest batch payload in bytes; larger batches are refused before queueing"),
	}
}

// CheckEndpoint reports stray arguments and a missing or malformed --endpoint (exit 2),
// or returns ok.
func (w Workload) CheckEndpoint(fs *flag.FlagSet, usage func(string, ...any) int) (code int, ok bool) {
	if fs.NArg() > 0 {
		return usage("unexpected arguments: %s", strings.Join(fs.Args(), " ")), false
	}
	if *w.Endpoint == "" {
		return usage("--endpoint is required"), false
	}
	if _, err := txlane.ParseEndpoint(*w.Endpoint); err != nil {
		return usage("--endpoint: %v", err), false
	}
	return 0, true
}

// CheckSizes reports a --workers or --queue below 1, a negative workload size or a
// --max-frame-bytes out of range (exit 2), in that order, or returns ok.
func (w Workload) CheckSizes(workers, queue int, usage func(string, ...any) int) (code int, ok bool) {
	switch {
	case workers < 1:
		return usage("--workers must be at least 1"), false
	case queue < 1:
		return usage("--queue must be at least 1"), false
	case *w.Batches < 0, *w.TxPerBatch < 0, *w.TxSize < 0:
		return usage("--batches, --tx-per-batch and --tx-size must not be negative"), false
	case *w.MaxFrameBytes < 1 || int64(*w.MaxFrameBytes) > txlane.MaxFrameLength:
		// 0 would mean "default" to the library's option, so the CLI refuses it outright.
		return usage("--max-frame-bytes must be between 1 and %d", int64(txlane.MaxFrameLength)), false
	}
	return 0, true
}
