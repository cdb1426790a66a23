// Package testee is the Go testee kit of the txlane conformance matrix: everything
// packages/conformance/PEERS.md asks of a testee program except the part a team wants
// tested — its own client (a [Peer.Dial] that returns a [Conn]) or its own receiver logic
// (a [Peer.Submit]).
//
// The kit provides the command line (`receive` / `send` and every PEERS.md flag, exit code 2
// on a bad one), the ready and report lines, the SplitMix64 workload, the transaction
// digest, `--record`, `--expect-transactions`, signal handling and the exit codes:
//
//	func main() {
//		testee.Main(testee.Peer{Name: "acme", Dial: dialAcme, Submit: submitAcme})
//	}
//
// A receiver is the reference [txlane.Server] (framing, JSON answers, handler pool, SPEC §7
// socket files) calling Submit once per accepted batch. A sender runs `--workers` workers
// over a bounded queue of `--queue` batches; each worker owns one Conn from Dial and calls
// Conn.Send once per batch: nil means delivered, [ErrNotReady] resends the batch after a
// capped exponential delay on the same connection, [ErrRejected] gives the batch up, and any
// other error closes the connection, dials again (with backoff, until `--timeout-ms`) and
// resends the batch. [DialFrames] is a ready-made Conn for a client that speaks the framing
// directly.
package testee

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	txlane "github.com/txlane/txlane/packages/conformance/peers/go"
	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peercli"
)

// Peer is what a team provides. Name is the report's `impl`; set Dial to test a sender,
// Submit to test a receiver, or both.
type Peer struct {
	// Name is the `impl` member of the report line (default "custom").
	Name string
	// Dial opens one connection to endpoint; each sender worker calls it once, and again
	// after its connection failed. An error is counted as ConnectFailed and retried with
	// backoff until --timeout-ms.
	Dial func(ctx context.Context, endpoint txlane.Endpoint, opts SendOptions) (Conn, error)
	// Submit receives the transactions of every accepted frame, from several handler
	// goroutines at once. nil accepts them all (answered {"success":true,"count":len(txs)});
	// an error is answered "Transaction submission failed: ERROR" and the batch is not
	// counted. ctx is cancelled when the receiver stops.
	Submit func(ctx context.Context, txs [][]byte) error
}

// SendOptions are the PEERS.md flags a client may care about.
type SendOptions struct {
	// Delivery is "fire-and-forget" or "acknowledged".
	Delivery string
	// MaxFrameBytes is --max-frame-bytes; the kit never hands Send a larger payload.
	MaxFrameBytes int
	// ReceiverSilent reports whether this sender process already found the receiver silent:
	// true once any Conn.Send of this sender returned (false, nil). Silence is a property of
	// the receiver, not of one connection, so a Conn may use it to settle frames without
	// waiting (see [FrameConn.Send]). nil means never known.
	ReceiverSilent func() bool
}

// Conn is one sender connection, used by one worker goroutine at a time.
type Conn interface {
	// Send delivers one batch payload (a `Transactions` envelope; the client frames it).
	// It returns nil once the batch is delivered, with answered true when the receiver
	// answered it with success (counted in `acknowledged` and `responses.ok`) or false when
	// it was only written to a receiver that does not answer. Errors: see the package doc.
	Send(ctx context.Context, payload []byte) (answered bool, err error)
	// Close releases the connection.
	Close() error
}

var (
	// ErrRejected (errors.Is) means the receiver refused the batch: it is not resent and
	// counts as undelivered (errors.Rejected, responses.error).
	ErrRejected = errors.New("txlane testee: rejected")
	// ErrNotReady (errors.Is) means the receiver answered "Node not ready…": the batch is
	// resent after 100 ms doubling to 4 s, at most 30 times (errors.NotReady, responses.error).
	ErrNotReady = errors.New("txlane testee: not ready")
)

// Main runs the testee on os.Args and exits with its exit code.
func Main(p Peer) { os.Exit(Run(p, os.Args[1:], os.Stdout, os.Stderr)) }

// Run is Main without the exit: it parses args (`receive …` or `send …`), prints the
// PEERS.md lines on stdout and logs on stderr, and returns the exit code (0 success,
// 1 not everything delivered or a fatal error, 2 bad command line).
func Run(p Peer, args []string, stdout, stderr io.Writer) int {
	if p.Name == "" {
		p.Name = "custom"
	}
	if len(args) == 0 {
		fmt.Fprintf(stderr, "usage: %s receive --listen ENDPOINT [options] | send --endpoint ENDPOINT [options]\n", p.Name)
		return 2
	}
	switch args[0] {
	case "receive":
		if p.Submit == nil {
			fmt.Fprintf(stderr, "%s: this testee has no receiver (Peer.Submit is nil)\n", p.Name)
			return 2
		}
		return runReceive(p, args[1:], stdout, stderr)
	case "send":
		if p.Dial == nil {
			fmt.Fprintf(stderr, "%s: this testee has no sender (Peer.Dial is nil)\n", p.Name)
			return 2
		}
		return runSend(p, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "%s: the first argument must be receive or send, not %q\n", p.Name, args[0])
		return 2
	}
}

func runReceive(p Peer, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(p.Name+" receive", flag.ContinueOnError)
	fs.SetOutput(stderr)
	listen := fs.String("listen", "", "`ENDPOINT` to listen on (required)")
	respond := fs.String("respond", "json", "json or none")
	handlers := fs.Int("handlers", 0, "handler pool size (0: GOMAXPROCS)")
	maxFrame := fs.Int("max-frame-bytes", txlane.DefaultMaxFrameBytes, "largest accepted frame payload in bytes")
	record := fs.String("record", "", "append every accepted frame to `FILE`")
	expect := fs.Int64("expect-transactions", 0, "shut down once `N` transactions were accepted and answered")
	if code, ok := peercli.Parse(fs, args); !ok {
		return code
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, p.Name+": "+format+"\n", a...)
		return 2
	}
	var mode txlane.ResponseMode
	switch {
	case fs.NArg() > 0:
		return usage("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	case *listen == "":
		return usage("--listen is required")
	case *respond == "json":
		mode = txlane.RespondJSON
	case *respond == "none":
		mode = txlane.RespondNone
	default:
		return usage("--respond must be none or json, not %q", *respond)
	}
	if _, err := txlane.ParseEndpoint(*listen); err != nil {
		return usage("--listen: %v", err)
	}
	if *handlers < 0 || *expect < 0 || *maxFrame < 1 || int64(*maxFrame) > txlane.MaxFrameLength {
		return usage("--handlers and --expect-transactions must not be negative, --max-frame-bytes must be between 1 and %d", int64(txlane.MaxFrameLength))
	}

	logger := log.New(stderr, p.Name+": ", log.LstdFlags|log.Lmicroseconds)
	return peercli.Receiver{
		Listen: *listen, Mode: mode, Handlers: *handlers, MaxFrameBytes: *maxFrame,
		Record: *record, Expect: *expect, Impl: p.Name, Submit: p.Submit,
	}.Run(stdout, logger)
}
