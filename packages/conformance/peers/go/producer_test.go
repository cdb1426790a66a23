package txlane

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peertest"
)

func TestDeployedProducerScripted(t *testing.T) {
	ok := step{answer: answerOK}
	tests := []struct {
		name     string
		script   func(int) step
		cfg      func(*DeployedProducerConfig)
		batches  int
		frames   int64
		connOf   []int // the connection of each frame, in order
		acked    int64
		respOK   int64
		respErr  int64
		errors   map[string]int64
		oldConns []int // connections the producer must have closed itself
	}{
		{
			name: "success", script: always(ok), batches: 3, frames: 3,
			connOf: []int{0, 0, 0}, acked: 3, respOK: 3, errors: map[string]int64{},
		},
		{
			name: "queued counts as success", script: always(step{answer: answerQueued}), batches: 2, frames: 2,
			connOf: []int{0, 0}, acked: 2, respOK: 2, errors: map[string]int64{},
		},
		{
			name: "not ready: same batch again on the same connection", batches: 1,
			script: then(ok, step{answer: answerNotReady}, step{answer: answerNotReady}),
			frames: 3, connOf: []int{0, 0, 0}, acked: 1, respOK: 1, respErr: 2,
			errors: map[string]int64{KindNotReady: 2},
		},
		{
			name: "epoch transition is not ready too", batches: 1,
			script: then(ok, step{answer: answerEpoch}),
			frames: 2, connOf: []int{0, 0}, acked: 1, respOK: 1, respErr: 1,
			errors: map[string]int64{KindNotReady: 1},
		},
		{
			name: "not ready then close: retried on a new connection", batches: 1,
			script: then(ok, step{answer: answerNotReadyCl, close: true}),
			// Time for the server's close to land before the producer probes the connection.
			cfg:    func(c *DeployedProducerConfig) { c.RetryInterval = 100 * time.Millisecond },
			frames: 2, connOf: []int{0, 1}, acked: 1, respOK: 1, respErr: 1,
			errors: map[string]int64{KindNotReady: 1},
		},
		{
			name: "error answer: reconnect and resend", batches: 1,
			script: then(ok, step{answer: answerFailed}),
			frames: 2, connOf: []int{0, 1}, acked: 1, respOK: 1, respErr: 1,
			errors: map[string]int64{KindRejected: 1}, oldConns: []int{0},
		},
		{
			name: "connection closed without answer: reconnect and resend", batches: 1,
			script: then(ok, step{close: true}),
			frames: 2, connOf: []int{0, 1}, acked: 1, respOK: 1,
			errors: map[string]int64{KindConnectionLost: 1},
		},
		{
			name: "malformed answer: reconnect and resend", batches: 1,
			script: then(ok, step{answer: answerMalformed}),
			frames: 2, connOf: []int{0, 1}, acked: 1, respOK: 1,
			errors: map[string]int64{KindMalformedResponse: 1}, oldConns: []int{0},
		},
		{
			name: "not-ready retries run out", batches: 1,
			script: always(step{answer: answerNotReady}),
			cfg:    func(c *DeployedProducerConfig) { c.NotReadyRetries = 2 },
			frames: 3, connOf: []int{0, 0, 0}, respErr: 3,
			errors: map[string]int64{KindNotReady: 3},
		},
		{
			name: "error retries run out", batches: 1,
			script: always(step{answer: answerFailed}),
			cfg:    func(c *DeployedProducerConfig) { c.ErrorRetries = 2 },
			frames: 3, connOf: []int{0, 1, 2}, respErr: 3,
			errors: map[string]int64{KindRejected: 3}, oldConns: []int{0, 1},
		},
		{
			name: "no retries at all", batches: 2,
			script: always(step{answer: answerFailed}),
			cfg:    func(c *DeployedProducerConfig) { c.ErrorRetries = NoRetries },
			frames: 2, connOf: []int{0, 1}, respErr: 2,
			errors: map[string]int64{KindRejected: 2}, oldConns: []int{0},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startScriptServer(t, tt.script, 0)
			cfg := fastProducer(srv.path, 1)
			if tt.cfg != nil {
				tt.cfg(&cfg)
			}
			wl := ProducerWorkload{Seed: 7, Batches: tt.batches, TxPerBatch: 3, TxSize: 300}
			rep := runProducer(t, cfg, wl, 10*time.Second)

			if rep.Frames != tt.frames || rep.Acknowledged != tt.acked || rep.Undelivered != int64(tt.batches)-tt.acked {
				t.Errorf("frames %d, acknowledged %d, undelivered %d; want %d, %d, %d",
					rep.Frames, rep.Acknowledged, rep.Undelivered, tt.frames, tt.acked, int64(tt.batches)-tt.acked)
			}
			if rep.Responses.OK != tt.respOK || rep.Responses.Error != tt.respErr {
				t.Errorf("responses %+v; want ok %d, error %d", rep.Responses, tt.respOK, tt.respErr)
			}
			if !maps.Equal(rep.Errors, tt.errors) {
				t.Errorf("errors %v; want %v", rep.Errors, tt.errors)
			}
			frames, _ := srv.snapshot()
			var connOf []int
			for _, f := range frames {
				connOf = append(connOf, f.conn)
			}
			if !slices.Equal(connOf, tt.connOf) {
				t.Errorf("server saw frames on connections %v; want %v", connOf, tt.connOf)
			}
			// Every write of a batch is the same bytes, and the report's digest covers
			// every write.
			var d Digest
			gen := NewWorkload(wl.Seed, wl.TxSize)
			want := map[string]bool{}
			for range tt.batches {
				want[string(gen.NextBatch(wl.TxPerBatch))] = true
			}
			for i, f := range frames {
				if !want[string(f.payload)] {
					t.Errorf("frame %d is not a workload batch", i)
				}
				txs, _ := DecodeTransactions(f.payload)
				for _, tx := range txs {
					d.Add(tx)
				}
				// A retry or resend waits the retry interval first.
				if i > 0 && tt.batches == 1 && f.at.Sub(frames[i-1].at) < cfg.RetryInterval {
					t.Errorf("frame %d came %v after the previous one; want at least %v", i, f.at.Sub(frames[i-1].at), cfg.RetryInterval)
				}
			}
			if rep.Digest != d.String() || rep.Transactions != int64(len(frames)*wl.TxPerBatch) {
				t.Errorf("digest %s over %d transactions; want %s over %d", rep.Digest, rep.Transactions, d, len(frames)*wl.TxPerBatch)
			}
			srv.mu.Lock()
			for _, c := range tt.oldConns {
				if !srv.peerClosed[c] {
					t.Errorf("connection %d was not closed by the producer", c)
				}
			}
			if srv.maxPerConn > 1 {
				t.Errorf("%d unanswered frames on one connection; want at most 1", srv.maxPerConn)
			}
			srv.mu.Unlock()
		})
	}
}

// TestDeployedProducerOneFrameInFlightPerWorker: with answers that take a while, the
// server never holds more than one unanswered frame per connection nor more than
// workers in all, and does hold several at once (the workers run concurrently).
func TestDeployedProducerOneFrameInFlightPerWorker(t *testing.T) {
	const workers, batches = 4, 120
	srv := startScriptServer(t, always(step{answer: answerOK}), 2*time.Millisecond)
	wl := ProducerWorkload{Seed: 2, Batches: batches, TxPerBatch: 5, TxSize: 200}
	rep := runProducer(t, fastProducer(srv.path, workers), wl, 20*time.Second)
	if rep.Frames != batches || rep.Acknowledged != batches || rep.Undelivered != 0 {
		t.Errorf("report %+v; want %d frames, all acknowledged", rep, batches)
	}
	if want := expectedDigest(2, batches, 5, 200).String(); rep.Digest != want {
		t.Errorf("digest %s; want %s", rep.Digest, want)
	}
	_, conns := srv.snapshot()
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if conns > workers {
		t.Errorf("%d connections; want at most %d", conns, workers)
	}
	if srv.maxPerConn != 1 {
		t.Errorf("at most %d unanswered frames on one connection; want 1", srv.maxPerConn)
	}
	if srv.maxOutstanding > workers || srv.maxOutstanding < 2 {
		t.Errorf("at most %d unanswered frames in all; want between 2 and %d", srv.maxOutstanding, workers)
	}
}

// TestDeployedProducerSilentServer: against a receiver that never answers, each worker
// writes one frame and stalls until the answer deadline (or the run's timeout).
func TestDeployedProducerSilentServer(t *testing.T) {
	const workers, batches = 3, 6
	tests := []struct {
		name     string
		deadline time.Duration
		timeout  time.Duration
		frames   int64
		errors   map[string]int64
	}{
		// The run's timeout ends the stall: one frame per worker, nothing else.
		{"stall until the run ends", 120 * time.Second, 400 * time.Millisecond, workers, map[string]int64{}},
		// Past the deadline a batch is given up (no resends here) and the next one
		// stalls in turn.
		{"answer deadline", 600 * time.Millisecond, 10 * time.Second, batches, map[string]int64{KindAckTimeout: batches}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := startScriptServer(t, always(step{}), 0)
			cfg := fastProducer(srv.path, workers)
			cfg.AnswerDeadline = tt.deadline
			cfg.ErrorRetries = NoRetries
			wl := ProducerWorkload{Seed: 1, Batches: batches, TxPerBatch: 2, TxSize: 200}
			done := make(chan PeerReport, 1)
			start := time.Now()
			go func() { done <- runProducer(t, cfg, wl, tt.timeout) }()

			time.Sleep(150 * time.Millisecond) // inside the first deadline
			frames, conns := srv.snapshot()
			if len(frames) != workers || conns != workers {
				t.Errorf("after 150 ms: %d frames on %d connections; want %d on %d", len(frames), conns, workers, workers)
			}
			rep := <-done
			if rep.Frames != tt.frames || rep.Acknowledged != 0 || rep.Undelivered != batches {
				t.Errorf("frames %d, acknowledged %d, undelivered %d; want %d, 0, %d", rep.Frames, rep.Acknowledged, rep.Undelivered, tt.frames, batches)
			}
			if !maps.Equal(rep.Errors, tt.errors) {
				t.Errorf("errors %v; want %v", rep.Errors, tt.errors)
			}
			if el := time.Since(start); el > 5*time.Second {
				t.Errorf("took %v", el)
			}
			srv.mu.Lock()
			if srv.maxPerConn > 1 {
				t.Errorf("%d unanswered frames on one connection; want at most 1", srv.maxPerConn)
			}
			// After a deadline the producer closes and reconnects; the server may read the
			// next frame before it notices the old connection's EOF, so the total is only
			// exact while no connection is replaced.
			if tt.errors[KindAckTimeout] == 0 && srv.maxOutstanding > workers {
				t.Errorf("%d unanswered frames; want at most %d", srv.maxOutstanding, workers)
			}
			srv.mu.Unlock()
		})
	}
}

// TestDeployedProducerQueueFull: SendBatch refuses after the enqueue timeout when the
// channel stays full; the refused batches are undelivered and counted as QueueFull.
func TestDeployedProducerQueueFull(t *testing.T) {
	srv := startScriptServer(t, always(step{}), 0) // silent: the one worker stalls
	cfg := fastProducer(srv.path, 1)
	cfg.Buffer = 1
	wl := ProducerWorkload{Seed: 1, Batches: 5, TxPerBatch: 1, TxSize: 200}
	rep := runProducer(t, cfg, wl, time.Second) // 3 refusals take 3 × the default 100 ms
	// One batch in the worker, one in the channel, three refused.
	if rep.Errors[KindQueueFull] != 3 || rep.Undelivered != 5 || rep.Frames != 1 {
		t.Errorf("report %+v; want 3 QueueFull, 5 undelivered, 1 frame", rep)
	}
}

func TestDeployedProducerSendBatch(t *testing.T) {
	p, err := NewDeployedProducer(DeployedProducerConfig{Endpoint: peertest.SocketPath(t), MaxFrameBytes: 10})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.SendBatch(make([]byte, 11)); !errors.Is(err, ErrFrameTooLarge) {
		t.Errorf("SendBatch(11 bytes) = %v; want ErrFrameTooLarge", err)
	}
	rep, err := p.Close(context.Background())
	if err != nil || rep.Batches != 0 || rep.Undelivered != 0 {
		t.Errorf("Close = %+v, %v; want nothing sent", rep, err)
	}
	if err := p.SendBatch(nil); !errors.Is(err, ErrSenderClosed) {
		t.Errorf("SendBatch after Close = %v; want ErrSenderClosed", err)
	}
	for _, cfg := range []DeployedProducerConfig{
		{Endpoint: "relative.sock"},
		{Endpoint: "/tmp/x.sock", Workers: -1},
		{Endpoint: "/tmp/x.sock", NotReadyRetries: -2},
		{Endpoint: "/tmp/x.sock", RetryInterval: -time.Second},
	} {
		if _, err := NewDeployedProducer(cfg); err == nil {
			t.Errorf("NewDeployedProducer(%+v) succeeded; want an error", cfg)
		}
	}
}

func TestIsNotReadyAnswer(t *testing.T) {
	tests := []struct {
		text string
		want bool
	}{
		{"Node not ready to accept transactions: starting", true},
		{"Node not ready: epoch change", true},
		{"rejected during Epoch Transition", true},
		{"Transaction submission failed: busy", false},
		{"Invalid Transactions protobuf: bad tag", false},
		{"node not ready", false}, // the deployed server capitalises; anything else is another error
		{"", false},
	}
	for _, tt := range tests {
		if got := IsNotReadyAnswer(tt.text); got != tt.want {
			t.Errorf("IsNotReadyAnswer(%q) = %v; want %v", tt.text, got, tt.want)
		}
	}
}

// TestDeployedProducerReportLine checks the report line's members, in PEERS.md order.
func TestDeployedProducerReportLine(t *testing.T) {
	srv := startScriptServer(t, then(step{answer: answerOK}, step{answer: answerNotReady}), 0)
	rep := runProducer(t, fastProducer(srv.path, 2), ProducerWorkload{Seed: 1, Batches: 4, TxPerBatch: 2, TxSize: 650}, 10*time.Second)
	var line bytes.Buffer
	if err := WriteLine(&line, rep); err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(bytes.NewReader(line.Bytes()))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		t.Fatal(err)
	}
	var keys []string
	got := map[string]any{}
	for dec.More() {
		k, _ := dec.Token()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		keys = append(keys, k.(string))
		got[k.(string)] = v
	}
	wantKeys := []string{"event", "role", "impl", "frames", "transactions", "bytes", "digest", "acknowledged", "undelivered", "responses", "errors", "elapsedMs"}
	if !slices.Equal(keys, wantKeys) {
		t.Errorf("keys %v; want %v", keys, wantKeys)
	}
	want := map[string]any{
		"event": "report", "role": "sender", "impl": "deployed-producer",
		"frames": json.Number("5"), "transactions": json.Number("10"), "bytes": json.Number("6530"),
		"acknowledged": json.Number("4"), "undelivered": json.Number("0"),
		"responses": map[string]any{"ok": json.Number("4"), "error": json.Number("1")},
		"errors":    map[string]any{"NotReady": json.Number("1")},
	}
	for k, v := range want {
		if gb, _ := json.Marshal(got[k]); string(gb) != mustJSON(v) {
			t.Errorf("%s = %s; want %s", k, gb, mustJSON(v))
		}
	}
	if n, ok := got["elapsedMs"].(json.Number); !ok {
		t.Errorf("elapsedMs %v is not a number", got["elapsedMs"])
	} else if _, err := n.Int64(); err != nil {
		t.Errorf("elapsedMs %v is not an integer", n)
	}
	if d, _ := got["digest"].(string); len(d) != 16 {
		t.Errorf("digest %q; want 16 hex digits", d)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
