package txlane

// The shared workload vectors (PEERS.md): the SplitMix64 generator, the transactions and
// the digest.

import (
	"encoding/hex"
	"encoding/json"
	"strconv"
	"testing"
)

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
