package txlane

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// maxSunPath is the usable length of a Unix socket path on Linux (sun_path is 108 bytes,
// one of which is the terminating NUL).
const maxSunPath = 107

// probeTimeout bounds the connect that tells a live socket from a stale one.
const probeTimeout = time.Second

// umaskMu serialises the umask fallback of ListenUnix within this package (the umask is
// process-wide; see ListenUnix).
var umaskMu sync.Mutex

// ListenUnix listens on the Unix socket path following SPEC §7:
//
//   - if the path exists and a connect to it succeeds, it fails with ErrAddressInUse and
//     leaves the file alone;
//   - if it is a socket nobody listens on (connect refused), it removes it and binds;
//   - if it is anything else (regular file, directory, symlink — checked with Lstat, so a
//     symlink is never followed), it fails with ErrNotSocket and leaves it intact;
//   - the socket file gets mode (zero means DefaultSocketMode, 0600) with no window in
//     which it is more permissive: it is bound inside a fresh 0700 directory next to path,
//     chmod-ed there, and then hard-linked into place. link(2) never replaces an existing
//     file, so a file that appears at path meanwhile is not clobbered either
//     (ErrAddressInUse).
//
// If the private directory's path would be too long for a socket address, ListenUnix
// falls back to binding at path directly under a temporarily narrowed umask. The umask is
// process-wide: files other goroutines create during that bind get the narrowed mode.
//
// Closing the returned listener removes the socket file if it is still the one bound.
func ListenUnix(path string, mode os.FileMode) (net.Listener, error) {
	if mode == 0 {
		mode = DefaultSocketMode
	}
	mode &= fs.ModePerm
	if err := clearStaleSocket(path); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(filepath.Dir(path), ".tx")
	if err != nil {
		return nil, fmt.Errorf("txlane: listen %s: private directory: %w", path, err)
	}
	defer os.RemoveAll(dir)
	tmp := filepath.Join(dir, "s")
	if len(tmp) > maxSunPath {
		os.RemoveAll(dir)
		return listenUnixUmask(path, mode)
	}
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("txlane: listen %s: %w", path, err)
	}
	// The listener must not unlink tmp on Close; the wrapper removes path instead.
	ul.SetUnlinkOnClose(false)
	fail := func(err error) (net.Listener, error) {
		ul.Close()
		return nil, err
	}
	if err := os.Chmod(tmp, mode); err != nil {
		return fail(fmt.Errorf("txlane: listen %s: chmod: %w", path, err))
	}
	if err := os.Link(tmp, path); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fail(fmt.Errorf("txlane: listen %s: %w (created while binding)", path, ErrAddressInUse))
		}
		return fail(fmt.Errorf("txlane: listen %s: link into place: %w", path, err))
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return fail(fmt.Errorf("txlane: listen %s: %w", path, err))
	}
	return &unixSocketListener{UnixListener: ul, path: path, fi: fi}, nil
}

// listenUnixUmask binds at path directly, with the umask narrowed so that bind(2) creates
// the file with mode at most.
func listenUnixUmask(path string, mode os.FileMode) (net.Listener, error) {
	umaskMu.Lock()
	old := syscall.Umask(int(0o777 &^ mode))
	ul, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	syscall.Umask(old)
	umaskMu.Unlock()
	if err != nil {
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("txlane: listen %s: %w (created while binding)", path, ErrAddressInUse)
		}
		return nil, fmt.Errorf("txlane: listen %s: %w", path, err)
	}
	ul.SetUnlinkOnClose(false)
	// bind(2) applied the umask; chmod only adds what the umask could not express exactly.
	if err := os.Chmod(path, mode); err != nil {
		ul.Close()
		os.Remove(path)
		return nil, fmt.Errorf("txlane: listen %s: chmod: %w", path, err)
	}
	fi, err := os.Lstat(path)
	if err != nil {
		ul.Close()
		return nil, fmt.Errorf("txlane: listen %s: %w", path, err)
	}
	return &unixSocketListener{UnixListener: ul, path: path, fi: fi}, nil
}

// clearStaleSocket applies SPEC §7 to whatever exists at path.
func clearStaleSocket(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("txlane: listen %s: %w", path, err)
	}
	if fi.Mode().Type() != fs.ModeSocket {
		return fmt.Errorf("txlane: listen %s: %w (%v); left intact", path, ErrNotSocket, fi.Mode().Type())
	}
	c, err := net.DialTimeout("unix", path, probeTimeout)
	if err == nil {
		c.Close()
		return fmt.Errorf("txlane: listen %s: %w", path, ErrAddressInUse)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		// Not provably stale (permission denied, a listener too busy to answer, …):
		// removing it could break a live server.
		return fmt.Errorf("txlane: listen %s: probe existing socket: %w", path, err)
	}
	// Remove only the file we probed, not one that replaced it meanwhile.
	if now, err := os.Lstat(path); err != nil || !os.SameFile(now, fi) {
		return fmt.Errorf("txlane: listen %s: %w (replaced while probing)", path, ErrAddressInUse)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("txlane: listen %s: remove stale socket: %w", path, err)
	}
	return nil
}

// unixSocketListener removes its socket file on Close, if the file is still ours.
type unixSocketListener struct {
	*net.UnixListener
	path string
	fi   os.FileInfo
	once sync.Once
}

// Addr returns the socket path as given (the bind happened under a temporary name).
func (l *unixSocketListener) Addr() net.Addr { return &net.UnixAddr{Name: l.path, Net: "unix"} }

// Close closes the listener and removes its socket file (SPEC §7 SHOULD), unless
// something else has replaced the file meanwhile.
func (l *unixSocketListener) Close() error {
	err := l.UnixListener.Close()
	l.once.Do(func() {
		if cur, serr := os.Lstat(l.path); serr == nil && os.SameFile(cur, l.fi) {
			os.Remove(l.path)
		}
	})
	return err
}
