package hub_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/wotmq/wotmq/hub"
	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// Helpers for the reliability tests: hubs with a metrics listener, clients
// that report the server's DISCONNECT, raw sockets, metrics scraping and the
// health probe.

// startOpsHub starts a hub with its metrics listener on 127.0.0.1:0.
func startOpsHub(tb testing.TB, mod ...func(*hub.Options)) *hub.Hub {
	tb.Helper()
	return startHub(tb, tb.TempDir(), append([]func(*hub.Options){func(o *hub.Options) {
		o.MetricsAddr = "127.0.0.1:0"
	}}, mod...)...)
}

// ended waits until the connection is closed and returns the server's
// DISCONNECT (nil when it closed without one).
func (c *client) ended(tb testing.TB) *paho.Disconnect { tb.Helper(); return c.in(tb).Ended() }

// publishAsync sends a QoS 1 publish without waiting (for a connection the
// server is about to close).
func (c *client) publishAsync(topic string, payload []byte) {
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload})
	}()
}

// rawConn is an MQTT 5 connection written by hand (Mochi's packet
// encoders), for what paho will not send or to stop reading altogether.
type rawConn struct {
	net.Conn
	tb testing.TB
	id uint16
}

// dialRaw connects and sends CONNECT; rcvbuf > 0 shrinks the socket's
// receive buffer (a slow consumer fills it quickly).
func dialRaw(tb testing.TB, h *hub.Hub, clientID string, rcvbuf int) *rawConn {
	tb.Helper()
	d := net.Dialer{}
	if rcvbuf > 0 {
		d.Control = func(network, address string, c syscall.RawConn) error {
			var serr error
			err := c.Control(func(fd uintptr) {
				serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, rcvbuf)
			})
			if err != nil {
				return err
			}
			return serr
		}
	}
	conn, err := d.Dial("tcp", h.MQTTAddr())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	r := &rawConn{Conn: conn, tb: tb}
	r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Connect}, ProtocolVersion: 5,
		Connect: packets.ConnectParams{ProtocolName: []byte("MQTT"), Clean: true, ClientIdentifier: clientID, Keepalive: 0}})
	ack := r.read()
	if ack.FixedHeader.Type != packets.Connack || ack.ReasonCode != 0 {
		tb.Fatalf("raw connect: %+v", ack)
	}
	return r
}

func (r *rawConn) send(pk packets.Packet) {
	r.tb.Helper()
	pk.ProtocolVersion = 5
	if err := hubtest.WritePacket(r, pk); err != nil {
		r.tb.Fatal(err)
	}
}

// read reads one packet (a short deadline: only for answers expected now).
func (r *rawConn) read() packets.Packet {
	r.tb.Helper()
	_ = r.SetReadDeadline(time.Now().Add(30 * time.Second))
	defer r.SetReadDeadline(time.Time{})
	br := bufio.NewReader(r.Conn)
	pk, err := hubtest.ReadPacket(br, 5)
	if err != nil {
		r.tb.Fatalf("raw read: %v", err)
	}
	if br.Buffered() > 0 {
		r.tb.Fatalf("raw read: %d bytes of another packet buffered", br.Buffered())
	}
	return pk
}

func (r *rawConn) subscribe(filter string, qos byte) {
	r.tb.Helper()
	r.id++
	r.send(packets.Packet{FixedHeader: packets.FixedHeader{Type: packets.Subscribe, Qos: 1}, PacketID: r.id,
		Filters: packets.Subscriptions{{Filter: filter, Qos: qos}}})
	if ack := r.read(); ack.FixedHeader.Type != packets.Suback || len(ack.ReasonCodes) != 1 || ack.ReasonCodes[0] >= 0x80 {
		r.tb.Fatalf("raw subscribe %s: %+v", filter, ack)
	}
}

// scrape reads the hub's metrics: series (name with labels) to value.
func scrape(tb testing.TB, h *hub.Hub) map[string]float64 {
	tb.Helper()
	resp, err := http.Get("http://" + h.MetricsAddr() + "/metrics")
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain; version=0.0.4") {
		tb.Fatalf("metrics: %s %s", resp.Status, resp.Header.Get("Content-Type"))
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if i < 0 || err != nil {
			tb.Fatalf("metrics: bad line %q", line)
		}
		out[line[:i]] = v
	}
	return out
}

// httpStatus returns the status of a GET on the metrics listener.
func httpStatus(tb testing.TB, h *hub.Hub, path string) (int, string) {
	tb.Helper()
	resp, err := http.Get("http://" + h.MetricsAddr() + path)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

var probes atomic.Int64

// probe checks that the hub still serves: a new client connects and
// receives an event the agent publishes, and /healthz and /readyz answer
// 200.
func probe(t *testing.T, h *hub.Hub, agent *client) {
	t.Helper()
	id := fmt.Sprintf("probe-%d", probes.Add(1))
	c := dial(t, h, id)
	c.subscribe(wot.EventTopic(lampID, "overheating"))
	v := fmt.Sprintf("%d.5", probes.Load())
	agent.mustPublish(agentTopic(wot.TopicAgentEvent, "overheating"), []byte(v), nil)
	// An event the row's agent had published just before may still be on
	// its way: events are fanned out after their PUBACK, as by a plain
	// broker. A few such are skipped.
	for i := 0; ; i++ {
		m := c.next(wot.EventTopic(lampID, "overheating"))
		if string(m.Payload) == v {
			break
		}
		if i == 3 {
			t.Errorf("probe: event %s, want %s", m.Payload, v)
			break
		}
	}
	_ = c.Disconnect(&paho.Disconnect{})
	for _, p := range []string{"/healthz", "/readyz"} {
		if code, body := httpStatus(t, h, p); code != 200 {
			t.Errorf("probe: %s = %d %s", p, code, body)
		}
	}
}
