package proxy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

const zbSensorID = "urn:dev:zigbee:sensor1"

// zbBridge is a Zigbee2MQTT bridge played by a bare MQTT 3.1.1 client
// (raw packets: no user properties, no wotmq code): it publishes the
// sensor's state as one JSON object and receives its commands on
// zigbee2mqtt/sensor1/set.
type zbBridge struct {
	tb   testing.TB
	conn net.Conn
	wmu  sync.Mutex
	msgs chan packets.Packet
	next uint16
}

func zbDial(tb testing.TB, h *hub.Hub) *zbBridge {
	tb.Helper()
	conn, err := net.Dial("tcp", h.MQTTAddr())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	b := &zbBridge{tb: tb, conn: conn, msgs: make(chan packets.Packet, 64)}
	br := bufio.NewReader(conn)
	b.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect},
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, ClientIdentifier: "zigbee2mqtt", Keepalive: 60,
			WillFlag: true, WillTopic: "zigbee2mqtt/sensor1/availability", WillPayload: []byte(`{"state":"offline"}`), WillRetain: true, WillQos: 1}})
	ack, err := hubtest.ReadPacket(br, 4)
	if err != nil || ack.FixedHeader.Type != packets.Connack || ack.ReasonCode != 0 {
		tb.Fatalf("3.1.1 connect: %v %v", ack.ReasonCode, err)
	}
	b.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: 1,
		Filters: packets.Subscriptions{{Filter: "zigbee2mqtt/+/set", Qos: 1}}})
	go func() {
		for {
			pk, err := hubtest.ReadPacket(br, 4)
			if err != nil {
				close(b.msgs)
				return
			}
			if pk.FixedHeader.Type != packets.Publish {
				continue
			}
			if pk.FixedHeader.Qos > 0 {
				b.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Puback}, PacketID: pk.PacketID})
			}
			b.msgs <- pk
		}
	}()
	return b
}

func (b *zbBridge) write(pk packets.Packet) {
	pk.ProtocolVersion = 4
	b.wmu.Lock()
	defer b.wmu.Unlock()
	if err := hubtest.WritePacket(b.conn, pk); err != nil {
		b.tb.Error(err)
	}
}

// publish sends at QoS 0 (what a 3.1.1 client can do without waiting for
// its PUBACK here); retain as given.
func (b *zbBridge) publish(topic, payload string, retain bool) {
	b.write(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Publish, Retain: retain}, TopicName: topic, Payload: []byte(payload)})
}

// command returns the next command the bridge receives.
func (b *zbBridge) command() packets.Packet {
	b.tb.Helper()
	select {
	case pk, ok := <-b.msgs:
		if !ok {
			b.tb.Fatal("bridge connection ended")
		}
		return pk
	case <-time.After(hubtest.Timeout):
		b.tb.Fatal("no command for the bridge")
	}
	return packets.Packet{}
}

// TestBrownfieldZigbeeSensor: a Zigbee2MQTT-style sensor behind an MQTT
// 3.1.1 bridge: one JSON object carries three properties (pointers), a
// partial message updates only what it carries, the whole object is an
// event, availability is a JSON object, a write goes out as {"member":
// value} and completes when the sensor reports that value, an action sends
// a fixed payload, and a write while the sensor is offline waits.
func TestBrownfieldZigbeeSensor(t *testing.T) {
	h := bfStart(t, t.TempDir())
	bridge := zbDial(t, h)
	bridge.publish("zigbee2mqtt/sensor1/availability", `{"state":"online"}`, true)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Registered over MQTT (AgentUpdateTD) by a client of the integrator's
	// account, which stays connected: the twin's presence follows the
	// sensor, not that connection.
	integrator := hubtest.Dial(t, h, "integrator")
	integrator.MustPub(wot.Topic{Kind: wot.TopicAgentTD, AgentID: "integrator", ThingID: zbSensorID}.String(),
		[]byte(bfReadTD(t, "zigbee2mqtt/sensor1.td.json")), nil)
	app := hubtest.Connect(t, hubtest.URL(h), "app")
	thing, err := app.Thing(ctx, zbSensorID)
	if err != nil {
		t.Fatal(err)
	}
	readings := make(chan string, 8)
	if _, err := thing.SubscribeEvent(ctx, "reading", func(m wot.Message) { readings <- string(m.Payload) }); err != nil {
		t.Fatal(err)
	}
	hubtest.WaitFor(t, "the sensor online", func() bool {
		code, body := bfHTTP(t, h, "app", http.MethodGet, "/things/"+zbSensorID+"/events/presence", "")
		return code == http.StatusOK && json.Valid(body) && contains(body, `"online"`)
	})

	bridge.publish("zigbee2mqtt/sensor1", `{"temperature":21.5,"humidity":40,"battery":90,"report_interval":60,"linkquality":120}`, false)
	bridge.publish("zigbee2mqtt/sensor1", `{"temperature":22}`, false)
	if got := bfNext(t, readings); !contains([]byte(got), `"humidity":40`) {
		t.Fatalf("first reading %s", got)
	}
	if got := bfNext(t, readings); got != `{"temperature":22}` {
		t.Fatalf("second reading %s", got)
	}
	page, err := thing.History(ctx, wot.HistoryQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var props []string
	for _, it := range page.Items {
		if it.Kind == wot.KindProperty {
			props = append(props, it.Name+"="+string(it.Value))
		}
	}
	want := "temperature=21.5 humidity=40 battery=90 reportInterval=60 temperature=22"
	if got := joinSorted(props); got != joinSorted(splitFields(want)) {
		t.Fatalf("property history %q, want %q (a partial message updates only what it carries)", got, want)
	}

	// A write completes when the sensor reports the written value.
	done := make(chan error, 1)
	go func() { done <- thing.WriteProperty(ctx, "reportInterval", 120) }()
	cmd := bridge.command()
	if cmd.TopicName != "zigbee2mqtt/sensor1/set" || string(cmd.Payload) != `{"report_interval":120}` {
		t.Fatalf("bridge got %s %s", cmd.TopicName, cmd.Payload)
	}
	select {
	case err := <-done:
		t.Fatalf("the write ended (%v) before the sensor reported the value", err)
	default:
	}
	bridge.publish("zigbee2mqtt/sensor1", `{"report_interval":120}`, false)
	if err := <-done; err != nil {
		t.Fatalf("write: %v", err)
	}
	// An action with a fixed payload.
	if err := thing.InvokeAction(ctx, "identify", nil, nil); err != nil {
		t.Fatal(err)
	}
	if cmd := bridge.command(); string(cmd.Payload) != `{"identify":"identify"}` {
		t.Fatalf("identify sent %s", cmd.Payload)
	}
	// Offline: a write waits for the sensor instead of going out.
	bridge.publish("zigbee2mqtt/sensor1/availability", `{"state":"offline"}`, true)
	hubtest.WaitFor(t, "the sensor offline", func() bool {
		var p wot.PresenceState
		code, body := bfHTTP(t, h, "app", http.MethodGet, "/things/"+zbSensorID+"/events/presence", "")
		var pg wot.HistoryPage
		return code == http.StatusOK && json.Unmarshal(body, &pg) == nil && len(pg.Items) > 0 &&
			json.Unmarshal(pg.Items[len(pg.Items)-1].Value, &p) == nil && p.State == wot.PresenceOffline
	})
	// An action held for the offline sensor, cancelled: it never goes out
	// (the first command after the sensor comes back is the write below).
	inv, err := thing.InvokeActionAsync(ctx, "identify", nil)
	if err != nil {
		t.Fatal(err)
	}
	hubtest.WaitFor(t, "identify waiting", func() bool {
		code, body := bfHTTP(t, h, "app", http.MethodGet, "/things/"+zbSensorID+"/actions/identify", "")
		return code == http.StatusOK && contains(body, `"waiting"`)
	})
	if err := inv.Cancel(ctx); err != nil {
		t.Fatal(err)
	}
	if err := inv.Wait(ctx, nil); wot.CodeOf(err) != wot.CodeCancelled {
		t.Fatalf("cancelled identify ended %v, want cancelled", err)
	}
	id := bfWriteAsync(t, h, zbSensorID, "reportInterval", "300")
	hubtest.WaitFor(t, "the write waiting", func() bool {
		code, body := bfHTTP(t, h, "app", http.MethodGet, "/things/"+zbSensorID+"/properties/reportInterval/writes/"+id, "")
		return code == http.StatusOK && contains(body, `"waiting"`)
	})
	bridge.publish("zigbee2mqtt/sensor1/availability", `{"state":"online"}`, true)
	if cmd := bridge.command(); string(cmd.Payload) != `{"report_interval":300}` {
		t.Fatalf("after coming back the bridge got %s", cmd.Payload)
	}
	bridge.publish("zigbee2mqtt/sensor1", `{"report_interval":300}`, false)
	hubtest.WaitFor(t, "the held write completed", func() bool {
		code, body := bfHTTP(t, h, "app", http.MethodGet, "/things/"+zbSensorID+"/properties/reportInterval/writes/"+id, "")
		return code == http.StatusOK && contains(body, `"completed"`)
	})
}

func contains(b []byte, s string) bool { return strings.Contains(string(b), s) }

func splitFields(s string) []string { return strings.Fields(s) }

func joinSorted(v []string) string {
	v = append([]string(nil), v...)
	sort.Strings(v)
	return strings.Join(v, " ")
}
