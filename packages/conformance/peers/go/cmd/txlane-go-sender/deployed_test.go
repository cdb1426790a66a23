package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

// emulator starts the Rust deployed-server emulator, or skips when it is not built (the
// Go peer never depends on Rust; the library's scripted-server tests cover the same
// behaviour in pure Go). It returns the socket path and a stop function returning the
// emulator's report line.
func emulator(t *testing.T, flags ...string) (string, func() map[string]any) {
	t.Helper()
	var bin string
	for _, profile := range []string{"release", "debug"} {
		p := filepath.Join("..", "..", "..", "rust", "target", profile, "txlane-deployed-server")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("the Rust deployed-server emulator is not built (cd ../rust && cargo build --release); the library's scripted-server tests cover this in pure Go")
	}
	dir, err := os.MkdirTemp("/tmp", "txg")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "d.sock")
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
		var v map[string]any
		if lines.Scan() {
			json.Unmarshal(lines.Bytes(), &v)
		}
		return v
	}
	if ready := next(); ready["event"] != "listening" {
		t.Fatalf("emulator ready line %v", ready)
	}
	return path, func() map[string]any {
		cmd.Process.Signal(syscall.SIGTERM)
		return next()
	}
}

func sendCLI(t *testing.T, args ...string) (int, map[string]any) {
	t.Helper()
	var stdout bytes.Buffer
	args = append([]string{"send", "--timeout-ms", "15000", "--transient-retry-ms", "5"}, args...)
	code := run(args, &stdout, io.Discard, nil)
	var rep map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report line %q: %v", stdout.String(), err)
	}
	return code, rep
}

func errorCount(rep map[string]any, kind string) float64 {
	errs, _ := rep["errors"].(map[string]any)
	n, _ := errs[kind].(float64)
	return n
}

func TestDeployedEmulatorPhases(t *testing.T) {
	for _, delivery := range []string{"acknowledged", "fire-and-forget"} {
		t.Run(delivery, func(t *testing.T) {
			ep, stop := emulator(t, "--not-ready", "5", "--not-ready-close", "5", "--queued", "3")
			code, sent := sendCLI(t, "--endpoint", ep, "--delivery", delivery, "--workers", "3", "--batches", "60", "--tx-per-batch", "10")
			got := stop()
			if code != 0 || sent["undelivered"] != 0.0 || sent["acknowledged"] != 60.0 || errorCount(sent, "NotReady") != 10 {
				t.Errorf("exit %d, report %v; want 0, 60 acknowledged, 10 NotReady", code, sent)
			}
			if got["digest"] != sent["digest"] || got["frames"] != 60.0 || got["queued"] != 3.0 {
				t.Errorf("emulator %v; sender digest %v; want equal digests, 60 frames, 3 queued", got, sent["digest"])
			}
		})
	}
}

func TestDeployedEmulatorRejections(t *testing.T) {
	for _, delivery := range []string{"acknowledged", "fire-and-forget"} {
		t.Run(delivery, func(t *testing.T) {
			ep, stop := emulator(t, "--fail-submit-every", "10")
			code, sent := sendCLI(t, "--endpoint", ep, "--delivery", delivery, "--workers", "2", "--batches", "60")
			got := stop()
			if code != 1 || errorCount(sent, "Rejected") != 6 || sent["undelivered"] != 6.0 || sent["acknowledged"] != 54.0 {
				t.Errorf("exit %d, report %v; want 1, 6 rejected and undelivered, 54 acknowledged", code, sent)
			}
			if got["digest"] != sent["digest"] || got["frames"] != 54.0 {
				t.Errorf("emulator %v; sender digest %v; want equal digests, 54 frames", got, sent["digest"])
			}
		})
	}
}
