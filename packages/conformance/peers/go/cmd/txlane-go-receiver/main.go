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
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	txlane "github.com/txlane/txlane/packages/conformance/peers/go"
	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peercli"
)

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
	handlers := fs.Int("handlers", txlane.DefaultHandlers, "handler pool size")
	maxFrame := fs.Int("max-frame-bytes", txlane.DefaultMaxFrameBytes, "largest accepted frame payload in bytes")
	record := fs.String("record", "", "append every accepted frame to `FILE` (length-prefixed, O_APPEND)")
	expect := fs.Int64("expect-transactions", 0, "shut down once `N` transactions were submitted and answered (0: never)")
	if code, ok := peercli.Parse(fs, args); !ok {
		return code
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
	return peercli.Receiver{
		Listen: *listen, Mode: mode, Handlers: *handlers, MaxFrameBytes: *maxFrame,
		Record: *record, Expect: *expect, LogListening: true, Stop: stop,
	}.Run(stdout, logger)
}
