package txlane

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
)

// Protobuf wire types (https://protobuf.dev/programming-guides/encoding/).
const (
	wireVarint     = 0
	wireFixed64    = 1
	wireBytes      = 2
	wireStartGroup = 3
	wireEndGroup   = 4
	wireFixed32    = 5
)

// transactionsField is `repeated Transaction transactions = 1;` of `transaction.Transactions`.
const transactionsField = 1

// maxVarintLen is the longest legal varint: ten 7-bit groups cover 64 bits.
const maxVarintLen = 10

// ErrMalformedEnvelope is matched (errors.Is) by every *MalformedEnvelopeError.
var ErrMalformedEnvelope = errors.New("txlane: malformed envelope")

// MalformedEnvelopeError is SPEC §4's MalformedEnvelope { offset, reason }.
type MalformedEnvelopeError struct {
	// Offset is the byte offset in the payload of the tag of the field that could not be
	// decoded.
	Offset int
	// Reason says what was wrong, in words; a receiver puts it after
	// "Invalid Transactions protobuf: ".
	Reason string
}

// Error implements error.
func (e *MalformedEnvelopeError) Error() string {
	return fmt.Sprintf("txlane: malformed envelope at offset %d: %s", e.Offset, e.Reason)
}

// Is makes errors.Is(err, ErrMalformedEnvelope) true.
func (e *MalformedEnvelopeError) Is(target error) bool { return target == ErrMalformedEnvelope }

// maxGroupDepth bounds nested unknown groups, as the TypeScript reference does (64): the
// envelope never legitimately contains groups, and a bound keeps hostile nesting cheap.
const maxGroupDepth = 64

// Reasons, worded as the TypeScript reference words them so that receivers in every
// language answer "Invalid Transactions protobuf: REASON" alike.
const (
	reasonEOF      = "unexpected end of payload"
	reasonVarint   = "invalid varint"
	reasonOverrun  = "length overruns the payload"
	reasonTooDeep  = "groups nested too deeply"
	reasonField1WT = "field 1 has wire type %d, want 2"
)

// errVarintTruncated and errVarintTooLong are readVarint's two failures; callers turn them
// into a MalformedEnvelopeError at the offset of the enclosing field's tag.
var (
	errVarintTruncated = errors.New(reasonEOF)
	errVarintTooLong   = errors.New(reasonVarint)
)

// readVarint decodes a varint at b[pos:]. Bits beyond 64 in a tenth byte are dropped, as
// SPEC §4 only rejects truncated and over-long (more than 10 bytes) varints.
func readVarint(b []byte, pos int) (v uint64, next int, err error) {
	for i := 0; i < maxVarintLen; i++ {
		if pos+i >= len(b) {
			return 0, 0, errVarintTruncated
		}
		c := b[pos+i]
		v |= uint64(c&0x7f) << (7 * i)
		if c < 0x80 {
			return v, pos + i + 1, nil
		}
	}
	return 0, 0, errVarintTooLong
}

// DecodeTransactions splits a `Transactions` payload into its transactions: the exact byte
// strings of every field 1, in order. They are views into payload (capacity clipped, so
// appending to one cannot overwrite the next), not copies. Unknown fields of every valid
// wire type, groups included (nested at most 64 deep), are skipped. An empty payload is
// an empty list.
//
// A payload that cannot be decoded gives a *MalformedEnvelopeError whose Offset is the
// offset of the tag of the offending top-level field; when the bad bytes are inside an
// unknown group, that is the tag that starts the outermost group.
func DecodeTransactions(payload []byte) ([][]byte, error) {
	var txs [][]byte
	// groups holds the field numbers of the open groups, innermost last; groupAt is the
	// offset of the outermost one's tag.
	var groups []uint32
	groupAt := 0
	pos := 0
	tagAt := 0
	// The field that cannot be decoded is the top-level one that encloses the bad bytes,
	// as in the reference ("1b24", a mismatched end group, fails at offset 0).
	fail := func(format string, args ...any) ([][]byte, error) {
		off := tagAt
		if len(groups) > 0 {
			off = groupAt
		}
		return nil, &MalformedEnvelopeError{Offset: off, Reason: fmt.Sprintf(format, args...)}
	}
	for pos < len(payload) {
		tagAt = pos
		tag, next, err := readVarint(payload, pos)
		if err != nil {
			return fail("%v", err)
		}
		// Tags are 32-bit (field numbers stop at 2^29-1): a tag varint wider than 5 bytes or
		// with a value past 32 bits is malformed (SPEC §4), not silently truncated.
		if next-pos > 5 || tag > math.MaxUint32 {
			return fail("illegal tag: varint overflows uint32")
		}
		pos = next
		field, wt := uint32(tag)>>3, uint32(tag)&7
		if field == 0 || wt > wireFixed32 {
			return fail("illegal tag: field no %d wire type %d", field, wt)
		}
		if len(groups) == 0 && field == transactionsField && wt != wireBytes {
			return fail(reasonField1WT, wt)
		}
		switch wt {
		case wireVarint:
			if _, pos, err = readVarint(payload, pos); err != nil {
				return fail("%v", err)
			}
		case wireFixed64, wireFixed32:
			size := 8
			if wt == wireFixed32 {
				size = 4
			}
			if len(payload)-pos < size {
				return fail(reasonEOF)
			}
			pos += size
		case wireBytes:
			n, next, err := readVarint(payload, pos)
			if err != nil {
				return fail("%v", err)
			}
			if n > uint64(len(payload)-next) {
				return fail(reasonOverrun)
			}
			end := next + int(n)
			if len(groups) == 0 && field == transactionsField {
				txs = append(txs, payload[next:end:end])
			}
			pos = end
		case wireStartGroup:
			if len(groups) == maxGroupDepth {
				return fail(reasonTooDeep)
			}
			if len(groups) == 0 {
				groupAt = tagAt
			}
			groups = append(groups, field)
		case wireEndGroup:
			if len(groups) == 0 {
				return fail("end group %d without a start group", field)
			}
			if open := groups[len(groups)-1]; open != field {
				return fail("end group %d does not close group %d", field, open)
			}
			groups = groups[:len(groups)-1]
		}
	}
	if len(groups) > 0 {
		return fail("group %d not closed", groups[len(groups)-1])
	}
	return txs, nil
}

// EncodeTransactions encodes txs as a `Transactions` payload: field 1, wire type 2, once
// per transaction in order, and nothing else (SPEC §4).
func EncodeTransactions(txs [][]byte) []byte {
	size := 0
	for _, tx := range txs {
		size += 1 + varintLen(uint64(len(tx))) + len(tx)
	}
	return AppendTransactions(make([]byte, 0, size), txs)
}

// AppendTransactions appends the `Transactions` encoding of txs to dst.
func AppendTransactions(dst []byte, txs [][]byte) []byte {
	for _, tx := range txs {
		dst = append(dst, transactionsField<<3|wireBytes)
		dst = binary.AppendUvarint(dst, uint64(len(tx)))
		dst = append(dst, tx...)
	}
	return dst
}

// varintLen is the encoded size of v as a varint.
func varintLen(v uint64) int {
	n := 1
	for v >= 0x80 {
		v >>= 7
		n++
	}
	return n
}
