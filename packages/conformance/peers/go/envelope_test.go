package txlane

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func TestDecodeTransactionsReasons(t *testing.T) {
	deep := strings.Repeat("13", maxGroupDepth) + strings.Repeat("14", maxGroupDepth)
	tests := []struct {
		name       string
		input      string
		wantOffset int
		wantReason string // "" means success
	}{
		{"groups at max depth", deep, 0, ""},
		{"groups too deep", "0a01aa" + strings.Repeat("13", maxGroupDepth+1), 3, reasonTooDeep},
		{"truncated tag", "0a01aa80", 3, reasonEOF},
		{"overlong varint", "10ffffffffffffffffffff01", 0, reasonVarint},
		{"field 1 as varint", "0801", 0, "field 1 has wire type 0, want 2"},
		{"field 0", "0200", 0, "illegal tag: field no 0 wire type 2"},
		{"wire type 7", "0f", 0, "illegal tag: field no 1 wire type 7"},
		{"overrun", "0a05aa", 0, reasonOverrun},
		{"error inside group reports the group", "0a00" + "1b" + "1205", 2, reasonOverrun},
		{"unmatched end", "0a00" + "24", 2, "end group 4 without a start group"},
		{"mismatched end", "1b24", 0, "end group 4 does not close group 3"},
		{"unclosed inner group", "1b23", 0, "group 4 not closed"},
		{"field 1 inside a group is not a transaction", "1b08011c", 0, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, _ := hex.DecodeString(tt.input)
			_, err := DecodeTransactions(in)
			if tt.wantReason == "" {
				if err != nil {
					t.Fatalf("got %v; want success", err)
				}
				return
			}
			var me *MalformedEnvelopeError
			if !errors.As(err, &me) || !errors.Is(err, ErrMalformedEnvelope) {
				t.Fatalf("got %v; want *MalformedEnvelopeError", err)
			}
			if me.Offset != tt.wantOffset || me.Reason != tt.wantReason {
				t.Errorf("got offset %d reason %q; want %d %q", me.Offset, me.Reason, tt.wantOffset, tt.wantReason)
			}
			if !strings.HasPrefix(err.Error(), "txlane: ") {
				t.Errorf("error %q lacks the txlane: prefix", err)
			}
		})
	}
}

func TestDecodeTransactionsViewsAreClipped(t *testing.T) {
	payload := EncodeTransactions([][]byte{[]byte("ab"), []byte("cd")})
	txs, err := DecodeTransactions(payload)
	if err != nil || len(txs) != 2 {
		t.Fatalf("got %q, %v", txs, err)
	}
	_ = append(txs[0], 'X') // must not overwrite the next field's tag
	if again, _ := DecodeTransactions(payload); !bytes.Equal(again[1], []byte("cd")) {
		t.Errorf("appending to a view corrupted the payload: %x", payload)
	}
}

func TestEncodeTransactionsRoundTrip(t *testing.T) {
	big := bytes.Repeat([]byte{1}, 300) // two-byte length varint
	tests := [][][]byte{nil, {{}}, {[]byte("x"), big, {}}}
	for _, txs := range tests {
		enc := EncodeTransactions(txs)
		got, err := DecodeTransactions(enc)
		if err != nil || len(got) != len(txs) {
			t.Fatalf("round trip of %d txs: got %d, %v", len(txs), len(got), err)
		}
		for i := range txs {
			if !bytes.Equal(got[i], txs[i]) {
				t.Errorf("tx %d: got %x; want %x", i, got[i], txs[i])
			}
		}
	}
}
