package txlane

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peertest"
)

// scriptedDeployed is a pure-Go stand-in for the deployed Rust server's wire behaviour
// (shared/design/system-we-replace.md), so the sender's answer handling is tested without
// the Rust emulator: global phases over frames in arrival order (not ready; not ready then
// close; queued), every failEvery-th normal frame failed, and an oversize frame answered
// without consuming its payload.
type scriptedDeployed struct {
	notReady, notReadyClose, queued, failEvery, max int

	mu       sync.Mutex
	seen     int // frames that reached the phase logic
	normal   int // frames in normal service
	accepted int // frames accepted
	tooLarge int
	digest   Digest
}

func (d *scriptedDeployed) answer(payload []byte) (resp string, closeAfter bool) {
	txs, err := DecodeTransactions(payload)
	if err != nil || len(txs) == 0 {
		return `{"success":false,"error":"Invalid Transactions protobuf: scripted"}`, false
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	k := d.seen
	d.seen++
	switch {
	case k < d.notReady:
		return `{"success":false,"error":"Node not ready to accept transactions: node is starting"}`, false
	case k < d.notReady+d.notReadyClose:
		return `{"success":false,"error":"Node not ready: epoch transition"}`, true
	case k >= d.notReady+d.notReadyClose+d.queued:
		d.normal++
		if d.failEvery > 0 && d.normal%d.failEvery == 0 {
			return `{"success":false,"error":"Transaction submission failed: scripted"}`, false
		}
	}
	d.accepted++
	for _, tx := range txs {
		d.digest.Add(tx)
	}
	if k < d.notReady+d.notReadyClose+d.queued {
		return `{"success":true,"queued":true,"message":"queued for next epoch"}`, false
	}
	return fmt.Sprintf(`{"success":true,"tx_hash":"00","block_ref":"b","indices":[],"count":%d}`, len(txs)), false
}

func (d *scriptedDeployed) serve(c net.Conn) {
	defer c.Close()
	var head [4]byte
	for {
		if _, err := io.ReadFull(c, head[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(head[:])
		var resp string
		closeAfter := false
		if int(n) > d.max {
			// The deployed defect: answer, leave the payload in the stream.
			d.mu.Lock()
			d.tooLarge++
			d.mu.Unlock()
			resp = fmt.Sprintf(`{"success":false,"error":"Transaction too large: %d bytes (max: %d)"}`, n, d.max)
		} else {
			payload := make([]byte, n)
			if _, err := io.ReadFull(c, payload); err != nil {
				return
			}
			resp, closeAfter = d.answer(payload)
		}
		if err := WriteFrame(c, []byte(resp)); err != nil || closeAfter {
			return
		}
	}
}

// start listens on a fresh Unix socket and serves until the test ends.
func (d *scriptedDeployed) start(t *testing.T) string {
	t.Helper()
	if d.max == 0 {
		d.max = DefaultMaxFrameBytes
	}
	return peertest.ServeUnix(t, d.serve)
}

// sendTo sends payloads with one sender and returns its report and the digest of what
// it called delivered.
func sendTo(t *testing.T, ep string, mode Delivery, workers int, payloads [][]byte) (SenderReport, Digest) {
	t.Helper()
	var delivered AtomicDigest
	s, err := NewChannelBasedSender(ep, workers, 16, WithDelivery(mode),
		WithTransientRetry(5*time.Millisecond, 100*time.Millisecond, DefaultTransientRetries),
		WithOnDelivered(func(b []byte) {
			txs, _ := DecodeTransactions(b)
			for _, tx := range txs {
				delivered.Add(tx)
			}
		}))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range payloads {
		if err := s.SendBatch(p); err != nil {
			t.Fatalf("SendBatch: %v", err)
		}
	}
	return closeSender(t, s), delivered.Load()
}

func workloadBatches(seed uint64, n, k int) ([][]byte, Digest) {
	w := NewWorkload(seed, 650)
	var d Digest
	out := make([][]byte, n)
	for i := range out {
		out[i] = w.NextBatch(k)
		txs, _ := DecodeTransactions(out[i])
		for _, tx := range txs {
			d.Add(tx)
		}
	}
	return out, d
}

func TestSenderScriptedDeployedPhases(t *testing.T) {
	for _, mode := range []Delivery{Acknowledged, FireAndForget} {
		t.Run(mode.String(), func(t *testing.T) {
			d := &scriptedDeployed{notReady: 5, notReadyClose: 5, queued: 3}
			ep := d.start(t)
			payloads, want := workloadBatches(2, 60, 10)
			r, delivered := sendTo(t, ep, mode, 3, payloads)
			if r.Undelivered != 0 || r.Acknowledged != 60 || r.Delivered != 60 {
				t.Errorf("report %+v; want 60 acknowledged, 0 undelivered", r)
			}
			if got := r.Errors[KindNotReady]; got != 10 {
				t.Errorf("NotReady = %d; want 10 (%v)", got, r.Errors)
			}
			if got := r.Errors[KindRejected]; got != 0 {
				t.Errorf("Rejected = %d; want 0", got)
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			if d.accepted != 60 || d.digest != want || delivered != want {
				t.Errorf("server accepted %d frames, digest %v; sender delivered %v; want 60, %v", d.accepted, d.digest, delivered, want)
			}
		})
	}
}

func TestSenderScriptedDeployedRejections(t *testing.T) {
	for _, mode := range []Delivery{Acknowledged, FireAndForget} {
		t.Run(mode.String(), func(t *testing.T) {
			d := &scriptedDeployed{failEvery: 10}
			ep := d.start(t)
			payloads, _ := workloadBatches(3, 60, 5)
			r, delivered := sendTo(t, ep, mode, 2, payloads)
			if r.Undelivered != 6 || r.Acknowledged != 54 || r.Errors[KindRejected] != 6 || r.ResponsesError != 6 {
				t.Errorf("report %+v; want 6 rejected and undelivered, 54 acknowledged", r)
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			if d.accepted != 54 || d.digest != delivered {
				t.Errorf("server accepted %d (digest %v); sender delivered digest %v; want 54, equal", d.accepted, d.digest, delivered)
			}
		})
	}
}

func TestSenderScriptedDeployedOversizeIsOutOfStep(t *testing.T) {
	for _, mode := range []Delivery{Acknowledged, FireAndForget} {
		t.Run(mode.String(), func(t *testing.T) {
			d := &scriptedDeployed{max: 20000}
			ep := d.start(t)
			w := NewWorkload(4, 650)
			big := w.NextBatch(40)
			rest, want := workloadBatches(9, 10, 10)
			r, delivered := sendTo(t, ep, mode, 1, append([][]byte{big}, rest...))
			if r.Errors[KindRejected] != 1 || r.Errors[KindOutOfStep] < 1 || r.Acknowledged != 10 || r.Undelivered != 1 {
				t.Errorf("report %+v; want 1 rejected, out of step, 10 acknowledged, 1 undelivered", r)
			}
			d.mu.Lock()
			defer d.mu.Unlock()
			if d.accepted != 10 || d.digest != want || delivered != want || d.tooLarge < 1 {
				t.Errorf("server accepted %d (digest %v, %d too large); sender delivered %v; want 10, %v", d.accepted, d.digest, d.tooLarge, delivered, want)
			}
		})
	}
}

func TestClassifyError(t *testing.T) {
	tests := []struct {
		text string
		want ErrorClass
	}{
		{"Node not ready to accept transactions: x", TransientError},
		{"Node not ready: epoch transition", TransientError},
		{"Transaction too large: 9 bytes (max: 8)", OutOfStepError},
		{"Transaction submission failed: x", FinalError},
		{"node not ready", FinalError},
		{"", FinalError},
	}
	for _, tt := range tests {
		if got := ClassifyError(tt.text); got != tt.want {
			t.Errorf("ClassifyError(%q) = %v; want %v", tt.text, got, tt.want)
		}
	}
}

func TestTransientRetryDelay(t *testing.T) {
	r := TransientRetry{Initial: 100 * time.Millisecond, Max: 4 * time.Second, Retries: 30}
	want := []time.Duration{100, 200, 400, 800, 1600, 3200, 4000}
	for n, w := range want {
		if got, ok := r.Delay(n); !ok || got != w*time.Millisecond {
			t.Errorf("Delay(%d) = %v, %v; want %v", n, got, ok, w*time.Millisecond)
		}
	}
	if got, ok := r.Delay(29); !ok || got != 4*time.Second {
		t.Errorf("Delay(29) = %v, %v; want 4s", got, ok)
	}
	if _, ok := r.Delay(30); ok {
		t.Error("Delay(30) succeeded; want the budget spent")
	}
}
