package loadtest

import (
	"bytes"
	"strconv"
)

// Event payloads are JSON objects with the fields in a fixed order, so the
// receiving side reads them without a JSON decoder:
//
//	{"seq":12,"ts":3456789,"m":1,"pad":"xxxx"}
//
// ts is the send time in nanoseconds since the run began (the load tool's
// monotonic clock: senders and receivers share the process), m is 1 for a
// message sent during the measurement (0 during the warm-up), and pad fills
// the payload up to the configured size.

var (
	fieldSeq = []byte(`{"seq":`)
	fieldTS  = []byte(`,"ts":`)
	fieldM   = []byte(`,"m":`)
	fieldPad = []byte(`,"pad":"`)
)

// eventPayload returns the payload of one event, at least size bytes long.
func eventPayload(seq, ts int64, measured bool, size int) []byte {
	return appendEvent(make([]byte, 0, max(size, 64)), seq, ts, measured, size)
}

// appendEvent appends the payload of one event to b, at least size bytes.
func appendEvent(b []byte, seq, ts int64, measured bool, size int) []byte {
	size += len(b)
	b = append(b, fieldSeq...)
	b = strconv.AppendInt(b, seq, 10)
	b = append(b, fieldTS...)
	b = strconv.AppendInt(b, ts, 10)
	b = append(b, fieldM...)
	if measured {
		b = append(b, '1')
	} else {
		b = append(b, '0')
	}
	b = append(b, fieldPad...)
	for len(b)+2 < size {
		b = append(b, 'x')
	}
	return append(b, '"', '}')
}

// parseEvent reads the send time and the measured flag of an event
// payload.
func parseEvent(p []byte) (ts int64, measured, ok bool) {
	p, ok = bytes.CutPrefix(p, fieldSeq)
	if !ok {
		return 0, false, false
	}
	if _, p, ok = readInt(p); !ok {
		return 0, false, false
	}
	if p, ok = bytes.CutPrefix(p, fieldTS); !ok {
		return 0, false, false
	}
	if ts, p, ok = readInt(p); !ok {
		return 0, false, false
	}
	if p, ok = bytes.CutPrefix(p, fieldM); !ok || len(p) == 0 {
		return 0, false, false
	}
	return ts, p[0] == '1', true
}

func readInt(p []byte) (int64, []byte, bool) {
	i := 0
	for i < len(p) && p[i] >= '0' && p[i] <= '9' {
		i++
	}
	n, err := strconv.ParseInt(string(p[:i]), 10, 64)
	return n, p[i:], err == nil
}
