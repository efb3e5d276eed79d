package hub_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/eclipse/paho.golang/paho"
	"golang.org/x/crypto/bcrypt"

	"github.com/wotmq/wotmq/authz"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/jetstore"
	"github.com/wotmq/wotmq/migrate"
	"github.com/wotmq/wotmq/natsnode"
	"github.com/wotmq/wotmq/wot"
)

// moveSecure makes a hub that requires credentials, on dir.
func moveSecure(dir string) func(*hub.Options) {
	return func(o *hub.Options) {
		o.DataDir, o.Dev, o.AdminPassword, o.PasswordCost = dir, false, testPassword, 4
	}
}

// moveHistory is a Thing's history as a consumer reads it over MQTT.
type moveHistory struct {
	Items []struct {
		Name   string          `json:"name"`
		Value  json.RawMessage `json:"value"`
		Cursor string          `json:"cursor"`
	} `json:"items"`
}

func (m moveHistory) String() string {
	s := ""
	for _, it := range m.Items {
		s += fmt.Sprintf("%s=%s@%s ", it.Name, it.Value, it.Cursor)
	}
	return s
}

// moveReadHistory asks the hub for the lamp's history over MQTT, after
// cursor when not empty.
func moveReadHistory(t *testing.T, c *client, rt, cursor string) moveHistory {
	t.Helper()
	q := `{"limit":100}`
	if cursor != "" {
		q = `{"limit":100,"cursor":"` + cursor + `"}`
	}
	c.mustPublish("things/"+lampID+"/history", []byte(q), reply(rt, []byte("h")))
	var h moveHistory
	if err := json.Unmarshal(c.next(rt).Payload, &h); err != nil {
		t.Fatal(err)
	}
	return h
}

// moveFill gives a running hub (a single node or a cluster node) what an
// archive carries and returns the lamp's history as read.
func moveFill(t *testing.T, h *hub.Hub) moveHistory {
	t.Helper()
	ctx := context.Background()
	for id, role := range map[string]authz.Role{"lamp-agent": authz.RoleAgent, "app": authz.RoleManager} {
		if err := h.Accounts().Add(ctx, id, role, "", testPassword); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.Accounts().AddTopicRule(ctx, authz.TopicRule{Who: "*", Filter: "site/#", Publish: true, Subscribe: true}); err != nil {
		t.Fatal(err)
	}
	agent := login(t, h, "lamp-agent", testPassword)
	agent.mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: lampID}.String(), lampTD(t), nil)
	agent.mustPublish(agentTopic(wot.TopicAgentProperty, "brightness"), []byte("40"), nil)
	for i := range 5 {
		agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), fmt.Appendf(nil, "%d", 70+i), nil)
	}
	if err := agent.Client.Disconnect(&paho.Disconnect{}); err != nil {
		t.Fatal(err)
	}
	app := login(t, h, "app", testPassword)
	app.subscribe("replies/app/#")
	app.mustPublish(wot.ActionTopic(lampID, "fade"), []byte(`{"to":30}`), reply("replies/app/fade", []byte("c-1")))
	if st := userProp(app.next("replies/app/fade"), wot.PropStatus); st != string(wot.StatusPending) {
		t.Fatalf("the request is %s, want pending", st)
	}
	if _, err := app.Publish(ctx, &paho.Publish{Topic: "site/gate", Payload: []byte("open"), QoS: 1, Retain: true}); err != nil {
		t.Fatal(err)
	}
	// The agent's departure is stored once its offline transition is in
	// the history: then the node writes nothing more by itself.
	var before moveHistory
	hubtest.WaitFor(t, "the lamp's 8 history records", func() bool {
		before = moveReadHistory(t, app, "replies/app/h0", "")
		return len(before.Items) == 8 // the presence changes, the value, the events
	})
	return before
}

// moveSource fills a secure single node with what an archive carries,
// stops it, and returns its archive and the lamp's history as read before.
func moveSource(t *testing.T) ([]byte, moveHistory) {
	t.Helper()
	ctx := context.Background()
	src := t.TempDir()
	h := hubtest.Start(t, moveSecure(src))
	before := moveFill(t, h)
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	var archive bytes.Buffer
	c, err := hub.Export(ctx, src, &archive, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("exported %s (%d bytes)", c, archive.Len())
	return archive.Bytes(), before
}

func moveOpen(b []byte) func() (io.ReadCloser, error) {
	return func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(b)), nil }
}

// moveCheckTarget checks a hub the archive was imported into: the lamp's
// TD and value retained, its history with the same cursors, the free
// topic's retained message, and the request queued before the move
// delivered to the agent, whose answer reaches the consumer.
func moveCheckTarget(t *testing.T, h *hub.Hub, before moveHistory, dial func(id string) *client) {
	t.Helper()
	app := dial("app")
	app.subscribe("replies/app/#", wot.TDTopic(lampID), wot.PropertyTopic(lampID, "brightness"), "site/gate")
	if m := app.next(wot.TDTopic(lampID)); len(m.Payload) == 0 {
		t.Fatal("no twin TD")
	}
	if m := app.next(wot.PropertyTopic(lampID, "brightness")); string(m.Payload) != "40" {
		t.Fatalf("brightness %s, want 40", m.Payload)
	}
	if m := app.next("site/gate"); string(m.Payload) != "open" || !m.Retain {
		t.Fatalf("free topic: %q retained %v, want the retained \"open\"", m.Payload, m.Retain)
	}
	after := moveReadHistory(t, app, "replies/app/h1", "")
	if after.String() != before.String() {
		t.Fatalf("history after the move:\n%s\nwant\n%s", after, before)
	}
	rest := moveReadHistory(t, app, "replies/app/h2", before.Items[1].Cursor)
	if len(rest.Items) != len(before.Items)-2 || rest.Items[0].Cursor != before.Items[2].Cursor {
		t.Fatalf("history after the second cursor: %s", rest)
	}
	agent := dial("lamp-agent")
	agent.subscribe(wot.RequestsTopic("lamp-agent"))
	req := agent.next(wot.RequestsTopic("lamp-agent"))
	if userProp(req, wot.PropName) != "fade" || string(req.Payload) != `{"to":30}` {
		t.Fatalf("request %s %s, want fade {\"to\":30}", userProp(req, wot.PropName), req.Payload)
	}
	agent.answer(req, wot.StatusCompleted, []byte("30"))
	seq, last := app.statusSeq("replies/app/fade")
	if seq[len(seq)-1] != wot.StatusCompleted || string(last.Properties.CorrelationData) != "c-1" {
		t.Fatalf("the consumer got %v (correlation %q), want completed for c-1", seq, last.Properties.CorrelationData)
	}
}

// TestMoveSingleNodeToSingleNode: a single node's data, exported and
// imported into a new data directory, serves as before: things, values,
// history with its cursors, a queued request, accounts that log in with
// their passwords, retained free topics. A second import changes nothing;
// a target holding other data is refused unless merging.
func TestMoveSingleNodeToSingleNode(t *testing.T) {
	ctx := context.Background()
	archive, before := moveSource(t)
	dst := t.TempDir()
	c, err := hub.Import(ctx, moveOpen(archive), hub.ImportOptions{DataDir: dst})
	if err != nil {
		t.Fatal(err)
	}
	if c.Records[migrate.KindHistory] != 8 || c.Records[migrate.KindRequest] != 1 || c.Records[migrate.KindAccount] != 3 {
		t.Fatalf("imported %s", c)
	}
	again, err := hub.Import(ctx, moveOpen(archive), hub.ImportOptions{DataDir: dst})
	if err != nil {
		t.Fatalf("a second import: %v", err)
	}
	if again.Records[migrate.KindHistory] != 0 || again.Skipped[migrate.KindHistory] != 8 || again.Records[migrate.KindRequest] != 0 {
		t.Fatalf("a second import wrote %s", again)
	}

	h := hubtest.Start(t, moveSecure(dst))
	moveCheckTarget(t, h, before, func(id string) *client { return login(t, h, id, testPassword) })
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	t.Run("RefusesATargetWithOtherData", func(t *testing.T) {
		other := t.TempDir()
		o := hubtest.Start(t, func(o *hub.Options) { o.DataDir = other })
		dial(t, o, "other-agent").mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "other-agent", ThingID: "urn:t:other"}.String(), thingTD("urn:t:other"), nil)
		if err := o.Close(); err != nil {
			t.Fatal(err)
		}
		_, err := hub.Import(ctx, moveOpen(archive), hub.ImportOptions{DataDir: other})
		if !errors.Is(err, migrate.ErrNotEmpty) {
			t.Fatalf("import into a hub with another Thing: %v, want ErrNotEmpty", err)
		}
		t.Log(err)
		if _, err := hub.Import(ctx, moveOpen(archive), hub.ImportOptions{DataDir: other, Merge: true}); err != nil {
			t.Fatalf("with merge: %v", err)
		}
	})
	t.Run("RefusesACutShortArchiveWritingNothing", func(t *testing.T) {
		empty := t.TempDir()
		_, err := hub.Import(ctx, moveOpen(archive[:len(archive)/2]), hub.ImportOptions{DataDir: empty})
		if !errors.Is(err, migrate.ErrArchive) {
			t.Fatalf("import of half an archive: %v, want ErrArchive", err)
		}
		if _, err := hub.Import(ctx, moveOpen(archive), hub.ImportOptions{DataDir: empty}); err != nil {
			t.Fatalf("the refused import left data behind: %v", err)
		}
	})
}

// TestMoveSingleNodeToCluster: the archive imported into a cluster's
// JetStream (one embedded NATS node here) serves from a cluster node as
// it did from the single node, and the accounts are in the cluster's
// bucket with their password hashes.
func TestMoveSingleNodeToCluster(t *testing.T) {
	ctx := context.Background()
	archive, before := moveSource(t)
	node, err := natsnode.Start(ctx, natsnode.Options{Name: "move-target", DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { node.Close() })
	for i := range 2 { // the second import writes nothing new
		c, err := hub.Import(ctx, moveOpen(archive), hub.ImportOptions{NATSURLs: []string{node.ClientURL()}})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("imported %s", c)
		if history, reqs := c.Records[migrate.KindHistory], c.Records[migrate.KindRequest]; i == 1 && (history != 0 || reqs != 0) {
			t.Fatalf("the second import wrote %d history records and %d requests", history, reqs)
		}
	}
	acc, err := jetstore.OpenAccounts(ctx, jetstore.Options{JS: node.JetStream()})
	if err != nil {
		t.Fatal(err)
	}
	recs, err := acc.Load(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var app *authz.Account
	rules := 0
	for _, r := range recs {
		switch {
		case r.Kind == authz.RecordAccount && r.Key == "app":
			app = r.Account
		case r.Kind == authz.RecordRule:
			rules++
		}
	}
	if app == nil || app.Role != authz.RoleManager || bcrypt.CompareHashAndPassword(app.Hash, []byte(testPassword)) != nil {
		t.Fatalf("account app in the cluster: %+v", app)
	}
	if rules != 1 {
		t.Fatalf("%d access rules in the cluster, want the one imported", rules)
	}

	// The cluster's accounts are the single node's: its clients log in
	// with the passwords they had.
	h := hubtest.Start(t, func(o *hub.Options) {
		o.Dev, o.PasswordCost = false, 4
		o.Cluster = hub.ClusterOptions{Name: "moved", NodeName: "n1", NATSURLs: []string{node.ClientURL()}}
	})
	moveCheckTarget(t, h, before, func(id string) *client { return login(t, h, id, testPassword) })
}
