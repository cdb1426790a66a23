package txlane

import (
	"encoding/json"
	"fmt"
	"io"
	"time"
)

// ImplName is this peer's `impl` in report lines.
const ImplName = "go"

// ResponseCounts is the `responses` member of a report line.
type ResponseCounts struct {
	OK    int64 `json:"ok"`
	Error int64 `json:"error"`
}

// PeerReport is the final report line of a conformance testee (PEERS.md "Report line").
// The field order is the documented one.
type PeerReport struct {
	Event        string           `json:"event"` // always "report"
	Role         string           `json:"role"`  // "sender" or "receiver"
	Impl         string           `json:"impl"`
	Frames       int64            `json:"frames"`
	Transactions int64            `json:"transactions"`
	Bytes        int64            `json:"bytes"`
	Digest       string           `json:"digest"`
	Acknowledged int64            `json:"acknowledged"`
	Undelivered  int64            `json:"undelivered"`
	Responses    ResponseCounts   `json:"responses"`
	Errors       map[string]int64 `json:"errors"`
	ElapsedMs    int64            `json:"elapsedMs"`
}

// NewPeerReport returns a report for role with the constant members filled in.
func NewPeerReport(role string) PeerReport {
	return PeerReport{Event: "report", Role: role, Impl: ImplName, Digest: Digest(0).String(), Errors: map[string]int64{}}
}

// SetElapsed sets ElapsedMs from d.
func (r *PeerReport) SetElapsed(d time.Duration) { r.ElapsedMs = d.Milliseconds() }

// WriteLine writes v as one compact JSON line: the stdout protocol of the testees.
func WriteLine(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("txlane: encode line: %w", err)
	}
	if _, err := w.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("txlane: write line: %w", err)
	}
	return nil
}
