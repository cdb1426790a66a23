package txlane

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// rustEmulator starts the Rust deployed-server emulator on a fresh socket, or skips the
// test when it is not built: the Go peer never depends on Rust (the scripted-server tests
// cover the same behaviour in pure Go). Build it with `cargo build --release` in
// ../rust. It returns the socket path and a function that stops the emulator and returns
// its report line.
func rustEmulator(t *testing.T, flags ...string) (string, func() map[string]any) {
	t.Helper()
	var bin string
	for _, profile := range []string{"release", "debug"} {
		p := filepath.Join("..", "rust", "target", profile, "txlane-deployed-server")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("the Rust deployed-server emulator is not built (cd ../rust && cargo build --release); the scripted-server tests cover this in pure Go")
	}
	path := shortSocketPath(t)
	cmd := exec.Command(bin, append([]string{"receive", "--listen", path}, flags...)...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	lines := bufio.NewScanner(out)
	next := func() map[string]any {
		got := make(chan map[string]any, 1)
		go func() {
			var v map[string]any
			if lines.Scan() {
				json.Unmarshal(lines.Bytes(), &v)
			}
			got <- v
		}()
		select {
		case v := <-got:
			return v
		case <-time.After(20 * time.Second):
			t.Fatal("no line from the emulator in time")
			return nil
		}
	}
	if ready := next(); ready["event"] != "listening" {
		t.Fatalf("emulator ready line %v", ready)
	}
	return path, func() map[string]any {
		cmd.Process.Signal(syscall.SIGTERM)
		r := next()
		if r["event"] != "report" {
			t.Fatalf("emulator report %v", r)
		}
		return r
	}
}

func TestSenderRustEmulatorOversizeIsOutOfStep(t *testing.T) {
	for _, mode := range []Delivery{Acknowledged, FireAndForget} {
		t.Run(mode.String(), func(t *testing.T) {
			ep, stop := rustEmulator(t, "--max-frame-bytes", "20000")
			w := NewWorkload(4, 650)
			big := w.NextBatch(40)
			rest, want := workloadBatches(9, 10, 10)
			r, delivered := sendTo(t, ep, mode, 1, append([][]byte{big}, rest...))
			got := stop()
			if r.Errors[KindRejected] != 1 || r.Errors[KindOutOfStep] < 1 || r.Acknowledged != 10 || r.Undelivered != 1 {
				t.Errorf("report %+v; want 1 rejected, out of step, 10 acknowledged, 1 undelivered", r)
			}
			if got["digest"] != want.String() || delivered != want || got["frames"] != 10.0 {
				t.Errorf("emulator %v; sender delivered %v; want 10 frames, digest %v", got, delivered, want)
			}
			if errs, _ := got["errors"].(map[string]any); errs["FrameTooLarge"] == nil {
				t.Errorf("emulator errors %v; want FrameTooLarge", errs)
			}
		})
	}
}

func TestSenderRustEmulatorPhases(t *testing.T) {
	for _, mode := range []Delivery{Acknowledged, FireAndForget} {
		t.Run(mode.String(), func(t *testing.T) {
			ep, stop := rustEmulator(t, "--not-ready", "5", "--not-ready-close", "5", "--queued", "3")
			payloads, want := workloadBatches(2, 60, 10)
			r, delivered := sendTo(t, ep, mode, 3, payloads)
			got := stop()
			if r.Undelivered != 0 || r.Acknowledged != 60 || r.Errors[KindNotReady] != 10 {
				t.Errorf("report %+v; want 60 acknowledged, 10 not ready, 0 undelivered", r)
			}
			if got["digest"] != want.String() || delivered != want || got["frames"] != 60.0 {
				t.Errorf("emulator %v; sender delivered %v; want 60 frames, digest %v", got, delivered, want)
			}
		})
	}
}
