package main

import (
	"bytes"
	"encoding/json"
	"io"
	"testing"

	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peertest"
)

func sendCLI(t *testing.T, args ...string) (int, map[string]any) {
	t.Helper()
	var stdout bytes.Buffer
	args = append([]string{"send", "--timeout-ms", "15000", "--transient-retry-ms", "5"}, args...)
	code := run(args, &stdout, io.Discard, nil)
	var rep map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &rep); err != nil {
		t.Fatalf("report line %q: %v", stdout.String(), err)
	}
	return code, rep
}

func errorCount(rep map[string]any, kind string) float64 {
	errs, _ := rep["errors"].(map[string]any)
	n, _ := errs[kind].(float64)
	return n
}

func TestDeployedEmulatorPhases(t *testing.T) {
	for _, delivery := range []string{"acknowledged", "fire-and-forget"} {
		t.Run(delivery, func(t *testing.T) {
			ep, stop := peertest.RustEmulator(t, "--not-ready", "5", "--not-ready-close", "5", "--queued", "3")
			code, sent := sendCLI(t, "--endpoint", ep, "--delivery", delivery, "--workers", "3", "--batches", "60", "--tx-per-batch", "10")
			got := stop()
			if code != 0 || sent["undelivered"] != 0.0 || sent["acknowledged"] != 60.0 || errorCount(sent, "NotReady") != 10 {
				t.Errorf("exit %d, report %v; want 0, 60 acknowledged, 10 NotReady", code, sent)
			}
			if got["digest"] != sent["digest"] || got["frames"] != 60.0 || got["queued"] != 3.0 {
				t.Errorf("emulator %v; sender digest %v; want equal digests, 60 frames, 3 queued", got, sent["digest"])
			}
		})
	}
}

func TestDeployedEmulatorRejections(t *testing.T) {
	for _, delivery := range []string{"acknowledged", "fire-and-forget"} {
		t.Run(delivery, func(t *testing.T) {
			ep, stop := peertest.RustEmulator(t, "--fail-submit-every", "10")
			code, sent := sendCLI(t, "--endpoint", ep, "--delivery", delivery, "--workers", "2", "--batches", "60")
			got := stop()
			if code != 1 || errorCount(sent, "Rejected") != 6 || sent["undelivered"] != 6.0 || sent["acknowledged"] != 54.0 {
				t.Errorf("exit %d, report %v; want 1, 6 rejected and undelivered, 54 acknowledged", code, sent)
			}
			if got["digest"] != sent["digest"] || got["frames"] != 54.0 {
				t.Errorf("emulator %v; sender digest %v; want equal digests, 54 frames", got, sent["digest"])
			}
		})
	}
}
