package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	txlane "github.com/txlane/txlane/packages/conformance/peers/go"
	"github.com/txlane/txlane/packages/conformance/peers/go/internal/cmdtest"
	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peertest"
)

func TestFlagErrorsExit2(t *testing.T) {
	tests := [][]string{
		{},
		{"send"},
		{"--endpoint", "nowhere"},
		{"--endpoint", "/tmp/x.sock", "--delivery", "maybe"},
		{"--endpoint", "/tmp/x.sock", "--workers", "0"},
		{"--endpoint", "/tmp/x.sock", "--seed", "-1"},
		{"--endpoint", "/tmp/x.sock", "--bogus"},
	}
	cmdtest.UsageErrorsExit2(t, run, tests...)
}

func TestSendReport(t *testing.T) {
	for _, delivery := range []string{"fire-and-forget", "acknowledged"} {
		t.Run(delivery, func(t *testing.T) {
			path, digest := cmdtest.DigestServer(t)

			var out bytes.Buffer
			code := run([]string{"send", "--endpoint", "unix:" + path, "--delivery", delivery, "--batches", "40", "--tx-per-batch", "5", "--seed", "3", "--workers", "3", "--timeout-ms", "20000"}, &out, io.Discard, nil)
			if code != 0 {
				t.Fatalf("exit %d; want 0 (stdout %q)", code, out.String())
			}
			if strings.Count(out.String(), "\n") != 1 {
				t.Fatalf("stdout %q; want exactly one line", out.String())
			}
			var rep txlane.PeerReport
			if err := json.Unmarshal(out.Bytes(), &rep); err != nil {
				t.Fatal(err)
			}
			if rep.Role != "sender" || rep.Frames != 40 || rep.Transactions != 200 || rep.Undelivered != 0 || rep.Digest != digest.Load().String() {
				t.Errorf("report %+v; want 40 frames, 200 txs, receiver digest %s", rep, digest.Load())
			}
			if delivery == "acknowledged" && rep.Acknowledged != 40 {
				t.Errorf("acknowledged %d; want 40", rep.Acknowledged)
			}
		})
	}
}

func TestTimeoutExit1(t *testing.T) {
	dir := peertest.SocketDir(t)
	// A listener that never accepts: connects may succeed into the backlog, but nothing
	// is acknowledged.
	l, err := net.Listen("unix", filepath.Join(dir, "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out bytes.Buffer
	start := time.Now()
	code := run([]string{"--endpoint", filepath.Join(dir, "s.sock"), "--delivery", "acknowledged", "--batches", "5", "--timeout-ms", "300"}, &out, io.Discard, nil)
	if code != 1 {
		t.Errorf("exit %d; want 1", code)
	}
	var rep txlane.PeerReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Undelivered != 5 {
		t.Errorf("report %q (%v); want 5 undelivered", out.String(), err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v; want about the 300 ms timeout", time.Since(start))
	}
}
