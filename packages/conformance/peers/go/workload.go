package txlane

import (
	"encoding/binary"
)

// SplitMix64 is the workload's PRNG (PEERS.md "Workload"): tiny, fast, and specified to the
// bit so every implementation draws the same numbers from the same seed.
type SplitMix64 struct {
	state uint64
}

// NewSplitMix64 returns a generator whose state starts at seed.
func NewSplitMix64(seed uint64) *SplitMix64 { return &SplitMix64{state: seed} }

// Next returns the next 64-bit output.
func (g *SplitMix64) Next() uint64 {
	g.state += 0x9E3779B97F4A7C15
	z := g.state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// AppendBytes appends n pseudo-random bytes to dst: ceil(n/8) outputs, each written as 8
// big-endian bytes, truncated to n.
func (g *SplitMix64) AppendBytes(dst []byte, n int) []byte {
	for n > 0 {
		var w [8]byte
		binary.BigEndian.PutUint64(w[:], g.Next())
		k := min(n, 8)
		dst = append(dst, w[:k]...)
		n -= k
	}
	return dst
}

// Field numbers of the deployed `Transaction` message used by the workload.
const (
	txFieldToAddress   = 1
	txFieldAmount      = 3
	txFieldMaxGas      = 4
	txFieldMaxGasPrice = 5
	txFieldMaxTimeUse  = 6
	txFieldData        = 7
	txFieldSign        = 11
	txFieldNonce       = 12
	txFieldFromAddress = 13
	txFieldChainID     = 15
	txFieldType        = 16
)

// WorkloadFixedSize is the encoded size of every workload field except Data (PEERS.md).
const WorkloadFixedSize = 197

// WorkloadDataLen returns the Data length d for a target transaction size S: none (0) if
// S - 197 < 3, otherwise the largest d >= 1 with 1 + varintLen(d) + d <= S - 197.
func WorkloadDataLen(txSize int) int {
	r := txSize - WorkloadFixedSize
	if r < 3 {
		return 0
	}
	d := r - 2 // 1-byte tag + at least 1 length byte
	for d > 1 && 1+varintLen(uint64(d))+d > r {
		d--
	}
	return d
}

// Workload generates the deterministic conformance workload: transaction i is drawn from
// one SplitMix64 stream after transactions 0 … i-1, so transactions must be generated in
// order. It is not safe for concurrent use.
type Workload struct {
	rng     *SplitMix64
	next    uint64 // index of the next transaction
	dataLen int    // Data field length, 0 for none
	txSize  int
}

// NewWorkload returns a generator for the given seed and target transaction size.
func NewWorkload(seed uint64, txSize int) *Workload {
	return &Workload{rng: NewSplitMix64(seed), dataLen: WorkloadDataLen(txSize), txSize: txSize}
}

// Index returns the index of the next transaction.
func (w *Workload) Index() uint64 { return w.next }

// AppendTransaction appends the next transaction's encoding to dst.
func (w *Workload) AppendTransaction(dst []byte) []byte {
	i := w.next
	w.next++
	rng := w.rng
	bytesField := func(dst []byte, field, n int, fill func([]byte) []byte) []byte {
		dst = binary.AppendUvarint(dst, uint64(field)<<3|wireBytes)
		dst = binary.AppendUvarint(dst, uint64(n))
		return fill(dst)
	}
	varintField := func(dst []byte, field int, v uint64) []byte {
		dst = binary.AppendUvarint(dst, uint64(field)<<3|wireVarint)
		return binary.AppendUvarint(dst, v)
	}
	var zeros [24]byte
	dst = bytesField(dst, txFieldToAddress, 20, func(b []byte) []byte { return rng.AppendBytes(b, 20) })
	dst = bytesField(dst, txFieldAmount, 32, func(b []byte) []byte {
		return rng.AppendBytes(append(b, zeros[:]...), 8)
	})
	dst = varintField(dst, txFieldMaxGas, 21000+rng.Next()%1000000)
	dst = varintField(dst, txFieldMaxGasPrice, 1000000000+rng.Next()%1000000000)
	dst = varintField(dst, txFieldMaxTimeUse, 1000+rng.Next()%15000) // always a 2-byte varint
	if w.dataLen >= 1 {
		dst = bytesField(dst, txFieldData, w.dataLen, func(b []byte) []byte { return rng.AppendBytes(b, w.dataLen) })
	}
	dst = bytesField(dst, txFieldSign, 65, func(b []byte) []byte { return rng.AppendBytes(b, 65) })
	dst = bytesField(dst, txFieldNonce, 32, func(b []byte) []byte {
		return binary.BigEndian.AppendUint64(append(b, zeros[:]...), i)
	})
	dst = bytesField(dst, txFieldFromAddress, 20, func(b []byte) []byte { return rng.AppendBytes(b, 20) })
	dst = varintField(dst, txFieldChainID, 1)
	dst = varintField(dst, txFieldType, 2)
	return dst
}

// NextTransaction returns the next transaction.
func (w *Workload) NextTransaction() []byte {
	return w.AppendTransaction(make([]byte, 0, max(w.txSize, WorkloadFixedSize)+1))
}

// NextBatch returns the `Transactions` envelope of the next k transactions.
func (w *Workload) NextBatch(k int) []byte {
	txMax := max(w.txSize, WorkloadFixedSize) + 1
	b := make([]byte, 0, k*(txMax+3))
	for range k {
		// Each transaction is written after a 1-byte tag and its length varint; encode it
		// first into scratch space at the end, then move it into place.
		start := len(b)
		b = w.AppendTransaction(b)
		n := len(b) - start
		lenBytes := 1 + varintLen(uint64(n))
		b = append(b, make([]byte, lenBytes)...)
		copy(b[start+lenBytes:], b[start:start+n])
		b[start] = transactionsField<<3 | wireBytes
		binary.PutUvarint(b[start+1:], uint64(n))
	}
	return b
}
