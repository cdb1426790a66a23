package txlane

// One connection of a Server: a reader that decodes frames and queues them for the handler
// pool and the writer, and a writer that answers them in request order.

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"time"
)

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
