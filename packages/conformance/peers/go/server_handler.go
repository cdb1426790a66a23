package txlane

// What the handler pool does with one frame: decode the envelope, record it, submit it, and
// build its response (SPEC §6).

import (
	"errors"
	"fmt"
)

// handle runs in the handler pool: decode, record, submit, and build the response.
func (s *Server) handle(payload []byte) (out frameOutcome) {
	out.res.Bytes = len(payload)
	if len(payload) == 0 {
		s.countError(KindEmptyFrame)
		out.resp = ErrorResponse(textEmpty)
		return out
	}
	b := Batch{Payload: payload}
	if !s.Raw {
		txs, err := DecodeTransactions(payload)
		if err != nil {
			s.countError(KindMalformedEnvelope)
			reason := err.Error()
			var me *MalformedEnvelopeError
			if errors.As(err, &me) {
				reason = me.Reason
			}
			out.resp = ErrorResponse(textInvalid + reason)
			return out
		}
		if len(txs) == 0 {
			s.countError(KindEmptyFrame)
			out.resp = ErrorResponse(textEmpty)
			return out
		}
		b.Transactions = txs
	}
	n, err := s.submit(b)
	if err != nil {
		s.countError(KindSubmitFailed)
		out.resp = ErrorResponse(textSubmitErr + err.Error())
		return out
	}
	s.stats.frames.Add(1)
	s.stats.transactions.Add(int64(n))
	s.stats.bytes.Add(int64(len(payload)))
	out.res.Success, out.res.Transactions = true, n
	out.resp = OKResponse(uint64(n))
	return out
}

// submit records the frame, then hands it to the application, turning a panic into a
// failed submission so that one bad batch cannot take the receiver down.
func (s *Server) submit(b Batch) (n int, err error) {
	if s.RecordFile != nil {
		rec := AppendFrame(make([]byte, 0, HeaderSize+len(b.Payload)), b.Payload)
		s.recordMu.Lock()
		_, err := s.RecordFile.Write(rec) // one write per frame: a record is never torn by a kill between writes
		s.recordMu.Unlock()
		if err != nil {
			return 0, fmt.Errorf("record: %w", err)
		}
	}
	if s.Submit == nil {
		if s.Raw {
			return 1, nil
		}
		return len(b.Transactions), nil
	}
	defer func() {
		if p := recover(); p != nil {
			n, err = 0, fmt.Errorf("panic: %v", p)
		}
	}()
	n, err = s.Submit(b)
	if err == nil && n < 0 {
		n = 0
	}
	return n, err
}
