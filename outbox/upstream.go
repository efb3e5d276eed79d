package outbox

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// What an edge hub's forwarding to a cloud hub needs from the outbox
// (package upstream, docs/bridges.md "Edge to cloud"): on the edge, a
// durable read position per Thing; on the cloud, the newest sequence number
// per Thing, so that a record the edge sends again is stored once.
//
//	outbox/s/{thingID}\x00               newest Record.Seq, 8 bytes
//	outbox/c/{thingID}\x00{reader}       a reader's position, 8 bytes (a cursor)

func seqKey(thingID string) []byte {
	return append([]byte(prefixSeq+thingID), 0)
}

// checkSeq refuses a sequence number not above the newest stored for the
// Thing and stores it as the newest, in the Append's transaction.
func checkSeq(txn *badger.Txn, thingID string, seq uint64) error {
	k := seqKey(thingID)
	item, err := txn.Get(k)
	switch {
	case errors.Is(err, badger.ErrKeyNotFound):
	case err != nil:
		return err
	default:
		var last uint64
		if err := item.Value(func(v []byte) error {
			if len(v) != 8 {
				return ErrCorrupt
			}
			last = binary.BigEndian.Uint64(v)
			return nil
		}); err != nil {
			return err
		}
		if seq <= last {
			return ErrRepeat
		}
	}
	return txn.Set(k, binary.BigEndian.AppendUint64(nil, seq))
}

// LastSeq returns the newest Record.Seq stored for a Thing (0: none).
func (s *Store) LastSeq(ctx context.Context, thingID string) (uint64, error) {
	var last uint64
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(seqKey(thingID))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 8 {
				return ErrCorrupt
			}
			last = binary.BigEndian.Uint64(v)
			return nil
		})
	})
	return last, err
}

func positionThingPrefix(thingID string) []byte {
	return append([]byte(prefixPosition+thingID), 0)
}

// Position returns the cursor reader last saved for a Thing with
// SetPosition ("" when none): where its next History read starts.
func (s *Store) Position(ctx context.Context, reader, thingID string) (string, error) {
	cur := ""
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(append(positionThingPrefix(thingID), reader...))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			if len(v) != 8 {
				return ErrCorrupt
			}
			cur = encodeCursor(int64(binary.BigEndian.Uint64(v)))
			return nil
		})
	})
	return cur, err
}

// SetPosition saves reader's cursor for a Thing (a cursor of a record of
// the Thing's history). It is deleted with the Thing.
func (s *Store) SetPosition(ctx context.Context, reader, thingID, cursor string) error {
	ts, err := decodeCursor(cursor)
	if err != nil {
		return err
	}
	err = s.db.Update(func(txn *badger.Txn) error {
		return txn.Set(append(positionThingPrefix(thingID), reader...), binary.BigEndian.AppendUint64(nil, uint64(ts)))
	})
	if err != nil {
		return fmt.Errorf("outbox: save position of %s: %w", reader, err)
	}
	return nil
}

// CursorSeq is a cursor as a number that grows with the history: the
// Record.Seq an edge hub sends with the record (upstream.go).
func CursorSeq(cursor string) (uint64, error) {
	ts, err := decodeCursor(cursor)
	return uint64(ts), err
}

// CountAfter counts a Thing's history records after cursor ("" counts
// them all), reading keys only: an edge hub's backlog.
func (s *Store) CountAfter(ctx context.Context, thingID, cursor string) (int, error) {
	start := historyKey(thingID, 0)
	if cursor != "" {
		ts, err := decodeCursor(cursor)
		if err != nil {
			return 0, err
		}
		start = historyKey(thingID, ts+1)
	}
	n := 0
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: historyThingPrefix(thingID)})
		defer it.Close()
		for it.Seek(start); it.Valid(); it.Next() {
			n++
			if n%1024 == 0 {
				if err := ctx.Err(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	return n, err
}

// InHistory reports whether the Thing's history holds the record at cursor
// (false for a value kept only as the latest, RetainNone, or expired).
func (s *Store) InHistory(ctx context.Context, thingID, cursor string) (bool, error) {
	ts, err := decodeCursor(cursor)
	if err != nil {
		return false, err
	}
	found := false
	err = s.db.View(func(txn *badger.Txn) error {
		_, err := txn.Get(historyKey(thingID, ts))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		found = err == nil
		return err
	})
	return found, err
}
