package txlane

// The shared frames vectors (SPEC §10): decoded whole, cut in two at every offset, byte by
// byte, and through ReadFrame/FrameReader.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"testing"
	"testing/iotest"
)

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
