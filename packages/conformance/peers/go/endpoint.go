package txlane

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
)

// ErrInvalidEndpoint is matched (errors.Is) by every endpoint syntax error.
var ErrInvalidEndpoint = errors.New("txlane: invalid endpoint")

// Endpoint is a parsed endpoint: a Unix socket path or a TCP host:port (SPEC §1).
type Endpoint struct {
	// Network is "unix" or "tcp", as net.Dial and net.Listen spell them.
	Network string
	// Address is the absolute socket path for "unix", "host:port" for "tcp".
	Address string
}

// String returns the canonical spelling: the bare path for Unix sockets, tcp://host:port
// for TCP.
func (e Endpoint) String() string {
	if e.Network == "tcp" {
		return "tcp://" + e.Address
	}
	return e.Address
}

// ParseEndpoint parses `/abs/path.sock`, `unix:/abs/path.sock` or `tcp://HOST:PORT`
// (`tcp://[::1]:PORT` for IPv6). Any other form is an error matching ErrInvalidEndpoint.
func ParseEndpoint(s string) (Endpoint, error) {
	invalid := func(why string) (Endpoint, error) {
		return Endpoint{}, fmt.Errorf("%w %q: %s", ErrInvalidEndpoint, s, why)
	}
	switch {
	case strings.HasPrefix(s, "/"):
		return Endpoint{Network: "unix", Address: s}, nil
	case strings.HasPrefix(s, "unix:"):
		path := strings.TrimPrefix(s, "unix:")
		if !strings.HasPrefix(path, "/") {
			return invalid("a unix: endpoint needs an absolute path")
		}
		return Endpoint{Network: "unix", Address: path}, nil
	case strings.HasPrefix(s, "tcp://"):
		hostport := strings.TrimPrefix(s, "tcp://")
		host, port, err := net.SplitHostPort(hostport)
		if err != nil {
			return invalid(err.Error())
		}
		if host == "" {
			return invalid("missing host")
		}
		if strings.ContainsAny(host, "/?#@") {
			return invalid("bad host")
		}
		if _, err := strconv.ParseUint(port, 10, 16); err != nil {
			return invalid("port must be a decimal number 0-65535")
		}
		return Endpoint{Network: "tcp", Address: net.JoinHostPort(host, port)}, nil
	default:
		return invalid("want /abs/path, unix:/abs/path or tcp://host:port")
	}
}
