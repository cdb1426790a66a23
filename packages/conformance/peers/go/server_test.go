package txlane

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peertest"
)

// startServer serves srv on endpoint and returns the dialable endpoint; the server is
// shut down (and must end with ErrServerClosed) when the test ends.
func startServer(t *testing.T, srv *Server, endpoint string) string {
	t.Helper()
	l, err := srv.Listen(endpoint)
	if err != nil {
		t.Fatalf("Listen(%s): %v", endpoint, err)
	}
	if ep, _ := ParseEndpoint(endpoint); ep.Network == "tcp" {
		endpoint = "tcp://" + l.Addr().String()
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		select {
		case err := <-served:
			if !errors.Is(err, ErrServerClosed) {
				t.Errorf("Serve: got %v; want ErrServerClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Errorf("Serve did not return after Shutdown")
		}
	})
	return endpoint
}

func dial(t *testing.T, endpoint string) net.Conn {
	t.Helper()
	ep, err := ParseEndpoint(endpoint)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.DialTimeout(ep.Network, ep.Address, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", endpoint, err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(10 * time.Second))
	return c
}

func readResponse(t *testing.T, fr *FrameReader) Response {
	t.Helper()
	p, err := fr.ReadFrame()
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	r, err := DecodeResponse(p)
	if err != nil {
		t.Fatalf("decode response %q: %v", p, err)
	}
	return r
}

func batchOf(txs ...string) []byte {
	b := make([][]byte, len(txs))
	for i, s := range txs {
		b[i] = []byte(s)
	}
	return EncodeTransactions(b)
}

func TestServerOversizeOverTCPThenClose(t *testing.T) {
	srv := &Server{MaxFrameBytes: 8}
	ep := startServer(t, srv, "tcp://127.0.0.1:0")
	c := dial(t, ep)
	var in bytes.Buffer
	WriteFrame(&in, batchOf("a"))
	in.Write([]byte{0, 0, 0, 9})
	in.Write(bytes.Repeat([]byte{0, 0, 0, 1, 'x'}, 1000)) // never to be read as frames
	go c.Write(in.Bytes())
	fr := NewFrameReader(c, DefaultMaxFrameBytes)
	if r := readResponse(t, fr); !r.Success || *r.Count != 1 {
		t.Fatalf("first response %+v; want success count 1", r)
	}
	r := readResponse(t, fr)
	if r.Success || r.Error == nil || *r.Error != "Transaction too large: 9 bytes (max: 8)" {
		t.Fatalf("second response %+v; want the too-large error", r)
	}
	if p, err := fr.ReadFrame(); err == nil {
		t.Fatalf("got extra response %q; want the connection closed", p)
	}
	waitFor(t, func() bool { return srv.Stats().Errors[KindFrameTooLarge] == 1 })
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServerSubmitFailureAndRecord(t *testing.T) {
	rec, err := os.OpenFile(filepath.Join(t.TempDir(), "rec"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer rec.Close()
	srv := &Server{
		RecordFile: rec,
		Submit: func(b Batch) (int, error) {
			if string(b.Transactions[0]) == "bad" {
				return 0, errors.New("node not ready")
			}
			if string(b.Transactions[0]) == "panic" {
				panic("boom")
			}
			return len(b.Transactions), nil
		},
	}
	ep := startServer(t, srv, peertest.SocketPath(t))
	c := dial(t, ep)
	fr := NewFrameReader(c, DefaultMaxFrameBytes)
	tests := []struct {
		payload []byte
		want    string
	}{
		{batchOf("ok", "ok2"), `{"success":true,"count":2}`},
		{batchOf("bad"), `{"success":false,"error":"Transaction submission failed: node not ready"}`},
		{batchOf("panic"), `{"success":false,"error":"Transaction submission failed: panic: boom"}`},
		{nil, `{"success":false,"error":"Empty Transactions message"}`},
		{[]byte{0x08, 0x01}, `{"success":false,"error":"Invalid Transactions protobuf: field 1 has wire type 0, want 2"}`},
	}
	for _, tt := range tests {
		if err := WriteFrame(c, tt.payload); err != nil {
			t.Fatal(err)
		}
		p, err := fr.ReadFrame()
		if err != nil || string(p) != tt.want {
			t.Errorf("response to %x = %s, %v; want %s", tt.payload, p, err, tt.want)
		}
	}
	// Every submitted frame was recorded (one length-prefixed frame per write), the
	// empty and malformed ones were not.
	got, _ := os.ReadFile(rec.Name())
	rfr := NewFrameReader(bytes.NewReader(got), DefaultMaxFrameBytes)
	var recorded [][]byte
	for {
		p, err := rfr.ReadFrame()
		if err != nil {
			break
		}
		recorded = append(recorded, p)
	}
	if len(recorded) != 3 || !bytes.Equal(recorded[0], tests[0].payload) {
		t.Errorf("recorded %d frames (%x); want the 3 well-formed ones", len(recorded), got)
	}
	st := srv.Stats()
	if st.Frames != 1 || st.Transactions != 2 || st.ResponsesOK != 1 || st.ResponsesError != 4 {
		t.Errorf("stats %+v; want 1 frame, 2 txs, 1 ok, 4 errors", st)
	}
}

func TestServerRespondNoneRaw(t *testing.T) {
	var got atomic.Int64
	srv := &Server{Respond: RespondNone, Raw: true, Submit: func(b Batch) (int, error) {
		if b.Transactions != nil {
			t.Errorf("raw mode decoded the envelope")
		}
		got.Add(1)
		return 1, nil
	}}
	ep := startServer(t, srv, peertest.SocketPath(t))
	c := dial(t, ep)
	for i := 0; i < 10; i++ {
		WriteFrame(c, []byte{0xff, 0xfe}) // not an envelope: raw mode does not care
	}
	WriteFrame(c, nil)
	c.(*net.UnixConn).CloseWrite()
	if n, err := io.Copy(io.Discard, c); n != 0 || err != nil {
		t.Fatalf("read %d bytes, %v; want EOF with no responses", n, err)
	}
	if got.Load() != 10 {
		t.Errorf("submitted %d; want 10", got.Load())
	}
	if e := srv.Stats().Errors[KindEmptyFrame]; e != 1 {
		t.Errorf("EmptyFrame = %d; want 1", e)
	}
}

// TestServerBackpressure: with one handler blocked, a fast writer must be stopped by
// the bounded channel and per-connection window instead of buffering without limit.
func TestServerBackpressure(t *testing.T) {
	release := make(chan struct{})
	var submitted atomic.Int64
	srv := &Server{Handlers: 1, QueueFrames: 1, MaxInFlightPerConn: 2, Submit: func(b Batch) (int, error) {
		submitted.Add(1)
		<-release
		return len(b.Transactions), nil
	}}
	ep := startServer(t, srv, peertest.SocketPath(t))
	c := dial(t, ep)
	frame := AppendFrame(nil, batchOf(string(bytes.Repeat([]byte("x"), 1000))))
	wrote := make(chan int, 1)
	go func() {
		n := 0
		c.SetWriteDeadline(time.Now().Add(500 * time.Millisecond))
		for i := 0; i < 100000; i++ {
			if _, err := c.Write(frame); err != nil {
				break
			}
			n++
		}
		wrote <- n
	}()
	n := <-wrote
	if n >= 100000 {
		t.Fatalf("wrote %d frames without blocking; want backpressure", n)
	}
	if s := submitted.Load(); s != 1 {
		t.Errorf("submitted %d; want 1 (the handler is blocked)", s)
	}
	close(release)
	t.Logf("writer blocked after %d frames", n)
}

func TestServerFrameTimeout(t *testing.T) {
	srv := &Server{FrameTimeout: 100 * time.Millisecond}
	ep := startServer(t, srv, peertest.SocketPath(t))
	idle := dial(t, ep)
	stalled := dial(t, ep)
	stalled.Write([]byte{0, 0, 0, 9, 1}) // a frame that never finishes
	if _, err := stalled.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Fatalf("stalled connection: got %v; want closed (EOF)", err)
	}
	// An idle connection between frames is not stalled.
	time.Sleep(200 * time.Millisecond)
	WriteFrame(idle, batchOf("a"))
	if r := readResponse(t, NewFrameReader(idle, DefaultMaxFrameBytes)); !r.Success {
		t.Fatalf("idle connection: %+v; want served", r)
	}
	if e := srv.Stats().Errors[KindFrameTimeout]; e != 1 {
		t.Errorf("FrameTimeout = %d; want 1", e)
	}
}

// TestServerShutdownFlushes: frames decoded before Shutdown are answered, then the
// connection is closed and the socket file removed.
func TestServerShutdownFlushes(t *testing.T) {
	release := make(chan struct{})
	srv := &Server{Submit: func(b Batch) (int, error) {
		<-release
		return len(b.Transactions), nil
	}}
	path := peertest.SocketPath(t)
	l, err := srv.Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	c := dial(t, path)
	for i := 0; i < 3; i++ {
		WriteFrame(c, batchOf("a"))
	}
	waitFor(t, func() bool { return srv.Stats().OpenConnections == 1 })
	time.Sleep(50 * time.Millisecond) // let the reader decode the three frames
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		shut <- srv.Shutdown(ctx)
	}()
	time.Sleep(50 * time.Millisecond)
	close(release)
	if err := <-shut; err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-served; !errors.Is(err, ErrServerClosed) {
		t.Fatalf("Serve: %v; want ErrServerClosed", err)
	}
	fr := NewFrameReader(c, DefaultMaxFrameBytes)
	for i := 0; i < 3; i++ {
		if r := readResponse(t, fr); !r.Success {
			t.Fatalf("response %d: %+v", i, r)
		}
	}
	if _, err := fr.ReadFrame(); !errors.Is(err, io.EOF) {
		t.Errorf("after the responses: %v; want EOF", err)
	}
	if _, err := os.Lstat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after shutdown: %v; want removed", err)
	}
	if err := srv.Serve(l); !errors.Is(err, ErrServerClosed) {
		t.Errorf("Serve after Shutdown: %v; want ErrServerClosed", err)
	}
}

func TestServerCloseIsImmediate(t *testing.T) {
	srv := &Server{Submit: func(b Batch) (int, error) { select {} }}
	ep := startServer(t, srv, peertest.SocketPath(t))
	c := dial(t, ep)
	WriteFrame(c, batchOf("a"))
	waitFor(t, func() bool { return srv.Stats().OpenConnections == 1 })
	srv.Close()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatalf("read after Close succeeded; want the connection closed")
	}
}

// TestServerIsolation: bad input on one connection does not disturb another.
func TestServerIsolation(t *testing.T) {
	srv := &Server{MaxFrameBytes: 100}
	ep := startServer(t, srv, peertest.SocketPath(t))
	good := dial(t, ep)
	gfr := NewFrameReader(good, DefaultMaxFrameBytes)
	var wg sync.WaitGroup
	for i := 0; i < 5; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			bad := dial(t, ep)
			bad.Write([]byte{0, 0, 1, 0})
			io.Copy(io.Discard, bad)
		}()
	}
	for i := 0; i < 20; i++ {
		WriteFrame(good, batchOf("a", "b"))
		if r := readResponse(t, gfr); !r.Success || *r.Count != 2 {
			t.Fatalf("good connection response %d: %+v", i, r)
		}
	}
	wg.Wait()
}
