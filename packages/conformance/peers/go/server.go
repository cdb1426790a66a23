package txlane

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
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

// initLocked creates the handler pool and bookkeeping on first use. s.mu must be held.
func (s *Server) initLocked() {
	if s.done != nil {
		return
	}
	s.done = make(chan struct{})
	s.finished = make(chan struct{})
	s.listeners = make(map[net.Listener]struct{})
	s.conns = make(map[*serverConn]struct{})
	switch {
	case s.MaxConnections == 0:
		s.slots = make(chan struct{}, DefaultMaxConnections)
	case s.MaxConnections > 0:
		s.slots = make(chan struct{}, s.MaxConnections)
	}
	handlers := s.Handlers
	if handlers <= 0 {
		handlers = DefaultHandlers
	}
	queue := s.QueueFrames
	if queue <= 0 {
		queue = 4 * handlers
	}
	s.jobs = make(chan *frameJob, queue)
	s.handlersWG.Add(handlers)
	for range handlers {
		go func() {
			defer s.handlersWG.Done()
			// Workers range over the channel: closing it is the drain signal.
			for j := range s.jobs {
				j.result = s.handle(j.payload)
				close(j.done)
			}
		}()
	}
}

// ListenAndServe listens on endpoint (see Listen) and serves it. It returns
// ErrServerClosed after Shutdown or Close.
func (s *Server) ListenAndServe(endpoint string) error {
	l, err := s.Listen(endpoint)
	if err != nil {
		return err
	}
	return s.Serve(l)
}

// Listen opens a listener on endpoint: `/abs/path`, `unix:/abs/path` or `tcp://host:port`.
// A Unix socket file follows SPEC §7 (see ListenUnix) with mode SocketMode.
func (s *Server) Listen(endpoint string) (net.Listener, error) {
	ep, err := ParseEndpoint(endpoint)
	if err != nil {
		return nil, err
	}
	if ep.Network == "unix" {
		return ListenUnix(ep.Address, s.SocketMode)
	}
	l, err := net.Listen("tcp", ep.Address)
	if err != nil {
		return nil, fmt.Errorf("txlane: listen %s: %w", endpoint, err)
	}
	return l, nil
}

// Serve accepts connections on l until Shutdown or Close, then returns ErrServerClosed;
// any other accept error is returned as is (after closing l). Serve may be called on
// several listeners concurrently.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	s.initLocked()
	if s.inShutdown.Load() {
		s.mu.Unlock()
		l.Close()
		return ErrServerClosed
	}
	s.listeners[l] = struct{}{}
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, l)
		s.mu.Unlock()
		l.Close()
	}()

	var backoff time.Duration
	for {
		// Take a connection slot before accepting: at the limit, connections wait in the
		// kernel's backlog instead of in our memory.
		if s.slots != nil {
			select {
			case s.slots <- struct{}{}:
			case <-s.done:
				return ErrServerClosed
			}
		}
		nc, err := l.Accept()
		if err != nil {
			s.releaseSlot()
			if s.inShutdown.Load() {
				return ErrServerClosed
			}
			if isTemporaryAcceptError(err) {
				backoff = min(max(2*backoff, 5*time.Millisecond), time.Second)
				s.logf("txlane: accept: %v; retrying in %v", err, backoff)
				select {
				case <-time.After(backoff):
				case <-s.done:
					return ErrServerClosed
				}
				continue
			}
			return fmt.Errorf("txlane: accept: %w", err)
		}
		backoff = 0
		c := &serverConn{nc: nc}
		s.mu.Lock()
		if s.inShutdown.Load() {
			s.mu.Unlock()
			nc.Close()
			s.releaseSlot()
			return ErrServerClosed
		}
		s.conns[c] = struct{}{}
		s.connWG.Add(1)
		s.mu.Unlock()
		s.stats.connections.Add(1)
		s.stats.openConnections.Add(1)
		go s.serveConn(c)
	}
}

func (s *Server) releaseSlot() {
	if s.slots != nil {
		<-s.slots
	}
}

// isTemporaryAcceptError reports accept failures that say "try again later" (out of file
// descriptors, a connection aborted before accept) rather than "this listener is dead".
func isTemporaryAcceptError(err error) bool {
	for _, errno := range []syscall.Errno{syscall.EMFILE, syscall.ENFILE, syscall.ENOBUFS, syscall.ENOMEM, syscall.ECONNABORTED, syscall.EINTR} {
		if errors.Is(err, errno) {
			return true
		}
	}
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// Shutdown stops the server gracefully: it closes the listeners, stops every connection
// from reading further frames (a frame still arriving is finished, within FrameTimeout),
// lets the handlers finish the frames already decoded, flushes their responses, and then
// closes the connections. It returns nil once all of that is done, or ctx's error after
// calling Close if ctx ends first.
func (s *Server) Shutdown(ctx context.Context) error {
	s.beginShutdown(false)
	select {
	case <-s.finished:
		return nil
	case <-ctx.Done():
		s.Close()
		return fmt.Errorf("txlane: shutdown: %w", ctx.Err())
	}
}

// Close stops the server now: listeners and connections are closed, frames not yet
// answered are dropped. It does not wait for goroutines to end. Use Shutdown for a
// graceful stop.
func (s *Server) Close() error {
	return s.beginShutdown(true)
}

func (s *Server) beginShutdown(now bool) error {
	s.mu.Lock()
	s.initLocked()
	first := !s.inShutdown.Swap(true)
	if first {
		close(s.done)
	}
	var err error
	for l := range s.listeners {
		if cerr := l.Close(); cerr != nil && !errors.Is(cerr, net.ErrClosed) && err == nil {
			err = cerr
		}
	}
	for c := range s.conns {
		if now {
			c.nc.Close()
		} else {
			// Wake a reader blocked between frames; it sees inShutdown and stops. The flag
			// is set before the deadline, and readers check it after clearing theirs.
			c.nc.SetReadDeadline(time.Now())
		}
	}
	s.mu.Unlock()
	s.finishOnce.Do(func() {
		go func() {
			s.connWG.Wait() // no new connection can be added: inShutdown is set
			close(s.jobs)   // readers are gone, so nobody sends any more
			s.handlersWG.Wait()
			close(s.finished)
		}()
	})
	return err
}

// serverConn is one accepted connection.
type serverConn struct {
	nc net.Conn
	// tooLarge is set by the reader after an oversize header: the connection is then
	// closed with a linger so that the error response reaches the peer.
	tooLarge bool
}

// frameJob is one decoded frame on its way through the handler pool.
type frameJob struct {
	payload []byte
	result  frameOutcome
	done    chan struct{} // closed by the handler once result is set
}

type frameOutcome struct {
	resp Response
	res  FrameResult
}

var closedChan = func() chan struct{} { c := make(chan struct{}); close(c); return c }()

func (s *Server) serveConn(c *serverConn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.stats.openConnections.Add(-1)
		s.releaseSlot()
		s.connWG.Done()
	}()
	inflight := s.MaxInFlightPerConn
	if inflight <= 0 {
		inflight = DefaultMaxInFlightPerConn
	}
	pending := make(chan *frameJob, inflight)
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		s.writeLoop(c, pending)
	}()
	s.readLoop(c, pending)
	close(pending)
	<-writerDone
	if c.tooLarge && s.Respond == RespondJSON {
		lingerClose(c.nc)
		return
	}
	c.nc.Close()
}

// lingerClose half-closes nc, discards input until EOF or DefaultLinger, then closes it.
func lingerClose(nc net.Conn) {
	if cw, ok := nc.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
		nc.SetReadDeadline(time.Now().Add(DefaultLinger))
		io.Copy(io.Discard, nc)
	}
	nc.Close()
}

func (s *Server) frameTimeout() time.Duration {
	switch {
	case s.FrameTimeout == 0:
		return DefaultFrameTimeout
	case s.FrameTimeout < 0:
		return 0
	}
	return s.FrameTimeout
}

// readLoop decodes frames and queues them, in order, for the writer (pending) and the
// handler pool (s.jobs). It returns at end of stream, on a framing error, on shutdown, or
// when the connection fails.
func (s *Server) readLoop(c *serverConn, pending chan<- *frameJob) {
	fr := NewFrameReader(c.nc, s.maxFrame())
	timeout := s.frameTimeout()
	for {
		if s.inShutdown.Load() {
			return
		}
		// Wait for a frame to begin without a deadline: idleness is not a stall.
		if err := fr.WaitFrame(); err != nil {
			s.readFailed(c, err)
			return
		}
		if timeout > 0 {
			c.nc.SetReadDeadline(time.Now().Add(timeout))
		}
		payload, err := fr.ReadFrame()
		if timeout > 0 {
			c.nc.SetReadDeadline(time.Time{})
		}
		if err != nil {
			var tooLarge *FrameTooLargeError
			if errors.As(err, &tooLarge) {
				s.countError(KindFrameTooLarge)
				c.tooLarge = true
				// Answered in order after the frames before it; nothing after the header
				// is read (the stream cannot be resynchronised).
				pending <- &frameJob{
					result: frameOutcome{resp: ErrorResponse(fmt.Sprintf(textTooLarge, tooLarge.Length, tooLarge.Max))},
					done:   closedChan,
				}
				return
			}
			s.readFailed(c, err)
			return
		}
		j := &frameJob{payload: payload, done: make(chan struct{})}
		pending <- j // blocks while this connection has too many unanswered frames
		s.jobs <- j  // blocks while the handler pool is behind: backpressure
	}
}

// readFailed classifies why a connection's reader stopped.
func (s *Server) readFailed(c *serverConn, err error) {
	switch {
	case errors.Is(err, io.EOF):
	case errors.Is(err, ErrTruncatedFrame):
		s.countError(KindTruncatedFrame)
	case s.inShutdown.Load():
		// Woken by Shutdown (deadline) or Close (closed connection).
	case errors.Is(err, os.ErrDeadlineExceeded):
		s.countError(KindFrameTimeout)
		s.logf("txlane: %v: frame stalled for more than %v; closing", c.nc.RemoteAddr(), s.frameTimeout())
	default:
		s.countError(KindConnectionLost)
		s.logf("txlane: read: %v", err)
	}
}

// writeLoop writes the responses of the connection's frames in request order, gathering
// those already available into one writev. It always drains pending so that the reader
// never blocks on a dead writer.
func (s *Server) writeLoop(c *serverConn, pending <-chan *frameJob) {
	fw := NewFrameWriter(c.nc)
	var unflushed []FrameResult
	broken := false
	flush := func() {
		if broken {
			return
		}
		if err := fw.Flush(); err != nil {
			broken = true
			if !s.inShutdown.Load() {
				s.countError(KindConnectionLost)
				s.logf("txlane: write: %v", err)
			}
			// Unblock the reader: nobody will read what we would answer.
			c.nc.Close()
			unflushed = unflushed[:0]
			return
		}
		for _, r := range unflushed {
			s.finishFrame(r)
		}
		unflushed = unflushed[:0]
	}
	for j := range pending {
		<-j.done
		if s.Respond == RespondNone {
			s.finishFrame(j.result.res)
			continue
		}
		if broken {
			continue
		}
		body, err := EncodeResponse(j.result.resp)
		if err != nil {
			// Cannot happen for the responses this server builds; answer something valid.
			body = []byte(`{"success":false,"error":"internal error"}`)
		}
		fw.WriteFrame(body) // cannot fail: responses are far below 4 GiB
		if j.result.resp.Success {
			s.stats.responsesOK.Add(1)
		} else {
			s.stats.responsesError.Add(1)
		}
		unflushed = append(unflushed, j.result.res)
		// Flush when no further response is ready, so a burst costs one writev and a lone
		// response is never held back.
		if len(pending) == 0 || fw.Pending() >= DefaultMaxInFlightPerConn {
			flush()
		}
	}
	flush()
}

func (s *Server) finishFrame(r FrameResult) {
	if s.AfterResponse != nil {
		s.AfterResponse(r)
	}
}

// handle runs in the handler pool: decode, record, submit, and build the response.
func (s *Server) handle(payload []byte) (out frameOutcome) {
	out.res.Bytes = len(payload)
	if len(payload) == 0 {
		s.countError(KindEmptyFrame)
		out.resp = ErrorResponse(textEmpty)
		return out
	}
	b := Batch{Payload: payload}
	if !s.Raw {
		txs, err := DecodeTransactions(payload)
		if err != nil {
			s.countError(KindMalformedEnvelope)
			reason := err.Error()
			var me *MalformedEnvelopeError
			if errors.As(err, &me) {
				reason = me.Reason
			}
			out.resp = ErrorResponse(textInvalid + reason)
			return out
		}
		if len(txs) == 0 {
			s.countError(KindEmptyFrame)
			out.resp = ErrorResponse(textEmpty)
			return out
		}
		b.Transactions = txs
	}
	n, err := s.submit(b)
	if err != nil {
		s.countError(KindSubmitFailed)
		out.resp = ErrorResponse(textSubmitErr + err.Error())
		return out
	}
	s.stats.frames.Add(1)
	s.stats.transactions.Add(int64(n))
	s.stats.bytes.Add(int64(len(payload)))
	out.res.Success, out.res.Transactions = true, n
	out.resp = OKResponse(uint64(n))
	return out
}

// submit records the frame, then hands it to the application, turning a panic into a
// failed submission so that one bad batch cannot take the receiver down.
func (s *Server) submit(b Batch) (n int, err error) {
	if s.RecordFile != nil {
		rec := AppendFrame(make([]byte, 0, HeaderSize+len(b.Payload)), b.Payload)
		s.recordMu.Lock()
		_, err := s.RecordFile.Write(rec) // one write per frame: a record is never torn by a kill between writes
		s.recordMu.Unlock()
		if err != nil {
			return 0, fmt.Errorf("record: %w", err)
		}
	}
	if s.Submit == nil {
		if s.Raw {
			return 1, nil
		}
		return len(b.Transactions), nil
	}
	defer func() {
		if p := recover(); p != nil {
			n, err = 0, fmt.Errorf("panic: %v", p)
		}
	}()
	n, err = s.Submit(b)
	if err == nil && n < 0 {
		n = 0
	}
	return n, err
}
