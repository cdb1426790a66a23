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

// SilentAfter is how long a [FrameConn] in fire-and-forget mode waits, on an open
// connection, for the first answer to a frame before deciding the receiver is silent
// (`--respond none`) and counting batches delivered once written (PEERS.md "send"). Only this
// timeout tells silence: a connection closed (EOF) before any answer is broken, not silent,
// since a receiver at its connection limit accepts and closes at once, and over TCP a frame
// can even be written after its FIN; taking that for silence would count frames nobody read
// as delivered. Once the sender knows the receiver is silent (on any connection,
// [SendOptions.ReceiverSilent]), that doubt is gone: such a close is the silent receiver
// leaving (e.g. `--expect-transactions` met), and resending to it could never succeed.
const SilentAfter = time.Second

// FrameConn is a ready-made [Conn] for a client that speaks the txlane framing itself: one
// frame written, then its JSON answer read (so it works in both delivery modes, one frame
// in flight). Silence learnt on another connection of the same sender counts here too
// (receiverSilent), since it is the receiver's. Use it as Peer.Dial = testee.DialFrames, or
// copy it as a start.
type FrameConn struct {
	c              net.Conn
	answered       bool        // an answer was read on this connection (or acknowledged mode): never silent
	silent         bool        // a frame went unanswered for SilentAfter on the open connection: writes are deliveries
	receiverSilent func() bool // SendOptions.ReceiverSilent: the sender found the receiver silent elsewhere (may be nil)
	left           bool        // the known-silent receiver closed this connection: later frames go on a new one
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
	return &FrameConn{c: c, answered: opts.Delivery == "acknowledged", receiverSilent: opts.ReceiverSilent}, nil
}

// knownSilent says whether the receiver is known silent: found so on this connection, or,
// while this one has not answered, on another connection of the sender.
func (f *FrameConn) knownSilent() bool {
	return f.silent || (!f.answered && f.receiverSilent != nil && f.receiverSilent())
}

// Send writes payload as one frame and reads its answer; see [Conn]. Until the connection
// has answered, a fire-and-forget FrameConn waits at most [SilentAfter] for the answer: if
// that passes with the connection open, the receiver is silent and this and every later
// frame on the connection is delivered once written (false, nil). Once the receiver is
// known silent, on this connection or another (SendOptions.ReceiverSilent), Send returns
// (false, nil) right after the write, and a clean close (EOF) before any answer is that
// silent receiver leaving, so the frame written is delivered (false, nil) rather than resent
// to a receiver that may be gone. Otherwise a close (EOF) or any other read error before an
// answer is an error in both modes, so the kit resends the batch on a new connection.
func (f *FrameConn) Send(ctx context.Context, payload []byte) (bool, error) {
	dl, hasDeadline := ctx.Deadline()
	if hasDeadline {
		_ = f.c.SetDeadline(dl)
	}
	if f.left {
		// Over TCP a write into it could still succeed, unread.
		return false, errors.New("txlane testee: the receiver closed this connection")
	}
	if err := txlane.WriteFrame(f.c, payload); err != nil {
		return false, err
	}
	if f.knownSilent() {
		return false, nil
	}
	// bySilence: the read deadline below is SilentAfter's, not an earlier ctx deadline.
	bySilence := false
	if !f.answered {
		silentAt := time.Now().Add(SilentAfter)
		bySilence = !hasDeadline || !dl.Before(silentAt)
		if bySilence {
			_ = f.c.SetReadDeadline(silentAt)
		}
	}
	answer, err := txlane.ReadFrame(f.c, txlane.DefaultMaxFrameBytes)
	if bySilence && errors.Is(err, os.ErrDeadlineExceeded) {
		// No answer within SilentAfter on an open connection: a silent receiver.
		f.silent = true
		return false, nil
	}
	if errors.Is(err, io.EOF) {
		if f.knownSilent() {
			// Found silent elsewhere while we waited: the receiver closed this connection
			// after our write completed (it exited with everything, say).
			f.left = true
			return false, nil
		}
		// Not known silent: a close without an answer is broken (a refusal looks the same).
		return false, fmt.Errorf("txlane testee: connection closed without an answer: %w", err)
	}
	if err != nil {
		return false, err
	}
	f.answered = true
	_ = f.c.SetReadDeadline(dl) // ctx's deadline again (none if dl is zero), not SilentAfter's
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
