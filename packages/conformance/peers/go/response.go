package txlane

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"unicode/utf8"
)

// ErrMalformedResponse is matched (errors.Is) by every *MalformedResponseError.
var ErrMalformedResponse = errors.New("txlane: malformed response")

// MalformedResponseError is SPEC §5's MalformedResponse { reason }.
type MalformedResponseError struct {
	Reason string // what was wrong, in words
}

// Error implements error.
func (e *MalformedResponseError) Error() string {
	return "txlane: malformed response: " + e.Reason
}

// Is makes errors.Is(err, ErrMalformedResponse) true.
func (e *MalformedResponseError) Is(target error) bool { return target == ErrMalformedResponse }

// Response is a receiver's JSON answer to one request frame (SPEC §5).
type Response struct {
	// Success is the required boolean `success`.
	Success bool
	// Count is `count`, the number of transactions accepted, or nil when absent.
	Count *uint64
	// Error is `error`, the failure text, or nil when absent.
	Error *string
	// Extra holds every other member verbatim (the deployed server adds `tx_hash`,
	// `block_ref`, `indices`, `queued`, `message`); decoders must keep them.
	Extra map[string]json.RawMessage
}

// OKResponse is `{"success":true,"count":n}`.
func OKResponse(n uint64) Response { return Response{Success: true, Count: &n} }

// ErrorResponse is `{"success":false,"error":text}`.
func ErrorResponse(text string) Response { return Response{Success: false, Error: &text} }

// EncodeResponse encodes r as a compact JSON object: success, count, error, then the
// extra members in key order (deterministic output makes responses comparable byte for
// byte across runs).
func EncodeResponse(r Response) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"success":`)
	b.WriteString(strconv.FormatBool(r.Success))
	if r.Count != nil {
		b.WriteString(`,"count":`)
		b.WriteString(strconv.FormatUint(*r.Count, 10))
	}
	if r.Error != nil {
		msg, err := json.Marshal(*r.Error)
		if err != nil {
			return nil, fmt.Errorf("txlane: encode response error text: %w", err)
		}
		b.WriteString(`,"error":`)
		b.Write(msg)
	}
	keys := make([]string, 0, len(r.Extra))
	for k := range r.Extra {
		if k == "success" || k == "count" || k == "error" {
			continue // the typed fields win; never write a key twice
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		name, _ := json.Marshal(k) // a string always marshals
		b.WriteByte(',')
		b.Write(name)
		b.WriteByte(':')
		var compact bytes.Buffer
		if err := json.Compact(&compact, r.Extra[k]); err != nil {
			return nil, fmt.Errorf("txlane: encode response member %q: %w", k, err)
		}
		b.Write(compact.Bytes())
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// DecodeResponse decodes a response payload. It accepts any JSON object with a boolean
// `success`, a non-negative integer `count` (if present) and a string `error` (if
// present), and keeps every other member in Extra. Anything else — invalid UTF-8 or JSON,
// not an object, `success` missing or not a boolean, `count`/`error` of the wrong type
// (null included) — is a *MalformedResponseError.
func DecodeResponse(payload []byte) (Response, error) {
	bad := func(format string, args ...any) (Response, error) {
		return Response{}, &MalformedResponseError{Reason: fmt.Sprintf(format, args...)}
	}
	// encoding/json would silently replace invalid UTF-8 with U+FFFD.
	if !utf8.Valid(payload) {
		return bad("invalid UTF-8")
	}
	trimmed := bytes.TrimLeft(payload, " \t\r\n")
	if len(trimmed) == 0 || trimmed[0] != '{' {
		// Checked first because `null` unmarshals into a map without error.
		if !json.Valid(payload) {
			return bad("invalid JSON")
		}
		return bad("not a JSON object")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(payload, &members); err != nil {
		return bad("invalid JSON: %v", err)
	}
	var r Response
	rawSuccess, ok := members["success"]
	if !ok {
		return bad("missing \"success\"")
	}
	switch string(rawSuccess) {
	case "true":
		r.Success = true
	case "false":
		r.Success = false
	default:
		return bad("\"success\" is not a boolean: %s", rawSuccess)
	}
	if raw, ok := members["count"]; ok {
		n, ok := parseCount(raw)
		if !ok {
			return bad("\"count\" is not a non-negative integer: %s", raw)
		}
		r.Count = &n
	}
	if raw, ok := members["error"]; ok {
		if len(raw) == 0 || raw[0] != '"' {
			return bad("\"error\" is not a string: %s", raw)
		}
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return bad("\"error\": %v", err)
		}
		r.Error = &s
	}
	for k, v := range members {
		if k == "success" || k == "count" || k == "error" {
			continue
		}
		if r.Extra == nil {
			r.Extra = make(map[string]json.RawMessage)
		}
		r.Extra[k] = v
	}
	return r, nil
}

// parseCount accepts a JSON number that is a non-negative integer. JSON has no integer
// type, so `3.0` and `3e2` are integers too (as they are to the TypeScript reference).
func parseCount(raw json.RawMessage) (uint64, bool) {
	s := string(raw)
	if len(s) == 0 || !(s[0] == '-' || (s[0] >= '0' && s[0] <= '9')) {
		return 0, false // not a number: string, bool, null, array, object
	}
	if n, err := strconv.ParseUint(s, 10, 64); err == nil {
		return n, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(f, 0) || f < 0 || f != math.Trunc(f) || f >= 1<<64 {
		return 0, false
	}
	return uint64(f), true
}

// AsMap returns r as a generic JSON object (as encoding/json decodes into any), for
// comparing with test vectors and logging.
func (r Response) AsMap() (map[string]any, error) {
	b, err := EncodeResponse(r)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("txlane: response as map: %w", err)
	}
	return m, nil
}
