package txlane

// A Server's life: the handler pool, listeners, the accept loop with its connection
// slots, and the graceful (Shutdown) and immediate (Close) stops.

import (
	"context"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

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
