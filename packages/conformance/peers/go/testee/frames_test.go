package testee

import (
	"bytes"
	"context"
	"errors"
	"net"
	"os"
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
	c, err := DialFrames(context.Background(), ep, SendOptions{Delivery: delivery, MaxFrameBytes: txlane.DefaultMaxFrameBytes})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
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
				select {
				case got := <-frames:
					if !bytes.Equal(got, payload) {
						t.Errorf("receiver read frame #%d of %d bytes; want the %d sent", i, len(got), len(payload))
					}
				case <-time.After(5 * time.Second):
					t.Fatalf("receiver did not read frame #%d", i)
				}
			}
		})
	}
}
