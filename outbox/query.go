package outbox

import (
	"bytes"
	"encoding/json"
	"fmt"

	"github.com/wotmq/wotmq/wire"
)

// ParseQuery reads a history query from the JSON payload of an MQTT
// history request (empty: every field absent) and checks it with
// CheckQuery, so MQTT refuses what HTTP refuses. Errors wrap
// ErrBadQuery.
func ParseQuery(payload []byte) (wire.HistoryQuery, error) {
	var q wire.HistoryQuery
	if len(bytes.TrimSpace(payload)) == 0 {
		return q, nil
	}
	if err := json.Unmarshal(payload, &q); err != nil {
		return q, fmt.Errorf("%w: %v", ErrBadQuery, err)
	}
	// A limit given as 0 is out of range, as limit=0 is over HTTP; the
	// struct alone cannot tell it from an absent one.
	var given struct {
		Limit *json.RawMessage `json:"limit"`
	}
	if json.Unmarshal(payload, &given) == nil && given.Limit != nil && string(*given.Limit) != "null" && q.Limit == 0 {
		return q, fmt.Errorf("%w: limit 0: want 1 to %d", ErrBadQuery, MaxPageSize)
	}
	return q, CheckQuery(q)
}

// CheckQuery checks the bounds of a history query that every binding
// shares: a limit of 1 to MaxPageSize (0: absent, DefaultPageSize), a
// cursor that an earlier page returned. History applies the same query
// without checking; the bindings refuse instead of clamping.
func CheckQuery(q wire.HistoryQuery) error {
	if q.Limit < 0 || q.Limit > MaxPageSize {
		return fmt.Errorf("%w: limit %d: want 1 to %d", ErrBadQuery, q.Limit, MaxPageSize)
	}
	if q.Cursor != "" {
		if _, err := decodeCursor(q.Cursor); err != nil {
			return fmt.Errorf("%w: cursor %.64q: not a cursor from an earlier page", ErrBadQuery, q.Cursor)
		}
	}
	return nil
}
