package retained_test

import (
	"context"
	"testing"

	"github.com/dgraph-io/badger/v4"

	"github.com/wotmq/wotmq/retained"
)

func TestPutDeleteAllAcrossReopen(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
	if err != nil {
		t.Fatal(err)
	}
	st := retained.Open(db)
	keep := retained.Message{Topic: "stat/plug1/POWER", Payload: []byte("ON"), QoS: 1, Created: 100, ContentType: "text/plain",
		User: []retained.Property{{Key: "a", Value: "1"}}}
	for _, m := range []retained.Message{keep,
		{Topic: "gone", Payload: []byte("x"), Created: 100},
		{Topic: "old", Payload: []byte("x"), Created: 100, Expires: 150, MessageExpiry: 50}} {
		if err := st.Put(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Delete(ctx, "gone"); err != nil {
		t.Fatal(err)
	}
	db.Close()
	if db, err = badger.Open(badger.DefaultOptions(dir).WithLogger(nil)); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st = retained.Open(db)
	all, err := st.All(ctx, 200)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 1 || all[0].Topic != keep.Topic || string(all[0].Payload) != "ON" || all[0].ContentType != "text/plain" || all[0].User[0] != keep.User[0] {
		t.Fatalf("after reopening: %+v, want only %+v", all, keep)
	}
	if all, _ := st.All(ctx, 0); len(all) != 1 {
		t.Fatalf("the expired message was not deleted: %+v", all)
	}
}
