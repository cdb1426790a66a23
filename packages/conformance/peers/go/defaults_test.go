package txlane_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	txlane "github.com/txlane/txlane/packages/conformance/peers/go"
	"github.com/txlane/txlane/packages/conformance/peers/go/internal/peercli"
)

// defaultsFile is the shared defaults table (SPEC §11).
var defaultsFile = filepath.Join("..", "..", "..", "protocol", "vectors", "defaults.json")

// defaultVector is one row of defaults.json: the TypeScript value, and per other
// implementation its value when it differs (null: it has no such setting).
type defaultVector struct {
	Name    string                     `json:"name"`
	TS      *float64                   `json:"ts"`
	Differs map[string]json.RawMessage `json:"differs"`
}

// expected is what implementation impl should have for v: nil for no such setting.
func (v defaultVector) expected(t *testing.T, impl string) *float64 {
	t.Helper()
	raw, ok := v.Differs[impl]
	if !ok {
		return v.TS
	}
	if v.Differs["reason"] == nil {
		t.Errorf("%s: differs without a reason", v.Name)
	}
	var value *float64
	if err := json.Unmarshal(raw, &value); err != nil {
		t.Fatalf("%s: differs.%s: %v", v.Name, impl, err)
	}
	return value
}

func ms(d time.Duration) float64 { return float64(d.Milliseconds()) }

// goDefaults are this implementation's values of the shared defaults, by their name in
// defaults.json.
var goDefaults = map[string]float64{
	"maxFrameBytes":                    txlane.DefaultMaxFrameBytes,
	"receiver.handlers":                txlane.DefaultHandlers,
	"receiver.frameTimeoutMs":          ms(txlane.DefaultFrameTimeout),
	"receiver.lingerMs":                ms(txlane.DefaultLinger),
	"receiver.maxConnections":          txlane.DefaultMaxConnections,
	"receiver.connectionQueueCapacity": txlane.DefaultMaxInFlightPerConn,
	// Server.QueueFrames: zero means 4 × Handlers.
	"receiver.queueCapacity":            4 * txlane.DefaultHandlers,
	"receiver.socketMode":               float64(txlane.DefaultSocketMode),
	"receiver.closeTimeoutMs":           ms(peercli.ShutdownTimeout),
	"sender.workers":                    txlane.DefaultSenderWorkers,
	"sender.queueCapacity":              txlane.DefaultSenderBuffer,
	"sender.maxInFlight":                txlane.DefaultMaxInFlight,
	"sender.ackTimeoutMs":               ms(txlane.DefaultAckTimeout),
	"sender.connectTimeoutMs":           ms(txlane.DefaultDialTimeout),
	"sender.reconnectFirstDelayMs":      ms(txlane.DefaultBackoffMin),
	"sender.reconnectMaxDelayMs":        ms(txlane.DefaultBackoffMax),
	"sender.maxResponseBytes":           txlane.DefaultMaxResponseBytes,
	"sender.transientRetryFirstDelayMs": ms(txlane.DefaultTransientRetry),
	"sender.transientRetryMaxDelayMs":   ms(txlane.DefaultTransientRetryMax),
	"sender.transientRetries":           txlane.DefaultTransientRetries,
	"sender.autoSilenceMs":              ms(txlane.AutoSilence),
	"sender.drainAfterCloseMs":          ms(txlane.DefaultDrainTimeout),
	"sender.fireAndForgetWindow":        txlane.DefaultFireAndForgetWindow,
}

// TestDefaults checks every row of defaults.json against the Go constants, and that every
// Go constant of the table has a row.
func TestDefaults(t *testing.T) {
	raw, err := os.ReadFile(defaultsFile)
	if err != nil {
		t.Fatalf("the shared defaults table is required: %v", err)
	}
	var file struct {
		Kind    string          `json:"kind"`
		Vectors []defaultVector `json:"vectors"`
	}
	if err := json.Unmarshal(raw, &file); err != nil {
		t.Fatalf("parse %s: %v", defaultsFile, err)
	}
	if file.Kind != "defaults" || len(file.Vectors) == 0 {
		t.Fatalf("%s: kind %q with %d rows; want defaults rows", defaultsFile, file.Kind, len(file.Vectors))
	}
	rows := map[string]bool{}
	for _, v := range file.Vectors {
		rows[v.Name] = true
		want := v.expected(t, "go")
		got, has := goDefaults[v.Name]
		switch {
		case want == nil && has:
			t.Errorf("%s: Go has %v; defaults.json says Go has no such setting", v.Name, got)
		case want != nil && !has:
			t.Errorf("%s: defaults.json says Go has %v; no Go constant is mapped", v.Name, *want)
		case want != nil && got != *want:
			t.Errorf("%s: Go has %v; defaults.json says %v", v.Name, got, *want)
		}
	}
	for name := range goDefaults {
		if !rows[name] {
			t.Errorf("%s: a Go default without a row in defaults.json", name)
		}
	}
}
