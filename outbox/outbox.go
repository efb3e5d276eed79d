package outbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/groupcommit"
	"github.com/wotmq/wotmq/wire"
)

// Errors returned by the outbox.
var (
	ErrBadCursor = errors.New("outbox: bad cursor")
	// ErrBadQuery is a history query out of bounds (ParseQuery, CheckQuery).
	ErrBadQuery = errors.New("outbox: bad history query")
	ErrCorrupt  = errors.New("outbox: corrupt record")
	// ErrRepeat is an Append whose Record.Seq is not above the newest
	// sequence stored for its Thing: a publish sent again after its
	// acknowledgement was lost (an edge hub's forwarding; upstream.go).
	ErrRepeat = errors.New("outbox: repeated sequence")
)

// Defaults for Options.
const (
	DefaultRetention = 7 * 24 * time.Hour
	DefaultPageSize  = 100
	MaxPageSize      = 1000
)

const (
	prefixHistory  = "outbox/h/"
	prefixLatest   = "outbox/l/"
	prefixSeq      = "outbox/s/" // newest Record.Seq per Thing (upstream.go)
	prefixPosition = "outbox/c/" // a reader's durable position per Thing (upstream.go)
)

// Options configures a Store. The zero value works.
type Options struct {
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// DefaultRetention is how long history is kept when Append is given a
	// retention of 0; DefaultRetention when zero.
	DefaultRetention time.Duration
	// MaxHistory caps the history records kept per Thing: past 110% of
	// it, the oldest are deleted down to it (see trim.go). 0: no cap.
	MaxHistory int
	// OnTrim, when set, is told the cursors of the history records the cap
	// deleted, oldest first (an edge hub counts those it had not forwarded
	// yet). It runs after the deletion, one trim at a time: it must not
	// append to the store.
	OnTrim func(thingID string, cursors []string)
}

// Store is the outbox over a Badger database it shares with other packages.
type Store struct {
	db        *badger.DB
	commit    *groupcommit.Committer // Append's writes, batched
	now       func() time.Time
	retention time.Duration

	mu     sync.Mutex
	last   int64 // last timestamp handed out, for unique, increasing keys
	loaded bool  // last covers the stamps stored before this start (loadLast)

	trim trimmer
}

// New returns a Store on db.
func New(db *badger.DB, opts Options) *Store {
	s := &Store{db: db, commit: groupcommit.New(db, 0), now: opts.Now, retention: opts.DefaultRetention,
		trim: trimmer{max: max(opts.MaxHistory, 0), count: map[string]thingCount{}, onTrim: opts.OnTrim}}
	if s.now == nil {
		s.now = time.Now
	}
	if s.retention <= 0 {
		s.retention = DefaultRetention
	}
	return s
}

// Record is one event or property value.
type Record struct {
	Kind    wire.HistoryKind
	ThingID string
	Name    string
	Value   []byte // the JSON payload, as sent
	Sender  string
	Time    time.Time // when the store took it: set by Append, the history key
	// Origin is when the record happened, as its publisher said (an edge
	// hub forwarding its history, a device uploading readings it kept);
	// zero when it did not say. When reports it; Time stays the order.
	Origin time.Time
	// Seq, when not zero, is the publisher's sequence number for the
	// Thing: Append refuses with ErrRepeat one not above the newest it
	// stored for the Thing, so a publish sent again is stored once.
	Seq uint64
}

// Cursor is the replay position of the record (valid after Append or a read).
func (r Record) Cursor() string { return encodeCursor(r.Time.UnixNano()) }

// When is when the record happened: its Origin if its publisher gave one,
// else when the store took it.
func (r Record) When() time.Time {
	if !r.Origin.IsZero() {
		return r.Origin
	}
	return r.Time
}

// Retain says how Append keeps a record's history.
type Retain time.Duration

// Retention values with a special meaning.
const (
	// RetainDefault keeps history for the store's default retention.
	RetainDefault Retain = 0
	// RetainNone stores only the latest value, no history.
	RetainNone Retain = -1
)

// Append stores rec as the latest value of its affordance and, unless
// retain is RetainNone, in the history for retain (RetainDefault: the
// store's default). It stamps rec.Time and returns the stored record. When
// Append returns nil the record is in Badger's write-ahead log.
func (s *Store) Append(ctx context.Context, rec Record, retain Retain) (Record, error) {
	return s.AppendLater(ctx, rec, retain)()
}

// AppendLater queues the write Append makes and returns at once; wait
// returns what Append would have returned, once the write committed. The
// records of calls made in a row, before the first wait, are committed in
// one transaction, in the order of the calls (see groupcommit.Submit).
// wait must be called exactly once.
func (s *Store) AppendLater(ctx context.Context, rec Record, retain Retain) (wait func() (Record, error)) {
	if err := ctx.Err(); err != nil {
		return func() (Record, error) { return rec, err }
	}
	if err := s.loadLast(); err != nil {
		return func() (Record, error) { return rec, err }
	}
	// Stamped inside the write: a shared transaction applies writes in
	// the order they queued, so the latest value is the newest stamp.
	var expires uint64 // the history record's expiry (Badger's, Unix seconds), for the trimmer
	p := s.commit.Submit(func(txn *badger.Txn) error {
		if rec.Seq > 0 {
			if err := checkSeq(txn, rec.ThingID, rec.Seq); err != nil {
				return err
			}
		}
		ts := s.stamp()
		rec.Time = time.Unix(0, ts).UTC()
		val := encodeRecord(rec)
		if retain != RetainNone {
			ttl := time.Duration(retain)
			if ttl <= 0 {
				ttl = s.retention
			}
			e := badger.NewEntry(historyKey(rec.ThingID, ts), val).WithTTL(roundTTL(ttl))
			expires = e.ExpiresAt
			if err := txn.SetEntry(e); err != nil {
				return err
			}
		}
		return txn.Set(latestKey(rec.ThingID, rec.Kind, rec.Name), val)
	})
	return func() (Record, error) {
		err := p.Wait()
		if errors.Is(err, ErrRepeat) {
			return rec, err
		}
		if err != nil {
			return rec, fmt.Errorf("outbox: append %s/%s: %w", rec.ThingID, rec.Name, err)
		}
		if retain != RetainNone {
			// The record is stored: a failed trim is retried by a later one.
			_ = s.noteHistory(rec.ThingID, expires)
		}
		return rec, nil
	}
}

// roundTTL rounds up to whole seconds: Badger's TTL granularity is one
// second and a sub-second TTL can expire at once.
func roundTTL(d time.Duration) time.Duration {
	return (d + time.Second - 1).Truncate(time.Second)
}

// stamp returns a timestamp greater than every earlier one, stored ones
// included (loadLast): a wall clock set back, across a restart too, never
// puts new history before old, where cursors and Last-Event-ID would
// skip it. Until the clock catches up, stamps run on from the newest.
func (s *Store) stamp() int64 {
	now := s.now().UnixNano()
	s.mu.Lock()
	if now <= s.last {
		now = s.last + 1
	}
	s.last = now
	s.mu.Unlock()
	return now
}

// Latest returns the latest value of one affordance.
func (s *Store) Latest(ctx context.Context, thingID string, kind wire.HistoryKind, name string) (Record, bool, error) {
	var rec Record
	found := false
	err := s.db.View(func(txn *badger.Txn) error {
		item, err := txn.Get(latestKey(thingID, kind, name))
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		if err != nil {
			return err
		}
		return item.Value(func(v []byte) error {
			found = true
			rec, err = decodeRecord(thingID, v)
			return err
		})
	})
	return rec, found, err
}

// LatestAll returns the latest value of every affordance of a Thing, of one
// kind ("" for both), ordered by kind then name.
func (s *Store) LatestAll(ctx context.Context, thingID string, kind wire.HistoryKind) ([]Record, error) {
	var out []Record
	prefix := latestThingPrefix(thingID)
	if kind != "" {
		prefix = append(prefix, kindByte(kind))
	}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: prefix, PrefetchValues: true, PrefetchSize: 16})
		defer it.Close()
		for it.Rewind(); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			err := it.Item().Value(func(v []byte) error {
				rec, err := decodeRecord(thingID, v)
				out = append(out, rec)
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

// Filter selects history records. Zero fields match everything.
type Filter struct {
	Kind wire.HistoryKind
	Name string
}

func (f Filter) match(r Record) bool {
	return (f.Kind == "" || f.Kind == r.Kind) && (f.Name == "" || f.Name == r.Name)
}

// History returns one page of a Thing's history in time order, oldest
// first, starting after q.Cursor or at q.From.
func (s *Store) History(ctx context.Context, thingID string, f Filter, q wire.HistoryQuery) (wire.HistoryPage, error) {
	page := wire.HistoryPage{Items: []wire.HistoryItem{}}
	limit := q.Limit
	if limit <= 0 {
		limit = DefaultPageSize
	}
	limit = min(limit, MaxPageSize)
	start := historyKey(thingID, 0)
	if !q.From.IsZero() {
		start = historyKey(thingID, keyNanos(q.From))
	}
	if q.Cursor != "" {
		ts, err := decodeCursor(q.Cursor)
		if err != nil {
			return page, err
		}
		if c := historyKey(thingID, ts+1); bytes.Compare(c, start) > 0 {
			start = c
		}
	}
	var end []byte
	if !q.To.IsZero() {
		end = historyKey(thingID, keyNanos(q.To))
	}
	err := s.db.View(func(txn *badger.Txn) error {
		it := txn.NewIterator(badger.IteratorOptions{Prefix: historyThingPrefix(thingID), PrefetchValues: true, PrefetchSize: 64})
		defer it.Close()
		for it.Seek(start); it.Valid(); it.Next() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if end != nil && bytes.Compare(it.Item().Key(), end) >= 0 {
				return nil
			}
			var rec Record
			err := it.Item().Value(func(v []byte) error {
				var err error
				rec, err = decodeRecord(thingID, v)
				return err
			})
			if err != nil {
				return err
			}
			if !f.match(rec) {
				continue
			}
			if len(page.Items) == limit {
				page.Next = page.Items[limit-1].Cursor
				return nil
			}
			page.Items = append(page.Items, wire.HistoryItem{
				Kind: rec.Kind, Name: rec.Name, Value: rec.Value, Time: rec.When(),
				Sender: rec.Sender, Cursor: rec.Cursor(),
			})
		}
		return nil
	})
	return page, err
}

// DeleteThing removes a Thing's history and latest values.
func (s *Store) DeleteThing(ctx context.Context, thingID string) error {
	defer s.trim.forget(thingID)
	for _, p := range [][]byte{historyThingPrefix(thingID), latestThingPrefix(thingID), seqKey(thingID), positionThingPrefix(thingID)} {
		if err := groupcommit.DeletePrefix(s.db, p); err != nil {
			return fmt.Errorf("outbox: delete %s: %w", thingID, err)
		}
	}
	return nil
}

// DeleteLatest removes the latest values of one affordance kind of a Thing
// except those whose names keep returns true for (used when a TD update
// drops affordances).
func (s *Store) DeleteLatest(ctx context.Context, thingID string, kind wire.HistoryKind, keep func(name string) bool) error {
	recs, err := s.LatestAll(ctx, thingID, kind)
	if err != nil {
		return err
	}
	return s.db.Update(func(txn *badger.Txn) error {
		for _, r := range recs {
			if !keep(r.Name) {
				if err := txn.Delete(latestKey(thingID, kind, r.Name)); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

func historyThingPrefix(thingID string) []byte {
	return append([]byte(prefixHistory+thingID), 0)
}

func historyKey(thingID string, ts int64) []byte {
	return binary.BigEndian.AppendUint64(historyThingPrefix(thingID), uint64(ts))
}

func latestThingPrefix(thingID string) []byte {
	return append([]byte(prefixLatest+thingID), 0)
}

func latestKey(thingID string, kind wire.HistoryKind, name string) []byte {
	return append(append(latestThingPrefix(thingID), kindByte(kind)), name...)
}

func kindByte(k wire.HistoryKind) byte {
	if k == wire.KindProperty {
		return 'p'
	}
	return 'e'
}

// originFlag marks, in a record's kind byte, a record with an Origin: the
// upper-case kind ('E', 'P'), with the origin's 8 bytes after the time.
// Records without one keep the encoding they always had.
const originFlag = 'a' - 'A'

func encodeCursor(ts int64) string {
	return hex.EncodeToString(binary.BigEndian.AppendUint64(nil, uint64(ts)))
}

func decodeCursor(c string) (int64, error) {
	b, err := hex.DecodeString(c)
	if err != nil || len(b) != 8 || b[0]&0x80 != 0 { // keys are never negative
		return 0, fmt.Errorf("%w: %q", ErrBadCursor, c)
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// keyNanos is t as the Unix nanoseconds of a history key: times before
// 1970 come before every key, times past 2262 (where UnixNano overflows)
// after every key. FuzzHistoryQuery found queries with such bounds
// answered wrongly.
func keyNanos(t time.Time) int64 {
	switch {
	case t.Unix() < 0:
		return 0
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// Record encoding: kind byte, uvarint len + name, uvarint len + sender,
// 8-byte big-endian Unix nanoseconds, [with an upper-case kind byte: the
// origin's 8-byte Unix nanoseconds,] then the value bytes.
func encodeRecord(r Record) []byte {
	b := make([]byte, 0, 1+len(r.Name)+len(r.Sender)+16+len(r.Value)+4)
	k := kindByte(r.Kind)
	if !r.Origin.IsZero() {
		k -= originFlag
	}
	b = append(b, k)
	b = binary.AppendUvarint(b, uint64(len(r.Name)))
	b = append(b, r.Name...)
	b = binary.AppendUvarint(b, uint64(len(r.Sender)))
	b = append(b, r.Sender...)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	if !r.Origin.IsZero() {
		b = binary.BigEndian.AppendUint64(b, uint64(r.Origin.UnixNano()))
	}
	return append(b, r.Value...)
}

// decodeRecord decodes v; the record owns its Value.
func decodeRecord(thingID string, v []byte) (Record, error) {
	r := Record{ThingID: thingID}
	if len(v) < 1 {
		return r, ErrCorrupt
	}
	r.Kind = wire.KindEvent
	k := v[0]
	origin := k == 'E' || k == 'P'
	if origin {
		k += originFlag
	}
	if k == 'p' {
		r.Kind = wire.KindProperty
	}
	v = v[1:]
	var ok bool
	if r.Name, v, ok = readString(v); !ok {
		return r, ErrCorrupt
	}
	if r.Sender, v, ok = readString(v); !ok {
		return r, ErrCorrupt
	}
	if len(v) < 8 {
		return r, ErrCorrupt
	}
	r.Time = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
	v = v[8:]
	if origin {
		if len(v) < 8 {
			return r, ErrCorrupt
		}
		r.Origin = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
		v = v[8:]
	}
	r.Value = bytes.Clone(v)
	return r, nil
}

func readString(v []byte) (string, []byte, bool) {
	n, k := binary.Uvarint(v)
	if k <= 0 || uint64(len(v)-k) < n {
		return "", nil, false
	}
	return string(v[k : k+int(n)]), v[k+int(n):], true
}
