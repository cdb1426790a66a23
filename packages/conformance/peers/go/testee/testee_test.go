package testee

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	txlane "github.com/txlane/txlane/packages/conformance/peers/go"
	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peertest"
)

func acceptAll(context.Context, [][]byte) error { return nil }

func TestRunUsageErrors(t *testing.T) {
	peer := Peer{Name: "acme", Dial: DialFrames, Submit: acceptAll}
	tests := []struct {
		name string
		peer Peer
		args []string
		want string
	}{
		{"no role", peer, nil, "usage"},
		{"unknown role", peer, []string{"serve"}, "must be receive or send"},
		{"send without endpoint", peer, []string{"send"}, "--endpoint is required"},
		{"bad endpoint", peer, []string{"send", "--endpoint", "relative.sock"}, "--endpoint"},
		{"unknown flag", peer, []string{"send", "--endpoint", "/tmp/x.sock", "--colour", "red"}, "colour"},
		{"bad delivery", peer, []string{"send", "--endpoint", "/tmp/x.sock", "--delivery", "maybe"}, "--delivery"},
		{"bad respond", peer, []string{"receive", "--listen", "/tmp/x.sock", "--respond", "maybe"}, "--respond"},
		{"no receiver", Peer{Name: "acme", Dial: DialFrames}, []string{"receive", "--listen", "/tmp/x.sock"}, "no receiver"},
		{"no sender", Peer{Name: "acme", Submit: acceptAll}, []string{"send", "--endpoint", "/tmp/x.sock"}, "no sender"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			if got := Run(tt.peer, tt.args, &stdout, &stderr); got != 2 {
				t.Fatalf("exit code %d; want 2 (stderr: %s)", got, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout %q; want nothing", stdout.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q; want it to mention %q", stderr.String(), tt.want)
			}
		})
	}
}

type report struct {
	Event, Role, Impl, Digest string
	Frames, Transactions      int64
	Acknowledged, Undelivered int64
	Responses                 txlane.ResponseCounts
	Errors                    map[string]int64
}

// TestSendReceive runs the kit's receiver (a counting Submit; --respond json for the
// acknowledged sender, none for fire-and-forget) and the kit's sender with DialFrames, and
// checks both report lines, --expect-transactions and --record.
func TestSendReceive(t *testing.T) {
	for _, delivery := range []string{"acknowledged", "fire-and-forget"} {
		t.Run(delivery, func(t *testing.T) {
			dir := peertest.SocketDir(t)
			sock := filepath.Join(dir, "r.sock")
			record := filepath.Join(dir, "record.bin")
			var submitted atomic.Int64
			receiver := Peer{Name: "acme", Submit: func(_ context.Context, txs [][]byte) error {
				submitted.Add(int64(len(txs)))
				return nil
			}}
			respond := "json"
			if delivery == "fire-and-forget" {
				respond = "none"
			}
			outR, outW := io.Pipe()
			done := make(chan int, 1)
			go func() {
				done <- Run(receiver, []string{"receive", "--listen", sock, "--respond", respond,
					"--record", record, "--expect-transactions", "200"}, outW, io.Discard)
				outW.Close()
			}()
			lines := bufio.NewScanner(outR)
			if !lines.Scan() || !strings.Contains(lines.Text(), `"event":"listening"`) {
				t.Fatalf("no ready line: %q", lines.Text())
			}
			var sendOut bytes.Buffer
			code := Run(Peer{Name: "acme", Dial: DialFrames}, []string{"send", "--endpoint", sock,
				"--delivery", delivery, "--batches", "20", "--tx-per-batch", "10", "--tx-size", "300",
				"--seed", "7", "--timeout-ms", "20000"}, &sendOut, io.Discard)
			if code != 0 {
				t.Fatalf("sender exit %d: %s", code, sendOut.String())
			}
			var sent report
			if err := json.Unmarshal(sendOut.Bytes(), &sent); err != nil {
				t.Fatal(err)
			}
			if !lines.Scan() {
				t.Fatal("no receiver report")
			}
			var got report
			if err := json.Unmarshal(lines.Bytes(), &got); err != nil {
				t.Fatal(err)
			}
			select {
			case c := <-done:
				if c != 0 {
					t.Fatalf("receiver exit %d", c)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("receiver did not stop at --expect-transactions")
			}
			want := txlane.NewWorkload(7, 300)
			var digest txlane.Digest
			for i := 0; i < 200; i++ {
				digest.Add(want.NextTransaction())
			}
			if sent.Digest != digest.String() || got.Digest != digest.String() {
				t.Errorf("digests: sender %s, receiver %s; want %s", sent.Digest, got.Digest, digest)
			}
			if sent.Impl != "acme" || got.Impl != "acme" || sent.Role != "sender" || got.Role != "receiver" {
				t.Errorf("impl/role: %+v %+v", sent, got)
			}
			if got.Transactions != 200 || submitted.Load() != 200 || sent.Undelivered != 0 {
				t.Errorf("receiver %d tx, submitted %d, sender undelivered %d; want 200, 200, 0",
					got.Transactions, submitted.Load(), sent.Undelivered)
			}
			wantAck := int64(20)
			if delivery == "fire-and-forget" {
				wantAck = 0 // a silent receiver: delivered when written
			}
			if sent.Acknowledged != wantAck || sent.Responses.OK != wantAck {
				t.Errorf("acknowledged %d, responses.ok %d; want %d", sent.Acknowledged, sent.Responses.OK, wantAck)
			}
			data, err := os.ReadFile(record)
			if err != nil {
				t.Fatal(err)
			}
			frames := 0
			for r := bytes.NewReader(data); r.Len() > 0; frames++ {
				if _, err := txlane.ReadFrame(r, txlane.DefaultMaxFrameBytes); err != nil {
					t.Fatal(err)
				}
			}
			if frames != 20 {
				t.Errorf("--record holds %d frames; want 20", frames)
			}
		})
	}
}

func TestAnswer(t *testing.T) {
	tests := []struct {
		answer string
		ok     bool
		err    error
	}{
		{`{"success":true,"count":3}`, true, nil},
		{`{"success":true,"queued":true}`, true, nil},
		{`{"success":false,"error":"Node not ready to accept transactions: syncing"}`, false, ErrNotReady},
		{`{"success":false,"error":"Transaction submission failed: full"}`, false, ErrRejected},
		{`not json`, false, ErrRejected},
	}
	for _, tt := range tests {
		ok, err := Answer([]byte(tt.answer))
		if ok != tt.ok || !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
			t.Errorf("Answer(%s) = %v, %v; want %v, %v", tt.answer, ok, err, tt.ok, tt.err)
		}
	}
}

// fakeConn answers every Send with answered and records whether SendOptions.ReceiverSilent
// reported the receiver silent at each call.
type fakeConn struct {
	answered bool
	opts     SendOptions
	seen     *[]bool
}

func (c *fakeConn) Send(context.Context, []byte) (bool, error) {
	*c.seen = append(*c.seen, c.opts.ReceiverSilent())
	return c.answered, nil
}

func (c *fakeConn) Close() error { return nil }

// TestSendSharesSilence: the kit's sender loop reports, through SendOptions.ReceiverSilent,
// that a Send returned (false, nil), to every later Send; an answered Send never does.
func TestSendSharesSilence(t *testing.T) {
	for _, answered := range []bool{false, true} {
		t.Run(fmt.Sprint("answered=", answered), func(t *testing.T) {
			var seen []bool // one worker: Sends are sequential
			dial := func(_ context.Context, _ txlane.Endpoint, opts SendOptions) (Conn, error) {
				if opts.ReceiverSilent == nil {
					t.Error("SendOptions.ReceiverSilent is nil")
					opts.ReceiverSilent = func() bool { return false }
				}
				return &fakeConn{answered: answered, opts: opts, seen: &seen}, nil
			}
			var stdout, stderr bytes.Buffer
			if code := Run(Peer{Name: "acme", Dial: dial}, []string{"send", "--endpoint", "/tmp/unused.sock",
				"--workers", "1", "--batches", "3", "--tx-per-batch", "2"}, &stdout, &stderr); code != 0 {
				t.Fatalf("exit %d: %s %s", code, stdout.String(), stderr.String())
			}
			want := []bool{false, !answered, !answered}
			if fmt.Sprint(seen) != fmt.Sprint(want) {
				t.Errorf("ReceiverSilent at each Send: %v; want %v", seen, want)
			}
		})
	}
}
