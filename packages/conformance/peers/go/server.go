package txlane

import (
	"errors"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero values of Server's fields.
const (
	// DefaultMaxConnections bounds concurrent connections; the deployed server had no
	// bound, and one task per connection without a bound is how it falls over.
	DefaultMaxConnections = 1024
	// DefaultFrameTimeout closes a connection stalled inside a frame: a sender that wrote
	// half a frame and stopped should not hold a connection slot forever. 10 MiB arrives in
	// milliseconds locally, so only a stalled peer hits 10 s (the TypeScript receiver's value).
	DefaultFrameTimeout = 10 * time.Second
	// DefaultHandlers is the handler pool size for a zero Handlers: the TypeScript
	// receiver's 16, enough parallel submits for 16 sender connections.
	DefaultHandlers = 16
	// DefaultMaxInFlightPerConn bounds the frames of one connection that are decoded but
	// not yet answered; past it the connection's reader stops reading (backpressure onto
	// the sender's socket) instead of buffering without limit.
	DefaultMaxInFlightPerConn = 64
	// DefaultSocketMode is the mode of a Unix socket file: owner only (SPEC §7).
	DefaultSocketMode os.FileMode = 0o600
	// Unbounded, where a limit allows it, turns the limit off. Zero always means the
	// default, never "no limit".
	Unbounded = -1
)

// DefaultLinger bounds how long a connection closed after an oversize header keeps
// discarding input, so that the peer receives the error response instead of a reset (a
// close with unread input makes TCP send RST, which can destroy the response in flight).
// The TypeScript and Rust receivers' 1 s.
const DefaultLinger = time.Second

// Error texts of SPEC §6, the deployed server's.
const (
	textEmpty     = "Empty Transactions message"
	textInvalid   = "Invalid Transactions protobuf: "
	textTooLarge  = "Transaction too large: %d bytes (max: %d)"
	textSubmitErr = "Transaction submission failed: "
)

// Error kinds counted in ServerStats.Errors (PEERS.md report names).
const (
	KindFrameTooLarge     = "FrameTooLarge"
	KindTruncatedFrame    = "TruncatedFrame"
	KindMalformedEnvelope = "MalformedEnvelope"
	KindEmptyFrame        = "EmptyFrame"
	KindSubmitFailed      = "SubmitFailed"
	KindFrameTimeout      = "FrameTimeout"
	KindConnectionLost    = "ConnectionLost"
)

var (
	// ErrServerClosed is returned by Serve and ListenAndServe after Shutdown or Close: the
	// normal way for them to end.
	ErrServerClosed = errors.New("txlane: server closed")
	// ErrAddressInUse: a live socket already listens on the path (SPEC §7). The file is
	// left alone.
	ErrAddressInUse = errors.New("txlane: address in use")
	// ErrNotSocket: the path exists and is not a socket (regular file, directory,
	// symlink, …). It is left intact (SPEC §7).
	ErrNotSocket = errors.New("txlane: path exists and is not a socket")
)

// ResponseMode selects whether a Server answers frames.
type ResponseMode int

const (
	// RespondJSON writes exactly one JSON response frame per request frame, in request
	// order (SPEC §5). It is the zero value.
	RespondJSON ResponseMode = iota
	// RespondNone never writes (the seed's fire-and-forget).
	RespondNone
)

// String returns "json" or "none".
func (m ResponseMode) String() string {
	if m == RespondNone {
		return "none"
	}
	return "json"
}

// Batch is one accepted frame handed to Server.Submit.
type Batch struct {
	// Payload is the whole frame payload.
	Payload []byte
	// Transactions are the envelope's transactions (views into Payload); nil in Raw mode.
	Transactions [][]byte
}

// FrameResult describes one request frame after its response was written (RespondJSON)
// or after it was handled (RespondNone).
type FrameResult struct {
	Success      bool // the frame was submitted and accepted
	Transactions int  // the count reported for it (0 unless Success)
	Bytes        int  // payload length
}

// Server receives frames on any number of listeners. Its zero value is a working
// receiver with the defaults documented on each field; set fields before the first Serve
// and do not change them afterwards.
//
// Each connection has one reader and one writer goroutine. Decoded frames go to a fixed
// pool of Handlers goroutines through one bounded channel; when the pool is behind, the
// channel fills and readers stop reading, which pushes back on the senders' sockets.
// Responses are written in request order whatever order the handlers finish in.
type Server struct {
	// Submit is the application: it receives every non-empty, well-formed frame and
	// returns how many transactions it accepted, or an error that is answered with
	// "Transaction submission failed: ERROR". Nil accepts everything (the count is the
	// number of transactions, or 1 in Raw mode). It is called from Handlers goroutines
	// concurrently and must not call Shutdown or Close synchronously.
	Submit func(b Batch) (accepted int, err error)

	// AfterResponse, if set, is called once per request frame after its response was
	// written (RespondJSON) or after it was handled (RespondNone), from the connection's
	// writer goroutine. It must not call Shutdown or Close synchronously.
	AfterResponse func(r FrameResult)

	// Handlers is the size of the handler pool; zero means DefaultHandlers.
	Handlers int

	// QueueFrames is the capacity of the channel of decoded frames between the connection
	// readers and the handler pool; zero means 4 × Handlers. A full channel blocks readers.
	QueueFrames int

	// MaxFrameBytes is the largest accepted payload; zero means DefaultMaxFrameBytes
	// (10 MiB). A larger announced length is answered with "Transaction too large" and the
	// connection is closed (SPEC §3, §6). Negative values are treated as 0 (only empty
	// frames).
	MaxFrameBytes int

	// MaxConnections bounds concurrent connections; zero means DefaultMaxConnections,
	// Unbounded turns the bound off. At the bound, the accept loop waits for a slot.
	MaxConnections int

	// MaxInFlightPerConn bounds one connection's decoded but unanswered frames; zero means
	// DefaultMaxInFlightPerConn.
	MaxInFlightPerConn int

	// FrameTimeout closes a connection whose current frame has not fully arrived this long
	// after its first byte; idle connections between frames are never timed out. Zero
	// means DefaultFrameTimeout; a negative value disables the timeout.
	FrameTimeout time.Duration

	// Respond selects the response mode; the zero value is RespondJSON.
	Respond ResponseMode

	// Raw submits payloads as-is, without decoding the envelope (SPEC §6). A zero-length
	// frame is still answered "Empty Transactions message" and not submitted.
	Raw bool

	// RecordFile, if set, receives every accepted frame (4-byte length + payload) in a
	// single Write, before the frame's response is written. Use a file opened with
	// O_APPEND so that a record survives the process being killed. Writes are serialised.
	// A failed write fails the frame with "Transaction submission failed".
	RecordFile io.Writer

	// SocketMode is the mode of Unix socket files created by Listen; zero means
	// DefaultSocketMode (0600).
	SocketMode os.FileMode

	// ErrorLog receives connection-level errors; nil means the log package's standard
	// logger (stderr).
	ErrorLog *log.Logger

	mu         sync.Mutex
	listeners  map[net.Listener]struct{}
	conns      map[*serverConn]struct{}
	inShutdown atomic.Bool    // set once by Shutdown or Close; never cleared
	connWG     sync.WaitGroup // one per live connection; Add only under mu while !inShutdown
	jobs       chan *frameJob // decoded frames for the handler pool; nil until the first Serve
	handlersWG sync.WaitGroup
	slots      chan struct{} // connection slots; nil when Unbounded
	done       chan struct{} // closed when the shutdown starts
	finished   chan struct{} // closed when every connection and handler has ended
	finishOnce sync.Once
	recordMu   sync.Mutex

	stats struct {
		frames, transactions, bytes  atomic.Int64
		responsesOK, responsesError  atomic.Int64
		connections, openConnections atomic.Int64
		errMu                        sync.Mutex
		errors                       map[string]int64
	}
}

// ServerStats is a snapshot of a Server's counters.
type ServerStats struct {
	Frames          int64            // frames accepted (submitted successfully)
	Transactions    int64            // transactions in those frames
	Bytes           int64            // payload bytes of those frames
	ResponsesOK     int64            // success responses written
	ResponsesError  int64            // failure responses written
	Connections     int64            // connections accepted in total
	OpenConnections int64            // connections open now
	Errors          map[string]int64 // counts by kind (Kind* constants)
}

// Stats returns a snapshot of the server's counters.
func (s *Server) Stats() ServerStats {
	st := ServerStats{
		Frames:          s.stats.frames.Load(),
		Transactions:    s.stats.transactions.Load(),
		Bytes:           s.stats.bytes.Load(),
		ResponsesOK:     s.stats.responsesOK.Load(),
		ResponsesError:  s.stats.responsesError.Load(),
		Connections:     s.stats.connections.Load(),
		OpenConnections: s.stats.openConnections.Load(),
		Errors:          map[string]int64{},
	}
	s.stats.errMu.Lock()
	for k, v := range s.stats.errors {
		st.Errors[k] = v
	}
	s.stats.errMu.Unlock()
	return st
}

func (s *Server) countError(kind string) {
	s.stats.errMu.Lock()
	if s.stats.errors == nil {
		s.stats.errors = make(map[string]int64)
	}
	s.stats.errors[kind]++
	s.stats.errMu.Unlock()
}

func (s *Server) logf(format string, args ...any) {
	if s.ErrorLog != nil {
		s.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}

func (s *Server) maxFrame() int { return int(normMax(s.MaxFrameBytes)) }
