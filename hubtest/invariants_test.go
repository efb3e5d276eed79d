package hubtest

import (
	"context"
	"encoding/json"
	"runtime/pprof"
	"strconv"
	"strings"
	"testing"

	"github.com/dgraph-io/badger/v4"
	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/wot"
)

func TestGoroutinesLeft(t *testing.T) {
	release := make(chan struct{})
	pprof.Do(context.Background(), pprof.Labels(label, "leak-test"), func(context.Context) {
		go func() { <-release }()
	})
	if left := labelled(label, "leak-test"); !strings.Contains(left, "TestGoroutinesLeft") {
		t.Fatalf("the labelled goroutine is not found:\n%s", left)
	}
	if left := labelled(label, "leak-tes"); left != "" {
		t.Fatalf("another label's value matched:\n%s", left)
	}
	close(release)
	if left := goroutinesLeft("leak-test"); left != "" {
		t.Fatalf("an ended goroutine is reported:\n%s", left)
	}
}

// TestStuckRequests strands a request for an offline agent the two ways
// a missed failure would (its Thing deleted, its Thing given to another
// agent) and checks that the store check reports each, and nothing
// before.
func TestStuckRequests(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(rec map[string]any) (delete bool)
		want   string
	}{
		{"ThingDeleted", func(map[string]any) bool { return true }, "its Thing is not registered"},
		{"ThingReassigned", func(rec map[string]any) bool { rec["agent"] = "other-agent"; return false }, `but the Thing belongs to "other-agent"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			SkipInvariants(t, "the test strands a request and checks the store itself")
			dir := t.TempDir()
			h := Start(t, func(o *hub.Options) { o.DataDir = dir })
			agent := Dial(t, h, "lamp-agent")
			agent.MustPub(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: "urn:lamp"}.String(), []byte(`{
				"@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:lamp", "title": "Lamp",
				"securityDefinitions": {"nosec": {"scheme": "nosec"}}, "security": "nosec",
				"actions": {"toggle": {}}}`), nil)
			if err := agent.Disconnect(&paho.Disconnect{}); err != nil {
				t.Fatal(err)
			}
			app := Dial(t, h, "app")
			app.Sub("replies/app")
			app.MustPub(wot.ActionTopic("urn:lamp", "toggle"), nil, &paho.PublishProperties{ResponseTopic: "replies/app"})
			// Pending, or delivered if the hub did not see the agent go yet:
			// unfinished either way, and not stuck.
			if st := wot.Status(app.Next("replies/app").Properties.User.Get(wot.PropStatus)); st.Final() {
				t.Fatalf("status %q, want unfinished", st)
			}
			if err := h.Close(); err != nil {
				t.Fatal(err)
			}
			if err := checkStore(context.Background(), dir); err != nil {
				t.Fatalf("a request unfinished for an offline agent is reported: %v", err)
			}

			db, err := badger.Open(badger.DefaultOptions(dir).WithLogger(nil))
			if err != nil {
				t.Fatal(err)
			}
			err = db.Update(func(txn *badger.Txn) error {
				key := []byte("dir/t/urn:lamp") // docs/storage.md
				item, err := txn.Get(key)
				if err != nil {
					return err
				}
				var rec map[string]any
				if err := item.Value(func(v []byte) error { return json.Unmarshal(v, &rec) }); err != nil {
					return err
				}
				if tc.damage(rec) {
					return txn.Delete(key)
				}
				b, _ := json.Marshal(rec)
				return txn.Set(key, b)
			})
			if cerr := db.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := checkStore(context.Background(), dir); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("store check: %v, want a stuck request: %q", err, tc.want)
			}
		})
	}
}

// TestHubGoroutinesLabelled checks that the label reaches the goroutines
// the hub starts: Badger's, the listeners' and a connection's.
func TestHubGoroutinesLabelled(t *testing.T) {
	h := Start(t)
	n := strconv.FormatInt(started.Load(), 10)
	Dial(t, h, "app")
	left := labelled(label, n)
	for _, want := range []string{"badger", "mochi-mqtt", "paho"} {
		if want == "paho" {
			if strings.Contains(left, want) {
				t.Errorf("a goroutine of the test's client is labelled as the hub's:\n%s", left)
			}
			continue
		}
		if !strings.Contains(left, want) {
			t.Errorf("no goroutine of %s is labelled as the hub's:\n%s", want, left)
		}
	}
}
