package outbox

import (
	"context"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/wire"
)

// MaxScanAt bounds how many history records PropertiesAt reads back from
// its instant: a Thing whose history holds more records than that before
// the instant of some property it asks for gets that property unanswered
// rather than a scan of the whole history.
const MaxScanAt = 100_000

// PropertiesAt returns the values the named properties of a Thing had at
// instant at, from the history: for each name the newest property record
// stamped at or before at, ordered by name. A property without a value
// then (none yet, or its history trimmed or retained "0") is left out.
// It reads back from at until every name is found, the history begins or
// MaxScanAt records were read. ("Time travel" in the explorer.)
func (s *Store) PropertiesAt(ctx context.Context, thingID string, at time.Time, names []string) ([]Record, error) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	found := map[string]Record{}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: historyThingPrefix(thingID), Reverse: true, PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		read := 0
		for it.Seek(historyKey(thingID, keyNanos(at))); it.Valid() && len(found) < len(want) && read < MaxScanAt; it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			read++
			err := it.Item().Value(func(v []byte) error {
				rec, err := decodeRecord(thingID, v)
				if err != nil {
					return err
				}
				if rec.Kind == wire.KindProperty && want[rec.Name] {
					if _, seen := found[rec.Name]; !seen {
						found[rec.Name] = rec
					}
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]Record, 0, len(found))
	for _, n := range names {
		if r, ok := found[n]; ok {
			out = append(out, r)
			delete(found, n) // a name given twice answers once
		}
	}
	slices.SortFunc(out, func(a, b Record) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// Recent returns up to n of a Thing's newest history records that f
// selects, newest first, reading back at most MaxScanAt records (the
// explorer's event logs and presence history).
func (s *Store) Recent(ctx context.Context, thingID string, f Filter, n int) ([]Record, error) {
	var out []Record
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: historyThingPrefix(thingID), Reverse: true, PrefetchValues: true, PrefetchSize: 16})
		defer it.Close()
		read := 0
		for it.Seek(historyKey(thingID, math.MaxInt64)); it.Valid() && len(out) < n && read < MaxScanAt; it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			read++
			err := it.Item().Value(func(v []byte) error {
				rec, err := decodeRecord(thingID, v)
				if err == nil && f.match(rec) {
					out = append(out, rec)
				}
				return err
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	return out, err
}
