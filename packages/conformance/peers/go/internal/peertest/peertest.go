// Package peertest holds what the Go peer's tests share across its packages (the
// library, the commands and the testee kit): short socket paths, building the commands,
// and the Rust deployed-server emulator as a child process. Only tests import it; it uses
// the standard library only, so the library's own tests can import it too.
package peertest

import (
	"bufio"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SocketDir returns a fresh private directory under /tmp, removed when the test ends. A
// Unix socket path must fit sun_path (108 bytes), which t.TempDir() can exceed.
func SocketDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "txg")
	if err != nil {
		t.Fatalf("MkdirTemp: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// SocketPath returns a fresh socket path in its own SocketDir.
func SocketPath(t testing.TB) string {
	t.Helper()
	return filepath.Join(SocketDir(t), "s.sock")
}

// peersDir is packages/conformance/peers, found from this file's own path so that every
// package's tests reach it whatever their working directory.
func peersDir(t testing.TB) string {
	t.Helper()
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("peertest: cannot locate its own source file")
	}
	return filepath.Join(filepath.Dir(file), "..", "..", "..")
}

// GoBuild runs `go build -o out pkgs...` in the current package's directory, or skips the
// test under -short or without the go tool (building takes seconds).
func GoBuild(t testing.TB, out string, pkgs ...string) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds commands")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH")
	}
	args := append([]string{"build", "-o", out}, pkgs...)
	if b, err := exec.Command(goTool, args...).CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, b)
	}
}

// RustEmulator starts the Rust deployed-server emulator on a fresh socket with flags, or
// skips the test when it is not built: the Go peer never depends on Rust (the library's
// scripted-server tests cover the same behaviour in pure Go). It returns the socket path
// and a function that stops the emulator (SIGTERM) and returns its report line.
func RustEmulator(t testing.TB, flags ...string) (string, func() map[string]any) {
	t.Helper()
	var bin string
	for _, profile := range []string{"release", "debug"} {
		p := filepath.Join(peersDir(t), "rust", "target", profile, "txlane-deployed-server")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			bin = p
			break
		}
	}
	if bin == "" {
		t.Skip("the Rust deployed-server emulator is not built (cd peers/rust && cargo build --release); the library's scripted-server tests cover this in pure Go")
	}
	path := SocketPath(t)
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

// ServeUnix listens on a fresh socket until the test ends and runs handle on each
// accepted connection in its own goroutine, closing the connection when handle returns.
// It returns the socket path.
func ServeUnix(t testing.TB, handle func(c net.Conn)) string {
	t.Helper()
	return Serve(t, "unix", handle)
}

// Serve listens on network ("unix": a fresh socket; "tcp": an ephemeral loopback port)
// until the test ends, and runs handle on each accepted connection in its own goroutine,
// closing the connection when handle returns; the test's cleanup waits for every handler.
// It returns the address.
func Serve(t testing.TB, network string, handle func(c net.Conn)) string {
	t.Helper()
	address := "127.0.0.1:0"
	if network == "unix" {
		address = SocketPath(t)
	}
	l, err := net.Listen(network, address)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				handle(c)
			}()
		}
	}()
	return l.Addr().String()
}
