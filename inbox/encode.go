package inbox

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/wotmq/wotmq/wire"
)

// A request is stored, and its status published, as JSON at every status
// transition. encoding/json's reflection made that a tenth of the hub's
// CPU on the action path; appendRequest writes the same bytes directly
// (the stored format is unchanged: TestRequestEncodingMatchesJSON and
// FuzzRequestEncoding hold it to json.Marshal's output), falling back to
// json.Marshal for what it does not write itself (strings needing escapes,
// values that are not compact JSON).

// encodeRequest returns r as json.Marshal would, and the length of its
// prefix that is the wire.ActionStatus fields (the status record is that
// prefix and a closing brace).
func encodeRequest(r *Request) (val []byte, statusLen int, err error) {
	n := statusSize(&r.ActionStatus) + 100 + len(r.AgentID) + len(r.ReplyTo) + base64.StdEncoding.EncodedLen(len(r.Correlation))
	b, ok := appendStatusFields(make([]byte, 0, n), &r.ActionStatus)
	if !ok {
		val, err = json.Marshal(r)
		return val, -1, err
	}
	statusLen = len(b)
	b = append(b, `,"agentID":`...)
	if b, ok = appendString(b, r.AgentID); !ok {
		val, err = json.Marshal(r)
		return val, -1, err
	}
	if r.ReplyTo != "" {
		b = append(b, `,"replyTo":`...)
		if b, ok = appendString(b, r.ReplyTo); !ok {
			val, err = json.Marshal(r)
			return val, -1, err
		}
	}
	if len(r.Correlation) > 0 {
		b = append(b, `,"correlation":"`...)
		b = base64.StdEncoding.AppendEncode(b, r.Correlation)
		b = append(b, '"')
	}
	if r.FinalOnly {
		b = append(b, `,"finalOnly":true`...)
	}
	if r.Safe {
		b = append(b, `,"safe":true`...)
	}
	if r.Deliveries != 0 {
		b = append(b, `,"deliveries":`...)
		b = strconv.AppendInt(b, int64(r.Deliveries), 10)
	}
	return append(b, '}'), statusLen, nil
}

// StatusJSON returns the action status record of r (its wire.ActionStatus
// as JSON), as json.Marshal(r.ActionStatus) would.
func StatusJSON(r *Request) []byte {
	b, ok := appendStatusFields(make([]byte, 0, statusSize(&r.ActionStatus)), &r.ActionStatus)
	if !ok {
		b, _ = json.Marshal(r.ActionStatus)
		return b
	}
	return append(b, '}')
}

// statusSize is about the length of the status record of s (its keys,
// three times and a status, and its strings and values).
func statusSize(s *wire.ActionStatus) int {
	n := 280 + len(s.ID) + len(s.ThingID) + len(s.Name) + len(s.Op) + len(s.Sender) + len(s.Input) + len(s.Output)
	if s.Error != nil {
		n += 32 + len(s.Error.Code) + len(s.Error.Message)
	}
	return n
}

// appendStatusFields appends "{" and the fields of s, without the closing
// brace; ok is false where it cannot match json.Marshal.
func appendStatusFields(b []byte, s *wire.ActionStatus) ([]byte, bool) {
	ok := true
	str := func(key, v string) {
		b = append(b, key...)
		if ok {
			b, ok = appendString(b, v)
		}
	}
	str(`{"id":`, s.ID)
	str(`,"thingID":`, s.ThingID)
	str(`,"name":`, s.Name)
	str(`,"op":`, s.Op)
	str(`,"status":`, string(s.Status))
	raw := func(key string, v json.RawMessage) {
		if len(v) == 0 || !ok {
			return
		}
		if !compactSafe(v) {
			ok = false
			return
		}
		b = append(b, key...)
		b = append(b, v...)
	}
	raw(`,"input":`, s.Input)
	raw(`,"output":`, s.Output)
	if s.Error != nil {
		str(`,"error":{"code":`, string(s.Error.Code))
		if s.Error.Message != "" {
			str(`,"message":`, s.Error.Message)
		}
		b = append(b, '}')
	}
	if s.Sender != "" {
		str(`,"sender":`, s.Sender)
	}
	if !ok {
		return b, false
	}
	if b, ok = appendTime(append(b, `,"requested":`...), s.Requested); !ok {
		return b, false
	}
	if b, ok = appendTime(append(b, `,"updated":`...), s.Updated); !ok {
		return b, false
	}
	if !s.Expires.IsZero() {
		b, ok = appendTime(append(b, `,"expires":`...), s.Expires)
	}
	return b, ok
}

// appendString appends v as a JSON string when it needs no escape in
// json.Marshal's output (printable ASCII other than quote, backslash and
// <, >, &, which json.Marshal escapes for HTML).
func appendString(b []byte, v string) ([]byte, bool) {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return b, false
		}
	}
	b = append(b, '"')
	b = append(b, v...)
	return append(b, '"'), true
}

// compactSafe reports whether json.Marshal would copy raw as it is: valid
// JSON with no space to compact away and nothing it would escape (<, >, &
// and U+2028/2029, which only occur inside strings, and bytes beyond
// ASCII, which the check leaves to json.Marshal).
func compactSafe(raw json.RawMessage) bool {
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case c >= utf8.RuneSelf || c == '<' || c == '>' || c == '&':
			return false
		case c == '"':
			inString = !inString
		case c == '\\' && inString:
			i++ // the escaped byte (a quote stays in the string)
		case !inString && (c == ' ' || c == '\t' || c == '\n' || c == '\r'):
			return false
		}
	}
	return !inString && json.Valid(raw)
}

// appendTime appends t as time.Time's MarshalJSON does (RFC 3339 with
// nanoseconds, years 0 to 9999).
func appendTime(b []byte, t time.Time) ([]byte, bool) {
	if y := t.Year(); y < 0 || y > 9999 {
		return b, false
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"'), true
}
