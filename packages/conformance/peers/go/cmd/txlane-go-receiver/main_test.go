package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	txlane "github.com/txlane/txlane/packages/conformance/peers/go"
	"github.com/txlane/txlane/packages/conformance/peers/go/internal/cmdtest"
)

func TestFlagErrorsExit2(t *testing.T) {
	tests := [][]string{
		{},
		{"receive"},
		{"--listen", "relative.sock"},
		{"--listen", "/tmp/x.sock", "--respond", "maybe"},
		{"--listen", "/tmp/x.sock", "--no-such-flag"},
		{"--listen", "/tmp/x.sock", "extra"},
		{"--listen", "/tmp/x.sock", "--handlers", "-1"},
		{"--listen", "/tmp/x.sock", "--max-frame-bytes", "0"},
	}
	cmdtest.UsageErrorsExit2(t, run, tests...)
}

func TestListenFailureExit1(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	os.WriteFile(f, []byte("x"), 0o600)
	if got := run([]string{"--listen", f}, io.Discard, io.Discard, nil); got != 1 {
		t.Errorf("listening on a regular file: exit %d; want 1", got)
	}
	if b, _ := os.ReadFile(f); string(b) != "x" {
		t.Errorf("the regular file was modified")
	}
}

// TestReadyExpectAndReport runs the receiver in-process: ready line with the real TCP
// port, --expect-transactions shutdown, --record, and one report line.
func TestReadyExpectAndReport(t *testing.T) {
	rec := filepath.Join(t.TempDir(), "rec")
	pr, pw := io.Pipe()
	exit := make(chan int, 1)
	go func() {
		exit <- run([]string{"receive", "--listen", "tcp://127.0.0.1:0", "--expect-transactions", "30", "--record", rec}, pw, io.Discard, nil)
		pw.Close()
	}()
	lines := bufio.NewScanner(pr)
	if !lines.Scan() {
		t.Fatalf("no ready line")
	}
	var ready map[string]string
	if err := json.Unmarshal(lines.Bytes(), &ready); err != nil || ready["event"] != "listening" || !strings.HasPrefix(ready["endpoint"], "tcp://127.0.0.1:") || strings.HasSuffix(ready["endpoint"], ":0") {
		t.Fatalf("ready line %q; want the bound tcp endpoint", lines.Text())
	}
	if !strings.HasPrefix(lines.Text(), `{"event":"listening","endpoint":`) {
		t.Errorf("ready line %q; want event first", lines.Text())
	}
	s, err := txlane.NewChannelBasedSender(ready["endpoint"], 2, 4, txlane.WithDelivery(txlane.Acknowledged))
	if err != nil {
		t.Fatal(err)
	}
	w := txlane.NewWorkload(1, 650)
	var want txlane.Digest
	for range 3 {
		b := w.NextBatch(10)
		txs, _ := txlane.DecodeTransactions(b)
		for _, tx := range txs {
			want.Add(tx)
		}
		s.SendBatch(b)
	}
	go s.Close(context.Background())
	if !lines.Scan() {
		t.Fatalf("no report line")
	}
	var rep txlane.PeerReport
	if err := json.Unmarshal(lines.Bytes(), &rep); err != nil {
		t.Fatalf("report %q: %v", lines.Text(), err)
	}
	if rep.Event != "report" || rep.Role != "receiver" || rep.Impl != "go" || rep.Frames != 3 || rep.Transactions != 30 || rep.Digest != want.String() || rep.Responses.OK != 3 {
		t.Errorf("report %+v; want 3 frames, 30 txs, digest %s", rep, want)
	}
	if lines.Scan() {
		t.Errorf("extra stdout line %q", lines.Text())
	}
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("exit %d; want 0", code)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("receiver did not exit")
	}
	recorded, _ := os.ReadFile(rec)
	fr := txlane.NewFrameReader(strings.NewReader(string(recorded)), txlane.DefaultMaxFrameBytes)
	n := 0
	for {
		if _, err := fr.ReadFrame(); err != nil {
			break
		}
		n++
	}
	if n != 3 {
		t.Errorf("recorded %d frames; want 3", n)
	}
}
