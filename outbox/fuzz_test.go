package outbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wire"
)

// FuzzHistoryQuery reads a history query as the hub does (JSON from the
// network) and runs it on a store of 60 records: a page is at most its
// limit, in time order, within [from, to), after the cursor; its items'
// cursors and its next cursor continue where it stopped; a bad cursor is
// ErrBadCursor.
func FuzzHistoryQuery(f *testing.F) {
	for _, s := range []string{
		``, `{}`, `{"limit":5}`, `{"limit":-1}`, `{"limit":100000}`,
		`{"from":"2026-01-01T00:10:00Z","to":"2026-01-01T00:20:00Z"}`,
		`{"from":"0001-01-01T00:00:00Z","to":"9999-12-31T23:59:59Z"}`,
		`{"from":"1677-09-21T00:12:43Z"}`, `{"to":"1969-12-31T23:59:59Z"}`,
		`{"cursor":"18ea17bd5f7df752"}`, `{"cursor":"zz"}`, `{"cursor":"ffffffffffffffff","limit":1}`,
		`{"cursor":"0000000000000000","limit":3}`, `{"latest":true}`, `{"limit":1.5}`, `[]`, `null`,
		`{"limit":0}`, `{"limit":1000}`, `{"limit":1001}`, `{"limit":null}`, ` `,
	} {
		f.Add([]byte(s), "")
		f.Add([]byte(s), "a")
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	now := base
	db, err := badger.Open(badger.DefaultOptions("").WithInMemory(true).WithLogger(nil))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	s := outbox.New(db, outbox.Options{Now: func() time.Time { return now }})
	ctx := context.Background()
	var recs []outbox.Record
	for i := range 60 {
		now = base.Add(time.Duration(i) * 30 * time.Second)
		name := []string{"a", "b", "c"}[i%3]
		rec, err := s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "t", Name: name, Value: []byte(fmt.Sprint(i))}, outbox.Retain(24*time.Hour))
		if err != nil {
			f.Fatal(err)
		}
		recs = append(recs, rec)
	}
	f.Fuzz(func(t *testing.T, payload []byte, name string) {
		// ParseQuery, which both bindings' bounds come from, refuses with
		// ErrBadQuery and never accepts a limit out of range: the hub
		// refuses such a query instead of clamping it.
		pq, perr := outbox.ParseQuery(payload)
		if perr != nil && !errors.Is(perr, outbox.ErrBadQuery) {
			t.Fatalf("ParseQuery(%s): %v, want ErrBadQuery", payload, perr)
		}
		if perr == nil && (pq.Limit < 0 || pq.Limit > outbox.MaxPageSize) {
			t.Fatalf("ParseQuery(%s) accepted limit %d", payload, pq.Limit)
		}
		// History itself stays safe on any decoded query.
		var q wire.HistoryQuery
		if len(payload) > 0 && json.Unmarshal(payload, &q) != nil {
			if perr == nil && len(bytes.TrimSpace(payload)) > 0 {
				t.Fatalf("ParseQuery(%s) accepted what does not decode", payload)
			}
			return // the hub answers invalid_payload
		}
		filter := outbox.Filter{Name: name}
		page, err := s.History(ctx, "t", filter, q)
		cursor, cerr := strconv.ParseUint(q.Cursor, 16, 64)
		if q.Cursor != "" && (cerr != nil || len(q.Cursor) != 16 || cursor > math.MaxInt64) {
			if !errors.Is(err, outbox.ErrBadCursor) {
				t.Fatalf("query %s: %v, want ErrBadCursor", payload, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("query %s: %v", payload, err)
		}
		limit := q.Limit
		if limit <= 0 {
			limit = outbox.DefaultPageSize
		}
		if len(page.Items) > min(limit, outbox.MaxPageSize) {
			t.Fatalf("%d items for limit %d", len(page.Items), q.Limit)
		}
		var prev time.Time
		for _, it := range page.Items {
			if name != "" && it.Name != name {
				t.Fatalf("item of %q in a query for %q", it.Name, name)
			}
			if !it.Time.After(prev) {
				t.Fatalf("items out of order: %v after %v", it.Time, prev)
			}
			prev = it.Time
			if !q.From.IsZero() && it.Time.Before(q.From) || !q.To.IsZero() && !it.Time.Before(q.To) {
				t.Fatalf("item at %v outside [%v, %v)", it.Time, q.From, q.To)
			}
		}
		// The page is exactly what a model of the store says.
		var want []string
		for i, rec := range recs {
			switch {
			case name != "" && rec.Name != name:
			case !q.From.IsZero() && rec.Time.Before(q.From):
			case !q.To.IsZero() && !rec.Time.Before(q.To):
			case q.Cursor != "" && uint64(rec.Time.UnixNano()) <= cursor:
			default:
				want = append(want, fmt.Sprint(i))
			}
		}
		want = want[:min(len(want), limit, outbox.MaxPageSize)]
		var got []string
		for _, it := range page.Items {
			got = append(got, string(it.Value))
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("query %s for %q: got %v, want %v", payload, name, got, want)
		}
		if page.Next == "" {
			return
		}
		if len(page.Items) == 0 || page.Next != page.Items[len(page.Items)-1].Cursor {
			t.Fatalf("next %q is not the last item's cursor", page.Next)
		}
		q.Cursor = page.Next
		more, err := s.History(ctx, "t", filter, q)
		if err != nil {
			t.Fatalf("next page: %v", err)
		}
		if len(more.Items) == 0 || !more.Items[0].Time.After(prev) {
			t.Fatalf("next page does not continue after %v: %+v", prev, more.Items)
		}
	})
}
