package outbox_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wire"
)

func TestUpstreamOriginKept(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpenDB(t, dir)
	s := outbox.New(db, outbox.Options{})
	origin := time.Date(2026, 12, 1, 10, 0, 0, 123, time.UTC)
	rec, err := s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "t", Name: "e", Value: []byte("1"), Origin: origin}, outbox.RetainDefault)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.When().Equal(origin) || rec.Time.Equal(origin) {
		t.Fatalf("When %v Time %v, want origin %v and the store's stamp", rec.When(), rec.Time, origin)
	}
	plain, err := s.Append(ctx, outbox.Record{Kind: wire.KindProperty, ThingID: "t", Name: "p", Value: []byte("2")}, outbox.RetainDefault)
	if err != nil {
		t.Fatal(err)
	}
	page, err := s.History(ctx, "t", outbox.Filter{}, wire.HistoryQuery{})
	if err != nil || len(page.Items) != 2 {
		t.Fatalf("history %+v %v", page, err)
	}
	if !page.Items[0].Time.Equal(origin) || page.Items[0].Cursor != rec.Cursor() || string(page.Items[0].Value) != "1" {
		t.Errorf("item with origin = %+v", page.Items[0])
	}
	if !page.Items[1].Time.Equal(plain.Time) || string(page.Items[1].Value) != "2" {
		t.Errorf("item without origin = %+v", page.Items[1])
	}
	latest, ok, err := s.Latest(ctx, "t", wire.KindEvent, "e")
	if err != nil || !ok || !latest.Origin.Equal(origin) || !latest.Time.Equal(rec.Time) {
		t.Errorf("latest = %+v %v %v", latest, ok, err)
	}
}

func TestUpstreamSeqStoresRepeatOnce(t *testing.T) {
	ctx := context.Background()
	s := outbox.New(mustOpenDB(t, t.TempDir()), outbox.Options{})
	add := func(thing string, seq uint64, v string) error {
		_, err := s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: thing, Name: "e", Value: []byte(v), Seq: seq}, outbox.RetainDefault)
		return err
	}
	for _, c := range []struct {
		thing string
		seq   uint64
		want  error
	}{{"a", 5, nil}, {"a", 5, outbox.ErrRepeat}, {"a", 4, outbox.ErrRepeat}, {"b", 1, nil}, {"a", 6, nil}, {"a", 0, nil}} {
		if err := add(c.thing, c.seq, `"x"`); !errors.Is(err, c.want) {
			t.Errorf("%s seq %d: err %v, want %v", c.thing, c.seq, err, c.want)
		}
	}
	page, _ := s.History(ctx, "a", outbox.Filter{}, wire.HistoryQuery{})
	if len(page.Items) != 3 {
		t.Errorf("thing a holds %d records, want 3 (5, 6 and one without a sequence)", len(page.Items))
	}
	if n, err := s.LastSeq(ctx, "a"); n != 6 || err != nil {
		t.Errorf("LastSeq = %d %v", n, err)
	}
	if err := s.DeleteThing(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.LastSeq(ctx, "a"); n != 0 {
		t.Errorf("LastSeq after delete = %d", n)
	}
	if err := add("a", 1, `"y"`); err != nil {
		t.Errorf("a Thing registered again starts its sequence again: %v", err)
	}
}

func TestUpstreamPositionDurable(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := mustOpenDB(t, dir)
	s := outbox.New(db, outbox.Options{})
	if p, err := s.Position(ctx, "up", "t"); p != "" || err != nil {
		t.Fatalf("fresh position = %q %v", p, err)
	}
	rec, _ := s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "t", Name: "e", Value: []byte("1")}, outbox.RetainDefault)
	if err := s.SetPosition(ctx, "up", "t", rec.Cursor()); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPosition(ctx, "up", "t", "nonsense"); !errors.Is(err, outbox.ErrBadCursor) {
		t.Errorf("bad cursor: %v", err)
	}
	if p, _ := s.Position(ctx, "up", "t"); p != rec.Cursor() {
		t.Errorf("position = %q, want %q", p, rec.Cursor())
	}
	if p, _ := s.Position(ctx, "other", "t"); p != "" {
		t.Errorf("another reader's position = %q", p)
	}
	if n, err := outbox.CursorSeq(rec.Cursor()); err != nil || n != uint64(rec.Time.UnixNano()) {
		t.Errorf("CursorSeq = %d %v", n, err)
	}
	if err := s.DeleteThing(ctx, "t"); err != nil {
		t.Fatal(err)
	}
	if p, _ := s.Position(ctx, "up", "t"); p != "" {
		t.Errorf("position after delete = %q", p)
	}
}

func TestUpstreamOnTrimReportsDropped(t *testing.T) {
	ctx := context.Background()
	var dropped []string
	s := outbox.New(mustOpenDB(t, t.TempDir()), outbox.Options{MaxHistory: 10, OnTrim: func(thing string, cursors []string) {
		if thing == "t" {
			dropped = append(dropped, cursors...)
		}
	}})
	var first []string
	for i := range 12 {
		rec, err := s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "t", Name: "e", Value: []byte("1")}, outbox.RetainDefault)
		if err != nil {
			t.Fatal(err)
		}
		if i < 2 {
			first = append(first, rec.Cursor())
		}
	}
	if len(dropped) != 2 || dropped[0] != first[0] || dropped[1] != first[1] {
		t.Errorf("dropped %v, want the two oldest %v", dropped, first)
	}
}

func TestUpstreamCountAfter(t *testing.T) {
	ctx := context.Background()
	s := outbox.New(mustOpenDB(t, t.TempDir()), outbox.Options{})
	var cursors []string
	for range 5 {
		rec, _ := s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "t", Name: "e", Value: []byte("1")}, outbox.RetainDefault)
		cursors = append(cursors, rec.Cursor())
	}
	_, _ = s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "t2", Name: "e", Value: []byte("1")}, outbox.RetainDefault)
	for _, c := range []struct {
		cursor string
		want   int
	}{{"", 5}, {cursors[0], 4}, {cursors[4], 0}} {
		if n, err := s.CountAfter(ctx, "t", c.cursor); n != c.want || err != nil {
			t.Errorf("CountAfter(%q) = %d %v, want %d", c.cursor, n, err, c.want)
		}
	}
}

func TestUpstreamInHistory(t *testing.T) {
	ctx := context.Background()
	s := outbox.New(mustOpenDB(t, t.TempDir()), outbox.Options{})
	kept, _ := s.Append(ctx, outbox.Record{Kind: wire.KindEvent, ThingID: "t", Name: "e", Value: []byte("1")}, outbox.RetainDefault)
	latestOnly, _ := s.Append(ctx, outbox.Record{Kind: wire.KindProperty, ThingID: "t", Name: "p", Value: []byte("2")}, outbox.RetainNone)
	for _, c := range []struct {
		cursor string
		want   bool
	}{{kept.Cursor(), true}, {latestOnly.Cursor(), false}} {
		if got, err := s.InHistory(ctx, "t", c.cursor); got != c.want || err != nil {
			t.Errorf("InHistory(%s) = %v %v, want %v", c.cursor, got, err, c.want)
		}
	}
}
