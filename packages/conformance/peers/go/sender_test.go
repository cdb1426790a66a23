package txlane

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peertest"
)

// digestServer is a Server that digests what it accepts.
func digestServer() (*Server, *AtomicDigest, *atomic.Int64) {
	var d AtomicDigest
	var n atomic.Int64
	srv := &Server{Submit: func(b Batch) (int, error) {
		for _, tx := range b.Transactions {
			d.Add(tx)
		}
		n.Add(int64(len(b.Transactions)))
		return len(b.Transactions), nil
	}}
	return srv, &d, &n
}

// expectedDigest is the digest of the first batches×k workload transactions.
func expectedDigest(seed uint64, batches, k, size int) Digest {
	w := NewWorkload(seed, size)
	var d Digest
	for range batches * k {
		d.Add(w.NextTransaction())
	}
	return d
}

func closeSender(t *testing.T, s *ChannelBasedSender) SenderReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	r, err := s.Close(ctx)
	if err != nil {
		t.Fatalf("Close: %v", err)
	}
	return r
}

// TestSenderToServer is the integration test: the real sender to the real server over a
// Unix socket and TCP loopback, in both delivery modes; digests must match.
func TestSenderToServer(t *testing.T) {
	const batches, k, size = 300, 20, 300
	want := expectedDigest(5, batches, k, size)
	for _, network := range []string{"unix", "tcp"} {
		for _, mode := range []Delivery{FireAndForget, Acknowledged} {
			t.Run(network+"/"+mode.String(), func(t *testing.T) {
				srv, got, n := digestServer()
				ep := "tcp://127.0.0.1:0"
				if network == "unix" {
					ep = peertest.SocketPath(t)
				}
				ep = startServer(t, srv, ep)
				s, err := NewChannelBasedSender(ep, 4, 16, WithDelivery(mode))
				if err != nil {
					t.Fatal(err)
				}
				w := NewWorkload(5, size)
				for range batches {
					if err := s.SendBatch(w.NextBatch(k)); err != nil {
						t.Fatalf("SendBatch: %v", err)
					}
				}
				r := closeSender(t, s)
				if r.Undelivered != 0 || r.Sent != batches || r.Batches != batches {
					t.Errorf("report %+v; want %d sent, 0 undelivered", r, batches)
				}
				if mode == Acknowledged && r.Acknowledged != batches {
					t.Errorf("acknowledged %d; want %d", r.Acknowledged, batches)
				}
				// Fire-and-forget: the drain (half-close, read to EOF) means the receiver has
				// answered everything before Close returns.
				if r.ResponsesOK != batches {
					t.Errorf("responses ok %d; want %d", r.ResponsesOK, batches)
				}
				if n.Load() != batches*k || got.Load() != want {
					t.Errorf("server got %d txs, digest %s; want %d, %s", n.Load(), got.Load(), batches*k, want)
				}
			})
		}
	}
}

// chattyServer answers every frame with a large response and counts frames; a sender
// that does not read would fill its receive buffer and block the server, and with it
// its own writes.
func chattyServer(t *testing.T, respBytes int) (string, *atomic.Int64) {
	t.Helper()
	var frames atomic.Int64
	resp := []byte(`{"success":true,"count":1,"pad":"` + strings.Repeat("x", respBytes) + `"}`)
	path := peertest.ServeUnix(t, func(c net.Conn) {
		fr := NewFrameReader(c, DefaultMaxFrameBytes)
		for {
			if _, err := fr.ReadFrame(); err != nil {
				return
			}
			frames.Add(1)
			if err := WriteFrame(c, resp); err != nil {
				return
			}
		}
	})
	return path, &frames
}

func TestFireAndForgetReadsResponses(t *testing.T) {
	ep, frames := chattyServer(t, 64<<10)
	// A generous drain: under the race detector, reading 128 MiB of responses can take
	// longer than the default second.
	s, err := NewChannelBasedSender(ep, 2, 8, WithDrainTimeout(20*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	const batches = 2000 // 2000 × 64 KiB of responses: far beyond any socket buffer
	payload := batchOf("tx")
	done := make(chan SenderReport, 1)
	go func() {
		for range batches {
			s.SendBatch(payload)
		}
		done <- closeSender(t, s)
	}()
	select {
	case r := <-done:
		if r.Sent != batches || r.Undelivered != 0 {
			t.Errorf("report %+v; want all sent", r)
		}
		if r.ResponsesOK != batches || frames.Load() != batches {
			t.Errorf("responses %d, server frames %d; want %d", r.ResponsesOK, frames.Load(), batches)
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("deadlock: fire-and-forget sender blocked against a responding server")
	}
}

// flakyServer acknowledges the first `answer` frames of every connection, then closes it
// without answering the rest. It records every acknowledged payload.
func flakyServer(t *testing.T, answer int) (string, *sync.Map) {
	t.Helper()
	var acked sync.Map
	ok, _ := EncodeResponse(OKResponse(1))
	path := peertest.ServeUnix(t, func(c net.Conn) {
		fr := NewFrameReader(c, DefaultMaxFrameBytes)
		for i := 0; i < answer; i++ {
			p, err := fr.ReadFrame()
			if err != nil {
				return
			}
			acked.Store(string(p), true)
			if WriteFrame(c, ok) != nil {
				return
			}
		}
	})
	return path, &acked
}

func TestAcknowledgedResendsOnBrokenConnection(t *testing.T) {
	ep, acked := flakyServer(t, 3)
	s, err := NewChannelBasedSender(ep, 3, 8, WithDelivery(Acknowledged), WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	const batches = 100
	for i := range batches {
		if err := s.SendBatch(batchOf(fmt.Sprint("batch-", i))); err != nil {
			t.Fatal(err)
		}
	}
	r := closeSender(t, s)
	if r.Acknowledged != batches || r.Undelivered != 0 {
		t.Fatalf("report %+v; want all %d acknowledged", r, batches)
	}
	for i := range batches {
		if _, ok := acked.Load(string(batchOf(fmt.Sprint("batch-", i)))); !ok {
			t.Errorf("batch %d never acknowledged by the server", i)
		}
	}
	if r.Sent <= batches || r.Errors[KindConnectionLost] == 0 {
		t.Errorf("sent %d, errors %v; want resends after lost connections", r.Sent, r.Errors)
	}
}

func TestSenderConnectsLazilyAndRetries(t *testing.T) {
	path := peertest.SocketPath(t)
	s, err := NewChannelBasedSender(path, 2, 4, WithBackoff(time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		s.SendBatch(batchOf(fmt.Sprint(i)))
	}
	time.Sleep(100 * time.Millisecond) // the receiver is not there yet
	srv, _, n := digestServer()
	startServer(t, srv, path)
	r := closeSender(t, s)
	if r.Undelivered != 0 || n.Load() != 5 {
		t.Errorf("report %+v, server got %d; want 5 delivered", r, n.Load())
	}
	if r.Errors[KindConnectFailed] == 0 {
		t.Errorf("errors %v; want ConnectFailed counted while the receiver was absent", r.Errors)
	}
}

func TestSenderCloseTimeoutReportsUndelivered(t *testing.T) {
	s, err := NewChannelBasedSender(peertest.SocketPath(t), 2, 10, WithBackoff(time.Millisecond, 10*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for range 7 {
		s.SendBatch(batchOf("x"))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	r, err := s.Close(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Close: %v; want DeadlineExceeded", err)
	}
	if r.Undelivered != 7 {
		t.Errorf("undelivered %d; want 7", r.Undelivered)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("Close took %v after its deadline", time.Since(start))
	}
	if err := s.SendBatch(batchOf("late")); !errors.Is(err, ErrSenderClosed) {
		t.Errorf("SendBatch after Close: %v; want ErrSenderClosed", err)
	}
}

func TestSenderRejectsOversizeBeforeQueueing(t *testing.T) {
	s, err := NewChannelBasedSender(peertest.SocketPath(t), 1, 1, WithMaxFrameBytes(10))
	if err != nil {
		t.Fatal(err)
	}
	err = s.SendBatch(bytes.Repeat([]byte{1}, 11))
	var e *FrameTooLargeError
	if !errors.As(err, &e) || e.Length != 11 || e.Max != 10 {
		t.Fatalf("SendBatch(11 bytes): %v; want FrameTooLarge 11 > 10", err)
	}
	if m := s.Metrics(); m.Batches != 0 || m.QueueLen != 0 {
		t.Errorf("metrics %+v; want nothing queued", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if r, _ := s.Close(ctx); r.Undelivered != 0 {
		t.Errorf("undelivered %d; want 0", r.Undelivered)
	}
}

func TestSenderAcknowledgedCountsRejections(t *testing.T) {
	srv := &Server{Submit: func(b Batch) (int, error) { return 0, errors.New("no") }}
	ep := startServer(t, srv, peertest.SocketPath(t))
	s, err := NewChannelBasedSender(ep, 1, 4, WithDelivery(Acknowledged))
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		s.SendBatch(batchOf("x"))
	}
	r := closeSender(t, s)
	if r.Acknowledged != 0 || r.Undelivered != 3 || r.Errors[KindRejected] != 3 || r.ResponsesError != 3 {
		t.Errorf("report %+v; want 3 rejected and undelivered", r)
	}
}

func TestSenderMetricsUtilisation(t *testing.T) {
	s, err := NewChannelBasedSender(peertest.SocketPath(t), 4, 10, WithBackoff(50*time.Millisecond, 50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for range 8 {
		s.SendBatch(batchOf("x"))
	}
	waitFor(t, func() bool { return s.Metrics().BusyWorkers == 4 })
	m := s.Metrics()
	if m.WorkerUtil != 1 || m.QueueLen != 4 || m.ChannelUtil != 0.4 {
		t.Errorf("metrics %+v; want 4/4 workers busy, 4/10 queued", m)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	s.Close(ctx)
}
