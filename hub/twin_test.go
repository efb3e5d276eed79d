package hub_test

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/twin"
	"github.com/wotmq/wotmq/wot"
)

const heaterID = "urn:dev:heater-1"

// heater is a harness for the inbox-rule tests: a hub with the heater TD
// registered by agent "heater-agent" and a consumer listening on
// replies/c.
type heater struct {
	t        *testing.T
	dir      string
	hub      *hub.Hub
	agent    *client
	consumer *client
	seq      int
	early    map[string][]*paho.Publish // replies read while waiting for another
}

func newHeater(t *testing.T, mod ...func(*hub.Options)) *heater {
	x := &heater{t: t, dir: t.TempDir(), early: map[string][]*paho.Publish{}}
	x.start(mod...)
	doc, err := os.ReadFile("testdata/heater.td.json")
	if err != nil {
		t.Fatal(err)
	}
	x.agent.mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "heater-agent", ThingID: heaterID}.String(), doc, nil)
	return x
}

// start (re)starts the hub on the heater's data directory and connects the
// agent (not subscribed to requests) and the consumer.
func (x *heater) start(mod ...func(*hub.Options)) {
	x.hub = startHub(x.t, x.dir, mod...)
	x.early = map[string][]*paho.Publish{}
	x.agent = dial(x.t, x.hub, "heater-agent")
	x.consumer = dial(x.t, x.hub, "c")
	x.consumer.subscribe("replies/c")
}

// restart stops the hub and starts it again on the same data.
func (x *heater) restart(mod ...func(*hub.Options)) {
	x.t.Helper()
	x.agent.Disconnect(&paho.Disconnect{})
	x.consumer.Disconnect(&paho.Disconnect{})
	if err := x.hub.Close(); err != nil {
		x.t.Fatal(err)
	}
	x.start(mod...)
}

// listen subscribes the agent to its requests: it is online.
func (x *heater) listen() { x.agent.subscribe(wot.RequestsTopic("heater-agent")) }

// invoke sends a request and returns its correlation data and the PUBACK.
func (x *heater) invoke(action, input string) (string, byte, string) {
	x.seq++
	corr := fmt.Sprintf("r%d", x.seq)
	rc, reason := x.consumer.publish(wot.ActionTopic(heaterID, action), []byte(input), reply("replies/c", []byte(corr)))
	return corr, rc, reason
}

// write sends a property write; refusals show in its failed status.
func (x *heater) write(prop, value string) string {
	x.seq++
	corr := fmt.Sprintf("w%d", x.seq)
	x.consumer.publish(wot.Topic{Kind: wot.TopicPropertySet, ThingID: heaterID, Name: prop}.String(), []byte(value), reply("replies/c", []byte(corr)))
	return corr
}

// status waits for the next reply to corr and returns its status and error
// code.
func (x *heater) status(corr string) (wot.Status, string) {
	x.t.Helper()
	if q := x.early[corr]; len(q) > 0 {
		x.early[corr] = q[1:]
		return wot.Status(userProp(q[0], wot.PropStatus)), userProp(q[0], wot.PropError)
	}
	for {
		m := x.consumer.next("replies/c")
		c := string(m.Properties.CorrelationData)
		if c == corr {
			return wot.Status(userProp(m, wot.PropStatus)), userProp(m, wot.PropError)
		}
		x.early[c] = append(x.early[c], m)
	}
}

func (x *heater) expect(corr string, want wot.Status, code wot.Code) {
	x.t.Helper()
	st, c := x.status(corr)
	if st != want || c != string(code) {
		x.t.Fatalf("%s: status %s %s, want %s %s", corr, st, c, want, code)
	}
}

func (x *heater) nextRequest() *paho.Publish {
	x.t.Helper()
	return x.agent.next(wot.RequestsTopic("heater-agent"))
}

func TestSafeActions(t *testing.T) {
	t.Run("RefusedWhenOffline", func(t *testing.T) {
		x := newHeater(t)
		corr, rc, reason := x.invoke("ping", "")
		if rc != wot.CodeOffline.Reason() || !contains(reason, "offline") {
			t.Errorf("PUBACK %#x %q", rc, reason)
		}
		x.expect(corr, wot.StatusFailed, wot.CodeOffline)
	})
	t.Run("ConcurrentWhenOnline", func(t *testing.T) {
		x := newHeater(t)
		x.listen()
		a, _, _ := x.invoke("ping", "")
		b, _, _ := x.invoke("ping", "")
		x.expect(a, wot.StatusDelivered, "")
		x.expect(b, wot.StatusDelivered, "")
		x.agent.answer(x.nextRequest(), wot.StatusCompleted, []byte(`"pong"`))
		x.agent.answer(x.nextRequest(), wot.StatusCompleted, []byte(`"pong"`))
		x.expect(a, wot.StatusCompleted, "")
		x.expect(b, wot.StatusCompleted, "")
	})
	t.Run("FailWhenAgentDrops", func(t *testing.T) {
		x := newHeater(t)
		x.listen()
		a, _, _ := x.invoke("ping", "")
		x.expect(a, wot.StatusDelivered, "")
		x.nextRequest()
		x.agent.Disconnect(&paho.Disconnect{})
		x.expect(a, wot.StatusFailed, wot.CodeOffline)
	})
	t.Run("NotRedeliveredAfterRestart", func(t *testing.T) {
		x := newHeater(t)
		x.listen()
		a, _, _ := x.invoke("ping", "")
		x.expect(a, wot.StatusDelivered, "")
		x.nextRequest()
		x.restart()
		x.listen()
		x.agent.none(wot.RequestsTopic("heater-agent"), 200*time.Millisecond)
		var st wot.ActionStatus
		x.consumer.subscribe(wot.ActionStatusTopic(heaterID, "ping"))
		if err := json.Unmarshal(x.consumer.next(wot.ActionStatusTopic(heaterID, "ping")).Payload, &st); err != nil || st.Status != wot.StatusFailed || st.Error.Code != wot.CodeOffline {
			t.Errorf("status after restart: %+v %v", st, err)
		}
	})
}

// TestDeliveryWindow checks that an online agent has at most half of its
// client queue in requests delivered and not yet answered: the others wait
// as pending, in order, and go out as answers come in, so that none is
// dropped on the way to a busy agent.
func TestDeliveryWindow(t *testing.T) {
	x := newHeater(t, func(o *hub.Options) { o.Limits.ClientQueue = 8 }) // window 4
	x.listen()
	var corrs []string
	for range 6 {
		corr, rc, reason := x.invoke("ping", "")
		if rc != 0 {
			t.Fatalf("PUBACK %#x %q", rc, reason)
		}
		corrs = append(corrs, corr)
	}
	for i, corr := range corrs {
		want := wot.StatusDelivered
		if i >= 4 {
			want = wot.StatusPending
		}
		x.expect(corr, want, "")
	}
	var reqs []*paho.Publish
	for range 4 {
		reqs = append(reqs, x.nextRequest())
	}
	x.agent.none(wot.RequestsTopic("heater-agent"), 100*time.Millisecond)
	// Each answer lets one more through, oldest first.
	for i, r := range reqs[:2] {
		x.agent.answer(r, wot.StatusCompleted, []byte(`"pong"`))
		x.expect(corrs[i], wot.StatusCompleted, "")
		x.expect(corrs[4+i], wot.StatusDelivered, "")
		if id := userProp(x.nextRequest(), wot.PropActionID); id == "" {
			t.Fatal("request without action-id")
		}
	}
	// A running report frees the slot as well: the agent has the request.
	x.agent.answer(reqs[2], wot.StatusRunning, nil)
	x.expect(corrs[2], wot.StatusRunning, "")
	corr, _, _ := x.invoke("ping", "")
	x.expect(corr, wot.StatusDelivered, "")
}

func TestUnsafeOneAtATime(t *testing.T) {
	for _, restart := range []bool{false, true} {
		t.Run(fmt.Sprintf("restart=%v", restart), func(t *testing.T) {
			x := newHeater(t)
			a, _, _ := x.invoke("boost", "1")
			x.expect(a, wot.StatusPending, "")
			b, _, _ := x.invoke("boost", "2")
			x.expect(a, wot.StatusFailed, wot.CodeSuperseded)
			x.expect(b, wot.StatusPending, "")
			other, _, _ := x.invoke("descale", "")
			x.expect(other, wot.StatusPending, "")
			if restart {
				x.restart()
			}
			x.listen()
			req := x.nextRequest()
			if string(req.Payload) != "2" {
				t.Fatalf("delivered %q, want the newest boost", req.Payload)
			}
			x.nextRequest() // descale
			c, rc, reason := x.invoke("boost", "3")
			if rc != wot.CodeBusy.Reason() || !contains(reason, "busy") {
				t.Errorf("while delivered: PUBACK %#x %q", rc, reason)
			}
			x.expect(c, wot.StatusFailed, wot.CodeBusy)
			x.agent.answer(req, wot.StatusWaiting, nil)
			x.expect(b, wot.StatusDelivered, "") // also after a restart: the reply address is stored
			x.expect(b, wot.StatusWaiting, "")
			x.agent.answer(req, wot.StatusCompleted, nil)
			x.expect(b, wot.StatusCompleted, "")
			d, _, _ := x.invoke("boost", "4")
			x.expect(d, wot.StatusDelivered, "")
		})
	}
}

func TestQuota(t *testing.T) {
	quota := func(o *hub.Options) { o.MaxQueue = 2 }
	x := newHeater(t, quota)
	a, _, _ := x.invoke("boost", "1")
	b, _, _ := x.invoke("descale", "")
	x.expect(a, wot.StatusPending, "")
	x.expect(b, wot.StatusPending, "")
	x.restart(quota) // the queue, and so the quota, survives a restart
	c := x.write("setpoint", "20")
	x.expect(c, wot.StatusFailed, wot.CodeQuota)
	// Replacing a pending request does not grow the queue.
	d, _, _ := x.invoke("boost", "2")
	x.expect(a, wot.StatusFailed, wot.CodeSuperseded)
	x.expect(d, wot.StatusPending, "")
}

func TestCancel(t *testing.T) {
	x := newHeater(t)
	cancel := func(action string, payload string, corr string) {
		x.consumer.publish(wot.Topic{Kind: wot.TopicActionCancel, ThingID: heaterID, Name: action}.String(), []byte(payload), reply("replies/c", []byte(corr)))
	}
	t.Run("Pending", func(t *testing.T) {
		a, _, _ := x.invoke("boost", "1")
		x.expect(a, wot.StatusPending, "")
		cancel("boost", "", "k1")
		x.expect(a, wot.StatusFailed, wot.CodeCancelled)
		x.expect("k1", wot.StatusCompleted, "")
	})
	t.Run("PendingAfterRestart", func(t *testing.T) {
		a, _, _ := x.invoke("boost", "2")
		x.expect(a, wot.StatusPending, "")
		x.restart()
		cancel("boost", "", "k0")
		x.expect(a, wot.StatusFailed, wot.CodeCancelled)
		x.expect("k0", wot.StatusCompleted, "")
		cancel("boost", "", "k00")
		if st, code := x.status("k00"); st != wot.StatusFailed || code != string(wot.CodeUnknownAffordance) {
			t.Errorf("second cancel: %s %s", st, code)
		}
	})
	t.Run("DeliveredIsForwarded", func(t *testing.T) {
		x.listen()
		a, _, _ := x.invoke("boost", "5")
		x.expect(a, wot.StatusDelivered, "")
		req := x.nextRequest()
		id := userProp(req, wot.PropActionID)
		cancel("boost", `"`+id+`"`, "k2")
		c := x.nextRequest()
		if userProp(c, wot.PropOp) != wot.OpCancelAction || userProp(c, wot.PropActionID) != id {
			t.Fatalf("agent got %v", c.Properties.User)
		}
		x.expect("k2", wot.StatusCompleted, "")
		x.agent.mustPublish(req.Properties.ResponseTopic, []byte(`{"code":"cancelled","message":"stopped"}`),
			reply("", req.Properties.CorrelationData, wot.PropStatus, string(wot.StatusFailed)))
		x.expect(a, wot.StatusFailed, wot.CodeCancelled)
	})
	t.Run("OnlyBySender", func(t *testing.T) {
		a, _, _ := x.invoke("descale", "")
		x.expect(a, wot.StatusDelivered, "")
		req := x.nextRequest()
		other := dial(t, x.hub, "intruder")
		rc, _ := other.publish(wot.Topic{Kind: wot.TopicActionCancel, ThingID: heaterID, Name: "descale"}.String(), []byte(`"`+userProp(req, wot.PropActionID)+`"`), nil)
		if rc != wot.ReasonNotAuthorized {
			t.Errorf("PUBACK %#x", rc)
		}
	})
}

func TestOutcomeHistory(t *testing.T) {
	x := newHeater(t, func(o *hub.Options) { o.OutcomeRecall = 3 })
	x.listen()
	for i := 1; i <= 5; i++ {
		c, _, _ := x.invoke("boost", fmt.Sprint(i))
		x.expect(c, wot.StatusDelivered, "")
		x.agent.answer(x.nextRequest(), wot.StatusCompleted, nil)
		x.expect(c, wot.StatusCompleted, "")
	}
	query := func() twin.ActionHistory {
		t.Helper()
		x.consumer.mustPublish(wot.Topic{Kind: wot.TopicActionHistory, ThingID: heaterID, Name: "boost"}.String(), nil, reply("replies/c", []byte("h")))
		for {
			m := x.consumer.next("replies/c")
			if string(m.Properties.CorrelationData) == "h" {
				var h twin.ActionHistory
				if err := json.Unmarshal(m.Payload, &h); err != nil {
					t.Fatal(err)
				}
				return h
			}
		}
	}
	check := func(h twin.ActionHistory) {
		t.Helper()
		if len(h.Items) != 3 || string(h.Items[0].Input) != "5" || string(h.Items[2].Input) != "3" {
			t.Errorf("history %+v", h.Items)
		}
	}
	check(query())
	x.restart()
	check(query())
}

// TestDesiredState: a write to an offline agent is kept (the newest only),
// shown as desired and in the delta, delivered when the agent returns, and
// cleared when the agent reports the value; also across a restart.
func TestDesiredState(t *testing.T) {
	x := newHeater(t)
	watch := dial(t, x.hub, "watch")
	desiredTopic := wot.Topic{Kind: wot.TopicPropertyDesired, ThingID: heaterID, Name: "setpoint"}.String()
	deltaTopic := wot.Topic{Kind: wot.TopicDelta, ThingID: heaterID}.String()
	x.agent.mustPublish(wot.Topic{Kind: wot.TopicAgentProperty, AgentID: "heater-agent", ThingID: heaterID, Name: "setpoint"}.String(), []byte("18"), nil)
	w1 := x.write("setpoint", "20")
	w2 := x.write("setpoint", "21.5")
	x.expect(w1, wot.StatusPending, "")
	x.expect(w1, wot.StatusFailed, wot.CodeSuperseded)
	x.expect(w2, wot.StatusPending, "")

	x.restart()
	watch = dial(t, x.hub, "watch")
	watch.subscribe(desiredTopic, deltaTopic)
	var d twin.DesiredState
	if err := json.Unmarshal(watch.next(desiredTopic).Payload, &d); err != nil || string(d.Value) != "21.5" || d.Version != 2 {
		t.Fatalf("desired after restart: %+v %v", d, err)
	}
	var delta map[string]twin.DeltaEntry
	if err := json.Unmarshal(watch.next(deltaTopic).Payload, &delta); err != nil || string(delta["setpoint"].Reported) != "18" || string(delta["setpoint"].Desired) != "21.5" {
		t.Fatalf("delta: %+v %v", delta, err)
	}
	x.listen()
	req := x.nextRequest()
	if string(req.Payload) != "21.5" || userProp(req, wot.PropOp) != wot.OpWriteProperty {
		t.Fatalf("write delivered %q", req.Payload)
	}
	x.agent.answer(req, wot.StatusCompleted, nil)
	x.agent.mustPublish(wot.Topic{Kind: wot.TopicAgentProperty, AgentID: "heater-agent", ThingID: heaterID, Name: "setpoint"}.String(), []byte("21.50"), nil)
	if m := watch.next(desiredTopic); len(m.Payload) != 0 {
		t.Errorf("desired not cleared: %s", m.Payload)
	}
	for {
		m := watch.next(deltaTopic)
		if string(m.Payload) == "{}" {
			break
		}
	}
	t.Run("FailedWriteClearsDesired", func(t *testing.T) {
		w := x.write("mode", `"eco"`)
		x.expect(w, wot.StatusDelivered, "")
		watch.subscribe(wot.Topic{Kind: wot.TopicPropertyDesired, ThingID: heaterID, Name: "mode"}.String())
		watch.next(wot.Topic{Kind: wot.TopicPropertyDesired, ThingID: heaterID, Name: "mode"}.String())
		x.agent.answer(x.nextRequest(), wot.StatusFailed, []byte(`"relay stuck"`))
		x.expect(w, wot.StatusFailed, wot.CodeAgentError)
		if m := watch.next(wot.Topic{Kind: wot.TopicPropertyDesired, ThingID: heaterID, Name: "mode"}.String()); len(m.Payload) != 0 {
			t.Errorf("desired kept after failed write: %s", m.Payload)
		}
	})
}

type presenceMsg struct {
	State wot.Presence `json:"state"`
	Seq   uint64       `json:"seq"`
}

func nextPresence(t *testing.T, c *client) presenceMsg {
	t.Helper()
	var p presenceMsg
	if err := json.Unmarshal(c.next(wot.Topic{Kind: wot.TopicPresence, ThingID: heaterID}.String()).Payload, &p); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPresence(t *testing.T) {
	x := newHeater(t)
	watch := dial(t, x.hub, "watch")
	watch.subscribe(wot.Topic{Kind: wot.TopicPresence, ThingID: heaterID}.String())
	p := nextPresence(t, watch)
	if p.State != wot.PresenceOnline {
		t.Fatalf("registered by a connected agent: %+v", p)
	}
	last := p.Seq
	step := func(want wot.Presence, do func()) {
		t.Helper()
		do()
		p := nextPresence(t, watch)
		if p.State != want || p.Seq <= last {
			t.Fatalf("presence %+v after seq %d, want %s", p, last, want)
		}
		last = p.Seq
	}
	step(wot.PresenceOffline, func() { x.agent.Disconnect(&paho.Disconnect{}) })
	step(wot.PresenceOnline, func() { x.agent = dial(t, x.hub, "heater-agent") })
	step(wot.PresenceSleeping, func() {
		x.agent.mustPublish(wot.Topic{Kind: wot.TopicAgentPresence, AgentID: "heater-agent", ThingID: heaterID}.String(), []byte(`"sleeping"`), nil)
	})
	step(wot.PresenceLost, func() { x.agent.Client.Disconnect(&paho.Disconnect{ReasonCode: 0x04}) }) // with will: not a clean end
	t.Run("RejectsUnknownState", func(t *testing.T) {
		a := dial(t, x.hub, "heater-agent")
		rc, _ := a.publish(wot.Topic{Kind: wot.TopicAgentPresence, AgentID: "heater-agent", ThingID: heaterID}.String(), []byte(`"napping"`), nil)
		if rc != wot.ReasonPayloadFormatInvalid {
			t.Errorf("PUBACK %#x", rc)
		}
		nextPresence(t, watch) // online again
		a.Disconnect(&paho.Disconnect{})
		nextPresence(t, watch)
	})
	t.Run("SessionTakeoverStaysOnline", func(t *testing.T) {
		a := dial(t, x.hub, "heater-agent")
		if p := nextPresence(t, watch); p.State != wot.PresenceOnline {
			t.Fatalf("%+v", p)
		}
		b := dial(t, x.hub, "heater-agent") // same client ID: takes the session over
		watch.none(wot.Topic{Kind: wot.TopicPresence, ThingID: heaterID}.String(), 200*time.Millisecond)
		_ = a
		b.Disconnect(&paho.Disconnect{})
		if p := nextPresence(t, watch); p.State != wot.PresenceOffline {
			t.Fatalf("%+v", p)
		}
	})
	t.Run("AfterRestart", func(t *testing.T) {
		x.restart()
		w := dial(t, x.hub, "watch2")
		w.subscribe(wot.Topic{Kind: wot.TopicPresence, ThingID: heaterID}.String())
		p := nextPresence(t, w) // the restarted hub's agent connection came first
		if p.Seq <= last {
			t.Errorf("sequence went back after restart: %+v (last %d)", p, last)
		}
	})
}

// TestThousandRequestsWhileOffline: 1,000 requests arrive for an offline
// agent; after it returns, every request is accounted for: superseded by a
// newer one for the same affordance, expired, or delivered in order.
func TestThousandRequestsWhileOffline(t *testing.T) {
	clk := &clock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	x := newHeater(t, func(o *hub.Options) { o.Now = clk.Now; o.ActionExpiry = time.Hour })
	type sent struct {
		corr, payload string
		short         bool // 60 s expiry
	}
	topics := []string{
		wot.ActionTopic(heaterID, "boost"),
		wot.ActionTopic(heaterID, "descale"),
		wot.Topic{Kind: wot.TopicPropertySet, ThingID: heaterID, Name: "setpoint"}.String(),
		wot.Topic{Kind: wot.TopicPropertySet, ThingID: heaterID, Name: "mode"}.String(),
	}
	payloads := func(i int) string {
		return []string{fmt.Sprint(i + 1), ``, fmt.Sprint(5 + i%25), []string{`"eco"`, `"comfort"`}[i%2]}[i%4]
	}
	last := map[string]sent{}
	var all []sent
	for i := range 1000 {
		s := sent{corr: fmt.Sprintf("q%d", i), payload: payloads(i), short: i%7 == 0 || i == 997}
		props := reply("replies/c", []byte(s.corr))
		if s.short {
			props.MessageExpiry = new(uint32)
			*props.MessageExpiry = 60
		}
		x.consumer.mustPublish(topics[i%4], []byte(s.payload), props)
		last[topics[i%4]] = s
		all = append(all, s)
	}
	// Expire the short-lived survivors, then bring the agent back.
	clk.Add(61 * time.Second)
	var survivors []sent
	for _, tp := range topics {
		if !last[tp].short {
			survivors = append(survivors, last[tp])
		}
	}
	final := map[string]wot.Status{}
	codes := map[string]string{}
	collect := func(want int) {
		for len(final) < want {
			m := x.consumer.next("replies/c")
			if st := wot.Status(userProp(m, wot.PropStatus)); st.Final() {
				c := string(m.Properties.CorrelationData)
				if _, dup := final[c]; dup {
					t.Fatalf("%s ended twice", c)
				}
				final[c], codes[c] = st, userProp(m, wot.PropError)
			}
		}
	}
	collect(1000 - len(survivors))
	x.listen()
	for _, s := range survivors {
		req := x.nextRequest()
		if string(req.Payload) != s.payload {
			t.Fatalf("delivered %q, want %q (%s): out of order", req.Payload, s.payload, s.corr)
		}
		x.agent.answer(req, wot.StatusCompleted, nil)
	}
	collect(1000)
	counts := map[string]int{}
	for _, s := range all {
		st, code := final[s.corr], codes[s.corr]
		isLast := last[topics[0]] == s || last[topics[1]] == s || last[topics[2]] == s || last[topics[3]] == s
		switch {
		case isLast && s.short:
			if code != string(wot.CodeExpired) {
				t.Errorf("%s: %s %s, want expired", s.corr, st, code)
			}
		case isLast:
			if st != wot.StatusCompleted {
				t.Errorf("%s: %s %s, want completed", s.corr, st, code)
			}
		default:
			if code != string(wot.CodeSuperseded) && code != string(wot.CodeExpired) {
				t.Errorf("%s: %s %s, want superseded", s.corr, st, code)
			}
		}
		counts[string(st)+" "+code]++
	}
	t.Logf("outcomes of 1,000 requests: %v", counts)
}
