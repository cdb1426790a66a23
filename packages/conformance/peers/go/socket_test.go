package txlane

// SPEC §7 socket files: ListenUnix's rules for an existing path, and the long-path fallback.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peertest"
)

func TestListenUnixSocketFileRules(t *testing.T) {
	dir := peertest.SocketDir(t)

	t.Run("mode 0600 by default", func(t *testing.T) {
		p := filepath.Join(dir, "mode.sock")
		old := syscall.Umask(0) // the most permissive umask must not leak through
		l, err := ListenUnix(p, 0)
		syscall.Umask(old)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		fi, err := os.Lstat(p)
		if err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
			t.Fatalf("socket file %v, %v; want a socket with mode 0600", fi.Mode(), err)
		}
		l.Close()
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("after Close: %v; want the socket file removed", err)
		}
	})

	t.Run("custom mode", func(t *testing.T) {
		p := filepath.Join(dir, "m2.sock")
		l, err := ListenUnix(p, 0o660)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		if fi, _ := os.Lstat(p); fi.Mode().Perm() != 0o660 {
			t.Errorf("mode %v; want 0660", fi.Mode().Perm())
		}
	})

	t.Run("live socket refused and kept", func(t *testing.T) {
		p := filepath.Join(dir, "live.sock")
		l1, err := ListenUnix(p, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer l1.Close()
		go func() {
			for {
				c, err := l1.Accept()
				if err != nil {
					return
				}
				c.Close()
			}
		}()
		if _, err := ListenUnix(p, 0); !errors.Is(err, ErrAddressInUse) {
			t.Fatalf("second listen: %v; want ErrAddressInUse", err)
		}
		if c, err := net.Dial("unix", p); err != nil {
			t.Errorf("the live socket no longer answers: %v", err)
		} else {
			c.Close()
		}
	})

	t.Run("stale socket replaced", func(t *testing.T) {
		p := filepath.Join(dir, "stale.sock")
		ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: p, Net: "unix"})
		if err != nil {
			t.Fatal(err)
		}
		ul.SetUnlinkOnClose(false)
		ul.Close() // leaves a socket file nobody listens on
		l, err := ListenUnix(p, 0)
		if err != nil {
			t.Fatalf("listen over a stale socket: %v; want replaced", err)
		}
		defer l.Close()
		go func() {
			if c, err := l.Accept(); err == nil {
				c.Close()
			}
		}()
		c, err := net.Dial("unix", p)
		if err != nil {
			t.Fatalf("dial the new socket: %v", err)
		}
		c.Close()
	})

	nonSockets := []struct {
		name string
		make func(p string) error
	}{
		{"regular file", func(p string) error { return os.WriteFile(p, []byte("keep me"), 0o600) }},
		{"directory", func(p string) error { return os.Mkdir(p, 0o700) }},
		{"symlink to nothing", func(p string) error { return os.Symlink(filepath.Join(dir, "nowhere"), p) }},
		{"symlink to a stale socket", func(p string) error {
			target := p + ".target"
			ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: target, Net: "unix"})
			if err != nil {
				return err
			}
			ul.SetUnlinkOnClose(false)
			ul.Close()
			return os.Symlink(target, p)
		}},
	}
	for i, tt := range nonSockets {
		t.Run(tt.name+" left intact", func(t *testing.T) {
			p := filepath.Join(dir, fmt.Sprintf("n%d.sock", i))
			if err := tt.make(p); err != nil {
				t.Fatal(err)
			}
			before, _ := os.Lstat(p)
			if _, err := ListenUnix(p, 0); !errors.Is(err, ErrNotSocket) {
				t.Fatalf("listen: %v; want ErrNotSocket", err)
			}
			after, err := os.Lstat(p)
			if err != nil || !os.SameFile(before, after) || after.Mode() != before.Mode() {
				t.Errorf("path changed: %v, %v; want left intact", after, err)
			}
		})
	}

	t.Run("no temporary directories left behind", func(t *testing.T) {
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if e.IsDir() && len(e.Name()) > 3 && e.Name()[:3] == ".tx" {
				t.Errorf("leftover private directory %s", e.Name())
			}
		}
	})
}

// TestListenUnixLongPathFallback: a path too long for the private-directory bind still
// listens (through the umask fallback) with mode 0600.
func TestListenUnixLongPathFallback(t *testing.T) {
	dir := peertest.SocketDir(t)
	name := make([]byte, maxSunPath-len(dir)-1)
	for i := range name {
		name[i] = 'a'
	}
	p := filepath.Join(dir, string(name))
	l, err := ListenUnix(p, 0)
	if err != nil {
		t.Fatalf("ListenUnix(%d-byte path): %v", len(p), err)
	}
	defer l.Close()
	if fi, err := os.Lstat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v, %v; want mode 0600", fi, err)
	}
}
