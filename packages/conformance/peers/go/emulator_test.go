package txlane

import (
	"testing"

	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peertest"
)

func TestSenderRustEmulatorOversizeIsOutOfStep(t *testing.T) {
	for _, mode := range []Delivery{Acknowledged, FireAndForget} {
		t.Run(mode.String(), func(t *testing.T) {
			ep, stop := peertest.RustEmulator(t, "--max-frame-bytes", "20000")
			w := NewWorkload(4, 650)
			big := w.NextBatch(40)
			rest, want := workloadBatches(9, 10, 10)
			r, delivered := sendTo(t, ep, mode, 1, append([][]byte{big}, rest...))
			got := stop()
			if r.Errors[KindRejected] != 1 || r.Errors[KindOutOfStep] < 1 || r.Acknowledged != 10 || r.Undelivered != 1 {
				t.Errorf("report %+v; want 1 rejected, out of step, 10 acknowledged, 1 undelivered", r)
			}
			if got["digest"] != want.String() || delivered != want || got["frames"] != 10.0 {
				t.Errorf("emulator %v; sender delivered %v; want 10 frames, digest %v", got, delivered, want)
			}
			if errs, _ := got["errors"].(map[string]any); errs["FrameTooLarge"] == nil {
				t.Errorf("emulator errors %v; want FrameTooLarge", errs)
			}
		})
	}
}

func TestSenderRustEmulatorPhases(t *testing.T) {
	for _, mode := range []Delivery{Acknowledged, FireAndForget} {
		t.Run(mode.String(), func(t *testing.T) {
			ep, stop := peertest.RustEmulator(t, "--not-ready", "5", "--not-ready-close", "5", "--queued", "3")
			payloads, want := workloadBatches(2, 60, 10)
			r, delivered := sendTo(t, ep, mode, 3, payloads)
			got := stop()
			if r.Undelivered != 0 || r.Acknowledged != 60 || r.Errors[KindNotReady] != 10 {
				t.Errorf("report %+v; want 60 acknowledged, 10 not ready, 0 undelivered", r)
			}
			if got["digest"] != want.String() || delivered != want || got["frames"] != 60.0 {
				t.Errorf("emulator %v; sender delivered %v; want 60 frames, digest %v", got, delivered, want)
			}
		})
	}
}
