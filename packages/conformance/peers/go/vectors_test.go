package txlane

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"
	"time"
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

type framesVector struct {
	Input         string       `json:"input"`
	MaxFrameBytes *int         `json:"maxFrameBytes"`
	Frames        []string     `json:"frames"`
	Error         *vectorError `json:"error"`
}

// frameOutcome is what decoding a whole stream gives, for comparison.
type decodeResult struct {
	Frames []string
	Err    string // "" or "FrameTooLarge length max" / "TruncatedFrame expected received"
}

func describeFrameErr(err error) string {
	var tl *FrameTooLargeError
	var tr *TruncatedFrameError
	switch {
	case err == nil:
		return ""
	case errors.As(err, &tl):
		return "FrameTooLarge " + strconv.FormatInt(tl.Length, 10) + " " + strconv.FormatInt(tl.Max, 10)
	case errors.As(err, &tr):
		return "TruncatedFrame " + strconv.FormatInt(tr.Expected, 10) + " " + strconv.FormatInt(tr.Received, 10)
	default:
		return "unexpected: " + err.Error()
	}
}

// decodeChunks runs the push Decoder over the given chunks, then ends the stream.
func decodeChunks(max int, chunks [][]byte) decodeResult {
	d := NewDecoder(max)
	res := decodeResult{Frames: []string{}}
	for _, c := range chunks {
		frames, err := d.Feed(c)
		for _, f := range frames {
			res.Frames = append(res.Frames, hex.EncodeToString(f))
		}
		if err != nil {
			res.Err = describeFrameErr(err)
			return res
		}
	}
	res.Err = describeFrameErr(d.End())
	return res
}

// decodeReader runs a FrameReader over r until an error.
func decodeReader(max int, r io.Reader) decodeResult {
	fr := NewFrameReader(r, max)
	res := decodeResult{Frames: []string{}}
	for {
		f, err := fr.ReadFrame()
		if errors.Is(err, io.EOF) {
			return res
		}
		if err != nil {
			res.Err = describeFrameErr(err)
			return res
		}
		res.Frames = append(res.Frames, hex.EncodeToString(f))
	}
}

// chunkReader returns its chunks one Read at a time.
type chunkReader struct{ chunks [][]byte }

func (r *chunkReader) Read(p []byte) (int, error) {
	for len(r.chunks) > 0 && len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	return n, nil
}

func runFramesVector(t *testing.T, raw json.RawMessage) {
	var v framesVector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("parse: %v", err)
	}
	input := mustHex(t, v.Input)
	max := DefaultMaxFrameBytes
	if v.MaxFrameBytes != nil {
		max = *v.MaxFrameBytes
	}
	want := decodeResult{Frames: v.Frames, Err: ""}
	if want.Frames == nil {
		want.Frames = []string{}
	}
	if v.Error != nil {
		switch v.Error.Kind {
		case "FrameTooLarge":
			want.Err = "FrameTooLarge " + strconv.FormatInt(v.Error.Length, 10) + " " + strconv.FormatInt(v.Error.Max, 10)
		case "TruncatedFrame":
			want.Err = "TruncatedFrame " + strconv.FormatInt(v.Error.Expected, 10) + " " + strconv.FormatInt(v.Error.Received, 10)
		default:
			t.Fatalf("unknown error kind %q", v.Error.Kind)
		}
	}
	check := func(how string, got decodeResult) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v; want %+v", how, got, want)
		}
	}
	check("one chunk", decodeChunks(max, [][]byte{input}))
	check("reader", decodeReader(max, bytes.NewReader(input)))
	check("reader one byte at a time", decodeReader(max, iotest.OneByteReader(bytes.NewReader(input))))
	for cut := 0; cut <= len(input); cut++ {
		chunks := [][]byte{input[:cut:cut], input[cut:]}
		check("split at "+strconv.Itoa(cut), decodeChunks(max, chunks))
		chunks = [][]byte{input[:cut:cut], input[cut:]}
		check("reader split at "+strconv.Itoa(cut), decodeReader(max, &chunkReader{chunks: chunks}))
	}
	bytewise := make([][]byte, len(input))
	for i := range input {
		bytewise[i] = input[i : i+1]
	}
	check("byte by byte", decodeChunks(max, bytewise))
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

type receiverVector struct {
	Input         string           `json:"input"`
	MaxFrameBytes *int             `json:"maxFrameBytes"`
	Responses     []map[string]any `json:"responses"`
	Closes        bool             `json:"closes"`
}

func runReceiverVector(t *testing.T, raw json.RawMessage) {
	var v receiverVector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("parse: %v", err)
	}
	input := mustHex(t, v.Input)
	srv := &Server{Handlers: 2}
	if v.MaxFrameBytes != nil {
		srv.MaxFrameBytes = *v.MaxFrameBytes
	}
	path := shortSocketPath(t)
	l, err := srv.Listen(path)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(l) }()
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		if err := <-served; !errors.Is(err, ErrServerClosed) {
			t.Errorf("Serve: got %v; want ErrServerClosed", err)
		}
	}()

	c, err := net.Dial("unix", path)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer c.Close()
	// Write from another goroutine: a receiver that closes early may leave the write
	// failing, which is not what is being tested.
	go c.Write(input)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	fr := NewFrameReader(c, DefaultMaxFrameBytes)
	for i, want := range v.Responses {
		payload, err := fr.ReadFrame()
		if err != nil {
			t.Fatalf("response %d: %v; want %v", i, err, want)
		}
		r, err := DecodeResponse(payload)
		if err != nil {
			t.Fatalf("response %d %q: %v", i, payload, err)
		}
		got, _ := r.AsMap()
		if !responseMatches(got, want) {
			t.Errorf("response %d: got %v; want %v", i, got, want)
		}
	}
	// Then: closed (EOF or reset) or still open (a short read times out)?
	wait := 300 * time.Millisecond
	if v.Closes {
		wait = 5 * time.Second
	}
	c.SetReadDeadline(time.Now().Add(wait))
	extra, err := fr.ReadFrame()
	switch {
	case err == nil:
		t.Errorf("unexpected extra response %q", extra)
	case errors.Is(err, os.ErrDeadlineExceeded):
		if v.Closes {
			t.Errorf("connection still open; want closed")
		}
	default: // EOF or connection reset: closed
		if !v.Closes {
			t.Errorf("connection closed (%v); want open", err)
		}
	}
}

// responseMatches compares a response with a vector's: an `error` ending in "…" is a
// prefix.
func responseMatches(got, want map[string]any) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			return false
		}
		if ws, isStr := w.(string); isStr && k == "error" && strings.HasSuffix(ws, "…") {
			gs, ok := g.(string)
			if !ok || !strings.HasPrefix(gs, strings.TrimSuffix(ws, "…")) {
				return false
			}
			continue
		}
		if !reflect.DeepEqual(g, w) {
			return false
		}
	}
	return true
}

// workloadVector covers every entry type of workload.json.
type workloadVector struct {
	Type         string   `json:"type"`
	Seed         string   `json:"seed"`
	Outputs      []string `json:"outputs"`
	Transactions any      `json:"transactions"` // []string (digest) or a count (workload-digest)
	Digest       string   `json:"digest"`
	TxSize       int      `json:"txSize"`
	Index        *uint64  `json:"index"`
	Length       *int     `json:"length"`
	Transaction  string   `json:"transaction"`
	Batches      int      `json:"batches"`
	TxPerBatch   int      `json:"txPerBatch"`
}

func runWorkloadVector(t *testing.T, raw json.RawMessage) {
	var v workloadVector
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatalf("parse: %v", err)
	}
	seed := func() uint64 {
		n, err := strconv.ParseUint(v.Seed, 10, 64)
		if err != nil {
			t.Fatalf("seed %q: %v", v.Seed, err)
		}
		return n
	}
	switch v.Type {
	case "prng":
		g := NewSplitMix64(seed())
		for i, want := range v.Outputs {
			if got := strconv.FormatUint(g.Next(), 16); leftPad16(got) != want {
				t.Errorf("output %d: got %s; want %s", i, leftPad16(got), want)
			}
		}
	case "digest":
		list, ok := v.Transactions.([]any)
		if !ok {
			t.Fatalf("transactions: got %T; want a list", v.Transactions)
		}
		var d Digest
		for _, h := range list {
			d.Add(mustHex(t, h.(string)))
		}
		if d.String() != v.Digest {
			t.Errorf("digest: got %s; want %s", d, v.Digest)
		}
	case "transaction":
		if v.Index == nil {
			t.Fatalf("no index")
		}
		w := NewWorkload(seed(), v.TxSize)
		var tx []byte
		for range *v.Index + 1 {
			tx = w.NextTransaction()
		}
		if v.Length != nil && len(tx) != *v.Length {
			t.Errorf("length: got %d; want %d", len(tx), *v.Length)
		}
		if got := hex.EncodeToString(tx); got != v.Transaction {
			t.Errorf("transaction %d:\n got %s\nwant %s", *v.Index, got, v.Transaction)
		}
	case "workload-digest":
		count, ok := v.Transactions.(float64)
		if !ok {
			t.Fatalf("transactions: got %T; want a count", v.Transactions)
		}
		w := NewWorkload(seed(), v.TxSize)
		var d Digest
		n := 0
		for range v.Batches {
			txs, err := DecodeTransactions(w.NextBatch(v.TxPerBatch))
			if err != nil {
				t.Fatalf("batch does not decode: %v", err)
			}
			for _, tx := range txs {
				d.Add(tx)
				n++
			}
		}
		if n != int(count) {
			t.Errorf("transactions: got %d; want %d", n, int(count))
		}
		if d.String() != v.Digest {
			t.Errorf("digest: got %s; want %s", d, v.Digest)
		}
	default:
		t.Logf("WARNING: unknown workload vector type %q: not checked", v.Type)
	}
}

func leftPad16(s string) string { return strings.Repeat("0", max(0, 16-len(s))) + s }

// shortSocketPath returns a fresh socket path short enough for sun_path (108 bytes):
// t.TempDir() can be too long, so it uses a private directory under /tmp.
func shortSocketPath(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("/tmp", "txg")
	if err != nil {
		t.Fatalf("MkdirTemp: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return filepath.Join(dir, "s.sock")
}
