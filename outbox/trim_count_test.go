package outbox_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/wotmq/wotmq/outbox"
	"github.com/wotmq/wotmq/wire"
)

// trimCountHistory is the values of a Thing's whole history, oldest first.
func trimCountHistory(t *testing.T, s *outbox.Store, thing string) []string {
	t.Helper()
	page, err := s.History(context.Background(), thing, outbox.Filter{}, wire.HistoryQuery{Limit: outbox.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, it := range page.Items {
		out = append(out, string(it.Value))
	}
	return out
}

func trimCountAppend(t *testing.T, s *outbox.Store, thing, value string, retain outbox.Retain) {
	t.Helper()
	if _, err := s.Append(context.Background(), outbox.Record{Kind: wire.KindEvent, ThingID: thing, Name: "e", Value: []byte(value)}, retain); err != nil {
		t.Fatal(err)
	}
}

// TestTrimKeepsTheNewest: a Thing appended far past its cap keeps the
// newest records, in order, never fewer than the cap (the trims after the
// first count go by the count the store keeps).
func TestTrimKeepsTheNewest(t *testing.T) {
	s := outbox.New(mustOpenDB(t, t.TempDir()), outbox.Options{MaxHistory: 10})
	const n = 200
	for i := range n {
		trimCountAppend(t, s, "t", fmt.Sprint(i), outbox.RetainDefault)
		got := trimCountHistory(t, s, "t")
		if want := min(i+1, 10); len(got) < want || len(got) > 11 {
			t.Fatalf("after %d appends: %d records kept, want %d to 11", i+1, len(got), want)
		}
		for j, v := range got {
			if want := fmt.Sprint(i + 1 - len(got) + j); v != want {
				t.Fatalf("after %d appends: record %d is %s, want %s (the newest, in order)", i+1, j, v, want)
			}
		}
	}
	if got := int(s.Trimmed()) + len(trimCountHistory(t, s, "t")); got != n {
		t.Errorf("trimmed + kept = %d, want %d", got, n)
	}
}

// TestTrimCountsAgainAfterExpiry: records that expired are not counted
// against the cap: once one of those the store counted has expired, a trim
// counts the Thing's records in Badger again instead of deleting by its
// own count (which would delete records the cap keeps).
func TestTrimCountsAgainAfterExpiry(t *testing.T) {
	s := outbox.New(mustOpenDB(t, t.TempDir()), outbox.Options{MaxHistory: 10})
	for i := range 5 {
		trimCountAppend(t, s, "t", fmt.Sprint("short", i), outbox.Retain(time.Second))
	}
	for i := range 5 {
		trimCountAppend(t, s, "t", fmt.Sprint(i), outbox.RetainDefault)
	}
	deadline := time.Now().Add(30 * time.Second)
	for len(trimCountHistory(t, s, "t")) != 5 { // the short ones expire (Badger's clock: within 2 s)
		if time.Now().After(deadline) {
			t.Fatalf("short records not expired: %v", trimCountHistory(t, s, "t"))
		}
		time.Sleep(50 * time.Millisecond) // polling Badger's TTL, which follows the wall clock
	}
	for i := 5; i < 12; i++ { // 12 live records, 17 appended: one trim, down to 10
		trimCountAppend(t, s, "t", fmt.Sprint(i), outbox.RetainDefault)
	}
	got := trimCountHistory(t, s, "t")
	if len(got) != 10 || got[0] != "2" || got[9] != "11" {
		t.Fatalf("kept %v, want 2 to 11", got)
	}
}

// BenchmarkHotAppendAtCap appends 64 B events to a Thing at its history
// cap (10,000 here; the hub's default is 100,000): each append costs its
// share of the trims that keep the Thing at the cap.
func BenchmarkHotAppendAtCap(b *testing.B) {
	ctx := context.Background()
	const cap = 10000
	s := outbox.New(openHotBenchDB(b), outbox.Options{MaxHistory: cap})
	val := []byte(`{"seq":1,"ts":2,"m":1,"pad":"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"}`)
	rec := outbox.Record{Kind: wire.KindEvent, ThingID: "urn:hot:cap", Name: "tick", Value: val, Sender: "agent"}
	for range cap + cap/10 {
		if _, err := s.Append(ctx, rec, outbox.RetainDefault); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Append(ctx, rec, outbox.RetainDefault); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTrimAfterRestore: records restored with their old times (wotmq
// import), or restored twice, are trimmed like the others: the oldest go
// first, and the cap keeps as many records as before.
func TestTrimAfterRestore(t *testing.T) {
	ctx := context.Background()
	s := outbox.New(mustOpenDB(t, t.TempDir()), outbox.Options{MaxHistory: 10})
	for i := range 30 { // trimmed a few times already
		trimCountAppend(t, s, "t", fmt.Sprint(i), outbox.RetainDefault)
	}
	old := outbox.Record{Kind: wire.KindEvent, ThingID: "t", Name: "e", Time: time.Unix(1000, 0)}
	for i := range 3 {
		old.Value, old.Time = []byte(fmt.Sprint("old", i)), old.Time.Add(time.Second)
		for range 2 { // the same record twice: stored once
			if err := s.Restore(ctx, old, outbox.RetainDefault); err != nil {
				t.Fatal(err)
			}
		}
	}
	for i := 30; i < 45; i++ {
		trimCountAppend(t, s, "t", fmt.Sprint(i), outbox.RetainDefault)
	}
	got := trimCountHistory(t, s, "t")
	if len(got) < 10 || len(got) > 11 || got[len(got)-1] != "44" || got[0] != fmt.Sprint(45-len(got)) {
		t.Fatalf("kept %v, want the newest 10 or 11 (up to 44)", got)
	}
}
