package txlane

import (
	"bytes"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"testing/iotest"
)

func TestReadFrameErrors(t *testing.T) {
	tests := []struct {
		name    string
		input   []byte
		max     int
		want    []byte
		wantErr error
		check   func(t *testing.T, err error)
	}{
		{name: "clean EOF", input: nil, max: 16, wantErr: io.EOF},
		{name: "empty frame", input: []byte{0, 0, 0, 0}, max: 16, want: []byte{}},
		{name: "at max", input: append([]byte{0, 0, 0, 2}, 'a', 'b'), max: 2, want: []byte("ab")},
		{
			name: "over max", input: []byte{0, 0, 0, 3, 'a', 'b', 'c'}, max: 2, wantErr: ErrFrameTooLarge,
			check: func(t *testing.T, err error) {
				var e *FrameTooLargeError
				if !errors.As(err, &e) || e.Length != 3 || e.Max != 2 {
					t.Errorf("got %#v; want FrameTooLargeError{3, 2}", err)
				}
			},
		},
		{
			name: "short header", input: []byte{0, 0}, max: 16, wantErr: ErrTruncatedFrame,
			check: func(t *testing.T, err error) {
				var e *TruncatedFrameError
				if !errors.As(err, &e) || e.Expected != 4 || e.Received != 2 {
					t.Errorf("got %#v; want TruncatedFrameError{4, 2}", err)
				}
			},
		},
		{
			name: "short payload", input: []byte{0, 0, 0, 5, 1, 2}, max: 16, wantErr: ErrTruncatedFrame,
			check: func(t *testing.T, err error) {
				var e *TruncatedFrameError
				if !errors.As(err, &e) || e.Expected != 9 || e.Received != 6 {
					t.Errorf("got %#v; want TruncatedFrameError{9, 6}", err)
				}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadFrame(bytes.NewReader(tt.input), tt.max)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("ReadFrame err = %v; want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && !bytes.Equal(got, tt.want) {
				t.Errorf("ReadFrame = %q; want %q", got, tt.want)
			}
			if tt.check != nil {
				tt.check(t, err)
			}
			if err != nil && err != io.EOF && !strings.HasPrefix(err.Error(), "txlane: ") {
				t.Errorf("error %q; want a \"txlane: \" prefix", err)
			}
		})
	}
}

// countingReader fails the test if more than limit bytes are read: an oversize header
// must stop the decoder before it consumes (or allocates for) the payload.
type countingReader struct {
	r     io.Reader
	n     int
	limit int
	t     *testing.T
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	if c.n > c.limit {
		c.t.Errorf("read %d bytes; want at most %d", c.n, c.limit)
	}
	return n, err
}

func TestReadFrameOversizeReadsOnlyHeader(t *testing.T) {
	input := append([]byte{0xff, 0xff, 0xff, 0xff}, make([]byte, 100)...)
	r := &countingReader{r: iotest.OneByteReader(bytes.NewReader(input)), limit: 4, t: t}
	_, err := ReadFrame(r, DefaultMaxFrameBytes)
	var e *FrameTooLargeError
	if !errors.As(err, &e) || e.Length != 0xffffffff || e.Max != DefaultMaxFrameBytes {
		t.Fatalf("got %v; want FrameTooLarge 4294967295 > 10485760", err)
	}
}

func TestFrameReaderStickyError(t *testing.T) {
	fr := NewFrameReader(bytes.NewReader([]byte{0, 0, 0, 9, 0, 0, 0, 1, 'x'}), 8)
	for i := 0; i < 2; i++ {
		if _, err := fr.ReadFrame(); !errors.Is(err, ErrFrameTooLarge) {
			t.Fatalf("read %d: got %v; want ErrFrameTooLarge (sticky)", i, err)
		}
	}
}

func TestReadFrameLargeGrows(t *testing.T) {
	payload := bytes.Repeat([]byte{7}, 3*eagerAllocLimit+5)
	var buf bytes.Buffer
	if err := WriteFrame(&buf, payload); err != nil {
		t.Fatal(err)
	}
	got, err := ReadFrame(iotest.HalfReader(&buf), DefaultMaxFrameBytes)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("ReadFrame = %d bytes, %v; want %d bytes", len(got), err, len(payload))
	}
	// Truncated in the grown region reports exact numbers.
	buf.Reset()
	WriteFrame(&buf, payload)
	cut := buf.Bytes()[:HeaderSize+2*eagerAllocLimit]
	_, err = ReadFrame(bytes.NewReader(cut), DefaultMaxFrameBytes)
	var e *TruncatedFrameError
	if !errors.As(err, &e) || e.Expected != int64(HeaderSize+len(payload)) || e.Received != int64(len(cut)) {
		t.Fatalf("got %v; want TruncatedFrame %d/%d", err, len(cut), HeaderSize+len(payload))
	}
}

func TestDecoderZeroValueUsesDefault(t *testing.T) {
	var d Decoder
	if _, err := d.Feed([]byte{0x00, 0xa0, 0x00, 0x00}); err != nil {
		t.Fatalf("10 MiB header: got %v; want accepted", err)
	}
	var d2 Decoder
	if _, err := d2.Feed([]byte{0x00, 0xa0, 0x00, 0x01}); !errors.Is(err, ErrFrameTooLarge) {
		t.Fatalf("10 MiB + 1 header: got %v; want ErrFrameTooLarge", err)
	}
}

func TestWriteFrameAndFrameWriter(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteFrame(&buf, []byte("abc")); err != nil {
		t.Fatal(err)
	}
	if got, want := buf.Bytes(), []byte{0, 0, 0, 3, 'a', 'b', 'c'}; !bytes.Equal(got, want) {
		t.Errorf("WriteFrame wrote %x; want %x", got, want)
	}

	buf.Reset()
	fw := NewFrameWriter(&buf)
	for _, p := range []string{"x", "", "yz"} {
		fw.WriteFrame([]byte(p))
	}
	if fw.Pending() != 3 || buf.Len() != 0 {
		t.Fatalf("before Flush: pending %d, written %d; want 3, 0", fw.Pending(), buf.Len())
	}
	if err := fw.Flush(); err != nil {
		t.Fatal(err)
	}
	want := []byte{0, 0, 0, 1, 'x', 0, 0, 0, 0, 0, 0, 0, 2, 'y', 'z'}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("FrameWriter wrote %x; want %x", buf.Bytes(), want)
	}
	if fw.Pending() != 0 {
		t.Errorf("after Flush: pending %d; want 0", fw.Pending())
	}
}

// TestWriteFrameOverConn checks the writev path on a real connection.
func TestWriteFrameOverConn(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	payload := bytes.Repeat([]byte("q"), 100000)
	go func() { WriteFrame(a, payload) }()
	got, err := ReadFrame(b, DefaultMaxFrameBytes)
	if err != nil || !bytes.Equal(got, payload) {
		t.Fatalf("got %d bytes, %v; want %d bytes", len(got), err, len(payload))
	}
}

func TestAppendFrame(t *testing.T) {
	got := AppendFrame([]byte{9}, []byte{1, 2})
	if want := []byte{9, 0, 0, 0, 2, 1, 2}; !bytes.Equal(got, want) {
		t.Errorf("AppendFrame = %x; want %x", got, want)
	}
}
