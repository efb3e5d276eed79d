package inbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dgraph-io/badger/v4"
)

// Desired is the state a consumer asked a property to have: the value of
// the newest write, until the agent reports it (or the write fails).
type Desired struct {
	Name    string          `json:"name"`
	Value   json.RawMessage `json:"value"`
	Time    time.Time       `json:"time"`
	Version uint64          `json:"version"`
	// ActionID is the write request that set it.
	ActionID string `json:"actionID"`
}

// SetDesired records value as the desired state of a property and returns
// the record, whose Version is one more than the previous one's.
func (s *Store) SetDesired(ctx context.Context, thingID, name string, value json.RawMessage, actionID string) (Desired, error) {
	d := Desired{Name: name, Value: value, Time: s.now().UTC(), ActionID: actionID}
	err := s.db.Update(func(txn *badger.Txn) error {
		k := desiredKey(thingID, name)
		var prev Desired
		if err := getJSON(txn, k, &prev); err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		// The version outlives a cleared desired state (see ClearDesired),
		// so versions never repeat.
		d.Version = prev.Version + 1
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		return txn.Set(k, b)
	})
	if err != nil {
		return d, fmt.Errorf("inbox: desired %s/%s: %w", thingID, name, err)
	}
	return d, nil
}

// ClearDesired ends the desired state of a property, if actionID is empty
// or names the write that set it, and reports whether it did. The record
// keeps its version with a null value, so versions keep increasing.
func (s *Store) ClearDesired(ctx context.Context, thingID, name, actionID string) (bool, error) {
	cleared := false
	err := s.db.Update(func(txn *badger.Txn) error {
		k := desiredKey(thingID, name)
		var d Desired
		if err := getJSON(txn, k, &d); errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		} else if err != nil {
			return err
		}
		if isNull(d.Value) || (actionID != "" && d.ActionID != actionID) {
			return nil
		}
		d.Value, d.ActionID, d.Time = nil, "", s.now().UTC()
		b, err := json.Marshal(d)
		if err != nil {
			return err
		}
		cleared = true
		return txn.Set(k, b)
	})
	if err != nil {
		return false, fmt.Errorf("inbox: desired %s/%s: %w", thingID, name, err)
	}
	return cleared, nil
}

// DesiredAll returns the properties of a Thing that have a desired state.
func (s *Store) DesiredAll(ctx context.Context, thingID string) ([]Desired, error) {
	var out []Desired
	prefix := append([]byte(prefixDesired+thingID), 0)
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			var d Desired
			if err := it.Item().Value(func(v []byte) error { return json.Unmarshal(v, &d) }); err != nil {
				return err
			}
			if !isNull(d.Value) {
				out = append(out, d)
			}
		}
		return nil
	})
	return out, err
}

func desiredKey(thingID, name string) []byte {
	return append(append([]byte(prefixDesired+thingID), 0), name...)
}

func getJSON(txn *badger.Txn, k []byte, v any) error {
	item, err := txn.Get(k)
	if err != nil {
		return err
	}
	return item.Value(func(b []byte) error { return json.Unmarshal(b, v) })
}

// isNull reports whether a stored value is absent (a cleared desired state
// is stored as JSON null).
func isNull(v json.RawMessage) bool { return len(v) == 0 || string(v) == "null" }

// GetDesired returns the desired state of one property, if it has one.
func (s *Store) GetDesired(ctx context.Context, thingID, name string) (Desired, bool, error) {
	var d Desired
	err := s.db.View(func(txn *badger.Txn) error { return getJSON(txn, desiredKey(thingID, name), &d) })
	if errors.Is(err, badger.ErrKeyNotFound) {
		return d, false, nil
	}
	if err != nil {
		return d, false, err
	}
	return d, !isNull(d.Value), nil
}
