package testee

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	txlane "github.com/txlane/txlane/packages/conformance/peers/go"
)

// SilentAfter is how long a [FrameConn] waits for the first answer on a connection before
// deciding the receiver is silent (so does an EOF before any answer) (`--respond none`) and counting batches delivered once
// written (PEERS.md "send").
const SilentAfter = time.Second

// FrameConn is a ready-made [Conn] for a client that speaks the txlane framing itself: one
// frame written, then its JSON answer read (so it works in both delivery modes, one frame
// in flight). Use it as Peer.Dial = testee.DialFrames, or copy it as a start.
type FrameConn struct {
	c        net.Conn
	answered bool // an answer was read on this connection: it is not silent
	silent   bool // SilentAfter passed without any answer: writes are deliveries
}

// DialFrames connects to endpoint and returns a [FrameConn].
func DialFrames(ctx context.Context, endpoint txlane.Endpoint, opts SendOptions) (Conn, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, endpoint.Network, endpoint.Address)
	if err != nil {
		return nil, err
	}
	// In acknowledged mode the receiver answers (the harness pairs acknowledged senders with
	// answering receivers): never decide it is silent, e.g. when it is killed mid-frame.
	return &FrameConn{c: c, answered: opts.Delivery == "acknowledged"}, nil
}

// Send writes payload as one frame and reads its answer; see [Conn].
func (f *FrameConn) Send(ctx context.Context, payload []byte) (bool, error) {
	if dl, ok := ctx.Deadline(); ok {
		_ = f.c.SetDeadline(dl)
	}
	if err := txlane.WriteFrame(f.c, payload); err != nil {
		return false, err
	}
	if f.silent {
		return false, nil
	}
	if !f.answered {
		_ = f.c.SetReadDeadline(time.Now().Add(SilentAfter))
	}
	answer, err := txlane.ReadFrame(f.c, txlane.DefaultMaxFrameBytes)
	if !f.answered && (errors.Is(err, os.ErrDeadlineExceeded) || errors.Is(err, io.EOF)) {
		// No answer within SilentAfter, or the receiver shut its write side down
		// without answering: a silent receiver.
		f.silent = true
		return false, nil
	}
	if err != nil {
		return false, err
	}
	f.answered = true
	if dl, ok := ctx.Deadline(); ok {
		_ = f.c.SetReadDeadline(dl)
	}
	return Answer(answer)
}

// Answer classifies a receiver's JSON answer (SPEC §5.1) the way Conn.Send reports it:
// success is (true, nil); `Node not ready…` wraps [ErrNotReady]; any other error answer, or
// an answer that is not a valid response, wraps [ErrRejected].
func Answer(payload []byte) (bool, error) {
	r, err := txlane.DecodeResponse(payload)
	switch {
	case err != nil:
		return false, fmt.Errorf("%w: %v", ErrRejected, err)
	case r.Success:
		return true, nil
	case r.Error != nil && strings.HasPrefix(*r.Error, "Node not ready"):
		return false, fmt.Errorf("%w: %s", ErrNotReady, *r.Error)
	default:
		return false, fmt.Errorf("%w: %s", ErrRejected, payload)
	}
}

// Close closes the connection.
func (f *FrameConn) Close() error { return f.c.Close() }
