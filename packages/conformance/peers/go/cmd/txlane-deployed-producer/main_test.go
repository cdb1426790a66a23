package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os/exec"
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
		{"--endpoint", "/tmp/x.sock", "--delivery", "fire-and-forget"},
		{"--endpoint", "/tmp/x.sock", "--delivery", "maybe"},
		{"--endpoint", "/tmp/x.sock", "--workers", "0"},
		{"--endpoint", "/tmp/x.sock", "--queue", "0"},
		{"--endpoint", "/tmp/x.sock", "--seed", "-1"},
		{"--endpoint", "/tmp/x.sock", "--retry-interval-ms", "0"},
		{"--endpoint", "/tmp/x.sock", "--answer-deadline-ms", "0"},
		{"--endpoint", "/tmp/x.sock", "--not-ready-retries", "-1"},
		{"--endpoint", "/tmp/x.sock", "--max-frame-bytes", "0"},
		{"--endpoint", "/tmp/x.sock", "--bogus"},
		{"--endpoint", "/tmp/x.sock", "extra"},
	}
	cmdtest.UsageErrorsExit2(t, run, tests...)
}

func TestSendReport(t *testing.T) {
	path, digest := cmdtest.DigestServer(t)
	var out bytes.Buffer
	code := run([]string{"send", "--endpoint", "unix:" + path, "--delivery", "acknowledged", "--batches", "40", "--tx-per-batch", "5", "--seed", "3", "--workers", "3", "--timeout-ms", "20000"}, &out, io.Discard, nil)
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
	if rep.Event != "report" || rep.Role != "sender" || rep.Impl != "deployed-producer" {
		t.Errorf("report %+v; want a deployed-producer sender report", rep)
	}
	if rep.Frames != 40 || rep.Transactions != 200 || rep.Acknowledged != 40 || rep.Undelivered != 0 ||
		rep.Responses.OK != 40 || rep.Responses.Error != 0 || rep.Digest != digest.Load().String() {
		t.Errorf("report %+v; want 40 frames and acknowledgements, 200 txs, receiver digest %s", rep, digest.Load())
	}
}

func TestStalledExit1(t *testing.T) {
	dir := peertest.SocketDir(t)
	// A listener that never accepts: connects succeed into the backlog, nothing answers.
	l, err := net.Listen("unix", filepath.Join(dir, "s.sock"))
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	var out bytes.Buffer
	start := time.Now()
	code := run([]string{"--endpoint", filepath.Join(dir, "s.sock"), "--batches", "5", "--timeout-ms", "300"}, &out, io.Discard, nil)
	if code != 1 {
		t.Errorf("exit %d; want 1", code)
	}
	var rep txlane.PeerReport
	if err := json.Unmarshal(out.Bytes(), &rep); err != nil || rep.Undelivered != 5 || rep.Acknowledged != 0 {
		t.Errorf("report %q (%v); want 5 undelivered", out.String(), err)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("took %v; want about the 300 ms timeout", time.Since(start))
	}
}

// TestBuiltCommand builds the command and runs it as the harness does: a report line on
// stdout, exit 0 when everything was acknowledged, 1 when not, 2 on a bad command line.
func TestBuiltCommand(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "txlane-deployed-producer")
	peertest.GoBuild(t, bin, ".")
	path, digest := cmdtest.DigestServer(t)
	silent := filepath.Join(filepath.Dir(path), "silent.sock")
	l, err := net.Listen("unix", silent)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()

	tests := []struct {
		name  string
		args  []string
		code  int
		check func(rep txlane.PeerReport) bool
	}{
		{"delivered", []string{"send", "--endpoint", path, "--batches", "20", "--tx-per-batch", "4", "--workers", "2"}, 0,
			func(rep txlane.PeerReport) bool {
				return rep.Impl == "deployed-producer" && rep.Frames == 20 && rep.Acknowledged == 20 && rep.Digest == digest.Load().String()
			}},
		{"stalled", []string{"send", "--endpoint", silent, "--batches", "3", "--timeout-ms", "300"}, 1,
			func(rep txlane.PeerReport) bool { return rep.Undelivered == 3 }},
		{"fire-and-forget refused", []string{"send", "--endpoint", path, "--delivery", "fire-and-forget"}, 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(bin, tt.args...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			code := 0
			var exit *exec.ExitError
			if errors.As(err, &exit) {
				code = exit.ExitCode()
			} else if err != nil {
				t.Fatal(err)
			}
			if code != tt.code {
				t.Fatalf("exit %d; want %d (stderr %s)", code, tt.code, stderr.String())
			}
			if tt.check == nil {
				if stdout.Len() != 0 || !strings.Contains(stderr.String(), "only acknowledged") {
					t.Errorf("stdout %q, stderr %q; want nothing on stdout and the reason on stderr", stdout.String(), stderr.String())
				}
				return
			}
			var rep txlane.PeerReport
			if strings.Count(stdout.String(), "\n") != 1 {
				t.Fatalf("stdout %q; want exactly one line", stdout.String())
			}
			if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil || !tt.check(rep) {
				t.Errorf("report %q (%v)", stdout.String(), err)
			}
		})
	}
}
