package testee

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync/atomic"
	"testing"
	"time"

	txlane "github.com/txlane/txlane/packages/conformance/peers/go"
	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peertest"
)

// serveFrames serves handle on network ("tcp" or "unix") until the test ends (peertest.Serve).
func serveFrames(t *testing.T, network string, handle func(c net.Conn)) txlane.Endpoint {
	t.Helper()
	return txlane.Endpoint{Network: network, Address: peertest.Serve(t, network, handle)}
}

func dialFrames(t *testing.T, ep txlane.Endpoint, delivery string) Conn {
	t.Helper()
	return dialFramesSilent(t, ep, delivery, nil)
}

// dialFramesSilent is dialFrames with SendOptions.ReceiverSilent set to receiverSilent.
func dialFramesSilent(t *testing.T, ep txlane.Endpoint, delivery string, receiverSilent func() bool) Conn {
	t.Helper()
	c, err := DialFrames(context.Background(), ep, SendOptions{Delivery: delivery, MaxFrameBytes: txlane.DefaultMaxFrameBytes, ReceiverSilent: receiverSilent})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// expectFrame waits for the test receiver to read frame #i and checks it is payload.
func expectFrame(t *testing.T, frames <-chan []byte, payload []byte, i int) {
	t.Helper()
	select {
	case got := <-frames:
		if !bytes.Equal(got, payload) {
			t.Errorf("receiver read frame #%d of %d bytes; want the %d sent", i, len(got), len(payload))
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("receiver did not read frame #%d", i)
	}
}

// TestFrameConnClosedIsNotSilence: a connection the receiver closes (or half-closes) before
// any answer is broken, not silent, in both modes — a receiver at its connection limit
// accepts and closes at once, and over TCP the frame is even written after its FIN. Send
// must return an error (the kit then resends on a new connection), never report the batch
// delivered. Before the change a fire-and-forget FrameConn took such an EOF for silence.
func TestFrameConnClosedIsNotSilence(t *testing.T) {
	payload := txlane.NewWorkload(1, 100).NextBatch(3)
	servers := []struct {
		name   string
		handle func(c net.Conn, ready chan<- struct{}) // Send starts once ready is closed
	}{
		// Accept and close at once, nothing read (the connection limit's refusal). Send
		// starts only after the close, so over TCP the frame reaches the kernel after the FIN.
		{"close at once", func(c net.Conn, ready chan<- struct{}) {
			c.Close()
			close(ready)
		}},
		// Read the frame, then close without answering.
		{"read then close", func(c net.Conn, ready chan<- struct{}) {
			close(ready)
			txlane.ReadFrame(c, txlane.DefaultMaxFrameBytes)
		}},
		// Read the frame, then shut the write side down without answering, keeping the
		// connection open (until the client closes it).
		{"read then close write", func(c net.Conn, ready chan<- struct{}) {
			close(ready)
			if _, err := txlane.ReadFrame(c, txlane.DefaultMaxFrameBytes); err != nil {
				return
			}
			c.(interface{ CloseWrite() error }).CloseWrite()
			c.Read(make([]byte, 1)) // until the client closes
		}},
	}
	for _, network := range []string{"tcp", "unix"} {
		for _, delivery := range []string{"fire-and-forget", "acknowledged"} {
			for _, srv := range servers {
				t.Run(network+"/"+delivery+"/"+srv.name, func(t *testing.T) {
					t.Parallel()
					ready := make(chan struct{})
					ep := serveFrames(t, network, func(c net.Conn) { srv.handle(c, ready) })
					conn := dialFrames(t, ep, delivery)
					<-ready
					ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
					defer cancel()
					start := time.Now()
					answered, err := conn.Send(ctx, payload)
					if err == nil || answered {
						t.Fatalf("Send = %v, %v after %v; want an error: a close before any answer is a broken connection, not a silent receiver",
							answered, err, time.Since(start))
					}
					if errors.Is(err, ErrRejected) || errors.Is(err, ErrNotReady) || errors.Is(err, os.ErrDeadlineExceeded) {
						t.Errorf("Send error %v; want a connection error", err)
					}
				})
			}
		}
	}
}

// TestFrameConnSilentAfter: a receiver that reads and never answers makes a fire-and-forget
// FrameConn silent after SilentAfter on the open connection; that frame and every later one
// is then delivered once written, without waiting. A ctx deadline before SilentAfter is an
// error, not silence.
func TestFrameConnSilentAfter(t *testing.T) {
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			frames := make(chan []byte, 8)
			ep := serveFrames(t, network, func(c net.Conn) {
				for {
					p, err := txlane.ReadFrame(c, txlane.DefaultMaxFrameBytes)
					if err != nil {
						return
					}
					frames <- p
				}
			})

			// A ctx deadline before SilentAfter ends the wait: an error, not silence.
			early := dialFrames(t, ep, "fire-and-forget")
			ctx, cancel := context.WithTimeout(context.Background(), SilentAfter/10)
			answered, err := early.Send(ctx, []byte("early"))
			cancel()
			if err == nil || answered {
				t.Errorf("Send past an early ctx deadline = %v, %v; want an error, not silence", answered, err)
			}
			<-frames

			conn := dialFrames(t, ep, "fire-and-forget")
			ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			w := txlane.NewWorkload(2, 100)
			for i := 0; i < 3; i++ {
				payload := w.NextBatch(3)
				start := time.Now()
				answered, err := conn.Send(ctx, payload)
				elapsed := time.Since(start)
				if err != nil || answered {
					t.Fatalf("Send #%d = %v, %v; want false, nil (written to a silent receiver)", i, answered, err)
				}
				if i == 0 && elapsed < SilentAfter {
					t.Errorf("first Send returned after %v; silence comes only after SilentAfter (%v)", elapsed, SilentAfter)
				}
				if i > 0 && elapsed >= SilentAfter {
					t.Errorf("Send #%d took %v; once silent, a frame is delivered when written", i, elapsed)
				}
				expectFrame(t, frames, payload, i)
			}
		})
	}
}

// TestFrameConnClosedAfterKnownSilence: the CI race of PEERS.md's fire-and-forget sender.
// Worker A found the receiver silent; worker B's frame was already written and read; the
// receiver, with every batch, exits and closes B's connection cleanly before B's own
// SilentAfter. That EOF is the silent receiver leaving, so B's frame is delivered
// (false, nil) at once; resending it would reach nobody. Without the shared knowledge, in
// acknowledged mode, or on a reset rather than a clean close, it stays an error. The
// silence becomes known only after Send's check right after its write, so Send is in its
// read when the connection ends, whatever the scheduling.
func TestFrameConnClosedAfterKnownSilence(t *testing.T) {
	payload := txlane.NewWorkload(3, 100).NextBatch(3)
	tests := []struct {
		delivery  string
		known     bool // the sender finds the receiver silent elsewhere once the frame is read
		reset     bool // the receiver resets the connection instead of closing it cleanly
		delivered bool
	}{
		{"fire-and-forget", true, false, true},
		{"fire-and-forget", false, false, false},
		{"fire-and-forget", true, true, false},
		{"acknowledged", true, false, false},
	}
	for _, network := range []string{"tcp", "unix"} {
		for _, tt := range tests {
			name := fmt.Sprintf("%s/%s/known=%v/reset=%v", network, tt.delivery, tt.known, tt.reset)
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				var silent atomic.Bool
				var calls atomic.Int32
				checked := make(chan struct{}) // closed at the first ReceiverSilent call
				receiverSilent := func() bool {
					if calls.Add(1) == 1 {
						close(checked)
					}
					return silent.Load()
				}
				ep := serveFrames(t, network, func(c net.Conn) {
					if tt.reset && network == "unix" {
						// Closing with unread bytes resets a Unix stream: leave the payload.
						io.ReadFull(c, make([]byte, 4))
					} else if _, err := txlane.ReadFrame(c, txlane.DefaultMaxFrameBytes); err != nil {
						return
					}
					if tt.delivery == "fire-and-forget" { // acknowledged mode never asks
						select {
						case <-checked:
						case <-time.After(5 * time.Second):
							t.Error("Send did not check ReceiverSilent after its write")
						}
					}
					silent.Store(tt.known) // before the close: Send sees it at EOF
					if tc, ok := c.(*net.TCPConn); ok && tt.reset {
						tc.SetLinger(0) // close with a reset
					}
				})
				conn := dialFramesSilent(t, ep, tt.delivery, receiverSilent)
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				start := time.Now()
				answered, err := conn.Send(ctx, payload)
				elapsed := time.Since(start)
				switch {
				case answered:
					t.Fatalf("Send = true, %v; no answer was written", err)
				case tt.delivered && err != nil:
					t.Fatalf("Send error %v; want false, nil: a receiver known silent closed after reading the frame", err)
				case tt.delivered && elapsed >= SilentAfter/2:
					t.Errorf("Send took %v; want it to return at the close, not wait for SilentAfter (%v)", elapsed, SilentAfter)
				case !tt.delivered && err == nil:
					t.Fatalf("Send = false, nil after %v; want an error, the batch resent", elapsed)
				case !tt.delivered && (errors.Is(err, ErrRejected) || errors.Is(err, ErrNotReady) || errors.Is(err, os.ErrDeadlineExceeded)):
					t.Errorf("Send error %v; want a connection error", err)
				}
				// The receiver left this connection: the next frame goes on a new one, never
				// into this one (over TCP that write could succeed, unread).
				if answered, err := conn.Send(ctx, payload); tt.delivered && (answered || err == nil) {
					t.Errorf("Send after the receiver left = %v, %v; want an error", answered, err)
				}
			})
		}
	}
}

// TestFrameConnKnownSilentSkipsWait: once the sender found the receiver silent on another
// connection, a fire-and-forget frame on a fresh, open connection is delivered when written,
// without waiting SilentAfter again. An acknowledged FrameConn still reads its answer.
func TestFrameConnKnownSilentSkipsWait(t *testing.T) {
	known := func() bool { return true }
	ok, _ := txlane.EncodeResponse(txlane.OKResponse(3))
	for _, network := range []string{"tcp", "unix"} {
		t.Run(network, func(t *testing.T) {
			t.Parallel()
			frames := make(chan []byte, 8)
			answer := make(chan bool, 1) // per connection: whether it answers; sent before Send
			ep := serveFrames(t, network, func(c net.Conn) {
				answers := <-answer
				for {
					p, err := txlane.ReadFrame(c, txlane.DefaultMaxFrameBytes)
					if err != nil {
						return
					}
					frames <- p
					if answers && txlane.WriteFrame(c, ok) != nil {
						return
					}
				}
			})
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			w := txlane.NewWorkload(4, 100)

			answer <- false
			conn := dialFramesSilent(t, ep, "fire-and-forget", known)
			for i := 0; i < 2; i++ {
				payload := w.NextBatch(3)
				start := time.Now()
				answered, err := conn.Send(ctx, payload)
				if elapsed := time.Since(start); err != nil || answered || elapsed >= SilentAfter/2 {
					t.Fatalf("Send #%d = %v, %v after %v; want false, nil at once (the receiver is known silent)", i, answered, err, elapsed)
				}
				expectFrame(t, frames, payload, i)
			}

			answer <- true
			acked := dialFramesSilent(t, ep, "acknowledged", known)
			if answered, err := acked.Send(ctx, w.NextBatch(3)); err != nil || !answered {
				t.Errorf("acknowledged Send = %v, %v; want true, nil: acknowledged mode reads the answer", answered, err)
			}
			<-frames
		})
	}
}
