// Package cmdtest holds what the commands' tests share: a Go peer Server that accepts
// every batch and keeps the digest of what it accepted. Only tests import it.
package cmdtest

import (
	"bytes"
	"context"
	"io"
	"testing"

	txlane "github.com/txlane/txlane/packages/conformance/peers/go"
	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peertest"
)

// DigestServer runs a Server that answers every frame with success on a fresh Unix
// socket, until the test ends, and returns the path and the digest of what it accepted.
func DigestServer(t testing.TB) (string, *txlane.AtomicDigest) {
	t.Helper()
	var digest txlane.AtomicDigest
	srv := &txlane.Server{Submit: func(b txlane.Batch) (int, error) {
		for _, tx := range b.Transactions {
			digest.Add(tx)
		}
		return len(b.Transactions), nil
	}}
	path := peertest.SocketPath(t)
	l, err := srv.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Shutdown(context.Background()) })
	return path, &digest
}

// Run is a command's entry point as its tests call it: the arguments after the program
// name, stdout, stderr, and a channel that stops it (nil: never).
type Run func(args []string, stdout, stderr io.Writer, stop <-chan struct{}) int

// UsageErrorsExit2 checks that each command line in cases makes run exit 2 (PEERS.md: a
// bad command line), printing nothing on stdout.
func UsageErrorsExit2(t *testing.T, run Run, cases ...[]string) {
	t.Helper()
	for _, args := range cases {
		var stdout bytes.Buffer
		if got := run(args, &stdout, io.Discard, nil); got != 2 || stdout.Len() != 0 {
			t.Errorf("run(%q) = %d with stdout %q; want 2 and nothing on stdout", args, got, stdout.String())
		}
	}
}
