package storetest

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/wotmq/wotmq/retained"
)

// Retained keeps free topics' retained messages (retained.Store; the
// broker's RetainedStore).
type Retained interface {
	Put(ctx context.Context, m retained.Message) error
	Delete(ctx context.Context, topic string) error
	All(ctx context.Context, now int64) ([]retained.Message, error)
}

func testRetained(t *testing.T, o Opener) {
	ctx := context.Background()
	s := open(t, o, Config{Now: newClock().now})
	r := s.Retained
	if r == nil {
		t.Skip("no retained store")
	}
	long := "site/" + strings.Repeat("x", 300) // too long for a plain key on JetStream
	for _, m := range []retained.Message{
		{Topic: "site/gate", Payload: []byte("open"), QoS: 1, Created: 100, User: []retained.Property{{Key: "k", Value: "v"}}},
		{Topic: "site/gate", Payload: []byte("shut"), QoS: 1, Created: 101},
		{Topic: long, Payload: []byte("l"), Created: 100},
		{Topic: "site/gone", Payload: []byte("x"), Created: 100},
		{Topic: "site/old", Payload: []byte("x"), Created: 100, Expires: 150, MessageExpiry: 50},
	} {
		if err := r.Put(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Delete(ctx, "site/gone"); err != nil {
		t.Fatal(err)
	}
	if err := r.Delete(ctx, "site/never"); err != nil {
		t.Fatalf("deleting a topic without a message: %v", err)
	}
	topics := func(now int64) string {
		all, err := r.All(ctx, now)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, m := range all {
			if m.Topic == "site/gate" && string(m.Payload) != "shut" {
				t.Fatalf("site/gate holds %q, want the newer shut", m.Payload)
			}
			out = append(out, strings.Replace(m.Topic, long, "LONG", 1))
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	if got := topics(120); got != "LONG site/gate site/old" {
		t.Fatalf("All before the expiry: %s", got)
	}
	if got := topics(200); got != "LONG site/gate" {
		t.Fatalf("All after the expiry: %s", got)
	}
	if err := r.Delete(ctx, long); err != nil {
		t.Fatal(err)
	}
	if got := topics(0); got != "site/gate" {
		t.Fatalf("All after deleting the long topic: %s", got)
	}
}
