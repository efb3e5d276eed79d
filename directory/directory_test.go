package directory

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/td"
)

func openDB(t *testing.T, dir string) *badger.DB {
	t.Helper()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil).WithMemTableSize(4 << 20).WithValueThreshold(1 << 10))
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func put(t *testing.T, d *Directory, thingID, agentID string) {
	t.Helper()
	raw := fmt.Appendf(nil, `{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":%q,"title":"T",`+
		`"securityDefinitions":{"nosec":{"scheme":"nosec"}},"security":"nosec"}`, thingID)
	thing, err := td.Parse(raw)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Put(context.Background(), &Entry{ThingID: thingID, AgentID: agentID, TD: thing, Updated: time.Now()}, raw); err != nil {
		t.Fatalf("put %s for %s: %v", thingID, agentID, err)
	}
}

func ids(es []*Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ThingID)
	}
	return out
}

// TestByAgentFollowsChanges checks the per-agent index through Put,
// Delete, Reassign and a reopen of the store.
func TestByAgentFollowsChanges(t *testing.T) {
	dir := t.TempDir()
	db := openDB(t, dir)
	d, err := Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	put(t, d, "t2", "a")
	put(t, d, "t1", "a")
	put(t, d, "t3", "b")
	put(t, d, "t1", "a") // replaced, not duplicated
	if _, err := d.Put(ctx, &Entry{ThingID: "t3", AgentID: "a"}, []byte(`{}`)); !errors.Is(err, ErrNotOwner) {
		t.Fatalf("Put of another agent's Thing: %v, want ErrNotOwner", err)
	}
	if got := ids(d.ByAgent("a")); !slices.Equal(got, []string{"t1", "t2"}) {
		t.Fatalf("ByAgent(a) = %v, want [t1 t2]", got)
	}
	if _, err := d.Reassign(ctx, "t2", "b"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Delete(ctx, "t3", "b"); err != nil {
		t.Fatal(err)
	}
	if got := ids(d.ByAgent("a")); !slices.Equal(got, []string{"t1"}) {
		t.Fatalf("after reassign, ByAgent(a) = %v, want [t1]", got)
	}
	if got := ids(d.ByAgent("b")); !slices.Equal(got, []string{"t2"}) {
		t.Fatalf("after reassign and delete, ByAgent(b) = %v, want [t2]", got)
	}
	if got := d.ByAgent("nobody"); got != nil {
		t.Fatalf("ByAgent(nobody) = %v, want none", ids(got))
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	db = openDB(t, dir)
	defer db.Close()
	d, err = Open(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	if got := ids(d.ByAgent("b")); !slices.Equal(got, []string{"t2"}) || d.Len() != 2 {
		t.Fatalf("after reopen, ByAgent(b) = %v and %d Things, want [t2] and 2", got, d.Len())
	}
	if e, ok := d.Get("t2"); !ok || e.AgentID != "b" {
		t.Fatalf("after reopen, Get(t2) = %+v, %v; want agent b", e, ok)
	}
}

// BenchmarkByAgent looks up one agent's Things among 10,000 agents', as
// the hub does at every connect and disconnect.
func BenchmarkByAgent(b *testing.B) {
	d := &Directory{things: make(map[string]*Entry), byAgent: make(map[string]map[string]*Entry)}
	for i := range 10000 {
		d.set(&Entry{ThingID: fmt.Sprintf("t%d", i), AgentID: fmt.Sprintf("a%d", i)})
	}
	for b.Loop() {
		if len(d.ByAgent("a5000")) != 1 {
			b.Fatal("lost a Thing")
		}
	}
}
