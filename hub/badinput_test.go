package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/broker"
	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/td"
	"github.com/wotmq/wotmq/wot"
)

// The bad-input table (issue 9): every row sends something a hub must
// refuse, checks the refusal (MQTT 5 reason code and reason string, or the
// broker's DISCONNECT), and then probes that the hub still serves: a new
// client gets an event round trip, /healthz and /readyz answer 200.

const badMaxPayload = 8192 // the lamp's twin TD (5.5 KB) must fit: twin TDs are held to max-payload

// badEnv is the hub a row runs against, its lamp agent and a consumer.
type badEnv struct {
	h        *hub.Hub
	agent    *client
	consumer *client
}

type badRow struct {
	name string
	// opts, when set, gives the row a hub of its own with these options.
	opts func(*hub.Options)
	run  func(t *testing.T, e *badEnv)
}

func newBadEnv(t *testing.T, opts func(*hub.Options)) *badEnv {
	h := startOpsHub(t, func(o *hub.Options) {
		o.Limits.MaxPayload = badMaxPayload
		if opts != nil {
			opts(o)
		}
	})
	e := &badEnv{h: h, agent: registerLamp(t, h), consumer: dial(t, h, "app")}
	e.consumer.subscribe("replies/app/#")
	return e
}

// refused publishes and checks the PUBACK reason code and that the reason
// string holds want.
func refused(t *testing.T, c *client, topic string, payload []byte, props *paho.PublishProperties, rc byte, want string) {
	t.Helper()
	got, reason := c.publish(topic, payload, props)
	if got != rc || !strings.Contains(reason, want) {
		t.Errorf("publish %q on %s: %#x %q, want %#x with %q", clip(payload), topic, got, reason, rc, want)
	}
}

func clip(b []byte) string {
	if len(b) > 40 {
		return string(b[:40]) + "..."
	}
	return string(b)
}

func action(name string) string {
	return wot.Topic{Kind: wot.TopicAction, ThingID: lampID, Name: name}.String()
}

func propertySet(name string) string {
	return wot.Topic{Kind: wot.TopicPropertySet, ThingID: lampID, Name: name}.String()
}

var replyTo = &paho.PublishProperties{ResponseTopic: "replies/app/x", CorrelationData: []byte("c")}

// nestedSchema is a data schema nested n objects deep.
func nestedSchema(n int) string {
	return strings.Repeat(`{"type":"object","properties":{"a":`, n) + `{"type":"integer"}` + strings.Repeat("}}", n)
}

func tdWith(id, extra string) []byte {
	return []byte(`{"@context":"https://www.w3.org/2022/wot/td/v1.1","id":"` + id + `","title":"T",` +
		`"securityDefinitions":{"nosec_sc":{"scheme":"nosec"}},"security":"nosec_sc"` + extra + `}`)
}

func TestBadInput(t *testing.T) {
	var free atomic.Uint64
	rows := []badRow{
		{name: "RefusesMalformedJSON", run: func(t *testing.T, e *badEnv) {
			refused(t, e.agent, agentTopic(wot.TopicAgentEvent, "overheating"), []byte(`{"x":`), nil, 0x99, "invalid_payload: invalid value: $: malformed JSON")
			refused(t, e.agent, agentTopic(wot.TopicAgentTD, ""), []byte(`{"title":`), nil, 0x99, "invalid_td")
			refused(t, e.consumer, action("fade"), []byte(`{"to":`), replyTo, 0x99, "invalid_payload")
			refused(t, e.consumer, propertySet("brightness"), []byte(`[1,`), replyTo, 0x99, "invalid_payload")
			refused(t, e.consumer, "things/"+lampID+"/history", []byte(`{"limit":`), replyTo, 0x99, "invalid_payload: history query")
			refused(t, e.consumer, "wotmq/admin", []byte(`{"op":`), replyTo, 0x99, "invalid_payload: admin request")
		}},
		{name: "RefusesValuesOfTheWrongType", run: func(t *testing.T, e *badEnv) {
			refused(t, e.agent, agentTopic(wot.TopicAgentProperty, "brightness"), []byte(`"bright"`), nil, 0x99, "invalid_payload")
			refused(t, e.agent, agentTopic(wot.TopicAgentProperty, "brightness"), []byte(`101`), nil, 0x99, "invalid_payload")
			refused(t, e.agent, agentTopic(wot.TopicAgentProperty, "on"), []byte(`1`), nil, 0x99, "invalid_payload")
			refused(t, e.agent, agentTopic(wot.TopicAgentEvent, "overheating"), []byte(`"hot"`), nil, 0x99, "invalid_payload")
			refused(t, e.consumer, action("fade"), []byte(`{"to":"x"}`), replyTo, 0x99, "invalid_payload: invalid value: $.to: want integer")
			refused(t, e.consumer, action("fade"), []byte(`{"ms":5}`), replyTo, 0x99, "invalid_payload")
			refused(t, e.consumer, propertySet("brightness"), []byte(`true`), replyTo, 0x99, "invalid_payload")
			refused(t, e.consumer, "things/"+lampID+"/history", []byte(`{"limit":"ten"}`), replyTo, 0x99, "invalid_payload")
			refused(t, e.consumer, "things/"+lampID+"/history", []byte(`{"cursor":"zz"}`), replyTo, 0x99, "invalid_payload")
		}},
		{name: "RefusesPayloadsOverTheLimit", run: func(t *testing.T, e *badEnv) {
			big := []byte(`"` + strings.Repeat("x", badMaxPayload) + `"`)
			refused(t, e.agent, agentTopic(wot.TopicAgentEvent, "overheating"), big, nil, 0x97, fmt.Sprintf("too_large: payload of %d bytes is over the hub's limit of %d", len(big), badMaxPayload))
			refused(t, e.consumer, action("fade"), big, replyTo, 0x97, "too_large")
			refused(t, e.consumer, "replies/app/x", big, nil, 0x97, "too_large") // plain broker topics too
			// Exactly the limit passes the size check (and is then judged by
			// the schema).
			refused(t, e.agent, agentTopic(wot.TopicAgentEvent, "overheating"), big[:badMaxPayload], nil, 0x99, "invalid_payload")
		}},
		{name: "ClosesConnectionsWithPacketsOverTheBrokerLimit", run: func(t *testing.T, e *badEnv) {
			before := scrape(t, e.h)["wotmq_protocol_errors_total"]
			w := dial(t, e.h, "huge")
			w.publishAsync("replies/huge", make([]byte, badMaxPayload+broker.PacketOverhead+1))
			w.ended(t) // Mochi closes the connection at the fixed header [MQTT-3.2.2-15]
			hubtest.WaitFor(t, "protocol error counted", func() bool {
				return scrape(t, e.h)["wotmq_protocol_errors_total"] > before
			})
		}},
		{name: "RefusesHugeAndDeeplyNestedTDs", run: func(t *testing.T, e *badEnv) {
			var props []string
			for i := 0; len(strings.Join(props, ",")) <= badMaxPayload; i++ {
				props = append(props, fmt.Sprintf(`"p%d":{"type":"integer"}`, i))
			}
			huge := tdWith("urn:huge", `,"properties":{`+strings.Join(props, ",")+`}`)
			topic := wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: "urn:huge"}.String()
			refused(t, e.agent, topic, huge, nil, 0x97, "too_large")
			deepSchema := tdWith("urn:deep", `,"actions":{"a":{"input":`+nestedSchema(td.MaxDepth+1)+`}}`)
			refused(t, e.agent, wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: "urn:deep"}.String(), deepSchema, nil, 0x99, "invalid_td")
			deepJSON := tdWith("urn:deep", `,"ex:x":`+strings.Repeat("[", 200)+strings.Repeat("]", 200))
			refused(t, e.agent, wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: "urn:deep"}.String(), deepJSON, nil, 0x99, "invalid_td")
		}},
		{name: "RefusesInvalidUTF8", run: func(t *testing.T, e *badEnv) {
			refused(t, e.agent, agentTopic(wot.TopicAgentEvent, "overheating"), []byte("\"\xff\""), nil, 0x99, "invalid_payload: payload is not valid UTF-8")
			refused(t, e.agent, wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: "urn:utf"}.String(),
				tdWith("urn:utf", ",\"description\":\"\xc3\""), nil, 0x99, "not valid UTF-8")
			refused(t, e.consumer, action("fade"), []byte("{\"to\":1,\"x\":\"\xed\xa0\x80\"}"), replyTo, 0x99, "not valid UTF-8")
			// A topic must be UTF-8 [MQTT-1.5.4-1]: a malformed packet, the
			// broker closes the connection.
			before := scrape(t, e.h)["wotmq_protocol_errors_total"]
			w := dial(t, e.h, "utf")
			w.publishAsync("things/\xff/actions/x", []byte("1"))
			w.ended(t)
			hubtest.WaitFor(t, "protocol error counted", func() bool {
				return scrape(t, e.h)["wotmq_protocol_errors_total"] > before
			})
		}},
		{name: "RefusesUnknownThingsAndAffordances", run: func(t *testing.T, e *badEnv) {
			refused(t, e.consumer, wot.Topic{Kind: wot.TopicAction, ThingID: "urn:nope", Name: "toggle"}.String(), nil, replyTo, 0x90, "unknown_thing")
			refused(t, e.consumer, action("nope"), nil, replyTo, 0x90, "unknown_affordance")
			refused(t, e.consumer, propertySet("nope"), []byte("1"), replyTo, 0x90, "unknown_affordance")
			refused(t, e.consumer, "things/urn:nope/history", nil, replyTo, 0x90, "unknown_thing")
			refused(t, e.agent, wot.Topic{Kind: wot.TopicAgentEvent, AgentID: "lamp-agent", ThingID: "urn:nope", Name: "x"}.String(), []byte("1"), nil, 0x90, "unknown_thing")
			refused(t, e.agent, agentTopic(wot.TopicAgentEvent, "nope"), []byte("1"), nil, 0x90, "unknown_affordance")
			refused(t, e.agent, "agents/lamp-agent/replies", []byte("1"), &paho.PublishProperties{CorrelationData: []byte("0000000000000001")}, 0x90, "unknown_affordance")
		}},
		{name: "DisconnectsOnWildcardsInAPublishTopic", run: func(t *testing.T, e *badEnv) {
			for _, topic := range []string{"things/+/actions/toggle", "things/" + lampID + "/#"} {
				w := dial(t, e.h, "wild")
				w.publishAsync(topic, nil)
				d := w.ended(t)
				if d == nil || d.ReasonCode != 0x82 || d.Properties == nil || !strings.Contains(d.Properties.ReasonString, "wildcards") {
					t.Errorf("publish on %s: DISCONNECT %+v, want 0x82 (protocol error) naming wildcards [MQTT-3.3.2-2]", topic, d)
				}
			}
		}},
		{name: "RefusesConsumersOnTwinAndDollarTopics", run: func(t *testing.T, e *badEnv) {
			for _, topic := range []string{
				wot.TDTopic(lampID),
				wot.PropertyTopic(lampID, "brightness"),
				wot.EventTopic(lampID, "overheating"),
				wot.ActionStatusTopic(lampID, "fade"),
				wot.Topic{Kind: wot.TopicPropertyDesired, ThingID: lampID, Name: "brightness"}.String(),
				wot.Topic{Kind: wot.TopicDelta, ThingID: lampID}.String(),
				wot.Topic{Kind: wot.TopicPresence, ThingID: lampID}.String(),
				wot.HubTDTopic,
				"agents/lamp-agent/requests",
				"$SYS/broker/clients/connected", // Mochi drops these without a PUBACK; the hub answers
				"$sys/x",
				"$share/g/things/x",
				"$internal/x",
			} {
				refused(t, e.consumer, topic, []byte("1"), nil, 0x87, "denied")
			}
		}},
		{name: "EscapesIDsThatWouldInjectTopicLevels", run: func(t *testing.T, e *badEnv) {
			// A TD cannot name another Thing than its topic does.
			refused(t, e.agent, wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: "urn:x"}.String(),
				tdWith("urn:x/things/evil", ""), nil, 0x99, "invalid_td: $.id")
			// IDs and names with '/', '+', '#' stand escaped in one level.
			const id = "urn:inj/ect+#"
			e.agent.mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: id}.String(),
				tdWith(id, `,"properties":{"a/b":{"type":"integer"}},"actions":{"x+y#z":{}}`), nil)
			e.consumer.subscribe(wot.TDTopic(id))
			twin, err := td.Parse(e.consumer.next(wot.TDTopic(id)).Payload)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := twin.Properties["a/b"].Forms[0].MQTTFilter, "things/urn:inj%2Fect%2B%23/properties/a%2Fb"; got != want {
				t.Errorf("form filter %q, want %q", got, want)
			}
			refused(t, e.consumer, "things/urn:inj/ect/actions/x", nil, replyTo, 0x90, "invalid_topic")
			refused(t, e.consumer, "things/urn:inj%2fect%2B%23/actions/x%2By%23z", nil, replyTo, 0x90, "invalid_topic")
			refused(t, e.consumer, "things/urn:inj%2/actions/x", nil, replyTo, 0x90, "invalid_topic")
			refused(t, e.consumer, "things/a\x01b/actions/x", nil, replyTo, 0x90, "invalid_topic")
			refused(t, e.consumer, "things/"+strings.Repeat("x", wot.MaxIDLength+1)+"/actions/x", nil, replyTo, 0x90, "invalid_topic")
			// An agent named with a '/' cannot act as the agent before it.
			evil := dial(t, e.h, "evil-client", withUser("lamp-agent/things"))
			refused(t, evil, agentTopic(wot.TopicAgentEvent, "overheating"), []byte("1"), nil, 0x87, "denied")
			// Escaped, the action works.
			e.consumer.mustPublish(wot.Topic{Kind: wot.TopicAction, ThingID: id, Name: "x+y#z"}.String(), nil, replyTo)
		}},
		{name: "KeepsRequestsWithTheSameCorrelationDataApart", run: func(t *testing.T, e *badEnv) {
			same := &paho.PublishProperties{ResponseTopic: "replies/app/dup", CorrelationData: []byte("same")}
			e.consumer.mustPublish(action("fade"), []byte(`{"to":10}`), same)
			e.consumer.mustPublish(action("toggle"), nil, same)
			ids := map[string]bool{}
			for range 2 {
				m := e.consumer.next("replies/app/dup")
				if string(m.Properties.CorrelationData) != "same" || userProp(m, wot.PropStatus) != "pending" {
					t.Errorf("reply %+v", m.Properties)
				}
				ids[userProp(m, wot.PropActionID)] = true
			}
			if len(ids) != 2 {
				t.Fatalf("two requests with the same correlation data share an action ID: %v", ids)
			}
			e.agent.subscribe(wot.RequestsTopic("lamp-agent"))
			outputs := map[string]string{}
			for len(outputs) < 2 {
				r := e.agent.next(wot.RequestsTopic("lamp-agent"))
				if !ids[string(r.Properties.CorrelationData)] {
					// Pending from an earlier row: answer it too.
					e.agent.mustPublish("agents/lamp-agent/replies", nil, &paho.PublishProperties{CorrelationData: r.Properties.CorrelationData})
					continue
				}
				out := "true"
				if userProp(r, wot.PropName) == "fade" {
					out = "10"
				}
				outputs[string(r.Properties.CorrelationData)] = out
				// A reply that is not JSON is refused; the request stays open.
				refused(t, e.agent, "agents/lamp-agent/replies", []byte("{"), &paho.PublishProperties{CorrelationData: r.Properties.CorrelationData}, 0x99, "invalid_payload")
				e.agent.mustPublish("agents/lamp-agent/replies", []byte(out), &paho.PublishProperties{CorrelationData: r.Properties.CorrelationData})
				// The same answer again (duplicate correlation data from the
				// agent) is refused: the request has ended.
				refused(t, e.agent, "agents/lamp-agent/replies", []byte(out), &paho.PublishProperties{CorrelationData: r.Properties.CorrelationData}, 0x83, "finished")
			}
			for {
				m := e.consumer.next("replies/app/dup")
				if userProp(m, wot.PropStatus) != "completed" {
					continue
				}
				id := userProp(m, wot.PropActionID)
				if want, ok := outputs[id]; !ok || string(m.Payload) != want {
					t.Errorf("outcome of %s: %s, want %s", id, m.Payload, want)
				}
				delete(outputs, id)
				if len(outputs) == 0 {
					break
				}
			}
		}},
		{name: "DropsForASlowConsumerOnly", opts: func(o *hub.Options) { o.Limits.ClientQueue = 512 }, run: func(t *testing.T, e *badEnv) {
			e.agent.mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "lamp-agent", ThingID: "urn:noise"}.String(),
				tdWith("urn:noise", `,"events":{"blob":{"data":{"type":"string"}}}`), nil)
			topic := wot.EventTopic("urn:noise", "blob")
			slow := dialRaw(t, e.h, "slow", 2048)
			slow.subscribe(topic, 0) // and then never reads again
			fast := dial(t, e.h, "fast")
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := fast.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: topic, QoS: 0}}}); err != nil {
				t.Fatal(err)
			}
			const n = 3000
			blob := []byte(`"` + strings.Repeat("b", 1000) + `"`)
			for range n {
				e.agent.mustPublish(wot.Topic{Kind: wot.TopicAgentEvent, AgentID: "lamp-agent", ThingID: "urn:noise", Name: "blob"}.String(), blob, nil)
			}
			for i := range n {
				if m := fast.next(topic); len(m.Payload) != len(blob) {
					t.Fatalf("fast consumer: message %d is %d bytes", i, len(m.Payload))
				}
			}
			m := scrape(t, e.h)
			if d := m[`wotmq_messages_dropped_total{reason="client_queue_full"}`]; d == 0 {
				t.Errorf("nothing dropped for the slow consumer: %v", d)
			} else {
				t.Logf("dropped for the slow consumer: %v of %d", d, n)
			}
		}},
		{name: "RateLimitsAFloodingClient", opts: func(o *hub.Options) { o.Limits.RateLimit, o.Limits.RateBurst = 100, 20 }, run: func(t *testing.T, e *badEnv) {
			w := dial(t, e.h, "flooder")
			topic := "things/" + lampID + "/history"
			props := &paho.PublishProperties{ResponseTopic: "replies/flooder/h"}
			send := func() (byte, string, error) {
				ctx, cancel := context.WithTimeout(context.Background(), hubtest.Timeout)
				defer cancel()
				resp, err := w.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Properties: props})
				if resp == nil {
					return 0, "", err
				}
				reason := ""
				if resp.Properties != nil {
					reason = resp.Properties.ReasonString
				}
				return resp.ReasonCode, reason, nil
			}
			accepted := 0
			start := time.Now()
			for {
				rc, reason, err := send()
				if err != nil {
					t.Fatal(err)
				}
				if rc == 0 {
					accepted++
					continue
				}
				if rc != 0x97 || !strings.Contains(reason, "rate_limited") {
					t.Fatalf("refusal %#x %q, want 0x97 rate_limited", rc, reason)
				}
				break
			}
			// The bucket holds the burst and refills at the rate while the
			// client publishes: on a loaded machine the round trips are
			// slow and more tokens come meanwhile (100 a second).
			if most := 20 + int(time.Since(start).Seconds()*100) + 2; accepted < 15 || accepted > most {
				t.Errorf("%d publishes passed before the limit, want the burst of 20 and the tokens of %s (at most %d)", accepted, time.Since(start).Round(time.Millisecond), most)
			}
			// A client that slows down is served again.
			tick := time.NewTicker(60 * time.Millisecond) // 6 tokens a tick, one spent
			defer tick.Stop()
			for i := 0; ; i++ {
				<-tick.C
				if rc, _, err := send(); err != nil || rc == 0 {
					break
				}
				if i == 10 {
					t.Fatal("no publish accepted after backing off")
				}
			}
			// One that goes on flooding is disconnected.
			for i := 0; ; i++ {
				select {
				case <-w.Done():
				default:
					if _, _, err := send(); err == nil && i < 1000 {
						continue
					}
				}
				break
			}
			d := w.ended(t)
			if d == nil || d.ReasonCode != 0x96 || d.Properties == nil || !strings.Contains(d.Properties.ReasonString, "message rate too high") {
				t.Errorf("DISCONNECT %+v, want 0x96 message rate too high", d)
			}
			if m := scrape(t, e.h); m["wotmq_rate_limit_disconnects_total"] != 1 || m[`wotmq_messages_refused_total{code="rate_limited"}`] == 0 {
				t.Errorf("metrics: disconnects %v, refused %v", m["wotmq_rate_limit_disconnects_total"], m[`wotmq_messages_refused_total{code="rate_limited"}`])
			}
		}},
		{name: "RefusesWritesWhileTheDiskIsFull", opts: func(o *hub.Options) {
			free.Store(1 << 40)
			o.Limits.MinFreeDisk = 64 << 20
			o.Limits.DiskCheckInterval = 5 * time.Millisecond
			o.Limits.FreeSpace = func(string) (uint64, error) { return free.Load(), nil }
		}, run: func(t *testing.T, e *badEnv) {
			event := agentTopic(wot.TopicAgentEvent, "overheating")
			e.agent.mustPublish(event, []byte("20"), nil)
			free.Store(10 << 20)
			hubtest.WaitFor(t, "storage_full refusal", func() bool {
				rc, reason := e.agent.publish(event, []byte("21"), nil)
				return rc == 0x97 && strings.Contains(reason, "storage_full")
			})
			refused(t, e.consumer, action("fade"), []byte(`{"to":1}`), replyTo, 0x97, "storage_full")
			refused(t, e.agent, agentTopic(wot.TopicAgentTD, ""), lampTD(t), nil, 0x97, "storage_full")
			// Reads go on.
			e.consumer.mustPublish("things/"+lampID+"/history", nil, &paho.PublishProperties{ResponseTopic: "replies/app/h"})
			var page wot.HistoryPage
			if err := json.Unmarshal(e.consumer.next("replies/app/h").Payload, &page); err != nil || len(page.Items) == 0 {
				t.Errorf("history while full: %+v %v", page, err)
			}
			if m := scrape(t, e.h); m["wotmq_store_full"] != 1 || m["wotmq_store_free_bytes"] != 10<<20 {
				t.Errorf("metrics while full: full %v, free %v", m["wotmq_store_full"], m["wotmq_store_free_bytes"])
			}
			if code, body := httpStatus(t, e.h, "/readyz"); code != 200 || !strings.Contains(body, "disk nearly full") {
				t.Errorf("/readyz while full: %d %q", code, body)
			}
			// Space returns: so do writes.
			free.Store(1 << 40)
			hubtest.WaitFor(t, "writes accepted again", func() bool {
				rc, _ := e.agent.publish(event, []byte("22"), nil)
				return rc == 0
			})
			if m := scrape(t, e.h); m["wotmq_store_full"] != 0 {
				t.Errorf("still full: %v", m["wotmq_store_full"])
			}
		}},
		{name: "RefusesWillsItWouldRefuseAsPublishes", run: func(t *testing.T, e *badEnv) {
			// A Will is decided like a publish by its account, at CONNECT
			// (docs/security.md, "The Will rule"); what depends on the
			// Thing's TD at the time (the value's schema) is checked again
			// when it is sent (TestWillAuthorization).
			for _, c := range []struct {
				name, user, topic string
				payload           []byte
				code              byte
			}{
				{"OtherAgentsRequests", "intruder", "agents/lamp-agent/requests", []byte(`{"to":1}`), 0x87},
				{"TwinTopic", "intruder", "things/" + lampID + "/properties/brightness", []byte(`1`), 0x87},
				{"HubTD", "intruder", "wotmq/td", []byte(`{}`), 0x87},
				{"TooLarge", "lamp-agent", agentTopic(wot.TopicAgentEvent, "overheating"), []byte(`"` + strings.Repeat("x", badMaxPayload) + `"`), 0x97},
			} {
				_, ack := sessConnect(t, e.h, sessWill(5, "will-"+c.name, c.user, "", c.topic, c.payload, false))
				if ack.ReasonCode != c.code || !strings.HasPrefix(ack.Properties.ReasonString, "will: ") {
					t.Errorf("Will %s: CONNACK %#x %q, want %#x with a will: reason", c.name, ack.ReasonCode, ack.Properties.ReasonString, c.code)
				}
			}
		}},
		{name: "AnswersProtocolViolationsInConnect", run: func(t *testing.T, e *badEnv) {
			c := protoDial(t, e.h)
			c.write(protoConnect(protoProps([]byte{17, 0, 0, 0, 1}, []byte{17, 0, 0, 0, 2}), "dup-props")) // Session Expiry twice
			if got := c.closed(); len(got) != 1 || got[0].FixedHeader.Type != packets.Connack || got[0].ReasonCode != 0x82 {
				t.Errorf("CONNECT with a property twice: %s, want CONNACK 0x82", protoDescribe(got))
			}
		}},
		{name: "DisconnectsOnATopicAliasOverTheMaximum", run: func(t *testing.T, e *badEnv) {
			c, _ := protoSession(t, e.h, "alias-over")
			c.write(protoPublish("replies/alias-over/x", protoProps([]byte{35, 0, broker.TopicAliasMaximum + 1}), "x"))
			c.disconnectedWith("topic alias over the maximum", 0x94)
		}},
	}
	shared := newBadEnv(t, nil)
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			e := &badEnv{h: shared.h, agent: shared.agent.in(t), consumer: shared.consumer.in(t)}
			if r.opts != nil {
				e = newBadEnv(t, r.opts)
			}
			r.run(t, e)
			probe(t, e.h, e.agent)
		})
	}
}

// in returns c reporting failures to tb (a subtest) instead.
func (c *client) in(tb testing.TB) *client {
	cc := *c
	cc.TB = tb
	return &cc
}
