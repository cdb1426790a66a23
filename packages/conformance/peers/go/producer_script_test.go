package txlane

// A scripted stand-in for the deployed server, and the helpers the DeployedProducer tests
// share: each frame is answered (or not) as the test's script says.

import (
	"context"
	"errors"
	"io"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peertest"
)

// Scripted answers, as the deployed server words them.
const (
	answerOK         = `{"success":true,"tx_hash":"ab12","block_ref":"r","indices":[0],"count":1}`
	answerQueued     = `{"success":true,"queued":true,"message":"queued for the next epoch"}`
	answerNotReady   = `{"success":false,"error":"Node not ready to accept transactions: starting"}`
	answerNotReadyCl = `{"success":false,"error":"Node not ready: epoch change"}`
	answerEpoch      = `{"success":false,"error":"submission paused during epoch transition"}`
	answerFailed     = `{"success":false,"error":"Transaction submission failed: busy"}`
	answerMalformed  = `not json`
)

// step is what the scripted server does with one frame.
type step struct {
	answer string // the JSON answer; "" writes none
	close  bool   // close the connection after the answer (or instead of one)
}

// seenFrame is one frame the scripted server read.
type seenFrame struct {
	conn    int // index of the connection, in accept order
	payload []byte
	at      time.Time
}

// scriptServer is a Unix-socket server that answers frames as script says (script gets
// the frame's index in arrival order over all connections). Each connection has a reader
// that reads frames as soon as they arrive and an answerer that answers them in order
// after delay, so a sender that pipelined would show up as several unanswered frames on
// one connection.
type scriptServer struct {
	path   string
	script func(i int) step
	delay  time.Duration // before each answer

	mu             sync.Mutex
	frames         []seenFrame
	peerClosed     []bool // per connection: the sender closed it (its reader saw EOF)
	pending        []int  // per open connection: frames read and not answered
	outstanding    int    // frames read and not answered, over all open connections
	maxOutstanding int
	maxPerConn     int // most unanswered frames ever on one connection
}

func startScriptServer(t *testing.T, script func(i int) step, delay time.Duration) *scriptServer {
	t.Helper()
	s := &scriptServer{path: peertest.SocketPath(t), script: script, delay: delay}
	l, err := net.Listen("unix", s.path)
	if err != nil {
		t.Fatal(err)
	}
	var (
		wg    sync.WaitGroup
		conns sync.Map
	)
	t.Cleanup(func() {
		l.Close()
		conns.Range(func(c, _ any) bool { c.(net.Conn).Close(); return true })
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
			conns.Store(c, true)
			s.mu.Lock()
			id := len(s.peerClosed)
			s.peerClosed = append(s.peerClosed, false)
			s.pending = append(s.pending, 0)
			s.mu.Unlock()
			todo := make(chan int, 1024)
			wg.Add(2)
			go func() {
				defer wg.Done()
				defer close(todo)
				s.read(c, id, todo)
			}()
			go func() {
				defer wg.Done()
				s.answer(c, id, todo)
			}()
		}
	}()
	return s
}

// read records every frame of connection id and hands its index to the answerer.
func (s *scriptServer) read(c net.Conn, id int, todo chan<- int) {
	for {
		payload, err := ReadFrame(c, DefaultMaxFrameBytes)
		if err != nil {
			// The connection is gone: its unanswered frames are no longer in flight.
			s.mu.Lock()
			s.peerClosed[id] = errors.Is(err, io.EOF)
			s.outstanding -= s.pending[id]
			s.pending[id] = 0
			s.mu.Unlock()
			return
		}
		s.mu.Lock()
		i := len(s.frames)
		s.frames = append(s.frames, seenFrame{conn: id, payload: payload, at: time.Now()})
		s.outstanding++
		s.pending[id]++
		s.maxOutstanding = max(s.maxOutstanding, s.outstanding)
		s.maxPerConn = max(s.maxPerConn, s.pending[id])
		s.mu.Unlock()
		todo <- i
	}
}

// answer answers the frames of connection id in order, as the script says.
func (s *scriptServer) answer(c net.Conn, id int, todo <-chan int) {
	for i := range todo {
		if s.delay > 0 {
			time.Sleep(s.delay)
		}
		st := s.script(i)
		if st.answer != "" {
			// Count the frame answered before the answer can reach the sender, so the
			// sender's next frame is never seen next to it.
			s.mu.Lock()
			if s.pending[id] > 0 { // else the connection is gone and already uncounted
				s.outstanding--
				s.pending[id]--
			}
			s.mu.Unlock()
			WriteFrame(c, []byte(st.answer))
		}
		if st.close {
			c.Close()
			for range todo { // let the reader finish
			}
			return
		}
	}
}

// snapshot returns the frames read so far and the number of connections accepted.
func (s *scriptServer) snapshot() ([]seenFrame, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.frames), len(s.peerClosed)
}

// fastProducer is a DeployedProducerConfig for ep with test-sized intervals.
func fastProducer(ep string, workers int) DeployedProducerConfig {
	return DeployedProducerConfig{
		Endpoint:       ep,
		Workers:        workers,
		RetryInterval:  20 * time.Millisecond,
		AnswerDeadline: 5 * time.Second,
	}
}

// runProducer runs the emulator's whole send run with a timeout.
func runProducer(t *testing.T, cfg DeployedProducerConfig, wl ProducerWorkload, timeout time.Duration) PeerReport {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	rep, err := RunDeployedProducer(ctx, cfg, wl)
	if err != nil {
		t.Fatalf("RunDeployedProducer: %v", err)
	}
	return rep
}

// always answers every frame the same way.
func always(st step) func(int) step { return func(int) step { return st } }

// then answers the first frames from steps and every later one from last.
func then(last step, steps ...step) func(int) step {
	return func(i int) step {
		if i < len(steps) {
			return steps[i]
		}
		return last
	}
}
