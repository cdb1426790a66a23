package txlane

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"sync/atomic"
)

// Digest is the conformance transaction digest (PEERS.md): for every transaction t, the
// first 8 bytes of SHA-256(t) as a big-endian uint64, summed with wrap-around. Addition
// makes it order-independent (workers may deliver in any order) while staying
// duplicate-sensitive (a resent transaction counts twice). The zero value is the digest
// of the empty set.
type Digest uint64

// TxHash is one transaction's contribution to a Digest.
func TxHash(tx []byte) uint64 {
	h := sha256.Sum256(tx)
	return binary.BigEndian.Uint64(h[:8])
}

// Add adds tx to the digest.
func (d *Digest) Add(tx []byte) { *d += Digest(TxHash(tx)) }

// Merge adds every transaction counted in o.
func (d *Digest) Merge(o Digest) { *d += o }

// String is the digest as 16 lowercase hex digits.
func (d Digest) String() string { return fmt.Sprintf("%016x", uint64(d)) }

// AtomicDigest is a Digest safe for concurrent Add: the sum commutes, so an atomic add is
// all the synchronisation it needs.
type AtomicDigest struct{ v atomic.Uint64 }

// Add adds tx to the digest.
func (d *AtomicDigest) Add(tx []byte) { d.v.Add(TxHash(tx)) }

// AddDigest adds every transaction counted in o.
func (d *AtomicDigest) AddDigest(o Digest) { d.v.Add(uint64(o)) }

// Load returns the current digest.
func (d *AtomicDigest) Load() Digest { return Digest(d.v.Load()) }
