package txlane

import (
	"bufio"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peertest"
)

// TestCommandsEndToEnd builds both testees and runs them as the harness does: the
// receiver prints its ready line, the sender sends, SIGTERM makes the receiver shut down
// gracefully and print one report, and both digests agree.
func TestCommandsEndToEnd(t *testing.T) {
	bin := t.TempDir()
	peertest.GoBuild(t, bin+"/", "./cmd/...")
	sock := peertest.SocketPath(t)

	recv := exec.Command(filepath.Join(bin, "txlane-go-receiver"), "receive", "--listen", sock, "--handlers", "2")
	stdout, _ := recv.StdoutPipe()
	if err := recv.Start(); err != nil {
		t.Fatal(err)
	}
	defer recv.Process.Kill()
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() || lines.Text() != `{"event":"listening","endpoint":"`+sock+`"}` {
		t.Fatalf("ready line %q", lines.Text())
	}

	send := exec.Command(filepath.Join(bin, "txlane-go-sender"), "send", "--endpoint", sock, "--batches", "200", "--tx-per-batch", "10", "--seed", "11")
	out, err := send.Output()
	if err != nil {
		t.Fatalf("sender: %v (stdout %q)", err, out)
	}
	var sr PeerReport
	if err := json.Unmarshal(out, &sr); err != nil || sr.Frames != 200 || sr.Undelivered != 0 {
		t.Fatalf("sender report %q, %v", out, err)
	}

	recv.Process.Signal(syscall.SIGTERM)
	if !lines.Scan() {
		t.Fatalf("no receiver report")
	}
	var rr PeerReport
	if err := json.Unmarshal(lines.Bytes(), &rr); err != nil {
		t.Fatalf("receiver report %q: %v", lines.Text(), err)
	}
	if rr.Transactions != 2000 || rr.Digest != sr.Digest || rr.Digest != expectedDigest(11, 200, 10, 650).String() {
		t.Errorf("receiver %+v, sender digest %s; want 2000 txs and equal digests", rr, sr.Digest)
	}
	done := make(chan error, 1)
	go func() { done <- recv.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("receiver exit: %v; want 0", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("receiver did not exit after SIGTERM")
	}
	if _, err := os.Lstat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket file after exit: %v; want removed", err)
	}
}
