package hub_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/rs/zerolog"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

func TestMaxConnections(t *testing.T) {
	h := startOpsHub(t, func(o *hub.Options) { o.Limits.MaxConnections = 2 })
	a := dial(t, h, "a")
	dial(t, h, "b")
	connect := func(id string) (*paho.Connack, error) {
		conn, err := net.Dial("tcp", h.MQTTAddr())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		c := paho.NewClient(paho.ClientConfig{Conn: conn, OnClientError: func(error) {}})
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		return c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true})
	}
	ca, err := connect("c")
	if err == nil || ca == nil || ca.ReasonCode != 0x89 {
		t.Fatalf("third connection: %+v %v, want CONNACK 0x89 server busy", ca, err)
	}
	if m := scrape(t, h); m["wotmq_connections"] != 2 {
		t.Errorf("wotmq_connections = %v", m["wotmq_connections"])
	}
	_ = a.Disconnect(&paho.Disconnect{})
	hubtest.WaitFor(t, "a free connection", func() bool {
		_, err := connect(fmt.Sprint("d", time.Now().UnixNano()))
		return err == nil
	})
}

func TestMaxThingsPerAgent(t *testing.T) {
	h := startOpsHub(t, func(o *hub.Options) { o.Limits.MaxThingsPerAgent = 2 })
	agent := dial(t, h, "gw")
	td := func(id string) (string, []byte) {
		return wot.Topic{Kind: wot.TopicAgentTD, AgentID: "gw", ThingID: id}.String(), tdWith(id, "")
	}
	for _, id := range []string{"urn:a", "urn:b"} {
		topic, body := td(id)
		agent.mustPublish(topic, body, nil)
	}
	topic, body := td("urn:c")
	if rc, reason := agent.publish(topic, body, nil); rc != 0x97 || !strings.Contains(reason, "quota: agent \"gw\" has registered 2 Things") {
		t.Errorf("third Thing: %#x %q, want 0x97 quota", rc, reason)
	}
	topic, body = td("urn:a")
	agent.mustPublish(topic, body, nil) // an update is no new Thing
	agent.mustPublish(topic, nil, nil)  // a deletion frees a place
	topic, body = td("urn:c")
	agent.mustPublish(topic, body, nil)
	dial(t, h, "other").mustPublish(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "other", ThingID: "urn:o"}.String(), tdWith("urn:o", ""), nil)
}

func TestHistoryCap(t *testing.T) {
	const max = 20
	h := startOpsHub(t, func(o *hub.Options) { o.Limits.MaxHistory = max })
	agent := registerLamp(t, h)
	const n = 100
	for i := range n {
		agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte(fmt.Sprint(i)), nil)
	}
	c := dial(t, h, "app")
	c.subscribe("replies/app/#")
	// The Thing's history: the events and its presence changes (one or
	// two so far).
	c.mustPublish(wot.Topic{Kind: wot.TopicThingHistory, ThingID: lampID}.String(), []byte(`{"limit":1000}`),
		&paho.PublishProperties{ResponseTopic: "replies/app/h"})
	var page wot.HistoryPage
	if err := json.Unmarshal(c.next("replies/app/h").Payload, &page); err != nil {
		t.Fatal(err)
	}
	// At most the cap plus a tenth; the newest are kept, in order.
	if len(page.Items) < max || len(page.Items) > max+max/10 {
		t.Fatalf("%d items kept, want %d to %d", len(page.Items), max, max+max/10)
	}
	for i, it := range page.Items {
		if want := fmt.Sprint(n - len(page.Items) + i); string(it.Value) != want {
			t.Errorf("item %d = %s %s, want %s (the newest kept, in order)", i, it.Name, it.Value, want)
		}
	}
	trimmed := scrape(t, h)["wotmq_history_trimmed_total"]
	if presence := int(trimmed) + len(page.Items) - n; presence < 1 || presence > 2 {
		t.Errorf("wotmq_history_trimmed_total = %v with %d kept of %d events and 1 or 2 presence changes", trimmed, len(page.Items), n)
	}
}

func TestMetrics(t *testing.T) {
	h := startOpsHub(t)
	agent := registerLamp(t, h)
	agent.subscribe(wot.RequestsTopic("lamp-agent"))
	app := dial(t, h, "app")
	app.subscribe("replies/app/#")
	agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte("80"), nil)
	app.mustPublish(action("toggle"), nil, &paho.PublishProperties{ResponseTopic: "replies/app/t", CorrelationData: []byte("1")})
	req := agent.next(wot.RequestsTopic("lamp-agent"))
	m := scrape(t, h)
	if m[`wotmq_inbox_requests{status="delivered"}`] != 1 {
		t.Errorf("inbox depth while delivered: %v", m[`wotmq_inbox_requests{status="delivered"}`])
	}
	agent.mustPublish("agents/lamp-agent/replies", []byte("true"), &paho.PublishProperties{CorrelationData: req.Properties.CorrelationData})
	for userProp(app.next("replies/app/t"), wot.PropStatus) != "completed" {
	}
	_, _ = app.publish(action("nope"), nil, nil)

	m = scrape(t, h)
	for series, want := range map[string]float64{
		"wotmq_connections":                                                                   2,
		"wotmq_agents_online":                                                                 1,
		"wotmq_things":                                                                        1,
		`wotmq_messages_received_total{kind="td"}`:                                            1,
		`wotmq_messages_received_total{kind="event"}`:                                         1,
		`wotmq_messages_received_total{kind="action"}`:                                        2,
		`wotmq_messages_received_total{kind="reply"}`:                                         1,
		`wotmq_messages_sent_total{kind="event"}`:                                             2, // and the presence change
		`wotmq_messages_sent_total{kind="request"}`:                                           1,
		`wotmq_messages_refused_total{code="unknown_affordance"}`:                             1,
		`wotmq_inbox_requests{status="delivered"}`:                                            0,
		`wotmq_action_latency_seconds_count{op="invokeaction",status="completed"}`:            1,
		`wotmq_action_latency_seconds_bucket{op="invokeaction",status="completed",le="+Inf"}`: 1,
		`wotmq_action_latency_seconds_count{op="invokeaction",status="failed"}`:               0,
		"wotmq_store_full":                                                                    0,
	} {
		if got, ok := m[series]; !ok || got != want {
			t.Errorf("%s = %v (present %v), want %v", series, got, ok, want)
		}
	}
	for _, series := range []string{"wotmq_connections_total", "wotmq_store_lsm_bytes", "wotmq_store_wal_bytes", "wotmq_store_free_bytes",
		"go_goroutines", "process_resident_memory_bytes", "wotmq_mqtt_messages_sent_total", `wotmq_messages_sent_total{kind="reply"}`} {
		if m[series] <= 0 {
			t.Errorf("%s = %v, want > 0", series, m[series])
		}
	}
	if m[`wotmq_action_latency_seconds_sum{op="invokeaction",status="completed"}`] <= 0 {
		t.Error("latency sum is zero")
	}
}

func TestMetricsExposition(t *testing.T) {
	h := startOpsHub(t)
	resp, err := http.Get("http://" + h.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body := string(raw)
	// Every sample belongs to a family declared with HELP and TYPE before
	// it, each family once; histograms are cumulative.
	typed := map[string]string{}
	var last float64
	for _, line := range strings.Split(strings.TrimSuffix(body, "\n"), "\n") {
		switch {
		case strings.HasPrefix(line, "# HELP "):
		case strings.HasPrefix(line, "# TYPE "):
			f := strings.Fields(line)
			if len(f) != 4 || typed[f[2]] != "" {
				t.Errorf("bad or repeated TYPE line %q", line)
			}
			typed[f[2]] = f[3]
		default:
			name, _, _ := strings.Cut(line, "{")
			name, _, _ = strings.Cut(name, " ")
			family := name
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if base, ok := strings.CutSuffix(name, suffix); ok && (typed[base] == "histogram" || typed[base] == "summary" && suffix != "_bucket") {
					family = base
				}
			}
			if typed[family] == "" {
				t.Errorf("sample %q before its TYPE", line)
			}
			var v float64
			if _, err := fmt.Sscan(line[strings.LastIndexByte(line, ' ')+1:], &v); err != nil {
				t.Errorf("bad value in %q", line)
			}
			if strings.HasSuffix(name, "_bucket") {
				if strings.Contains(line, `le="0.001"`) {
					last = 0
				}
				if v < last {
					t.Errorf("histogram not cumulative at %q", line)
				}
				last = v
			}
		}
	}
	if len(typed) < 20 {
		t.Errorf("only %d metric families", len(typed))
	}
}

func TestReadiness(t *testing.T) {
	log := zerolog.Nop()
	h, err := hub.New(hub.Options{TCPAddr: "127.0.0.1:0", WSAddr: "off", HTTPAddr: "off", DataDir: t.TempDir(), Dev: true, Logger: &log})
	if err != nil {
		t.Fatal(err)
	}
	get := func(hd http.Handler) int {
		rec := httptest.NewRecorder()
		hd.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
		return rec.Code
	}
	if get(h.ReadyHandler()) != 503 || get(h.HealthHandler()) != 200 {
		t.Error("before Start: want not ready, healthy")
	}
	if err := h.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if get(h.ReadyHandler()) != 200 || get(h.MetricsHandler()) != 200 {
		t.Error("serving: want ready and metrics")
	}
	if err := h.Close(); err != nil {
		t.Fatal(err)
	}
	if get(h.ReadyHandler()) != 503 || get(h.MetricsHandler()) != 503 {
		t.Error("closed: want not ready, no metrics")
	}
}
