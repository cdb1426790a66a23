package txlane

import (
	"strings"
	"time"
)

// ErrorClass says what a `"success":false` answer means for its batch.
type ErrorClass int

const (
	// FinalError is the peer's verdict on the batch; resending would not help.
	FinalError ErrorClass = iota
	// TransientError ("Node not ready…"): the peer is starting or changing epoch and did
	// not judge the batch; retry it later.
	TransientError
	// OutOfStepError ("Transaction too large…"): the deployed server did not consume the
	// payload, so the rest of the stream is out of step; the batch is rejected and the
	// connection must be replaced.
	OutOfStepError
)

// ClassifyError classifies an error answer's text, as the TypeScript classifyError does.
func ClassifyError(text string) ErrorClass {
	switch {
	case strings.HasPrefix(text, "Node not ready"):
		return TransientError
	case strings.HasPrefix(text, "Transaction too large"):
		return OutOfStepError
	default:
		return FinalError
	}
}

// TransientRetry is the schedule of a batch answered "Node not ready…": Initial, doubling
// per retry of that batch, capped at Max, at most Retries retries.
type TransientRetry struct {
	Initial time.Duration
	Max     time.Duration
	Retries int
}

// Delay returns the delay before retry n (0-based), or false when the budget is spent.
func (r TransientRetry) Delay(n int) (time.Duration, bool) {
	if n >= r.Retries {
		return 0, false
	}
	d := r.Initial
	for i := 0; i < n && d < r.Max; i++ {
		d *= 2
	}
	return min(d, r.Max), true
}

// The sender's knowledge of whether the peer answers (ChannelBasedSender.answering).
const (
	peerUnknown int32 = iota
	peerAnswers
	peerSilent
)

// item is a taken batch and its history.
type item struct {
	batch    []byte
	notReady int       // "not ready" answers so far
	at       time.Time // last write
}
