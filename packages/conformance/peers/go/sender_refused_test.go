package txlane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peertest"
)

// limitServer is a receiver at its connection limit: it serves the first limit connections
// open at a time and closes every other one as soon as it is accepted, unread. A served
// connection records every frame and answers it with success; with hold, the answers wait
// until release is called.
type limitServer struct {
	path    string
	refused atomic.Int64 // connections closed at once
	served  atomic.Int64 // connections served
	release func()

	mu  sync.Mutex
	got map[string]int // payloads read, by count
}

func startLimitServer(t *testing.T, limit int, hold bool) *limitServer {
	t.Helper()
	srv := &limitServer{got: make(map[string]int)}
	released := make(chan struct{})
	var once sync.Once
	srv.release = func() { once.Do(func() { close(released) }) }
	if !hold {
		srv.release()
	}
	done := make(chan struct{})
	var active atomic.Int64
	ok, _ := EncodeResponse(OKResponse(1))
	srv.path = peertest.Serve(t, "unix", func(c net.Conn) {
		// Counted before the check, so two connections accepted at once cannot both get in.
		defer active.Add(-1)
		if active.Add(1) > int64(limit) {
			srv.refused.Add(1)
			return // closed at once, unread
		}
		srv.served.Add(1)
		go func() { <-done; c.Close() }()
		fr := NewFrameReader(c, DefaultMaxFrameBytes)
		for {
			p, err := fr.ReadFrame()
			if err != nil {
				return
			}
			srv.mu.Lock()
			srv.got[string(p)]++
			srv.mu.Unlock()
			select {
			case <-released:
			case <-done:
				return
			}
			if WriteFrame(c, ok) != nil {
				return
			}
		}
	})
	// Registered after Serve's, so it runs first: the handlers stop before Serve waits for them.
	t.Cleanup(func() { close(done) })
	return srv
}

// missing returns how many of batches the server never read.
func (srv *limitServer) missing(batches [][]byte) int {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	n := 0
	for _, b := range batches {
		if srv.got[string(b)] == 0 {
			n++
		}
	}
	return n
}

func limitBatches(n int) [][]byte {
	b := make([][]byte, n)
	for i := range b {
		b[i] = batchOf(fmt.Sprint("limit-", i))
	}
	return b
}

// TestAcknowledgedAtConnectionLimit: against a receiver that serves one connection and
// closes the others at once, the batches that refused workers took are handed to the
// served connection instead of waiting for it to go away: all are acknowledged before
// Close, none rejected.
func TestAcknowledgedAtConnectionLimit(t *testing.T) {
	srv := startLimitServer(t, 1, false)
	s, err := NewChannelBasedSender(srv.path, 3, 16, WithDelivery(Acknowledged))
	if err != nil {
		t.Fatal(err)
	}
	batches := limitBatches(300)
	for _, b := range batches {
		if err := s.SendBatch(b); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.Metrics().Delivered < int64(len(batches)) && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if m := s.Metrics(); m.Delivered != int64(len(batches)) {
		t.Errorf("%d of %d batches delivered within 5 s while the served connection stood (%d connections refused, %d served): refused workers keep theirs",
			m.Delivered, len(batches), srv.refused.Load(), srv.served.Load())
	}
	r := closeSender(t, s)
	if r.Acknowledged != int64(len(batches)) || r.Undelivered != 0 || r.Errors[KindRejected] != 0 {
		t.Errorf("report %+v; want all %d acknowledged, none rejected", r, len(batches))
	}
	if n := srv.missing(batches); n != 0 {
		t.Errorf("the server never read %d batches", n)
	}
	if srv.refused.Load() == 0 {
		t.Errorf("no connection was refused: the test does not test anything")
	}
	t.Logf("connections: %d served, %d refused; sent %d frames", srv.served.Load(), srv.refused.Load(), r.Sent)
}

// TestFireAndForgetRefusedIsNotSilence: a connection closed before any frame of it reached
// the peer says nothing about whether the peer answers. The served connection holds its
// answers until two connections have been refused, so the sender does not know yet when
// they close; every batch must arrive, and each be settled by its answer.
func TestFireAndForgetRefusedIsNotSilence(t *testing.T) {
	srv := startLimitServer(t, 1, true)
	s, err := NewChannelBasedSender(srv.path, 3, 16)
	if err != nil {
		t.Fatal(err)
	}
	batches := limitBatches(300)
	for _, b := range batches[:3] {
		if err := s.SendBatch(b); err != nil {
			t.Fatal(err)
		}
	}
	for deadline := time.Now().Add(2 * time.Second); srv.refused.Load() < 2 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	if srv.refused.Load() < 2 {
		t.Fatalf("%d connections refused; want 2 before the answers are released", srv.refused.Load())
	}
	time.Sleep(50 * time.Millisecond)
	srv.release()
	for _, b := range batches[3:] {
		if err := s.SendBatch(b); err != nil {
			t.Fatal(err)
		}
	}
	r := closeSender(t, s)
	if n := srv.missing(batches); n != 0 {
		t.Errorf("the server never read %d of %d batches (report %+v)", n, len(batches), r)
	}
	if silent := r.Delivered - r.Acknowledged; silent != 0 || r.Acknowledged != int64(len(batches)) {
		t.Errorf("%d batches done as written to a silent peer, %d acknowledged; want 0 and %d (report %+v)",
			silent, r.Acknowledged, len(batches), r)
	}
}

// TestRefusedConnectionBacksOff: a connection the peer closes before answering counts as
// a failed connect, so the worker reconnects on the backoff schedule. With the defaults
// (DefaultBackoffMin 20 ms doubling, equal jitter: waits of 10–20, 20–40, 40–80, 80–160,
// 160–320 ms) that is 5 or 6 connects in 400 ms; reconnecting at once makes hundreds.
func TestRefusedConnectionBacksOff(t *testing.T) {
	srv := startLimitServer(t, 0, false)
	s, err := NewChannelBasedSender(srv.path, 1, 4, WithDelivery(Acknowledged))
	if err != nil {
		t.Fatal(err)
	}
	if err := s.SendBatch(batchOf("refused")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(400 * time.Millisecond)
	n := srv.refused.Load()
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	r, err := s.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) || r.Undelivered != 1 {
		t.Errorf("Close: %v, undelivered %d; want DeadlineExceeded and 1", err, r.Undelivered)
	}
	t.Logf("%d connects in 400 ms", n)
	if n < 2 || n > 8 {
		t.Errorf("%d connects in 400 ms; want 2–8 (on the reconnect backoff)", n)
	}
}

// TestFireAndForgetSilentPeer: silence is learnt only from a frame left unanswered for
// AutoSilence on an open connection. A peer that reads and never writes is silent after
// AutoSilence. A clean close (EOF) without an answer before the peer is known is a broken
// connection, not silence, whether the peer only shut its write side down or closed
// outright after reading a frame (a refused connection looks the same over TCP even after
// a completed write): that connection's frame is resent, not done, and silence still comes
// by the timeout on a later connection. Every batch arrives and is done once, when written.
func TestFireAndForgetSilentPeer(t *testing.T) {
	for _, eof := range []string{"none", "closeWrite", "close"} {
		t.Run("eof="+eof, func(t *testing.T) {
			var mu sync.Mutex
			got := make(map[string]int)
			// first: the frame read on the connection the peer closed; closed: the peer has
			// closed one connection after reading a frame.
			var first string
			var closed atomic.Bool
			path := peertest.ServeUnix(t, func(c net.Conn) {
				fr := NewFrameReader(c, DefaultMaxFrameBytes)
				for {
					p, err := fr.ReadFrame()
					if err != nil {
						return
					}
					mu.Lock()
					got[string(p)]++
					mu.Unlock()
					if eof != "none" && closed.CompareAndSwap(false, true) {
						mu.Lock()
						first = string(p)
						mu.Unlock()
						if eof == "close" {
							return // the deferred Close: a full close, nothing unread
						}
						c.(*net.UnixConn).CloseWrite()
					}
				}
			})
			s, err := NewChannelBasedSender(path, 2, 16)
			if err != nil {
				t.Fatal(err)
			}
			batches := limitBatches(100)
			start := time.Now()
			for _, b := range batches {
				if err := s.SendBatch(b); err != nil {
					t.Fatal(err)
				}
			}
			r := closeSender(t, s)
			elapsed := time.Since(start)
			if r.Delivered != int64(len(batches)) || r.Acknowledged != 0 || r.Undelivered != 0 {
				t.Errorf("report %+v; want all %d done as written, none acknowledged", r, len(batches))
			}
			// A peer that shut its write side down cannot tell the sender when it has read
			// everything: wait for the server (bounded) before looking.
			arrived := func() int {
				mu.Lock()
				defer mu.Unlock()
				n := 0
				for _, b := range batches {
					if got[string(b)] > 0 {
						n++
					}
				}
				return n
			}
			for deadline := time.Now().Add(5 * time.Second); arrived() < len(batches) && time.Now().Before(deadline); {
				time.Sleep(5 * time.Millisecond)
			}
			if n := arrived(); n != len(batches) {
				t.Errorf("%d of %d batches arrived", n, len(batches))
			}
			if elapsed < AutoSilence {
				t.Errorf("took %v: silence comes only by the %v timeout", elapsed, AutoSilence)
			}
			if eof == "none" {
				return
			}
			mu.Lock()
			firstGot := got[first]
			mu.Unlock()
			if first == "" || firstGot < 2 || r.Failed < 1 {
				t.Errorf("the frame read on the connection the peer closed arrived %d times, %d failed attempts (report %+v); want it resent: an EOF without an answer is a broken connection, not silence",
					firstGot, r.Failed, r)
			}
		})
	}
}

// TestFireAndForgetSilentPeerLeaves: the race of a silent receiver started with
// --expect-transactions. Another worker found the peer silent (set here directly, as its
// maybeSilent does) after this worker's frame was written on a connection opened before, so
// still tracked; the receiver, holding every batch, exits: it stops listening and closes that
// connection cleanly, before the connection's own AutoSilence. The close is the silent peer
// leaving, so the frame is done as a silent peer's, at once; resending it would reach nobody
// (connects failing until Close gives up, the batch undelivered).
func TestFireAndForgetSilentPeerLeaves(t *testing.T) {
	for _, network := range []string{"unix", "tcp"} {
		t.Run(network, func(t *testing.T) {
			address := "127.0.0.1:0"
			endpoint := func(l net.Listener) string { return "tcp://" + l.Addr().String() }
			if network == "unix" {
				address = peertest.SocketPath(t)
				endpoint = func(l net.Listener) string { return l.Addr().String() }
			}
			l, err := net.Listen(network, address)
			if err != nil {
				t.Fatal(err)
			}
			defer l.Close()
			read, exit, exited := make(chan []byte, 1), make(chan struct{}), make(chan struct{})
			go func() {
				defer close(exited)
				c, err := l.Accept()
				if err != nil {
					return
				}
				p, _ := ReadFrame(c, DefaultMaxFrameBytes)
				read <- p
				<-exit
				l.Close() // the receiver exits: nothing listens any more …
				c.Close() // … and its connection closes cleanly, everything read
			}()
			s, err := NewChannelBasedSender(endpoint(l), 1, 4)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			batch := batchOf("last batch")
			if err := s.SendBatch(batch); err != nil {
				t.Fatal(err)
			}
			select {
			case p := <-read:
				if !bytes.Equal(p, batch) {
					t.Fatalf("the receiver read %q; want the batch", p)
				}
			case <-time.After(AutoSilence / 2):
				t.Fatal("the receiver did not read the frame")
			}
			s.answering.Store(peerSilent) // another worker's connection found the peer silent
			close(exit)
			<-exited
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			defer cancel()
			r, err := s.Close(ctx)
			elapsed := time.Since(start)
			if err != nil || r.Delivered != 1 || r.Undelivered != 0 || r.Errors[KindConnectFailed] != 0 {
				t.Errorf("Close: %v, report %+v; want the written batch done, no reconnect", err, r)
			}
			if elapsed >= AutoSilence {
				t.Errorf("took %v; the close settles the frame, not this connection's AutoSilence (%v)", elapsed, AutoSilence)
			}
		})
	}
}
