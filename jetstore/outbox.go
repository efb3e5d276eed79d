package jetstore

import (
	"context"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wire"
)

// OutboxOptions are the outbox's own settings, as outbox.Options.
type OutboxOptions struct {
	// DefaultRetention is how long history is kept when Append is given
	// a retention of 0; outbox.DefaultRetention when zero.
	DefaultRetention time.Duration
	// MaxHistory caps the history kept per Thing (the stream's messages
	// per subject); 0: no cap.
	MaxHistory int
}

// Outbox is outbox.Store on JetStream: latest values in the KV bucket
// LATEST, history in the stream HIST with one subject per Thing.
//
// Cursors are the records' times in the Badger outbox's format, so an SSE
// Last-Event-ID or an MQTT history cursor means the same on either
// backend. Times are unique per node (as on Badger); two nodes stamping
// one Thing's records within the same nanosecond would share a cursor.
type Outbox struct {
	o         Options
	latest    jetstream.KeyValue
	seqs      jetstream.KeyValue // the newest Record.Seq per Thing
	hist      jetstream.Stream
	histName  string
	subject   string // the history subject prefix, "<prefix>.hist."
	retention time.Duration

	mu   sync.Mutex
	last int64
}

// histRecord is a history message's body and a latest value.
type histRecord struct {
	Kind   wire.HistoryKind `json:"k"`
	Name   string           `json:"n"`
	Sender string           `json:"s,omitempty"`
	Time   int64            `json:"t"`           // Unix nanoseconds
	Origin int64            `json:"o,omitempty"` // Unix nanoseconds; 0: none
	Value  []byte           `json:"v"`
}

// OpenOutbox opens the outbox, creating its bucket and stream.
func OpenOutbox(ctx context.Context, o Options, oo OutboxOptions) (*Outbox, error) {
	o, err := o.check()
	if err != nil {
		return nil, err
	}
	latest, err := bucket(ctx, o, "LATEST")
	if err != nil {
		return nil, err
	}
	seqs, err := bucket(ctx, o, "OUTSEQ")
	if err != nil {
		return nil, err
	}
	b := &Outbox{o: o, latest: latest, seqs: seqs, histName: o.Prefix + "_HIST", subject: strings.ToLower(o.Prefix) + ".hist.",
		retention: oo.DefaultRetention}
	if b.retention <= 0 {
		b.retention = outbox.DefaultRetention
	}
	perSubject := int64(-1)
	if oo.MaxHistory > 0 {
		perSubject = int64(oo.MaxHistory)
	}
	b.hist, err = openStream(ctx, o, jetstream.StreamConfig{
		Name: b.histName, Subjects: []string{b.subject + ">"}, Replicas: o.Replicas, Storage: jetstream.FileStorage,
		MaxMsgsPerSubject: perSubject, AllowMsgTTL: true, Discard: jetstream.DiscardOld, AllowDirect: true,
	})
	if err != nil {
		return nil, fmt.Errorf("jetstore: stream HIST: %w", err)
	}
	return b, nil
}

// stamp returns a time after every earlier stamp of this node.
func (b *Outbox) stamp() int64 {
	n := b.o.Now().UnixNano()
	b.mu.Lock()
	if n <= b.last {
		n = b.last + 1
	}
	b.last = n
	b.mu.Unlock()
	return n
}

func latestKey(thingID string, kind wire.HistoryKind, name string) string {
	return enc(thingID) + "." + kindToken(kind) + "." + enc(name)
}

func kindToken(k wire.HistoryKind) string {
	if k == wire.KindProperty {
		return "p"
	}
	return "e"
}

// Append stores a record: in the history (unless retain is
// outbox.RetainNone) and as the latest value of its affordance. It
// returns the record with its time set once both writes are on a quorum.
// A record with a Seq not above the newest stored for its Thing is
// refused with outbox.ErrRepeat (compare-and-set on the Thing's newest).
func (b *Outbox) Append(ctx context.Context, rec outbox.Record, retain outbox.Retain) (outbox.Record, error) {
	return b.AppendLater(ctx, rec, retain)()
}

// AppendLater issues the writes Append makes and returns at once; wait
// returns what Append returns, once both writes are on a quorum. The
// writes of records appended one after the other are in flight together
// (the group commit of async.go): a connection's run of events costs
// about one replication round trip instead of two per event. Call the
// waits in the order of the calls.
//
// Order: the writes of one connection reach the stream's leader in the
// order issued and are stored so. Should one fail (a leader lost
// mid-flight), wait makes it again, synchronously: the history message
// under the same message ID (stored once), the latest value only if the
// stored one is older (a later record's value, stored meanwhile, stays).
func (b *Outbox) AppendLater(ctx context.Context, rec outbox.Record, retain outbox.Retain) (wait func() (outbox.Record, error)) {
	fail := func(err error) func() (outbox.Record, error) {
		return func() (outbox.Record, error) { return rec, err }
	}
	if err := ctx.Err(); err != nil {
		return fail(err)
	}
	if rec.Seq > 0 {
		if err := b.checkSeq(ctx, rec); err != nil {
			return fail(err)
		}
	}
	ts := b.stamp()
	rec.Time = time.Unix(0, ts).UTC()
	h := histRecord{Kind: rec.Kind, Name: rec.Name, Sender: rec.Sender, Time: ts, Value: rec.Value}
	if !rec.Origin.IsZero() {
		h.Origin = rec.Origin.UnixNano()
	}
	val, err := json.Marshal(h)
	if err != nil {
		return fail(err)
	}
	var histOpts []jetstream.PublishOpt
	var hist issued
	if retain != outbox.RetainNone {
		ttl := time.Duration(retain)
		if ttl <= 0 {
			ttl = b.retention
		}
		ttl = (ttl + time.Second - 1).Truncate(time.Second) // JetStream's TTLs are whole seconds
		// The message ID makes a retry after a lost acknowledgement store
		// the record once.
		histOpts = []jetstream.PublishOpt{jetstream.WithMsgTTL(ttl), jetstream.WithMsgID(fmt.Sprintf("%s/%d", b.o.Prefix, ts))}
		hist = publishLater(b.o, b.subject+enc(rec.ThingID), val, histOpts...)
	}
	key := latestKey(rec.ThingID, rec.Kind, rec.Name)
	latest := putLater(b.o, b.latest, key, val)
	return func() (outbox.Record, error) {
		herr, lerr := hist.wait(ctx), latest.wait(ctx)
		if (herr != nil && transient(herr)) || (lerr != nil && transient(lerr)) {
			b.o.Log.Warn().AnErr("history", herr).AnErr("latest", lerr).Str("thing", rec.ThingID).
				Msg("a write issued with others failed; making it again")
		}
		if herr != nil {
			if !transient(herr) {
				return rec, fmt.Errorf("outbox: append %s/%s: %w", rec.ThingID, rec.Name, herr)
			}
			if err := retry(ctx, b.o, func() error {
				_, err := b.o.JS.Publish(ctx, b.subject+enc(rec.ThingID), val, histOpts...)
				return err
			}); err != nil {
				return rec, fmt.Errorf("outbox: append %s/%s: %w", rec.ThingID, rec.Name, err)
			}
		}
		if lerr != nil {
			if !transient(lerr) {
				return rec, fmt.Errorf("outbox: append %s/%s: %w", rec.ThingID, rec.Name, lerr)
			}
			if err := b.putLatestIfNewer(ctx, key, ts, val); err != nil {
				return rec, fmt.Errorf("outbox: append %s/%s: %w", rec.ThingID, rec.Name, err)
			}
		}
		return rec, nil
	}
}

// checkSeq refuses a record whose Seq is not above the newest stored for
// its Thing, and records it as the newest (compare-and-set).
func (b *Outbox) checkSeq(ctx context.Context, rec outbox.Record) error {
	_, err := kvUpdate(ctx, b.o, b.seqs, enc(rec.ThingID), func(cur []byte) ([]byte, bool, bool, error) {
		if len(cur) == 8 && rec.Seq <= binary.BigEndian.Uint64(cur) {
			return nil, false, false, outbox.ErrRepeat
		}
		return binary.BigEndian.AppendUint64(nil, rec.Seq), false, false, nil
	})
	if errors.Is(err, outbox.ErrRepeat) {
		return err
	}
	if err != nil {
		return fmt.Errorf("outbox: append %s/%s: %w", rec.ThingID, rec.Name, err)
	}
	return nil
}

// putLatestIfNewer writes a latest value again after its first write
// failed, unless the stored value is as new or newer (a later record's,
// issued behind it and stored meanwhile).
func (b *Outbox) putLatestIfNewer(ctx context.Context, key string, ts int64, val []byte) error {
	_, err := kvUpdate(ctx, b.o, b.latest, key, func(cur []byte) ([]byte, bool, bool, error) {
		var h histRecord
		if cur != nil && json.Unmarshal(cur, &h) == nil && h.Time >= ts {
			return nil, false, true, nil
		}
		return val, false, false, nil
	})
	return err
}

func decodeHist(thingID string, v []byte) (outbox.Record, error) {
	var h histRecord
	if err := json.Unmarshal(v, &h); err != nil {
		return outbox.Record{}, fmt.Errorf("%w: %v", outbox.ErrCorrupt, err)
	}
	r := outbox.Record{Kind: h.Kind, ThingID: thingID, Name: h.Name, Value: h.Value, Sender: h.Sender,
		Time: time.Unix(0, h.Time).UTC()}
	if h.Origin != 0 {
		r.Origin = time.Unix(0, h.Origin).UTC()
	}
	return r, nil
}

// LastSeq returns the newest Record.Seq stored for a Thing (0: none).
func (b *Outbox) LastSeq(ctx context.Context, thingID string) (uint64, error) {
	e, err := b.seqs.Get(ctx, enc(thingID))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	if len(e.Value()) != 8 {
		return 0, outbox.ErrCorrupt
	}
	return binary.BigEndian.Uint64(e.Value()), nil
}

// Latest returns the latest value of one event or property.
func (b *Outbox) Latest(ctx context.Context, thingID string, kind wire.HistoryKind, name string) (outbox.Record, bool, error) {
	e, err := b.latest.Get(ctx, latestKey(thingID, kind, name))
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return outbox.Record{}, false, nil
	}
	if err != nil {
		return outbox.Record{}, false, err
	}
	rec, err := decodeHist(thingID, e.Value())
	return rec, err == nil, err
}

// LatestAll returns the latest value of every event and property of a
// Thing (of one kind unless kind is empty), events first, by name.
func (b *Outbox) LatestAll(ctx context.Context, thingID string, kind wire.HistoryKind) ([]outbox.Record, error) {
	filter := enc(thingID) + ".>"
	if kind != "" {
		filter = enc(thingID) + "." + kindToken(kind) + ".*"
	}
	lister, err := b.latest.ListKeysFiltered(ctx, filter)
	if errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var keys []string
	for k := range lister.Keys() {
		keys = append(keys, k)
	}
	var out []outbox.Record
	for _, k := range keys {
		e, err := b.latest.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue // deleted since the listing
		}
		if err != nil {
			return out, err
		}
		rec, err := decodeHist(thingID, e.Value())
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Kind != out[j].Kind {
			return kindToken(out[i].Kind) < kindToken(out[j].Kind)
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// History returns a page of a Thing's history, oldest first, as
// outbox.Store.History does.
func (b *Outbox) History(ctx context.Context, thingID string, f outbox.Filter, q wire.HistoryQuery) (wire.HistoryPage, error) {
	page := wire.HistoryPage{Items: []wire.HistoryItem{}}
	limit := q.Limit
	if limit <= 0 {
		limit = outbox.DefaultPageSize
	}
	limit = min(limit, outbox.MaxPageSize)
	after := int64(-1) // items must be later than this
	if !q.From.IsZero() {
		after = nanos(q.From) - 1
	}
	if q.Cursor != "" {
		ts, err := decodeCursor(q.Cursor)
		if err != nil {
			return page, err
		}
		after = max(after, ts)
	}
	end := int64(math.MaxInt64)
	if !q.To.IsZero() {
		end = nanos(q.To)
	}
	err := b.scan(ctx, thingID, func() { page = wire.HistoryPage{Items: []wire.HistoryItem{}} }, func(rec outbox.Record) bool {
		ts := rec.Time.UnixNano()
		if ts <= after || !matches(f, rec) {
			return true
		}
		if ts >= end {
			return false
		}
		if len(page.Items) == limit {
			page.Next = page.Items[limit-1].Cursor
			return false
		}
		page.Items = append(page.Items, wire.HistoryItem{Kind: rec.Kind, Name: rec.Name, Value: rec.Value,
			Time: rec.Time, Sender: rec.Sender, Cursor: rec.Cursor()})
		return true
	})
	return page, err
}

// scan hands a Thing's history records to f, oldest first, while f
// returns true. A Thing's history is at most the per-Thing cap: it is read
// from its start (records carry the hub's clock, not JetStream's, so a
// start time would not find the place).
//
// A read that fails for want of a leader is made again from the start,
// for up to Options.Retry: reset is called first, so that the caller
// drops what the failed attempt handed it.
func (b *Outbox) scan(ctx context.Context, thingID string, reset func(), f func(outbox.Record) bool) error {
	first := true
	return retry(ctx, b.o, func() error {
		if !first {
			reset()
		}
		first = false
		return b.scanOnce(ctx, thingID, f)
	})
}

func (b *Outbox) scanOnce(ctx context.Context, thingID string, f func(outbox.Record) bool) error {
	cons, err := b.o.JS.OrderedConsumer(ctx, b.histName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{b.subject + enc(thingID)}})
	if err != nil {
		return fmt.Errorf("outbox: history %s: %w", thingID, err)
	}
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		batch, err := cons.FetchNoWait(256)
		if err != nil {
			return fmt.Errorf("outbox: history %s: %w", thingID, err)
		}
		n, last := 0, false
		for m := range batch.Messages() {
			n++
			if md, err := m.Metadata(); err == nil && md.NumPending == 0 {
				last = true
			}
			rec, err := decodeHist(thingID, m.Data())
			if err != nil {
				return err
			}
			if !f(rec) {
				return nil
			}
		}
		if err := batch.Error(); err != nil && !errors.Is(err, jetstream.ErrNoMessages) {
			return fmt.Errorf("outbox: history %s: %w", thingID, err)
		}
		if n == 0 || last {
			return nil
		}
	}
}

// PropertiesAt returns the values the named properties of a Thing had at
// instant at (see outbox.Store.PropertiesAt), ordered by name.
func (b *Outbox) PropertiesAt(ctx context.Context, thingID string, at time.Time, names []string) ([]outbox.Record, error) {
	want := make(map[string]bool, len(names))
	for _, n := range names {
		want[n] = true
	}
	found := map[string]outbox.Record{}
	atNanos := nanos(at)
	err := b.scan(ctx, thingID, func() { clear(found) }, func(rec outbox.Record) bool {
		if rec.Time.UnixNano() > atNanos {
			return false
		}
		if rec.Kind == wire.KindProperty && want[rec.Name] {
			found[rec.Name] = rec // later records replace earlier ones
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	out := make([]outbox.Record, 0, len(found))
	for _, r := range found {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// Recent returns up to n of a Thing's newest history records that f
// selects, newest first.
func (b *Outbox) Recent(ctx context.Context, thingID string, f outbox.Filter, n int) ([]outbox.Record, error) {
	var ring []outbox.Record
	err := b.scan(ctx, thingID, func() { ring = nil }, func(rec outbox.Record) bool {
		if matches(f, rec) {
			ring = append(ring, rec)
			if len(ring) > n {
				ring = ring[1:]
			}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	slices.Reverse(ring)
	return ring, nil
}

// Trimmed is the number of history records the per-Thing cap removed:
// always 0 here, since JetStream drops them itself (MaxMsgsPerSubject)
// without telling anyone; the metric counts on the Badger outbox only.
func (b *Outbox) Trimmed() uint64 { return 0 }

func nanos(t time.Time) int64 {
	switch {
	case t.Unix() < 0:
		return 0
	case t.After(time.Unix(0, math.MaxInt64)):
		return math.MaxInt64
	}
	return t.UnixNano()
}

func decodeCursor(c string) (int64, error) {
	b, err := hex.DecodeString(c)
	if err != nil || len(b) != 8 || b[0]&0x80 != 0 {
		return 0, fmt.Errorf("%w: %q", outbox.ErrBadCursor, c)
	}
	return int64(binary.BigEndian.Uint64(b)), nil
}

// DeleteThing removes a Thing's history and latest values.
func (b *Outbox) DeleteThing(ctx context.Context, thingID string) error {
	if err := b.hist.Purge(ctx, jetstream.WithPurgeSubject(b.subject+enc(thingID))); err != nil {
		return fmt.Errorf("outbox: delete %s: %w", thingID, err)
	}
	return b.DeleteLatest(ctx, thingID, "", func(string) bool { return false })
}

// DeleteLatest deletes the latest values of a Thing's events or
// properties (all kinds when kind is empty) whose names keep rejects.
func (b *Outbox) DeleteLatest(ctx context.Context, thingID string, kind wire.HistoryKind, keep func(name string) bool) error {
	recs, err := b.LatestAll(ctx, thingID, kind)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if keep(r.Name) {
			continue
		}
		if err := b.latest.Purge(ctx, latestKey(thingID, r.Kind, r.Name)); err != nil {
			return fmt.Errorf("outbox: delete %s/%s: %w", thingID, r.Name, err)
		}
	}
	return nil
}

// matches is outbox.Filter's rule: an empty kind or name matches all.
func matches(f outbox.Filter, r outbox.Record) bool {
	return (f.Kind == "" || f.Kind == r.Kind) && (f.Name == "" || f.Name == r.Name)
}
