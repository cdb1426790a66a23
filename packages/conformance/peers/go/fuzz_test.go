package txlane

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// vectorInputs returns the hex inputs of the shared vectors of one kind, as fuzz seeds.
// (TestVectors is the test that fails if the vectors are missing.)
func vectorInputs(kind string) [][]byte {
	paths, _ := filepath.Glob(filepath.Join(vectorsDir, "*.json"))
	var out [][]byte
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var f vectorFile
		if json.Unmarshal(raw, &f) != nil || f.Kind != kind {
			continue
		}
		for _, v := range f.Vectors {
			var in struct {
				Input string `json:"input"`
			}
			if json.Unmarshal(v, &in) == nil {
				if b, err := hex.DecodeString(in.Input); err == nil {
					out = append(out, b)
				}
			}
		}
	}
	return out
}

// FuzzDecoder checks that the push Decoder gives the same frames and error whatever the
// chunking, and agrees with FrameReader. Its seed corpus runs with plain `go test`.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte{0, 0, 0, 1, 'a', 0, 0, 0, 0}, uint16(16), uint16(3))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff}, uint16(16), uint16(1))
	for _, in := range vectorInputs("frames") {
		f.Add(in, uint16(64), uint16(len(in)/2))
	}
	for _, in := range vectorInputs("receiver") {
		f.Add(in, uint16(16), uint16(5))
	}
	f.Fuzz(func(t *testing.T, input []byte, max uint16, cut uint16) {
		m := int(max)
		whole := decodeChunks(m, [][]byte{input})
		c := int(cut) % (len(input) + 1)
		if split := decodeChunks(m, [][]byte{input[:c:c], input[c:]}); !reflect.DeepEqual(split, whole) {
			t.Fatalf("split at %d: %+v; whole: %+v", c, split, whole)
		}
		if r := decodeReader(m, bytes.NewReader(input)); !reflect.DeepEqual(r, whole) {
			t.Fatalf("FrameReader: %+v; Decoder: %+v", r, whole)
		}
	})
}

// FuzzEnvelope checks that DecodeTransactions never panics, reports offsets inside the
// payload, and that what it accepts re-encodes to something that decodes the same.
func FuzzEnvelope(f *testing.F) {
	f.Add([]byte{})
	f.Add(EncodeTransactions([][]byte{[]byte("a"), {}}))
	f.Add([]byte{0x1b, 0x08, 0x01, 0x1c, 0x0a, 0x01, 0xaa})
	for _, in := range vectorInputs("envelope") {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		txs, err := DecodeTransactions(payload)
		if err != nil {
			var me *MalformedEnvelopeError
			if !asMalformed(err, &me) || me.Offset < 0 || me.Offset >= len(payload) || me.Reason == "" {
				t.Fatalf("bad error %#v for %x", err, payload)
			}
			return
		}
		again, err := DecodeTransactions(EncodeTransactions(txs))
		if err != nil || len(again) != len(txs) {
			t.Fatalf("re-decode: %d txs, %v; want %d", len(again), err, len(txs))
		}
		for i := range txs {
			if !bytes.Equal(again[i], txs[i]) {
				t.Fatalf("tx %d: %x; want %x", i, again[i], txs[i])
			}
		}
	})
}

func asMalformed(err error, target **MalformedEnvelopeError) bool {
	me, ok := err.(*MalformedEnvelopeError)
	*target = me
	return ok
}

// FuzzResponse checks that DecodeResponse never panics and that what it accepts
// survives EncodeResponse.
func FuzzResponse(f *testing.F) {
	f.Add([]byte(`{"success":true,"count":1}`))
	for _, in := range vectorInputs("response") {
		f.Add(in)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		r, err := DecodeResponse(payload)
		if err != nil {
			return
		}
		enc, err := EncodeResponse(r)
		if err != nil {
			t.Fatalf("EncodeResponse(%+v): %v", r, err)
		}
		r2, err := DecodeResponse(enc)
		if err != nil {
			t.Fatalf("re-decode %s: %v", enc, err)
		}
		a, _ := r.AsMap()
		b, _ := r2.AsMap()
		if !reflect.DeepEqual(a, b) {
			t.Fatalf("round trip %v; want %v", b, a)
		}
	})
}
