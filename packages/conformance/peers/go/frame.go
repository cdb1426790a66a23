package txlane

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
)

// DefaultMaxFrameBytes is the default largest frame payload a decoder accepts:
// 10 MiB, the deployed server's limit (SPEC §3).
const DefaultMaxFrameBytes = 10 << 20

// HeaderSize is the size of a frame header: a big-endian uint32 payload length (SPEC §2).
const HeaderSize = 4

// MaxFrameLength is the largest payload a header can announce at all (the u32 range).
const MaxFrameLength = math.MaxUint32

// eagerAllocLimit bounds how much payload buffer is allocated on the strength of a header
// alone. Announced lengths up to the limit are legal, but a peer that announces 10 MiB and
// then sends nothing should not cost 10 MiB per connection; bigger payloads grow as their
// bytes actually arrive.
const eagerAllocLimit = 64 << 10

var (
	// ErrFrameTooLarge is matched (errors.Is) by every *FrameTooLargeError: a header
	// announced a length above the decoder's limit. The stream cannot be resynchronised.
	ErrFrameTooLarge = errors.New("txlane: frame too large")

	// ErrTruncatedFrame is matched (errors.Is) by every *TruncatedFrameError: the stream
	// ended inside a frame. The partial frame is discarded.
	ErrTruncatedFrame = errors.New("txlane: truncated frame")
)

// FrameTooLargeError is SPEC §3's FrameTooLarge { length, max }.
type FrameTooLargeError struct {
	Length int64 // the announced payload length
	Max    int64 // the limit it exceeded
}

// Error implements error.
func (e *FrameTooLargeError) Error() string {
	return fmt.Sprintf("txlane: frame too large: %d bytes (max: %d)", e.Length, e.Max)
}

// Is makes errors.Is(err, ErrFrameTooLarge) true.
func (e *FrameTooLargeError) Is(target error) bool { return target == ErrFrameTooLarge }

// TruncatedFrameError is SPEC §3's TruncatedFrame { expected, received }.
type TruncatedFrameError struct {
	// Expected is 4 while the header was incomplete, 4 + length otherwise.
	Expected int64
	// Received is how many bytes of the frame (header included) did arrive.
	Received int64
}

// Error implements error.
func (e *TruncatedFrameError) Error() string {
	return fmt.Sprintf("txlane: truncated frame: expected %d bytes, received %d", e.Expected, e.Received)
}

// Is makes errors.Is(err, ErrTruncatedFrame) true.
func (e *TruncatedFrameError) Is(target error) bool { return target == ErrTruncatedFrame }

// normMax turns a configuration field into the effective limit: zero means the default
// (fields are usable at their zero value), and nothing above the u32 range can be
// announced anyway.
func normMax(max int) int64 {
	if max == 0 {
		return DefaultMaxFrameBytes
	}
	return limitOf(max)
}

// limitOf takes an explicit limit literally (0 accepts only empty frames); a negative
// limit is a programming error and is treated as 0.
func limitOf(max int) int64 {
	if max < 0 {
		return 0
	}
	if int64(max) > MaxFrameLength {
		return MaxFrameLength
	}
	return int64(max)
}

// ReadFrame reads one frame from r and returns its payload. max is the largest payload
// accepted, taken literally (pass DefaultMaxFrameBytes for the protocol default); the
// announced length is compared with it before any payload buffer is allocated.
//
// It returns io.EOF if r ends cleanly before the first header byte, a *TruncatedFrameError
// if r ends inside the frame, a *FrameTooLargeError for an oversize header (nothing after
// the header is read), and any other read error wrapped.
func ReadFrame(r io.Reader, max int) ([]byte, error) {
	var hdr [HeaderSize]byte
	n, err := io.ReadFull(r, hdr[:])
	if err != nil {
		if errors.Is(err, io.EOF) && n == 0 {
			return nil, io.EOF
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &TruncatedFrameError{Expected: HeaderSize, Received: int64(n)}
		}
		return nil, fmt.Errorf("txlane: read frame header: %w", err)
	}
	length := int64(binary.BigEndian.Uint32(hdr[:]))
	if limit := limitOf(max); length > limit {
		return nil, &FrameTooLargeError{Length: length, Max: limit}
	}
	payload, got, err := readPayload(r, length)
	if err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, &TruncatedFrameError{Expected: HeaderSize + length, Received: HeaderSize + got}
		}
		return nil, fmt.Errorf("txlane: read frame payload: %w", err)
	}
	return payload, nil
}

// readPayload reads exactly length bytes, allocating at most eagerAllocLimit before the
// bytes arrive. It returns how many bytes it got when it fails.
func readPayload(r io.Reader, length int64) ([]byte, int64, error) {
	if length <= eagerAllocLimit {
		buf := make([]byte, length)
		n, err := io.ReadFull(r, buf)
		return buf, int64(n), err
	}
	buf := make([]byte, 0, eagerAllocLimit)
	for int64(len(buf)) < length {
		if len(buf) == cap(buf) {
			// Double, but never beyond the announced length (which is within the limit).
			newCap := min(int64(cap(buf))*2, length)
			grown := make([]byte, len(buf), newCap)
			copy(grown, buf)
			buf = grown
		}
		n, err := r.Read(buf[len(buf):min(int64(cap(buf)), length)])
		buf = buf[:len(buf)+n]
		if err != nil {
			if errors.Is(err, io.EOF) && int64(len(buf)) == length {
				break
			}
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, int64(len(buf)), err
		}
	}
	return buf, length, nil
}

// FrameReader reads successive frames from a stream with a fixed limit. After a
// FrameTooLarge or TruncatedFrame error it keeps returning that error: the stream is not
// resynchronised (SPEC §3).
type FrameReader struct {
	r   *bufio.Reader
	max int
	err error // sticky framing error
}

// NewFrameReader returns a FrameReader on r with limit max, taken literally. r is wrapped in a bufio.Reader unless it already is one, so that
// small frames cost one read system call per buffer, not two per frame.
func NewFrameReader(r io.Reader, max int) *FrameReader {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 64<<10)
	}
	return &FrameReader{r: br, max: max}
}

// Buffered reports whether bytes of the next frame are already buffered.
func (fr *FrameReader) Buffered() int { return fr.r.Buffered() }

// WaitFrame blocks until at least one byte of the next frame is available (or an error),
// without consuming it. Servers use it to start a per-frame timer only once a frame has
// begun: an idle connection is not a stalled one.
func (fr *FrameReader) WaitFrame() error {
	if fr.err != nil {
		return fr.err
	}
	_, err := fr.r.Peek(1)
	return err
}

// ReadFrame reads the next frame's payload; see the package-level ReadFrame for errors.
func (fr *FrameReader) ReadFrame() ([]byte, error) {
	if fr.err != nil {
		return nil, fr.err
	}
	p, err := ReadFrame(fr.r, fr.max)
	if errors.Is(err, ErrFrameTooLarge) || errors.Is(err, ErrTruncatedFrame) {
		fr.err = err
	}
	return p, err
}

// Decoder is a push-style frame decoder for callers that receive bytes in arbitrary
// chunks (the two-state Head/Data decoder of tokio-util's length_delimited codec). The
// zero value is ready to use with DefaultMaxFrameBytes; NewDecoder sets another limit.
type Decoder struct {
	max    int64 // the limit; see limit()
	hasMax bool  // false: the zero value, DefaultMaxFrameBytes

	hdr    [HeaderSize]byte
	nhdr   int    // header bytes seen of the current frame
	length int64  // announced length once nhdr == HeaderSize
	data   []byte // payload bytes seen so far
	err    error  // sticky FrameTooLarge
}

// NewDecoder returns a Decoder with limit max, taken literally (0 accepts only empty
// frames).
func NewDecoder(max int) *Decoder { return &Decoder{max: limitOf(max), hasMax: true} }

func (d *Decoder) limit() int64 {
	if !d.hasMax {
		return DefaultMaxFrameBytes
	}
	return d.max
}

// Feed consumes p and returns the payloads of the frames it completed. If a header
// announces a length over the limit, Feed returns the frames completed before it and a
// *FrameTooLargeError, and every later call returns that error: no later byte is ever
// read as a header. The returned payloads are not retained by the Decoder.
func (d *Decoder) Feed(p []byte) ([][]byte, error) {
	if d.err != nil {
		return nil, d.err
	}
	var frames [][]byte
	for len(p) > 0 || (d.nhdr == HeaderSize && int64(len(d.data)) == d.length) {
		if d.nhdr < HeaderSize {
			n := copy(d.hdr[d.nhdr:], p)
			d.nhdr += n
			p = p[n:]
			if d.nhdr < HeaderSize {
				break
			}
			d.length = int64(binary.BigEndian.Uint32(d.hdr[:]))
			if limit := d.limit(); d.length > limit {
				d.err = &FrameTooLargeError{Length: d.length, Max: limit}
				return frames, d.err
			}
			d.data = make([]byte, 0, min(d.length, eagerAllocLimit))
		}
		want := d.length - int64(len(d.data))
		take := min(int64(len(p)), want)
		d.data = append(d.data, p[:take]...)
		p = p[take:]
		if int64(len(d.data)) == d.length {
			frames = append(frames, d.data)
			d.data, d.nhdr, d.length = nil, 0, 0
		}
	}
	return frames, nil
}

// End reports the end of the stream: a *TruncatedFrameError if it ended inside a frame
// (the partial frame is discarded), the sticky FrameTooLarge error if there was one, or nil.
func (d *Decoder) End() error {
	if d.err != nil {
		return d.err
	}
	defer func() { d.data, d.nhdr, d.length = nil, 0, 0 }()
	switch {
	case d.nhdr == 0:
		return nil
	case d.nhdr < HeaderSize:
		return &TruncatedFrameError{Expected: HeaderSize, Received: int64(d.nhdr)}
	default:
		return &TruncatedFrameError{Expected: HeaderSize + d.length, Received: HeaderSize + int64(len(d.data))}
	}
}

// AppendFrame appends payload as one frame (header then payload) to dst.
func AppendFrame(dst, payload []byte) []byte {
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(payload)))
	return append(dst, payload...)
}

// checkLength rejects payloads a header cannot describe.
func checkLength(payload []byte) error {
	if int64(len(payload)) > MaxFrameLength {
		return &FrameTooLargeError{Length: int64(len(payload)), Max: MaxFrameLength}
	}
	return nil
}

// WriteFrame writes payload to w as one frame. Header and payload go out in a single
// writev on connections that support it (net.Buffers), without copying the payload.
func WriteFrame(w io.Writer, payload []byte) error {
	if err := checkLength(payload); err != nil {
		return err
	}
	var hdr [HeaderSize]byte
	binary.BigEndian.PutUint32(hdr[:], uint32(len(payload)))
	bufs := net.Buffers{hdr[:], payload}
	if _, err := bufs.WriteTo(w); err != nil {
		return fmt.Errorf("txlane: write frame: %w", err)
	}
	return nil
}

// FrameWriter gathers frames and writes them with one writev per Flush, so that a burst
// of small responses costs one system call. Payloads are referenced, not copied, until
// Flush returns. It is not safe for concurrent use.
type FrameWriter struct {
	w       io.Writer
	headers []byte      // pending headers, back to back (sliced at Flush: it may move while it grows)
	queue   [][]byte    // pending payloads, in order
	bufs    net.Buffers // scratch for Flush, reused
	pending int         // pending frames
}

// NewFrameWriter returns a FrameWriter on w.
func NewFrameWriter(w io.Writer) *FrameWriter { return &FrameWriter{w: w} }

// WriteFrame queues payload as one frame.
func (fw *FrameWriter) WriteFrame(payload []byte) error {
	if err := checkLength(payload); err != nil {
		return err
	}
	fw.headers = binary.BigEndian.AppendUint32(fw.headers, uint32(len(payload)))
	fw.queue = append(fw.queue, payload)
	fw.pending++
	return nil
}

// Pending returns the number of frames queued since the last Flush.
func (fw *FrameWriter) Pending() int { return fw.pending }

// Flush writes every queued frame.
func (fw *FrameWriter) Flush() error {
	if fw.pending == 0 {
		return nil
	}
	fw.bufs = fw.bufs[:0]
	for i, p := range fw.queue {
		fw.bufs = append(fw.bufs, fw.headers[i*HeaderSize:(i+1)*HeaderSize])
		if len(p) > 0 {
			fw.bufs = append(fw.bufs, p)
		}
	}
	bufs := fw.bufs // WriteTo consumes its receiver
	_, err := bufs.WriteTo(fw.w)
	clear(fw.queue)
	fw.queue, fw.headers, fw.pending = fw.queue[:0], fw.headers[:0], 0
	if err != nil {
		return fmt.Errorf("txlane: write frames: %w", err)
	}
	return nil
}
