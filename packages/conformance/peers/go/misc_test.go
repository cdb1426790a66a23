package txlane

import (
	"encoding/json"
	"errors"
	"testing"
)

func TestDecodeResponse(t *testing.T) {
	tests := []struct {
		in      string
		wantErr bool
		want    string // re-encoded
	}{
		{`{"success":true,"count":3}`, false, `{"success":true,"count":3}`},
		{`{"count":3.0,"success":true}`, false, `{"success":true,"count":3}`},
		{`{"success":true,"count":3e2}`, false, `{"success":true,"count":300}`},
		{`{"success":false,"error":"x","zeta":[1, 2],"alpha":{"a":null}}`, false, `{"success":false,"error":"x","alpha":{"a":null},"zeta":[1,2]}`},
		{`{"success":true,"count":null}`, true, ""},
		{`{"success":true,"error":null}`, true, ""},
		{`{"success":null}`, true, ""},
		{`{"success":true,"count":-1}`, true, ""},
		{`{"success":true,"count":1e400}`, true, ""},
		{`{"success":true} x`, true, ""},
		{`null`, true, ""},
		{`"s"`, true, ""},
		{"{\"success\":true,\"error\":\"\xff\"}", true, ""},
	}
	for _, tt := range tests {
		r, err := DecodeResponse([]byte(tt.in))
		if tt.wantErr {
			var me *MalformedResponseError
			if !errors.Is(err, ErrMalformedResponse) || !errors.As(err, &me) {
				t.Errorf("DecodeResponse(%q) = %+v, %v; want MalformedResponse", tt.in, r, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("DecodeResponse(%q): %v", tt.in, err)
			continue
		}
		enc, err := EncodeResponse(r)
		if err != nil || string(enc) != tt.want {
			t.Errorf("re-encode of %q = %s, %v; want %s", tt.in, enc, err, tt.want)
		}
	}
}

func TestOKAndErrorResponses(t *testing.T) {
	ok, _ := EncodeResponse(OKResponse(5))
	if string(ok) != `{"success":true,"count":5}` {
		t.Errorf("OKResponse = %s", ok)
	}
	bad, _ := EncodeResponse(ErrorResponse(`say "hi"`))
	if string(bad) != `{"success":false,"error":"say \"hi\""}` {
		t.Errorf("ErrorResponse = %s", bad)
	}
	if !json.Valid(bad) {
		t.Errorf("invalid JSON %s", bad)
	}
}

func TestParseEndpoint(t *testing.T) {
	tests := []struct {
		in          string
		network     string
		addr        string
		wantInvalid bool
	}{
		{"/tmp/a.sock", "unix", "/tmp/a.sock", false},
		{"unix:/tmp/a.sock", "unix", "/tmp/a.sock", false},
		{"tcp://127.0.0.1:0", "tcp", "127.0.0.1:0", false},
		{"tcp://localhost:9000", "tcp", "localhost:9000", false},
		{"tcp://[::1]:80", "tcp", "[::1]:80", false},
		{"unix:relative.sock", "", "", true},
		{"relative.sock", "", "", true},
		{"tcp://127.0.0.1", "", "", true},
		{"tcp://:80", "", "", true},
		{"tcp://h:65536", "", "", true},
		{"tcp://h:-1", "", "", true},
		{"udp://h:1", "", "", true},
		{"", "", "", true},
	}
	for _, tt := range tests {
		ep, err := ParseEndpoint(tt.in)
		if tt.wantInvalid {
			if !errors.Is(err, ErrInvalidEndpoint) {
				t.Errorf("ParseEndpoint(%q) = %+v, %v; want ErrInvalidEndpoint", tt.in, ep, err)
			}
			continue
		}
		if err != nil || ep.Network != tt.network || ep.Address != tt.addr {
			t.Errorf("ParseEndpoint(%q) = %+v, %v; want %s %s", tt.in, ep, err, tt.network, tt.addr)
		}
	}
}

func TestDigest(t *testing.T) {
	var d Digest
	if d.String() != "0000000000000000" {
		t.Errorf("empty digest = %s", d)
	}
	d.Add([]byte("abc"))
	if d.String() != "ba7816bf8f01cfea" { // SHA-256("abc") starts ba7816bf8f01cfea
		t.Errorf("digest(abc) = %s; want ba7816bf8f01cfea", d)
	}
	var a AtomicDigest
	a.Add([]byte("abc"))
	a.AddDigest(d)
	var twice Digest
	twice.Add([]byte("abc"))
	twice.Add([]byte("abc"))
	if a.Load() != twice {
		t.Errorf("atomic digest = %s; want %s", a.Load(), twice)
	}
}

func TestWorkloadDataLen(t *testing.T) {
	tests := []struct{ size, want int }{
		{0, 0}, {197, 0}, {199, 0}, {200, 1}, {326, 127}, {327, 127}, {328, 128}, {330, 130}, {650, 450},
	}
	for _, tt := range tests {
		if got := WorkloadDataLen(tt.size); got != tt.want {
			t.Errorf("WorkloadDataLen(%d) = %d; want %d", tt.size, got, tt.want)
		}
	}
}

func TestWorkloadSizesAndBatches(t *testing.T) {
	for _, size := range []int{0, 197, 200, 327, 328, 650, 20000} {
		w := NewWorkload(1, size)
		for i := 0; i < 50; i++ {
			tx := w.NextTransaction()
			want := max(size, WorkloadFixedSize)
			if len(tx) != want && len(tx) != want-1 {
				t.Fatalf("size %d tx %d: len %d; want %d (or one less at a varint boundary)", size, i, len(tx), want)
			}
		}
	}
	// A batch is the envelope of the same transactions, generated in the same order.
	a, b := NewWorkload(7, 650), NewWorkload(7, 650)
	batch := a.NextBatch(5)
	txs, err := DecodeTransactions(batch)
	if err != nil || len(txs) != 5 {
		t.Fatalf("batch: %d txs, %v", len(txs), err)
	}
	for i, tx := range txs {
		if want := b.NextTransaction(); string(tx) != string(want) {
			t.Errorf("batch tx %d differs from NextTransaction", i)
		}
	}
}
