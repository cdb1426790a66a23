package txlane

// The shared receiver vectors (SPEC §10): what a Server in json mode writes back for each
// request stream, over a real socket.

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peertest"
)

type receiverVector struct {
	Input         string           `json:"input"`
	MaxFrameBytes *int             `json:"maxFrameBytes"`
	Responses     []map[string]any `json:"responses"`
	Closes        bool             `json:"closes"`
}

func runReceiverVector(t *testing.T, raw json.RawMessage) {
	var v receiverVector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("parse: %v", err)
	}
	input := mustHex(t, v.Input)
	srv := &Server{Handlers: 2}
	if v.MaxFrameBytes != nil {
		srv.MaxFrameBytes = *v.MaxFrameBytes
	}
	path := peertest.SocketPath(t)
	l, err := srv.Listen(path)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: got %v; want ErrServerClosed", err)
		}
	}()

	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	// Write from another goroutine: a receiver that closes early may leave the write
	// failing, which is not what is being tested.
	go c.Write(input)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	fr := NewFrameReader(c, DefaultMaxFrameBytes)
	for i, want := range v.Responses {
		payload, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("response %d: %v; want %v", i, err, want)
		}
		r, err := DecodeResponse(payload)
		if err != nil {
			t.Fatalf("response %d %q: %v", i, payload, err)
		}
		got, _ := r.AsMap()
		if !responseMatches(got, want) {
			t.Errorf("response %d: got %v; want %v", i, got, want)
		}
	}
	// Then: closed (EOF or reset) or still open (a short read times out)?
	wait := 300 * time.Millisecond
	if v.Closes {
		wait = 5 * time.Second
	}
	c.SetReadDeadline(time.Now().Add(wait))
	extra, err := fr.ReadFrame()
	switch {
	case err == nil:
		t.Errorf("unexpected extra response %q", extra)
	case errors.Is(err, os.ErrDeadlineExceeded):
		if v.Closes {
			t.Errorf("connection still open; want closed")
		}
	default: // EOF or connection reset: closed
		if !v.Closes {
			t.Errorf("connection closed (%v); want open", err)
		}
	}
}

// responseMatches compares a response with a vector's: an `error` ending in "…" is a
// prefix.
func responseMatches(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			return false
		}
		if ws, isStr := w.(string); isStr && k == "error" && strings.HasSuffix(ws, "…") {
			gs, ok := g.(string)
			if !ok || !strings.HasPrefix(gs, strings.TrimSuffix(ws, "…")) {
				return false
			}
			continue
		}
		if !reflect.DeepEqual(g, w) {
			return false
		}
	}
	return true
}
