package twin

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/wotmq/wotmq/wire"
)

// FuzzAgentStamp publishes events of the lamp with the user properties time
// and seq an agent may give (an edge hub forwarding its history): each is
// stored with exactly the time it gave, or refused with invalid_payload,
// and a seq not above the newest stored is acknowledged and not stored.
func FuzzAgentStamp(f *testing.F) {
	for _, s := range [][2]string{
		{"2026-12-01T10:00:00.123456789Z", "1"},
		{"2026-12-01T10:00:00+02:00", ""},
		{"", "18446744073709551615"},
		{"1969-12-31T23:59:59Z", "2"},
		{"9999-01-01T00:00:00Z", "3"},
		{"yesterday", "0"},
		{"2026-12-01T10:00:00Z", "-1"},
		{"2026-12-01T10:00:00Z", " 7"},
	} {
		f.Add(s[0], s[1])
	}
	h, id := fuzzCore(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, at, seq string) {
		pk := &Message{Payload: []byte("81.5")}
		for _, up := range [][2]string{{wire.PropTime, at}, {wire.PropSeq, seq}} {
			if up[1] != "" {
				pk.User = append(pk.User, Property{Key: up[0], Value: up[1]})
			}
		}
		last, err := h.outbox.LastSeq(ctx, fuzzLampID)
		if err != nil {
			t.Fatal(err)
		}
		before, _, _ := h.outbox.Latest(ctx, fuzzLampID, wire.KindEvent, "overheating")
		err = h.agentPublish(ctx, id, wire.Topic{Kind: wire.TopicAgentEvent, AgentID: "fuzz-agent", ThingID: fuzzLampID, Name: "overheating"}, wire.KindEvent, pk)
		if err != nil {
			if wire.CodeOf(err) != wire.CodeInvalidPayload {
				t.Fatalf("time %q seq %q: %v", at, seq, err)
			}
			return
		}
		rec, ok, lerr := h.outbox.Latest(ctx, fuzzLampID, wire.KindEvent, "overheating")
		if lerr != nil || !ok {
			t.Fatalf("latest: %v %v", ok, lerr)
		}
		n, _ := strconv.ParseUint(seq, 10, 64)
		if seq != "" && n <= last {
			if rec.Cursor() != before.Cursor() {
				t.Fatalf("seq %d (newest %d) stored again", n, last)
			}
			return
		}
		if rec.Cursor() == before.Cursor() {
			t.Fatalf("time %q seq %q accepted, not stored", at, seq)
		}
		if at != "" {
			want, _ := time.Parse(time.RFC3339Nano, at)
			if !rec.Origin.Equal(want) || !rec.When().Equal(want) {
				t.Fatalf("time %q stored as %v", at, rec.Origin)
			}
		} else if !rec.Origin.IsZero() {
			t.Fatalf("no time given, origin %v stored", rec.Origin)
		}
	})
}
