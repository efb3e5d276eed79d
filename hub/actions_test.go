package hub_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/wot"
)

// answer replies to one request the agent received.
func (c *client) answer(req *paho.Publish, status wot.Status, payload []byte) {
	c.TB.Helper()
	c.mustPublish(req.Properties.ResponseTopic, payload, reply("", req.Properties.CorrelationData, wot.PropStatus, string(status)))
}

// statusSeq reads replies on topic until a final status and returns the
// statuses seen and the last message.
func (c *client) statusSeq(topic string) ([]wot.Status, *paho.Publish) {
	c.TB.Helper()
	var seq []wot.Status
	for {
		m := c.next(topic)
		st := wot.Status(userProp(m, wot.PropStatus))
		seq = append(seq, st)
		if st.Final() {
			return seq, m
		}
	}
}

func equalSeq(a []wot.Status, b ...wot.Status) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestActionRoundTrip(t *testing.T) {
	h := startHub(t, t.TempDir())
	agent := registerLamp(t, h)
	agent.subscribe(wot.RequestsTopic("lamp-agent"))
	consumer := dial(t, h, "consumer")
	consumer.subscribe("replies/consumer", wot.ActionStatusTopic(lampID, "fade"))

	consumer.mustPublish(wot.ActionTopic(lampID, "fade"), []byte(`{"to":30}`), reply("replies/consumer", []byte("c-1")))
	req := agent.next(wot.RequestsTopic("lamp-agent"))
	if string(req.Payload) != `{"to":30}` {
		t.Errorf("agent got input %q", req.Payload)
	}
	for k, want := range map[string]string{wot.PropOp: wot.OpInvokeAction, wot.PropThing: lampID, wot.PropName: "fade", wot.PropSender: "consumer"} {
		if got := userProp(req, k); got != want {
			t.Errorf("request %s = %q, want %q", k, got, want)
		}
	}
	agent.answer(req, wot.StatusRunning, []byte(`50`))
	agent.answer(req, wot.StatusCompleted, []byte(`30`))

	seq, last := consumer.statusSeq("replies/consumer")
	if !equalSeq(seq, wot.StatusDelivered, wot.StatusRunning, wot.StatusCompleted) {
		t.Errorf("statuses %v", seq)
	}
	if string(last.Payload) != "30" || string(last.Properties.CorrelationData) != "c-1" {
		t.Errorf("outcome %q corr %q", last.Payload, last.Properties.CorrelationData)
	}
	t.Run("QueryAction", func(t *testing.T) {
		late := dial(t, h, "late")
		late.subscribe(wot.ActionStatusTopic(lampID, "fade"))
		var st wot.ActionStatus
		if err := json.Unmarshal(late.next(wot.ActionStatusTopic(lampID, "fade")).Payload, &st); err != nil {
			t.Fatal(err)
		}
		if st.Status != wot.StatusCompleted || string(st.Output) != "30" || st.Sender != "consumer" {
			t.Errorf("status %+v", st)
		}
	})
	t.Run("FinalOnly", func(t *testing.T) {
		consumer.mustPublish(wot.ActionTopic(lampID, "toggle"), nil, reply("replies/consumer", []byte("c-2"), wot.PropReplies, wot.RepliesFinal))
		agent.answer(agent.next(wot.RequestsTopic("lamp-agent")), wot.StatusCompleted, []byte(`true`))
		seq, last := consumer.statusSeq("replies/consumer")
		if !equalSeq(seq, wot.StatusCompleted) || string(last.Payload) != "true" {
			t.Errorf("statuses %v payload %q", seq, last.Payload)
		}
	})
	t.Run("AgentFailure", func(t *testing.T) {
		consumer.mustPublish(wot.ActionTopic(lampID, "toggle"), nil, reply("replies/consumer", []byte("c-3")))
		agent.answer(agent.next(wot.RequestsTopic("lamp-agent")), wot.StatusFailed, []byte(`"bulb broken"`))
		_, last := consumer.statusSeq("replies/consumer")
		if userProp(last, wot.PropError) != string(wot.CodeAgentError) || userProp(last, wot.PropMessage) != "bulb broken" {
			t.Errorf("failure props %v", last.Properties.User)
		}
	})
	t.Run("FireAndForget", func(t *testing.T) {
		consumer.mustPublish(wot.ActionTopic(lampID, "toggle"), nil, nil)
		req := agent.next(wot.RequestsTopic("lamp-agent"))
		agent.answer(req, wot.StatusCompleted, []byte(`false`))
		consumer.none("replies/consumer", 100*time.Millisecond)
	})
	t.Run("WriteProperty", func(t *testing.T) {
		consumer.mustPublish(wot.Topic{Kind: wot.TopicPropertySet, ThingID: lampID, Name: "brightness"}.String(), []byte(`70`), reply("replies/consumer", []byte("w-1")))
		req := agent.next(wot.RequestsTopic("lamp-agent"))
		if userProp(req, wot.PropOp) != wot.OpWriteProperty || string(req.Payload) != "70" {
			t.Errorf("write request %q %v", req.Payload, req.Properties.User)
		}
		agent.answer(req, wot.StatusCompleted, nil)
		if seq, _ := consumer.statusSeq("replies/consumer"); !equalSeq(seq, wot.StatusDelivered, wot.StatusCompleted) {
			t.Errorf("statuses %v", seq)
		}
	})
}

func TestRequestRefused(t *testing.T) {
	h := startHub(t, t.TempDir())
	registerLamp(t, h)
	consumer := dial(t, h, "consumer")
	consumer.subscribe("replies/consumer")
	tests := []struct {
		name, topic, payload string
		code                 wot.Code
	}{
		{"UnknownThing", wot.ActionTopic("urn:nope", "fade"), `{"to":1}`, wot.CodeUnknownThing},
		{"UnknownAction", wot.ActionTopic(lampID, "explode"), `{}`, wot.CodeUnknownAffordance},
		{"InputOutOfRange", wot.ActionTopic(lampID, "fade"), `{"to":101}`, wot.CodeInvalidPayload},
		{"InputMissingRequired", wot.ActionTopic(lampID, "fade"), `{"ms":1}`, wot.CodeInvalidPayload},
		{"InputNotJSON", wot.ActionTopic(lampID, "fade"), `{to:1}`, wot.CodeInvalidPayload},
		{"ReadOnlyProperty", wot.Topic{Kind: wot.TopicPropertySet, ThingID: lampID, Name: "model"}.String(), `"x"`, wot.CodeReadOnly},
		{"WrongPropertyType", wot.Topic{Kind: wot.TopicPropertySet, ThingID: lampID, Name: "on"}.String(), `1`, wot.CodeInvalidPayload},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc, reason := consumer.publish(tt.topic, []byte(tt.payload), reply("replies/consumer", []byte(tt.name)))
			if rc != tt.code.Reason() || !contains(reason, string(tt.code)) {
				t.Errorf("PUBACK %#x %q, want %#x %s", rc, reason, tt.code.Reason(), tt.code)
			}
			m := consumer.next("replies/consumer")
			if userProp(m, wot.PropStatus) != string(wot.StatusFailed) || userProp(m, wot.PropError) != string(tt.code) ||
				string(m.Properties.CorrelationData) != tt.name {
				t.Errorf("reply %v", m.Properties.User)
			}
		})
	}
	t.Run("ResponseTopicInHubSpace", func(t *testing.T) {
		rc, reason := consumer.publish(wot.ActionTopic(lampID, "toggle"), nil, reply(wot.EventTopic(lampID, "overheating"), nil))
		if rc != wot.ReasonTopicNameInvalid {
			t.Errorf("PUBACK %#x %q", rc, reason)
		}
	})
}

func TestOfflineAgent(t *testing.T) {
	dir := t.TempDir()
	h := startHub(t, dir)
	agent := registerLamp(t, h)
	agent.Disconnect(&paho.Disconnect{})
	consumer := dial(t, h, "consumer")
	consumer.subscribe("replies/consumer")
	// Three requests on three affordances: none replaces another.
	reqs := []struct{ topic, payload, output string }{
		{wot.ActionTopic(lampID, "fade"), `{"to":10}`, `10`},
		{wot.ActionTopic(lampID, "toggle"), ``, `true`},
		{wot.Topic{Kind: wot.TopicPropertySet, ThingID: lampID, Name: "brightness"}.String(), `20`, ``},
	}
	for i, r := range reqs {
		consumer.mustPublish(r.topic, []byte(r.payload), reply("replies/consumer", []byte{byte('a' + i)}))
		if st := userProp(consumer.next("replies/consumer"), wot.PropStatus); st != string(wot.StatusPending) {
			t.Fatalf("status %q, want pending", st)
		}
	}
	agent2 := dial(t, h, "lamp-agent")
	agent2.subscribe(wot.RequestsTopic("lamp-agent"))
	for _, r := range reqs {
		req := agent2.next(wot.RequestsTopic("lamp-agent"))
		if string(req.Payload) != r.payload {
			t.Fatalf("delivered %q, want %q (order)", req.Payload, r.payload)
		}
		agent2.answer(req, wot.StatusCompleted, []byte(r.output))
	}
	byCorr := map[string][]wot.Status{}
	for done := 0; done < 3; {
		m := consumer.next("replies/consumer")
		st := wot.Status(userProp(m, wot.PropStatus))
		byCorr[string(m.Properties.CorrelationData)] = append(byCorr[string(m.Properties.CorrelationData)], st)
		if st.Final() {
			done++
		}
	}
	for _, c := range []string{"a", "b", "c"} {
		if !equalSeq(byCorr[c], wot.StatusDelivered, wot.StatusCompleted) {
			t.Errorf("request %s: statuses %v", c, byCorr[c])
		}
	}
}

func TestPendingSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	h := startHub(t, dir)
	agent := registerLamp(t, h)
	agent.Disconnect(&paho.Disconnect{})
	consumer := dial(t, h, "consumer")
	consumer.subscribe("replies/consumer")
	consumer.mustPublish(wot.ActionTopic(lampID, "fade"), []byte(`{"to":5}`), reply("replies/consumer", []byte("r1")))
	consumer.next("replies/consumer") // pending
	consumer.Disconnect(&paho.Disconnect{})
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}

	h2 := startHub(t, dir)
	consumer = dial(t, h2, "consumer")
	consumer.subscribe("replies/consumer", wot.ActionStatusTopic(lampID, "fade"))
	var st wot.ActionStatus
	if err := json.Unmarshal(consumer.next(wot.ActionStatusTopic(lampID, "fade")).Payload, &st); err != nil || st.Status != wot.StatusPending {
		t.Fatalf("retained status after restart: %+v %v", st, err)
	}
	agent = dial(t, h2, "lamp-agent")
	agent.subscribe(wot.RequestsTopic("lamp-agent"))
	req := agent.next(wot.RequestsTopic("lamp-agent"))
	if string(req.Payload) != `{"to":5}` {
		t.Fatalf("delivered %q", req.Payload)
	}
	agent.answer(req, wot.StatusCompleted, []byte(`5`))
	seq, last := consumer.statusSeq("replies/consumer")
	if !equalSeq(seq, wot.StatusDelivered, wot.StatusCompleted) || string(last.Payload) != "5" || string(last.Properties.CorrelationData) != "r1" {
		t.Errorf("statuses %v payload %q", seq, last.Payload)
	}
}

func TestExpiry(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	h := startHub(t, t.TempDir(), func(o *hub.Options) { o.Now = clk.Now; o.ActionExpiry = time.Hour })
	agent := registerLamp(t, h)
	agent.Disconnect(&paho.Disconnect{})
	consumer := dial(t, h, "consumer")
	consumer.subscribe("replies/consumer")
	props := reply("replies/consumer", []byte("x"))
	props.MessageExpiry = new(uint32)
	*props.MessageExpiry = 60
	consumer.mustPublish(wot.ActionTopic(lampID, "toggle"), nil, props)
	consumer.mustPublish(wot.ActionTopic(lampID, "fade"), []byte(`{"to":1}`), reply("replies/consumer", []byte("y")))
	consumer.next("replies/consumer")
	consumer.next("replies/consumer")
	clk.Add(61 * time.Second)
	m := consumer.next("replies/consumer")
	if string(m.Properties.CorrelationData) != "x" || userProp(m, wot.PropError) != string(wot.CodeExpired) {
		t.Errorf("got %q %v", m.Properties.CorrelationData, m.Properties.User)
	}
	consumer.none("replies/consumer", 50*time.Millisecond)
	clk.Add(time.Hour)
	m = consumer.next("replies/consumer")
	if string(m.Properties.CorrelationData) != "y" || userProp(m, wot.PropError) != string(wot.CodeExpired) {
		t.Errorf("default expiry: got %q %v", m.Properties.CorrelationData, m.Properties.User)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = ctx
}

func TestHistory(t *testing.T) {
	dir := t.TempDir()
	h := startHub(t, dir)
	agent := registerLamp(t, h)
	for i := range 5 {
		agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte{byte('0' + i)}, nil)
	}
	agent.mustPublish(agentTopic(wot.TopicAgentProperty, "brightness"), []byte("9"), nil)
	consumer := dial(t, h, "consumer")
	consumer.subscribe("replies/consumer")
	query := func(topic string, q wot.HistoryQuery) wot.HistoryPage {
		t.Helper()
		b, _ := json.Marshal(q)
		consumer.mustPublish(topic, b, reply("replies/consumer", []byte("h")))
		var page wot.HistoryPage
		if err := json.Unmarshal(consumer.next("replies/consumer").Payload, &page); err != nil {
			t.Fatal(err)
		}
		return page
	}
	evTopic := wot.Topic{Kind: wot.TopicEventHistory, ThingID: lampID, Name: "overheating"}.String()
	p1 := query(evTopic, wot.HistoryQuery{Limit: 3})
	if len(p1.Items) != 3 || string(p1.Items[0].Value) != "0" || p1.Next == "" {
		t.Fatalf("page 1: %+v", p1)
	}
	p2 := query(evTopic, wot.HistoryQuery{Limit: 3, Cursor: p1.Next})
	if len(p2.Items) != 2 || string(p2.Items[0].Value) != "3" || p2.Next != "" {
		t.Fatalf("page 2: %+v", p2)
	}
	all := query(wot.Topic{Kind: wot.TopicThingHistory, ThingID: lampID}.String(), wot.HistoryQuery{})
	kinds := map[string]int{}
	for _, it := range all.Items {
		kinds[string(it.Kind)+"/"+it.Name]++
	}
	if kinds["event/overheating"] != 5 || kinds["property/brightness"] != 1 || kinds["event/presence"] != 1 || len(all.Items) != 7 {
		t.Errorf("thing history: %v", kinds)
	}
	none := query(evTopic, wot.HistoryQuery{From: time.Now().Add(time.Hour)})
	if len(none.Items) != 0 {
		t.Errorf("future range: %+v", none)
	}
	latest := query(wot.Topic{Kind: wot.TopicThingHistory, ThingID: lampID}.String(), wot.HistoryQuery{Latest: true})
	vals := map[string]string{}
	for _, it := range latest.Items {
		vals[it.Name] = string(it.Value)
	}
	if len(latest.Items) != 3 || vals["overheating"] != "4" || vals["brightness"] != "9" || !strings.Contains(vals["presence"], `"state":"online"`) {
		t.Errorf("latest values: %v", vals)
	}
	rc, _ := consumer.publish(evTopic, []byte(`{"cursor":"zz"}`), reply("replies/consumer", nil))
	if rc != wot.ReasonPayloadFormatInvalid {
		t.Errorf("bad cursor: %#x", rc)
	}
	t.Run("AfterRestart", func(t *testing.T) {
		consumer.Disconnect(&paho.Disconnect{})
		agent.Disconnect(&paho.Disconnect{})
		if err := h.Close(); err != nil {
			t.Fatal(err)
		}
		h = startHub(t, dir)
		consumer = dial(t, h, "consumer")
		consumer.subscribe("replies/consumer")
		p := query(evTopic, wot.HistoryQuery{Cursor: p1.Next})
		if len(p.Items) != 2 || string(p.Items[0].Value) != "3" {
			t.Errorf("replay from a cursor after restart: %+v", p)
		}
		latest := query(evTopic, wot.HistoryQuery{Latest: true})
		if len(latest.Items) != 1 || string(latest.Items[0].Value) != "4" {
			t.Errorf("latest event after restart: %+v", latest)
		}
	})
}
