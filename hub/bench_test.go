package hub_test

import (
	"context"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eclipse/paho.golang/paho"

	"github.com/wotmq/wotmq/hubtest"
	"github.com/wotmq/wotmq/wot"
)

// The benchmarks compare the hub with a bare Mochi server doing the same
// relaying, so the cost of the hub's checks, storage and bookkeeping shows:
//
//	go test -run XXX -bench . -benchtime 2000x ./broker/

const (
	benchAgent    = "bench-agent"
	benchThingID  = "urn:dev:ops:bench-1"
	benchEvent    = "tick"
	benchAction   = "echo"
	benchReplies  = "replies/bench-consumer"
	benchTimeout  = 5 * time.Second
	benchStreamed = 8   // goroutines publishing events at once
	benchWindow   = 256 // events published but not yet received, at most
)

// benchTD is a small Thing: an event carrying a string and an action that
// echoes an integer.
const benchTD = `{
  "@context": "https://www.w3.org/2022/wot/td/v1.1",
  "id": "` + benchThingID + `",
  "title": "Bench",
  "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
  "security": "nosec_sc",
  "events": {"` + benchEvent + `": {"data": {"type": "string"}}},
  "actions": {"` + benchAction + `": {"input": {"type": "integer"}, "output": {"type": "integer"}}}
}`

// benchDial connects a paho MQTT 5 client to addr. onMsg (may be nil) gets
// every message the client receives; it runs on paho's single handler
// goroutine, so it must not block.
func benchDial(tb testing.TB, addr, id string, onMsg func(*paho.Publish)) *paho.Client {
	tb.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		tb.Fatal(err)
	}
	c := paho.NewClient(paho.ClientConfig{
		ClientID: id,
		Conn:     conn,
		OnPublishReceived: []func(paho.PublishReceived) (bool, error){func(pr paho.PublishReceived) (bool, error) {
			if onMsg != nil {
				onMsg(pr.Packet)
			}
			return true, nil
		}},
		OnClientError: func(error) {},
	})
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	if _, err := c.Connect(ctx, &paho.Connect{ClientID: id, CleanStart: true, KeepAlive: 30}); err != nil {
		tb.Fatalf("%s: connect: %v", id, err)
	}
	tb.Cleanup(func() { _ = c.Disconnect(&paho.Disconnect{}) })
	return c
}

func benchSubscribe(tb testing.TB, c *paho.Client, filter string) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	sa, err := c.Subscribe(ctx, &paho.Subscribe{Subscriptions: []paho.SubscribeOptions{{Topic: filter, QoS: 1}}})
	if err != nil {
		tb.Fatalf("subscribe %s: %v", filter, err)
	}
	if sa.Reasons[0] >= 0x80 {
		tb.Fatalf("subscribe %s refused: %#x", filter, sa.Reasons[0])
	}
}

func benchPublish(tb testing.TB, c *paho.Client, p *paho.Publish) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
	defer cancel()
	if _, err := c.Publish(ctx, p); err != nil {
		tb.Fatalf("publish %s: %v", p.Topic, err)
	}
}

// benchHub starts a hub with the bench Thing registered by benchAgent and
// returns the hub's address and the agent's client.
func benchHub(tb testing.TB, onAgentMsg func(*paho.Publish)) (string, *paho.Client) {
	tb.Helper()
	addr := startHub(tb, tb.TempDir()).MQTTAddr()
	agent := benchDial(tb, addr, benchAgent, onAgentMsg)
	benchPublish(tb, agent, &paho.Publish{
		Topic:   wot.Topic{Kind: wot.TopicAgentTD, AgentID: benchAgent, ThingID: benchThingID}.String(),
		QoS:     1,
		Payload: []byte(benchTD),
	})
	return addr, agent
}

// benchJSONString returns a JSON string of exactly size bytes.
func benchJSONString(size int) []byte {
	return []byte(`"` + strings.Repeat("x", max(size-2, 0)) + `"`)
}

func BenchmarkEvents(b *testing.B) {
	sizes := []int{64, 1024}
	b.Run("hub", func(b *testing.B) {
		for _, size := range sizes {
			b.Run("payload="+strconv.Itoa(size), func(b *testing.B) {
				topic := wot.Topic{Kind: wot.TopicAgentEvent, AgentID: benchAgent, ThingID: benchThingID, Name: benchEvent}.String()
				addr, agent := benchHub(b, nil)
				recv := benchReceiver(b, addr, wot.EventTopic(benchThingID, benchEvent))
				benchStream(b, agent, topic, benchJSONString(size), recv)
			})
		}
	})
	b.Run("mochi", func(b *testing.B) {
		for _, size := range sizes {
			b.Run("payload="+strconv.Itoa(size), func(b *testing.B) {
				addr := hubtest.StartMochi(b)
				publisher := benchDial(b, addr, "bench-publisher", nil)
				recv := benchReceiver(b, addr, "bench/events")
				benchStream(b, publisher, "bench/events", benchJSONString(size), recv)
			})
		}
	})
}

// benchReceiver connects a consumer subscribed to topic; the returned
// channel gets a value for each message received on it, and is closed when
// more messages arrive than the stream window allows (a lost credit).
func benchReceiver(b *testing.B, addr, topic string) <-chan struct{} {
	recv := make(chan struct{}, benchWindow)
	var overflow sync.Once
	c := benchDial(b, addr, "bench-consumer", func(m *paho.Publish) {
		if m.Topic != topic {
			return
		}
		select {
		case recv <- struct{}{}:
		default:
			overflow.Do(func() { close(recv) })
		}
	})
	benchSubscribe(b, c, topic)
	return recv
}

// benchStream publishes QoS 1 messages on topic from benchStreamed
// goroutines, keeping at most benchWindow messages between publish and
// receipt, and counts one op per message received. When the measurement
// ends it lets the messages in flight arrive before returning, so the
// clients disconnect from a quiet broker.
func benchStream(b *testing.B, pub *paho.Client, topic string, payload []byte, recv <-chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	credits := make(chan struct{}, benchWindow)
	start, stop := make(chan struct{}), make(chan struct{})
	errc := make(chan error, 1)
	var wg sync.WaitGroup
	for range benchStreamed {
		wg.Go(func() {
			select {
			case <-start:
			case <-stop:
				return
			}
			for {
				select {
				case credits <- struct{}{}:
				case <-stop:
					return
				}
				pctx, pcancel := context.WithTimeout(ctx, benchTimeout)
				_, err := pub.Publish(pctx, &paho.Publish{Topic: topic, QoS: 1, Payload: payload})
				pcancel()
				if err != nil {
					select {
					case errc <- err:
					default:
					}
					return
				}
			}
		})
	}
	stopped := false
	halt := func() {
		if !stopped {
			stopped = true
			close(stop)
		}
	}
	defer func() { halt(); cancel(); wg.Wait() }()

	timeout := time.NewTimer(benchTimeout)
	defer timeout.Stop()
	received := func() {
		timeout.Reset(benchTimeout)
		select {
		case _, ok := <-recv:
			if !ok {
				b.Fatal("more messages received than published")
			}
		case err := <-errc:
			b.Fatalf("publish: %v", err)
		case <-timeout.C:
			b.Fatalf("a message did not arrive within %v (lost?)", benchTimeout)
		}
		<-credits
	}
	n := 0
	for b.Loop() {
		if n == 0 {
			close(start)
		}
		received()
		n++
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "events/s")

	halt()
	wg.Wait() // in-flight publishes are acknowledged
	for len(credits) > 0 {
		received()
	}
}

func BenchmarkActionRoundTrip(b *testing.B) {
	b.Run("hub", func(b *testing.B) {
		reqs := make(chan *paho.Publish, 16)
		addr, agent := benchHub(b, benchForward(reqs))
		benchSubscribe(b, agent, wot.RequestsTopic(benchAgent))
		go benchRespond(agent, reqs, wot.PropStatus, string(wot.StatusCompleted))

		replies := make(chan *paho.Publish, 16)
		consumer := benchDial(b, addr, "bench-consumer", benchForward(replies))
		benchSubscribe(b, consumer, benchReplies)
		benchRoundTrips(b, consumer, wot.ActionTopic(benchThingID, benchAction), replies,
			paho.UserProperty{Key: wot.PropReplies, Value: wot.RepliesFinal})
	})
	b.Run("mochi", func(b *testing.B) {
		addr := hubtest.StartMochi(b)
		reqs := make(chan *paho.Publish, 16)
		responder := benchDial(b, addr, "bench-responder", benchForward(reqs))
		benchSubscribe(b, responder, "bench/requests")
		go benchRespond(responder, reqs)

		replies := make(chan *paho.Publish, 16)
		consumer := benchDial(b, addr, "bench-consumer", benchForward(replies))
		benchSubscribe(b, consumer, benchReplies)
		benchRoundTrips(b, consumer, "bench/requests", replies)
	})
}

// benchForward returns a message handler that queues messages on ch. A full
// channel drops the message; the round trip then times out and says so.
func benchForward(ch chan<- *paho.Publish) func(*paho.Publish) {
	return func(m *paho.Publish) {
		select {
		case ch <- m:
		default:
		}
	}
}

// benchRespond answers every request from reqs on its ResponseTopic with its
// CorrelationData, echoing the payload, until c's connection ends.
func benchRespond(c *paho.Client, reqs <-chan *paho.Publish, user ...string) {
	props := func(req *paho.Publish) *paho.PublishProperties {
		return reply("", req.Properties.CorrelationData, user...)
	}
	for {
		select {
		case req := <-reqs:
			if req.Properties == nil || req.Properties.ResponseTopic == "" {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
			_, err := c.Publish(ctx, &paho.Publish{Topic: req.Properties.ResponseTopic, QoS: 1, Payload: req.Payload, Properties: props(req)})
			cancel()
			if err != nil {
				return // the round trip times out and fails the benchmark
			}
		case <-c.Done():
			return
		}
	}
}

// benchRoundTrips sends one request at a time on topic and waits for its
// reply, and reports the latency percentiles.
func benchRoundTrips(b *testing.B, c *paho.Client, topic string, replies <-chan *paho.Publish, user ...paho.UserProperty) {
	var lat []time.Duration
	timeout := time.NewTimer(benchTimeout)
	defer timeout.Stop()
	seq := 0
	for b.Loop() {
		seq++
		corr := strconv.Itoa(seq)
		props := &paho.PublishProperties{ResponseTopic: benchReplies, CorrelationData: []byte(corr), User: user}
		t0 := time.Now()
		ctx, cancel := context.WithTimeout(context.Background(), benchTimeout)
		_, err := c.Publish(ctx, &paho.Publish{Topic: topic, QoS: 1, Payload: []byte(corr), Properties: props})
		cancel()
		if err != nil {
			b.Fatalf("request %d: %v", seq, err)
		}
		timeout.Reset(benchTimeout)
		select {
		case m := <-replies:
			lat = append(lat, time.Since(t0))
			if string(m.Properties.CorrelationData) != corr || string(m.Payload) != corr {
				b.Fatalf("request %d: reply corr %q payload %q status %q", seq, m.Properties.CorrelationData, m.Payload, userProp(m, wot.PropStatus))
			}
			if st := userProp(m, wot.PropStatus); st != "" && st != string(wot.StatusCompleted) {
				b.Fatalf("request %d: status %q %v", seq, st, m.Properties.User)
			}
		case <-timeout.C:
			b.Fatalf("request %d: no reply within %v", seq, benchTimeout)
		}
	}
	slices.Sort(lat)
	pct := func(p int) float64 {
		return float64(lat[(len(lat)-1)*p/100]) / float64(time.Microsecond)
	}
	b.ReportMetric(pct(50), "p50-us")
	b.ReportMetric(pct(99), "p99-us")
}
