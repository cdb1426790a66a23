package txlane

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// vectorsDir holds the language-neutral vectors shared by every implementation.
const vectorsDir = "../../../protocol/vectors"

// vectorFile is SPEC §10's file shape.
type vectorFile struct {
	Format      string            `json:"format"`
	Kind        string            `json:"kind"`
	Description string            `json:"description"`
	Vectors     []json.RawMessage `json:"vectors"`
}

// vectorError is the `error` member of every kind.
type vectorError struct {
	Kind     string `json:"kind"`
	Length   int64  `json:"length"`
	Max      int64  `json:"max"`
	Expected int64  `json:"expected"`
	Received int64  `json:"received"`
	Offset   *int   `json:"offset"`
}

// loadVectorFiles reads every vectors/*.json, failing loudly if there are none: a
// conformance test that finds nothing to check must not pass.
func loadVectorFiles(t testing.TB) map[string]vectorFile {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(vectorsDir, "*.json"))
	if err != nil {
		t.Fatalf("glob vectors: %v", err)
	}
	if len(paths) == 0 {
		t.Fatalf("no vector files in %s: the shared vectors are required", vectorsDir)
	}
	files := make(map[string]vectorFile)
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			t.Fatalf("read %s: %v", p, err)
		}
		var f vectorFile
		if err := json.Unmarshal(raw, &f); err != nil {
			t.Fatalf("parse %s: %v", p, err)
		}
		if f.Format != "txlane-vectors/1" {
			t.Fatalf("%s: format %q; want txlane-vectors/1", p, f.Format)
		}
		if len(f.Vectors) == 0 {
			t.Fatalf("%s: no vectors", p)
		}
		files[filepath.Base(p)] = f
	}
	return files
}

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// TestVectors runs every shared vector, by kind.
func TestVectors(t *testing.T) {
	files := loadVectorFiles(t)
	counts := map[string]int{}
	for name, f := range files {
		t.Run(strings.TrimSuffix(name, ".json"), func(t *testing.T) {
			var run func(*testing.T, json.RawMessage)
			switch f.Kind {
			case "frames":
				run = runFramesVector
			case "envelope":
				run = runEnvelopeVector
			case "response":
				run = runResponseVector
			case "receiver":
				run = runReceiverVector
			case "workload":
				run = runWorkloadVector
			case "defaults":
				return // TestDefaults (defaults_test.go) compares them with the constants
			default:
				t.Logf("WARNING: %s: unknown vector kind %q: %d vectors not checked", name, f.Kind, len(f.Vectors))
				return
			}
			for i, raw := range f.Vectors {
				var head struct {
					Name string `json:"name"`
				}
				if err := json.Unmarshal(raw, &head); err != nil || head.Name == "" {
					t.Fatalf("vector %d: no name (%v)", i, err)
				}
				counts[f.Kind]++
				t.Run(head.Name, func(t *testing.T) { run(t, raw) })
			}
		})
	}
	for _, kind := range []string{"frames", "envelope", "response", "receiver", "workload"} {
		if counts[kind] == 0 {
			t.Errorf("no %s vectors found; want at least one", kind)
		}
	}
	t.Logf("vectors checked by kind: %v", counts)
}

type envelopeVector struct {
	Input        string       `json:"input"`
	Transactions []string     `json:"transactions"`
	Error        *vectorError `json:"error"`
	Canonical    bool         `json:"canonical"`
}

func runEnvelopeVector(t *testing.T, raw json.RawMessage) {
	var v envelopeVector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("parse: %v", err)
	}
	input := mustHex(t, v.Input)
	txs, err := DecodeTransactions(input)
	if v.Error != nil {
		var me *MalformedEnvelopeError
		if !errors.As(err, &me) || !errors.Is(err, ErrMalformedEnvelope) {
			t.Fatalf("DecodeTransactions(%s) = %x, %v; want MalformedEnvelope", v.Input, txs, err)
		}
		if v.Error.Offset == nil {
			t.Fatalf("vector has no offset")
		}
		if me.Offset != *v.Error.Offset {
			t.Errorf("offset: got %d; want %d (%v)", me.Offset, *v.Error.Offset, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("DecodeTransactions(%s): got error %v; want %v", v.Input, err, v.Transactions)
	}
	got := make([]string, len(txs))
	for i, tx := range txs {
		got[i] = hex.EncodeToString(tx)
	}
	want := v.Transactions
	if want == nil {
		want = []string{}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("transactions: got %v; want %v", got, want)
	}
	if v.Canonical {
		wantTxs := make([][]byte, len(want))
		for i, h := range want {
			wantTxs[i] = mustHex(t, h)
		}
		if enc := EncodeTransactions(wantTxs); !bytes.Equal(enc, input) {
			t.Errorf("EncodeTransactions: got %x; want %s", enc, v.Input)
		}
	}
}

type responseVector struct {
	Input    string         `json:"input"`
	Response map[string]any `json:"response"`
	Error    *vectorError   `json:"error"`
}

func runResponseVector(t *testing.T, raw json.RawMessage) {
	var v responseVector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("parse: %v", err)
	}
	input := mustHex(t, v.Input)
	r, err := DecodeResponse(input)
	if v.Error != nil {
		if !errors.Is(err, ErrMalformedResponse) {
			t.Fatalf("DecodeResponse(%q) = %+v, %v; want MalformedResponse", input, r, err)
		}
		return
	}
	if err != nil {
		t.Fatalf("DecodeResponse(%q): got error %v; want %v", input, err, v.Response)
	}
	got, err := r.AsMap()
	if err != nil {
		t.Fatalf("AsMap: %v", err)
	}
	if !reflect.DeepEqual(got, v.Response) {
		t.Errorf("DecodeResponse(%q): got %v; want %v", input, got, v.Response)
	}
	// Encoding what was decoded must decode to the same object again.
	enc, err := EncodeResponse(r)
	if err != nil {
		t.Fatalf("EncodeResponse: %v", err)
	}
	r2, err := DecodeResponse(enc)
	if err != nil {
		t.Fatalf("re-decode %s: %v", enc, err)
	}
	if got2, _ := r2.AsMap(); !reflect.DeepEqual(got2, v.Response) {
		t.Errorf("round trip: got %v; want %v", got2, v.Response)
	}
}

func leftPad16(s string) string { return strings.Repeat("0", max(0, 16-len(s))) + s }
